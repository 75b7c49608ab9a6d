"""The WhatsApp Cloud API connector: one business phone number of a Meta app.

Settings (``parse``): ``phone_number_id`` (the Cloud API's id of the business number),
``display_number`` (that number, shown as the sender), ``base_url`` (default Meta's Graph
API), ``api_version``, ``window`` (requests at once, default 10), ``tps`` (messages per
second, default 80, Meta's default throughput), ``max_queue``; the secrets are ``token``
(the access token), ``app_secret`` (signs the webhooks) and ``verify_token`` (answers the
webhook set-up handshake).

Order per recipient is kept: sends to one number wait for each other, and a throughput
error (130429, 131056, …) is waited out and the same message sent again, in place, rather
than given back to the queue behind newer ones. An expired token (190) takes the link
down, whether the first request to tell it is the check made on coming up (the phone
number's own record) or a send; it is tried again every ``TOKEN_RETRY_SECONDS`` and at
once when the token changes.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from aiolimiter import AsyncLimiter

from ... import __version__
from ...core.net import guard
from ...core.net.transport import BlockedAddress, GuardedTransport
from ...settings import Settings
from .. import base
from . import wire

KIND = "whatsapp_cloud"
DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
TOKEN_RETRY_SECONDS = 60.0
RETRY_FIRST = 0.5
RETRY_MAX = 10.0
THROUGHPUT_CODES = frozenset({4, 80007, 130429})
"""The whole number's throughput is spent: every send waits (one shared pause), not each on its own."""
REQUEST_TIMEOUT = 20.0
_VERSION = re.compile(r"v\d{1,3}\.\d{1,2}")


def _secret(options: dict[str, Any], name: str) -> str:
    value = str(options.get(name) or "")
    if not value:
        raise base.SettingsError(f"{name} is required", field=name)
    if len(value) > 1000 or not value.isprintable():
        raise base.SettingsError(f"{name} is printable text of at most 1000 characters", field=name)
    return value


def parse(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a Cloud API connector's settings: (config to store, secrets to seal)."""
    phone_number_id = str(options.get("phone_number_id") or "")
    if not phone_number_id.isdigit() or len(phone_number_id) > 32:
        raise base.SettingsError("phone_number_id is the digits of the Cloud API's phone number id", field="phone_number_id")
    display = "".join(ch for ch in str(options.get("display_number") or "") if ch.isdigit())
    if options.get("display_number") and not 6 <= len(display) <= 15:
        raise base.SettingsError("display_number is the business number in international form", field="display_number")
    base_url = str(options.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise base.SettingsError("base_url is an http(s) URL", field="base_url")
    version = str(options.get("api_version") or DEFAULT_VERSION)
    if not _VERSION.fullmatch(version):
        raise base.SettingsError("api_version looks like v21.0", field="api_version")
    config: dict[str, Any] = {
        "phone_number_id": phone_number_id,
        "display_number": display,
        "base_url": base_url,
        "api_version": version,
        "window": base.whole_number(options, "window", 1, 200, 10),
        "tps": base.whole_number(options, "tps", 1, 1000, 80),
        "max_queue": base.whole_number(options, "max_queue", 1, 10_000_000, None),
    }
    secrets = {name: _secret(options, name) for name in ("token", "app_secret", "verify_token")}
    return {k: v for k, v in config.items() if v not in (None, "")}, secrets


def describe(record: Any) -> str:
    c = record.config
    shown = f"+{c['display_number']} " if c.get("display_number") else ""
    return f"{shown}id {c.get('phone_number_id')} at {c.get('base_url')}/{c.get('api_version')}"


class CloudConnector(base.Connector):
    kind = KIND
    receipts_elsewhere = True

    def __init__(self, record: Any, secrets: dict[str, str], reports: base.Reports, settings: Settings) -> None:
        super().__init__(record, reports)
        c = record.config
        self.settings = settings
        self.url = f"{c['base_url']}/{c['api_version']}/{c['phone_number_id']}/messages"
        self.token = secrets.get("token", "")
        self._window = int(c.get("window", 10))
        self.limiter = AsyncLimiter(int(c.get("tps", 80)), 1)
        self._state = "down"
        self.last_error = ""
        self.paused_until = 0.0
        self.throttle_pause = RETRY_FIRST
        """The shared pause after a throughput error: doubles while they go on, back to the first after a success."""
        self.recipients: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.stop: asyncio.Event | None = None
        self.client: httpx.AsyncClient | None = None
        self.counts = {"requests": 0, "retried": 0, "refused": 0}

    @property
    def window(self) -> int:
        return self._window

    @property
    def state(self) -> str:
        return self._state

    def _link(self, state: str, detail: str = "") -> None:
        if (state, detail) != (self._state, self.last_error):
            self._state, self.last_error = state, detail
            self.reports.link(state, detail)

    async def run(self, stop: asyncio.Event) -> None:
        """Up while the base URL may be reached and the token was not refused; down otherwise."""
        self.stop = stop
        self.client = httpx.AsyncClient(
            transport=GuardedTransport(policy=guard.Policy.of(self.settings), max_connections=max(self._window, 4)),
            timeout=httpx.Timeout(REQUEST_TIMEOUT, connect=5.0),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": f"Postino/{__version__}", "Authorization": f"Bearer {self.token}"},
        )
        try:
            while not stop.is_set():
                if self._state != "bound":
                    refusal = await self._refusal() or await self._token_refusal()
                    if refusal is None:
                        self._link("bound")
                    else:
                        self._link("down", refusal)
                wait = TOKEN_RETRY_SECONDS if self._state != "bound" else 3600.0
                try:
                    await asyncio.wait_for(stop.wait(), timeout=wait)
                except asyncio.TimeoutError:
                    pass
                if self._state != "bound":
                    self._state = "binding"  # try again: the next send tells whether the token works now
        finally:
            await self.client.aclose()

    async def _refusal(self) -> str | None:
        parts = urlsplit(self.url)
        return await base.refusal(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80),
                                  self.settings)  # fmt: skip

    async def _token_refusal(self) -> str | None:
        """Ask for the phone number itself: an expired or wrong token is told now, not at the first send."""
        assert self.client is not None
        info = self.url.rsplit("/", 1)[0]  # {base}/{version}/{phone_number_id}
        try:
            response = await self.client.get(info, params={"fields": "display_phone_number,verified_name"})
        except (httpx.HTTPError, BlockedAddress) as exc:
            return f"cannot reach the Cloud API: {type(exc).__name__}"
        if response.status_code == 200:
            return None
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            answer = None
        failed = wire.failure(response.status_code, answer)
        if failed.action == "down":
            return f"access token refused: {failed.text}"
        return f"phone number id refused: {failed.text}" if response.status_code in (400, 404) else None

    async def send(self, message: base.Outbound) -> base.Sent:
        """POST one message; throughput errors are waited out and it is sent again, in order."""
        lock = self.recipients[message.recipient]
        async with lock:
            try:
                return await self._send(message)
            finally:
                if not lock._waiters:  # noqa: SLF001 - forget idle recipients, keep the map small
                    self.recipients.pop(message.recipient, None)

    async def _send(self, message: base.Outbound) -> base.Sent:
        body = orjson.dumps(
            wire.payload(recipient=message.recipient, body=message.body, media_url=message.media_url,
                         extra=message.extra, reference=str(message.id))  # fmt: skip
        )
        delay = RETRY_FIRST
        while True:
            if self._state == "down" or self.client is None:
                raise base.GiveBack(self.last_error or "link down")
            await self._wait_out_pause()
            async with self.limiter:
                status, answer = await self._post(body)
            wamid = wire.message_id(answer) if status == 200 else None
            if wamid is not None:
                if self._state != "bound":
                    self._link("bound")
                self.throttle_pause = RETRY_FIRST
                return base.Sent(ids=[wamid], keys=[[wamid]], parts=1)
            failed = wire.failure(status, answer)
            if failed.action == "down":
                self._link("down", f"access token refused: {failed.text}")
                raise base.GiveBack(failed.text)
            if failed.action == "refuse":
                self.counts["refused"] += 1
                raise base.Refuse(failed.reason, failed.text)
            self.counts["retried"] += 1
            if failed.code in THROUGHPUT_CODES:
                now = time.monotonic()
                if self.paused_until <= now:  # the first to hear of it sets the pause; the others join it
                    self.paused_until = now + self.throttle_pause
                    self.throttle_pause = min(self.throttle_pause * 2, RETRY_MAX)
                continue
            await self._pause(delay)  # this recipient (pair rate) or a passing fault: this message waits
            delay = min(delay * 2, RETRY_MAX)

    async def _post(self, body: bytes) -> tuple[int, Any]:
        assert self.client is not None
        self.counts["requests"] += 1
        try:
            response = await self.client.post(self.url, content=body, headers={"Content-Type": "application/json"})
        except BlockedAddress as exc:
            self._link("down", str(exc))
            raise base.GiveBack(str(exc)) from None
        except httpx.TimeoutException:
            # It may have gone: giving it back could send it twice, but keeping it would
            # lose it if it did not. At least once, as for SMPP after a crash.
            raise base.GiveBack("the Cloud API did not answer in time") from None
        except httpx.HTTPError as exc:
            raise base.GiveBack(f"cannot reach the Cloud API: {type(exc).__name__}") from None
        try:
            return response.status_code, orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return response.status_code, None

    async def _wait_out_pause(self) -> None:
        left = self.paused_until - time.monotonic()
        if left > 0:
            await self._pause(left)

    async def _pause(self, seconds: float) -> None:
        if self.stop is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return
        raise base.GiveBack("stopping")

    def stats(self) -> dict[str, Any]:
        return {"bind_state": self._state, "last_error": self.last_error if self._state != "bound" else "",
                "window_in_use": None, **self.counts}  # fmt: skip


KIND_INFO = base.Kind(
    name=KIND,
    channels=frozenset({"whatsapp"}),
    secret_fields=("token", "app_secret", "verify_token"),
    parse=parse,
    build=CloudConnector,
    describe=describe,
)
