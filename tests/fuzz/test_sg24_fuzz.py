"""SmsGateway24 under hostile input: every ``/getdata/`` method, every way its fields travel.

Whatever is sent, the answer is SmsGateway24's own: ``{"error": 1, "message": …}`` (HTTP
200, or 404 for an unknown method) or a success with ``error: 0``, never a 5xx.
"""

from __future__ import annotations

import httpx
import hypothesis.strategies as st
import pytest_asyncio
from hypothesis import given

from .hostile import Call, Route, answered, calls, fuzz_settings, json_of, no_server_error, redirect_within

GET, POST = ("query",), ("form", "json", "multipart", "json-as-form")


def methods(token: str, email: str, password: str, device_id: int, tag_id: int, sms_id: int) -> list[Route]:
    """A request every method accepts, over GET (query string) and over POST (any body)."""
    send = {"sendto": "+393491234567", "body": "Il tuo codice: 4711", "device_id": device_id, "sim": 0,
            "timetosend": "2031-01-01 10:00:00", "customerid": "order-1", "urgent": 0}
    fields = {
        "gettoken": {"email": email, "pass": password},
        "addsms": {"token": token, **send},
        "smstosend": {"email": email, "pass": password, **send},
        "addalotofsms": {"token": token, "datajson": '{"smsdata": [{"sendto": "+393491234567", "body": "x", '
                                                     f'"device_id": {device_id}}}]}}'},
        "getallsms": {"token": token, "device_id": device_id, "status": 1, "begindate": "2024-01-01",
                      "enddate": "2031-01-01 00:00", "sim": 0, "customerid": "order-1", "phone": "3491234567",
                      "onlycount": 0, "orderbydesc": 1, "timezone": "Europe/Rome", "limit": 10, "offset": 0},
        "savetag": {"token": token, "title": "clients"},
        "savecontact": {"token": token, "phone": "3491234567", "ctag_id": tag_id, "fullname": "Ada"},
        "savepaket": {"token": token, "title": "news", "device_id": device_id, "body": "Ciao", "tags": str(tag_id),
                      "sim": 0, "time_to_send": "01.01.2031 10:00"},
        "getalldevices": {"token": token},
        "getsmsstatus": {"token": token, "sms_id": sms_id},
        "getdevicestatus": {"token": token, "device_id": device_id},
    }
    bulk_json = {"token": token, "smsdata": [{"sendto": "+393491234567", "body": "x", "device_id": device_id}]}
    return [
        *(Route("GET", f"/getdata/{name}", values, encodings=GET) for name, values in fields.items()),
        *(Route("POST", f"/getdata/{name}", values, encodings=POST) for name, values in fields.items()),
        Route("POST", "/getdata/addalotofsms", bulk_json, encodings=("json", "json-as-form")),
    ]


def assert_sg24_answer(call: Call, response: httpx.Response) -> None:
    no_server_error(call, response)
    if (call.method == "HEAD" and not response.content) or redirect_within(call, response, "/getdata/"):
        return
    body = json_of(call, response)
    assert isinstance(body, dict) and body.get("error") in (0, 1), answered(call, response)
    if body["error"] == 1:
        assert isinstance(body.get("message"), str) and body["message"], answered(call, response)
        assert response.status_code in (200, 404), answered(call, response)
        if response.status_code == 404:
            assert body == {"error": 1, "message": "Unknown method"}, answered(call, response)
    else:
        assert response.status_code == 200, answered(call, response)


@pytest_asyncio.fixture
async def routes(client, account, phone) -> list[Route]:  # noqa: ANN001
    token = account.sg24_token
    tag = (await client.get("/getdata/savetag", params={"token": token, "title": "t"})).json()["tag_id"]
    sent = await client.get("/getdata/addsms", params={"token": token, "sendto": "+393491234567", "body": "x",
                                                       "device_id": phone})
    return methods(token, account.email, account.password, phone, tag, sent.json()["sms_id"])


@fuzz_settings
@given(data=st.data())
async def test_sg24_answers_hostile_requests_in_its_own_format(client, routes, data) -> None:  # noqa: ANN001
    call = data.draw(calls(routes, "/getdata"), label="call")
    assert_sg24_answer(call, await call.send(client))
