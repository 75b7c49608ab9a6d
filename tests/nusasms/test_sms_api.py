"""The v3 SMS API over HTTP: seed 004's examples in XML and JSON, and every status code."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from postino.core.accounts import accounts, billing
from postino.core.clock import utcnow
from postino.core.contacts import contacts
from postino.core.messages import lifecycle, messages, queue
from tests.conftest import make_account

from . import seed
from .conftest import sms_phone, wa_phone

PLAIN = "/api/v3/sendsms/plain"


@pytest.fixture
async def ida(core):  # noqa: ANN001, ANN201
    """An Indonesian account with an SMS phone (numbers starting with 0 are read as +62)."""
    info = await make_account(core, "ida@example.co.id", "ida password 1", country="ID", timezone="Asia/Jakarta")
    await sms_phone(core, info.id)
    return info


def creds(who, **params: str) -> dict[str, str]:  # noqa: ANN001
    return {"user": who.email, "password": who.password, **params}


async def plain(client, params: dict, *, method: str = "GET", how: str = "query") -> httpx.Response:  # noqa: ANN001
    if method == "GET":
        return await client.get(PLAIN, params=params)
    if how == "query":
        return await client.post(PLAIN, params=params)
    if how == "multipart":
        return await client.post(PLAIN, files={k: (None, v) for k, v in params.items()})
    return await client.post(PLAIN, data=params)


async def status_of(client, params: dict, **kw) -> str:  # noqa: ANN001, ANN003
    r = await plain(client, {**params, "output": "json"}, **kw)
    assert r.status_code == 200
    return r.json()["results"][0]["status"]


# --- the seed's examples ----------------------------------------------------------------


async def test_plain_sms_xml_replays_the_seed(client, ida) -> None:
    r = await plain(client, creds(ida, SMSText="Hello NusaSMS!", GSM="6285100803380"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    [result] = seed.xml_results(r.text)
    [example] = seed.xml_results(seed.V3_OK_XML)
    assert list(result) == list(example)
    assert result["status"] == "0" and result["destination"] == "6285100803380" and result["messageid"].isdigit()
    assert r.text.startswith('<?xml version="1.0" encoding="UTF-8"?><results><result><status>0</status><messageid>')


async def test_plain_sms_json_with_otp_replays_the_seed(client, core, ida) -> None:
    r = await plain(client, creds(ida, SMSText="Kode OTP anda 123456", GSM="628510080XXXX".replace("XXXX", "3380"), otp="Y", output="json"))
    body = r.json()
    seed.same_shape(body, seed.V3_OK_JSON)
    result = body["results"][0]
    assert result["status"] == "0" and result["destination"] == "6285100803380"
    async with core.reader() as unit:
        row = await messages.get(unit, ida.id, int(result["messageid"]))
    assert row.urgent is True and row.body == "Kode OTP anda 123456"


async def test_wrong_user_or_password_replays_the_seed(client, ida) -> None:
    r = await plain(client, {"user": ida.email, "password": "wrong", "SMSText": "Hello", "GSM": "6285100803380"})
    assert seed.xml_results(r.text) == seed.xml_results(seed.V3_AUTH_XML)
    r = await plain(client, {"user": "nobody", "password": "x", "SMSText": "Hello", "GSM": "6285100803380", "output": "json"})
    assert r.json() == seed.V3_AUTH_JSON


async def test_unrecognised_destination_replays_the_seed(client, core) -> None:
    # An account whose default country is the US: 085100803380 is no US number, so it is not recognised.
    alice = await make_account(core, "us@example.com", "us password 1", country="US")
    await sms_phone(core, alice.id)
    r = await plain(client, creds(alice, SMSText="Hello", GSM="085100803380"))
    assert seed.xml_results(r.text) == seed.xml_results(seed.V3_BAD_DEST_XML)
    r = await plain(client, creds(alice, SMSText="Hello", GSM="12", output="json"))
    seed.same_shape(r.json(), seed.V3_BAD_DEST_JSON)
    assert r.json()["results"][0]["status"] == "-13"


async def test_group_replays_the_seed(client, core, ida) -> None:
    async with core.unit() as unit:
        tag = await contacts.create_tag(unit, ida.id, "Example")
        await contacts.add_contact(unit, ida.id, tag.id, "6281234567890")
        await contacts.add_contact(unit, ida.id, tag.id, "6281234567891")
    r = await client.get("/api/v3/sendsms/group", params=creds(ida, SMSText="Hello NusaSMS!", group="Example"))
    [result] = seed.xml_results(r.text)
    assert list(result) == list(seed.xml_results(seed.V3_GROUP_XML)[0])
    assert result["status"] == "0" and result["group"] == "Example"
    assert result["campaign_name"].startswith("Group-Api-Campaign-")
    _, hex7, n = result["campaign_name"].rsplit("-", 2)
    assert len(hex7) == 7 and int(hex7, 16) >= 0 and n.isdigit()
    async with core.reader() as unit:
        sent = await messages.of_batch(unit, ida.id, int(n))
    assert sorted(m.recipient for m in sent) == ["+6281234567890", "+6281234567891"]
    r = await client.post("/api/v3/sendsms/group", data=creds(ida, SMSText="Hi", group="Example", output="json"))
    seed.same_shape(r.json(), seed.V3_GROUP_JSON)


async def test_group_missing_or_empty_is_55(client, core, ida) -> None:
    async with core.unit() as unit:
        await contacts.create_tag(unit, ida.id, "Empty")
    for group in ("Example", "Empty"):
        r = await client.get("/api/v3/sendsms/group", params=creds(ida, SMSText="Hello NusaSMS!", group=group))
        [result] = seed.xml_results(r.text)
        assert result["status"] == "-55" and result["group"] == group
        assert list(result) == list(seed.xml_results(seed.V3_GROUP_FAIL_XML)[0])
    r = await client.get("/api/v3/sendsms/group", params=creds(ida, SMSText="x", group="Example", output="json"))
    seed.same_shape(r.json(), seed.V3_GROUP_FAIL_JSON)


async def test_credits_command_json_and_xml(client, core, ida) -> None:
    async with core.unit() as unit:
        await billing.top_up(unit, ida.id, "wa", Decimal("5"), expires_at=utcnow() + timedelta(days=30))
    r = await client.get("/api/command", params=creds(ida, cmd="CREDITS", type="sms", output="json"))
    assert r.json() == {"status": "0", "value": "100", "expiredDate": "", "type": "sms"}
    r = await client.get("/api/command", params=creds(ida, cmd="CREDITS", type="wa", output="json"))
    body = r.json()
    assert body["value"] == "105" and len(body["expiredDate"]) == 10 and body["type"] == "wa"
    r = await client.get("/api/command", params=creds(ida, cmd="CREDITS", type="hlr"))
    assert seed.xml_results(r.text) == [{"status": "0", "value": "0", "expiredDate": "", "type": "hlr"}]
    r = await client.get("/api/command", params={"user": ida.email, "password": "no", "cmd": "CREDITS", "output": "json"})
    assert r.json()["status"] == "-5"


async def test_dr_command_follows_the_lifecycle(client, core, ida) -> None:
    r = await plain(client, creds(ida, SMSText="Hello", GSM="085100803380", output="json"))
    ref = r.json()["results"][0]["messageid"]

    async def dr(output: str = "json") -> dict:
        answer = await client.get("/api/command", params=creds(ida, cmd="DR", ref_no=ref, output=output))
        return answer.json()["results"][0] if output == "json" else seed.xml_results(answer.text)[0]

    assert await dr() == {"status": "0", "messageid": ref, "destination": "6285100803380", "dr_status": "QUEUED"}
    async with core.unit() as unit:
        await lifecycle.move(unit, [int(ref)], lifecycle.SENT)
    assert (await dr("xml"))["dr_status"] == "SENT"
    async with core.unit() as unit:
        await lifecycle.move(unit, [int(ref)], lifecycle.DELIVERED)
    assert (await dr())["dr_status"] == "DELIVERED"
    unknown = await client.get("/api/command", params=creds(ida, cmd="DR", ref_no="766387461827000", output="json"))
    assert unknown.json()["results"][0]["status"] == "-1"


# --- how clients send parameters --------------------------------------------------------


@pytest.mark.parametrize(("method", "how"), [("GET", "query"), ("POST", "query"), ("POST", "form"), ("POST", "multipart")])
async def test_parameters_in_query_form_or_multipart_and_username(client, ida, method: str, how: str) -> None:
    params = {"username": ida.email, "password": ida.password, "SMSText": "Hello", "GSM": "6285100803380"}
    assert await status_of(client, params, method=method, how=how) == "0"


async def test_multi_number_gsm_gives_one_result_each(client, ida) -> None:
    r = await plain(client, creds(ida, SMSText="Hello", GSM="6285100803380,085100803381,abc", output="json"))
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["0", "0", "-11"]
    assert [x["destination"] for x in results] == ["6285100803380", "6285100803381", "abc"]
    assert results[0]["messageid"] != results[1]["messageid"] and results[2]["messageid"] == ""


async def test_long_and_unicode_texts_are_charged_per_segment(client, core, ida) -> None:
    before = (await _sms_balance(core, ida.id))
    assert await status_of(client, creds(ida, SMSText="a" * 161, GSM="6285100803380")) == "0"  # 2 GSM parts
    assert await status_of(client, creds(ida, SMSText="hello", GSM="6285100803380", unicode="1")) == "0"  # 1 UCS-2
    async with core.reader() as unit:
        account = await accounts.get(unit, ida.id)
    assert before - await _sms_balance(core, ida.id) == account.price("sms_segment") * 3


async def _sms_balance(core, account_id: int) -> Decimal:  # noqa: ANN001
    async with core.reader() as unit:
        return (await billing.balance(unit, account_id, "sms")).amount


# --- every status code of the table ---------------------------------------------------------


async def test_credit_and_expiry_codes(client, core) -> None:
    poor = await make_account(core, "poor@example.com", "poor password", credit=None, enforce=True, country="ID")
    await sms_phone(core, poor.id)
    assert await status_of(client, creds(poor, SMSText="Hi", GSM="6285100803380")) == "-2"
    async with core.unit() as unit:
        await billing.top_up(unit, poor.id, "sms", Decimal("5"), expires_at=utcnow() - timedelta(days=1))
    assert await status_of(client, creds(poor, SMSText="Hi", GSM="6285100803380")) == "-7"


async def test_request_level_codes(client, core, ida) -> None:
    base = creds(ida, SMSText="Hello", GSM="6285100803380")
    assert await status_of(client, {**base, "GSM": ""}) == "-6"
    assert await status_of(client, {**base, "SMSText": ""}) == "-12"
    assert await status_of(client, {**base, "otp": "perhaps"}) == "-22"
    assert await status_of(client, {**base, "senddatetime": "tomorrow at noon"}) == "-27"
    assert await status_of(client, {**base, "pushurl": "ftp://example.com/dr"}) == "-28"
    assert await status_of(client, {**base, "appid": "not-mine"}) == "-30"
    assert await status_of(client, {**base, "sender": "This sender is far too long"}) == "-34"
    assert await status_of(client, {**base, "SMSText": "x" * 10_001}) == "-23"
    broken = await client.post(
        PLAIN, content=b"user=x&password=y", headers={"content-type": "multipart/form-data"},  # no boundary
    )  # fmt: skip
    assert seed.xml_results(broken.text)[0]["status"] == "-22"
    scheduled = await plain(client, {**base, "senddatetime": "2099-01-01 10:00:00", "output": "json"})
    assert scheduled.json()["results"][0]["status"] == "-27"  # more than a year ahead
    soon = (utcnow() + timedelta(hours=2)).astimezone(accounts.ZoneInfo("Asia/Jakarta")).strftime("%Y-%m-%d %H:%M:%S")
    later = await plain(client, {**base, "senddatetime": soon, "output": "json"})
    ref = later.json()["results"][0]["messageid"]
    async with core.reader() as unit:
        assert (await messages.get(unit, ida.id, int(ref))).state == lifecycle.SCHEDULED


async def test_account_setting_codes(client, core, ida) -> None:
    async with core.unit() as unit:
        await accounts.update_settings(
            unit, ida.id, ip_allowlist=["10.0.0.0/8"], covered_prefixes=["+62"], sms_senders=["NUSA"],
            app_ids=["app-1"], enforce_otp_route=True, daily_limit_per_destination=3,
        )  # fmt: skip
    base = creds(ida, SMSText="Hello", GSM="6285100803380")
    assert await status_of(client, base) == "-40"  # the test client is not in 10/8
    inside = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=client._transport.app, client=("10.1.2.3", 40000)), base_url="http://testserver"
    )
    async with inside:
        assert await status_of(inside, base) == "0"
        assert await status_of(inside, {**base, "sender": "NUSA", "appid": "app-1"}) == "0"
        assert await status_of(inside, {**base, "sender": "OTHER"}) == "-34"
        assert await status_of(inside, {**base, "GSM": "393491234567"}) == "-3"
        assert await status_of(inside, {**base, "SMSText": "Your OTP code is 482913"}) == "-10"
        assert await status_of(inside, {**base, "SMSText": "Your OTP code is 482913", "otp": "Y"}) == "0"
        assert await status_of(inside, base) == "-78"  # the fourth message to one number today


async def test_spam_guard_and_duplicate_message_id(client, core, ida) -> None:
    base = creds(ida, SMSText="Same text", GSM="6285100803380")
    assert await status_of(client, base) == "0"
    async with core.unit() as unit:  # nine more of the same today, through core to keep the test quick
        account = await accounts.get(unit, ida.id)
        await messages.submit(unit, account, [messages.Draft(recipient="+6285100803380", body="Same text")] * 9)
    assert await status_of(client, base) == "-77"
    assert await status_of(client, {**base, "SMSText": "Other text"}) == "0"
    other = creds(ida, SMSText="with my id", GSM="6285100803381", messageid="client-42")
    r = await plain(client, {**other, "output": "json"})
    assert r.json()["results"][0] == {"status": "0", "messageid": "client-42", "destination": "6285100803381"}
    assert await status_of(client, other) == "-33"
    dr = await client.get("/api/command", params=creds(ida, cmd="DR", ref_no="client-42", output="json"))
    assert dr.json()["results"][0]["dr_status"] == "QUEUED"


async def test_no_route_is_88(client, core) -> None:
    lonely = await make_account(core, "lonely@example.com", "lonely password", country="ID")
    await wa_phone(core, lonely.id, sms=False)  # WhatsApp only: nothing can send SMS
    assert await status_of(client, creds(lonely, SMSText="Hi", GSM="6285100803380")) == "-88"


async def test_database_and_unexpected_failures(client, ida, monkeypatch) -> None:
    base = creds(ida, SMSText="Hello", GSM="6285100803380")

    async def unreachable(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OperationalError("INSERT", {}, ConnectionError("database went away"))

    monkeypatch.setattr(messages, "submit", unreachable)
    assert await status_of(client, base) == "-26"

    async def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("bug")

    monkeypatch.setattr(messages, "submit", broken)
    assert await status_of(client, base) == "-99"


async def test_otp_jumps_the_queue(client, core, ida) -> None:
    await plain(client, creds(ida, SMSText="newsletter", GSM="6285100803380"))
    r = await plain(client, creds(ida, SMSText="Kode OTP anda 123456", GSM="6285100803381", otp="Y", output="json"))
    otp_id = int(r.json()["results"][0]["messageid"])
    async with core.reader() as unit:
        device_id = (await messages.get(unit, ida.id, otp_id)).device_id
    async with core.unit() as unit:
        claimed = await queue.claim_for_device(unit, device_id)
    assert claimed[0].id == otp_id
