"""``GET|POST /connectors/whatsapp/{id}/webhook``: what Meta tells a Cloud API connector.

The id names the connector (unique across accounts), so one Meta app per connector points
its webhook here. ``GET`` is the set-up handshake: the challenge is echoed only for the
connector's own verify token. ``POST`` is believed only with a valid signature of the raw
body by the app secret (else 401, nothing read); its statuses move messages (matched by
``wamid``, as an SMSC receipt by its id) and its messages are stored as inbound.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import PlainTextResponse

from ...core.accounts import sealed
from ...core.errors import NotFound
from ...core.messages import carriers
from ...core.messages.inbound import receive_from_connector
from ...core.net import media as media_store
from ...core.routing import connectors as records
from ...core.routing import whatsapp
from ...core.service import Core, Unit
from ...http import fits_int64
from ...http_paths import PathRouter
from . import media, webhook
from .connector import KIND

log = logging.getLogger("postino.connectors")

router = PathRouter(tags=["connectors"], paths=["/connectors"])
ERRORS = ()
"""Meta reads only the status code: errors here are the framework's plain ones."""
PATH = "/connectors/whatsapp/{connector_id}/webhook"

_KEPT_TYPES = frozenset(media_store.EXTENSIONS)


async def _record(core: Core, connector_id: int) -> tuple[records.Connector, dict[str, str]] | None:
    if not fits_int64(connector_id):  # no column holds it: it names nothing
        return None
    try:
        async with core.reader() as unit:
            record = await records.find(unit, connector_id, KIND)
    except NotFound:
        return None
    return record, record.secrets(sealed.for_settings(core.settings))


@router.get(PATH, response_class=PlainTextResponse, summary="Cloud API webhook verification")
async def verify(connector_id: int, request: Request) -> PlainTextResponse:
    """Echo ``hub.challenge`` when ``hub.mode`` is ``subscribe`` and the verify token is this connector's."""
    found = await _record(request.app.state.core, connector_id)
    params = request.query_params
    if found is not None and params.get("hub.mode") == "subscribe":
        expected = found[1].get("verify_token", "")
        given = params.get("hub.verify_token", "")
        if expected and hmac.compare_digest(expected.encode(), given.encode()):
            return PlainTextResponse(params.get("hub.challenge", ""))
    return PlainTextResponse("Forbidden", status_code=403)


@router.post(PATH, response_class=PlainTextResponse, summary="Cloud API webhook: statuses and messages")
async def receive(connector_id: int, request: Request) -> PlainTextResponse:
    core: Core = request.app.state.core
    found = await _record(core, connector_id)
    raw = await request.body()
    if found is None:
        return PlainTextResponse("Not found", status_code=404)
    record, secrets = found
    if not webhook.signed(secrets.get("app_secret", ""), raw, request.headers.get("x-hub-signature-256")):
        return PlainTextResponse("Invalid signature", status_code=401)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return PlainTextResponse("Body is not JSON", status_code=400)
    events = webhook.parse(body)
    if events.statuses:
        await apply_statuses(core, record, events.statuses)
    for message in events.messages:
        await store_inbound(core, record, secrets, message)
    return PlainTextResponse("OK")


async def apply_statuses(core: Core, record: records.Connector, statuses: list[webhook.Status]) -> None:
    """Statuses as receipts of the connector's ids; what they show of numbers is kept."""
    found = [
        carriers.Receipt(record.id, s.wamid[:80], s.state, s.state, s.error[:64], forms=(s.wamid[:80],), reason=s.reason)
        for s in statuses
    ]
    seen: dict[str, bool] = {}
    for s in statuses:
        if s.state in ("delivered", "read"):
            seen[s.recipient] = True
        elif s.state == "failed" and s.error_code == 131026:
            seen[s.recipient] = False

    async def write(unit: Unit) -> None:
        await carriers.receipts(unit, found)
        await whatsapp.learn(unit, record.account_id, seen)

    await core.write_now(write)


async def store_inbound(core: Core, record: records.Connector, secrets: dict[str, str], message: webhook.Inbound) -> None:
    """One message a user wrote: its media fetched first (outside any transaction), then stored."""
    data, problem = b"", ""
    if message.media is not None:
        try:
            data, _ = await media.download(record.config, secrets.get("token", ""), message.media.id, core.settings)
        except media.MediaError as exc:
            problem = str(exc)
            log.warning("connector %s: inbound media %s not kept: %s", record.name, message.media.id, problem)
    extra: dict[str, Any] = {"wamid": message.wamid, "type": message.kind}
    if message.name:
        extra["profile_name"] = message.name
    if problem:
        extra["media_error"] = problem

    async with core.unit() as unit:
        media_url = None
        if data:
            kind = media_store.sniff(data)
            if kind in _KEPT_TYPES:
                stored = await media_store.store(unit, record.account_id, data, allowed=_KEPT_TYPES,
                                                 max_bytes=media.MAX_BYTES, file_name=message.media.filename if message.media else "")  # fmt: skip
                media_url = stored.url
            else:
                extra["media_error"] = f"media of type {kind or 'unknown'} not kept"
        await receive_from_connector(
            unit, record.account_id, record.id, sender="+" + message.sender, body=message.text,
            recipient=message.recipient or str(record.config.get("display_number") or ""), channel="whatsapp",
            media_url=media_url, extra=extra,
        )  # fmt: skip
        await whatsapp.learn(unit, record.account_id, {message.sender: True})
