"""Opt-outs: the numbers an account may not message, and the keywords that change the list.

Scope is the account and the number (E.164), whatever the channel. An inbound message
whose whole text is a stop keyword puts its sender on the list; a start keyword takes
it off. Every change is kept in ``optout_events`` (who, when, keyword or operator) and
announced as ``contact.opted_out`` / ``contact.opted_in``.

Campaigns never message a number on the list. Single sends follow the account setting
``optout_policy``: ``campaigns`` (the default: a one-to-one transactional message still
goes) or ``all`` (refused; each dialect says so in its own words, ``refused``).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from ...db.tables import messages, optout_events, optouts
from ..accounts import accounts as accounts_mod
from ..accounts.accounts import Account
from ..clock import utcnow
from ..errors import DomainError, InvalidInput, OptedOut
from ..events import webhooks
from ..messages import messages as messages_mod
from ..messages import numbers
from ..service import Unit
from .lists import plain

log = logging.getLogger("postino.optouts")

STOP_KEYWORDS = frozenset({
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT",
    "STOPP", "ARRET", "BASTA", "CANCELLA", "BERHENTI", "PARE", "ALTO",
})  # fmt: skip
START_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
KEYWORDS = STOP_KEYWORDS | START_KEYWORDS

STOP = "stop"
START = "start"
ANY = {STOP: "any-stop", START: "any-start"}
"""Auto-reply keys for every stop (start) keyword at once; a keyword's own reply wins."""
POLICIES = ("campaigns", "all")
SOURCES = ("keyword", "operator", "api")
MAX_PAGE = 1000
MAX_REPLY = 1000
REFUSAL = "Recipient has opted out"


@dataclass(frozen=True)
class OptOut:
    phone: str
    at: datetime
    channel: str
    source: str
    keyword: str | None
    message_id: int | None
    actor: str

    def public(self) -> dict[str, Any]:
        return {
            "phone": self.phone,
            "at": webhooks.iso(self.at),
            "channel": self.channel,
            "source": self.source,
            "keyword": self.keyword,
            "message_id": self.message_id,
            "actor": self.actor,
        }


# --- keywords ---------------------------------------------------------------------------


def fold(text: str) -> str:
    """Upper case without accents or surrounding space and end punctuation: ``" Arrêt! "`` is ``ARRET``."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.upper().rstrip(".!").strip()


def keyword(text: str | None) -> tuple[str, str] | None:
    """``("stop", "STOP")`` or ``("start", "START")`` when the whole text is a keyword, else None."""
    if not text or len(text) > 40:
        return None
    word = fold(text)
    if word in STOP_KEYWORDS:
        return STOP, word
    if word in START_KEYWORDS:
        return START, word
    return None


# --- the account's settings -------------------------------------------------------------


def policy(account: Account) -> str:
    value = account.settings.get("optout_policy", "campaigns")
    return value if value in POLICIES else "campaigns"


def reply_for(account: Account, action: str, word: str) -> str | None:
    """The auto-reply the account set for this keyword (or for every stop/start keyword); None: no reply."""
    replies = account.settings.get("optout_replies") or {}
    if not isinstance(replies, dict):
        return None
    text = replies.get(word) or replies.get(ANY[action])
    return text if isinstance(text, str) and text.strip() else None


async def configure(
    unit: Unit, account_id: int, *, policy_name: str | None = None, replies: dict[str, str | None] | None = None
) -> Account:
    """Set ``optout_policy`` and auto-replies (a keyword, or ``any-stop`` / ``any-start``, to a text; None or "" removes it)."""
    account = await accounts_mod.get(unit, account_id)
    changes: dict[str, Any] = {}
    if policy_name is not None:
        if policy_name not in POLICIES:
            raise InvalidInput(f"optout_policy must be one of {', '.join(POLICIES)}", field="optout_policy")
        changes["optout_policy"] = policy_name
    if replies is not None:
        current = dict(account.settings.get("optout_replies") or {})
        for key, text in replies.items():
            word = fold(key)
            name = word if word in KEYWORDS else key.strip().lower()
            if name not in KEYWORDS | set(ANY.values()):
                raise InvalidInput(f"{key!r} is not a stop or start keyword (nor any-stop / any-start)", field="replies")
            if text is None or not text.strip():
                current.pop(name, None)
            elif len(text) > MAX_REPLY or "\x00" in text:
                raise InvalidInput(f"A reply is 1 to {MAX_REPLY} characters, without NUL", field="replies")
            else:
                current[name] = text
        changes["optout_replies"] = current
    if changes:
        account = await accounts_mod.update_settings(unit, account_id, **changes)
    return account


def settings_of(account: Account) -> dict[str, Any]:
    return {"optout_policy": policy(account), "replies": dict(account.settings.get("optout_replies") or {})}


# --- the list ---------------------------------------------------------------------------


def _insert_ignoring_duplicates(unit: Unit) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING``: two STOPs at once record one opt-out, never an error."""
    dialect = postgresql if unit.is_postgres else sqlite
    return dialect.insert(optouts).on_conflict_do_nothing()


async def opt_out(
    unit: Unit,
    account_id: int,
    phone: str,
    *,
    source: str,
    channel: str = "",
    keyword_text: str | None = None,
    message_id: int | None = None,
    actor: str = "",
) -> bool:
    """Put ``phone`` (E.164) on the account's list; False when it was there already."""
    now = utcnow()
    values = {
        "account_id": account_id, "phone": phone, "at": now, "channel": channel, "source": source,
        "keyword": keyword_text, "message_id": message_id, "actor": actor[:320],
    }  # fmt: skip
    added = (await unit.conn.execute(_insert_ignoring_duplicates(unit).values(**values).returning(optouts.c.phone)))
    if added.one_or_none() is None:
        return False
    await _record(unit, "out", values)
    return True


async def opt_in(
    unit: Unit,
    account_id: int,
    phone: str,
    *,
    source: str,
    channel: str = "",
    keyword_text: str | None = None,
    message_id: int | None = None,
    actor: str = "",
) -> bool:
    """Take ``phone`` off the account's list; False when it was not on it."""
    gone = await unit.conn.execute(delete(optouts).where(optouts.c.account_id == account_id, optouts.c.phone == phone))
    if not gone.rowcount:
        return False
    values = {
        "account_id": account_id, "phone": phone, "at": utcnow(), "channel": channel, "source": source,
        "keyword": keyword_text, "message_id": message_id, "actor": actor[:320],
    }  # fmt: skip
    await _record(unit, "in", values)
    return True


async def _record(unit: Unit, action: str, values: dict[str, Any]) -> None:
    await unit.conn.execute(insert(optout_events).values(action=action, **values))
    event = webhooks.CONTACT_OPTED_OUT if action == "out" else webhooks.CONTACT_OPTED_IN
    data = {k: values[k] for k in ("phone", "channel", "source", "keyword", "message_id", "actor")}
    await webhooks.emit(unit, values["account_id"], event, {**data, "at": webhooks.iso(values["at"])},
                        order_key=f"o{values['phone']}")  # fmt: skip


async def add(unit: Unit, account: Account, phone: str, *, source: str = "operator", actor: str = "") -> tuple[str, bool]:
    """An operator or API user opts a number out; the number as stored and whether it changed."""
    e164 = numbers.normalise(phone, account.country)
    return e164, await opt_out(unit, account.id, e164, source=source, actor=actor)


async def remove(unit: Unit, account: Account, phone: str, *, source: str = "operator", actor: str = "") -> tuple[str, bool]:
    e164 = numbers.normalise(phone, account.country)
    return e164, await opt_in(unit, account.id, e164, source=source, actor=actor)


async def opted_out_among(unit: Unit, account_id: int, phones: Iterable[str]) -> set[str]:
    """Which of ``phones`` (E.164) are on the account's list."""
    wanted = sorted(set(phones))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            (
                await unit.conn.execute(
                    select(optouts.c.phone).where(optouts.c.account_id == account_id, optouts.c.phone.in_(chunk))
                )
            ).scalars()
        )
    return found


async def refused(unit: Unit, account: Account, phones: Iterable[str]) -> set[str]:
    """The numbers of a single send the account's policy refuses: none unless ``optout_policy`` is ``all``.

    The policy is read from the account (cached on the hot path), so the default costs
    no query.
    """
    if policy(account) != "all":
        return set()
    return await opted_out_among(unit, account.id, phones)


async def refuse(unit: Unit, account: Account, phones: Iterable[str]) -> None:
    """Raise ``OptedOut`` (its ``index`` the first refused number's position) if the policy refuses any of ``phones``."""
    ordered = list(phones)
    found = await refused(unit, account, ordered)
    if found:
        index = next(i for i, phone in enumerate(ordered) if phone in found)
        raise OptedOut(REFUSAL, field="recipient", index=index)


async def page(
    unit: Unit, account_id: int, *, q: str | None = None, after: str = "", limit: int = 100
) -> tuple[list[OptOut], str | None]:
    """The list in number order after ``after``; ``q`` matches digits of the number."""
    limit = max(1, min(limit, MAX_PAGE))
    stmt = select(optouts).where(optouts.c.account_id == account_id, optouts.c.phone > plain(after, "after"))
    digits = "".join(ch for ch in (q or "") if ch.isdigit())
    if digits:
        stmt = stmt.where(optouts.c.phone.contains(digits, autoescape=True))
    rows = (await unit.conn.execute(stmt.order_by(optouts.c.phone).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    found = [OptOut(r.phone, r.at, r.channel, r.source, r.keyword, r.message_id, r.actor) for r in rows]
    return found, (rows[-1].phone if more else None)


async def count(unit: Unit, account_id: int) -> int:
    return int(await unit.conn.scalar(select(func.count()).select_from(optouts).where(optouts.c.account_id == account_id)) or 0)


async def history(unit: Unit, account_id: int, *, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
    """Changes of the list in the order they happened, a page after event id ``after``."""
    rows = (
        await unit.conn.execute(
            select(optout_events)
            .where(optout_events.c.account_id == account_id, optout_events.c.id > after)
            .order_by(optout_events.c.id)
            .limit(max(1, min(limit, 10_000)))
        )
    ).all()
    return [
        {
            "id": r.id, "phone": r.phone, "action": "opted_out" if r.action == "out" else "opted_in",
            "at": webhooks.iso(r.at), "channel": r.channel, "source": r.source, "keyword": r.keyword,
            "message_id": r.message_id, "actor": r.actor,
        }
        for r in rows
    ]  # fmt: skip


# --- inbound messages --------------------------------------------------------------------


async def hear_inbound(unit: Unit, account_id: int, ids: list[int]) -> None:
    """``Core.listeners.received``: a stop or start keyword from a number changes the list.

    Every inbound message passes here (phones, connectors); one indexed read finds the
    texts, and only a keyword leads to a write. A change can send the keyword's
    auto-reply, through the phone or connector that received the keyword.
    """
    rows = (
        await unit.conn.execute(
            select(
                messages.c.id, messages.c.recipient, messages.c.body, messages.c.channel,
                messages.c.device_id, messages.c.slot,
            ).where(messages.c.id.in_(ids), messages.c.direction == "in")
        )
    ).all()  # fmt: skip
    account: Account | None = None
    for row in rows:
        found = keyword(row.body)
        if found is None or not row.recipient.startswith("+"):
            continue  # an alphanumeric sender ("BANK") is no number to stop messaging
        action, word = found
        change = opt_out if action == STOP else opt_in
        changed = await change(
            unit, account_id, row.recipient, source="keyword", channel=row.channel, keyword_text=word, message_id=row.id
        )
        if not changed:
            continue
        account = account or await accounts_mod.get(unit, account_id)
        text = reply_for(account, action, word)
        if text:
            await _reply(unit, account, row, text)


async def _reply(unit: Unit, account: Account, inbound: Any, text: str) -> None:
    """The auto-reply, on the channel (and phone slot) the keyword came in on; no credit: no reply."""
    draft = messages_mod.Draft(
        recipient=inbound.recipient, body=text, channel=inbound.channel, device_id=inbound.device_id,
        slot=inbound.slot if inbound.device_id else None, extra={"optout_reply": inbound.id},
    )  # fmt: skip
    try:
        await messages_mod.submit(unit, account, [draft])
    except DomainError as exc:  # nothing is written before a refusal: the opt-out itself stands
        log.warning("opt-out auto-reply to %s not sent: %s", inbound.recipient, exc.message)
