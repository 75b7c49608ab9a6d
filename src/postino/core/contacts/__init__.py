"""The address book and what is sent to it: tags (lists), contacts, campaigns."""
