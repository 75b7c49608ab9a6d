"""The SmsGateway24 dialect: ``/getdata/<method>`` as SmsGateway24's clients call it.

``params`` reads requests, ``orders`` turns send fields into core drafts, ``render``
writes SmsGateway24's shapes, ``routes`` ties them to core, ``docs`` feeds OpenAPI.
"""

from __future__ import annotations

from ...core import contacts as _contacts  # noqa: F401  (registers the campaign scheduler job)
from .routes import router

__all__ = ["router"]
