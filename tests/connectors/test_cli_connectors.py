"""``postino connectors`` and ``postino routes`` as an operator scripts them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from postino.cli import app as cli_app
from postino.core.accounts import sealed
from postino.core.routing import connectors as records
from postino.db.tables import connectors as connectors_table
from postino.db.tables import routes as routes_table
from postino.settings import Settings
from tests.connectors.smsc import SmscProcess

PASSWORD = "s3cret99"
SMPP = ["--host", "smsc.example.net", "--port", "2775", "--system-id", "postino", "--password", PASSWORD]


class Cli:
    """The ``postino`` command run in this process, against the test's database."""

    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.runner = CliRunner()
        self.common = ["--data-dir", str(tmp_path / "cli"), "--database-url", database_url]

    async def __call__(self, *args: str, email: str = "alice@example.com", code: int = 0,
                       env: dict[str, str] | None = None) -> Result:  # fmt: skip
        argv = [*args, "--email", email, *self.common]
        result = await asyncio.to_thread(
            self.runner.invoke, cli_app, argv, env={"POSTINO_SECRET_KEY": "test-secret", **(env or {})}
        )
        assert result.exit_code == code, f"{argv}: {result.output}"
        assert PASSWORD not in result.output  # never printed, whatever happened
        return result

    async def json(self, *args: str, **kw: Any) -> Any:
        return json.loads((await self(*args, "--json", **kw)).stdout)


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path, database_url)


async def stored_connectors(core) -> list[Any]:  # noqa: ANN001
    async with core.reader() as unit:
        return list((await unit.conn.execute(select(connectors_table).order_by(connectors_table.c.id))).all())


async def test_add_prints_the_settings_and_seals_the_password(cli: Cli, core, alice, settings: Settings) -> None:  # noqa: ANN001
    added = await cli.json(
        "connectors", "add", "smpp", "--name", "carrier-a", *SMPP, "--system-type", "VMA", "--window", "20",
        "--tps", "50", "--tls", "--source-ton", "5", "--source-npi", "0", "--default-sender", "Shop",
        "--max-queue", "5000",
    )  # fmt: skip
    assert isinstance(added["id"], int) and added["created_at"]
    assert {k: v for k, v in added.items() if k not in ("id", "created_at")} == {
        "name": "carrier-a", "kind": "smpp", "host": "smsc.example.net", "port": 2775, "system_id": "postino",
        "system_type": "VMA", "window": 20, "tps": 50, "tls": True, "source_ton": 5, "source_npi": 0,
        "default_sender": "Shop", "max_queue": 5000, "state": "down", "state_detail": "", "up": False,
        "queue_depth": 0,
    }  # fmt: skip

    (row,) = await stored_connectors(core)
    assert row.account_id == alice.id and row.kind == "smpp" and "password" not in row.config
    assert row.secrets.startswith("enc1:") and PASSWORD not in json.dumps([str(v) for v in row])
    async with core.reader() as unit:
        record = await records.get(unit, alice.id, added["id"])
    assert record.secrets(sealed.for_settings(settings)) == {"password": PASSWORD}  # sealed, with the server key

    assert await cli.json("connectors", "list") == [added]
    shown = await cli.json("connectors", "show", "carrier-a")
    assert shown == {**added, "served_here": False, "bind_state": "down", "window_in_use": None, "counts": None}
    text = (await cli("connectors", "list")).stdout
    assert "carrier-a" in text and "postino@smsc.example.net:2775" in text

    helped = await asyncio.to_thread(cli.runner.invoke, cli_app, ["connectors", "add", "--help"],
                                     env={"COLUMNS": "200"})  # fmt: skip
    assert "encrypted with the server key" in helped.stdout


async def test_a_wrong_setting_exits_2_naming_it(cli: Cli, core, alice) -> None:  # noqa: ANN001
    cases = [
        (["--port", "70000"], "--port"),
        (["--window", "0"], "--window"),
        (["--source-ton", "9"], "--source-ton"),
        (["--system-id", "x" * 16], "--system-id"),
        (["--password", "nine-char"], "--password"),  # SMPP 3.4 passwords are 8 octets at most
    ]
    for change, option in cases:
        args = list(SMPP)
        at = args.index(change[0]) if change[0] in args else None
        if at is None:
            args += change
        else:
            args[at + 1] = change[1]
        refused = await cli("connectors", "add", "smpp", "--name", "c", *args, code=2)
        assert f"'{option}'" in refused.output, refused.output
        assert "nine-char" not in refused.output

    missing = await cli("connectors", "add", "smpp", "--name", "c", "--host", "h", "--port", "1",
                        "--system-id", "s", code=2)  # fmt: skip
    assert "'--password'" in missing.output and "required" in missing.output
    bad_name = await cli("connectors", "add", "smpp", "--name", "a b", *SMPP, code=2)
    assert "'--name'" in bad_name.output
    unknown = await cli("connectors", "add", "carrier-pigeon", "--name", "c", *SMPP, code=2)
    assert "carrier-pigeon" in unknown.output and "smpp" in unknown.output
    assert await stored_connectors(core) == []

    await cli("connectors", "add", "smpp", "--name", "c", *SMPP)
    taken = await cli("connectors", "add", "smpp", "--name", "c", *SMPP, code=1)
    assert "exists" in taken.output


async def test_an_account_sees_only_its_own(cli: Cli, core, alice, bob) -> None:  # noqa: ANN001
    await cli("connectors", "add", "smpp", "--name", "carrier-a", *SMPP)
    assert await cli.json("connectors", "list", email=bob.email) == []
    for command in ("show", "remove", "test"):
        refused = await cli("connectors", command, "carrier-a", email=bob.email, code=1)
        assert "No connector named 'carrier-a'" in refused.output
    route = await cli("routes", "add", "--channel", "sms", "--connectors", "carrier-a", email=bob.email, code=2)
    assert "'--connectors'" in route.output and "No connector named" in route.output
    assert len(await stored_connectors(core)) == 1
    unknown = await cli("connectors", "list", email="nobody@example.com", code=1)
    assert "no account nobody@example.com" in unknown.output


async def test_routes_store_weights_keep_positions_and_hold_their_connectors(cli: Cli, core, alice) -> None:  # noqa: ANN001
    a = await cli.json("connectors", "add", "smpp", "--name", "a", *SMPP)
    b = await cli.json("connectors", "add", "smpp", "--name", "b", *SMPP)

    first = await cli.json("routes", "add", "--channel", "sms", "--connectors", "a:3,b", "--prefix", "+39,0062")
    assert {k: v for k, v in first.items() if k != "id"} == {
        "position": 1, "channel": "sms", "prefixes": ["+39", "+62"], "otp": False, "slot": None,
        "connectors": [{"id": a["id"], "name": "a", "weight": 3}, {"id": b["id"], "name": "b", "weight": 1}],
        "fallback": None,
    }  # fmt: skip
    async with core.reader() as unit:
        row = (await unit.conn.execute(select(routes_table).where(routes_table.c.id == first["id"]))).one()
    assert row.targets == [{"connector_id": a["id"], "weight": 3}, {"connector_id": b["id"], "weight": 1}]
    assert row.prefixes == ["39", "62"]

    wa = await cli.json("routes", "add", "--channel", "whatsapp", "--connectors", "b:2", "--otp", "--position", "1",
                        "--fallback", "sms", "--fallback-after", "30")  # fmt: skip
    assert wa["fallback"] == {"channel": "sms", "after_seconds": 30} and wa["otp"] is True
    slot = await cli.json("routes", "add", "--channel", "sms", "--connectors", "a", "--slot", "2", "--position", "2")
    listed = await cli.json("routes", "list")
    assert [(r["id"], r["position"]) for r in listed] == [(wa["id"], 1), (slot["id"], 2), (first["id"], 3)]
    assert listed[1]["slot"] == 2 and listed[2] == {**first, "position": 3}
    table = (await cli("routes", "list")).stdout
    assert "a:3, b:1" in table and "+39,+62" in table and "sms after" in table

    for args, option in (
        (["--connectors", "a:0"], "--connectors"),
        (["--connectors", "a:x"], "--connectors"),
        (["--connectors", "a", "--position", "9"], "--position"),
        (["--connectors", "a", "--fallback-after", "5"], "--fallback-after"),
        (["--connectors", "a", "--prefix", "+39x"], "--prefix"),
    ):
        refused = await cli("routes", "add", "--channel", "sms", *args, code=2)
        assert f"'{option}'" in refused.output, refused.output
    bad_channel = await cli("routes", "add", "--channel", "fax", "--connectors", "a", code=2)
    assert "'--channel'" in bad_channel.output

    held = await cli("connectors", "remove", "a", code=1)
    assert "remove the route first" in held.output
    await cli("routes", "remove", str(first["id"]))
    await cli("routes", "remove", str(slot["id"]))
    await cli("routes", "remove", str(slot["id"]), code=1)
    assert [(r["id"], r["position"]) for r in await cli.json("routes", "list")] == [(wa["id"], 1)]
    await cli("connectors", "remove", "a")
    assert [c["name"] for c in await cli.json("connectors", "list")] == ["b"]


@pytest.fixture
def smsc(tmp_path: Path):  # noqa: ANN201
    process = SmscProcess(tmp_path / "smsc", system_id="postino", password="right-pw").start()
    yield process
    process.stop()


async def test_test_binds_with_the_right_password_and_says_why_not_otherwise(cli: Cli, alice, smsc) -> None:  # noqa: ANN001
    where = ["--host", "127.0.0.1", "--port", str(smsc.port), "--system-id", "postino"]
    good = await cli.json("connectors", "add", "smpp", "--name", "good", *where, "--password", "right-pw")
    await cli("connectors", "add", "smpp", "--name", "wrong", *where, "--password", PASSWORD)
    allowed = {"POSTINO_ALLOW_PRIVATE_URLS": "true"}

    bound = await cli("connectors", "test", "good", env=allowed)
    assert "bound" in bound.stdout and "right-pw" not in bound.output
    assert await cli.json("connectors", "test", "good", env=allowed) == {
        "id": good["id"], "name": "good", "bound": True, "detail": "bound"
    }
    refused = await cli("connectors", "test", "wrong", env=allowed, code=1)
    assert "did not bind" in refused.output and "ESME_RBINDFAIL" in refused.output
    assert [(e["system_id"], e["status"]) for e in smsc.events("bind")] == [
        ("postino", "ESME_ROK"), ("postino", "ESME_ROK"), ("postino", "ESME_RBINDFAIL")
    ]

    # A loopback SMSC is reached only with the operator's permission.
    private = await cli("connectors", "test", "good", env={"POSTINO_ALLOW_PRIVATE_URLS": "false"}, code=1)
    assert "not public" in private.output
    assert len(smsc.events("bind")) == 3
