"""``/dashboard/send``: one text to numbers or a list, through a phone's slot or the routes.

The drafts are built as a dialect builds them (numbers normalised for the account's
country, the account's opt-out policy applied) and handed to ``messages.submit`` in one
unit of work: every number is checked before anything is written, so a bad one writes
nothing. The counter under the text is a fragment the page asks for as one types.
"""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from ...core.accounts import accounts
from ...core.accounts.accounts import Account
from ...core.contacts import contacts, lists, optouts
from ...core.devices import devices
from ...core.errors import DomainError, InvalidInput, NotFound
from ...core.messages import messages, numbers
from ...core.messages.segments import count as count_segments
from ...core.service import Unit
from .. import forms
from ..sessions import SignedIn, Viewer, core_of
from ..templating import page

router = APIRouter()

MAX_RECIPIENTS = 1000
"""More than this is a campaign's work (streamed, paced, pausable), not one send's."""
SPLIT = re.compile(r"[,;\n]+")
CHANNELS = ("sms", "whatsapp")


def split_numbers(text: str) -> list[str]:
    return [part.strip() for part in SPLIT.split(text or "") if part.strip()]


async def _choices(unit: Unit, viewer: Viewer) -> dict:
    found, _ = await lists.page(unit, viewer.account_id, limit=200)
    phones = await devices.list_for(unit, viewer.account_id)
    return {"lists": found, "phones": phones}


@router.get("/dashboard/send")
async def send_page(request: Request, viewer: SignedIn) -> Response:
    async with core_of(request).reader() as unit:
        choices = await _choices(unit, viewer)
    return page(request, viewer, "send.html", values={}, error="", **choices)


def counter(account: Account, body: str, channel: str, recipients: int) -> dict:
    """What the text costs: encoding, parts, price per message and for every recipient."""
    draft = messages.Draft(recipient="", body=body, channel=channel if channel in CHANNELS else "sms")
    priced = messages.price_of(account, draft)
    parts = count_segments(body)
    return {
        "chars": len(body), "encoding": priced.encoding, "parts": priced.segments, "remaining": parts.remaining,
        "price": priced.price, "product": priced.product, "recipients": recipients,
        "total": priced.price * Decimal(max(recipients, 1)),
    }  # fmt: skip


@router.post("/dashboard/send/count")
async def count(request: Request, viewer: SignedIn) -> Response:
    form = await forms.read(request)
    body = str(form.get("body") or "")[: messages.MAX_BODY]
    async with core_of(request).reader() as unit:
        account = await accounts.get(unit, viewer.account_id)
    recipients = len(split_numbers(str(form.get("numbers") or "")))
    return page(request, viewer, "send_counter.html", c=counter(account, body, str(form.get("channel") or "sms"), recipients))


async def _target(unit: Unit, viewer: Viewer, form: FormData) -> tuple[int | None, int | None, str]:
    """(device id, slot, channel) from the form's "through" choice: ``routes`` or ``<device>:<slot>``."""
    through = forms.text(form, "through", max_length=40) or "routes"
    channel = forms.text(form, "channel", max_length=16) or "sms"
    if channel not in CHANNELS:
        raise forms.FormError("Unknown channel", field="channel")
    if through == "routes":
        return None, None, channel
    device_text, _, slot_text = through.partition(":")
    if not device_text.isdigit() or not slot_text.isdigit() or len(device_text) > 18:
        raise forms.FormError("Choose a phone and slot, or the routes", field="through")
    try:
        device = await devices.get(unit, viewer.account_id, int(device_text))
    except NotFound:
        raise forms.FormError("Choose a phone and slot, or the routes", field="through") from None
    slot = int(slot_text)
    if not device.has_slot(slot):
        raise forms.FormError(f"That phone has no slot {slot}", field="through")
    return device.id, slot, devices.SLOT_CHANNELS[slot]


async def _recipients(unit: Unit, viewer: Viewer, account: Account, form: FormData) -> list[tuple[str, str]]:
    """(E.164, as written) for every recipient, numbers first, then the list's contacts; duplicates once."""
    raw = split_numbers(forms.text(form, "numbers", max_length=100_000))
    list_id = forms.number(form, "list_id", low=1)
    found: list[tuple[str, str]] = []
    for part in raw:
        try:
            found.append((numbers.normalise(part, account.country), part))
        except InvalidInput:
            raise forms.FormError(f"Not a phone number: {part[:40]}", field="numbers") from None
    if list_id is not None:
        try:
            await lists.get_tag(unit, viewer.account_id, list_id)
        except NotFound:
            raise forms.FormError("Unknown list", field="list_id") from None
        after = 0
        while len(found) <= MAX_RECIPIENTS:
            rows = await contacts.contacts_of_tags(unit, viewer.account_id, [list_id], after=after)
            if not rows:
                break
            found.extend((r.phone, r.phone) for r in rows)
            after = rows[-1].id
    unique = list(dict((e164, (e164, shown)) for e164, shown in found).values())
    if not unique:
        raise forms.FormError("Give at least one number, or choose a list", field="numbers")
    if len(unique) > MAX_RECIPIENTS:
        raise forms.FormError(f"At most {MAX_RECIPIENTS} recipients per send: use a campaign for more", field="numbers")
    return unique


@router.post("/dashboard/send")
async def send(request: Request, viewer: SignedIn) -> Response:
    form = await forms.read(request)
    core = core_of(request)
    try:
        async with core.unit() as unit:
            account = await accounts.get(unit, viewer.account_id)
            body = forms.text(form, "body", max_length=messages.MAX_BODY, required="Write the text to send")
            device_id, slot, channel = await _target(unit, viewer, form)
            recipients = await _recipients(unit, viewer, account, form)
            due_at = forms.local_time(form, "at", viewer.timezone)
            await optouts.refuse(unit, account, [e164 for e164, _ in recipients])
            drafts = [
                messages.Draft(recipient=e164, recipient_raw=shown[:128], body=body, channel=channel,
                               device_id=device_id, slot=slot, urgent=forms.flag(form, "urgent"), due_at=due_at)
                for e164, shown in recipients
            ]  # fmt: skip
            accepted = await messages.submit(unit, account, drafts)
    except DomainError as exc:
        async with core.reader() as unit:
            choices = await _choices(unit, viewer)
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        return page(request, viewer, "send.html", status_code=422, values=values, error=forms.message_of(exc), **choices)
    return RedirectResponse(f"/dashboard/messages?sent={len(accepted.ids)}", status_code=303)
