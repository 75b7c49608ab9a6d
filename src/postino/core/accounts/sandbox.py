"""The NusaSMS test account of ``--sandbox`` (and ``--demo``): fixed key, simulated sending.

The provider's documentation promises integrators one test account, reached with
``APIKey: DEV_TESTING_API_KEY``, where nothing is real: no credit is needed, every
channel is simulated, and the status of the ref_nos ``queued``, ``sent``,
``delivered``, ``read``, ``aborted`` and ``failed`` is that word. Postino builds this
as an ordinary account with a simulated phone (SMS slots 0-1, WhatsApp slots 2-3) that
a scheduler job walks through sent, delivered and read, plus six fixture messages
whose client message ids are those ref_nos. It exists only when the operator asks.
"""

from __future__ import annotations

from sqlalchemy import select

from ...db.tables import credentials as credentials_table
from ...db.tables import devices as devices_table
from ...db.tables import messages as messages_table
from ..devices import devices
from ..messages import lifecycle, messages
from ..service import Core, Unit
from . import accounts, credentials, secrets

API_KEY = "DEV_TESTING_API_KEY"
EMAIL = "dev-testing@sandbox.invalid"
PASSWORD = "DEV_TESTING_PASSWORD"
WA_NUMBERS = {2: "6280000000002", 3: "6280000000003"}
FIXTURES = {
    "queued": [],
    "sent": [lifecycle.SENT],
    "delivered": [lifecycle.SENT, lifecycle.DELIVERED],
    "read": [lifecycle.SENT, lifecycle.DELIVERED, lifecycle.READ],
    "aborted": [lifecycle.CANCELED],
    "failed": [lifecycle.FAILED],
}
FIXTURE_DESTINATION = "+6281200000000"


async def ensure(core: Core) -> int:
    """Create the sandbox account, key, phone and fixtures if missing; returns the account id."""
    async with core.unit() as unit:
        account = await accounts.find_by_email(unit, EMAIL)
        if account is None:
            account = await accounts.create(
                unit, email=EMAIL, password=PASSWORD, country="ID", timezone="Asia/Jakarta", credit_enforced=False
            )
        known = await unit.conn.scalar(
            select(credentials_table.c.id).where(credentials_table.c.secret_hash == secrets.hash_secret(API_KEY))
        )
        if known is None:
            await credentials.issue(unit, account.id, "api_key", name="sandbox", secret=API_KEY)
        device_id = await _simulated_device(unit, account.id)
        await _fixtures(unit, account, device_id)
    return account.id


async def _simulated_device(unit: Unit, account_id: int) -> int:
    for device in await devices.list_for(unit, account_id):
        if device.settings.get("sandbox"):
            return device.id
    cards = [{"slotIndex": 0, "simNumber": 1}, {"slotIndex": 1, "simNumber": 2}] + [
        {"slotIndex": slot, "simNumber": slot + 1, "phoneNumber": number, "channels": ["whatsapp"]}
        for slot, number in WA_NUMBERS.items()
    ]
    device, _token = await devices.register(unit, account_id, name="sandbox simulator", sim_cards=cards)
    await devices.update_device(unit, device.id, settings={"sandbox": True})
    return device.id


async def _fixtures(unit: Unit, account: accounts.Account, device_id: int) -> None:
    existing = set(
        (
            await unit.conn.execute(
                select(messages_table.c.customer_id).where(
                    messages_table.c.account_id == account.id, messages_table.c.customer_id.in_(list(FIXTURES))
                )
            )
        ).scalars()
    )
    for ref, steps in FIXTURES.items():
        if ref in existing:
            continue
        accepted = await messages.submit(
            unit,
            account,
            [
                messages.Draft(
                    recipient=FIXTURE_DESTINATION, body=f"Sandbox message ({ref})", channel="whatsapp",
                    device_id=device_id, slot=2, sender=WA_NUMBERS[2], customer_id=ref, extra={"fixture": True},
                )
            ],
            charge=False,
        )
        for step in steps:
            await lifecycle.move(unit, accepted.ids, step, reason="generic" if step == lifecycle.FAILED else None)


async def simulate(unit: Unit) -> set[int] | None:
    """One step for each message on a sandbox phone: queued -> sent -> delivered (-> read)."""
    sandbox_devices = [
        d.id
        for d in (
            await unit.conn.execute(select(devices_table.c.id, devices_table.c.settings))
        ).all()
        if (d.settings or {}).get("sandbox")
    ]
    if not sandbox_devices:
        return None
    rows = (
        await unit.conn.execute(
            select(messages_table.c.id, messages_table.c.state, messages_table.c.channel, messages_table.c.extra)
            .where(
                messages_table.c.device_id.in_(sandbox_devices),
                messages_table.c.state.in_([lifecycle.QUEUED, lifecycle.ASSIGNED, lifecycle.SENT, lifecycle.DELIVERED]),
            )
            .limit(1000)
        )
    ).all()
    steps: dict[str, list[int]] = {lifecycle.SENT: [], lifecycle.DELIVERED: [], lifecycle.READ: []}
    for row in rows:
        if (row.extra or {}).get("fixture"):
            continue
        if row.state in (lifecycle.QUEUED, lifecycle.ASSIGNED):
            steps[lifecycle.SENT].append(row.id)
        elif row.state == lifecycle.SENT:
            steps[lifecycle.DELIVERED].append(row.id)
        elif row.channel == "whatsapp":
            steps[lifecycle.READ].append(row.id)
    for target, ids in steps.items():
        await lifecycle.move(unit, ids, target, detail="sandbox")
    return None
