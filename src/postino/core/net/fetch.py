"""Downloading a file a user pointed at (``media_url``): guarded, capped, quick.

Every hop is checked by the SSRF guard and the connection goes to the address the
guard approved (the host name still travels in ``Host`` and TLS SNI), so a DNS answer
cannot change between the check and the request. The body is read as a stream and
dropped the moment it passes ``max_bytes``; the whole fetch has a short deadline.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from ..errors import InvalidInput
from . import guard

MAX_REDIRECTS = 3


class FetchError(InvalidInput):
    code = "fetch_failed"


class TooLarge(InvalidInput):
    """The body passed the cap; ``head`` holds its first bytes (enough to sniff its type)."""

    code = "too_large"

    def __init__(self, message: str, head: bytes) -> None:
        super().__init__(message, field="media_url")
        self.head = head


@dataclass(frozen=True)
class Fetched:
    url: str
    data: bytes


def _pinned(checked: guard.CheckedURL) -> tuple[str, dict[str, str], dict]:
    parts = urlsplit(checked.url)
    address = checked.addresses[0]
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{checked.port}"
    default_port = 443 if parts.scheme == "https" else 80
    host_header = parts.hostname if checked.port == default_port else f"{parts.hostname}:{checked.port}"
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), {"Host": host_header or ""}, extensions


async def fetch(url: str, *, allow_private: bool, max_bytes: int, timeout: float = 10.0) -> Fetched:
    """The body at ``url`` (at most ``max_bytes``), following up to three redirects."""
    try:
        return await asyncio.wait_for(_fetch(url, allow_private, max_bytes, timeout), timeout)
    except asyncio.TimeoutError:
        raise FetchError("Timed out fetching media_url", field="media_url") from None


async def _fetch(url: str, allow_private: bool, max_bytes: int, timeout: float) -> Fetched:
    async with httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            checked = await guard.check(url, allow_private=allow_private)
            target, headers, extensions = _pinned(checked)
            request = client.build_request("GET", target, headers=headers, extensions=extensions)
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise FetchError(f"Cannot fetch media_url: {type(exc).__name__}", field="media_url") from exc
            try:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise FetchError(f"media_url answered HTTP {response.status_code}", field="media_url")
                declared = response.headers.get("content-length", "")
                buffer = bytearray()
                if declared.isdigit() and int(declared) > max_bytes:
                    async for chunk in response.aiter_bytes():
                        buffer.extend(chunk)
                        break
                    raise TooLarge("File too large", bytes(buffer[:8192]))
                async for chunk in response.aiter_bytes():
                    buffer.extend(chunk)
                    if len(buffer) > max_bytes:
                        raise TooLarge("File too large", bytes(buffer[:8192]))
                return Fetched(url, bytes(buffer))
            finally:
                await response.aclose()
    raise FetchError("Too many redirects fetching media_url", field="media_url")
