"""The SSRF guard on outgoing callbacks: loopback and metadata addresses only when the operator allows."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from postino.app import create_app
from postino.core.errors import InvalidInput
from postino.core.events import outbox as outbox_core
from postino.core.events import webhooks
from postino.core.net.transport import BlockedAddress, GuardedTransport
from postino.core.service import Core

from ..support import wait_for
from .conftest import Receiver
from .helpers import all_settled, attempts_of


@pytest_asyncio.fixture
async def guarded(settings) -> AsyncIterator[Core]:  # noqa: ANN001
    """A running app whose operator did not allow private addresses (the default)."""
    strict = settings.model_copy(update={"allow_private_urls": False})
    core = Core(strict)
    application = create_app(strict, core)
    async with application.router.lifespan_context(application):
        yield core


async def test_private_callbacks_are_refused_by_default(guarded, alice, receiver) -> None:
    core = guarded
    urls = [receiver.url + "/loopback", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/x"]
    async with core.unit() as unit:
        for url in urls:
            await outbox_core.enqueue(unit, account_id=alice.id, event="callback", url=url, payload={"a": 1})
    rows = await wait_for(lambda: all_settled(core, 3, "failed"), message="refused without retries")
    for row in rows:
        (only,) = await attempts_of(core, row.id)
        assert only.status_code is None
        assert only.error.startswith("blocked:") and "not public" in only.error
    assert receiver.requests() == []


async def test_webhooks_with_private_urls_cannot_be_added_by_default(guarded, alice) -> None:
    async with guarded.unit() as unit:
        for url in ("http://127.0.0.1:8080/", "http://169.254.169.254/", "http://localhost/", "ftp://example.com/"):
            with pytest.raises(InvalidInput):
                await webhooks.create(unit, alice.id, url=url, events=["message.sent"])


async def test_private_callbacks_are_allowed_with_the_operator_setting(app, core, alice, receiver) -> None:
    assert core.settings.allow_private_urls
    async with core.unit() as unit:
        await outbox_core.enqueue(unit, account_id=alice.id, event="callback", url=receiver.url, payload={"a": 1})
    await wait_for(lambda: all_settled(core, 1), message="delivered to loopback")
    assert len(receiver.requests()) == 1


async def test_the_check_happens_when_connecting(receiver) -> None:
    """A name that resolves to loopback is refused at connect time, where no later DNS answer can differ."""
    name_url = f"http://localhost:{receiver.port}/named"
    async with httpx.AsyncClient(transport=GuardedTransport(allow_private=False)) as client:
        with pytest.raises(BlockedAddress):
            await client.post(name_url, content=b"{}")
    async with httpx.AsyncClient(transport=GuardedTransport(allow_private=True)) as client:
        response = await client.post(name_url, content=b"{}")
    assert response.status_code == 200
    (request,) = receiver.requests()
    assert request["headers"]["host"] == f"localhost:{receiver.port}"  # the URL keeps its name (and TLS its SNI)


def _certificate_for_localhost(where: Path) -> Path:
    """A self-signed certificate valid for the name ``localhost`` only (no IP address in it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = where / "localhost.pem"
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


async def test_tls_is_verified_against_the_url_name_not_the_checked_address(tmp_path: Path) -> None:
    pem = _certificate_for_localhost(tmp_path)
    tls = Receiver(tmp_path / "tls", tls_cert=pem).start()
    try:
        trust = ssl.create_default_context(cafile=str(pem))
        async with httpx.AsyncClient(transport=GuardedTransport(allow_private=True, ssl_context=trust)) as client:
            ok = await client.post(f"https://localhost:{tls.port}/", content=b"{}")
            assert ok.status_code == 200  # connected to the resolved 127.0.0.1, verified as "localhost"
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED|match"):
                await client.post(f"https://127.0.0.1:{tls.port}/", content=b"{}")  # the cert does not name the address
        assert len(tls.requests()) == 1
    finally:
        tls.stop()
