"""SmsGateway24's shapes: status numbers, PHP date objects, message and device records."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from ...core.devices.devices import Device
from ...core.messages.history import StateMatch

UTC = ZoneInfo("UTC")

TITLES: dict[int, str] = {
    1: "pending",
    2: "sending",
    3: "queued",
    5: "incoming",
    6: "sent",
    7: "delivered",
    8: "not delivered",
    9: "failed",
    10: "no service",
    11: "null pdu",
    12: "radio off",
    100: "not allowed",
    101: "not allowed",
}

_BY_STATE: dict[str, int] = {
    "draft": 1,
    "scheduled": 1,
    "queued": 1,
    "assigned": 3,
    "taken": 2,
    "sent": 6,
    "delivered": 7,
    "read": 7,
    "undelivered": 8,
    "failed": 9,
    "expired": 9,
    "canceled": 9,
    "received": 5,
}
_BY_REASON: dict[str, int] = {"no_service": 10, "null_pdu": 11, "radio_off": 12, "not_allowed": 100}
_SPECIAL_REASONS = tuple(_BY_REASON)

# SG24 status -> the canonical states (and failure reasons) it stands for
_MATCHES: dict[int, list[StateMatch]] = {
    1: [StateMatch("draft"), StateMatch("scheduled"), StateMatch("queued")],
    2: [StateMatch("taken")],
    3: [StateMatch("assigned")],
    5: [StateMatch("received")],
    6: [StateMatch("sent")],
    7: [StateMatch("delivered"), StateMatch("read")],
    8: [StateMatch("undelivered")],
    9: [StateMatch("failed", not_reasons=_SPECIAL_REASONS), StateMatch("expired"), StateMatch("canceled")],
    10: [StateMatch("failed", reasons=("no_service",))],
    11: [StateMatch("failed", reasons=("null_pdu",))],
    12: [StateMatch("failed", reasons=("radio_off",))],
    100: [StateMatch("failed", reasons=("not_allowed",))],
    101: [StateMatch("failed", reasons=("not_allowed",))],
}


def status(state: str, reason: str | None) -> int:
    if state == "failed" and reason in _BY_REASON:
        return _BY_REASON[reason]
    return _BY_STATE.get(state, 9)


def status_matches(code: int) -> list[StateMatch]:
    """The states an SG24 ``status`` filter selects; an unknown number selects nothing."""
    return _MATCHES.get(code, [])


def php_date(moment: datetime | None, zone: ZoneInfo) -> dict[str, Any] | None:
    """PHP's ``json_encode(new DateTime)``: ``{"date", "timezone_type": 3, "timezone"}``."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return {"date": _php_text(moment.astimezone(zone)), "timezone_type": 3, "timezone": zone.key}


def _php_text(local: datetime) -> str:
    """``2024-01-10 09:00:00.000000``, PHP's ``Y-m-d H:i:s.u``.

    ``isoformat`` writes the same text as ``strftime("%Y-%m-%d %H:%M:%S.%f")`` in a third
    of the time (``strftime`` handles ``%f`` in Python), and a ``getallsms`` page has a
    thousand of them. Years before 1000, which ``%Y`` does not pad, keep ``strftime``.
    """
    if local.year < 1000:
        return local.strftime("%Y-%m-%d %H:%M:%S.%f")
    return local.isoformat(" ", "microseconds")[:26]


def human(moment: datetime | None, zone: ZoneInfo) -> str | None:
    """``28.03.2020 20:10:29``."""
    if moment is None:
        return None
    return moment.astimezone(zone).strftime("%d.%m.%Y %H:%M:%S")


def _customer_id(value: str | None) -> int | str | None:
    """Numeric customer ids go back as JSON numbers (as the docs type them), others as sent."""
    if value is None:
        return None
    if value.isdigit() and str(int(value)) == value:
        return int(value)
    return value


# The message columns ``smss`` reads, in the order it unpacks them; a page selects only
# these, then the campaign's id, title and body.
SMS_COLUMNS = (
    "id",
    "recipient",
    "recipient_raw",
    "body",
    "direction",
    "customer_id",
    "state",
    "reason",
    "device_id",
    "slot",
    "urgent",
    "created_at",
    "sent_at",
    "due_at",
)


def smss(rows: Iterable[Any], zone: ZoneInfo) -> dict[str, dict[str, Any]]:
    """``getallsms``'s ``smss``: one entry per row, keyed by the message id as a string.

    Rows are ``SMS_COLUMNS`` (times naive UTC or aware) then ``campaign_id``,
    ``campaign_title``, ``campaign_body``. A page has up to a thousand rows, so each is
    unpacked once by position (reading a row's fields by name costs more than building
    its entry) and status numbers are worked out once per distinct state and reason.
    """
    key = zone.key
    statuses: dict[tuple[str, str | None], tuple[int, str]] = {}
    out: dict[str, dict[str, Any]] = {}
    for (
        id_, recipient, recipient_raw, body, direction, customer_id, state, reason, device_id, slot, urgent,
        created_at, sent_at, due_at, campaign_id, campaign_title, campaign_body,
    ) in rows:
        found = statuses.get((state, reason))
        if found is None:
            code = status(state, reason)
            found = statuses[(state, reason)] = (code, TITLES.get(code, "failed"))
        out[str(id_)] = {
            "id": id_,
            "sendto": recipient_raw or recipient,  # incoming: who wrote to us
            "body": body,
            "customerid": None if direction == "in" else _customer_id(customer_id),
            "status": found[0],
            "statustitle": found[1],
            "deviceid": device_id,
            "sim": slot,
            "urgent": 1 if urgent else None,
            "created": _php_date_in(created_at, zone, key),
            "senttime": _php_date_in(sent_at, zone, key),
            "timetosend": _php_date_in(due_at, zone, key),
            "paketid": campaign_id,
            "pakettitle": campaign_title,
            "paketbody": campaign_body,
        }
    return out


def _php_date_in(moment: datetime | None, zone: ZoneInfo, key: str) -> dict[str, Any] | None:
    """``php_date`` for a page: naive moments are UTC, and UTC needs no conversion."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        if key != "UTC":
            moment = moment.replace(tzinfo=UTC).astimezone(zone)
    elif key != "UTC" or moment.utcoffset():
        moment = moment.astimezone(zone)
    return {"date": _php_text(moment), "timezone_type": 3, "timezone": key}


def _sim(card: dict) -> dict[str, str]:
    def s(*keys: str) -> str:
        for key in keys:
            value = card.get(key)
            if value is not None:
                if isinstance(value, bool):
                    return "1" if value else "0"
                return str(value)
        return ""

    return {
        "Slot": s("slotIndex"),
        "IccId": s("iccid", "iccId"),
        "Number": s("phoneNumber", "number"),
        "Roaming": s("roaming") or "0",
        "CountryIso": s("countryIso", "countryCode"),
        "CarrierName": s("carrierName"),
    }


def device(dev: Device, online: bool) -> dict[str, Any]:
    """One ``device`` entry of ``getalldevices``. Device times are shown in UTC, as the docs do."""
    cards = sorted(dev.sim_cards, key=lambda c: c.get("slotIndex", 0) if isinstance(c.get("slotIndex"), int) else 0)
    number = next((str(c["phoneNumber"]) for c in cards if c.get("phoneNumber")), None)
    return {
        "id": dev.id,
        "title": dev.name,
        "number": number,
        "imei": dev.imei,
        "created": php_date(dev.created_at, UTC),
        "createdhumanformat": human(dev.created_at, UTC),
        "lastseen": php_date(dev.last_seen, UTC),
        "lastseenhumanformat": human(dev.last_seen, UTC),
        "serialnumber": dev.serial_number,
        "siminfo": [_sim(c) for c in cards],
        "appversion": dev.app_version,
        "isappversionactual": True,
        "delaybetweeneachsms": dev.delay_between_sms,
        "delaybetweenrequest": dev.delay_between_request,
        "subscription": True,
        "online": online,
    }
