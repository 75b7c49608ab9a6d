"""Every kind of connector Postino can serve, by the name stored in a record's ``kind``."""

from __future__ import annotations

from .base import Kind
from .smpp.connector import KIND_INFO as SMPP
from .whatsapp_cloud.connector import KIND_INFO as WHATSAPP_CLOUD

KINDS: dict[str, Kind] = {kind.name: kind for kind in (SMPP, WHATSAPP_CLOUD)}
