"""The SMS Gate server API ("3rdparty"): under ``/3rdparty/v1`` (cloud) and ``/api/3rdparty/v1``
(private server), with ``/message`` and ``/device`` answering like ``/messages`` and ``/devices``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request
from starlette.responses import Response

from ... import __version__
from ...http import JSONResponse
from ...http_paths import PathRouter
from . import account, messages, tokens
from .endpoint import run, run_plain

PREFIXES = ("/3rdparty/v1", "/api/3rdparty/v1")
SINGULAR = {"/messages": "/message", "/devices": "/device"}

router = PathRouter(tags=["SMS Gate"], paths=PREFIXES)


def route(method: str, path: str, summary: str, status_code: int = 200) -> Callable:
    """Register the handler under both prefixes, and under the singular path where there is one."""

    def register(fn: Callable) -> Callable:
        paths = [path]
        for plural, singular in SINGULAR.items():
            if path == plural or path.startswith(plural + "/"):
                paths.append(singular + path[len(plural):])
        for prefix in PREFIXES:
            for index, p in enumerate(paths):
                router.add_api_route(
                    prefix + p, fn, methods=[method], summary=summary, status_code=status_code,
                    include_in_schema=prefix == PREFIXES[0] and index == 0,
                )
        return fn

    return register


# --- messages --------------------------------------------------------------------------


@route("POST", "/messages/inbox/export", "Deprecated: ask the phones to send their inbox again (see /inbox/refresh)", 202)
async def export_inbox(request: Request) -> Response:
    response = await run(request, account.refresh_inbox, scope="inbox:refresh", write=True)
    response.headers["Deprecation"] = "true"
    return response


@route("POST", "/messages", "Send a message to one or more numbers (?skipPhoneValidation&deviceActiveWithin)", 202)
async def send(request: Request) -> Response:
    return await run(request, messages.send, scope="messages:send", write=True)


@route("GET", "/messages", "List messages (from, to, state, deviceId, limit, offset, includeContent, sort); X-Total-Count")
async def list_messages(request: Request) -> Response:
    return await run(request, messages.list_messages, scope="messages:list")


@route("GET", "/messages/{message_id}", "The state of one message")
async def get_message(request: Request, message_id: str) -> Response:
    return await run(request, lambda ctx: messages.get_one(ctx, message_id), scope="messages:read")


@route("DELETE", "/messages/{message_id}", "Cancel a message still Pending (409 once Processed)")
async def cancel_message(request: Request, message_id: str) -> Response:
    return await run(request, lambda ctx: messages.cancel(ctx, message_id), scope="messages:cancel", write=True)


# --- inbox -----------------------------------------------------------------------------


@route("GET", "/inbox", "Received messages (type, from, to, deviceId, limit, offset); X-Total-Count")
async def list_inbox(request: Request) -> Response:
    return await run(request, account.list_inbox, scope="inbox:list")


@route("POST", "/inbox/refresh", "Ask the phones to send again what they received in a time range", 202)
async def refresh_inbox(request: Request) -> Response:
    return await run(request, account.refresh_inbox, scope="inbox:refresh", write=True)


# --- devices, settings, webhooks, logs -------------------------------------------------


@route("GET", "/devices", "The account's phones")
async def list_devices(request: Request) -> Response:
    return await run(request, account.list_devices, scope="devices:list")


@route("DELETE", "/devices/{device_id}", "Remove a phone", 204)
async def delete_device(request: Request, device_id: str) -> Response:
    return await run(request, lambda ctx: account.delete_device(ctx, device_id), scope="devices:delete", write=True)


@route("GET", "/settings", "The phones' settings")
async def get_settings(request: Request) -> Response:
    return await run(request, account.get_settings, scope="settings:read")


@route("PUT", "/settings", "Replace the phones' settings")
async def put_settings(request: Request) -> Response:
    return await run(request, account.replace_settings, scope="settings:write", write=True)


@route("PATCH", "/settings", "Change some of the phones' settings")
async def patch_settings(request: Request) -> Response:
    return await run(request, account.patch_settings, scope="settings:write", write=True)


@route("GET", "/webhooks", "The account's webhooks")
async def list_webhooks(request: Request) -> Response:
    return await run(request, account.list_webhooks, scope="webhooks:list")


@route("POST", "/webhooks", "Add a webhook (the same id replaces it)", 201)
async def create_webhook(request: Request) -> Response:
    return await run(request, account.create_webhook, scope="webhooks:write", write=True)


@route("DELETE", "/webhooks/{webhook_id}", "Delete a webhook", 204)
async def delete_webhook(request: Request, webhook_id: str) -> Response:
    return await run(request, lambda ctx: account.delete_webhook(ctx, webhook_id), scope="webhooks:delete", write=True)


@route("GET", "/logs", "What the account's phones and connectors did (from, to)")
async def get_logs(request: Request) -> Response:
    return await run(request, account.logs, scope="logs:read")


# --- tokens ----------------------------------------------------------------------------


@route("POST", "/auth/token/refresh", "A new token pair for a refresh token (Authorization: Bearer <refresh token>)", 201)
async def refresh_token(request: Request) -> Response:
    from .errors import ApiError, response

    try:
        work = tokens.refresh(request)
    except ApiError as exc:
        return response(exc.status, exc.message)
    return await run_plain(request, work, write=True)


@route("POST", "/auth/token", "Issue a JWT access token with scopes (and its refresh token)", 201)
async def issue_token(request: Request) -> Response:
    return await run(request, tokens.issue, scope="tokens:manage", write=True)


@route("DELETE", "/auth/token/{jti}", "Revoke a token pair by its id", 204)
async def revoke_token(request: Request, jti: str) -> Response:
    return await run(request, lambda ctx: tokens.revoke(ctx, jti), scope="tokens:manage", write=True)


# --- health ----------------------------------------------------------------------------


async def _health(request: Request) -> Response:
    error = await request.app.state.core.database_error()
    check = {"status": "fail" if error else "pass", "description": "database: " + (error or "answers")}
    status = "fail" if error else "pass"
    body = {"status": status, "version": __version__, "releaseId": 0, "checks": {"db:ping": check}}
    return JSONResponse(body, status_code=503 if error else 200)


for _suffix in ("", "/live", "/ready", "/startup"):

    @route("GET", "/health" + _suffix, "Health: pass, warn or fail (no authentication)")
    async def health(request: Request) -> Response:
        return await _health(request)
