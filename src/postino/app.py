"""``create_app()``: the HTTP face of Postino — dialects, device API, media, health, docs.

What it mounts, which listeners core gets and which jobs and loops run are read from
``postino.wiring``; this module only puts them together.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, PlainTextResponse

from . import __version__, http_errors, metrics, wiring
from .core.accounts import sealed
from .core.errors import NotFound
from .core.events.relay import PgRelay
from .core.net import media as media_store
from .core.service import Core
from .db.migrate import upgrade
from .dispatch import scheduler
from .http import ErrorFormat, JSONResponse, Problem
from .settings import Settings

log = logging.getLogger("postino")

class BodyLimit:
    """Refuse request bodies over the cap before anything reads them (413), in the words of
    the API the path belongs to (``http_errors``)."""

    def __init__(self, app, max_bytes: int, formats: Sequence[ErrorFormat] = ()) -> None:  # noqa: ANN001
        self.app = app
        self.max_bytes = max_bytes
        self.formats = formats

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] == "http":
            for name, value in scope.get("headers", ()):
                if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                    fmt = http_errors.format_for(self.formats, scope["path"])
                    if fmt is None:
                        response = PlainTextResponse("Request body too large", status_code=413)
                    else:
                        response = fmt.render(Problem(413, "Request body too large"))
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


ASGI = Callable[[Any, Any, Any], Awaitable[None]]
FastRoute = Callable[[dict, Any, Any, ASGI], Awaitable[None]]
"""``handler(scope, receive, send, fallback)``; it may hand a request it does not serve to ``fallback``."""


class Postino(FastAPI):
    """FastAPI, plus a few exact paths answered before its middleware and router.

    Route matching and the middleware stack cost more than the whole of a durable
    ``addsms`` (docs/benchmarks.md, figure 1). A dialect may register a raw ASGI handler
    for such a path in ``fast_routes``; the path stays declared as a normal route too, for
    the OpenAPI document and for the requests the handler passes on (``fallback``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast_routes: dict[str, FastRoute] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        handler = self.fast_routes.get(scope["path"])
        if handler is not None:
            await handler(scope, receive, send, self._routed)
            return
        await self._routed(scope, receive, send)

    async def _routed(self, scope: Any, receive: Any, send: Any) -> None:
        """The router, minus one habit: after the error handler has answered a crash (and
        logged it, ``http_errors``), Starlette raises it again for the server, and the
        server then closes the connection, failing the client's next request on it."""
        answered = False

        async def tracked(message: Any) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True
            await send(message)

        try:
            await super().__call__(scope, receive, tracked)
        except Exception:
            if not answered:
                raise


def _warn_about_the_set_up(settings: Settings, core: Core) -> None:
    """Say at start what a multi-process set-up lacks (docs/operations.md, "Several nodes")."""
    if core.db.is_sqlite and settings.role != "all":
        log.warning(
            "role %s on SQLite: wake-ups do not cross processes; run one 'all' process, "
            "or use PostgreSQL for separate api and worker processes", settings.role,
        )
    if core.db.is_postgres and settings.role != "worker" and not settings.redis_url:
        log.info("POSTINO_REDIS_URL is not set: rate limits are counted in this process only")


def create_app(settings: Settings | None = None, core: Core | None = None) -> Postino:
    settings = settings or Settings()
    settings.ensure_dirs()
    settings.resolved_secret_key()
    core = wiring.install_listeners(core or Core(settings))
    jobs = wiring.jobs(settings)
    loops = wiring.workers(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await upgrade(core.db, sealer=sealed.for_settings(settings))
        _warn_about_the_set_up(settings, core)
        relay = PgRelay(core.notifier, core.db.url) if core.db.is_postgres else None
        if relay is not None:
            await relay.start()  # before any request: a publish here must reach the other nodes
        app.state.relay = relay
        for hook in app.state.startup_hooks:
            await hook(core)
        # Everything loaded so far (modules, phone-number metadata, compiled statements)
        # lives as long as the process: keep it out of the collector's full passes, which
        # otherwise paused every request for 100-200 ms under load.
        gc.collect()
        gc.freeze()
        metrics.watch_collections()  # what the collections that remain cost shows on /metrics
        stop = asyncio.Event()
        tasks = []
        if settings.role in ("all", "worker"):
            tasks.append(asyncio.create_task(scheduler.run(core, stop, jobs), name="scheduler"))
            tasks.extend(asyncio.create_task(fn(core, stop), name=name) for name, fn in loops)
        app.state.stop = stop
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if relay is not None:
                await relay.close()
            await core.db.dispose()
            gc.unfreeze()  # an app built again in this process (tests) must not pile up frozen objects

    app = Postino(
        title="Postino",
        version=__version__,
        description=(
            "Self-hosted messaging gateway. Speaks the SmsGateway24 (`/getdata/`), MessaggiSMS "
            "(`/messages/`) and NusaSMS (`/nusasms_api/1.0/`, `/api/v3/`) APIs, and the device "
            "protocol of the SMS Gateway for Android app (`/api/mobile/v1`)."
        ),
        default_response_class=JSONResponse,
        lifespan=lifespan,
    )
    app.state.core = core
    app.state.settings = settings
    app.state.startup_hooks = []  # coroutines fn(core) run once the schema is ready

    @app.get("/health", tags=["operations"])
    async def health() -> JSONResponse:
        """200 when the database answers, 503 when it does not."""
        error = await core.database_error()
        if error is not None:
            return JSONResponse({"status": "error", "database": error, "pid": os.getpid()}, status_code=503)
        # The process id tells which of the processes on one port answered (``serve --workers``).
        return JSONResponse({"status": "ok", "database": "ok", "version": __version__, "pid": os.getpid()})

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def prometheus_metrics() -> PlainTextResponse:
        body, content_type = await metrics.render(core)
        return PlainTextResponse(body, media_type=content_type)

    async def get_media(name: str, request: Request):  # noqa: ANN202
        media_id = name.split(".", 1)[0]
        try:
            async with core.reader() as unit:
                path, content_type = await media_store.lookup(unit, media_id)
        except NotFound:
            return PlainTextResponse("Not found", status_code=404)
        return FileResponse(path, media_type=content_type)

    # A worker answers /health and /metrics only; each dialect's install still runs there
    # (report formats, the sandbox account), since its worker loops need them.
    serves_http = settings.role != "worker"
    if serves_http:
        app.add_api_route("/media/{name}", get_media, methods=["GET"], include_in_schema=False)
        for api in wiring.APIS:
            app.include_router(api.router)
    for dialect in wiring.DIALECTS:
        if serves_http:
            app.include_router(dialect.router)
        dialect.install(app)

    formats = [fmt for part in (*wiring.DIALECTS, *wiring.APIS) for fmt in part.ERRORS]
    http_errors.install(app, formats)
    if settings.fail_paths:
        app.add_middleware(http_errors.FaultInjection, paths=settings.fail_paths)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, formats=formats)
    return app
