"""NusaSMS under hostile input: the JSON API (``/nusasms_api/1.0/``) and the v3 SMS API.

JSON API answers are its envelope (``error, error_code, message, data``) or FastAPI's
422 ``{"detail": [...]}``; v3 answers are ``<results><result><status>…`` (or, with
``output=json``, ``{"results": [...]}``; ``cmd=CREDITS`` a flat ``{"status": …}``), with
no ``-99`` (the status of a crash) and never a 5xx.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
import xml.etree.ElementTree as ET

import httpx
import hypothesis.strategies as st
import pytest_asyncio
from hypothesis import given

from tests.nusasms.conftest import PNG, WA_SENDER, wa_phone

from .hostile import Call, Route, answered, calls, fuzz_settings, json_of, no_server_error, redirect_within, unmutated

JSON_API = "/nusasms_api/1.0"
ENVELOPE = {"error", "error_code", "message", "data"}
V3_PREFIXES = ("/api/v3", "/api/command")
V3_CRASH = "-99"
SOON = (datetime.now() + timedelta(days=30)).strftime("%Y-%m-%d %H:%M")
"""v3 schedules at most a year ahead."""


def json_api(api_key: str, ref_no: str) -> list[Route]:
    h = {"APIKey": api_key, "Accept": "application/json"}
    body = ("json", "form", "multipart")
    send = {"destination": "6281234567890", "sender": WA_SENDER, "timeout": 3600, "is_group": False}
    return [
        Route("GET", f"{JSON_API}/auth/api_key", {}, h, ("query",)),
        Route("GET", f"{JSON_API}/balance", {}, h, ("query",)),
        Route("POST", f"{JSON_API}/whatsapp/message", {**send, "message": "Halo \\U0001F600"}, h, body),
        Route("POST", f"{JSON_API}/whatsapp/media",
              {**send, "media_base64": base64.b64encode(PNG).decode(), "caption": "foto", "file_name": "a.png"}, h, body),
        Route("GET", f"{JSON_API}/whatsapp/status/{{ref_no}}", {}, h, ("query",), {"ref_no": ref_no}),
        Route("POST", f"{JSON_API}/wa_phone_check", {"phone_numbers": ["6281234567890", "6281234567891"]}, h, body),
    ]


def v3_api(email: str, password: str, ref_no: str) -> list[Route]:
    login = {"user": email, "password": password}
    plain = {**login, "SMSText": "Kode OTP 4711", "GSM": "+393491234567,3491234568", "output": "json", "unicode": "0",
             "otp": "1", "senddatetime": SOON, "sender": ""}
    group = {**login, "SMSText": "Promo", "group": "clients", "unicode": "1", "otp": "0"}
    credits = {**login, "cmd": "CREDITS", "type": "sms", "output": "json"}
    report = {**login, "cmd": "DR", "ref_no": ref_no}
    any_way = ("query", "form", "multipart", "json")
    return [
        Route("GET", "/api/v3/sendsms/plain", plain, encodings=("query",), prefix="/api/v3"),
        Route("POST", "/api/v3/sendsms/plain", plain, encodings=any_way, prefix="/api/v3"),
        Route("GET", "/api/v3/sendsms/group", group, encodings=("query",), prefix="/api/v3"),
        Route("POST", "/api/v3/sendsms/group", group, encodings=any_way, prefix="/api/v3"),
        Route("GET", "/api/command", credits, encodings=("query",), prefix="/api/command"),
        Route("POST", "/api/command", report, encodings=any_way, prefix="/api/command"),
    ]


def assert_json_api_answer(call: Call, response: httpx.Response) -> None:
    no_server_error(call, response)
    if (call.method == "HEAD" and not response.content) or redirect_within(call, response, JSON_API):
        return
    body = json_of(call, response)
    assert isinstance(body, dict), answered(call, response)
    if response.status_code == 422:
        assert set(body) == {"detail"} and isinstance(body["detail"], list) and body["detail"], answered(call, response)
        for error in body["detail"]:
            assert {"loc", "msg", "type"} <= set(error) and isinstance(error["msg"], str), answered(call, response)
        return
    assert ENVELOPE <= set(body), answered(call, response)
    assert isinstance(body["error"], bool) and isinstance(body["message"], str), answered(call, response)
    assert isinstance(body["error_code"], int) and not isinstance(body["error_code"], bool), answered(call, response)
    assert body["error"] is (response.status_code >= 400), answered(call, response)
    if body["error"]:
        assert body["data"] is None and body["error_code"] == response.status_code, answered(call, response)


def v3_statuses(call: Call, response: httpx.Response) -> list[str]:
    """The ``status`` of every result of a v3 answer, XML or JSON."""
    if response.headers.get("content-type", "").startswith("application/xml"):
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError:
            raise AssertionError(f"not XML: {answered(call, response)}") from None
        assert root.tag == "results" and len(root), answered(call, response)
        assert all(r.tag == "result" and r.find("status") is not None for r in root), answered(call, response)
        return [r.findtext("status") or "" for r in root]
    body = json_of(call, response)
    assert isinstance(body, dict), answered(call, response)
    if "results" in body:
        assert isinstance(body["results"], list) and body["results"], answered(call, response)
        assert all(isinstance(r, dict) and isinstance(r.get("status"), str) for r in body["results"]), answered(call, response)
        return [r["status"] for r in body["results"]]
    assert isinstance(body.get("status"), str) and {"value", "type"} <= set(body), answered(call, response)  # CREDITS
    return [body["status"]]


def assert_v3_answer(call: Call, response: httpx.Response) -> None:
    no_server_error(call, response)
    if (call.method == "HEAD" and not response.content) or redirect_within(call, response, "/api/"):
        return
    statuses = v3_statuses(call, response)
    assert V3_CRASH not in statuses, answered(call, response)
    assert all(s == "0" or (s.startswith("-") and s[1:].isdigit()) for s in statuses), answered(call, response)


@pytest_asyncio.fixture
async def sent(client, core, account, phone, unlimited) -> dict[str, str]:  # noqa: ANN001
    """A WhatsApp message and an SMS to ask about."""
    await wa_phone(core, account.id)
    wa = await client.post(f"{JSON_API}/whatsapp/message", headers={"APIKey": account.api_key},
                           json={"destination": "6281234567890", "message": "Halo"})
    sms = await client.get("/api/v3/sendsms/plain", params={"user": account.email, "password": account.password,
                                                             "SMSText": "x", "GSM": "3491234567", "output": "json"})
    await client.get("/getdata/savetag", params={"token": account.sg24_token, "title": "clients"})
    return {"wa": wa.json()["data"]["ref_no"], "sms": sms.json()["results"][0]["messageid"]}


@pytest_asyncio.fixture
async def json_routes(account, sent) -> list[Route]:  # noqa: ANN001
    return json_api(account.api_key, sent["wa"])


@pytest_asyncio.fixture
async def v3_routes(client, account, sent) -> list[Route]:  # noqa: ANN001
    # A group for sendsms/group: a tag with a contact.
    tags = (await client.get("/getdata/savetag", params={"token": account.sg24_token, "title": "clients"})).json()
    await client.get("/getdata/savecontact", params={"token": account.sg24_token, "phone": "3491234567",
                                                     "ctag_id": tags["tag_id"], "fullname": "Ada"})
    return v3_api(account.email, account.password, sent["sms"])


async def test_every_route_accepts_the_requests_the_fuzzing_starts_from(client, json_routes, v3_routes) -> None:  # noqa: ANN001
    for route in json_routes:
        call = unmutated(route)
        response = await call.send(client)
        assert response.status_code < 300, answered(call, response)
        assert_json_api_answer(call, response)
    for route in v3_routes:
        call = unmutated(route)
        response = await call.send(client)
        assert set(v3_statuses(call, response)) == {"0"}, answered(call, response)


@fuzz_settings
@given(data=st.data())
async def test_nusasms_json_api_answers_hostile_requests_in_its_format(client, json_routes, data) -> None:  # noqa: ANN001
    call = data.draw(calls(json_routes, JSON_API), label="call")
    assert_json_api_answer(call, await call.send(client))


@fuzz_settings
@given(data=st.data())
async def test_nusasms_v3_answers_hostile_requests_with_a_status(client, v3_routes, data) -> None:  # noqa: ANN001
    call = data.draw(calls(v3_routes), label="call")
    assert_v3_answer(call, await call.send(client))
