"""The dialect's own error: a message SmsGateway24 clients read from ``{"error":1,"message":…}``."""

from __future__ import annotations

TOKEN_WRONG = "Token is wrong"
LOGIN_WRONG = "Login or password incorrect"
UNKNOWN_METHOD = "Unknown method"
SAVED = "Sms has been saved successfully"


class Sg24Error(Exception):
    """A request the dialect refuses before (or instead of) asking core."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
