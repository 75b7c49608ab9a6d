"""The domain: no HTTP, no dialect names, one package per concept.

``accounts`` who sends and pays; ``messages`` a message from accept to its final state;
``devices`` the phones; ``routing`` where a message goes; ``contacts`` the address book
and campaigns; ``events`` what Postino tells the outside (webhooks, the outbox) and its
own processes (wake-ups); ``net`` what reaches out (the SSRF guard, fetches, the media
store). ``service`` holds ``Core`` and the unit of work, the one transaction boundary.
Core imports nothing above it: what it has to tell (moves, inbound messages, phones gone
silent) reaches the layers above through ``Core.listeners``, filled in by the wiring.
"""
