"""From SmsGateway24 send fields (``sendto``, ``body``, ``device_id``, ``sim``, …) to core drafts.

One ``Orders`` object serves one request: it remembers the devices, numbers and times it
has already checked, so a 10,000-item ``addalotofsms`` looks each one up once.
"""

from __future__ import annotations

from datetime import datetime

from ...core.accounts.accounts import Account
from ...core.contacts import optouts
from ...core.devices import devices as devices_mod
from ...core.devices.devices import SLOT_CHANNELS, Device
from ...core.errors import InvalidInput, NoRoute, NotFound
from ...core.messages import numbers
from ...core.messages.messages import MAX_BODY, Draft
from ...core.routing import plan as routing
from ...core.service import Core, Unit
from ...http import fits_int64
from . import dates
from .errors import Sg24Error
from .params import Params

MAX_RECIPIENTS = 10_000
MAX_CUSTOMER_ID = 64


def shown_number(part: str) -> str:
    """What the user meant to send: a GET query turns ``+49…`` into `` 49…``."""
    text = part.strip()
    if part[:1] == " " and text[:1].isdigit() and not text.startswith("0"):
        return "+" + text
    return text


def number_text(part: str) -> str:
    """The text to normalise: a leading space is a lost ``+`` unless a national ``0`` follows."""
    return part.strip() if part.strip().startswith("0") else part


class Orders:
    """Checks send fields for one account; without a ``unit``, devices come from ``core``'s cache."""

    def __init__(self, unit: Unit | None, account: Account, *, core: Core | None = None) -> None:
        self.unit = unit
        self.core = core
        self.account = account
        self._devices: dict[int, Device] = {}
        self._numbers: dict[str, str] = {}
        self._times: dict[str, datetime] = {}

    async def device(self, p: Params, *, required: bool = True) -> Device | None:
        """The account's device named by ``device_id`` (another account's is 'not found')."""
        raw = p.stripped("device_id")
        if raw is None:
            if required:
                raise Sg24Error("Field device_id is required")
            return None
        try:
            device_id = int(raw)
        except ValueError:
            raise Sg24Error("Device not found") from None
        if not fits_int64(device_id):
            raise Sg24Error("Device not found")
        device = self._devices.get(device_id)
        if device is None:
            try:
                if self.unit is not None:
                    device = await devices_mod.get(self.unit, self.account.id, device_id)
                else:
                    assert self.core is not None
                    device = await devices_mod.get_cached(self.core, self.account.id, device_id)
            except NotFound:
                raise Sg24Error("Device not found") from None
            self._devices[device_id] = device
        return device

    async def slot(self, p: Params, device: Device | None) -> tuple[int, bool]:
        """The ``sim`` slot, and whether a route of the account serves it instead of the phone."""
        sim = p.integer("sim", "Wrong sim value (0-5)")
        sim = 0 if sim is None else sim
        if sim not in SLOT_CHANNELS:
            raise Sg24Error("Wrong sim value (0-5)")
        core = self.core or (self.unit.core if self.unit is not None else None)
        assert core is not None
        if await routing.slot_routed(core, self.account.id, sim):
            return sim, True
        if device is not None and not device.has_slot(sim):
            raise Sg24Error(f"Device has no sim slot {sim}")
        return sim, False

    def number(self, part: str) -> str:
        e164 = self._numbers.get(part)
        if e164 is None:
            try:
                e164 = numbers.normalise(number_text(part), self.account.country)
            except InvalidInput:
                raise Sg24Error(f"Wrong phone number {shown_number(part)}") from None
            self._numbers[part] = e164
        return e164

    def send_time(self, p: Params) -> datetime | None:
        text = p.stripped("timetosend")
        if text is None or text == "0":
            return None
        at = self._times.get(text)
        if at is None:
            try:
                at = dates.parse(text, self.account.zone).at
            except ValueError:
                raise Sg24Error("Wrong timetosend format") from None
            self._times[text] = at
        return at

    async def opted_out(self, recipients: list[str]) -> set[str]:
        """Which recipients the account's ``optout_policy`` refuses (none by default, without a query)."""
        if optouts.policy(self.account) != "all":
            return set()
        if self.unit is not None:
            return await optouts.refused(self.unit, self.account, recipients)
        assert self.core is not None
        async with self.core.reader() as unit:
            return await optouts.refused(unit, self.account, recipients)

    async def drafts(
        self, p: Params, *, body: str | None = None, media_url: str | None = None, check_optouts: bool = True
    ) -> list[Draft]:
        """One draft per distinct recipient of ``sendto``; ``body`` replaces the field (an upload).

        ``check_optouts``: refuse an opted-out recipient here (``addalotofsms`` checks its
        items together instead).
        """
        sendto = p.text("sendto")
        if sendto is None:
            raise Sg24Error("Field sendto is required")
        if body is None:
            body = p.text("body")
            if body is None:
                raise Sg24Error("Field body is required")
        if len(body) > MAX_BODY:
            raise Sg24Error(f"Message body longer than {MAX_BODY} characters")
        device = await self.device(p)
        slot, routed = await self.slot(p, device)
        due_at = self.send_time(p)
        customer_id = p.stripped("customerid")
        if customer_id is not None and len(customer_id) > MAX_CUSTOMER_ID:
            raise Sg24Error(f"customerid longer than {MAX_CUSTOMER_ID} characters")
        urgent = p.flag("urgent")
        channel = SLOT_CHANNELS[slot]
        parts = [part for part in sendto.split(",") if part.strip()]
        if not parts:
            raise Sg24Error("Field sendto is required")
        if len(parts) > MAX_RECIPIENTS:
            raise Sg24Error(f"Too many recipients (at most {MAX_RECIPIENTS})")
        seen: set[str] = set()
        drafts = []
        for part in parts:
            e164 = self.number(part)
            if e164 in seen:
                continue
            seen.add(e164)
            drafts.append(
                Draft(
                    recipient=e164,
                    recipient_raw=shown_number(part)[:128],
                    body=body,
                    channel=channel,
                    device_id=device.id if device else None,
                    slot=slot,
                    media_url=media_url if channel == "whatsapp" else None,
                    urgent=urgent,
                    due_at=due_at,
                    customer_id=customer_id,
                )
            )
        if check_optouts and await self.opted_out([d.recipient for d in drafts]):
            raise Sg24Error(optouts.REFUSAL)
        if routed:
            await self.route_slot(slot, drafts)
        return drafts

    async def route_slot(self, slot: int, drafts: list[Draft]) -> None:
        """Drafts for a slot a route serves go to its connectors, not to the phone."""
        core = self.core or (self.unit.core if self.unit is not None else None)
        assert core is not None
        wants = [routing.Want(d.channel, d.recipient, d.urgent) for d in drafts]
        try:
            targets = await routing.for_slot(core, self.account.id, slot, wants)
        except NoRoute as exc:
            raise Sg24Error(str(exc)) from None
        for draft, target in zip(drafts, targets):
            draft.device_id, draft.slot, draft.connector_id = None, target.slot, target.connector_id
            draft.fallback = target.fallback
