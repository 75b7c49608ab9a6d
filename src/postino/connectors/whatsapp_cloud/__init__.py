"""Meta's WhatsApp Business Cloud API: sends over HTTPS, statuses and replies by webhook."""
