"""A local WhatsApp Business Cloud API (Graph API) to test the WhatsApp connector against.

It validates sends as Meta does, answers with Meta's envelopes, and posts signed status
and inbound webhooks, so a test can exercise the whole round trip without Meta.
"""
