"""Secrets Postino must use again are stored sealed with the server key, and only opened where used."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from postino.core.accounts import sealed
from postino.core.devices import devices
from postino.core.events import outbox as outbox_core
from postino.core.events import webhooks
from postino.core.service import Core
from postino.db.tables import devices as devices_table
from postino.db.tables import outbox as outbox_table
from postino.db.tables import webhooks as webhooks_table
from postino.dispatch.outbox import claim
from postino.settings import Settings
from postino.wiring import install_listeners

from .device_api.helpers import register

SECRET = "whsec_a-secret-only-the-receiver-knows"
KEY = sealed.Sealer("the-server-key-of-these-tests-0123456789")


# --- the format ------------------------------------------------------------------------


@given(st.text(max_size=200))
def test_what_is_sealed_opens_to_the_same_text(clear: str) -> None:
    stored = KEY.seal(clear)
    assert stored.startswith(f"enc1:{KEY.key_id}:")
    assert KEY.open(stored) == clear


def test_equal_secrets_seal_differently_and_say_which_key() -> None:
    first, second = KEY.seal(SECRET), KEY.seal(SECRET)
    assert first != second  # a fresh nonce each time: equal secrets do not show as equal rows
    assert SECRET not in first
    assert sealed.key_id_of(first) == KEY.key_id and KEY.owns(first)
    assert sealed.key_id_of(SECRET) is None
    assert sealed.Sealer("the-server-key-of-these-tests-0123456789").key_id == KEY.key_id  # derived, stable


def test_a_wrong_key_or_an_altered_value_raises_never_returns_garbage() -> None:
    stored = KEY.seal(SECRET)
    other = sealed.Sealer("another-server-key-entirely-0000000000")
    with pytest.raises(sealed.OtherKey) as wrong:
        other.open(stored)
    assert wrong.value.key_id == KEY.key_id and wrong.value.expected == other.key_id
    assert "rotate-key" in str(wrong.value)

    prefix, body = stored[: stored.rindex(":") + 1], stored[stored.rindex(":") + 1 :]
    flipped = body[:-6] + ("A" if body[-6] != "A" else "B") + body[-5:]
    with pytest.raises(sealed.Damaged):
        KEY.open(prefix + flipped)
    with pytest.raises(sealed.Damaged):
        KEY.open(prefix + body[:20])
    with pytest.raises(sealed.Damaged):
        KEY.open(prefix + "not base64 at all!")
    # The key id is authenticated too: a value relabelled with another key's id does not open there.
    relabelled = stored.replace(KEY.key_id, other.key_id, 1)
    with pytest.raises(sealed.Damaged):
        other.open(relabelled)
    with pytest.raises(sealed.NotSealed):
        KEY.open(SECRET)
    with pytest.raises(sealed.Unreadable, match="enc9"):
        KEY.open("enc9:" + stored[5:])


def test_errors_and_reprs_never_show_a_secret_or_a_key() -> None:
    server_key = "the-server-key-of-these-tests-0123456789"
    stored = KEY.seal(SECRET)
    messages = [repr(KEY)]
    for bad in (SECRET, stored.replace(KEY.key_id, "AAAAAAAA"), stored[:-8] + "AAAAAAAA"):
        with pytest.raises(sealed.Unreadable) as caught:
            KEY.open(bad)
        messages.append(str(caught.value))
    for text in messages:
        assert SECRET not in text and server_key not in text and stored not in text


def test_the_columns_hold_the_longest_sealed_secret() -> None:
    longest = "😀" * webhooks.MAX_SECRET  # 4 bytes of UTF-8 per character
    sealed_longest = KEY.seal(longest)
    assert len(sealed_longest) == sealed.sealed_length(len(longest.encode()))
    assert len(sealed_longest) <= webhooks_table.c.secret.type.length
    assert len(sealed_longest) <= outbox_table.c.secret.type.length
    assert len(KEY.seal("f" * 32)) <= devices_table.c.webhook_key.type.length  # token_hex(16)


# --- what the database holds -----------------------------------------------------------


async def _stored(core: Core, column, where) -> list[str]:  # noqa: ANN001
    async with core.reader() as unit:
        return list((await unit.conn.execute(select(column).where(where))).scalars())


async def test_a_webhook_secret_is_stored_sealed_and_its_deliveries_copy_it_sealed(core, alice) -> None:
    async with core.unit() as unit:
        hook = await webhooks.create(
            unit, alice.id, url="https://example.com/hook", events=["campaign.finished"], secret=SECRET
        )
        generated = await webhooks.create(unit, alice.id, url="https://example.com/other", events=["campaign.finished"])
        await webhooks.emit(unit, alice.id, "campaign.finished", {"id": 1})
    assert hook.secret == SECRET and generated.secret.startswith("whsec_")
    assert SECRET not in repr(hook) and generated.secret not in repr(generated)

    stored = await _stored(core, webhooks_table.c.secret, webhooks_table.c.account_id == alice.id)
    copies = await _stored(core, outbox_table.c.secret, outbox_table.c.account_id == alice.id)
    assert len(stored) == 2 and len(copies) == 2
    for value in stored + copies:
        assert value.startswith("enc1:") and SECRET not in value and generated.secret not in value
    key = sealed.for_settings(core.settings)
    assert sorted(key.open(v) for v in stored) == sorted(key.open(v) for v in copies) == sorted(
        [SECRET, generated.secret]
    )

    async with core.reader() as unit:
        listed = await webhooks.list_for(unit, alice.id)
        again = await webhooks.get(unit, alice.id, hook.id)
    assert again.secret == SECRET
    assert {h.public()["secret_hint"] for h in listed} == {SECRET[-4:], generated.secret[-4:]}


async def test_a_clear_secret_given_to_the_outbox_is_sealed_there(core, alice) -> None:
    async with core.unit() as unit:
        row_id = await outbox_core.enqueue(
            unit, account_id=alice.id, event="custom", url="https://example.com/cb", payload={}, secret=SECRET
        )
        unsigned = await outbox_core.enqueue(unit, account_id=alice.id, event="custom", url="https://x.test/", payload={})
    (stored,) = await _stored(core, outbox_table.c.secret, outbox_table.c.id == row_id)
    assert stored.startswith("enc1:") and SECRET not in stored
    assert outbox_core.open_secret(core.settings, stored) == SECRET
    assert await _stored(core, outbox_table.c.secret, outbox_table.c.id == unsigned) == [None]


async def test_a_phone_key_is_stored_sealed_and_served_in_clear(client, core, alice) -> None:
    reg = await register(client, alice.device_registration_token)
    settings_json = (
        await client.get("/api/mobile/v1/settings", headers={"Authorization": f"Bearer {reg['token']}"})
    ).json()
    key = settings_json["webhooks"]["signing_key"]
    assert len(key) == 32
    (stored,) = await _stored(core, devices_table.c.webhook_key, devices_table.c.ext_id == reg["id"])
    assert stored.startswith("enc1:") and key not in stored
    async with core.reader() as unit:
        device = await devices.by_ext_id(unit, reg["id"])
    assert device is not None and device.webhook_key == key
    assert key not in repr(device) and stored not in repr(device)

    async with core.unit() as unit:
        registered, _token = await devices.register(unit, alice.id, name="made in core")
    (stored,) = await _stored(core, devices_table.c.webhook_key, devices_table.c.id == registered.id)
    assert stored.startswith("enc1:") and registered.webhook_key not in stored


# --- a server with another key ---------------------------------------------------------


@pytest_asyncio.fixture
async def stranger(settings: Settings) -> AsyncIterator[Core]:
    """A second process on the same database, started with another server key."""
    c = install_listeners(Core(settings.model_copy(update={"secret_key": "a-different-server-key-000000000"})))
    yield c
    await c.db.dispose()


async def test_a_server_with_another_key_leaves_signed_deliveries_pending(core, stranger, alice, caplog) -> None:
    async with core.unit() as unit:
        await webhooks.create(unit, alice.id, url="https://example.com/hook", events=["campaign.finished"], secret=SECRET)
        await webhooks.emit(unit, alice.id, "campaign.finished", {"id": 1})
        await outbox_core.enqueue(unit, account_id=alice.id, event="custom", url="https://example.com/cb", payload={})
    outbox_core._last_unreadable_log = -1e9
    with caplog.at_level(logging.ERROR, logger="postino.outbox"):
        taken = await claim(stranger, 10, Counter())
    # The unsigned callback goes; the signed one is neither sent unsigned nor given up.
    assert [(c.event, c.secret) for c in taken] == [("custom", None)]
    async with core.reader() as unit:
        signed = (
            await unit.conn.execute(select(outbox_table).where(outbox_table.c.event == "campaign.finished"))
        ).one()
    assert signed.state == "pending" and signed.attempts == 0
    (record,) = [r for r in caplog.records if "cannot be decrypted" in r.getMessage()]
    message = record.getMessage()
    assert sealed.for_settings(core.settings).key_id in message and SECRET not in message and signed.secret not in message

    # The right key takes it, with the secret in clear for signing (and not in the repr).
    (mine,) = await claim(core, 10, Counter())
    assert mine.secret == SECRET and SECRET not in repr(mine)

    # Reading rows never needs the key (phones are still found, messages still routed);
    # using a secret does, and says why it cannot.
    async with core.unit() as unit:
        phone, _token = await devices.register(unit, alice.id, name="pixel")
    async with stranger.reader() as unit:
        (hook,) = await webhooks.list_for(unit, alice.id)
        found = await devices.by_ext_id(unit, phone.ext_id)
    assert found is not None and found.id == phone.id
    with pytest.raises(sealed.OtherKey):
        hook.secret  # noqa: B018
    with pytest.raises(sealed.OtherKey):
        found.webhook_key  # noqa: B018
