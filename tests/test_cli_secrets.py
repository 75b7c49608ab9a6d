"""``postino secrets rotate-key`` as an operator runs it: a real process, keys from files or env."""

from __future__ import annotations

import json
import stat
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from postino.core.accounts import sealed
from postino.core.routing import connectors
from postino.core.devices import devices
from postino.core.events import app_webhooks, webhooks
from postino.core.service import Core
from postino.db.tables import devices as devices_table
from postino.db.tables import outbox as outbox_table
from postino.db.tables import webhooks as webhooks_table
from postino.dispatch.outbox import build_request, claim, sign
from postino.settings import Settings
from postino.wiring import install_listeners

from .support import run_cli

SECRET = "whsec_the-receiver-checks-this-one"
NEW_KEY = "a-brand-new-server-key-9f86d081884c7d659a2feaa0c55ad015"
NO_KEYS = {"POSTINO_OLD_SECRET_KEY": "", "POSTINO_NEW_SECRET_KEY": ""}


def _db_args(settings: Settings, data_dir: Path | None = None) -> list[str]:
    return ["--data-dir", str(data_dir or settings.data_dir), "--database-url", settings.database_url]


def _said(output: str, phrase: str) -> bool:
    """Whether ``phrase`` is in what the command printed, however the console wrapped it."""
    return "".join(phrase.split()) in "".join(output.split())


async def _stored(core: Core) -> list[str]:
    async with core.reader() as unit:
        found = []
        for column in (webhooks_table.c.secret, outbox_table.c.secret, devices_table.c.webhook_key):
            found += [v for v in (await unit.conn.execute(select(column))).scalars() if v]
        return found


@pytest_asyncio.fixture
async def with_new_key(settings: Settings) -> AsyncIterator[Core]:
    """A process on the same database started with the new key."""
    c = install_listeners(Core(settings.model_copy(update={"secret_key": NEW_KEY})))
    yield c
    await c.db.dispose()


async def test_rotate_reencrypts_everything_the_old_key_then_fails_the_new_one_works(
    settings: Settings, core: Core, with_new_key: Core, alice, tmp_path: Path
) -> None:
    async with core.unit() as unit:
        hook = await webhooks.create(unit, alice.id, url="https://example.com/h", events=["campaign.finished"], secret=SECRET)
        await webhooks.emit(unit, alice.id, "campaign.finished", {"n": 1})
        phone, _token = await devices.register(unit, alice.id, name="pixel")
        app_key = await app_webhooks.signing_key(unit, alice.id, create=True)  # kept in the account's settings
        carrier = await connectors.add(unit, alice.id, name="carrier", kind="smpp", config={"host": "smsc.example.com"},
                                       secrets={"password": "smpp-pw"})  # fmt: skip
    phone_key = phone.webhook_key
    new_file = tmp_path / "new-key"
    new_file.write_text(NEW_KEY + "\n")
    env = {**NO_KEYS, "POSTINO_SECRET_KEY": settings.secret_key}

    done = run_cli("secrets", "rotate-key", "--new-key-file", str(new_file), "--json", *_db_args(settings), env=env)
    report = json.loads(done.stdout)
    old, new = sealed.Sealer(settings.secret_key), sealed.Sealer(NEW_KEY)
    assert report == {
        "old_key_id": old.key_id,
        "new_key_id": new.key_id,
        "reencrypted": {"webhook secrets": 1, "outbox signing secrets": 1, "phone signing keys": 1,
                        "connector secrets": 1, "accounts.settings": 1},
    }
    for shown in (done.stdout, done.stderr):
        for secret in (settings.secret_key, NEW_KEY, SECRET, phone_key):
            assert secret not in shown

    stored = await _stored(core)
    assert len(stored) == 3
    for value in stored:
        assert new.owns(value)
        with pytest.raises(sealed.OtherKey):
            old.open(value)
    assert sorted(new.open(v) for v in stored) == sorted([SECRET, SECRET, phone_key])

    # A server with the new key signs with the same secret and checks the phone's signatures.
    async with with_new_key.reader() as unit:
        assert await app_webhooks.signing_key(unit, alice.id) == app_key
        assert (await webhooks.get(unit, alice.id, hook.id)).secret == SECRET
        assert (await devices.get(unit, alice.id, phone.id)).webhook_key == phone_key
        record = await connectors.get(unit, alice.id, carrier.id)
        assert record.secrets(sealed.for_settings(with_new_key.settings)) == {"password": "smpp-pw"}
    (taken,) = await claim(with_new_key, 10, Counter())
    body, headers = build_request(taken)
    assert headers["X-Postino-Signature"] == sign(SECRET, headers["X-Postino-Timestamp"], body)
    # One with the old key can no longer open them.
    async with core.reader() as unit:
        with pytest.raises(sealed.OtherKey):
            (await webhooks.get(unit, alice.id, hook.id)).secret  # noqa: B018

    # Run again (the old key given explicitly): what is done already is left as it is.
    again = run_cli(
        "secrets", "rotate-key", "--new-key-file", str(new_file), "--json", *_db_args(settings),
        env={**env, "POSTINO_OLD_SECRET_KEY": settings.secret_key},
    )
    assert set(json.loads(again.stdout)["reencrypted"].values()) == {0}
    assert await _stored(core) == stored
    same = run_cli(
        "secrets", "rotate-key", "--new-key-file", str(new_file), *_db_args(settings),
        env={**NO_KEYS, "POSTINO_SECRET_KEY": NEW_KEY}, check=False,
    )
    assert same.returncode == 1 and _said(same.stderr, "the new key is the old key")


async def test_a_wrong_old_key_changes_nothing(settings: Settings, core: Core, alice, tmp_path: Path) -> None:
    async with core.unit() as unit:
        await webhooks.create(unit, alice.id, url="https://example.com/h", events=["campaign.finished"], secret=SECRET)
    before = await _stored(core)
    new_file = tmp_path / "new-key"
    new_file.write_text(NEW_KEY)
    wrong = run_cli(
        "secrets", "rotate-key", "--new-key-file", str(new_file), *_db_args(settings),
        env={**NO_KEYS, "POSTINO_SECRET_KEY": settings.secret_key, "POSTINO_OLD_SECRET_KEY": "not-the-key-at-all-123"},
        check=False,
    )
    assert wrong.returncode == 1
    assert _said(wrong.stderr, "nothing changed: webhook secrets, row")
    assert "not-the-key-at-all-123" not in wrong.stderr + wrong.stdout and SECRET not in wrong.stderr + wrong.stdout
    assert await _stored(core) == before

    without = run_cli(
        "secrets", "rotate-key", *_db_args(settings), env={**NO_KEYS, "POSTINO_SECRET_KEY": settings.secret_key},
        check=False,
    )
    assert without.returncode == 1 and _said(without.stderr, "give the new key with --new-key-file")  # never a guess


async def test_a_key_kept_in_the_data_folder_is_replaced_there(settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "node"
    env = {**NO_KEYS, "POSTINO_SECRET_KEY": "", "POSTINO_ALLOW_PRIVATE_URLS": "true"}
    run_cli("accounts", "create", "--email", "ops@example.com", "--password", "ops password 1",
            *_db_args(settings, data), env=env)
    added = json.loads(run_cli(
        "webhooks", "add", "--email", "ops@example.com", "--url", "http://127.0.0.1:9/h", "--events", "message.sent",
        "--json", *_db_args(settings, data), env=env,
    ).stdout)
    key_file = data / "secret_key"
    old_key = key_file.read_text().strip()

    done = run_cli("secrets", "rotate-key", "--json", *_db_args(settings, data), env=env)
    report = json.loads(done.stdout)
    new_key = key_file.read_text().strip()
    assert new_key != old_key and len(new_key) == 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (data / "secret_key.new").exists()
    assert report["old_key_id"] == sealed.Sealer(old_key).key_id
    assert report["new_key_id"] == sealed.Sealer(new_key).key_id
    assert report["reencrypted"]["webhook secrets"] == 1 and report["key_file"] == str(key_file)
    assert old_key not in done.stdout and new_key not in done.stdout

    # The next command (and the next `serve`) reads the new key from the same file.
    listed = json.loads(run_cli(
        "webhooks", "list", "--email", "ops@example.com", "--json", *_db_args(settings, data), env=env
    ).stdout)
    assert [h["secret_hint"] for h in listed] == [added["secret"][-4:]]

    # A rotation that fails leaves the key file as it was and nothing beside it.
    failed = run_cli(
        "secrets", "rotate-key", *_db_args(settings, data), env={**env, "POSTINO_OLD_SECRET_KEY": old_key}, check=False
    )
    assert failed.returncode == 1 and _said(failed.stderr, "nothing changed")
    assert key_file.read_text().strip() == new_key and not (data / "secret_key.new").exists()

    # A leftover from a rotation cut short may hold the only copy of a key: it is never overwritten.
    (data / "secret_key.new").write_text("left over")
    refused = run_cli("secrets", "rotate-key", *_db_args(settings, data), env=env, check=False)
    assert refused.returncode == 1 and _said(refused.stderr, "secret_key.new exists: an earlier rotation stopped")
    assert (data / "secret_key.new").read_text() == "left over" and key_file.read_text().strip() == new_key
