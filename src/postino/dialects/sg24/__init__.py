"""The SmsGateway24 dialect: ``/getdata/<method>`` as SmsGateway24's clients call it.

``params`` reads requests, ``orders`` turns send fields into core drafts, ``render``
writes SmsGateway24's shapes, ``routes`` ties them to core, ``docs`` feeds OpenAPI,
``hot`` answers them ahead of the router.
"""

from __future__ import annotations

from typing import Any

from ...http import ErrorFormat
from . import hot
from .routes import problem, router

__all__ = ["ERRORS", "install", "router"]

ERRORS = (ErrorFormat(("/getdata",), problem),)


def install(app: Any) -> None:
    """Serve the methods from the fast path on nodes that answer HTTP."""
    settings = app.state.settings
    if settings.role != "worker" and hasattr(app, "fast_routes"):
        app.fast_routes.update(hot.routes(app.state.core, settings.max_body_bytes))
