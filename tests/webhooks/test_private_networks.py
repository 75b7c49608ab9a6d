"""Private URLs, finer: loopback and private ranges by the operator's switch, link-local and
metadata addresses only when named, and every spelling of an address read for what it is.

The same decision is asked of every path: a URL checked at input (``check_callback``, as
webhooks and dialect callbacks are), the guarded fetch (``check``, each redirect hop), and
the resolver of outgoing HTTP (``core.net.transport.resolve_checked``, where connections are made).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from postino.app import create_app
from postino.core.errors import InvalidInput
from postino.core.events import outbox as outbox_core
from postino.core.events import webhooks
from postino.core.net import fetch, guard
from postino.core.net.transport import BlockedAddress, resolve_checked
from postino.core.service import Core
from postino.settings import Settings

from ..support import run_cli, wait_for
from .helpers import attempts_of, outbox_rows

LOOPBACK = [
    "http://0177.0.0.1:9/x",  # octal
    "http://2130706433:9/x",  # one 32-bit number
    "http://0x7f.1:9/x",  # hex, two parts
    "http://127.1:9/x",  # two parts
    "http://[::ffff:127.0.0.1]:9/x",  # IPv4-mapped IPv6
    "http://127.0.0.1.:9/x",  # trailing dot
    "http://%31%32%37.0.0.1:9/x",  # percent-encoded
]
METADATA = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",  # IPv4-mapped IPv6
    "http://0251.0376.0251.0376/latest/meta-data/",  # octal
    "http://2852039166/latest/meta-data/",  # one 32-bit number
    "http://0xa9fea9fe/latest/meta-data/",  # hex
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64
    "http://[fe80::a9fe:a9fe]/openstack/",  # IPv6 link-local
    "http://[fd00:ec2::254]/latest/meta-data/",  # AWS over IPv6
    "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud
    "http://168.63.129.16/machine?comp=goalstate",  # Azure WireServer
    "http://192.0.0.192/latest/",  # Oracle Cloud
]
ALSO_METADATA = ["100.100.100.200", "168.63.129.16", "192.0.0.192"]
PRIVATE = ["http://10.1.2.3/x", "http://172.16.0.1/x", "http://192.168.1.1/x", "http://[fd12:3456::1]/x"]
NEVER = ["http://0.0.0.0:9/x", "http://[::]:9/x", "http://224.0.0.1/x", "http://240.0.0.1/x", "http://198.18.0.1/x"]
PUBLIC = ["http://8.8.8.8/x", "http://134744072/x", "http://[2606:4700:4700::1111]/x", "http://[::ffff:8.8.8.8]/x"]
MALFORMED = [
    "http://256.0.0.1/x", "http://1.2.3.4.5/x", "http://0x7g.1/x", "http://09.0.0.1/x",
    "http://127.0.0.1\\@example.com/",
]  # fmt: skip


def _settings(allow_private: bool = False, networks: list[str] | None = None) -> Settings:
    return Settings(allow_private_urls=allow_private, allowed_private_networks=networks or [])


async def _decisions(url: str, settings: Settings) -> tuple[bool, bool, bool]:
    """Whether input, the fetch and the outbox's resolver each let ``url`` through."""
    policy = guard.Policy.of(settings)
    try:
        await guard.check_callback(url, settings)
        at_input = True
    except guard.BlockedURL:
        at_input = False
    try:
        await guard.check(url, policy=policy)
        fetched = True
    except guard.BlockedURL:
        fetched = False
    parts = urlsplit(url)
    try:
        await resolve_checked(parts.hostname or "", parts.port or 80, policy=policy)
        connected = True
    except BlockedAddress:
        connected = False
    return at_input, fetched, connected


CASES = [
    # (urls, settings, allowed?)
    (LOOPBACK, _settings(), False),
    (LOOPBACK, _settings(allow_private=True), True),
    (LOOPBACK, _settings(networks=["169.254.169.254/32"]), False),
    (LOOPBACK, _settings(networks=["127.0.0.0/8"]), True),
    (METADATA, _settings(), False),
    (METADATA, _settings(allow_private=True), False),
    (METADATA, _settings(networks=["10.0.0.0/8"]), False),
    (METADATA, _settings(networks=["169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128"] + ALSO_METADATA), True),
    (PRIVATE, _settings(), False),
    (PRIVATE, _settings(allow_private=True), True),
    (PRIVATE[:1], _settings(networks=["10.0.0.0/8"]), True),
    (PRIVATE[1:], _settings(networks=["10.0.0.0/8"]), False),
    (NEVER, _settings(allow_private=True), False),
    (PUBLIC, _settings(), True),
]


def _case_id(case: tuple) -> str:
    urls, chosen, allowed = case
    kind = next(name for name, group in GROUPS.items() if urls[0] in group)
    switches = ("private" if chosen.allow_private_urls else "strict") + "".join(
        f"+{n}" for n in chosen.allowed_private_networks[:1]
    )
    return f"{kind}-{switches}-{'allowed' if allowed else 'refused'}"


GROUPS = {"loopback": LOOPBACK, "metadata": METADATA, "private": PRIVATE, "never": NEVER, "public": PUBLIC}


@pytest.mark.parametrize(("urls", "settings_", "allowed"), CASES, ids=[_case_id(c) for c in CASES])
async def test_every_path_decides_every_spelling_the_same_way(urls, settings_, allowed) -> None:  # noqa: ANN001
    for url in urls:
        expected = (allowed, allowed, allowed)
        why = (url, settings_.allow_private_urls, settings_.allowed_private_networks)
        assert await _decisions(url, settings_) == expected, why


async def test_odd_spellings_are_named_for_what_they_are() -> None:
    strict = _settings()
    refused = r"Address 127\.0\.0\.1 of 0177\.0\.0\.1 is not public \(loopback or private\)"
    with pytest.raises(guard.BlockedURL, match=refused):
        await guard.check_callback("http://0177.0.0.1:9/x", strict)
    with pytest.raises(guard.BlockedURL, match=r"169\.254\.169\.254 is not public \(link-local or cloud metadata\)"):
        await guard.check_callback("http://[::ffff:169.254.169.254]/", _settings(allow_private=True))
    assert guard.ip_literal("0x7f.1") == guard.ip_literal("2130706433") == guard.ip_literal("127.0.0.1")
    assert guard.normalise("http://u:p@0x7f.1:9/a?b=1#c") == "http://u:p@127.0.0.1:9/a?b=1#c"
    assert guard.normalise("https://Example.com/x") == "https://Example.com/x"  # names are left as written


@pytest.mark.parametrize("url", MALFORMED)
async def test_numbers_that_are_no_address_are_refused_everywhere(url: str) -> None:
    with pytest.raises(guard.BlockedURL):
        guard.check_syntax(url)
    with pytest.raises(guard.BlockedURL):
        await guard.check_callback(url, _settings(allow_private=True))


def test_is_public_keeps_its_meaning() -> None:
    assert guard.is_public("8.8.8.8") and guard.is_public("2606:4700::1111")
    for address in ("127.0.0.1", "10.0.0.1", "169.254.169.254", "::ffff:127.0.0.1", "fe80::1", "::1", "0.0.0.0"):
        assert not guard.is_public(address), address


def test_the_setting_reads_comma_separated_cidrs(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("POSTINO_ALLOWED_PRIVATE_NETWORKS", "169.254.169.254, 10.0.0.0/8 fd00:ec2::254/128")
    assert Settings().allowed_private_networks == ["169.254.169.254/32", "10.0.0.0/8", "fd00:ec2::254/128"]
    monkeypatch.setenv("POSTINO_ALLOWED_PRIVATE_NETWORKS", '["192.168.0.0/16"]')
    assert Settings().allowed_private_networks == ["192.168.0.0/16"]
    monkeypatch.setenv("POSTINO_ALLOWED_PRIVATE_NETWORKS", "10.0.0.0/33")
    with pytest.raises(ValueError, match="is not a network"):
        Settings()


def test_a_bad_flag_stops_serve_before_it_starts(tmp_path) -> None:  # noqa: ANN001
    done = run_cli("serve", "--data-dir", str(tmp_path), "--allowed-private-networks", "10.0.0.0/8,nope", check=False)
    assert done.returncode == 1
    assert "--allowed-private-networks" in done.stderr and "'nope' is not a network" in done.stderr


# --- the guarded fetch: every redirect hop -----------------------------------------------------


class Redirector:
    """A loopback HTTP server: ``/go?to=<url>`` answers 302 to it, ``/file`` answers the file."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, str]] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                hits.append((self.path, self.headers.get("Host", "")))
                if self.path.startswith("/go?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path[len("/go?to="):])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b"the file"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def redirector() -> Iterator[Redirector]:
    server = Redirector()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://0251.0376.0251.0376/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
    ],
)
async def test_a_redirect_from_an_allowed_host_to_metadata_is_refused(redirector: Redirector, target: str) -> None:
    policy = guard.Policy.of(_settings(allow_private=True))
    with pytest.raises(guard.BlockedURL, match="link-local or cloud metadata"):
        await fetch.fetch(redirector.url(f"/go?to={target}"), policy=policy, max_bytes=1024, timeout=5)
    assert [path for path, _host in redirector.hits] == [f"/go?to={target}"]  # the second hop was never made


async def test_redirect_hops_are_decided_like_the_first_url(redirector: Redirector) -> None:
    odd = f"http://0x7f.1:{redirector.port}/file"
    got = await fetch.fetch(
        redirector.url(f"/go?to={odd}"), policy=guard.Policy.of(_settings(networks=["127.0.0.0/8"])), max_bytes=1024
    )
    assert got.data == b"the file"
    assert redirector.hits[-1] == ("/file", f"127.0.0.1:{redirector.port}")  # the address, written the standard way
    with pytest.raises(guard.BlockedURL, match="loopback or private"):
        ten = guard.Policy.of(_settings(networks=["10.0.0.0/8"]))
        await fetch.fetch(redirector.url("/file"), policy=ten, max_bytes=1024)
    with pytest.raises(guard.BlockedURL, match="loopback or private"):
        await fetch.fetch(redirector.url("/file"), allow_private=False, max_bytes=1024)


# --- the outbox sender and webhooks ------------------------------------------------------------


@pytest_asyncio.fixture
async def started(settings) -> AsyncIterator:  # noqa: ANN001
    """Start an app with settings of the test's choosing: ``await started(allow_private_urls=…)``."""
    running = []

    async def start(**update: object) -> Core:
        chosen = settings.model_copy(update=update)
        core = Core(chosen)
        application = create_app(chosen, core)
        context = application.router.lifespan_context(application)
        await context.__aenter__()
        running.append(context)
        return core

    yield start
    for context in running:
        await context.__aexit__(None, None, None)


async def test_the_outbox_refuses_metadata_in_any_spelling_even_with_private_urls(started, alice, receiver) -> None:
    core = await started(allow_private_urls=True)
    odd = f"http://0x7f.1:{receiver.port}/odd"
    async with core.unit() as unit:  # written straight to the outbox, as rows stored before this check were
        for url in METADATA[:6]:
            await outbox_core.enqueue(unit, account_id=alice.id, event="callback", url=url, payload={"a": 1})
        await outbox_core.enqueue(unit, account_id=alice.id, event="callback", url=odd, payload={"a": 1})

    async def done():  # noqa: ANN202
        rows = await outbox_rows(core)
        return rows if len(rows) == 7 and all(r.state != "pending" for r in rows) else None

    rows = await wait_for(done, message="every callback settled")
    assert [r.state for r in rows] == ["failed"] * 6 + ["delivered"]
    for row in rows[:6]:
        (only,) = await attempts_of(core, row.id)  # refused at once, never retried
        assert only.error.startswith("blocked:") and "link-local or cloud metadata" in only.error, only.error
    (request,) = receiver.requests()
    assert request["path"] == "/odd" and request["headers"]["host"] == f"127.0.0.1:{receiver.port}"


async def test_named_networks_open_just_those_ranges_for_the_outbox(started, alice, receiver) -> None:
    core = await started(allow_private_urls=False, allowed_private_networks=["127.0.0.0/8"])
    async with core.unit() as unit:
        await outbox_core.enqueue(unit, account_id=alice.id, event="callback", url=receiver.url + "/named", payload={})
        await outbox_core.enqueue(unit, account_id=alice.id, event="callback", url="http://[::1]:9/v6", payload={})
        await outbox_core.enqueue(unit, account_id=alice.id, event="callback", url="http://10.0.0.1:9/ten", payload={})

    async def done():  # noqa: ANN202
        rows = await outbox_rows(core)
        return rows if len(rows) == 3 and all(r.state != "pending" for r in rows) else None

    rows = await wait_for(done, message="every callback settled")
    assert [r.state for r in rows] == ["delivered", "failed", "failed"]
    assert [r["path"] for r in receiver.requests()] == ["/named"]


async def test_webhooks_are_checked_with_the_same_rules(started, alice) -> None:
    lenient = await started(allow_private_urls=True)
    async with lenient.unit() as unit:
        hook = await webhooks.create(unit, alice.id, url="http://0177.0.0.1:9/hook", events=["message.sent"])
        assert hook.url == "http://127.0.0.1:9/hook"  # stored as it will be called
        for url in ("http://[::ffff:169.254.169.254]/", "http://0xa9fea9fe/", "http://[fe80::1]/"):
            with pytest.raises(InvalidInput, match="link-local or cloud metadata"):
                await webhooks.create(unit, alice.id, url=url, events=["message.sent"])
    strict = await started(allow_private_urls=False)
    async with strict.unit() as unit:
        for url in LOOPBACK:
            with pytest.raises(InvalidInput, match="not public"):
                await webhooks.create(unit, alice.id, url=url, events=["message.sent"])
    named = await started(allow_private_urls=False, allowed_private_networks=["169.254.169.254/32"])
    async with named.unit() as unit:
        hook = await webhooks.create(unit, alice.id, url="http://[::ffff:169.254.169.254]/x", events=["message.sent"])
        with pytest.raises(InvalidInput, match="not public"):
            await webhooks.create(unit, alice.id, url="http://169.254.169.253/x", events=["message.sent"])
