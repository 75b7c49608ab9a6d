"""MessaggiSMS under hostile input: ``/messages/`` and ``/tokens/``, bodies, queries and path ids.

Whatever is sent, the answer is the provider's envelope, exactly ``data, success, message,
credit, error`` (``success: false`` with an ``error`` code on every refusal), never a 5xx.
"""

from __future__ import annotations

import base64

import httpx
import hypothesis.strategies as st
import pytest_asyncio
from hypothesis import given

from tests.messaggisms.conftest import add_phone

from .hostile import Call, Route, answered, calls, fuzz_settings, json_of, no_server_error, redirect_within, unmutated

ENVELOPE = {"data", "success", "message", "credit", "error"}
BODY = ("json", "json-as-form", "form")
NUMBER = "+39-3491234567"


def endpoints(bearer: str, login: tuple[str, str], open_id: str, other_id: str, token_id: int) -> list[Route]:
    h = {"Authorization": f"Bearer {bearer}"}
    basic = {"Authorization": "Basic " + base64.b64encode(":".join(login).encode()).decode()}
    message = {"sender": "alberto", "body": "Ciao {{name}}", "recipients": [{"number": NUMBER, "fields": {"name": "Ada"}}],
               "priority": 1, "test": False, "transaction": False,
               "options": {"timestamp_send": "2031-01-01", "flash": False, "custom": "order-1"}}
    change = {"recipients": ["+39-3491234568"], "options": {"timestamp_send": "20-05-2031", "flash": True},
              "transaction": True}
    token = {"name": "crm", "expires_at": "2031-01-01T00:00:00Z", "scopes": ["messages:read", "messages:write"]}
    page = {"page": 1, "per_page": 10}
    return [
        Route("POST", "/messages/", message, h, BODY),
        Route("GET", "/messages/", page, h, ("query",)),
        Route("GET", "/messages/{id}/", {}, h, ("query",), {"id": open_id}),
        Route("PUT", "/messages/{id}/", change, h, BODY, {"id": open_id}),
        Route("DELETE", "/messages/{id}/", {}, h, ("query",), {"id": other_id}),
        Route("GET", "/messages/{id}/recipients/", page, h, ("query",), {"id": open_id}),
        Route("GET", "/messages/{id}/recipients/{number}/", {}, h, ("query",), {"id": open_id, "number": NUMBER}),
        Route("POST", "/tokens/", token, h, BODY),
        Route("POST", "/tokens/", token, basic, BODY),
        Route("GET", "/tokens/", {}, h, ("query",)),
        Route("DELETE", "/tokens/{id}/", {}, h, ("query",), {"id": token_id}),
    ]


def assert_envelope(call: Call, response: httpx.Response) -> None:
    no_server_error(call, response)
    if (call.method == "HEAD" and not response.content) or redirect_within(call, response, "/"):
        return
    body = json_of(call, response)
    assert isinstance(body, dict) and set(body) == ENVELOPE, answered(call, response)
    assert isinstance(body["message"], str), answered(call, response)
    assert body["credit"] is None or isinstance(body["credit"], str), answered(call, response)
    if response.status_code < 300:
        assert body["success"] is True and body["error"] is None, answered(call, response)
    else:
        assert body["success"] is False and body["data"] is None, answered(call, response)
        assert isinstance(body["error"], int) and not isinstance(body["error"], bool), answered(call, response)


@pytest_asyncio.fixture
async def routes(client, core, account) -> list[Route]:  # noqa: ANN001
    await add_phone(core, account.id)
    h = {"Authorization": f"Bearer {account.bearer_token}"}
    opened = await client.post("/messages/", json={"sender": "alberto", "body": "open", "recipients": NUMBER,
                                                   "transaction": True}, headers=h)
    later = await client.post("/messages/", json={"sender": "alberto", "body": "later", "recipients": NUMBER,
                                                  "options": {"timestamp_send": "2031-01-01"}}, headers=h)
    token = await client.post("/tokens/", json={"name": "spare"}, headers=h)
    return endpoints(account.bearer_token, (account.email, account.password), opened.json()["data"][0]["id"],
                     later.json()["data"][0]["id"], token.json()["data"]["id"])


async def test_every_route_accepts_the_request_the_fuzzing_starts_from(client, routes) -> None:  # noqa: ANN001
    for route in routes:
        call = unmutated(route)
        response = await call.send(client)
        assert response.status_code < 300, answered(call, response)
        assert_envelope(call, response)


@fuzz_settings
@given(data=st.data())
async def test_messaggisms_answers_hostile_requests_in_its_envelope(client, routes, data) -> None:  # noqa: ANN001
    call = data.draw(calls(routes), label="call")
    assert_envelope(call, await call.send(client))
