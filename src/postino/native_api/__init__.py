"""Postino's own HTTP API (``/api/v1``): what none of the provider dialects can express.

Authenticated with an account's bearer token (``Authorization: Bearer pst_…``), the same
tokens the MessaggiSMS dialect uses; each account sees only its own objects.
"""

from fastapi import APIRouter

from ..http import ErrorFormat
from .common import problem
from .devices import router as _devices
from .webhooks import router as _webhooks

router = APIRouter()
router.include_router(_webhooks)
router.include_router(_devices)

ERRORS = (ErrorFormat(("/api/v1",), problem),)

__all__ = ["ERRORS", "router"]
