"""The MessaggiSMS routes: /messages/... and /tokens/..., each with and without the trailing slash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ...http_paths import PathRouter
from . import actions, tokens
from .endpoint import MANAGE, Answer, Context, run
from .errors import DELETE_ID_REQUIRED, NOT_FOUND, ApiError
from .render import envelope

router = PathRouter(tags=["MessaggiSMS"], paths=["/messages", "/tokens"])

_RECIPIENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"number": {"type": "string", "example": "+39-3491234567"}, "fields": {"type": "object"}},
}
_RECIPIENTS_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "example": "+39-3491234567"},
        {"type": "array", "items": {"oneOf": [{"type": "string"}, _RECIPIENT_SCHEMA]}},
        _RECIPIENT_SCHEMA,
    ]
}
_OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "flash": {"type": "boolean"},
        "realtime": {"type": "boolean", "description": "OTP: skips the queue; one per minute per account."},
        "timestamp_send": {"type": "string", "description": "2018-05-20, 20-05-2018, ISO 8601 or epoch ms."},
        "custom": {"oneOf": [{"type": "string"}, {"type": "object"}]},
        "callback_url": {"type": "string"},
        "callback_field": {"type": "string"},
    },
}


def _body(properties: dict[str, Any], required: list[str], example: dict) -> dict:
    """Documents a JSON body the handler reads itself (whatever the Content-Type)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "properties": properties, "required": required},
                    "example": example,
                }
            },
        }
    }


_POST_BODY = _body(
    {
        "test": {"type": "boolean"},
        "sender": {"type": "string"},
        "body": {"type": "string"},
        "recipients": _RECIPIENTS_SCHEMA,
        "priority": {"type": "number", "minimum": 1},
        "options": _OPTIONS_SCHEMA,
        "transaction": {"type": "boolean"},
    },
    ["sender", "body", "recipients"],
    {"sender": "alberto", "body": "Ciao {{name}}", "recipients": [{"number": "+39-3491234567", "fields": {"name": "Simone"}}]},
)
_PUT_BODY = _body(
    {"recipients": _RECIPIENTS_SCHEMA, "options": _OPTIONS_SCHEMA, "transaction": {"type": "boolean"}},
    [],
    {"recipients": ["+39-3491234568"], "transaction": False},
)
_TOKEN_BODY = _body(
    {
        "name": {"type": "string"},
        "expires_at": {"type": "string", "nullable": True},
        "scopes": {"type": "array", "items": {"type": "string", "enum": ["messages:read", "messages:write", "messages:delete", "tokens:manage"]}},
    },
    [],
    {"name": "crm", "expires_at": "2027-01-01T00:00:00Z", "scopes": ["messages:read", "messages:write"]},
)


def route(method: str, path: str, summary: str, openapi_extra: dict | None = None) -> Callable:
    """Register the handler at ``path`` (ending in /) and at the same path without the slash."""

    def register(fn: Callable) -> Callable:
        router.add_api_route(path, fn, methods=[method], summary=summary, openapi_extra=openapi_extra)
        router.add_api_route(path.rstrip("/"), fn, methods=[method], include_in_schema=False)
        return fn

    return register


@route("GET", "/messages/", "List of your messages (newest first; ?page=&per_page=)")
async def list_messages(request: Request) -> Response:
    return await run(request, actions.list_messages, scope="messages:read")


@route("POST", "/messages/", "Send an SMS message", _POST_BODY)
async def create_message(request: Request) -> Response:
    return await run(request, actions.create, scope="messages:write", write=True)


@route("DELETE", "/messages/", "Delete: the message id is required")
async def delete_without_id(request: Request) -> Response:
    return envelope(None, "Message Id required", None, status=400, error=DELETE_ID_REQUIRED)


@route("GET", "/messages/{id}/", "Get a single message")
async def get_message(request: Request, id: str) -> Response:  # noqa: A002
    return await run(request, lambda ctx: actions.get_one(ctx, id), scope="messages:read")


@route("PUT", "/messages/{id}/", "Add recipients, change options, close a transaction", _PUT_BODY)
async def update_message(request: Request, id: str) -> Response:  # noqa: A002
    return await run(request, lambda ctx: actions.update(ctx, id), scope="messages:write", write=True)


@route("DELETE", "/messages/{id}/", "Delete (cancel) a message not yet handed for sending")
async def delete_message(request: Request, id: str) -> Response:  # noqa: A002
    return await run(request, lambda ctx: actions.delete(ctx, id), scope="messages:delete", write=True)


@route("GET", "/messages/{id}/recipients/", "The recipients of a message (?page=&per_page=, 1000 a page)")
async def get_recipients(request: Request, id: str) -> Response:  # noqa: A002
    return await run(request, lambda ctx: actions.recipients(ctx, id), scope="messages:read")


async def _recipient(ctx: Context, public_id: str, number: str) -> Answer:
    if "\x00" in number:  # no number holds a NUL (PostgreSQL could not even look it up)
        await actions.find(ctx, public_id)
        raise ApiError(404, NOT_FOUND, "No recipient found")
    return await actions.recipient(ctx, public_id, number)


@route("GET", "/messages/{id}/recipients/{number}/", "One recipient of a message (number as sent, URL-encoded)")
async def get_recipient(request: Request, id: str, number: str) -> Response:  # noqa: A002
    return await run(request, lambda ctx: _recipient(ctx, id, number), scope="messages:read")


@route("POST", "/tokens/", "Create a bearer token (HTTP Basic email:password, or a token with tokens:manage)", _TOKEN_BODY)
async def create_token(request: Request) -> Response:
    return await run(request, tokens.create, scope=MANAGE, write=True)


@route("GET", "/tokens/", "List the account's bearer tokens (never their secrets)")
async def list_tokens(request: Request) -> Response:
    return await run(request, tokens.list_tokens, scope=MANAGE)


@route("DELETE", "/tokens/{id}/", "Revoke a bearer token at once")
async def revoke_token(request: Request, id: str) -> Response:  # noqa: A002
    return await run(request, lambda ctx: tokens.revoke(ctx, id), scope=MANAGE, write=True)
