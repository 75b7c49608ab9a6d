"""The mobile API of the SMS Gateway for Android app, under ``/api/mobile/v1``.

The device API translates, core decides: parse what the app sent, call core, answer in
the app's field names and status codes.
"""

from __future__ import annotations

from fastapi import Depends, Request, Response

from ..core.accounts import user_codes
from ..core.devices import devices
from ..core.devices import reports as device_reports
from ..core.devices.devices import Device
from ..core.messages import queue
from ..http_paths import PathRouter
from . import render
from .auth import basic_account, core_of, current_device, device_or_none, registering_account
from .errors import ApiError, DeviceRoute, json_response
from .parse import iso, optional_str, parse_time, read_json

router = PathRouter(prefix="/api/mobile/v1", tags=["device protocol"], route_class=DeviceRoute)

MAX_PULL = 100
MAX_REPORTS = 1000


def public_base(request: Request) -> str:
    """Postino's URL as phones reach it: the operator's ``public_url``, else the one this call used."""
    configured = request.app.state.settings.public_url
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _sim_cards(data: dict) -> list[dict] | None:
    cards = data.get("simCards")
    if cards is None:
        return None
    if not isinstance(cards, list) or not all(isinstance(c, dict) for c in cards):
        raise ApiError(400, "simCards must be a list of objects")
    for card in cards:
        slot = card.get("slotIndex")
        if not isinstance(slot, int) or isinstance(slot, bool) or not 0 <= slot <= 5:
            raise ApiError(400, "simCards[].slotIndex must be an integer from 0 to 5")
        channels = card.get("channels")
        if channels is not None and (
            not isinstance(channels, list) or not all(c in ("sms", "whatsapp", "rcs") for c in channels)
        ):
            raise ApiError(400, "simCards[].channels must be a list of sms, whatsapp, rcs")
    return cards


def _object(data: object, what: str) -> dict:
    if not isinstance(data, dict):
        raise ApiError(400, f"{what} must be a JSON object")
    return data


@router.post("/device", status_code=201, summary="Register a device")
async def register_device(request: Request) -> Response:
    """201 ``{id, token, login}``: the device joins the account whose credential was shown."""
    core = core_of(request)
    data = _object(await read_json(request, empty={}), "The registration request")
    name = optional_str(data, "name", max_len=200) or ""
    push_token = optional_str(data, "pushToken", max_len=500)
    cards = _sim_cards(data)
    agent = request.headers.get("user-agent", "")
    version = agent.split("/", 1)[1] if agent.startswith("me.capcom.smsgateway/") else ""
    async with core.unit() as unit:
        account = await registering_account(unit, request)
        device, token = await devices.register(
            unit, account.id, name=name, sim_cards=cards, push_token=push_token, app_version=version
        )
    return json_response({"id": device.ext_id, "token": token, "login": account.email}, 201)


@router.get("/device", summary="This device and the caller's address")
async def get_device(request: Request) -> Response:
    device = await device_or_none(request)
    body: dict = {"externalIp": _client_ip(request)}
    if device is not None:
        body = {"device": render.device_json(device), **body}
    return json_response(body)


@router.patch("/device", status_code=204, summary="Update push token and SIM cards")
async def patch_device(request: Request, device: Device = Depends(current_device)) -> Response:
    data = _object(await read_json(request), "The device update")
    device_id = data.get("id")
    if not isinstance(device_id, str) or not device_id:
        raise ApiError(400, "id is required and must be a string")
    if device_id != device.ext_id:
        raise ApiError(403, "Forbidden: id is not the id of this device")
    values: dict = {}
    if "pushToken" in data:
        values["push_token"] = optional_str(data, "pushToken", max_len=500)
    cards = _sim_cards(data)
    if cards is not None:
        values["sim_cards"] = cards
    if "name" in data:
        values["name"] = optional_str(data, "name", max_len=200) or ""
    if values:
        async with core_of(request).unit() as unit:
            await devices.update_device(unit, device.id, **values)
    return Response(status_code=204)


async def _pull(request: Request, device: Device) -> Response:
    """The device's messages: those it holds, then fresh ones leased to it now, in one write."""
    order = request.query_params.get("order", "fifo").lower()
    if order not in ("fifo", "lifo"):
        raise ApiError(400, "order must be lifo or fifo")
    core = core_of(request)
    rows = await core.write_now(lambda unit: queue.claim_for_device(unit, device.id, limit=MAX_PULL))
    if order == "lifo":
        rows.sort(key=lambda r: (not r.urgent, -r.priority, -r.id))
    return json_response([render.message_json(r) for r in rows])


@router.get("/message", summary="Messages to send (leased to this device)")
async def get_message(request: Request, device: Device = Depends(current_device)) -> Response:
    return await _pull(request, device)


@router.get("/messages", include_in_schema=False)
async def get_messages(request: Request, device: Device = Depends(current_device)) -> Response:
    return await _pull(request, device)


def our_id(raw: object) -> int | None:
    """A message id as Postino issues them (a positive 64-bit integer), else None."""
    try:
        value = int(str(raw).strip())
    except ValueError:
        return None
    return value if 0 < value < 2**63 else None


def _reports(data: object) -> list[device_reports.Report]:
    if not isinstance(data, list):
        raise ApiError(400, "Expected a JSON array of message states")
    if len(data) > MAX_REPORTS:
        raise ApiError(400, f"At most {MAX_REPORTS} message states per request")
    reports = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise ApiError(400, f"[{index}] must be an object")
        raw_id = item.get("id")
        if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or raw_id == "":
            raise ApiError(400, f"[{index}].id is required and must be a string")
        state = item.get("state")
        if not isinstance(state, str) or state not in device_reports.PHONE_STATES:
            raise ApiError(400, f"[{index}].state must be one of {', '.join(device_reports.PHONE_STATES)}")
        recipients = item.get("recipients") or []
        if not isinstance(recipients, list) or not all(isinstance(r, dict) for r in recipients):
            raise ApiError(400, f"[{index}].recipients must be a list of objects")
        states = item.get("states") or {}
        if not isinstance(states, dict):
            raise ApiError(400, f"[{index}].states must be an object of state: time")
        errors = [r.get("error") for r in recipients if isinstance(r.get("error"), str) and r.get("error")]
        error = errors[0] if errors else (item.get("error") if isinstance(item.get("error"), str) else None)
        message_id = our_id(raw_id)
        if message_id is None:
            continue  # not one of ours: ignored, like any unknown id
        times = {k: t for k, v in states.items() if k in device_reports.PHONE_STATES and (t := parse_time(v))}
        reports.append(device_reports.Report(message_id, state, error, times))
    return reports


async def _report(request: Request, device: Device) -> Response:
    reports = _reports(await read_json(request))
    if reports:
        await core_of(request).write_now(lambda unit: device_reports.apply(unit, device, reports))
    return Response(status_code=204)


@router.patch("/message", status_code=204, summary="Report what happened to messages")
async def patch_message(request: Request, device: Device = Depends(current_device)) -> Response:
    return await _report(request, device)


@router.patch("/messages", status_code=204, include_in_schema=False)
async def patch_messages(request: Request, device: Device = Depends(current_device)) -> Response:
    return await _report(request, device)


@router.get("/settings", summary="This device's sending delays and ping interval")
async def get_settings(device: Device = Depends(current_device)) -> Response:
    return json_response(render.settings_json(device))


@router.get("/webhooks", summary="Where the phone reports inbound SMS and delivery news")
async def get_webhooks(request: Request, device: Device = Depends(current_device)) -> Response:
    return json_response(render.webhooks_json(public_base(request), device))


@router.get("/user/code", summary="A one-time code that registers a device (Basic auth)")
async def get_user_code(request: Request) -> Response:
    async with core_of(request).unit() as unit:
        account = await basic_account(unit, request)
        code, valid_until = await user_codes.issue(unit, account.id)
    return json_response({"code": code, "validUntil": iso(valid_until)})

