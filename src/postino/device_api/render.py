"""The JSON shapes the app reads: devices, messages to send, settings, webhook entries."""

from __future__ import annotations

from typing import Any

from ..core.devices.devices import Device
from .parse import iso

HOOK_EVENTS = ("sms:received", "sms:sent", "sms:delivered", "sms:failed")


def device_json(device: Device) -> dict[str, Any]:
    return {
        "id": device.ext_id,
        "name": device.name,
        "createdAt": iso(device.created_at),
        "updatedAt": iso(device.last_seen or device.created_at),
        "lastSeen": iso(device.last_seen),
    }


def app_priority(urgent: bool, priority: float) -> int:
    """The app's priority byte: 100 and up skip its delays and limits, so only urgent gets there."""
    if urgent:
        return 100
    return max(0, min(99, int(priority) - 1))


def message_json(row: Any) -> dict[str, Any]:
    """One message to send; ``simNumber`` is the slot + 1, as the app counts SIMs."""
    return {
        "id": str(row.id),
        "message": row.body,
        "textMessage": {"text": row.body},
        "phoneNumbers": [row.recipient],
        "isEncrypted": False,
        "simNumber": row.slot + 1 if row.slot is not None else None,
        "withDeliveryReport": True,
        "ttl": None,
        "validUntil": iso(row.valid_until),
        "scheduleAt": None,
        "priority": app_priority(bool(row.urgent), float(row.priority)),
        "state": "Pending",
        "createdAt": iso(row.created_at),
    }


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def settings_json(device: Device) -> dict[str, Any]:
    """The device's settings: its SG24 delays as the app's send interval and ping interval.

    Anything stored in the device's ``settings`` under the app's own keys (``messages``,
    ``ping``, ``logs``, ``encryption``, ``webhooks``) is served on top, except the
    webhook signing key, which is always the device's own.
    """
    base: dict[str, Any] = {
        "messages": {
            "send_interval_min": device.delay_between_sms,
            "send_interval_max": device.delay_between_sms,
            "limit_period": "Disabled",
            "limit_value": None,
        },
        "ping": {"interval_seconds": device.delay_between_request or None},
        "webhooks": {"internet_required": False, "retry_count": 15},
    }
    own = {k: v for k, v in device.settings.items() if k in ("messages", "ping", "logs", "encryption", "webhooks")}
    merged = _merge(base, own)
    merged.setdefault("webhooks", {})["signing_key"] = device.webhook_key
    return merged


def hook_url(public_url: str, device: Device) -> str:
    return f"{public_url}/api/mobile/v1/hooks/{device.ext_id}"


def webhooks_json(public_url: str, device: Device) -> list[dict[str, Any]]:
    """Where the phone reports inbound SMS and delivery news: Postino's own receiver."""
    url = hook_url(public_url, device)
    return [
        {"id": f"postino-{event.replace(':', '-')}", "deviceId": device.ext_id, "url": url, "event": event}
        for event in HOOK_EVENTS
    ]
