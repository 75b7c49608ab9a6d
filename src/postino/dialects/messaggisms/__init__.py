"""The MessaggiSMS dialect ("Gateway SMS 1.0.0"): ``/messages/...`` with scoped bearer tokens.

A MessaggiSMS message is a core batch with a 24-hex public id; each valid recipient is
one core message. The user names a sender, never a phone: core routes to the account's
phones. Importing the package registers the ``options.callback_url`` listener.
"""

from __future__ import annotations

from .callbacks import install as _install_callbacks
from .routes import router

_install_callbacks()

__all__ = ["router"]
