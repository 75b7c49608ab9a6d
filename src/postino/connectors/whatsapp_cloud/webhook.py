"""The Cloud API's webhook: its signature and what its body says.

Meta signs each POST with the app secret (``X-Hub-Signature-256: sha256=<hex>``, an
HMAC-SHA256 of the raw body); nothing in a body is believed before that is checked, in
constant time. A body carries ``statuses[]`` (what became of a sent message) and
``messages[]`` (what a user wrote), under ``entry[].changes[].value``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from .wire import REASONS

STATES = {"sent": "sent", "delivered": "delivered", "read": "read", "failed": "failed"}
"""Status -> the receipt state core applies (``carriers.FINAL_RECEIPTS``)."""


def signed(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` with ``app_secret``."""
    if not header or not app_secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


def sign(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Status:
    wamid: str
    state: str
    recipient: str
    reference: str
    error_code: int | None = None
    error_title: str = ""

    @property
    def reason(self) -> str | None:
        if self.state != "failed":
            return None
        return REASONS.get(self.error_code or 0, "generic")

    @property
    def error(self) -> str:
        return f"{self.error_code} {self.error_title}".strip() if self.error_code is not None else self.error_title


@dataclass(frozen=True)
class Media:
    id: str
    mime_type: str
    caption: str
    filename: str


@dataclass(frozen=True)
class Inbound:
    wamid: str
    sender: str
    recipient: str
    """The business number it was written to (``metadata.display_phone_number``)."""
    kind: str
    text: str
    media: Media | None
    name: str


@dataclass
class Events:
    statuses: list[Status]
    messages: list[Inbound]


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def parse(body: Any) -> Events:
    """Every status and message of a webhook body; what is not understood is left out."""
    found = Events([], [])
    if not isinstance(body, dict):
        return found
    for entry in body.get("entry") or ():
        if not isinstance(entry, dict):
            continue
        for change in entry.get("changes") or ():
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            _statuses(value, found)
            _messages(value, found)
    return found


def _statuses(value: dict[str, Any], found: Events) -> None:
    for status in value.get("statuses") or ():
        if not isinstance(status, dict):
            continue
        state = STATES.get(_str(status.get("status")))
        wamid = _str(status.get("id"))
        if state is None or not wamid:
            continue
        code, title = None, ""
        errors = status.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            code = first.get("code") if isinstance(first.get("code"), int) else None
            details = first.get("error_data", {}).get("details") if isinstance(first.get("error_data"), dict) else None
            title = _str(first.get("title") or first.get("message") or details)[:300]
        found.statuses.append(
            Status(wamid[:200], state, _str(status.get("recipient_id"))[:32],
                   _str(status.get("biz_opaque_callback_data"))[:64], code, title)  # fmt: skip
        )


def _messages(value: dict[str, Any], found: Events) -> None:
    metadata = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    business = _str(metadata.get("display_phone_number"))
    names = {}
    for contact in value.get("contacts") or ():
        if isinstance(contact, dict) and isinstance(contact.get("profile"), dict):
            names[_str(contact.get("wa_id"))] = _str(contact["profile"].get("name"))[:100]
    for message in value.get("messages") or ():
        if not isinstance(message, dict) or not message.get("from"):
            continue
        kind = _str(message.get("type"))
        sender = _str(message.get("from"))[:32]
        text, media = "", None
        if kind == "text" and isinstance(message.get("text"), dict):
            text = _str(message["text"].get("body"))
        elif kind in ("image", "video", "audio", "document", "sticker") and isinstance(message.get(kind), dict):
            part = message[kind]
            media = Media(_str(part.get("id")), _str(part.get("mime_type")), _str(part.get("caption")),
                          _str(part.get("filename")))  # fmt: skip
            text = media.caption
        elif kind == "button" and isinstance(message.get("button"), dict):
            text = _str(message["button"].get("text"))
        elif kind == "interactive" and isinstance(message.get("interactive"), dict):
            reply = message["interactive"].get("button_reply") or message["interactive"].get("list_reply") or {}
            text = _str(reply.get("title")) if isinstance(reply, dict) else ""
        found.messages.append(
            Inbound(_str(message.get("id"))[:200], sender, business, kind, text, media, names.get(sender, ""))
        )
