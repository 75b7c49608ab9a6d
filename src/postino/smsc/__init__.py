"""A simulated SMSC to test and demonstrate the SMPP connector against."""
