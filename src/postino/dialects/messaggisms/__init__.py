"""The MessaggiSMS dialect ("Gateway SMS 1.0.0"): ``/messages/...`` with scoped bearer tokens.

A MessaggiSMS message is a core batch with a 24-hex public id; each valid recipient is
one core message. The user names a sender, never a phone: core routes to the account's
phones. Its ``options.callback_url`` listener (``callbacks.announce``) is wired by ``postino.wiring``.
"""

from __future__ import annotations

from typing import Any

from ...http import ErrorFormat
from .render import problem
from .routes import router

__all__ = ["ERRORS", "install", "router"]

ERRORS = (ErrorFormat(("/messages", "/tokens"), problem),)


def install(app: Any) -> None:
    """Nothing to add around the router: errors are rendered by the routes themselves."""
