"""What Postino tells others: account webhooks and the outbox every callback leaves through;
and what it tells its own processes: in-process wake-ups and their cross-node relay."""
