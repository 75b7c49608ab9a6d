"""Devices, settings, webhooks, inbox and logs of the account, in the SMS Gate API's words.

Settings are the account's phones' settings: a change is written to every phone of the
account and reaches each connected one at once (``SettingsUpdated``). The sending
interval and the ping interval are the same device settings SmsGateway24 shows as
``delaybetweeneachsms`` and ``delaybetweenrequest``.
"""

from __future__ import annotations

from typing import Any

from ...core.clock import utcnow
from ...core.devices import devices, presence
from ...core.events import app_webhooks
from ...core.messages import history, lifecycle
from . import parse, render
from .endpoint import Answer, Context
from .errors import ApiError

# --- devices ---------------------------------------------------------------------------


async def list_devices(ctx: Context) -> Answer:
    return Answer([render.device_json(d) for d in await devices.list_for(ctx.unit, ctx.account.id)])


async def _device(ctx: Context, ext_id: str) -> devices.Device:
    device = await devices.by_ext_id(ctx.unit, ext_id) if ext_id and len(ext_id) <= 64 else None
    if device is None or device.account_id != ctx.account.id:
        raise ApiError(404, "device not found")
    return device


async def delete_device(ctx: Context, ext_id: str) -> Answer:
    device = await _device(ctx, ext_id)
    await devices.update_device(ctx.unit, device.id, deleted_at=utcnow())
    return Answer(None, 204)


# --- settings --------------------------------------------------------------------------

SECTIONS = ("gateway", "encryption", "messages", "logs", "ping", "webhooks")
STORED = ("messages", "logs", "encryption", "webhooks")
"""Sections kept in the phone's settings (and served to it); ``gateway`` describes the phone's own connection."""
CHOICES = {
    ("messages", "limit_period"): ("Disabled", "PerMinute", "PerHour", "PerDay"),
    ("messages", "sim_selection_mode"): ("OSDefault", "RoundRobin", "Random"),
    ("messages", "processing_order"): ("LIFO", "FIFO"),
}
INTEGERS = {
    ("messages", "send_interval_min"): 3600,
    ("messages", "send_interval_max"): 3600,
    ("messages", "limit_value"): 1_000_000,
    ("messages", "log_lifetime_days"): 3650,
    ("logs", "lifetime_days"): 3650,
    ("ping", "interval_seconds"): 86400,
    ("webhooks", "retry_count"): 100,
}
DEFAULTS: dict[str, Any] = {
    "messages": {"limit_period": "Disabled", "limit_value": None, "sim_selection_mode": "OSDefault", "processing_order": "FIFO"},
    "webhooks": {"internet_required": False, "retry_count": 15},
}


def _check(data: dict) -> dict[str, dict]:
    unknown = [k for k in data if k not in SECTIONS]
    if unknown:
        raise ApiError(400, f"unknown settings section {unknown[0]}; known: {', '.join(SECTIONS)}")
    checked: dict[str, dict] = {}
    for section, values in data.items():
        if values is None:
            continue
        if not isinstance(values, dict):
            raise ApiError(400, f"{section} must be an object")
        out = {}
        for key, value in values.items():
            name = f"{section}.{key}"
            if (section, key) in INTEGERS:
                value = parse.integer(value, name, 0, INTEGERS[(section, key)])
            elif (section, key) in CHOICES:
                if value is not None and value not in CHOICES[(section, key)]:
                    raise ApiError(400, f"{name} must be one of {', '.join(CHOICES[(section, key)])}")
            elif key in ("internet_required",):
                value = None if value is None else parse.flag(value, name)
            elif value is not None and not isinstance(value, str):
                raise ApiError(400, f"{name} must be a string")
            out[key] = value
        checked[section] = out
    return checked


def _current(device: devices.Device | None, signing_key: str | None) -> dict[str, Any]:
    """What ``GET /settings`` shows: the first phone's settings (the defaults without a phone)."""
    own = device.settings if device else {}
    result: dict[str, Any] = {}
    for section in ("messages", "logs", "encryption", "webhooks"):
        merged = {**DEFAULTS.get(section, {}), **(own.get(section) or {})}
        if merged:
            result[section] = merged
    delay = device.delay_between_sms if device else 0
    messages = result.setdefault("messages", {})
    messages["send_interval_min"] = delay
    messages.setdefault("send_interval_max", delay)
    result["ping"] = {"interval_seconds": (device.delay_between_request or None) if device else None}
    webhooks = result.setdefault("webhooks", {})
    webhooks.pop("signing_key", None)
    if signing_key:
        webhooks["signing_key"] = signing_key
    return result


async def get_settings(ctx: Context) -> Answer:
    found = await devices.list_for(ctx.unit, ctx.account.id)
    key = await app_webhooks.signing_key(ctx.unit, ctx.account.id)
    return Answer(_current(found[0] if found else None, key))


async def _write_settings(ctx: Context, *, replace: bool) -> Answer:
    given = _check(await ctx.body())
    new_key = (given.get("webhooks") or {}).pop("signing_key", None)
    if new_key:
        await app_webhooks.set_signing_key(ctx.unit, ctx.account.id, new_key)
    for device in await devices.list_for(ctx.unit, ctx.account.id):
        stored = {} if replace else {k: dict(v) for k, v in device.settings.items() if isinstance(v, dict)}
        keep = {k: v for k, v in device.settings.items() if k not in SECTIONS}
        for section in STORED:
            if section in given:
                merged = {**(stored.get(section) or {}), **given[section]}
                stored[section] = {k: v for k, v in merged.items() if v is not None}
        messages = stored.get("messages", {})
        delay = given.get("messages", {}).get("send_interval_min")
        delay_sms = delay if delay is not None else (0 if replace else device.delay_between_sms)
        messages.pop("send_interval_min", None)
        if messages.get("send_interval_max") == delay_sms:
            messages.pop("send_interval_max")
        ping = given.get("ping", {})
        if "interval_seconds" in ping or replace:
            delay_request = ping.get("interval_seconds") or 0
        else:
            delay_request = device.delay_between_request
        await devices.update_device(
            ctx.unit,
            device.id,
            settings={**keep, **{k: v for k, v in stored.items() if v}},
            delay_between_sms=delay_sms,
            delay_between_request=delay_request,
        )
        presence.settings_changed(ctx.unit, device.id)
    return await get_settings(ctx)


async def replace_settings(ctx: Context) -> Answer:
    return await _write_settings(ctx, replace=True)


async def patch_settings(ctx: Context) -> Answer:
    return await _write_settings(ctx, replace=False)


# --- webhooks --------------------------------------------------------------------------


async def _device_exts(ctx: Context) -> dict[int, str]:
    return {d.id: d.ext_id for d in await devices.list_for(ctx.unit, ctx.account.id)}


async def list_webhooks(ctx: Context) -> Answer:
    exts = await _device_exts(ctx)
    hooks = await app_webhooks.list_for(ctx.unit, ctx.account.id)
    return Answer([render.webhook_json(h, exts.get(h.device_id) if h.device_id else None) for h in hooks])


async def create_webhook(ctx: Context) -> Answer:
    payload = await ctx.body()
    url = parse.text(payload.get("url"), "url", 2000, required=True) or ""
    event = parse.text(payload.get("event"), "event", 32, required=True) or ""
    ext_id = parse.text(payload.get("id"), "id", app_webhooks.MAX_EXT_ID)
    device_ext = parse.text(payload.get("deviceId"), "deviceId", 64)
    device_id = None
    if device_ext:
        device = await devices.by_ext_id(ctx.unit, device_ext)
        if device is None or device.account_id != ctx.account.id:
            raise ApiError(400, "device not found")
        device_id = device.id
    hook = await app_webhooks.put(ctx.unit, ctx.account.id, url=url, event=event, ext_id=ext_id, device_id=device_id)
    return Answer(render.webhook_json(hook, device_ext), 201)


async def delete_webhook(ctx: Context, ext_id: str) -> Answer:
    await app_webhooks.remove(ctx.unit, ctx.account.id, ext_id)
    return Answer(None, 204)


# --- inbox -----------------------------------------------------------------------------

INBOX_TYPES = ("SMS", "DATA_SMS", "MMS", "MMS_DOWNLOADED")


async def list_inbox(ctx: Context) -> Answer:
    q = ctx.query
    kind = q.get("type") or None
    if kind is not None and kind not in INBOX_TYPES:
        raise ApiError(400, f"type must be one of {', '.join(INBOX_TYPES)}")
    limit = parse.integer(q.get("limit"), "limit", 1, 500, 50) or 50
    offset = parse.integer(q.get("offset"), "offset", 0, 2**31, 0) or 0
    exts = await _device_exts(ctx)
    device_id = None
    if q.get("deviceId"):
        device_id = next((i for i, e in exts.items() if e == q["deviceId"]), None)
        if device_id is None:
            return Answer([], headers={"X-Total-Count": "0"})
    if kind not in (None, "SMS"):
        return Answer([], headers={"X-Total-Count": "0"})  # Postino's phones report text messages only
    page = await history.search(
        ctx.unit,
        ctx.account.id,
        history.Filter(
            device_id=device_id,
            states=[history.StateMatch(lifecycle.RECEIVED)],
            created_from=parse.timestamp(q.get("from"), "from"),
            created_before=parse.timestamp(q.get("to"), "to"),
        ),
        newest_first=True,
        limit=limit,
        offset=offset,
    )
    items = [render.inbox_json(r, exts.get(r.device_id)) for r in page.rows]
    return Answer(items, headers={"X-Total-Count": str(page.total)})


async def refresh_inbox(ctx: Context) -> Answer:
    """Ask the phones to send again what they received between ``since`` and ``until``."""
    payload = await ctx.body()
    since = parse.timestamp(payload.get("since"), "since")
    until = parse.timestamp(payload.get("until"), "until")
    if since is None or until is None:
        raise ApiError(400, "since and until are required")
    if until < since:
        raise ApiError(400, "until must not be before since")
    device_ext = parse.text(payload.get("deviceId"), "deviceId", 64)
    targets = [await _device(ctx, device_ext)] if device_ext else await devices.list_for(ctx.unit, ctx.account.id)
    notifier = ctx.unit.core.notifier
    data = {"since": render.iso(since), "until": render.iso(until)}
    for device in targets:
        ctx.unit.after_commit(lambda d=device.id: notifier.publish(("device", d), "MessagesExportRequested", data))
    return Answer(None, 202)


# --- logs ------------------------------------------------------------------------------


async def logs(ctx: Context) -> Answer:
    since = parse.timestamp(ctx.query.get("from"), "from")
    until = parse.timestamp(ctx.query.get("to"), "to")
    exts = await _device_exts(ctx)
    entries = await history.event_log(ctx.unit, ctx.account.id, since=since, until=until)
    return Answer(
        [
            {
                "id": e.id,
                "priority": "ERROR" if e.state in lifecycle.FAILURES else "INFO",
                "module": "messages",
                "message": f"message {e.message_id}: {render.PHONE_STATE.get(e.state, e.state)}"
                + (f" ({e.detail})" if e.detail else ""),
                "context": {
                    "messageId": str(e.message_id),
                    "state": e.state,
                    "deviceId": exts.get(e.device_id) if e.device_id else None,
                    "direction": e.direction,
                    "reason": e.reason,
                },
                "createdAt": render.iso(e.at),
            }
            for e in entries
        ]
    )
