"""What takes a message out and reports back: SMPP, and the interface connectors share."""
