"""The outbox sender: every webhook and dialect callback leaves Postino through here.

Rows are claimed from the ``outbox`` table (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
one write lock on SQLite) and leased by pushing ``next_attempt_at`` past the longest a
POST may take: a process killed mid-delivery leaves the row pending, and any worker
retries it once the lease runs out. Deliveries are at least once; receivers deduplicate
on the ``X-Postino-Delivery`` header.

Order: a row is not attempted while an older row with the same ``order_key`` is still
pending, so one message's events arrive in the order they happened.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson
from sqlalchemy import delete, func, insert, literal, select, update

from .. import __version__
from ..core.accounts.sealed import Unreadable
from ..core.clock import utcnow
from ..core.events.outbox import open_secret, report_unreadable
from ..core.net import guard
from ..core.net.transport import BlockedAddress, GuardedTransport
from ..core.service import Core, Unit
from ..db.tables import outbox, outbox_attempts

log = logging.getLogger("postino.outbox")

POLL_SECONDS = 1.0
"""Look for due rows this often even without a wake-up (rows written by other processes)."""
MAX_IN_FLIGHT = 64
"""POSTs in flight at once in one worker process."""
BACKOFF_MAX = 3600.0
"""No wait between two attempts is longer than an hour."""
KEEP_FINISHED = timedelta(days=30)
"""Delivered, failed and canceled rows (and their attempt log) are deleted after this."""
MAX_ERROR = 500


# --- what goes on the wire -------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256, keyed by the secret, of ``<timestamp>.<body>``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def encode_body(payload: Any, form_field: str | None) -> tuple[bytes, str]:
    """The exact bytes POSTed and their content type: JSON, or one form field holding JSON."""
    data = orjson.dumps(payload)
    if form_field:
        return urlencode({form_field: data.decode("utf-8")}).encode("ascii"), "application/x-www-form-urlencoded"
    return data, "application/json"


def build_request(claimed: "Claimed", now: float | None = None) -> tuple[bytes, dict[str, str]]:
    body, content_type = encode_body(claimed.payload, claimed.form_field)
    timestamp = str(int(now if now is not None else time.time()))
    headers = {
        "Content-Type": content_type,
        "X-Postino-Event": claimed.event,
        "X-Postino-Delivery": str(claimed.id),
        "X-Postino-Attempt": str(claimed.attempt),
        "X-Postino-Timestamp": timestamp,
    }
    if claimed.secret and claimed.signature == "app":
        # The phone app's own scheme, so receivers written for its webhooks verify unchanged.
        headers["X-Signature"] = hmac.new(claimed.secret.encode("utf-8"), body + timestamp.encode("ascii"), hashlib.sha256).hexdigest()
        headers["X-Timestamp"] = timestamp
    elif claimed.secret:
        headers["X-Postino-Signature"] = sign(claimed.secret, timestamp, body)
    return body, headers


def backoff(base: float, attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (1-based): base x 2^(n-1), +-25 % jitter."""
    delay = min(base * (2 ** min(attempt - 1, 30)), BACKOFF_MAX)
    return delay * random.uniform(0.75, 1.25)


def make_client(core: Core) -> httpx.AsyncClient:
    settings = core.settings
    return httpx.AsyncClient(
        transport=GuardedTransport(policy=guard.Policy.of(settings)),
        timeout=httpx.Timeout(settings.webhook_timeout, connect=min(5.0, settings.webhook_timeout)),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": f"Postino/{__version__} (webhooks)"},
    )


# --- claiming and recording ------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    attempt: int
    event: str
    url: str
    host: str
    payload: Any
    secret: str | None = field(repr=False)  # in clear: never in a repr, a log or a traceback
    form_field: str | None
    deadline: datetime
    signature: str | None = None


def host_of(url: str) -> str:
    """The key of the per-host cap: host and port."""
    try:
        parts = urlsplit(url)
        return f"{(parts.hostname or '').lower()}:{parts.port or ''}"
    except ValueError:
        return ""


def origin_of(url: str) -> str:
    """``scheme://netloc`` as written in the URL: what SQL can match rows of a busy host by."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return f"{parts.scheme}://{parts.netloc}"


def lease_seconds(core: Core) -> float:
    """Longer than any attempt can take, so a lease only runs out when its worker died."""
    return core.settings.webhook_timeout * 2 + 5


async def due_state(core: Core) -> tuple[bool, float]:
    """Whether any row is due now, and the seconds until the next one that is not yet.

    A cheap read first, so an idle worker takes no write lock every second.
    """
    now = utcnow()
    pending = outbox.c.state == "pending"
    async with core.reader() as unit:
        due = (
            await unit.conn.execute(select(outbox.c.id).where(pending, outbox.c.next_attempt_at <= now).limit(1))
        ).first()
        upcoming = (
            await unit.conn.execute(select(func.min(outbox.c.next_attempt_at)).where(pending, outbox.c.next_attempt_at > now))
        ).scalar()
    wait = POLL_SECONDS if upcoming is None else (upcoming - now).total_seconds()
    return due is not None, max(0.0, min(POLL_SECONDS, wait))


async def claim(
    core: Core, limit: int, busy: Counter[str], skip_origins: frozenset[str] = frozenset()
) -> list[Claimed]:
    """Lease up to ``limit`` due rows, oldest first, none whose host is at its cap.

    ``busy`` counts this process's POSTs in flight per host; the chosen rows are added.
    ``skip_origins`` (hosts at their cap) are left out in SQL already, so a backlog for
    one slow host does not fill every candidate slot and hold the other hosts back.
    """
    cap = max(1, core.settings.webhook_host_concurrency)
    older = outbox.alias("older")
    blocked = (
        select(literal(1))
        .where(older.c.order_key == outbox.c.order_key, older.c.state == "pending", older.c.id < outbox.c.id)
        .exists()
    )
    async with core.unit() as unit:
        now = utcnow()
        query = select(outbox).where(outbox.c.state == "pending", outbox.c.next_attempt_at <= now, ~blocked)
        for origin in sorted(skip_origins):
            query = query.where(outbox.c.url != origin, ~outbox.c.url.startswith(origin + "/", autoescape=True))
        candidates = (
            await unit.conn.execute(
                query
                .order_by(outbox.c.next_attempt_at, outbox.c.id)
                .limit(limit * 4)
                .with_for_update(skip_locked=True, of=outbox)
            )
        ).all()
        chosen = []
        opened: dict[int, str | None] = {}
        taking: Counter[str] = Counter()
        for row in candidates:
            host = host_of(row.url)
            if busy[host] + taking[host] >= cap:
                continue
            try:
                opened[row.id] = open_secret(core.settings, row.secret)
            except Unreadable as exc:  # left pending, never sent unsigned (report_unreadable)
                report_unreadable(row.id, exc)
                continue
            taking[host] += 1
            chosen.append((row, host))
            if len(chosen) >= limit:
                break
        if not chosen:
            return []
        await unit.conn.execute(
            update(outbox)
            .where(outbox.c.id.in_([row.id for row, _ in chosen]))
            .values(
                attempts=outbox.c.attempts + 1,
                next_attempt_at=now + timedelta(seconds=lease_seconds(core)),
            )
        )
    busy.update(taking)  # only once the lease is committed
    return [
        Claimed(
            id=row.id,
            attempt=row.attempts + 1,
            event=row.event,
            url=row.url,
            host=host,
            payload=row.payload,
            secret=opened[row.id],
            form_field=row.form_field,
            deadline=row.deadline,
            signature=row.signature,
        )
        for row, host in chosen
    ]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def record(core: Core, claimed: Claimed, outcome: Outcome) -> str:
    """Log the attempt and settle the row: delivered, retry later, or failed. The new state."""
    now = utcnow()
    if outcome.ok:
        values: dict[str, Any] = {"state": "delivered", "delivered_at": now}
    else:
        retry_at = now + timedelta(seconds=backoff(core.settings.webhook_backoff_base, claimed.attempt))
        if outcome.permanent or retry_at > claimed.deadline:
            values = {"state": "failed"}
        else:
            values = {"next_attempt_at": retry_at}
    async with core.unit() as unit:
        await unit.conn.execute(
            insert(outbox_attempts).values(
                outbox_id=claimed.id,
                attempt=claimed.attempt,
                at=now,
                status_code=outcome.status_code,
                error=(outcome.error or None) and outcome.error[:MAX_ERROR],
                duration_ms=outcome.duration_ms,
            )
        )
        # Only the holder of the current lease settles the row (a stale worker's answer is just logged).
        await unit.conn.execute(
            update(outbox)
            .where(outbox.c.id == claimed.id, outbox.c.attempts == claimed.attempt, outbox.c.state == "pending")
            .values(**values)
        )
    return values.get("state", "pending")


# --- sending ---------------------------------------------------------------------------


async def attempt(client: httpx.AsyncClient, claimed: Claimed, total_timeout: float) -> Outcome:
    """One POST. Never raises: what the receiver, the network or anything else does is the outcome."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        url = guard.normalise(claimed.url)  # an address host written as httpx reads it (0x7f.1 -> 127.0.0.1)
        body, headers = build_request(claimed)
        async with asyncio.timeout(total_timeout):
            async with client.stream("POST", url, content=body, headers=headers) as response:
                status = response.status_code
        return Outcome(status, None if 200 <= status < 300 else f"HTTP {status}", took())
    except (guard.BlockedURL, BlockedAddress) as exc:
        return Outcome(None, f"blocked: {exc}", took(), permanent=True)
    except TimeoutError:
        return Outcome(None, "timeout", took())
    except httpx.TimeoutException as exc:
        return Outcome(None, f"timeout ({type(exc).__name__})", took())
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, took())
    except OSError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}", took())
    except Exception as exc:  # noqa: BLE001 - logged as a failed attempt and retried, never left pending unseen
        error = unexpected(exc, claimed)
        log.warning("delivery %s to %s attempt %s: %s", claimed.id, claimed.host, claimed.attempt, error)
        return Outcome(None, error, took())


def unexpected(exc: Exception, claimed: Claimed) -> str:
    """``unexpected <type>: <message>`` on one line, short, without the URL's credentials
    or the signing secret: what the delivery log shows for an error no branch expects."""
    text = " ".join(str(exc).split())
    if claimed.secret:
        text = text.replace(claimed.secret, "[secret]")
    try:
        userinfo = urlsplit(claimed.url).netloc.rpartition("@")[0]
    except ValueError:
        userinfo = ""
    if userinfo:
        text = text.replace(userinfo, "[credentials]")
    error = f"unexpected {type(exc).__name__}" + (f": {text}" if text else "")
    return error if len(error) <= MAX_ERROR else error[: MAX_ERROR - 1] + "…"


class Sender:
    """One worker process's sending loop state: the client, what is in flight, the wake-up."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.client = make_client(core)
        self.busy: Counter[str] = Counter()
        self.origins: dict[int, tuple[str, str]] = {}  # outbox id in flight -> (host, origin)
        self.tasks: set[asyncio.Task] = set()
        self.wake = asyncio.Event()

    async def pump(self) -> float:
        """Start POSTs for due rows while there is room; the seconds to wait before the next round."""
        free = MAX_IN_FLIGHT - len(self.tasks)
        if free <= 0:
            return POLL_SECONDS  # a finishing delivery wakes the loop
        due, wait = await due_state(self.core)
        if not due:
            return wait
        cap = max(1, self.core.settings.webhook_host_concurrency)
        full = frozenset(origin for host, origin in self.origins.values() if self.busy[host] >= cap)
        batch = await claim(self.core, free, self.busy, full)
        for claimed in batch:
            self.origins[claimed.id] = (claimed.host, origin_of(claimed.url))
            task = asyncio.create_task(self._deliver(claimed), name=f"outbox-{claimed.id}")
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return 0.0 if len(batch) == free else wait

    async def _deliver(self, claimed: Claimed) -> None:
        try:
            outcome = await attempt(self.client, claimed, self.core.settings.webhook_timeout + 1)
            state = await record(self.core, claimed, outcome)
            if state == "failed":
                log.warning("delivery %s (%s) to %s given up: %s", claimed.id, claimed.event, claimed.host, outcome.error)
            elif not outcome.ok:
                log.info("delivery %s to %s attempt %s: %s", claimed.id, claimed.host, claimed.attempt, outcome.error)
        except Exception:  # noqa: BLE001 - the lease brings the row back
            log.exception("delivery %s failed unexpectedly", claimed.id)
        finally:
            self.origins.pop(claimed.id, None)
            self.busy[claimed.host] -= 1
            if self.busy[claimed.host] <= 0:
                del self.busy[claimed.host]
            self.wake.set()  # the next row of its key, or a waiting host, may go now

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()


async def run(core: Core, stop: asyncio.Event) -> None:
    """The worker: wake on the ``outbox`` notifier and every second; send what is due."""
    sender = Sender(core)
    inbox = core.notifier.subscribe("outbox")

    async def relay() -> None:
        while True:
            await inbox.get()
            sender.wake.set()

    relay_task = asyncio.create_task(relay())
    try:
        while not stop.is_set():
            sender.wake.clear()
            try:
                wait = await sender.pump()
            except Exception:  # noqa: BLE001 - e.g. the database is away; try again next round
                log.exception("outbox round failed")
                wait = POLL_SECONDS
            if wait <= 0:
                continue
            waiters = [asyncio.ensure_future(sender.wake.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()
    finally:
        relay_task.cancel()
        core.notifier.unsubscribe("outbox", inbox)
        await sender.close()


_last_prune = 0.0


async def prune(unit: Unit) -> None:
    """Scheduler job, at most hourly: forget finished rows older than ``KEEP_FINISHED``."""
    global _last_prune
    if time.monotonic() - _last_prune < 3600:
        return None
    _last_prune = time.monotonic()
    old = (
        select(outbox.c.id)
        .where(outbox.c.state.in_(("delivered", "failed", "canceled")), outbox.c.created_at < utcnow() - KEEP_FINISHED)
        .limit(5000)
        .scalar_subquery()
    )
    await unit.conn.execute(delete(outbox).where(outbox.c.id.in_(old)))  # attempts go with them (cascade)
    return None
