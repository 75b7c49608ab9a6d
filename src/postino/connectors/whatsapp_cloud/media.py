"""Media a WhatsApp user sent: the webhook names it by id; two guarded GETs bring the bytes.

``GET /{version}/{media_id}`` answers a short-lived URL, which is fetched with the same
bearer token. Both go through the network policy like every outgoing call.
"""

from __future__ import annotations

from typing import Any

import httpx

from ... import __version__
from ...core.net import guard
from ...core.net.transport import BlockedAddress, GuardedTransport
from ...settings import Settings

MAX_BYTES = 16 * 1024 * 1024
"""Meta's own cap on a media message (video); larger answers are not kept."""


class MediaError(Exception):
    pass


async def download(config: dict[str, Any], token: str, media_id: str, settings: Settings) -> tuple[bytes, str]:
    """The bytes and content type of ``media_id``; ``MediaError`` saying why not."""
    if not media_id or not media_id.replace("-", "").replace("_", "").isalnum():
        raise MediaError("no media id")
    async with httpx.AsyncClient(
        transport=GuardedTransport(policy=guard.Policy.of(settings), max_connections=2),
        timeout=httpx.Timeout(20.0, connect=5.0),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": f"Postino/{__version__}", "Authorization": f"Bearer {token}"},
    ) as client:
        try:
            meta = await client.get(f"{config['base_url']}/{config['api_version']}/{media_id}")
            if meta.status_code != 200:
                raise MediaError(f"media lookup answered HTTP {meta.status_code}")
            url = meta.json().get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise MediaError("media lookup gave no URL")
            async with client.stream("GET", url) as answer:
                if answer.status_code != 200:
                    raise MediaError(f"media download answered HTTP {answer.status_code}")
                data = bytearray()
                async for chunk in answer.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > MAX_BYTES:
                        raise MediaError("media larger than 16 MB")
                return bytes(data), answer.headers.get("content-type", "")
        except (httpx.HTTPError, BlockedAddress, ValueError) as exc:
            raise MediaError(f"cannot fetch the media: {type(exc).__name__}") from None
