"""Devices: the phones of an account, their SIM/channel slots, and whether they are online.

A device has two ids: ``id`` (an integer, what SmsGateway24 calls ``device_id``) and
``ext_id`` (the 21-character id the Android app knows). Its token is stored hashed; its
webhook signing key, which Postino must read back to check the phone's signatures, is
stored sealed with the server key (``accounts.sealed``) and opened only where it is used.
Slots follow SmsGateway24's ``sim`` numbers: 0-1 SMS, 2 WhatsApp Business, 3 WhatsApp
Personal, 4-5 RCS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from sqlalchemy import and_, func, insert, select, update

from ...db.tables import devices, messages
from ..accounts import sealed, secrets
from ..clock import utcnow
from ..errors import InvalidInput, NotFound
from ..service import Core, Unit

SLOT_CHANNELS: dict[int, str] = {0: "sms", 1: "sms", 2: "whatsapp", 3: "whatsapp", 4: "rcs", 5: "rcs"}
TOUCH_EVERY = timedelta(seconds=5)
"""``last_seen`` is written at most this often per device: a busy phone is not a write hot spot."""


@dataclass(frozen=True)
class Device:
    id: int
    account_id: int
    ext_id: str
    name: str
    push_token: str | None
    sim_cards: list[dict]
    app_version: str
    imei: str
    serial_number: str
    delay_between_sms: int
    delay_between_request: int
    settings: dict
    sealed_webhook_key: str = field(repr=False)
    """The stored form of ``webhook_key`` (``''``: none)."""
    created_at: datetime
    last_seen: datetime | None
    sealer: sealed.Sealer = field(repr=False, compare=False)
    extra: dict = field(default_factory=dict)

    @cached_property
    def webhook_key(self) -> str:
        """The key the phone signs its webhooks with, in clear.

        Opened on first use, not when the row is read: the hot paths that look a phone up
        (its every call, every accepted message) never need it, and a server started with
        the wrong key fails only where the key is needed (the phone's settings and reports).
        """
        return self.sealer.open(self.sealed_webhook_key) if self.sealed_webhook_key else ""

    def slots(self) -> dict[int, str]:
        """Slot index -> channel, from what the phone declared."""
        result: dict[int, str] = {}
        for card in self.sim_cards:
            try:
                index = int(card.get("slotIndex", -1))
            except (TypeError, ValueError):
                continue
            if index in SLOT_CHANNELS:
                result[index] = SLOT_CHANNELS[index]
        return result

    def has_slot(self, slot: int) -> bool:
        return slot in self.slots()

    def online(self, offline_after: int, now: datetime | None = None) -> bool:
        if self.last_seen is None:
            return False
        return (now or utcnow()) - self.last_seen <= timedelta(seconds=offline_after)


def _row(unit: Unit, row) -> Device:  # noqa: ANN001
    return Device(
        id=row.id,
        account_id=row.account_id,
        ext_id=row.ext_id,
        name=row.name,
        push_token=row.push_token,
        sim_cards=list(row.sim_cards or []),
        app_version=row.app_version,
        imei=row.imei,
        serial_number=row.serial_number,
        delay_between_sms=row.delay_between_sms,
        delay_between_request=row.delay_between_request,
        settings=dict(row.settings or {}),
        sealed_webhook_key=row.webhook_key,
        created_at=row.created_at,
        last_seen=row.last_seen,
        sealer=sealed.for_settings(unit.settings),
    )


def clean_sim_cards(raw: object) -> list[dict]:
    """Keep the declared slots the way the app sends them; reject what is not a list of objects."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise InvalidInput("simCards must be a list of objects", field="simCards")
    cards = []
    for card in raw:
        slot = card.get("slotIndex")
        if not isinstance(slot, int) or isinstance(slot, bool) or slot < 0:
            raise InvalidInput("simCards[].slotIndex must be a non-negative integer", field="simCards")
        cards.append(dict(card))
    return cards


async def register(
    unit: Unit,
    account_id: int,
    *,
    name: str = "",
    sim_cards: list[dict] | None = None,
    push_token: str | None = None,
    app_version: str = "",
) -> tuple[Device, str]:
    """A new device of the account; returns it with its bearer token (shown once)."""
    token = secrets.token_urlsafe_chars(21)
    now = utcnow()
    row = (
        await unit.conn.execute(
            insert(devices)
            .values(
                account_id=account_id,
                ext_id=secrets.token_urlsafe_chars(21),
                token_hash=secrets.hash_secret(token),
                name=(name or "")[:200],
                push_token=push_token,
                sim_cards=clean_sim_cards(sim_cards) if sim_cards is not None else [{"slotIndex": 0, "simNumber": 1}],
                app_version=app_version[:64],
                webhook_key=sealed.for_settings(unit.settings).seal(secrets.token_hex(16)),
                created_at=now,
                last_seen=now,
            )
            .returning(*devices.c)
        )
    ).one()
    return _row(unit, row), token


async def by_token(unit: Unit, token: str) -> Device | None:
    row = (
        await unit.conn.execute(
            select(devices).where(devices.c.token_hash == secrets.hash_secret(token), devices.c.deleted_at.is_(None))
        )
    ).one_or_none()
    return _row(unit, row) if row else None


async def by_ext_id(unit: Unit, ext_id: str) -> Device | None:
    row = (
        await unit.conn.execute(select(devices).where(devices.c.ext_id == ext_id, devices.c.deleted_at.is_(None)))
    ).one_or_none()
    return _row(unit, row) if row else None


async def get(unit: Unit, account_id: int, device_id: int) -> Device:
    """The account's device ``device_id``; another account's device is 'not found'."""
    row = (
        await unit.conn.execute(
            select(devices).where(
                devices.c.id == device_id, devices.c.account_id == account_id, devices.c.deleted_at.is_(None)
            )
        )
    ).one_or_none()
    if row is None:
        raise NotFound("Device not found")
    return _row(unit, row)


async def get_cached(core: Core, account_id: int, device_id: int) -> Device:
    """``get`` through the short-lived in-process cache (the accept hot path)."""
    device = await core.read_cached(
        core.cache.devices, (account_id, device_id), lambda unit: get(unit, account_id, device_id)
    )
    assert device is not None
    return device


def _forget(unit: Unit, device_id: int) -> None:
    cached = unit.core.cache.devices
    cached.drop_where(lambda _key, d: d.id == device_id)
    unit.after_commit(lambda: cached.drop_where(lambda _key, d: d.id == device_id))


async def list_for(unit: Unit, account_id: int) -> list[Device]:
    rows = (
        await unit.conn.execute(
            select(devices)
            .where(devices.c.account_id == account_id, devices.c.deleted_at.is_(None))
            .order_by(devices.c.id)
        )
    ).all()
    return [_row(unit, r) for r in rows]


async def update_device(unit: Unit, device_id: int, **values: object) -> None:
    """Change columns of a device (push token, SIM cards, delays, settings, name)."""
    if "sim_cards" in values:
        values["sim_cards"] = clean_sim_cards(values["sim_cards"])
    await unit.conn.execute(update(devices).where(devices.c.id == device_id).values(**values))
    _forget(unit, device_id)


async def touch(unit: Unit, device: Device) -> bool:
    """Mark the device seen now (at most every few seconds); True if it was offline."""
    now = utcnow()
    if device.last_seen is not None and now - device.last_seen < TOUCH_EVERY:
        return False
    was_offline = not device.online(unit.settings.offline_after_seconds, now)
    await unit.conn.execute(
        update(devices).where(devices.c.id == device.id).values(last_seen=now, offline_notified=False)
    )
    return was_offline


async def queued_counts(unit: Unit, device_ids: list[int]) -> dict[int, int]:
    """How many pending messages each device has (for least-queued routing)."""
    if not device_ids:
        return {}
    rows = (
        await unit.conn.execute(
            select(messages.c.device_id, func.count())
            .where(and_(messages.c.device_id.in_(device_ids), messages.c.state.in_(("queued", "assigned"))))
            .group_by(messages.c.device_id)
        )
    ).all()
    counts = {d: 0 for d in device_ids}
    counts.update({r[0]: r[1] for r in rows})
    return counts
