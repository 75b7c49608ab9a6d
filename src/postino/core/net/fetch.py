"""Downloading a file a user pointed at (``media_url``): guarded, capped, quick.

Every hop, each redirect included, is checked by the SSRF guard under the same policy
and the connection goes to the address the guard approved (the host name still travels
in ``Host`` and TLS SNI), so a DNS answer cannot change between the check and the
request, and a redirect cannot lead where the first URL could not. The body is read as
a stream and dropped the moment it passes ``max_bytes``; the whole fetch has a short
deadline.
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


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _pinned(checked: guard.CheckedURL) -> tuple[str, dict[str, str], dict]:
    parts = urlsplit(checked.url)
    netloc = f"{_bracketed(checked.addresses[0])}:{checked.port}"
    default_port = 443 if parts.scheme == "https" else 80
    name = _bracketed(checked.host)  # an address host comes from the guard written the standard way
    host_header = name if checked.port == default_port else f"{name}:{checked.port}"
    extensions = {"sni_hostname": checked.host} if parts.scheme == "https" else {}
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), {"Host": host_header}, extensions


async def fetch(
    url: str,
    *,
    policy: guard.Policy | None = None,
    allow_private: bool = False,
    max_bytes: int,
    timeout: float = 10.0,
) -> Fetched:
    """The body at ``url`` (at most ``max_bytes``), following up to three redirects.

    ``policy`` (``guard.Policy.of(settings)``) decides every hop; without it, ``allow_private``.
    """
    policy = policy if policy is not None else guard.Policy(allow_private=allow_private)
    try:
        return await asyncio.wait_for(_fetch(url, policy, max_bytes, timeout), timeout)
    except asyncio.TimeoutError:
        raise FetchError("Timed out fetching media_url", field="media_url") from None


async def _fetch(url: str, policy: guard.Policy, max_bytes: int, timeout: float) -> Fetched:
    # Sent through the transport, not the client: the client reads a redirect's Location with
    # its own URL rules (``0251.0376.0251.0376`` is an error to it); here the guard reads it.
    transport = httpx.AsyncHTTPTransport(trust_env=False, retries=0)
    async with httpx.AsyncClient(
        transport=transport, timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)), trust_env=False
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            checked = await guard.check(url, policy=policy)
            target, headers, extensions = _pinned(checked)
            request = client.build_request("GET", target, headers=headers, extensions=extensions)
            try:
                response = await transport.handle_async_request(request)
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
