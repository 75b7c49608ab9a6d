"""What the fake Graph API says on the wire: Meta's error envelopes, send validation, ids
and the pieces of webhook payloads.

The texts follow what the Cloud API answers, so a connector that parses them here parses
Meta's; validation is strict where Meta is, so a malformed send fails in tests, not in
production.
"""

from __future__ import annotations

import base64
import random
import re
import string
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

VERSION = re.compile(r"v\d{1,2}\.\d")
MEDIA_TYPES = ("image", "document", "video", "audio")
TYPES = ("text", *MEDIA_TYPES, "template")
TEXT_MAX = 4096
CAPTION_MAX = 1024
CALLBACK_MAX = 512
ERROR_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

# Errors that arrive in a ``failed`` status, not in the send's answer: code -> (title, details).
ASYNC_ERRORS: dict[int, tuple[str, str]] = {
    131000: ("Something went wrong", "Message failed to send due to an unknown error."),
    131026: ("Message undeliverable", "Message Undeliverable."),
    131047: (
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    ),
    131053: ("Media upload error", "Unable to download the media sent by the business."),
}


class GraphError(Exception):
    """A refused request: the HTTP status and Meta's ``{"error": {...}}`` body."""

    def __init__(self, http_status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.http_status = http_status
        self.error = error

    @property
    def code(self) -> int:
        return int(self.error["code"])

    def body(self, fbtrace_id: str) -> dict[str, Any]:
        return {"error": {**self.error, "fbtrace_id": fbtrace_id}}


def _whatsapp_error(http_status: int, code: int, message: str, details: str) -> GraphError:
    return GraphError(
        http_status,
        {"message": message, "type": "OAuthException", "code": code,
         "error_data": {"messaging_product": "whatsapp", "details": details}},
    )


def invalid(details: str) -> GraphError:
    return _whatsapp_error(400, 100, "(#100) Invalid parameter", details)


def required(param: str) -> GraphError:
    return _whatsapp_error(400, 100, f"(#100) The parameter {param} is required.", f"The parameter {param} is required.")


def rate_limited() -> GraphError:
    return _whatsapp_error(400, 130429, "(#130429) Rate limit hit", "Cloud API message throughput has been reached.")


def pair_rate_limited() -> GraphError:
    return _whatsapp_error(
        400, 131056, "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number "
        "to the same phone number in a short period of time.",
    )


def token_refused() -> GraphError:
    return GraphError(
        401,
        {"message": "Error validating access token: Session has expired on Monday, 01-Jan-24 00:00:00 PST. "
                    "The current time is later than that.",
         "type": "OAuthException", "code": 190, "error_subcode": 463},
    )


def no_such_object(object_id: str, method: str) -> GraphError:
    return GraphError(
        400,
        {"message": f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded "
                    "due to missing permissions, or does not support this operation. Please read the Graph API "
                    "documentation at https://developers.facebook.com/docs/graph-api",
         "type": "GraphMethodException", "code": 100, "error_subcode": 33},
    )


def unknown_path(path: str) -> GraphError:
    return GraphError(400, {"message": f"Unknown path components: {path}", "type": "OAuthException", "code": 2500})


def status_errors(code: int) -> list[dict[str, Any]]:
    """The ``errors`` of a ``failed`` status."""
    title, details = ASYNC_ERRORS[code]
    return [{"code": code, "title": title, "message": title, "error_data": {"details": details}, "href": ERROR_HREF}]


# -- ids -----------------------------------------------------------------------------


def wamid(wa_id: str, rnd: random.Random) -> str:
    """``wamid.`` and base64 of what Meta's ids encode (the number, a hex id), so ids
    carry ``=``, ``+`` or ``/`` now and then as real ones do."""
    hex_id = "".join(rnd.choice("0123456789ABCDEF") for _ in range(20)).encode()
    raw = b"\x1c\x18" + bytes([len(wa_id)]) + wa_id.encode() + b"\x15\x02\x00\x11\x18\x14" + hex_id + b"\x00"
    return "wamid." + base64.b64encode(raw).decode()


def digits_id(rnd: random.Random, length: int = 16) -> str:
    """A numeric Graph object id (media ids are such)."""
    return str(rnd.randrange(10 ** (length - 1), 10**length))


def fbtrace_id(rnd: random.Random) -> str:
    return "A" + "".join(rnd.choice(string.ascii_letters + string.digits + "_-") for _ in range(22))


def wa_digits(value: str) -> str:
    return value[1:] if value.startswith("+") else value


# -- validating a send ------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    """A valid ``POST …/messages`` reduced to what the fake acts on."""

    to: str  # as sent
    wa_id: str
    type: str
    link: str | None  # a media send by link
    callback: str | None  # biz_opaque_callback_data


def _string(obj: dict[str, Any], key: str, where: str, *, required_key: bool = True) -> str | None:
    name = f"{where}['{key}']" if where else key
    if key not in obj:
        if required_key:
            raise required(name)
        return None
    value = obj[key]
    if not isinstance(value, str):
        raise invalid(f"Param {name} must be a string.")
    return value


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    if key not in body:
        raise required(key)
    value = body[key]
    if not isinstance(value, dict):
        raise invalid(f"Param {key} must be a JSON object.")
    return value


def _known_keys(obj: dict[str, Any], where: str, allowed: tuple[str, ...]) -> None:
    for key in obj:
        if key not in allowed:
            raise invalid(f'Unexpected key "{key}" on param "{where}".')


def _text(body: dict[str, Any]) -> None:
    text = _object(body, "text")
    _known_keys(text, "text", ("body", "preview_url"))
    value = _string(text, "body", "text") or ""
    if not value:
        raise invalid("Param text['body'] must be at least 1 character long.")
    if len(value) > TEXT_MAX:
        raise invalid(f"Param text['body'] must be at most {TEXT_MAX} characters long.")
    if "preview_url" in text and not isinstance(text["preview_url"], bool):
        raise invalid("Param text['preview_url'] must be a boolean.")


def _media(body: dict[str, Any], kind: str) -> str | None:
    """Check a media object; its link, if it is sent by link."""
    media = _object(body, kind)
    allowed = ("link", "id") + (() if kind == "audio" else ("caption",)) + (("filename",) if kind == "document" else ())
    _known_keys(media, kind, allowed)
    link = _string(media, "link", kind, required_key=False)
    media_id = _string(media, "id", kind, required_key=False)
    if link is None and media_id is None:
        raise required(f"{kind}['link'] or {kind}['id']")
    if link is not None and media_id is not None:
        raise invalid(f"Param {kind} must have either a link or an id, not both.")
    if link is not None:
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise invalid(f"Param {kind}['link'] must be a valid URL using http or https.")
    elif not media_id:
        raise invalid(f"Param {kind}['id'] must not be empty.")
    caption = _string(media, "caption", kind, required_key=False)
    if caption is not None and len(caption) > CAPTION_MAX:
        raise invalid(f"Param {kind}['caption'] must be at most {CAPTION_MAX} characters long.")
    if _string(media, "filename", kind, required_key=False) == "":
        raise invalid(f"Param {kind}['filename'] must not be empty.")
    return link


def _template(body: dict[str, Any]) -> None:
    template = _object(body, "template")
    _known_keys(template, "template", ("name", "language", "components", "namespace"))
    if not _string(template, "name", "template"):
        raise invalid("Param template['name'] must not be empty.")
    if "language" not in template:
        raise required("template['language']")
    language = template["language"]
    if not isinstance(language, dict):
        raise invalid("Param template['language'] must be a JSON object.")
    if not _string(language, "code", "template['language']"):
        raise invalid("Param template['language']['code'] must not be empty.")
    if "policy" in language and language["policy"] != "deterministic":
        raise invalid("Param template['language']['policy'] must be 'deterministic'.")
    components = template.get("components", [])
    if not isinstance(components, list):
        raise invalid("Param template['components'] must be an array.")
    for i, component in enumerate(components):
        where = f"template['components'][{i}]"
        if not isinstance(component, dict):
            raise invalid(f"Param {where} must be a JSON object.")
        _string(component, "type", where)
        parameters = component.get("parameters", [])
        if not isinstance(parameters, list) or not all(isinstance(p, dict) and isinstance(p.get("type"), str) for p in parameters):
            raise invalid(f"Param {where}['parameters'] must be an array of objects with a type.")


def validate(body: Any) -> Send:
    """The send ``body`` stands for, or the GraphError Meta would answer."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    if "messaging_product" not in body:
        raise required("messaging_product")
    if body["messaging_product"] != "whatsapp":
        raise invalid("Param messaging_product must be 'whatsapp'.")
    if body.get("recipient_type", "individual") != "individual":
        raise invalid("Param recipient_type must be 'individual'.")
    to = _string(body, "to", "") or ""
    wa_id = wa_digits(to)
    if not (wa_id.isascii() and wa_id.isdigit() and 6 <= len(wa_id) <= 15):
        raise invalid("Param to must be a phone number: 6 to 15 digits, optionally after a '+'.")
    kind = body.get("type", "text")  # Meta's default
    if kind not in TYPES:
        raise invalid(f"Param type must be one of {{{', '.join(TYPES)}}}.")
    link = None
    if kind == "text":
        _text(body)
    elif kind == "template":
        _template(body)
    else:
        link = _media(body, kind)
    callback = _string(body, "biz_opaque_callback_data", "", required_key=False)
    if callback is not None and len(callback) > CALLBACK_MAX:
        raise invalid(f"Param biz_opaque_callback_data must be at most {CALLBACK_MAX} characters long.")
    return Send(to=to, wa_id=wa_id, type=kind, link=link, callback=callback)


# -- webhook payloads --------------------------------------------------------------------


def envelope(waba_id: str, metadata: dict[str, str], value: dict[str, Any]) -> dict[str, Any]:
    """Meta's webhook envelope around one ``messages`` change."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [
            {"value": {"messaging_product": "whatsapp", "metadata": metadata, **value}, "field": "messages"}
        ]}],
    }
