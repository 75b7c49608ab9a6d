"""The seed's and the provider's OpenAPI examples, replayed: same fields, same JSON types.

Masked numbers of the examples (``+39-349xxxxx18``) get digits in place of the x's; the
rest of each request is sent as written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT

from .conftest import bearer, deliver

HERE = Path(__file__).parent
REFERENCE = HERE / "reference" / "messaggisms.openapi.json"
SHARED = ROOT.parent / "shared" / "reference" / "messaggisms.openapi.json"


def reference() -> dict:
    return json.loads(REFERENCE.read_text())


def example(path: str, method: str, status: str) -> Any:
    return reference()["paths"][path][method]["responses"][status]["content"]["application/json"]["example"]


def request_example(path: str, method: str) -> Any:
    return reference()["paths"][path][method]["requestBody"]["content"]["application/json"]["example"]


def unmask(value: Any) -> Any:
    return json.loads(json.dumps(value).replace("x", "7"))


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def assert_shape(actual: Any, expected: Any, where: str = "$") -> None:
    """Every field of ``expected`` is in ``actual`` with the same JSON type, recursively."""
    assert kind(actual) == kind(expected), f"{where}: {kind(actual)} != {kind(expected)} ({actual!r})"
    if isinstance(expected, dict):
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing in {sorted(actual)}"
            assert_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list) and expected:
        assert actual, f"{where}: empty, expected items like {expected[0]!r}"
        for i, item in enumerate(actual):
            assert_shape(item, expected[0], f"{where}[{i}]")


def test_vendored_reference_is_the_original() -> None:
    if SHARED.exists():
        assert REFERENCE.read_bytes() == SHARED.read_bytes()


async def test_post_example(client, alice, phone, h) -> None:
    sent = unmask(request_example("/messages/", "post"))
    assert sent == {"test": False, "sender": "alberto", "body": "test invio", "recipients": "+39-3497777718"}
    r = await client.post("/messages/", json=sent, headers=h)
    assert r.status_code == 201
    expected = example("/messages/", "post", "201")
    answer = r.json()
    assert_shape(answer, expected)
    assert list(answer) == ["data", "success", "message", "credit", "error"]
    m = answer["data"][0]
    assert answer["message"] == "Message Queued" and answer["success"] is True and answer["error"] is None
    assert (m["test"], m["sender"], m["body"], m["transaction"], m["state"]) == (False, "alberto", "test invio", False, 0)
    assert m["recipients"] == {"valid": {"count": 1}, "invalid": {"total": 0, "list": []}}
    assert m["statistics"] == {"error": 0, "sent": 0, "delivered": 0, "total": 1, "sms_total": 1}
    assert m["priority"] == 1 and m["price"] == m["base_price"] == 0.045
    assert len(m["id"]) == 24 and int(m["id"], 16) >= 0 and m["id"] == m["id"].lower()
    assert m["timestamp"].isdigit() and m["options"]["timestamp_send"] == m["timestamp"]
    assert answer["credit"] == "99.955"


async def test_list_example(client, alice, phone, h) -> None:
    for sender in ("alberto", "3939989741", "Simone"):
        r = await client.post("/messages/", json={"sender": sender, "body": "x", "recipients": "+39-3491234567"}, headers=h)
        assert r.status_code == 201
    r = await client.get("/messages/", headers=h)
    assert r.status_code == 200
    assert_shape(r.json(), example("/messages/", "get", "200"))
    assert r.json()["message"] == "3 Results"
    assert [m["sender"] for m in r.json()["data"]] == ["Simone", "3939989741", "alberto"]  # newest first
    paged = (await client.get("/messages/?page=2&per_page=2", headers=h)).json()
    assert [m["sender"] for m in paged["data"]] == ["alberto"] and paged["message"] == "1 Result"


async def test_get_one_example(client, core, alice, phone, h) -> None:
    """The GET example is a realtime flash message with custom data and a callback, delivered."""
    expected = example("/messages/{id}", "get", "200")
    options = expected["data"][0]["options"]
    sent = {"sender": "Simone", "body": "Production test 4 ", "recipients": ["+39-3491234567"], "options": options}
    r = await client.post("/messages/", json=sent, headers=h)
    assert r.status_code == 201, r.text
    mid = r.json()["data"][0]["id"]
    await deliver(core, phone.id)
    r = await client.get(f"/messages/{mid}/", headers=h)
    assert r.status_code == 200
    assert_shape(r.json(), expected)
    m = r.json()["data"][0]
    assert r.json()["message"] == "1 Result"
    assert m["options"] == options  # as sent, timestamp_send included
    assert m["statistics"] == {"error": 0, "sent": 1, "delivered": 1, "total": 1, "sms_total": 1}
    assert m["state"] == 2
    assert int(m["last_update"]) >= int(m["timestamp"])


async def test_get_one_errors(client, alice, h) -> None:
    r = await client.get("/messages/nothex/", headers=h)
    assert r.status_code == 406 and r.json() == {**example("/messages/{id}", "get", "406"), "credit": "100"}
    r = await client.get("/messages/5cf7cc139f272546624d3795", headers=h)
    assert r.status_code == 404
    assert (r.json()["error"], r.json()["message"], r.json()["data"]) == (203, "No message found", None)
    assert_shape(r.json(), example("/messages/", "get", "404"))


async def test_put_example(client, alice, phone, h) -> None:
    r = await client.post(
        "/messages/",
        json={"sender": "alberto", "body": "test invio", "recipients": ["+39-3491234561", "+39-3491234562", "+39-3491234563"],
              "transaction": True},
        headers=h,
    )
    assert r.status_code == 201 and r.json()["message"] == "Transaction Opened"
    mid = r.json()["data"][0]["id"]
    sent = unmask(request_example("/messages/{id}", "put"))
    assert sent == {"recipients": ["+39-3777777115"], "options": {"timestamp_send": "2023-12-25"}}
    r = await client.put(f"/messages/{mid}/", json=sent, headers=h)
    assert r.status_code == 200, r.text
    expected = example("/messages/{id}", "put", "200")
    assert_shape(r.json(), expected)
    m = r.json()["data"]
    assert r.json()["message"] == "Updated"
    assert (m["transaction"], m["state"], m["recipients"]["valid"]["count"]) == (True, 0, 4)
    assert m["statistics"] == {"error": 0, "sent": 0, "delivered": 0, "total": 4, "sms_total": 4}
    assert m["options"]["timestamp_send"] == "1703458800000"  # 2023-12-25 00:00 in Rome
    assert r.json()["credit"] == "100"  # an open transaction is not charged


async def test_put_errors(client, alice, phone, h) -> None:
    r = await client.put("/messages/123/", json={"recipients": []}, headers=h)
    assert (r.status_code, r.json()["error"]) == (406, 210)
    assert_shape(r.json(), example("/messages/{id}", "put", "406"))
    r = await client.put("/messages/5cf7cc139f272546624d3795/", json={"recipients": []}, headers=h)
    assert (r.status_code, r.json()["error"], r.json()["message"]) == (404, 211, "No message found")
    r = await client.post("/messages/", json={"sender": "alberto", "body": "x", "recipients": "+39-3491234567"}, headers=h)
    mid = r.json()["data"][0]["id"]
    r = await client.put(f"/messages/{mid}/", json={"recipients": ["+39-3491234568"]}, headers=h)
    assert r.status_code == 422
    assert r.json() == {**example("/messages/{id}", "put", "422"), "credit": "99.955"}


async def test_delete_example(client, alice, phone, h) -> None:
    r = await client.post("/messages/", json={"sender": "alberto", "body": "x", "recipients": "+39-3491234567"}, headers=h)
    mid = r.json()["data"][0]["id"]
    r = await client.delete(f"/messages/{mid}/", headers=h)
    assert r.status_code == 200
    expected = example("/messages/{id}", "delete", "200")
    assert_shape(r.json(), expected)
    assert r.json()["data"] == [] and r.json()["message"] == f"{mid} Deleted"
    assert (await client.get(f"/messages/{mid}", headers=h)).json()["data"][0]["state"] == 3


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [("/messages/", 400, 217), ("/messages/zz/", 406, 218), ("/messages/5cf7cc139f272546624d3795/", 404, 219)],
)
async def test_delete_errors(client, alice, h, path: str, status: int, code: int) -> None:
    r = await client.delete(path, headers=h)
    assert (r.status_code, r.json()["error"], r.json()["data"], r.json()["success"]) == (status, code, None, False)
    assert r.json()["message"] == example("/messages/{id}", "delete", str(status))["message"]


async def test_delete_after_sending_is_refused(client, core, alice, phone, h) -> None:
    r = await client.post("/messages/", json={"sender": "alberto", "body": "x", "recipients": "+39-3491234567"}, headers=h)
    mid = r.json()["data"][0]["id"]
    await deliver(core, phone.id, to="sent")
    r = await client.delete(f"/messages/{mid}", headers=h)
    assert r.status_code == 422
    assert r.json() == {**example("/messages/{id}", "delete", "422"), "credit": "99.955"}


async def test_delete_after_a_phone_took_it_is_refused(client, core, alice, phone, h) -> None:
    r = await client.post("/messages/", json={"sender": "alberto", "body": "x", "recipients": "+39-3491234567"}, headers=h)
    mid = r.json()["data"][0]["id"]
    from postino.core.messages import queue

    async with core.unit() as unit:  # what the phone's GET /message does: the message is handed to it
        assert len(await queue.claim_for_device(unit, phone.id, limit=10)) == 1
    r = await client.delete(f"/messages/{mid}/", headers=h)
    assert r.status_code == 422
    assert r.json() == {**example("/messages/{id}", "delete", "422"), "credit": "99.955"}
    assert (await client.get(f"/messages/{mid}/", headers=h)).json()["data"][0]["state"] != 3


async def test_recipients_example(client, core, alice, phone, h) -> None:
    r = await client.post("/messages/", json={"sender": "alberto", "body": "test summary2", "recipients": ["+39-3495155018"]},
                          headers=h)
    mid = r.json()["data"][0]["id"]
    await deliver(core, phone.id)
    expected = example("/messages/{id}/recipients/", "get", "200")
    expected["credit"] = "90.2"  # typed string by the schema; only the example writes a number
    for path in (f"/messages/{mid}/recipients/", f"/messages/{mid}/recipients/%2B39-3495155018",
                 f"/messages/{mid}/recipients/+39-3495155018/"):
        r = await client.get(path, headers=h)
        assert r.status_code == 200, path
        assert_shape(r.json(), expected)
        item = r.json()["data"][0]
        assert (item["number"], item["prefix"], item["send_id"], item["i"]) == ("+39-3495155018", "+39", f"{mid}_0", 0)
        assert (item["state"], item["state_description"], item["sms"], item["remaining_chr"]) == (
            "DELIVERED", "DELIVERED_TO_HANDSET", 1, 147)
        assert item["message_id"] == mid and len(item["id"]) == 24 and item["fields"] == []
        assert item["report"]["to"] == "393495155018" and item["report"]["status"]["groupName"] == "DELIVERED"
        assert int(item["timestamp_delivery"]["$date"]["$numberLong"]) >= int(item["timestamp_sent"]["$date"]["$numberLong"])
    r = await client.get(f"/messages/{mid}/recipients/+39-3490000000", headers=h)
    assert (r.status_code, r.json()["error"]) == (404, 203)
    r = await client.get("/messages/abc/recipients/", headers=h)
    assert r.json() == {**example("/messages/{id}/recipients/", "get", "406"), "credit": "99.955"}


async def test_post_errors(client, core, h) -> None:
    r = await client.post("/messages/", json={"sender": "alberto", "recipients": "+39-3491234567"}, headers=h)
    assert r.status_code == 422
    assert r.json() == {**example("/messages/", "post", "422"), "credit": "100"}
    from tests.conftest import make_account

    poor = await make_account(core, "poor@example.com", "poor password", credit="0.1", enforce=True)
    from .conftest import add_phone

    await add_phone(core, poor.id)
    r = await client.post("/messages/", json={"sender": "alberto", "body": "x", "recipients": ["+39-3491234567"] * 3},
                          headers=bearer(poor.bearer_token))
    assert r.status_code == 402
    assert_shape(r.json(), example("/messages/", "post", "402"))
    assert r.json()["error"] == 201
    assert r.json()["message"] == "Current User credit is not enough. 0.135 needed 0.1 \u20ac available"
