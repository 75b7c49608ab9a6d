"""The requests the fuzz tests found answered with a 5xx (or no well-formed answer), kept as they were found.

Each was a crash before: the dialect's parsing let a value through that Python, the
database or the renderer could not take (a time zone that is a folder, a header that is
no ASCII, a date that is in the year 10000 once in UTC, a JSON-escaped lone surrogate, a
control character in XML, a NUL character, which PostgreSQL stores in no text column).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.device_api.helpers import API, device_of, queue, register, signed
from tests.messaggisms.conftest import add_phone

from .hostile import Call
from .test_device_api_fuzz import assert_phone_answer
from .test_messaggisms_fuzz import assert_envelope
from .test_native_api_fuzz import assert_native_answer
from .test_nusasms_fuzz import assert_json_api_answer, assert_v3_answer
from .test_sg24_fuzz import assert_sg24_answer

JSON = {"Content-Type": "application/json"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("zone", ["America", "Europe/" + "x" * 300])
async def test_sg24_a_time_zone_that_is_a_folder_or_too_long(client, account, zone) -> None:  # noqa: ANN001
    call = Call("GET", "/getdata/getallsms", {}, query=f"token={account.sg24_token}&timezone={zone}")
    response = await call.send(client)
    assert_sg24_answer(call, response)
    assert response.json() == {"error": 1, "message": "Wrong timezone"}


NOT_ASCII_BASIC = b"Basic \xc3("


async def test_messaggisms_basic_credentials_that_are_no_ascii(client) -> None:  # noqa: ANN001
    call = Call("GET", "/tokens/", {"Authorization": NOT_ASCII_BASIC})
    response = await call.send(client)
    assert_envelope(call, response)
    assert (response.status_code, response.json()["error"]) == (401, 100)


@pytest.mark.parametrize(("method", "path"), [("GET", f"{API}/user/code"), ("POST", f"{API}/device")])
async def test_phone_api_basic_credentials_that_are_no_ascii(client, method, path) -> None:  # noqa: ANN001
    call = Call(method, path, {"Authorization": NOT_ASCII_BASIC, **JSON}, body=b"{}")
    response = await call.send(client)
    assert_phone_answer(call, response)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/tokens/", b'{"name": "crm", "expires_at": "9999-12-31T23:59:59-14:00"}'),
        ("/messages/", b'{"sender": "alberto", "body": "x", "recipients": "+39-3491234567", '
                       b'"options": {"timestamp_send": "01-01-0001"}}'),
    ],
)
async def test_messaggisms_times_past_9999_or_before_1_in_utc(client, core, account, path, body) -> None:  # noqa: ANN001
    await add_phone(core, account.id)
    call = Call("POST", path, {**bearer(account.bearer_token), **JSON}, body=body)
    response = await call.send(client)
    assert_envelope(call, response)
    assert (response.status_code, response.json()["error"]) == (422, 303)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/tokens/", b'{"name": "\\ud800"}'),
        ("/messages/", b'{"sender": "alberto", "body": "Ciao \\ud800", "recipients": "+39-3491234567"}'),
        ("/messages/", b'{"sender": "alberto", "body": "Ciao", "recipients": ["+39-3491234567", "+39-\\udfff"]}'),
    ],
)
async def test_messaggisms_json_with_a_lone_surrogate(client, core, account, path, body) -> None:  # noqa: ANN001
    await add_phone(core, account.id)
    call = Call("POST", path, {**bearer(account.bearer_token), **JSON}, body=body)
    response = await call.send(client)
    assert_envelope(call, response)
    assert (response.status_code, response.json()["error"]) == (400, 300)


async def test_nusasms_v3_json_with_a_lone_surrogate_is_a_syntax_error(client, account, phone) -> None:  # noqa: ANN001
    body = b'{"user": "\\ud800", "password": "x", "SMSText": "a", "GSM": "3491234567", "output": "json"}'
    call = Call("POST", "/api/v3/sendsms/plain", JSON, body=body)
    response = await call.send(client)
    assert_v3_answer(call, response)
    assert "<status>-22</status>" in response.text


async def test_nusasms_v3_xml_echoing_control_characters_stays_xml(client, account, phone) -> None:  # noqa: ANN001
    query = f"user={account.email}&password={account.password}&SMSText=a&GSM=%01%08%1f%EF%BF%BE"
    call = Call("GET", "/api/v3/sendsms/plain", {}, query=query.replace("@", "%40").replace(" ", "%20"))
    response = await call.send(client)
    assert_v3_answer(call, response)
    (result,) = ET.fromstring(response.content)
    assert result.findtext("status") == "-11"


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"])
async def test_phone_times_past_9999_or_before_1_in_utc_are_ignored(client, core, account, moment) -> None:  # noqa: ANN001
    reg = await register(client, account.device_registration_token)
    device = await device_of(core, reg["id"])
    (message_id,) = await queue(core, account.id, device.id, "x")
    await client.get(f"{API}/message", headers=bearer(reg["token"]))
    report = f'[{{"id": "{message_id}", "state": "Sent", "states": {{"Sent": "{moment}"}}}}]'.encode()
    call = Call("PATCH", f"{API}/message", {**bearer(reg["token"]), **JSON}, body=report)
    response = await call.send(client)
    assert_phone_answer(call, response)
    assert response.status_code == 204
    hook = f'{{"event": "sms:received", "payload": {{"message": "x", "phoneNumber": "6505551212", "receivedAt": "{moment}"}}}}'
    call = Call("POST", f"{API}/hooks/{reg['id']}", signed(device.webhook_key, hook.encode()), body=hook.encode())
    response = await call.send(client)
    assert_phone_answer(call, response)
    assert response.status_code == 204


async def test_native_webhook_secret_with_a_lone_surrogate(client, account) -> None:  # noqa: ANN001
    body = b'{"url": "https://hooks.example.com/", "events": ["message.delivered"], "secret": "0123456789abcdef\\ud800"}'
    call = Call("POST", "/api/v1/webhooks", {**bearer(account.bearer_token), **JSON}, body=body)
    response = await call.send(client)
    assert_native_answer(call, response)
    assert response.status_code == 422 and response.json()["error"]["field"] == "secret"


CHECKS = {"sg24": assert_sg24_answer, "messaggisms": assert_envelope, "nusasms": assert_json_api_answer,
          "v3": assert_v3_answer, "phone": assert_phone_answer, "native": assert_native_answer}
NUL_REQUESTS = [  # api, method, path, query, body; {sg24} and {phone} are filled in
    ("sg24", "GET", "/getdata/addsms", "token={sg24}&sendto=%2B393491234567&body=x%00&device_id={phone}", ""),
    ("sg24", "POST", "/getdata/addalotofsms", "",
     '{"token": "{sg24}", "smsdata": [{"sendto": "+393491234567", "body": "x\\u0000", "device_id": {phone}}]}'),
    ("sg24", "GET", "/getdata/gettoken", "email=a%00%40b.c&pass=x", ""),
    ("messaggisms", "POST", "/messages/", "", '{"sender": "alberto", "body": "x\\u0000", "recipients": "+39-3491234567"}'),
    ("messaggisms", "POST", "/tokens/", "", '{"name": "crm\\u0000"}'),
    ("nusasms", "POST", "/nusasms_api/1.0/whatsapp/message", "", '{"destination": "6281234567890", "message": "x\\u0000"}'),
    ("nusasms", "GET", "/nusasms_api/1.0/whatsapp/status/1%00", "", ""),
    ("v3", "GET", "/api/v3/sendsms/plain", "user=a%00&password=x&SMSText=x&GSM=3491234567&output=json", ""),
    ("phone", "PATCH", "/api/mobile/v1/device", "", '{"id": "{device}", "name": "p\\u0000"}'),
    ("phone", "POST", "/api/mobile/v1/hooks/x%00", "", "{}"),
    ("native", "PATCH", "/api/v1/devices/{phone}", "", '{"name": "p\\u0000"}'),
]


@pytest.mark.parametrize(("api", "method", "path", "query", "body"), NUL_REQUESTS,
                         ids=[f"{api}-{path}" for api, _, path, _, _ in NUL_REQUESTS])
async def test_a_nul_character_is_refused_in_each_apis_words(  # noqa: PLR0913
    client, account, phone, unlimited, api: str, method: str, path: str, query: str, body: str,  # noqa: ANN001
) -> None:
    """PostgreSQL stores no NUL in a text column (SQLite does): each API refuses one as bad input."""
    reg = await register(client, account.device_registration_token)
    values = {"{sg24}": account.sg24_token, "{phone}": str(phone), "{device}": reg["id"]}

    def fill(text: str) -> str:
        for name, value in values.items():
            text = text.replace(name, value)
        return text

    if api == "phone":
        headers = {**bearer(reg["token"]), "X-Signature": "00", "X-Timestamp": "1", **JSON}
    else:
        headers = {**bearer(account.bearer_token), "APIKey": account.api_key, **JSON}
    call = Call(method, fill(path), headers, query=fill(query), body=fill(body).encode() if body else None)
    response = await call.send(client)
    CHECKS[api](call, response)
    if api == "sg24":
        assert response.json()["error"] == 1, response.text
    elif api == "v3":
        assert "<status>-22</status>" in response.text
    else:
        assert 400 <= response.status_code < 500, response.text


async def test_messaggisms_a_recipient_number_with_a_nul(client, core, account) -> None:  # noqa: ANN001
    await add_phone(core, account.id)
    h = {**bearer(account.bearer_token), **JSON}
    sent = await client.post("/messages/", json={"sender": "alberto", "body": "x", "recipients": "+39-3491234567"}, headers=h)
    call = Call("GET", f"/messages/{sent.json()['data'][0]['id']}/recipients/%2B39-3491234567%00/", h)
    response = await call.send(client)
    assert_envelope(call, response)
    assert (response.status_code, response.json()["message"]) == (404, "No recipient found")
