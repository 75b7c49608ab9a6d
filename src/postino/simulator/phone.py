"""One simulated phone: the SMS Gateway for Android app's behaviour, over real HTTP.

It registers (or reuses its saved registration), declares its SIM slots, reads its
settings and webhooks, listens on ``/events`` and pulls on every hint (and on a timer,
in case a hint was lost), takes each message once, "sends" it with the configured
latency, odds and delays, and reports ``Processed``/``Sent``/``Delivered``/``Failed``.
Whatever goes wrong with the server, it waits (with backoff) and carries on.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import re
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

import httpx

from .options import Options
from .sentlog import SentLog
from .state import StateFile

DONE_MEMORY = 50_000
"""How many finished message ids a phone remembers to deduplicate re-deliveries."""
REPORT_BATCH = 500
"""State reports sent in one PATCH: well under the server's cap of 1,000, so a backlog drains."""
REPORT_SETTLE_TURNS = 3
"""Event-loop turns a report waits for the steps right behind it (take, send, deliver)."""


class Unauthorized(Exception):
    """The server does not know this phone's token: register again."""


class RegistrationRefused(Exception):
    """The registration token itself was refused: retrying cannot help."""


def now_iso() -> str:
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def log(prefix: str, text: str) -> None:
    print(f"{datetime.now().strftime('%H:%M:%S.%f')[:-3]} {prefix} {text}", flush=True)


class Backoff:
    def __init__(self, first: float = 0.2, most: float = 2.0) -> None:
        self.first, self.most, self.current = first, most, first

    def reset(self) -> None:
        self.current = self.first

    async def wait(self, stop: asyncio.Event) -> None:
        delay = self.current * (0.75 + random.random() / 2)
        self.current = min(self.most, self.current * 2)
        try:
            await asyncio.wait_for(stop.wait(), timeout=delay)
        except asyncio.TimeoutError:
            pass


class SimulatedPhone:
    def __init__(
        self, index: int, options: Options, state: StateFile, client: httpx.AsyncClient,
        sent_log: SentLog | None = None,
    ) -> None:
        self.index = index
        self.sent_log = sent_log
        self.options = options
        self.state = state
        self.client = client
        self.prefix = f"[phone {index}]"
        self.rng = random.Random(None if options.seed is None else options.seed + index)
        self.fail_re = re.compile(options.fail_pattern, re.I) if options.fail_pattern else None
        self.reply_re = re.compile(re.escape(options.reply_pattern), re.I) if options.reply_pattern else None
        self.wake = asyncio.Event()
        self.sends: asyncio.Queue[dict] = asyncio.Queue()
        self.reports: list[dict] = []
        self.reports_ready = asyncio.Event()
        self.inbound: list[dict] = []
        self.inbound_ready = asyncio.Event()
        self.done: OrderedDict[str, dict] = OrderedDict()
        self.cancelled: set[str] = set()
        self.queued_ids: set[str] = set()
        self.background: set[asyncio.Task] = set()
        self.settings: dict = {}
        self.hook_url: str | None = None
        self.last_send = 0.0
        self.last_pull = 0.0
        self.sent_count = 0
        self.fatal: str | None = None

    # --- registration and configuration -------------------------------------------------

    @property
    def saved(self) -> dict[str, Any]:
        return self.state.phone(self.index)

    @property
    def inflight(self) -> dict[str, dict]:
        return self.saved.setdefault("inflight", {})

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.saved['token']}"}

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.request(method, self.options.api + path, headers=self.auth(), **kwargs)
        if response.status_code == 401:
            raise Unauthorized(path)
        if response.status_code >= 400:
            raise httpx.HTTPStatusError(
                f"{method} {path}: {response.status_code} {response.text[:200]}", request=response.request,
                response=response,
            )
        return response

    async def register(self) -> None:
        saved = self.saved
        if saved.get("token") and saved.get("server") == self.options.api:
            return
        response = await self.client.post(
            self.options.api + "/device",
            headers={"Authorization": f"Bearer {self.options.token}"},
            json={"name": f"{self.options.name}-{self.index}", "pushToken": None, "simCards": self.options.sim_cards()},
        )
        if response.status_code in (401, 403):
            raise RegistrationRefused(f"registration refused: {response.status_code} {response.text[:200]}")
        if response.status_code != 201:
            raise RuntimeError(f"registration refused: {response.status_code} {response.text[:200]}")
        body = response.json()
        saved.update(id=body["id"], token=body["token"], login=body.get("login", ""), server=self.options.api)
        saved["inflight"] = {}
        self.state.save()
        log(self.prefix, f"registered device {body['id']} for {body.get('login', '')}")

    async def configure(self) -> None:
        await self.call("PATCH", "/device", json={"id": self.saved["id"], "pushToken": None,
                                                  "simCards": self.options.sim_cards()})
        await self.load_settings()
        hooks = (await self.call("GET", "/webhooks")).json()
        self.hook_url = next((h["url"] for h in hooks if h.get("event") == "sms:received"), None)
        log(self.prefix, f"ready as device {self.saved['id']} (slots {self.options.slots})")

    async def load_settings(self) -> None:
        self.settings = (await self.call("GET", "/settings")).json()

    def send_interval(self) -> float:
        messages = self.settings.get("messages") or {}
        low = messages.get("send_interval_min") or 0
        high = messages.get("send_interval_max") or low
        return self.rng.uniform(float(low), float(max(low, high)))

    def pull_interval(self) -> float:
        ping = (self.settings.get("ping") or {}).get("interval_seconds") or 0
        return float(ping)

    # --- the main loop -------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff()
        while not stop.is_set():
            try:
                await self.register()
                await self.configure()
                self.resume()
                backoff.reset()
                await self.session(stop)
            except RegistrationRefused as exc:
                log(self.prefix, f"{exc}: check --token")
                self.fatal = str(exc)
                stop.set()
            except Unauthorized:
                log(self.prefix, "the server does not know this phone: registering again")
                for key in ("token", "id"):
                    self.saved.pop(key, None)
                self.state.save()
                await backoff.wait(stop)
            except Exception as exc:  # noqa: BLE001 - a phone keeps trying, whatever happened
                if not stop.is_set():
                    log(self.prefix, f"server unreachable or refusing ({type(exc).__name__}: {exc}); retrying")
                    await backoff.wait(stop)
        for task in list(self.background):
            task.cancel()
        self.state.save()

    async def session(self, stop: asyncio.Event) -> None:
        """Listen, pull, send and report until the server goes away (raises) or ``stop``."""
        tasks = [
            asyncio.create_task(self.listen(), name="listen"),
            asyncio.create_task(self.puller(), name="pull"),
            asyncio.create_task(self.sender(), name="send"),
            asyncio.create_task(self.reporter(), name="report"),
            asyncio.create_task(self.inbound_sender(), name="inbound"),
            asyncio.create_task(stop.wait(), name="stop"),
        ]
        if self.options.inbound_every > 0:
            tasks.append(asyncio.create_task(self.inbound_ticker(), name="tick"))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task.get_name() != "stop" and not task.cancelled() and task.exception():
                raise task.exception()  # type: ignore[misc]
        if not stop.is_set():
            raise httpx.RemoteProtocolError("event stream closed")

    async def listen(self) -> None:
        timeout = httpx.Timeout(connect=5.0, read=45.0, write=5.0, pool=5.0)
        url = self.options.api + "/events"
        async with self.client.stream("GET", url, headers=self.auth(), timeout=timeout) as resp:
            if resp.status_code == 401:
                raise Unauthorized("/events")
            resp.raise_for_status()
            event, data = "", ""
            async for line in resp.aiter_lines():
                if line.startswith(":"):
                    continue
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif line == "":
                    if event or data:
                        await self.on_event(event or "MessageEnqueued", data)
                    event, data = "", ""

    async def on_event(self, event: str, data: str) -> None:
        if event == "MessageEnqueued":
            self.wake.set()
        elif event == "MessageCancelled":
            try:
                self.cancelled.add(str(json.loads(data or "{}").get("messageId")))
            except ValueError:
                pass
        elif event == "SettingsUpdated":
            await self.load_settings()
        elif event == "WebhooksUpdated":
            await self.configure()

    async def puller(self) -> None:
        while True:
            every = self.pull_interval() or self.options.poll_every
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=every)
            except asyncio.TimeoutError:
                pass
            gap = self.pull_interval() - (time.monotonic() - self.last_pull)
            if gap > 0:
                await asyncio.sleep(gap)  # the server asked for this much time between pulls
            self.wake.clear()
            self.last_pull = time.monotonic()
            messages = (await self.call("GET", "/message")).json()
            await self.take(messages)

    # --- taking, sending, reporting ------------------------------------------------------

    async def take(self, messages: list[dict]) -> None:
        fresh = []
        pending = {report["id"] for report in self.reports}
        for message in messages:
            mid = str(message["id"])
            if mid in self.done:
                if mid not in pending:  # still queued: saying it twice would only grow the backlog
                    self.queue_report(self.done[mid])  # the server missed our last word: say it again
            elif mid not in self.inflight and mid not in self.queued_ids:
                fresh.append(message)
        if not fresh:
            return
        if self.options.take_delay > 0:
            await asyncio.sleep(self.options.take_delay)  # a slow phone: holds them, says nothing
        taken = []
        for message in fresh:
            mid = str(message["id"])
            if mid in self.cancelled:
                continue
            text = message.get("message") or (message.get("textMessage") or {}).get("text") or ""
            self.inflight[mid] = {
                "phone": (message.get("phoneNumbers") or [""])[0],
                "text": text,
                "sim": message.get("simNumber"),
                "step": "Processed",
                "states": {"Processed": now_iso()},
            }
            taken.append(mid)
        await self.state.save_soon()  # remember before telling the server we have them
        for mid in taken:
            self.queue_report(self.report_of(mid, "Processed"))
            self.queued_ids.add(mid)
            await self.sends.put({"id": mid})

    def resume(self) -> None:
        """Finish what a previous run took but did not finish."""
        for mid, item in list(self.inflight.items()):
            if mid in self.queued_ids:
                continue
            if item["step"] == "Processed":
                self.queue_report(self.report_of(mid, "Processed"))
                self.queued_ids.add(mid)
                self.sends.put_nowait({"id": mid})
            elif item["step"] == "Sent":
                self.queue_report(self.report_of(mid, "Sent"))
                self.spawn(self.deliver(mid))
                self.queued_ids.add(mid)

    def report_of(self, mid: str, state: str, error: str | None = None) -> dict:
        item = self.inflight.get(mid, {})
        recipient: dict = {"phoneNumber": item.get("phone", ""), "state": state}
        if error:
            recipient["error"] = error
        return {"id": mid, "state": state, "recipients": [recipient], "states": dict(item.get("states", {}))}

    def queue_report(self, report: dict) -> None:
        self.reports.append(report)
        self.reports_ready.set()

    async def reporter(self) -> None:
        while True:
            await self.reports_ready.wait()
            # A few turns of the event loop let the steps that follow at once (sent, then
            # delivered, with no latency) join this report instead of each making a request.
            for _ in range(REPORT_SETTLE_TURNS):
                await asyncio.sleep(0)
            batch = self.reports[:REPORT_BATCH]  # the server takes at most 1,000 per request
            await self.call("PATCH", "/message", json=batch)
            del self.reports[: len(batch)]
            if not self.reports:
                self.reports_ready.clear()

    async def sender(self) -> None:
        while True:
            job = await self.sends.get()
            try:
                await self.send_one(job["id"])
            except asyncio.CancelledError:
                self.sends.put_nowait(job)  # not sent yet: the next session sends it
                raise

    async def send_one(self, mid: str) -> None:
        item = self.inflight.get(mid)
        if item is None:
            self.queued_ids.discard(mid)
            return
        wait = self.send_interval() - (time.monotonic() - self.last_send)
        if wait > 0:
            await asyncio.sleep(wait)  # the device's delay between two SMS
        if self.options.latency:
            await asyncio.sleep(self.options.latency)
        self.last_send = time.monotonic()
        failure = self.fail_re.search(item["text"]) if self.fail_re else None
        if failure:
            code = failure.group(1) if failure.groups() and failure.group(1) else None
            self.finish(mid, "Failed", code.upper() if code else self.options.fail_error)
            return
        if self.sent_log is not None:
            self.sent_log.record(mid, str(self.saved.get("id", "")))
        item["step"] = "Sent"
        item["states"]["Sent"] = now_iso()
        self.state.dirty = True
        self.sent_count += 1
        self.queue_report(self.report_of(mid, "Sent"))
        self.spawn(self.deliver(mid))

    async def deliver(self, mid: str) -> None:
        if self.options.latency:
            await asyncio.sleep(self.options.latency)
        item = self.inflight.get(mid)
        if item is None:
            return
        if self.rng.random() < self.options.deliver:
            self.finish(mid, "Delivered")
        else:
            self.finish(mid, "Failed", "RESULT_ERROR_GENERIC_FAILURE: delivery report negative")
        if self.reply_re and self.reply_re.search(item["text"]):
            self.queue_inbound(item["phone"], f"Re: {item['text']}", item.get("sim"))

    def finish(self, mid: str, state: str, error: str | None = None) -> None:
        item = self.inflight[mid]
        item["states"][state] = now_iso()
        report = self.report_of(mid, state, error)
        self.queue_report(report)
        del self.inflight[mid]
        self.queued_ids.discard(mid)
        self.done[mid] = report
        while len(self.done) > DONE_MEMORY:
            self.done.popitem(last=False)
        self.state.dirty = True
        log(self.prefix, f"message {mid} {state.lower()}" + (f" ({error})" if error else ""))

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    # --- inbound SMS ---------------------------------------------------------------------

    def queue_inbound(self, sender: str, text: str, sim: int | None = None) -> None:
        self.inbound.append({"sender": sender, "text": text, "sim": sim or 1, "id": f"sim-{time.time_ns()}"})
        self.inbound_ready.set()

    async def inbound_ticker(self) -> None:
        while True:
            await asyncio.sleep(self.options.inbound_every)
            self.queue_inbound(self.options.inbound_from, self.options.inbound_text)

    async def inbound_sender(self) -> None:
        while True:
            await self.inbound_ready.wait()
            while self.inbound:
                item = self.inbound[0]
                await self.post_inbound(item)
                self.inbound.pop(0)
            self.inbound_ready.clear()

    async def post_inbound(self, item: dict) -> None:
        """The app's ``sms:received`` webhook, signed with the key from ``GET /settings``."""
        if not self.hook_url:
            return
        body = json.dumps(
            {
                "id": item["id"],
                "webhookId": "postino-sms-received",
                "event": "sms:received",
                "deviceId": self.saved.get("id"),
                "payload": {
                    "messageId": item["id"],
                    "message": item["text"],
                    "sender": item["sender"],
                    "phoneNumber": item["sender"],
                    "simNumber": item["sim"],
                    "receivedAt": now_iso(),
                },
            }
        ).encode()
        stamp = str(int(time.time()))
        key = ((self.settings.get("webhooks") or {}).get("signing_key") or "").encode()
        signature = hmac.new(key, body + stamp.encode(), hashlib.sha256).hexdigest()
        response = await self.client.post(
            self.hook_url, content=body,
            headers={"Content-Type": "application/json", "X-Signature": signature, "X-Timestamp": stamp},
        )
        response.raise_for_status()
        log(self.prefix, f"inbound SMS from {item['sender']} reported")
