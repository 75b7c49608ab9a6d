"""Postino's own HTTP API (``/api/v1``): what none of the provider dialects can express.

Authenticated with an account's bearer token (``Authorization: Bearer pst_…``), the same
tokens the MessaggiSMS dialect uses; each account sees only its own objects.
"""

from ..http import ErrorFormat
from ..http_paths import PathRouter
from .campaigns import router as _campaigns
from .common import PREFIX, problem
from .connectors import router as _connectors
from .contacts import router as _contacts
from .devices import router as _devices
from .lists import router as _lists
from .messages import router as _messages
from .optouts import router as _optouts
from .webhooks import router as _webhooks

router = PathRouter(paths=[PREFIX])
router.include_router(_webhooks)
router.include_router(_devices)
router.include_router(_connectors)
router.include_router(_lists)
router.include_router(_contacts)
router.include_router(_campaigns)
router.include_router(_optouts)
router.include_router(_messages)

ERRORS = (ErrorFormat((PREFIX,), problem),)

__all__ = ["ERRORS", "router"]
