"""The `postino` command as operators run it: accounts, credit, migrations, serve."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import select

from postino.core.accounts import accounts, billing, credentials
from postino.core.service import Core
from postino.db.tables import accounts as accounts_table
from postino.db.tables import credentials as credentials_table
from postino.settings import Settings

from .support import ServerProcess, run_cli


def _db_args(settings: Settings) -> list[str]:
    return ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]


async def test_accounts_create_json_prints_working_secrets_stored_hashed(settings: Settings, core: Core) -> None:
    result = run_cli(
        "accounts", "create", "--email", "Shop@Example.com", "--password", "s3cret-pass", "--credit", "12.5",
        "--wa-credit", "3", "--country", "DE", "--timezone", "Europe/Berlin", "--json", *_db_args(settings),
    )
    out = json.loads(result.stdout)
    assert set(out) == {"id", "email", "api_key", "sg24_token", "bearer_token", "device_registration_token"}
    assert isinstance(out["id"], int)
    assert out["email"] == "shop@example.com"
    assert all(isinstance(out[k], str) and len(out[k]) >= 16 for k in out if k not in ("id", "email"))
    assert len(out["sg24_token"]) == 32 and int(out["sg24_token"], 16) >= 0

    async with core.reader() as unit:
        for key, kind in (("api_key", "api_key"), ("sg24_token", "sg24"), ("bearer_token", "bearer"),
                          ("device_registration_token", "device_registration")):
            cred = await credentials.resolve(unit, out[key], (kind,))
            assert cred.account_id == out["id"]
        assert (await accounts.authenticate(unit, "shop@example.com", "s3cret-pass")).id == out["id"]
        assert (await billing.balance(unit, out["id"], "sms")).amount == Decimal("12.5")
        assert (await billing.balance(unit, out["id"], "wa")).amount == Decimal("3")
        # Nothing secret is stored in clear: not the secrets, not the password.
        stored = [tuple(r) for r in (await unit.conn.execute(select(credentials_table))).all()]
        stored += [tuple(r) for r in (await unit.conn.execute(select(accounts_table))).all()]
    flat = json.dumps([[str(v) for v in row] for row in stored])
    for secret in (out["api_key"], out["sg24_token"], out["bearer_token"], out["device_registration_token"], "s3cret-pass"):
        assert secret not in flat
    assert "$argon2" in flat


async def test_accounts_list_and_topup_with_expiry(settings: Settings, core: Core) -> None:
    run_cli("accounts", "create", "--email", "a@example.com", "--password", "password-a", *_db_args(settings))
    run_cli(
        "accounts", "topup", "--email", "a@example.com", "--product", "hlr", "--amount", "7.25",
        "--expires", "2030-01-31", *_db_args(settings),
    )
    listed = json.loads(run_cli("accounts", "list", "--json", *_db_args(settings)).stdout)
    assert listed[0]["email"] == "a@example.com"
    assert listed[0]["balances"]["hlr"] == "7.2500"
    async with core.reader() as unit:
        bal = await billing.balance(unit, listed[0]["id"], "hlr")
        assert bal.expires_at is not None and bal.expires_at.date().isoformat() == "2030-01-31"
        assert await billing.ledger_sum(unit, listed[0]["id"], "hlr") == Decimal("7.25")


def test_cli_refuses_bad_input_clearly(settings: Settings) -> None:
    run_cli("accounts", "create", "--email", "b@example.com", "--password", "password-b", *_db_args(settings))
    dup = run_cli("accounts", "create", "--email", "b@example.com", "--password", "password-b", *_db_args(settings),
                  check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    for zone in ("Mars/Olympus", "America"):  # "America" is a folder of zones, not one
        odd = run_cli("accounts", "create", "--email", "c@example.com", "--password", "password-c", "--timezone", zone,
                      *_db_args(settings), check=False)
        assert odd.returncode == 1 and "Unknown time zone" in odd.stderr
    bad = run_cli("accounts", "topup", "--email", "b@example.com", "--product", "gold", "--amount", "1",
                  *_db_args(settings), check=False)
    assert bad.returncode == 1 and "Unknown product" in bad.stderr
    tz = run_cli("accounts", "create", "--email", "c@example.com", "--password", "password-c", "--timezone", "Mars/Base",
                 *_db_args(settings), check=False)
    assert tz.returncode == 1 and "time zone" in tz.stderr


def test_migrate_creates_the_schema_in_a_new_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "fresh"
    result = run_cli("migrate", "--data-dir", str(data), env={"POSTINO_DATABASE_URL": ""})
    assert "up to date" in result.stdout
    assert (data / "postino.db").exists()


def test_serve_answers_health_docs_and_openapi(tmp_path: Path, settings: Settings) -> None:
    server = ServerProcess(tmp_path / "srv", settings.database_url, "--demo").start()
    try:
        health = httpx.get(server.url + "/health")
        assert health.status_code == 200
        assert health.json()["status"] == "ok" and health.json()["database"] == "ok"
        docs = httpx.get(server.url + "/docs")
        assert docs.status_code == 200 and "swagger-ui" in docs.text
        spec = httpx.get(server.url + "/openapi.json").json()
        assert spec["openapi"].startswith("3.") and "/health" in spec["paths"]
        metrics = httpx.get(server.url + "/metrics")
        assert metrics.status_code == 200 and "postino_messages" in metrics.text
        assert "demo@example.com" in server.log()
    finally:
        server.stop()
    # --demo is idempotent: a second start reuses the same account.
    server = ServerProcess(tmp_path / "srv", settings.database_url, "--demo").start()
    server.stop()
    listed = json.loads(run_cli("accounts", "list", "--json", "--data-dir", str(tmp_path / "srv"),
                                "--database-url", settings.database_url).stdout)
    assert [a["email"] for a in listed].count("demo@example.com") == 1


async def test_metrics_count_accepted_messages_and_the_backlog(core, client, alice) -> None:  # noqa: ANN001
    from postino.core.accounts import accounts
    from postino.core.devices import devices
    from postino.core.messages import messages

    async with core.unit() as unit:
        device, _ = await devices.register(unit, alice.id, sim_cards=[{"slotIndex": 0, "simNumber": 1}])
        account = await accounts.get(unit, alice.id)
        before = (await client.get("/metrics")).text
        await messages.submit(
            unit, account, [messages.Draft(recipient="+393491234567", body="hi", device_id=device.id, slot=0)] * 2
        )

    def value(text: str, name: str) -> float:
        line = next((ln for ln in text.splitlines() if ln.startswith(name + " ")), None)
        return float(line.split()[-1]) if line else 0.0

    after = (await client.get("/metrics")).text
    name = 'postino_messages_accepted_total{channel="sms"}'
    assert value(after, name) - value(before, name) == 2
    assert value(after, 'postino_messages{state="queued"}') == 2
