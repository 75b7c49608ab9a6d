"""The v3 SMS API: ``/api/v3/sendsms/plain``, ``/api/v3/sendsms/group``, ``/api/command``.

Parameters come in the query string, a form or multipart body (GET or POST); answers
are XML unless ``output=json``, always HTTP 200, with the seed's status codes.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError

from ...core.accounts import accounts, billing
from ...core.accounts.accounts import Account
from ...core.clock import utcnow
from ...core.contacts import campaigns, contacts, optouts
from ...core.errors import AuthError, CreditExpired, DomainError, InsufficientCredit, InvalidInput, NoRoute
from ...core.messages import messages, numbers, policy, references
from ...core.net import guard
from ...settings import Settings
from .bodies import Malformed, v3_params
from .render import DR_STATUS, plain_decimal, v3, xml

log = logging.getLogger("postino.nusasms")
router = APIRouter(tags=["NusaSMS SMS API (v3)"])

OK = "0"
SEND_ERROR = "-1"
NOT_ENOUGH_CREDITS = "-2"
NETWORK_NOTCOVERED = "-3"
INVALID_USER_OR_PASS = "-5"
MISSING_DESTINATION_ADDRESS = "-6"
BALANCE_EXPIRED = "-7"
REJECTED = "-10"
INVALID_DESTINATION_SYNTAX = "-11"
MISSING_MESSAGE = "-12"
INVALID_DESTINATION_ADDRESS = "-13"
SYNTAX_ERROR = "-22"
ERROR_PROCESSING = "-23"
COMMUNICATION_ERROR = "-26"
INVALID_SENDDATETIME = "-27"
INVALID_DELIVERY_REPORT_PUSH_URL = "-28"
INVALID_CLIENT_APPID = "-30"
DUPLICATE_MESSAGEID = "-33"
SENDER_NOT_ALLOWED = "-34"
IP_ADDRESS_FORBIDDEN = "-40"
GROUP_MISSING = "-55"
SPAM_PATTERN = "-77"
LIMIT_REACHED = "-78"
REJECTED_ROUTE = "-88"
GENERAL_ERROR = "-99"

POLICY_STATUS = {
    "ip_forbidden": IP_ADDRESS_FORBIDDEN,
    "app_id": INVALID_CLIENT_APPID,
    "sender_not_allowed": SENDER_NOT_ALLOWED,
    "otp_route": REJECTED,
    "not_covered": NETWORK_NOTCOVERED,
    "spam": SPAM_PATTERN,
    "destination_limit": LIMIT_REACHED,
    "duplicate_id": DUPLICATE_MESSAGEID,
}
TRUE = {"1", "true", "y", "yes"}
FALSE = {"", "0", "false", "n", "no"}
MAX_SCHEDULE_AHEAD = timedelta(days=365)
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")


def _get_and_post(path: str, summary: str, operation: str) -> Callable:
    """Mount one handler for GET and POST with distinct OpenAPI operation ids."""

    def mount(fn: Callable) -> Callable:
        router.add_api_route(path, fn, methods=["GET"], summary=summary, operation_id=f"{operation}_get")
        router.add_api_route(path, fn, methods=["POST"], summary=summary, operation_id=f"{operation}_post")
        return fn

    return mount


class Refusal(Exception):
    """A whole request refused with one status code."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def _flag(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise Refusal(SYNTAX_ERROR)


def _output(params: dict[str, str]) -> str:
    return "json" if params.get("output", "").strip().lower() == "json" else "xml"


def _senddatetime(params: dict[str, str], account: Account) -> datetime | None:
    raw = params.get("senddatetime", "").strip()
    if not raw:
        return None
    for fmt in DATETIME_FORMATS:
        try:
            when = datetime.strptime(raw, fmt).replace(tzinfo=account.zone)
            break
        except ValueError:
            continue
    else:
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise Refusal(INVALID_SENDDATETIME) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=account.zone)
    if when > utcnow() + MAX_SCHEDULE_AHEAD:
        raise Refusal(INVALID_SENDDATETIME)
    return when


async def _push_url(params: dict[str, str], account: Account, settings: Settings) -> str | None:
    url = params.get("pushurl", "").strip()
    if url:
        try:
            return await guard.check_callback(url, settings)
        except guard.BlockedURL:
            raise Refusal(INVALID_DELIVERY_REPORT_PUSH_URL) from None
    return account.settings.get("push_url") or None


async def _authenticate(request: Request, params: dict[str, str]) -> Account:
    user = params.get("user") or params.get("username") or ""
    password = params.get("password", "")
    try:
        async with request.app.state.core.reader() as unit:
            account = await accounts.authenticate(unit, user, password)
    except AuthError:
        raise Refusal(INVALID_USER_OR_PASS) from None
    try:
        policy.check_client_ip(account, request.client.host if request.client else None)
    except policy.PolicyViolation as exc:
        raise Refusal(POLICY_STATUS[exc.rule]) from None
    return account


def _status_of(exc: BaseException) -> str:
    """A failure while accepting, as a v3 status."""
    if isinstance(exc, Refusal):
        return exc.status
    if isinstance(exc, policy.PolicyViolation):
        return POLICY_STATUS[exc.rule]
    if isinstance(exc, InsufficientCredit):
        return NOT_ENOUGH_CREDITS
    if isinstance(exc, CreditExpired):
        return BALANCE_EXPIRED
    if isinstance(exc, NoRoute):
        return REJECTED_ROUTE
    if isinstance(exc, DomainError):
        return ERROR_PROCESSING
    if isinstance(exc, DBAPIError):
        log.warning("v3 request failed talking to the database: %s", type(exc).__name__)
        return COMMUNICATION_ERROR
    log.exception("v3 request failed", exc_info=exc)
    return GENERAL_ERROR


async def _guarded(output: str, fail: Callable[[str], list[dict[str, str]]], work: Callable[[], Awaitable[Response]]) -> Response:
    try:
        return await work()
    except Exception as exc:  # noqa: BLE001 - every failure becomes a status code, never a 500
        return v3(fail(_status_of(exc)), output)


# --- sendsms/plain --------------------------------------------------------------------


def _split_gsm(raw: str) -> list[str]:
    return [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]


def _parse_destination(raw: str, account: Account) -> tuple[str | None, str]:
    """(E.164 or None, status): -11 for what is not a number at all, -13 for an unknown one."""
    cleaned = raw.replace(" ", "").replace("-", "")
    if not cleaned.lstrip("+").isdigit():
        return None, INVALID_DESTINATION_SYNTAX
    try:
        return numbers.normalise(cleaned, account.country), OK
    except InvalidInput:
        return None, INVALID_DESTINATION_ADDRESS


@_get_and_post("/api/v3/sendsms/plain", "Send Plain", "nusasms_sendsms_plain")
async def send_plain(request: Request) -> Response:
    try:
        params = await v3_params(request)
    except Malformed:
        return v3([{"status": SYNTAX_ERROR, "messageid": "", "destination": ""}], "xml")
    output = _output(params)
    raw_numbers = _split_gsm(params.get("gsm", ""))

    def fail(status: str) -> list[dict[str, str]]:
        return [{"status": status, "messageid": "", "destination": n} for n in (raw_numbers or [""])]

    return await _guarded(output, fail, lambda: _plain(request, params, raw_numbers, output))


async def _plain(request: Request, params: dict[str, str], raw_numbers: list[str], output: str) -> Response:
    account = await _authenticate(request, params)
    text = params.get("smstext", "")
    force_unicode = _flag(params, "unicode")
    otp = _flag(params, "otp")
    due_at = _senddatetime(params, account)
    push_url = await _push_url(params, account, request.app.state.core.settings)
    policy.check_app_id(account, params.get("appid", "").strip() or None)
    sender = params.get("sender", "").strip()
    policy.check_sender(account, sender or None)
    client_id = params.get("messageid", "").strip()[:64] or None
    if not raw_numbers:
        raise Refusal(MISSING_DESTINATION_ADDRESS)
    if not text:
        raise Refusal(MISSING_MESSAGE)
    policy.check_otp(account, text, otp=otp)

    results: list[dict[str, str]] = []
    drafts: list[tuple[int, messages.Draft]] = []
    extra = {"report_url": push_url, "report_format": "nusasms"} if push_url else None
    core = request.app.state.core
    async with core.unit() as unit:
        seen: set[str] = set()
        for raw in raw_numbers:
            e164, status = _parse_destination(raw, account)
            result = {"status": status, "messageid": "", "destination": numbers.digits(e164) if e164 else raw}
            results.append(result)
            if e164 is None:
                continue
            try:
                await policy.check_destination(unit, account, e164, text)
                if client_id:
                    if seen:
                        raise policy.PolicyViolation("duplicate_id", "Duplicate message id")
                    await policy.check_customer_id(unit, account, client_id)
            except policy.PolicyViolation as exc:
                result["status"] = POLICY_STATUS[exc.rule]
                continue
            seen.add(e164)
            drafts.append(
                (
                    len(results) - 1,
                    messages.Draft(
                        recipient=e164, recipient_raw=raw, body=text, sender=sender, urgent=otp,
                        force_unicode=force_unicode, due_at=due_at, customer_id=client_id,
                        extra=dict(extra) if extra else None,
                    ),
                )
            )  # fmt: skip
        refused = await optouts.refused(unit, account, [d.recipient for _, d in drafts])
        if refused:  # the account refuses single sends to opted-out numbers (optout_policy "all")
            for index, draft in drafts:
                if draft.recipient in refused:
                    results[index]["status"] = REJECTED
            drafts = [(index, draft) for index, draft in drafts if draft.recipient not in refused]
        if drafts:
            accepted = await messages.submit(unit, account, [d for _, d in drafts])
            for (index, _draft), message_id in zip(drafts, accepted.ids):
                results[index]["messageid"] = client_id or str(message_id)
    return v3(results, output)


# --- sendsms/group --------------------------------------------------------------------


def _campaign_name(batch_id: int | None) -> str:
    return f"Group-Api-Campaign-{secrets.token_hex(4)[:7]}-{batch_id or 0}"


@_get_and_post("/api/v3/sendsms/group", "Send Group", "nusasms_sendsms_group")
async def send_group(request: Request) -> Response:
    try:
        params = await v3_params(request)
    except Malformed:
        return v3([{"status": SYNTAX_ERROR, "campaign_name": "", "group": ""}], "xml")
    output = _output(params)
    group = params.get("group", "").strip()

    def fail(status: str) -> list[dict[str, str]]:
        return [{"status": status, "campaign_name": _campaign_name(None), "group": group}]

    return await _guarded(output, fail, lambda: _group(request, params, group, output))


async def _group(request: Request, params: dict[str, str], group: str, output: str) -> Response:
    account = await _authenticate(request, params)
    text = params.get("smstext", "")
    force_unicode = _flag(params, "unicode")
    otp = _flag(params, "otp")
    push_url = await _push_url(params, account, request.app.state.core.settings)
    policy.check_app_id(account, params.get("appid", "").strip() or None)
    sender = params.get("sender", "").strip()
    policy.check_sender(account, sender or None)
    if not text:
        raise Refusal(MISSING_MESSAGE)
    if not group:
        raise Refusal(GROUP_MISSING)
    policy.check_otp(account, text, otp=otp)
    extra = {"report_url": push_url, "report_format": "nusasms"} if push_url else {}
    async with request.app.state.core.unit() as unit:
        tag = await contacts.find_tag_by_title(unit, account.id, group)
        if tag is None or not await contacts.count_contacts_of_tags(unit, account.id, [tag.id]):
            raise Refusal(GROUP_MISSING)
        # A campaign that starts now: its numbers are written a page at a time (opted-out ones skipped).
        campaign, _woken = await campaigns.create_campaign(
            unit, account.id, title=group, body=text, tag_ids=[tag.id], device_id=None,
            options={"sender": sender, "urgent": otp, "force_unicode": force_unicode, "extra": extra},
        )  # fmt: skip
        name = _campaign_name(campaign.batch_id)
    return v3([{"status": OK, "campaign_name": name, "group": group}], output)


# --- command --------------------------------------------------------------------------


@_get_and_post("/api/command", "Command", "nusasms_command")
async def command(request: Request) -> Response:
    try:
        params = await v3_params(request)
    except Malformed:
        return v3([{"status": SYNTAX_ERROR}], "xml")
    output = _output(params)
    cmd = params.get("cmd", "").strip().upper()
    if cmd == "CREDITS":
        kind = params.get("type", "sms").strip().lower() or "sms"

        def credits_fail(status: str) -> list[dict[str, str]]:
            return [{"status": status, "value": "", "expiredDate": "", "type": kind}]

        async def credits() -> Response:
            account = await _authenticate(request, params)
            if kind not in billing.PRODUCTS:
                raise Refusal(SYNTAX_ERROR)
            async with request.app.state.core.reader() as unit:
                found = await billing.balance(unit, account.id, kind)
            expired = found.expires_at.strftime("%Y-%m-%d") if found.expires_at else ""
            return _credits([{"status": OK, "value": plain_decimal(found.amount), "expiredDate": expired, "type": kind}], output)

        try:
            return await credits()
        except Exception as exc:  # noqa: BLE001
            return _credits(credits_fail(_status_of(exc)), output)

    ref = params.get("ref_no", "").strip()

    def dr_fail(status: str) -> list[dict[str, str]]:
        return [{"status": status, "messageid": ref, "destination": "", "dr_status": ""}]

    async def dr() -> Response:
        account = await _authenticate(request, params)
        if cmd != "DR":
            raise Refusal(SYNTAX_ERROR)
        async with request.app.state.core.reader() as unit:
            row = await references.find(unit, account.id, ref)
        if row is None or row.direction != "out":
            raise Refusal(SEND_ERROR)
        shown = numbers.digits(row.recipient) if row.recipient.startswith("+") else row.recipient
        result = {"status": OK, "messageid": row.customer_id or str(row.id), "destination": shown,
                  "dr_status": DR_STATUS.get(row.state, "FAILED")}  # fmt: skip
        return v3([result], output)

    return await _guarded(output, dr_fail, dr)


def _credits(results: list[dict[str, Any]], output: str) -> Response:
    """CREDITS answers one flat object in JSON (what integrations read), ``results`` in XML."""
    if output == "json":
        return JSONResponse(results[0])
    return xml(results)
