"""Credits: a ledger per account and product; the cached balance moves with each row.

Every change (top-up, debit, refund) is a ledger row written in the same transaction as
the balance update, so ``balances.amount`` always equals the ledger's sum. Amounts are
``Decimal``; the storage type keeps them as exact integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, bindparam, func, insert, select, update

from ...db.prepared import Prepared, insert_row, param
from ...db.tables import balances, ledger
from ..clock import utcnow
from ..errors import CreditExpired, InsufficientCredit, InvalidInput
from ..service import Unit

PRODUCTS = ("sms", "wa", "hlr", "sim", "pulsa")


@dataclass(frozen=True)
class Balance:
    product: str
    amount: Decimal
    expires_at: datetime | None

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or utcnow())


async def open_balances(unit: Unit, account_id: int) -> None:
    """Create the zero balance rows of a new account (one per product)."""
    await unit.conn.execute(
        insert(balances), [{"account_id": account_id, "product": p, "amount": Decimal(0)} for p in PRODUCTS]
    )


def _check_product(product: str) -> None:
    if product not in PRODUCTS:
        raise InvalidInput(f"Unknown product {product!r}", field="product")


_BALANCE = select(balances.c.amount, balances.c.expires_at).where(
    balances.c.account_id == bindparam("account_id"), balances.c.product == bindparam("product")
)
"""Built once: MessaggiSMS answers every request with the account's credit."""


async def balance(unit: Unit, account_id: int, product: str) -> Balance:
    _check_product(product)
    row = (await unit.conn.execute(_BALANCE, {"account_id": account_id, "product": product})).one_or_none()
    if row is None:
        return Balance(product, Decimal("0.0000"), None)
    return Balance(product, row.amount, row.expires_at)


async def all_balances(unit: Unit, account_id: int) -> dict[str, Balance]:
    return {p: await balance(unit, account_id, p) for p in PRODUCTS}


async def ledger_sum(unit: Unit, account_id: int, product: str) -> Decimal:
    total = await unit.conn.scalar(
        select(func.sum(ledger.c.amount)).where(ledger.c.account_id == account_id, ledger.c.product == product)
    )
    return total if total is not None else Decimal("0.0000")


async def top_up(
    unit: Unit,
    account_id: int,
    product: str,
    amount: Decimal,
    *,
    expires_at: datetime | None = None,
    note: str = "top-up",
) -> Balance:
    """Add credit; a given ``expires_at`` becomes the product's expiry date."""
    _check_product(product)
    amount = Decimal(amount)
    if amount <= 0:
        raise InvalidInput("Top-up amount must be positive", field="amount")
    values: dict = {"amount": balances.c.amount + amount}
    if expires_at is not None:
        values["expires_at"] = expires_at
    await unit.conn.execute(
        update(balances)
        .where(balances.c.account_id == account_id, balances.c.product == product)
        .values(**values)
    )
    await _record(unit, account_id, product, "topup", amount, note=note)
    return await balance(unit, account_id, product)


async def debit(
    unit: Unit,
    account_id: int,
    product: str,
    amount: Decimal,
    *,
    enforce: bool,
    batch_id: int | None = None,
    message_id: int | None = None,
    note: str = "",
) -> None:
    """Take ``amount``; when ``enforce``, refuse (and change nothing) if it is not there.

    The check and the change are one conditional UPDATE, so two concurrent debits can
    never both spend the same credit.
    """
    await unit.conn.run_sync(
        lambda conn: debit_sync(
            conn, account_id, product, amount, enforce=enforce, batch_id=batch_id, message_id=message_id, note=note
        )
    )


def debit_sync(
    conn: Connection,
    account_id: int,
    product: str,
    amount: Decimal,
    *,
    enforce: bool,
    batch_id: int | None = None,
    message_id: int | None = None,
    note: str = "",
) -> None:
    """``debit`` on a plain connection: what the group-commit writer and ``debit`` both run."""
    _check_product(product)
    amount = Decimal(amount)
    if amount <= 0:
        return
    now = utcnow()
    values = {"account_id": account_id, "product": product, "amount": amount, "expires_at": now}
    if not (_DEBIT_ENFORCED if enforce else _DEBIT).run(conn, values):
        where = (balances.c.account_id == account_id, balances.c.product == product)
        current = conn.execute(select(balances.c.amount, balances.c.expires_at).where(*where)).one_or_none()
        if current is not None and current.expires_at is not None and current.expires_at <= utcnow():
            raise CreditExpired(f"{product} balance expired")
        raise InsufficientCredit(f"Not enough {product} credit")
    _LEDGER.run(conn, _debit_entry(account_id, product, amount, now, batch_id, message_id, note))


def debit_many(conn: Connection, debits: list[tuple[int, bool, dict[str, Decimal]]]) -> None:
    """Several requests' debits ``(account_id, enforce, cost by product)`` in one step.

    One conditional UPDATE per account and product for the sum, then one ledger row per
    request, as ``debit_sync`` would write them one by one. When the sum is not there it
    raises without telling which request is short: the caller retries them one by one.
    """
    totals: dict[tuple[int, str, bool], Decimal] = {}
    entries = []
    now = utcnow()
    for account_id, enforce, cost in debits:
        for product, amount in cost.items():
            _check_product(product)
            if amount <= 0:
                continue
            key = (account_id, product, enforce)
            totals[key] = totals.get(key, _ZERO) + amount
            entries.append(_debit_entry(account_id, product, amount, now, None, None, ""))
    for (account_id, product, enforce), amount in totals.items():
        values = {"account_id": account_id, "product": product, "amount": amount, "expires_at": now}
        if not (_DEBIT_ENFORCED if enforce else _DEBIT).run(conn, values):
            raise InsufficientCredit(f"Not enough {product} credit")
    _LEDGER.run_many(conn, entries)


def _debit_entry(
    account_id: int, product: str, amount: Decimal, now: datetime, batch_id: int | None, message_id: int | None,
    note: str,
) -> dict:
    return {"account_id": account_id, "product": product, "kind": "debit", "amount": -amount, "batch_id": batch_id,
            "message_id": message_id, "note": note[:200], "created_at": now}


_ZERO = Decimal(0)


_DEBIT = Prepared(
    update(balances)
    .where(balances.c.account_id == param(balances.c.account_id), balances.c.product == param(balances.c.product))
    .values(amount=balances.c.amount - param(balances.c.amount))
    .returning(balances.c.account_id)
)
_DEBIT_ENFORCED = Prepared(
    update(balances)
    .where(
        balances.c.account_id == param(balances.c.account_id),
        balances.c.product == param(balances.c.product),
        balances.c.amount >= param(balances.c.amount),
        balances.c.expires_at.is_(None) | (balances.c.expires_at > param(balances.c.expires_at)),
    )
    .values(amount=balances.c.amount - param(balances.c.amount))
    .returning(balances.c.account_id)
)
_LEDGER = insert_row(
    ledger, ("account_id", "product", "kind", "amount", "batch_id", "message_id", "note", "created_at")
)


async def refund(
    unit: Unit,
    account_id: int,
    product: str,
    amount: Decimal,
    *,
    batch_id: int | None = None,
    message_id: int | None = None,
    note: str = "refund",
) -> None:
    amount = Decimal(amount)
    if amount <= 0:
        return
    await unit.conn.execute(
        update(balances)
        .where(balances.c.account_id == account_id, balances.c.product == product)
        .values(amount=balances.c.amount + amount)
    )
    await _record(unit, account_id, product, "refund", amount, batch_id=batch_id, message_id=message_id, note=note)


async def _record(
    unit: Unit,
    account_id: int,
    product: str,
    kind: str,
    amount: Decimal,
    *,
    batch_id: int | None = None,
    message_id: int | None = None,
    note: str = "",
) -> None:
    await unit.conn.execute(
        insert(ledger).values(
            account_id=account_id,
            product=product,
            kind=kind,
            amount=amount,
            batch_id=batch_id,
            message_id=message_id,
            note=note[:200],
            created_at=utcnow(),
        )
    )
