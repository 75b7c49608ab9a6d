"""``/api/v1/devices``: an account's phones, and the sending pace each one is told.

The delays are what SmsGateway24 shows as ``delaybetweeneachsms`` / ``delaybetweenrequest``
and what the phone gets from ``GET /api/mobile/v1/settings``; a change reaches a connected
phone at once (``SettingsUpdated`` on its event stream).
"""

from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel, Field, ValidationError, field_validator

from ..core.devices import devices, presence
from ..core.devices.devices import Device
from ..core.errors import DomainError, InvalidInput
from ..core.service import Core
from ..http import JSONResponse
from .common import AuthHeader, auth, error, known_id, resource_router

router = resource_router("devices", tag="devices")

MAX_DELAY = 3600


class DeviceChange(BaseModel, extra="forbid"):
    name: str | None = Field(default=None, max_length=200)
    delay_between_sms: int | None = Field(default=None, ge=0, le=MAX_DELAY, description="Seconds between two sends.")
    delay_between_request: int | None = Field(default=None, ge=0, le=MAX_DELAY, description="Seconds between polls.")

    @field_validator("name")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:  # PostgreSQL stores no NUL in text
            raise ValueError("name may not hold a NUL character")
        return value


def _public(device: Device, offline_after: int) -> dict:
    return {
        "id": device.id,
        "ext_id": device.ext_id,
        "name": device.name,
        "online": device.online(offline_after),
        "last_seen": device.last_seen.isoformat().replace("+00:00", "Z") if device.last_seen else None,
        "slots": {str(slot): channel for slot, channel in sorted(device.slots().items())},
        "delay_between_sms": device.delay_between_sms,
        "delay_between_request": device.delay_between_request,
    }


@router.get("/devices", summary="List the account's phones")
async def list_devices(request: Request, authorization: AuthHeader = None) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:read")
        async with core.reader() as unit:
            found = await devices.list_for(unit, credential.account_id)
    except DomainError as exc:
        return error(exc)
    offline_after = core.settings.offline_after_seconds
    return JSONResponse({"data": [_public(d, offline_after) for d in found]})


@router.patch("/devices/{device_id}", summary="Rename a phone or change its sending pace")
async def change_device(
    device_id: int, change: dict, request: Request, authorization: AuthHeader = None
) -> JSONResponse:
    core: Core = request.app.state.core
    try:
        credential = await auth(core, authorization, "messages:write")
        known_id(device_id, "Device")
        try:
            values = DeviceChange.model_validate(change).model_dump(exclude_none=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise InvalidInput(first["msg"], field=".".join(str(p) for p in first["loc"])) from None
        async with core.unit() as unit:
            device = await devices.get(unit, credential.account_id, device_id)
            if values:
                await devices.update_device(unit, device.id, **values)
                presence.settings_changed(unit, device.id)
            device = await devices.get(unit, credential.account_id, device_id)
    except DomainError as exc:
        return error(exc)
    return JSONResponse({"data": _public(device, core.settings.offline_after_seconds)})
