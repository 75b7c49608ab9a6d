"""Where a message goes: the default route over an account's phones, and WhatsApp senders."""
