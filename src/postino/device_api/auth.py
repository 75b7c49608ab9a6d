"""Who is calling: a device by its bearer token, or an account registering a device.

Registration accepts the three ways the app offers in private-server mode: the account's
device-registration token (``Bearer``), the account's login (``Basic email:password``),
or a one-time code (``Code 123456``). Every authenticated device call marks it seen.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import replace

from fastapi import Request

from ..core.accounts import accounts, credentials, secrets, user_codes
from ..core.accounts.accounts import Account
from ..core.clock import utcnow
from ..core.devices import devices
from ..core.devices.devices import Device
from ..core.service import Core, Unit
from .errors import ApiError

UNAUTHORIZED = "Unauthorized"


def core_of(request: Request) -> Core:
    return request.app.state.core


def authorization(request: Request) -> tuple[str, str]:
    """The scheme (lower case) and value of the Authorization header, or ("", "")."""
    header = request.headers.get("authorization", "").strip()
    scheme, _, value = header.partition(" ")
    return scheme.lower(), value.strip()


def basic_credentials(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:  # ValueError: characters that are no ASCII
        raise ApiError(401, "Malformed Basic credentials") from exc
    login, sep, password = decoded.partition(":")
    if not sep or "\x00" in login:  # no login holds a NUL (PostgreSQL could not even look it up)
        raise ApiError(401, "Malformed Basic credentials")
    return login, password


def _token_key(token: str) -> tuple[str, str]:
    """The device cache's key for a bearer token (its hash, never the token)."""
    return ("token", secrets.hash_secret(token))


async def _by_token(core: Core, token: str, key: tuple[str, str]) -> Device | None:
    """The device of a bearer token, through the device cache (positive lookups, seconds).

    Every call of a phone authenticates; a read per call costs a pooled connection and a
    few event-loop round trips. A device changed or deleted in this process is dropped
    from the cache at once; one changed by another process is seen within the cache's TTL,
    as for the accept path's credentials and devices.
    """
    return await core.read_cached(core.cache.devices, key, lambda unit: devices.by_token(unit, token))


async def mark_seen(core: Core, device: Device, cache_key: tuple[str, str] | None = None) -> Device:
    """Record the call (at most every few seconds per device); returns the device as now seen.

    The write goes through the group writer, so it shares a COMMIT with other writes and
    does not hold the write lock across turns of the event loop.
    """
    now = utcnow()
    if device.last_seen is not None and now - device.last_seen < devices.TOUCH_EVERY:
        return device
    await core.write_now(lambda unit: devices.touch(unit, device))
    seen = replace(device, last_seen=now)
    if cache_key is not None:
        core.cache.devices.put(cache_key, seen)
    return seen


async def device_or_none(request: Request) -> Device | None:
    """The device of the bearer token; None without one; 401 for a wrong one."""
    scheme, value = authorization(request)
    if not scheme:
        return None
    if scheme != "bearer" or not value:
        raise ApiError(401, UNAUTHORIZED)
    core = core_of(request)
    key = _token_key(value)
    device = await _by_token(core, value, key)
    if device is None:
        raise ApiError(401, UNAUTHORIZED)
    return await mark_seen(core, device, key)


async def current_device(request: Request) -> Device:
    """A FastAPI dependency: the calling device, else 401."""
    device = await device_or_none(request)
    if device is None:
        raise ApiError(401, UNAUTHORIZED)
    return device


async def basic_account(unit: Unit, request: Request) -> Account:
    scheme, value = authorization(request)
    if scheme != "basic" or not value:
        raise ApiError(401, UNAUTHORIZED)
    login, password = basic_credentials(value)
    return await accounts.authenticate(unit, login, password)


async def registering_account(unit: Unit, request: Request) -> Account:
    """The account a new device joins, from any of the three registration credentials."""
    scheme, value = authorization(request)
    if scheme == "bearer" and value:
        credential = await credentials.resolve(unit, value, ("device_registration",))
        return await accounts.get(unit, credential.account_id)
    if scheme == "basic" and value:
        return await basic_account(unit, request)
    if scheme == "code" and value:
        return await accounts.get(unit, await user_codes.redeem(unit, value))
    raise ApiError(401, "Registration needs a device-registration token, a login or a one-time code")


