"""Sending rules an account can switch on, checked before a message is accepted.

Each rule reads the account's settings JSON (set from the CLI or dashboard) and raises
``PolicyViolation`` with a stable ``code`` that dialects turn into their own status:

| code | account setting | rule |
|---|---|---|
| ``ip_forbidden`` | ``ip_allowlist`` (IPs / CIDRs) | the client address must be in it (when set) |
| ``app_id`` | ``app_ids`` | a given application id must be one of them (when set) |
| ``sender_not_allowed`` | ``sms_senders`` | alphanumeric <= 11 or numeric <= 16 characters; must be listed (when set) |
| ``otp_route`` | ``enforce_otp_route`` | a text that looks like a one-time code must be sent as OTP |
| ``not_covered`` | ``covered_prefixes`` (``+62``…) | the destination must start with one of them (when set) |
| ``spam`` | (always) | at most ``SPAM_IDENTICAL_PER_DAY`` identical texts to one recipient in 24 h |
| ``destination_limit`` | ``daily_limit_per_destination`` | at most that many messages to one recipient in 24 h |
| ``duplicate_id`` | (always) | a client message id is used once per account |
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta

from sqlalchemy import func, select

from ...db.tables import messages
from ..accounts.accounts import Account
from ..clock import utcnow
from ..errors import DomainError
from ..service import Unit

SPAM_IDENTICAL_PER_DAY = 10
DAY = timedelta(hours=24)

_OTP_CODE = re.compile(r"(?<![\d])\d{4,8}(?![\d])")
_OTP_WORDS = re.compile(
    r"\b(otp|code|kode|password|passcode|pin|verification|verifikasi|token|sandi)\b", re.IGNORECASE
)
_ALNUM_SENDER = re.compile(r"[A-Za-z0-9 .\-_&]{1,11}")
_NUMERIC_SENDER = re.compile(r"\+?\d{1,16}")


class PolicyViolation(DomainError):
    code = "policy"

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def looks_like_otp(text: str) -> bool:
    """A 4-8 digit code next to a word such as OTP, code, kode, password or PIN."""
    return bool(_OTP_CODE.search(text or "")) and bool(_OTP_WORDS.search(text or ""))


def check_client_ip(account: Account, ip: str | None) -> None:
    allow = account.settings.get("ip_allowlist") or []
    if not allow:
        return
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        raise PolicyViolation("ip_forbidden", "Client address unknown") from None
    for entry in allow:
        try:
            if address in ipaddress.ip_network(str(entry), strict=False):
                return
        except ValueError:
            continue
    raise PolicyViolation("ip_forbidden", f"Client address {ip} is not in the allow-list")


def check_app_id(account: Account, app_id: str | None) -> None:
    allowed = account.settings.get("app_ids") or []
    if app_id and allowed and app_id not in allowed:
        raise PolicyViolation("app_id", "Unknown application id")
    if app_id and not allowed:
        raise PolicyViolation("app_id", "The account has no application ids")


def check_sender(account: Account, sender: str | None) -> None:
    if not sender:
        return
    if not (_ALNUM_SENDER.fullmatch(sender) or _NUMERIC_SENDER.fullmatch(sender)):
        raise PolicyViolation("sender_not_allowed", "Invalid sender")
    listed = [str(s).lower() for s in account.settings.get("sms_senders") or []]
    if listed and sender.lower() not in listed:
        raise PolicyViolation("sender_not_allowed", "Sender not allowed for this account")


def check_otp(account: Account, text: str, *, otp: bool) -> None:
    if not otp and account.settings.get("enforce_otp_route") and looks_like_otp(text):
        raise PolicyViolation("otp_route", "One-time codes must be sent on the OTP route")


def check_coverage(account: Account, e164: str) -> None:
    prefixes = [str(p) for p in account.settings.get("covered_prefixes") or []]
    if prefixes and not any(e164.startswith(p if p.startswith("+") else "+" + p) for p in prefixes):
        raise PolicyViolation("not_covered", "Destination network not covered")


async def check_destination(unit: Unit, account: Account, e164: str, body: str) -> None:
    """The 24-hour rules for one recipient: identical texts, then the per-destination cap."""
    check_coverage(account, e164)
    since = utcnow() - DAY
    base = select(func.count()).select_from(messages).where(
        messages.c.account_id == account.id,
        messages.c.recipient == e164,
        messages.c.direction == "out",
        messages.c.created_at >= since,
    )
    identical = int(await unit.conn.scalar(base.where(messages.c.body == body)) or 0)
    if identical >= SPAM_IDENTICAL_PER_DAY:
        raise PolicyViolation("spam", f"More than {SPAM_IDENTICAL_PER_DAY} identical messages to one recipient today")
    limit = account.settings.get("daily_limit_per_destination")
    if limit:
        total = int(await unit.conn.scalar(base) or 0)
        if total >= int(limit):
            raise PolicyViolation("destination_limit", "Daily limit for this destination reached")


async def check_customer_id(unit: Unit, account: Account, customer_id: str | None) -> None:
    if not customer_id:
        return
    taken = await unit.conn.scalar(
        select(messages.c.id).where(messages.c.account_id == account.id, messages.c.customer_id == customer_id).limit(1)
    )
    if taken is not None:
        raise PolicyViolation("duplicate_id", "Duplicate message id")
