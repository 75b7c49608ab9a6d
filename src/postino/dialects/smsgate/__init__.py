"""The SMS Gate dialect: the "3rdparty" server API of the SMS Gateway for Android project.

Its client libraries (PyPI and npm ``android-sms-gateway``, the Go client) work against
Postino by changing their base URL to ``…/3rdparty/v1`` or ``…/api/3rdparty/v1``. One SMS
Gate message (many numbers) is a core batch with one message per number; its ``sms:*``
webhooks are delivered server-side (``callbacks``, wired by ``postino.wiring``).
"""

from __future__ import annotations

from typing import Any

from ...http import ErrorFormat
from .errors import problem
from .routes import PREFIXES, router

__all__ = ["ERRORS", "install", "router"]

ERRORS = (ErrorFormat(PREFIXES, problem),)


def install(app: Any) -> None:
    """Nothing to add around the router: the routes answer their errors themselves."""
