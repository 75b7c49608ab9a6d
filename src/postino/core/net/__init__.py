"""What reaches out to the network or serves files: the SSRF guard, guarded fetches, the media store."""
