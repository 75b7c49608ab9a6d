"""The demo account of ``postino serve --demo``: created once, with fixed, documented credentials.

Fixed secrets make the docs' curl examples work verbatim against a demo server. They are
well known, so ``--demo`` is for trying Postino on one's own machine, never for production.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from ...db.tables import credentials
from ..service import Core
from . import accounts, billing, secrets
from . import credentials as creds

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"
DEMO_SECRETS = {
    "sg24": "demo0000000000000000000000000000",
    "bearer": "pst_demo_bearer_token",
    "api_key": "DEMO_API_KEY",
    "device_registration": "demo-device-registration-token",
}


@dataclass(frozen=True)
class DemoAccount:
    account_id: int
    email: str
    password: str
    secrets: dict[str, str]


async def ensure_demo_account(core: Core) -> DemoAccount:
    """Create the demo account and its credentials if missing; idempotent."""
    async with core.unit() as unit:
        account = await accounts.find_by_email(unit, DEMO_EMAIL)
        if account is None:
            account = await accounts.create(
                unit, email=DEMO_EMAIL, password=DEMO_PASSWORD, country="IT", timezone="Europe/Rome"
            )
            await billing.top_up(unit, account.id, "sms", Decimal("100"))
            await billing.top_up(unit, account.id, "wa", Decimal("100"))
            await billing.top_up(unit, account.id, "hlr", Decimal("100"))
        for kind, secret in DEMO_SECRETS.items():
            known = await unit.conn.scalar(
                select(credentials.c.id).where(credentials.c.secret_hash == secrets.hash_secret(secret))
            )
            if known is None:
                await creds.issue(unit, account.id, kind, name="demo", secret=secret)
    return DemoAccount(account.id, DEMO_EMAIL, DEMO_PASSWORD, dict(DEMO_SECRETS))
