"""A fake WhatsApp Business Cloud API: ``postino graph simulate``.

It accepts sends as Meta's Graph API does (``POST /vNN.N/{phone_number_id}/messages``),
then posts the statuses a real phone would cause (sent, delivered, read) as signed
webhooks, and fails on request the ways Meta fails: synchronously for tokens and
throughput, asynchronously (a ``failed`` status) for undeliverable numbers and closed
24-hour windows. Inbound messages and media come from JSON commands on stdin. Every
event is one JSON line in the log, flushed at once, so a test can poll it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import random
import secrets
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import IO, Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..smsc.simulator import EventLog, _watch_parent, read_commands
from . import wire
from .webhooks import Webhooks

PAIR_WINDOW = 6.0  # seconds: --pair-rate-limit counts sends to one number within this
WINDOW_SECONDS = 24 * 3600  # a customer's reply opens the service window for this long
DEFAULT_FAILED_DELAY = 0.05  # a failed status when --sent-delay is none
STATUSES = ("sent", "delivered", "read", "failed")


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 0
    token: str = "graph-test-token"
    phone_number_id: str = "106540352242922"
    app_secret: str = "graph-app-secret"
    waba_id: str = "102290129340398"
    display_phone_number: str = "15550783881"
    webhook_url: str | None = None
    verify_token: str | None = None
    sent_delay: float | None = 0.05  # None: that status never comes
    delivered_delay: float | None = 0.2
    read_delay: float | None = 0.5
    invalid: tuple[str, ...] = ()  # numbers or prefixes ending in "*"
    window_closed: tuple[str, ...] = ()
    rate_limit: float = 0.0  # sends per second; 0: no limit
    pair_rate_limit: int = 0  # sends per number per PAIR_WINDOW; 0: no limit
    expired_token: bool = False
    fetch_links: bool = False
    webhook_attempts: int = 5
    parent_pid: int | None = None
    seed: int | None = None


class Log(EventLog):
    """The smsc simulator's JSON-lines log, each line stamped with ``at`` (unix seconds)."""

    def __call__(self, event: str, **fields: Any) -> None:
        super().__call__(event, **fields, at=time.time())


@dataclass
class Message:
    """An accepted send: what its statuses repeat."""

    wamid: str
    wa_id: str
    callback: str | None
    category: str  # pricing category: service for free-form, utility for templates
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # its statuses go out one at a time, in order


@dataclass(frozen=True)
class Media:
    data: bytes
    mime_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def matches(number: str, patterns: tuple[str, ...]) -> bool:
    """``number`` is one of ``patterns`` (digits, or a prefix ending in ``*``)."""
    for pattern in patterns:
        pattern = wire.wa_digits(pattern)
        if (pattern.endswith("*") and number.startswith(pattern[:-1])) or number == pattern:
            return True
    return False


class TokenBucket:
    """``rate`` sends a second, bursts up to ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = max(rate, 1.0)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(max(self.rate, 1.0), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class Graph:
    """The fake's state and behaviour; ``app`` is its HTTP face, ``command`` its stdin."""

    def __init__(self, options: Options, log: EventLog | None = None) -> None:
        self.options = options
        self.log = log or Log(None)
        self.random = random.Random(options.seed)
        self.app_secret = options.app_secret
        self.expired = options.expired_token
        self.client = httpx.AsyncClient(timeout=10.0)
        self.webhooks = Webhooks(self.client, self.log, lambda: self.app_secret,
                                 attempts=options.webhook_attempts, url=options.webhook_url)
        self.bucket = TokenBucket(options.rate_limit) if options.rate_limit > 0 else None
        self.pairs: dict[str, deque[float]] = {}
        self.replied: dict[str, float] = {}  # wa_id -> when the customer last wrote
        self.messages: dict[str, Message] = {}
        self.conversations: dict[tuple[str, str], tuple[str, int]] = {}  # (wa_id, category) -> (id, expiry)
        self.media: dict[str, Media] = {}
        self.media_key = secrets.token_bytes(16)
        self.tasks: set[asyncio.Task[Any]] = set()
        self.app = Starlette(routes=[
            Route("/media-download/{media_id}", self.download, methods=["GET"]),
            Route("/{version}/{object_id}/messages", self.messages_endpoint, methods=["POST"]),
            Route("/{version}/{object_id}/media", self.upload, methods=["POST"]),
            Route("/{version}/{object_id}", self.get_object, methods=["GET", "DELETE"]),
            Route("/{path:path}", self.unknown, methods=["GET", "POST", "DELETE", "PUT"]),
        ])

    @property
    def metadata(self) -> dict[str, str]:
        return {"display_phone_number": self.options.display_phone_number, "phone_number_id": self.options.phone_number_id}

    def spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()

    # -- HTTP ------------------------------------------------------------------------

    def refuse(self, error: wire.GraphError, request: Request, body: Any = None) -> JSONResponse:
        self.log("refused", code=error.code, http_status=error.http_status, path=request.url.path,
                 message=error.error["message"], details=error.error.get("error_data", {}).get("details"), body=body)
        return JSONResponse(error.body(wire.fbtrace_id(self.random)), status_code=error.http_status,
                            headers={"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'} if error.http_status == 401 else None)

    def check(self, request: Request, *, object_id: str | None = None, method: str = "post") -> None:
        """Meta's order: the token, then the version, then the object."""
        given = request.headers.get("authorization", "")
        token = given[7:] if given[:7].lower() == "bearer " else request.query_params.get("access_token", "")
        if self.expired or not hmac.compare_digest(token.encode(), self.options.token.encode()):
            raise wire.token_refused()
        version = request.path_params.get("version")
        if version is not None and not wire.VERSION.fullmatch(version):
            raise wire.unknown_path(request.url.path)
        if object_id is not None and object_id != self.options.phone_number_id:
            raise wire.no_such_object(object_id, method)

    async def messages_endpoint(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        try:
            self.check(request, object_id=request.path_params["object_id"])
            if isinstance(body, dict) and body.get("status") == "read" and "message_id" in body:
                return self.mark_read(body)
            send = wire.validate(body)
            self.throttle(send.wa_id)
        except wire.GraphError as error:
            return self.refuse(error, request, body)
        return self.accept(send, body)

    def throttle(self, wa_id: str) -> None:
        if self.bucket is not None and not self.bucket.take():
            raise wire.rate_limited()
        limit = self.options.pair_rate_limit
        if limit > 0:
            now = time.monotonic()
            recent = self.pairs.setdefault(wa_id, deque())
            while recent and now - recent[0] >= PAIR_WINDOW:
                recent.popleft()
            if len(recent) >= limit:
                raise wire.pair_rate_limited()
            recent.append(now)

    def accept(self, send: wire.Send, body: dict[str, Any]) -> JSONResponse:
        template = send.type == "template"
        message = Message(wire.wamid(send.wa_id, self.random), send.wa_id, send.callback,
                          "utility" if template else "service")
        self.messages[message.wamid] = message
        answer: dict[str, Any] = {"id": message.wamid}
        if template:
            answer["message_status"] = "accepted"
        self.log("send", body=body, wamid=message.wamid, answer_status=200)
        failure = None
        if matches(send.wa_id, self.options.invalid):
            failure = 131026
        elif not template and self.window_closed(send.wa_id):
            failure = 131047
        self.spawn(self.lifecycle(message, asyncio.get_running_loop().time(), failure, send.link))
        return JSONResponse({"messaging_product": "whatsapp", "contacts": [{"input": send.to, "wa_id": send.wa_id}],
                             "messages": [answer]})

    def window_closed(self, wa_id: str) -> bool:
        replied = self.replied.get(wa_id)
        return matches(wa_id, self.options.window_closed) and (replied is None or time.time() - replied > WINDOW_SECONDS)

    def mark_read(self, body: dict[str, Any]) -> JSONResponse:
        """``{"status": "read", "message_id": …}``: the business read an inbound message."""
        if body.get("messaging_product") != "whatsapp":
            raise wire.invalid("Param messaging_product must be 'whatsapp'.")
        self.log("mark_read", message_id=body["message_id"], body=body)
        return JSONResponse({"success": True})

    async def upload(self, request: Request) -> Response:
        """``POST …/media`` (multipart ``file``, ``type``, ``messaging_product``) → ``{"id"}``."""
        try:
            self.check(request, object_id=request.path_params["object_id"])
            form = await request.form()
            upload = form.get("file")
            if form.get("messaging_product") != "whatsapp":
                raise wire.invalid("Param messaging_product must be 'whatsapp'.")
            if upload is None or isinstance(upload, str):
                raise wire.required("file")
            data = await upload.read()
        except wire.GraphError as error:
            return self.refuse(error, request)
        mime_type = str(form.get("type") or upload.content_type or "application/octet-stream")
        media_id = self.store(data, mime_type)
        self.log("media_uploaded", media_id=media_id, mime_type=mime_type, bytes=len(data))
        return JSONResponse({"id": media_id})

    async def get_object(self, request: Request) -> Response:
        """A media id (its download URL, or DELETE it) or the phone number itself."""
        object_id = request.path_params["object_id"]
        try:
            self.check(request)
            if object_id == self.options.phone_number_id and request.method == "GET":
                return JSONResponse({
                    "verified_name": "Postino Test", "code_verification_status": "VERIFIED",
                    "display_phone_number": self.options.display_phone_number, "quality_rating": "GREEN",
                    "platform_type": "CLOUD_API", "throughput": {"level": "STANDARD"}, "id": object_id,
                })
            media = self.media.get(object_id)
            if media is None:
                raise wire.no_such_object(object_id, request.method.lower())
        except wire.GraphError as error:
            return self.refuse(error, request)
        if request.method == "DELETE":
            del self.media[object_id]
            return JSONResponse({"success": True})
        url = f"{str(request.base_url).rstrip('/')}/media-download/{object_id}?token={self.media_token(object_id)}"
        return JSONResponse({"messaging_product": "whatsapp", "url": url, "mime_type": media.mime_type,
                             "sha256": media.sha256, "file_size": len(media.data), "id": object_id})

    async def download(self, request: Request) -> Response:
        """The media URL: it needs the bearer token too, as Meta's does."""
        media_id = request.path_params["media_id"]
        try:
            self.check(request)
        except wire.GraphError as error:
            return self.refuse(error, request)
        media = self.media.get(media_id)
        if media is None or not hmac.compare_digest(request.query_params.get("token", ""), self.media_token(media_id)):
            return Response(b"", status_code=404)
        return Response(media.data, media_type=media.mime_type)

    async def unknown(self, request: Request) -> Response:
        try:
            self.check(request)
            raise wire.unknown_path(request.url.path)
        except wire.GraphError as error:
            return self.refuse(error, request)

    def media_token(self, media_id: str) -> str:
        return hmac.new(self.media_key, media_id.encode(), hashlib.sha256).hexdigest()[:32]

    def store(self, data: bytes, mime_type: str) -> str:
        media_id = wire.digits_id(self.random)
        self.media[media_id] = Media(data, mime_type)
        return media_id

    # -- statuses -----------------------------------------------------------------------

    async def lifecycle(self, message: Message, start: float, failure: int | None, link: str | None) -> None:
        """The statuses of one send, each at its delay from the send."""
        o = self.options
        loop = asyncio.get_running_loop()
        if link is not None and o.fetch_links and not await self.fetch_link(link):
            failure = failure or 131053
        if failure is not None:
            await asyncio.sleep(max(0.0, start + (o.sent_delay if o.sent_delay is not None else DEFAULT_FAILED_DELAY) - loop.time()))
            await self.post_status(message, "failed", failure)
            return
        for status, delay in (("sent", o.sent_delay), ("delivered", o.delivered_delay), ("read", o.read_delay)):
            if delay is not None:
                await asyncio.sleep(max(0.0, start + delay - loop.time()))
                await self.post_status(message, status)

    async def fetch_link(self, url: str) -> bool:
        """GET a media link once, as Meta does before delivering; logs what came back."""
        try:
            response = await self.client.get(url, follow_redirects=True)
        except httpx.HTTPError as exc:
            self.log("link_fetched", url=url, status=None, bytes=0, content_type=None, error=f"{type(exc).__name__}: {exc}")
            return False
        self.log("link_fetched", url=url, status=response.status_code, bytes=len(response.content),
                 content_type=response.headers.get("content-type"))
        return 200 <= response.status_code < 300

    def status_value(self, message: Message, status: str, code: int | None) -> dict[str, Any]:
        now = int(time.time())
        value: dict[str, Any] = {"id": message.wamid, "status": status, "timestamp": str(now), "recipient_id": message.wa_id}
        if message.callback is not None:
            value["biz_opaque_callback_data"] = message.callback
        if status == "failed":
            value["errors"] = wire.status_errors(code or 131000)
            return value
        if status in ("sent", "delivered"):
            key = (message.wa_id, message.category)
            conversation = self.conversations.get(key)
            if conversation is None or conversation[1] <= now:
                conversation = (secrets.token_hex(16) if self.options.seed is None else "%032x" % self.random.getrandbits(128),
                                now + WINDOW_SECONDS)
                self.conversations[key] = conversation
            value["conversation"] = {"id": conversation[0], "origin": {"type": message.category}}
            if status == "sent":
                value["conversation"]["expiration_timestamp"] = str(conversation[1])
        value["pricing"] = {"billable": True, "pricing_model": "CBP", "category": message.category}
        return value

    async def post_status(self, message: Message, status: str, code: int | None = None) -> None:
        async with message.lock:
            payload = wire.envelope(self.options.waba_id, self.metadata,
                                    {"statuses": [self.status_value(message, status, code)]})
            await self.webhooks.post(payload, kind="status", status=status, wamid=message.wamid)

    # -- inbound ---------------------------------------------------------------------------

    async def inbound(self, spec: dict[str, Any]) -> None:
        """A customer's message: text, or media stored here and announced by id."""
        wa_id = wire.wa_digits(str(spec["from"]))
        if not (wa_id.isascii() and wa_id.isdigit()):
            raise ValueError("inbound 'from' must be digits")
        now = time.time()
        message: dict[str, Any] = {"from": wa_id, "id": str(spec.get("id") or wire.wamid(wa_id, self.random)),
                                   "timestamp": str(int(now))}
        media_id = None
        if "text" in spec:
            message.update(type="text", text={"body": str(spec["text"])})
        else:
            kind = next((k for k in (*wire.MEDIA_TYPES, "sticker") if k in spec), None)
            if kind is None:
                raise ValueError("inbound needs text or one of image, document, video, audio, sticker")
            media = spec[kind]
            data = decode_b64(media.get("bytes_b64", ""))
            mime_type = str(media.get("mime_type") or "application/octet-stream")
            media_id = self.store(data, mime_type)
            item: dict[str, Any] = {"id": media_id, "mime_type": mime_type, "sha256": self.media[media_id].sha256}
            for key in ("caption", "filename"):
                if key in media:
                    item[key] = str(media[key])
            if kind == "audio":
                item["voice"] = bool(media.get("voice", False))
            message.update(type=kind, **{kind: item})
        if isinstance(spec.get("context"), dict):
            message["context"] = {"from": self.options.display_phone_number, "id": str(spec["context"]["id"])}
        self.replied[wa_id] = now  # a reply opens the 24-hour window
        payload = wire.envelope(self.options.waba_id, self.metadata, {
            "contacts": [{"profile": {"name": str(spec.get("name", "Test Customer"))}, "wa_id": wa_id}],
            "messages": [message],
        })
        await self.webhooks.post(payload, kind="inbound", status=None, wamid=message["id"], type=message["type"],
                                 **({"media_id": media_id} if media_id else {}))

    async def commanded_status(self, spec: dict[str, Any]) -> None:
        wamid = str(spec["id"])
        status = str(spec.get("status", "read"))
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        message = self.messages.get(wamid)
        if message is None:  # an id this fake never gave out: what a stray webhook looks like
            message = Message(wamid, wire.wa_digits(str(spec.get("recipient_id", "0"))), spec.get("biz_opaque_callback_data"),
                              "service")
        code = int(spec.get("code", 131000 if status == "failed" else 0)) or None
        if code is not None and code not in wire.ASYNC_ERRORS:
            raise ValueError(f"code must be one of {sorted(wire.ASYNC_ERRORS)}")
        await self.post_status(message, status, code)

    async def subscribe(self) -> None:
        if self.options.verify_token is None:
            self.log("verify", ok=False, answer_status=None, body=None, error="no --verify-token")
            return
        await self.webhooks.verify(self.options.verify_token, self.random)

    # -- commands on stdin ---------------------------------------------------------------------

    def command(self, line: str) -> None:
        """One JSON object a line; of several keys, each applies in the order below."""
        handlers: dict[str, Callable[[Any, str], None]] = {
            "webhook_url": self.set_webhook_url,
            "app_secret": lambda value, _: setattr(self, "app_secret", str(value)),
            "expire_token": self.expire_token,
            "subscribe": lambda value, _: value and self.spawn(self.subscribe()),
            "inbound": lambda spec, line: self.spawn(self.guarded(self.inbound, spec, line)),
            "status": lambda spec, line: self.spawn(self.guarded(self.commanded_status, spec, line)),
        }
        try:
            request = orjson.loads(line) if line.strip() else {}
            if not isinstance(request, dict):
                raise ValueError("a command is a JSON object")
            for key, handle in handlers.items():
                if key in request:
                    handle(request[key], line)
        except (ValueError, KeyError, TypeError) as exc:
            self.log("error", error=f"bad command: {exc}", line=line.strip())

    def set_webhook_url(self, url: Any, _: str) -> None:
        self.webhooks.set_url(str(url) if url else None)
        self.log("webhook_url", url=url)

    def expire_token(self, expired: Any, _: str) -> None:
        self.expired = bool(expired)
        self.log("token", expired=self.expired)

    async def guarded(self, work: Callable[[dict[str, Any]], Awaitable[None]], spec: Any, line: str) -> None:
        try:
            if not isinstance(spec, dict):
                raise TypeError("expected a JSON object")
            await work(spec)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self.log("error", error=f"bad command: {exc}", line=line)


def decode_b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True) if value else b""


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


async def serve(options: Options, log: EventLog, *, commands: IO[str] | None = None, out: IO[str] = sys.stdout) -> None:
    """Run until SIGTERM / SIGINT; prints ``listening on HOST:PORT`` once it accepts."""
    import uvicorn

    graph = Graph(options, log)
    sock = listen(options.host, options.port)
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(graph.app, log_level="warning", access_log=False, lifespan="off",
                                           timeout_graceful_shutdown=2))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # uvicorn re-raises the signal it caught: this ends cleanly
        loop.add_signal_handler(sig, stop.set)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            await serving  # raises what stopped it
            return
        await asyncio.sleep(0.01)
    if commands is not None:
        read_commands(loop, graph.command, commands)
    print(f"listening on {host}:{port}", file=out, flush=True)
    watch = asyncio.create_task(_watch_parent(options.parent_pid, stop)) if options.parent_pid else None
    stopper = asyncio.create_task(stop.wait())
    if options.webhook_url and options.verify_token:
        graph.spawn(graph.subscribe())
    try:
        await asyncio.wait([serving, stopper], return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        await serving
    finally:
        for task in (watch, stopper):
            if task is not None:
                task.cancel()
        await graph.close()
        sock.close()
