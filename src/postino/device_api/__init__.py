"""The protocol phones speak: the mobile API of the SMS Gateway for Android app.

Mounted by ``create_app`` under ``/api/mobile/v1``. Importing it also registers the
scheduler job that notices devices going offline.
"""

from __future__ import annotations

from ..core import presence
from ..dispatch.scheduler import register_job
from . import events, hooks  # noqa: F401 - their routes join the router
from .routes import router

register_job("notice_offline_devices", presence.notice_offline)

__all__ = ["router"]
