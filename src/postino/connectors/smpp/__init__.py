"""SMPP 3.4: an asyncio transceiver session over the smpp34 codec, text and receipt rules."""

from .receipts import Receipt, id_key, id_keys
from .session import (
    Handler,
    InboundPart,
    NotBound,
    Outgoing,
    Rejected,
    SmppClient,
    SmppConfig,
    SubmitError,
    Throttled,
)
from .text import Concat, Encoded, Part

__all__ = [
    "Concat",
    "Encoded",
    "Handler",
    "InboundPart",
    "NotBound",
    "Outgoing",
    "Part",
    "Receipt",
    "Rejected",
    "SmppClient",
    "SmppConfig",
    "SubmitError",
    "Throttled",
    "id_key",
    "id_keys",
]
