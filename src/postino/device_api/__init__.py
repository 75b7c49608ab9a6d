"""The protocol phones speak: the mobile API of the SMS Gateway for Android app.

Mounted by ``create_app`` under ``/api/mobile/v1`` (listed in ``postino.wiring.APIS``).
"""

from __future__ import annotations

from ..http import ErrorFormat
from . import events, hooks  # noqa: F401 - their routes join the router
from .errors import problem
from .routes import router

__all__ = ["ERRORS", "router"]

ERRORS = (ErrorFormat(("/api/mobile",), problem),)
