"""A message from accept to its final state: submit, the one lifecycle, the queue, batches,
history, phone numbers, segments, sending policy, references, inbound messages, push reports."""
