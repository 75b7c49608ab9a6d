"""The media store: type from the bytes, size caps, public unguessable URLs under /media/."""

from __future__ import annotations

import base64

import pytest

from postino.core.errors import InvalidInput
from postino.core.net import media

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
IMAGES = {"image/png", "image/jpeg"}


async def test_stored_file_is_served_at_its_public_url(core, client, alice) -> None:  # noqa: ANN001
    async with core.unit() as unit:
        stored = await media.store(unit, alice.id, PNG, allowed=IMAGES, max_bytes=1024, file_name="dot.txt")
    assert stored.content_type == "image/png"
    assert len(stored.id) == 32
    assert stored.url.endswith(f"/media/{stored.id}.png")
    answer = await client.get(f"/media/{stored.id}.png")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"
    assert answer.content == PNG
    assert (await client.get("/media/" + "0" * 32 + ".png")).status_code == 404


async def test_type_comes_from_bytes_and_size_is_capped(core, alice) -> None:  # noqa: ANN001
    async with core.unit() as unit:
        with pytest.raises(InvalidInput, match="type"):
            await media.store(unit, alice.id, b"<?php echo 1; ?>", allowed=IMAGES, max_bytes=1024, file_name="x.png")
        with pytest.raises(InvalidInput, match="exceeds"):
            await media.store(unit, alice.id, PNG + b"\0" * 2048, allowed=IMAGES, max_bytes=1024)
    assert list((core.settings.media_dir).iterdir()) == []
