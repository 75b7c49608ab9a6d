"""The NusaSMS dialect: the JSON API (``/nusasms_api/1.0/``) and the v3 SMS API.

``install(app)`` adds what the routers need around them: the envelope and 422 renderers,
the push-report format, and (only with ``--sandbox`` or ``--demo``) the test account,
whose messages the ``nusasms_sandbox`` job of ``postino.wiring`` moves along.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ...core.accounts import sandbox
from ...core.messages import reports
from ...core.service import Core
from ...http import ErrorFormat
from ...http_paths import PathRouter
from . import json_api, push, sms
from .render import Invalid, NusaError, error_response, json_api_problem, v3_problem

ERRORS = (
    ErrorFormat(("/nusasms_api",), json_api_problem),
    ErrorFormat(("/api/v3", "/api/command"), v3_problem),
)

router = PathRouter(paths=["/nusasms_api/1.0", "/api/v3", "/api/command"])
router.include_router(json_api.router)
router.include_router(sms.router)


def install(app: FastAPI) -> None:
    reports.register_format("nusasms", push.report)

    @app.exception_handler(NusaError)
    async def _nusa_error(_request: Request, exc: NusaError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(Invalid)
    async def _invalid(_request: Request, exc: Invalid) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=422)

    settings = app.state.settings
    if settings.sandbox or settings.demo:

        async def _sandbox(core: Core) -> None:
            await sandbox.ensure(core)

        app.state.startup_hooks.append(_sandbox)


__all__ = ["ERRORS", "router", "install"]
