"""``/api/v1/connectors`` and ``/api/v1/routes``: an account's carriers and the order it uses them.

Reading needs the token scope ``connectors:read``, changing ``connectors:write``: a
connector sends the account's traffic (and bills it) through a carrier, so it is granted
apart from ``messages:write``. No answer ever carries a connector's secret (a bind
password, a token); they are sealed with the server key when stored.

An SMSC host given here is resolved and checked by the network policy before anything is
written (loopback and private addresses only when the operator allows them), so an API
user cannot make the server open connections into its own network. The check is made
outside the write transaction: DNS may take seconds and must not hold the write lock.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Body, Request, Response
from pydantic import BaseModel, Field, ValidationError

from ..connectors.base import SettingsError
from ..connectors.kinds import KINDS
from ..core.errors import Conflict, DomainError, InvalidInput
from ..core.net import guard
from ..core.routing import connectors, routes
from ..core.routing.connectors import Connector
from ..core.service import Core, Unit
from ..dispatch.connectors import served
from ..http import JSONResponse
from ..settings import Settings
from .common import AuthHeader, auth, error, known_id, resource_router

router = resource_router("connectors", "routes", tag="connectors")

READ = "connectors:read"
WRITE = "connectors:write"

SETTINGS: dict[str, dict[str, type]] = {
    "smpp": {
        "host": str, "port": int, "system_id": str, "password": str, "system_type": str, "window": int,
        "tps": int, "tls": bool, "source_ton": int, "source_npi": int, "default_sender": str, "max_queue": int,
    },
    "whatsapp_cloud": {
        "phone_number_id": str, "display_number": str, "token": str, "app_secret": str, "verify_token": str,
        "base_url": str, "api_version": str, "window": int, "tps": int, "max_queue": int,
    },
}  # fmt: skip
"""The settings each kind takes and their JSON type; the kind's ``parse`` checks their values.

Both the API and ``postino connectors add`` refuse a setting not listed here, so a
misspelt one is an error instead of a default silently kept.
"""

INT32_MAX = 2**31 - 1
"""The widest value an integer column holds on PostgreSQL."""

_TYPE_WORDS = {str: "a string", int: "a whole number", bool: "true or false"}
_ROUTE_FIELDS = {"prefix": "prefixes", "fallback": "fallback.channel", "fallback_after": "fallback.after_seconds"}
"""Core's field names for a route, as the API body spells them."""


def _is(value: Any, expected: type) -> bool:
    """JSON types as a setting means them: ``true`` is no port number, ``"false"`` no flag."""
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _answer(exc: DomainError) -> JSONResponse:
    """The native error shape; a conflict (a name taken, a connector still in use) is a 409."""
    response = error(exc)
    if isinstance(exc, Conflict):
        response.status_code = 409
    return response


# --- what both the API and the CLI use ------------------------------------------------------


def kind_settings(kind: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check ``values`` as settings of ``kind``: (config to store, secrets to seal).

    ``InvalidInput`` names the wrong setting: an unknown kind, a setting the kind does not
    take, a value of the wrong type or out of range.
    """
    if kind not in KINDS or kind not in SETTINGS:
        known = ", ".join(k for k in KINDS if k in SETTINGS)
        raise InvalidInput(f"Unknown connector kind {str(kind)[:40]!r}; known kinds: {known}", field="kind")
    fields = SETTINGS[kind]
    options: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            raise InvalidInput(f"{str(key)[:64]!r} is not a setting of {kind} connectors", field=str(key)[:64])
        if value is None:
            continue
        expected = fields[key]
        if not _is(value, expected):
            raise InvalidInput(f"{key} is {_TYPE_WORDS[expected]}", field=key)
        options[key] = value
    try:
        return KINDS[kind].parse(options)
    except SettingsError as exc:
        raise InvalidInput(str(exc), field=exc.field) from None


def _address(config: dict[str, Any]) -> tuple[str, int, str] | None:
    """(host, port, the setting that named it) of what a connector connects to."""
    if config.get("host"):
        return str(config["host"]), int(config.get("port") or 0), "host"
    if config.get("base_url"):
        parts = urlsplit(str(config["base_url"]))
        return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80), "base_url"
    return None


async def check_reachable(config: dict[str, Any], settings: Settings) -> None:
    """``BlockedURL`` (field ``host`` or ``base_url``) unless the network policy lets Postino connect there."""
    found = _address(config)
    if found is None:
        return
    host, port, field = found
    try:
        async with asyncio.timeout(guard.RESOLVE_TIMEOUT):
            addresses = await guard.resolve(host, port)
    except guard.BlockedURL as exc:
        raise guard.BlockedURL(exc.message, field=field) from None
    except (OSError, ValueError, TimeoutError):  # gaierror, an IDNA label too long, a slow resolver
        raise InvalidInput(f"Cannot resolve the host {host}", field=field) from None
    try:
        guard.ensure_allowed(host, addresses, guard.Policy.of(settings))
    except guard.BlockedURL as exc:
        raise guard.BlockedURL(exc.message, field=field) from None


def webhook_url(record: Connector, public_url: str) -> str | None:
    """Where the connector's carrier posts to it (a Cloud API app's webhook), if it does."""
    if record.kind != "whatsapp_cloud":
        return None
    return f"{public_url.rstrip('/')}/connectors/whatsapp/{record.id}/webhook"


def live(record: Connector, public_url: str | None = None) -> dict[str, Any]:
    """The record as stored and last reported, and the runner's own view when this process serves it.

    ``bind_state`` is the runner's when it runs here; otherwise the state the serving node
    last reported, ``down`` once that report is stale. ``window_in_use`` and ``counts``
    exist only where the connector is served.
    """
    shown = record.public()
    url = webhook_url(record, public_url) if public_url else None
    if url:
        shown["webhook_url"] = url
    runner = {r.record.id: r for r in served()}.get(record.id)
    if runner is None:
        stale = record.state == "bound" and not record.up()
        return {**shown, "served_here": False, "bind_state": "down" if stale else record.state,
                "window_in_use": None, "counts": None}  # fmt: skip
    stats = dict(runner.stats())
    return {
        **shown,
        "served_here": True,
        "bind_state": stats.pop("bind_state", record.state),
        "window_in_use": stats.pop("window_in_use", None),
        "counts": stats,
    }


async def targets_of(unit: Unit, account_id: int, wanted: list[tuple[str | int, int]]) -> list[tuple[int, int]]:
    """Connectors named (a name) or pointed at (an id) with weights → (connector id, weight).

    One of another account is as unknown as one that does not exist.
    """
    known = await connectors.list_for(unit, account_id)
    by_name = {c.name: c.id for c in known}
    by_id = {c.id for c in known}
    found = []
    for index, (ref, weight) in enumerate(wanted):
        if isinstance(ref, int):
            if ref not in by_id:
                raise InvalidInput(f"No connector with id {ref}", field=f"connectors.{index}.id")
            found.append((ref, weight))
        elif ref in by_name:
            found.append((by_name[ref], weight))
        else:
            raise InvalidInput(f"No connector named {ref[:64]!r}", field=f"connectors.{index}.name")
    return found


async def names_of(unit: Unit, account_id: int) -> dict[int, str]:
    return {c.id: c.name for c in await connectors.list_for(unit, account_id)}


# --- connectors ------------------------------------------------------------------------------

_CONNECTOR_EXAMPLE = {
    "kind": "smpp", "name": "carrier-a", "host": "smsc.example.net", "port": 2775, "system_id": "postino",
    "password": "secret", "window": 10, "tps": 50,
}  # fmt: skip


@router.get("/connectors", summary="List the account's connectors (never their secrets)")
async def list_connectors(request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, READ)
        async with core.reader() as unit:
            found = await connectors.list_for(unit, credential.account_id)
    except DomainError as exc:
        return _answer(exc)
    return JSONResponse({"data": [c.public() for c in found]})


@router.post("/connectors", status_code=201, summary="Add a connector; its secrets are stored encrypted")
async def create_connector(
    request: Request,
    body: Annotated[dict, Body(examples=[_CONNECTOR_EXAMPLE])],
    authorization: AuthHeader = None,
) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, WRITE)
        values = dict(body)
        kind, name = values.pop("kind", None), values.pop("name", None)
        if not isinstance(kind, str):
            raise InvalidInput("kind is required: " + ", ".join(k for k in KINDS if k in SETTINGS), field="kind")
        if not isinstance(name, str):
            raise InvalidInput("name is required", field="name")
        config, secrets = kind_settings(kind, values)
        await check_reachable(config, core.settings)
        async with core.unit() as unit:
            record = await connectors.add(
                unit, credential.account_id, name=name, kind=kind, config=config, secrets=secrets
            )
    except DomainError as exc:
        return _answer(exc)
    return JSONResponse(record.public(), status_code=201)


@router.get("/connectors/{connector_id}", summary="One connector with its live state")
async def get_connector(connector_id: int, request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, READ)
        known_id(connector_id, "Connector")
        async with core.reader() as unit:
            record = await connectors.get(unit, credential.account_id, connector_id)
    except DomainError as exc:
        return _answer(exc)
    return JSONResponse(live(record, core.settings.resolved_public_url()))


@router.delete(
    "/connectors/{connector_id}", status_code=204,
    summary="Remove a connector (409 while a route names it or messages wait for it)",
)  # fmt: skip
async def delete_connector(connector_id: int, request: Request, authorization: AuthHeader = None) -> Response:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, WRITE)
        known_id(connector_id, "Connector")
        async with core.unit() as unit:
            await connectors.remove(unit, credential.account_id, connector_id)
    except DomainError as exc:
        return _answer(exc)
    return Response(status_code=204)


# --- routes ----------------------------------------------------------------------------------


class TargetIn(BaseModel, extra="forbid"):
    name: str | None = Field(default=None, max_length=connectors.NAME_MAX)
    id: int | None = None
    weight: int = Field(default=1, ge=1, le=routes.MAX_WEIGHT, description="Share of the route's traffic.")


class FallbackIn(BaseModel, extra="forbid"):
    channel: str = Field(examples=["sms"])
    after_seconds: int | None = Field(
        default=None, ge=1, le=INT32_MAX, description="Also when not delivered within this many seconds."
    )


class RouteIn(BaseModel, extra="forbid"):
    channel: str = Field(examples=["sms"])
    connectors: list[TargetIn] = Field(min_length=1, max_length=50)
    prefixes: list[str] = Field(default_factory=list, max_length=200, examples=[["+39", "62"]])
    otp: bool = False
    slot: int | None = None
    position: int | None = Field(default=None, description="1 = first; the routes from there move down. Default: last.")
    fallback: FallbackIn | None = None


def _route_in(body: dict) -> RouteIn:
    try:
        route = RouteIn.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(first["msg"], field=".".join(str(p) for p in first["loc"]) or None) from None
    for index, target in enumerate(route.connectors):
        if (target.name is None) == (target.id is None):
            raise InvalidInput("Name a connector by its name or by its id", field=f"connectors.{index}")
    return route


@router.get("/routes", summary="List the account's routes in the order they are tried")
async def list_routes(request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, READ)
        async with core.reader() as unit:
            found = await routes.list_for(unit, credential.account_id)
            names = await names_of(unit, credential.account_id)
    except DomainError as exc:
        return _answer(exc)
    return JSONResponse({"data": [r.public(names) for r in found]})


@router.post("/routes", status_code=201, summary="Add a route at a position (default: last)")
async def create_route(
    request: Request,
    body: Annotated[dict, Body(examples=[{"channel": "sms", "connectors": [{"name": "carrier-a", "weight": 3}],
                                          "prefixes": ["+39"]}])],  # fmt: skip
    authorization: AuthHeader = None,
) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, WRITE)
        wanted = _route_in(body)
        fallback = wanted.fallback
        async with core.unit() as unit:
            account_id = credential.account_id
            targets = await targets_of(
                unit, account_id, [(t.name if t.name is not None else t.id, t.weight) for t in wanted.connectors]
            )
            try:
                route = await routes.add(
                    unit, account_id, channel=wanted.channel, targets=targets, prefixes=wanted.prefixes,
                    otp=wanted.otp, slot=wanted.slot, position=wanted.position,
                    fallback_channel=fallback.channel if fallback else None,
                    fallback_after=fallback.after_seconds if fallback else None,
                )  # fmt: skip
            except InvalidInput as exc:
                raise InvalidInput(exc.message, field=_ROUTE_FIELDS.get(exc.field or "", exc.field)) from None
            names = await names_of(unit, account_id)
    except DomainError as exc:
        return _answer(exc)
    return JSONResponse(route.public(names), status_code=201)


@router.delete("/routes/{route_id}", status_code=204, summary="Remove a route; the ones after it move up")
async def delete_route(route_id: int, request: Request, authorization: AuthHeader = None) -> Response:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, WRITE)
        known_id(route_id, "Route")
        async with core.unit() as unit:
            await routes.remove(unit, credential.account_id, route_id)
    except DomainError as exc:
        return _answer(exc)
    return Response(status_code=204)
