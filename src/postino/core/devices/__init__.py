"""The phones of an account: their slots and tokens, what they report, whether they are online."""
