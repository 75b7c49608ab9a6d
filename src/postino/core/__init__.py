"""The domain: accounts, credentials, messages, the queue, billing. No HTTP, no dialect names."""
