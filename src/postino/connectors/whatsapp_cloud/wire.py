"""What goes over the wire to the Cloud API and what comes back: payloads and the error map.

A thin layer of Postino's own (three payload kinds, one answer, one error envelope) rather
than a client library: the API is small and stable at this level, and the one maintained
Python client changes its major version yearly (docs/connectors.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

TEXT_MAX = 4096
CAPTION_MAX = 1024

MEDIA_KINDS: dict[str, str] = {
    "jpg": "image", "jpeg": "image", "png": "image", "webp": "image",
    "mp4": "video", "3gp": "video",
    "mp3": "audio", "ogg": "audio", "oga": "audio", "opus": "audio", "aac": "audio", "amr": "audio", "m4a": "audio",
}  # fmt: skip
"""A media file's extension -> the Cloud API message type; anything else goes as a document."""

RETRY_CODES = frozenset({4, 80007, 130429, 131000, 131016, 131056})
"""Throughput, pair-rate and transient service errors: wait and send the same message again."""
REASONS: dict[int, str] = {131047: "window_closed", 131026: "invalid_destination"}
"""Error code -> the message's failure reason; other refusals are ``rejected``."""
TOKEN_EXPIRED = 190


@dataclass(frozen=True)
class Template:
    """A template message (for sends outside the 24-hour window)."""

    name: str
    language: str
    components: list[dict[str, Any]]


def media_kind(url: str) -> str:
    """``image`` / ``video`` / ``audio`` / ``document`` from the file's extension in ``url``."""
    path = urlsplit(url).path
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return MEDIA_KINDS.get(ext, "document")


def template_of(extra: dict[str, Any] | None) -> Template | None:
    found = (extra or {}).get("template")
    if not isinstance(found, dict) or not found.get("name"):
        return None
    components = found.get("components") or []
    return Template(str(found["name"]), str(found.get("language") or "en_US"), list(components))


def payload(
    *, recipient: str, body: str, media_url: str | None, extra: dict[str, Any] | None, reference: str
) -> dict[str, Any]:
    """The ``/messages`` body of one message; ``reference`` comes back in its statuses."""
    message: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "".join(ch for ch in recipient if ch.isdigit()),
    }
    template = template_of(extra)
    if template is not None:
        content: dict[str, Any] = {"name": template.name, "language": {"code": template.language}}
        if template.components:
            content["components"] = template.components
        message.update(type="template", template=content)
    elif media_url:
        kind = media_kind(media_url)
        content = {"link": media_url}
        caption = str((extra or {}).get("caption") or body or "")[:CAPTION_MAX]
        if caption and kind != "audio":
            content["caption"] = caption
        file_name = str((extra or {}).get("file_name") or "")
        if kind == "document" and file_name:
            content["filename"] = file_name[:240]
        message.update(type=kind, **{kind: content})
    else:
        message.update(type="text", text={"body": body[:TEXT_MAX], "preview_url": "http://" in body or "https://" in body})
    message["biz_opaque_callback_data"] = reference
    return message


@dataclass(frozen=True)
class Failure:
    """An error answer, read: what to do with the message."""

    code: int
    title: str
    action: str
    """``retry`` (wait, send again), ``refuse`` (fail the message), ``down`` (the token is expired)."""
    reason: str = "rejected"

    @property
    def text(self) -> str:
        return f"{self.code} {self.title}".strip()[:500]


def failure(status: int, answer: Any) -> Failure:
    """Classify an answer that is not a success (Meta's ``{"error": {...}}``, or whatever came)."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        if status == 429 or status >= 500:
            return Failure(status, f"HTTP {status}", "retry")
        return Failure(status, f"HTTP {status}", "refuse")
    code = error.get("code")
    code = code if isinstance(code, int) else status
    details = error.get("error_data", {}).get("details") if isinstance(error.get("error_data"), dict) else None
    title = str(details or error.get("message") or "")[:300]
    if code == TOKEN_EXPIRED or status == 401:
        return Failure(code, title, "down")
    if code in RETRY_CODES or status >= 500:
        return Failure(code, title, "retry")
    return Failure(code, title, "refuse", REASONS.get(code, "rejected"))


def message_id(answer: Any) -> str | None:
    """The ``wamid`` of a success answer; None when the answer is not one."""
    if not isinstance(answer, dict):
        return None
    found = answer.get("messages")
    if isinstance(found, list) and found and isinstance(found[0], dict) and isinstance(found[0].get("id"), str):
        return found[0]["id"]
    return None
