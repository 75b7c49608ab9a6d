"""Who sends and what they may do: accounts, credentials, credits and the ledger, refunds,
quotas, rate limits, secrets, one-time registration codes, and the demo and sandbox accounts."""
