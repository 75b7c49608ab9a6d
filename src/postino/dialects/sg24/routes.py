"""``/getdata/<method>``: every SmsGateway24 method, over GET and POST.

Each handler reads the fields (``params``), asks core, and answers the provider's JSON
with HTTP 200, errors included (``{"error":1,"message":…}``); only an unknown method is
a 404. Handlers get plain ``Params`` rather than pydantic models: ``addsms`` is the hot
path, and the OpenAPI document is written from ``docs.METHODS`` instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from ...core.accounts import accounts, credentials
from ...core.accounts.accounts import Account
from ...core.clock import utcnow
from ...core.contacts import campaigns
from ...core.contacts import contacts as contacts_mod
from ...core.contacts import optouts
from ...core.devices import devices as devices_mod
from ...core.errors import AuthError, DomainError, NotFound
from ...core.messages import history, messages
from ...core.net import media
from ...core.service import Core, Unit
from ...http import Problem, fits_int64
from ...http_paths import PathRouter
from . import dates, docs, render
from .errors import LOGIN_WRONG, SAVED, TOKEN_WRONG, UNKNOWN_METHOD, Sg24Error
from .orders import Orders, number_text
from .params import Params, read

router = PathRouter(tags=["SmsGateway24"], paths=["/getdata"])

Handler = Callable[[Core, Params], Awaitable[dict[str, Any]]]
HANDLERS: dict[str, Handler] = {}

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
MAX_IMAGE = 5 * 1024 * 1024
MAX_BULK = 10_000
DEFAULT_PAGE = 1000


class Answer(Response):
    """SmsGateway24 answers: JSON via orjson, HTTP 200 unless told otherwise."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _answer(body: dict[str, Any]) -> Answer:
    return Answer(body)


async def _run(handler: Handler, request: Request) -> Answer:
    try:
        params = await read(request)
    except Sg24Error as exc:
        return _answer({"error": 1, "message": exc.message})
    return _answer(await answer(handler, request.app.state.core, params))


async def answer(handler: Handler, core: Core, params: Params) -> dict[str, Any]:
    """The handler's answer, or SmsGateway24's error shape for a refused request."""
    try:
        return await handler(core, params)
    except (Sg24Error, DomainError) as exc:
        return {"error": 1, "message": exc.message}


def method(name: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` as ``/getdata/<name>`` for GET and POST, documented from ``docs``."""

    def register(handler: Handler) -> Handler:
        HANDLERS[name] = handler

        async def endpoint(request: Request) -> Answer:
            return await _run(handler, request)

        doc = docs.METHODS[name]
        for verb in ("GET", "POST"):
            router.add_api_route(
                f"/getdata/{name}",
                endpoint,
                methods=[verb],
                name=f"sg24_{name}_{verb.lower()}",
                operation_id=f"sg24_{name}_{verb.lower()}",
                summary=doc.summary,
                description=doc.description,
                response_class=Answer,
                openapi_extra=docs.openapi(name, verb),
            )
        return handler

    return register


# --- authentication ---------------------------------------------------------------------


async def _by_token(unit: Unit, p: Params) -> Account:
    try:
        credential = await credentials.resolve(unit, p.stripped("token"), ("sg24",))
    except AuthError:
        raise Sg24Error(TOKEN_WRONG) from None
    return await accounts.get(unit, credential.account_id)


async def _by_token_cached(core: Core, token: str | None) -> tuple[Account, int]:
    """The hot path's lookup: cached credential and account; the write checks the token again."""
    try:
        credential = await credentials.resolve_cached(core, token, ("sg24",))
        return await accounts.get_cached(core, credential.account_id), credential.id
    except (AuthError, NotFound):
        raise Sg24Error(TOKEN_WRONG) from None


async def _accept(core: Core, account: Account, drafts: list, credential_id: int, **kwargs: Any) -> messages.Accepted:
    try:
        return await messages.accept(core, account, drafts, credential_id=credential_id, **kwargs)
    except AuthError:  # revoked or expired since it was cached
        raise Sg24Error(TOKEN_WRONG) from None


async def _by_login(unit: Unit, p: Params) -> Account:
    try:
        return await accounts.authenticate(unit, p.stripped("email") or "", p.stripped("pass") or "")
    except AuthError:
        raise Sg24Error(LOGIN_WRONG) from None


# --- methods ----------------------------------------------------------------------------


@method("gettoken")
async def gettoken(core: Core, p: Params) -> dict[str, Any]:
    async with core.reader() as unit:
        account = await _by_login(unit, p)
    lifetime = account.settings.get("sg24_token_lifetime_seconds")
    expires_at = utcnow() + timedelta(seconds=int(lifetime)) if lifetime else None
    async with core.unit() as unit:
        issued = await credentials.issue(unit, account.id, "sg24", name="gettoken", expires_at=expires_at)
    return {"error": 0, "message": "OK", "token": issued.secret}


async def _upload(p: Params) -> tuple[bytes, str] | None:
    upload = p.files.get("file")
    if not isinstance(upload, UploadFile):
        return None
    data = await upload.read(MAX_IMAGE + 1)
    if not data and not upload.filename:
        return None
    return data, upload.filename or ""


async def _send(unit: Unit, account: Account, p: Params) -> dict[str, Any]:
    upload = await _upload(p)
    orders = Orders(unit, account)
    drafts = await orders.drafts(p, body="" if upload else None)
    if upload is None:
        accepted = await messages.submit(unit, account, drafts)
        return {"error": 0, "sms_id": accepted.ids[0], "message": SAVED, "sms_ids": accepted.ids}
    # The file is stored only once every field has been checked, and removed if core refuses.
    data, file_name = upload
    stored = await media.store(unit, account.id, data, allowed=IMAGE_TYPES, max_bytes=MAX_IMAGE, file_name=file_name)
    for draft in drafts:
        draft.body = stored.url
        draft.media_url = stored.url if draft.channel == "whatsapp" else None
    try:
        accepted = await messages.submit(unit, account, drafts)
    except DomainError:
        media.media_path(unit, stored.id).unlink(missing_ok=True)
        raise
    return {"error": 0, "sms_id": accepted.ids[0], "message": SAVED, "sms_ids": accepted.ids}


@method("addsms")
async def addsms(core: Core, p: Params) -> dict[str, Any]:
    """The hot path: cached look-ups, then one group-committed write (see ``db.writer``)."""
    if isinstance(p.files.get("file"), UploadFile):
        async with core.unit() as unit:
            return await _send(unit, await _by_token(unit, p), p)
    account, credential_id = await _by_token_cached(core, p.stripped("token"))
    drafts = await Orders(None, account, core=core).drafts(p)
    accepted = await _accept(core, account, drafts, credential_id)
    return {"error": 0, "sms_id": accepted.ids[0], "message": SAVED, "sms_ids": accepted.ids}


@method("smstosend")
async def smstosend(core: Core, p: Params) -> dict[str, Any]:
    """Login-and-send; integrations also call it with a ``token`` (tried first)."""
    account: Account | None = None
    if p.stripped("token"):
        async with core.reader() as unit:
            try:
                account = await _by_token(unit, p)
            except Sg24Error:
                if not p.stripped("email"):
                    raise
    if account is None:
        async with core.reader() as unit:
            account = await _by_login(unit, p)
    async with core.unit() as unit:
        return await _send(unit, account, p)


async def _datajson(p: Params) -> dict[str, Any]:
    """``datajson`` as a field (text or uploaded part), or the JSON body itself."""
    raw: Any = p.raw("datajson")
    upload = p.files.get("datajson")
    if isinstance(upload, UploadFile):
        raw = await upload.read()
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if isinstance(p.raw("smsdata"), list):
            return {"token": p.raw("token"), "smsdata": p.raw("smsdata")}
        raise Sg24Error("Field datajson is required")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise Sg24Error("datajson is not valid JSON") from None
    if not isinstance(data, dict):
        raise Sg24Error("datajson must be a JSON object")
    return data


@method("addalotofsms")
async def addalotofsms(core: Core, p: Params) -> dict[str, Any]:
    """All or nothing: every item is checked before anything is stored."""
    data = await _datajson(p)
    token = data.get("token") or p.stripped("token")
    items = data.get("smsdata")
    if not isinstance(items, list) or not items:
        raise Sg24Error("Field smsdata is required (a list of messages)")
    if len(items) > MAX_BULK:
        raise Sg24Error(f"Too many messages in smsdata (at most {MAX_BULK})")
    account, credential_id = await _by_token_cached(core, Params({"token": token}).stripped("token"))
    orders = Orders(None, account, core=core)
    drafts = []
    owners: list[int] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise Sg24Error(f"smsdata[{index}]: not an object")
        try:
            found = await orders.drafts(Params.of(item), check_optouts=False)
        except (Sg24Error, DomainError) as exc:
            raise Sg24Error(f"smsdata[{index}]: {exc.message}") from None
        drafts.extend(found)
        owners.extend([index] * len(found))
    refused = await orders.opted_out([d.recipient for d in drafts])
    if refused:
        first = next(owner for owner, d in zip(owners, drafts) if d.recipient in refused)
        raise Sg24Error(f"smsdata[{first}]: {optouts.REFUSAL}")
    accepted = await _accept(core, account, drafts, credential_id, batch_kind="sg24_bulk")
    return {"error": 0, "message": "OK", "count": len(accepted.ids), "sms_ids": accepted.ids}


def _zone(p: Params, account: Account) -> ZoneInfo:
    name = p.stripped("timezone")
    if name is None:
        return account.zone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" (a folder), a name too long
        raise Sg24Error("Wrong timezone") from None


def _bound(p: Params, name: str, zone: ZoneInfo) -> dates.Moment | None:
    text = p.stripped(name)
    if text is None:
        return None
    try:
        return dates.parse(text, zone)
    except ValueError:
        raise Sg24Error(f"Wrong {name} format") from None


async def _history_account(core: Core, unit: Unit, p: Params) -> Account:
    """The token's account for a history read.

    The credential is read from the database every time, so a token revoked anywhere is
    refused at once; the account (its time zone) comes from the 2-second cache, as on
    the accept path. One query per request instead of two.
    """
    try:
        credential = await credentials.resolve(unit, p.stripped("token"), ("sg24",))
    except AuthError:
        raise Sg24Error(TOKEN_WRONG) from None
    return await accounts.get_cached(core, credential.account_id)


@method("getallsms")
async def getallsms(core: Core, p: Params) -> dict[str, Any]:
    async with core.reader() as unit:
        account = await _history_account(core, unit, p)
        zone = _zone(p, account)
        # The device only names a filter: the 2-second device cache is enough for that.
        orders = Orders(None, account, core=core)
        device = await orders.device(p, required=False)
        status = p.integer("status", "Wrong status")
        sim = p.integer("sim", "Wrong sim value (0-5)")
        if sim is not None and sim not in devices_mod.SLOT_CHANNELS:
            raise Sg24Error("Wrong sim value (0-5)")
        phone = p.stripped("phone")
        begin, end = _bound(p, "begindate", zone), _bound(p, "enddate", zone)
        limit = p.integer("limit", "Wrong limit")
        offset = p.integer("offset", "Wrong offset") or 0
        if limit is None:
            limit = DEFAULT_PAGE
        if limit < 0 or offset < 0:
            raise Sg24Error("limit and offset must not be negative")
        flt = history.Filter(
            device_id=device.id if device else None,
            states=render.status_matches(status) if status is not None else None,
            slot=sim,
            customer_id=p.stripped("customerid"),
            phone=_phone_filter(orders, phone) if phone else None,
            created_from=begin.at if begin else None,
            created_before=end.end() if end else None,
        )
        if p.flag("onlycount"):
            return {"error": 0, "message": "OK", "count": await history.count(unit, account.id, flt)}
        page = await history.search(
            unit,
            account.id,
            flt,
            newest_first=p.flag("orderbydesc"),
            limit=min(limit, history.MAX_PAGE),
            offset=offset,
            columns=render.SMS_COLUMNS,
            naive_times=True,
        )
    return {
        "error": 0,
        "message": "OK",
        "count": page.total,
        "smss": render.smss(page.rows, zone),
    }


def _phone_filter(orders: Orders, phone: str) -> str:
    """The number in E.164; a filter that is no phone number matches nothing."""
    try:
        return orders.number(phone)
    except Sg24Error:
        return "+" + "".join(ch for ch in phone if ch.isdigit())


@method("savetag")
async def savetag(core: Core, p: Params) -> dict[str, Any]:
    async with core.unit() as unit:
        account = await _by_token(unit, p)
        tag = await contacts_mod.create_tag(unit, account.id, p.required("title"))
    return {"error": 0, "tag_id": tag.id, "message": "OK"}


@method("savecontact")
async def savecontact(core: Core, p: Params) -> dict[str, Any]:
    async with core.unit() as unit:
        account = await _by_token(unit, p)
        p.required("phone")
        # The documents name it ctag_id; the provider's own SDKs and examples send tag_id.
        tag_id = p.integer("ctag_id", "Tag not found")
        if tag_id is None:
            tag_id = p.integer("tag_id", "Tag not found")
        if tag_id is None:
            raise Sg24Error("Field ctag_id is required")
        fullname = p.required("fullname")
        contact = await contacts_mod.add_contact(
            unit, account.id, tag_id, number_text(p.text("phone") or ""), fullname
        )
    return {"error": 0, "contact_id": contact.id, "message": "ok"}


def _tag_ids(p: Params) -> list[int]:
    raw = p.raw("tags")
    items = raw if isinstance(raw, list) else (p.stripped("tags") or "").split(",")
    try:
        ids = [int(str(item).strip()) for item in items if str(item).strip()]
    except ValueError:
        raise Sg24Error("Wrong tags (tag ids separated by commas)") from None
    if not ids:
        raise Sg24Error("Field tags is required")
    if not all(fits_int64(i) for i in ids):
        raise Sg24Error("Tag not found")
    return ids


@method("savepaket")
async def savepaket(core: Core, p: Params) -> dict[str, Any]:
    async with core.unit() as unit:
        account = await _by_token(unit, p)
        title = p.required("title")
        orders = Orders(unit, account)
        device = await orders.device(p)
        body = p.text("body")
        if body is None:
            raise Sg24Error("Field body is required")
        tag_ids = _tag_ids(p)
        slot, routed = await orders.slot(p, device)
        when = p.stripped("time_to_send")
        send_at = None
        if when is not None and when != "0":
            try:
                send_at = dates.parse(when, account.zone, paket=True).at
            except ValueError:
                raise Sg24Error("Wrong time_to_send format") from None
        campaign, _woken = await campaigns.create_campaign(
            unit,
            account.id,
            title=title,
            body=body,
            tag_ids=tag_ids,
            device_id=device.id if device and not routed else None,  # a routed slot: the account's routes
            slot=slot,
            send_at=send_at,
        )
    return {
        "error": 0,
        "message": "OK",
        "paket_id": campaign.id,
        "paket": campaign.id,
        "contacts": campaign.contacts,
    }


@method("getalldevices")
async def getalldevices(core: Core, p: Params) -> dict[str, Any]:
    async with core.reader() as unit:
        account = await _by_token(unit, p)
        found = await devices_mod.list_for(unit, account.id)
    offline_after = core.settings.offline_after_seconds
    now = utcnow()
    return {
        "error": 0,
        "message": "OK",
        "count": len(found),
        "device": {str(d.id): render.device(d, d.online(offline_after, now)) for d in found},
    }


@method("getsmsstatus")
async def getsmsstatus(core: Core, p: Params) -> dict[str, Any]:
    async with core.reader() as unit:
        account = await _by_token(unit, p)
        sms_id = p.integer("sms_id", "Sms not found")
        if sms_id is None:
            raise Sg24Error("Field sms_id is required")
        try:
            row = await messages.get(unit, account.id, sms_id)
        except NotFound:
            raise Sg24Error("Sms not found") from None
    code = render.status(row.state, row.reason)
    return {
        "error": 0,
        "message": "OK",
        "sms_id": row.id,
        "status": code,
        "status_description": render.TITLES.get(code, "failed"),
    }


@method("getdevicestatus")
async def getdevicestatus(core: Core, p: Params) -> dict[str, Any]:
    async with core.reader() as unit:
        account = await _by_token(unit, p)
        device = await Orders(unit, account).device(p)
    assert device is not None
    now = utcnow()
    seen = device.last_seen
    return {
        "error": 0,
        "message": "OK",
        "device_id": device.id,
        "title": device.name,
        "online": device.online(core.settings.offline_after_seconds, now),
        "lastseen": render.php_date(seen, render.UTC),
        "diffseconds": int((now - seen).total_seconds()) if seen else None,
    }


# --- anything else under /getdata/ ------------------------------------------------------


def problem(p: Problem) -> Answer:
    """SmsGateway24's words for what no method answered: an unknown method (any path or
    verb it does not serve) is 404 ``Unknown method``; a crash is 500; the rest, like
    every refusal of the provider, HTTP 200 with ``error: 1``."""
    if p.status in (404, 405):
        return Answer({"error": 1, "message": UNKNOWN_METHOD}, status_code=404)
    if p.status >= 500:
        return Answer({"error": 1, "message": p.message}, status_code=p.status)
    return Answer({"error": 1, "message": p.message})


@router.api_route("/getdata/{name}", methods=["GET", "POST"], include_in_schema=False)
async def other(name: str, request: Request) -> Answer:
    """Method names in another case, or with a trailing slash, still work; others are 404."""
    handler = HANDLERS.get(name.strip("/").lower())
    if handler is None:
        return Answer({"error": 1, "message": UNKNOWN_METHOD}, status_code=404)
    return await _run(handler, request)


@router.api_route("/getdata/{name}/", methods=["GET", "POST"], include_in_schema=False)
async def other_slash(name: str, request: Request) -> Answer:
    return await other(name, request)
