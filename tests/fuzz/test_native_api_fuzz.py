"""Postino's own API (``/api/v1``) under hostile input: webhooks and devices.

Every refusal is the documented ``{"error": {"code", "message", "field"}}``, never a 5xx.
"""

from __future__ import annotations

import httpx
import hypothesis.strategies as st
import pytest_asyncio
from hypothesis import given

from .hostile import Call, Route, answered, calls, fuzz_settings, json_of, no_server_error, redirect_within, unmutated

API = "/api/v1"


def native_routes(bearer: str, webhook_id: int, spare_webhook_id: int, device_id: int) -> list[Route]:
    h = {"Authorization": f"Bearer {bearer}"}
    body = ("json", "form")
    hook = {"url": "https://hooks.example.com/postino", "events": ["message.delivered", "message.failed"],
            "secret": "0123456789abcdef0123"}
    change = {"name": "Pixel 8", "delay_between_sms": 2, "delay_between_request": 30}
    return [
        Route("GET", f"{API}/webhooks", {}, h, ("query",)),
        Route("POST", f"{API}/webhooks", hook, h, body),
        Route("GET", f"{API}/webhooks/{{id}}/deliveries", {"limit": 10}, h, ("query",), {"id": webhook_id}),
        Route("DELETE", f"{API}/webhooks/{{id}}", {}, h, ("query",), {"id": spare_webhook_id}),
        Route("GET", f"{API}/devices", {}, h, ("query",)),
        Route("PATCH", f"{API}/devices/{{id}}", change, h, body, {"id": device_id}),
    ]


def assert_native_answer(call: Call, response: httpx.Response) -> None:
    no_server_error(call, response)
    if (call.method == "HEAD" and not response.content) or redirect_within(call, response, API):
        return
    if response.status_code == 204:
        assert response.content == b"", answered(call, response)
        return
    body = json_of(call, response)
    assert isinstance(body, dict), answered(call, response)
    if response.status_code >= 400:
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}, answered(call, response)
        error = body["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str), answered(call, response)
        assert error["field"] is None or isinstance(error["field"], str), answered(call, response)


@pytest_asyncio.fixture
async def routes(client, account, phone) -> list[Route]:  # noqa: ANN001
    h = {"Authorization": f"Bearer {account.bearer_token}"}
    hook = {"url": "https://hooks.example.com/kept", "events": ["message.delivered"]}
    kept = (await client.post(f"{API}/webhooks", json=hook, headers=h)).json()["id"]
    spare = (await client.post(f"{API}/webhooks", json=hook, headers=h)).json()["id"]
    return native_routes(account.bearer_token, kept, spare, phone)


async def test_every_route_accepts_the_request_the_fuzzing_starts_from(client, routes) -> None:  # noqa: ANN001
    for route in routes:
        call = unmutated(route)
        response = await call.send(client)
        assert response.status_code < 300, answered(call, response)
        assert_native_answer(call, response)


@fuzz_settings
@given(data=st.data())
async def test_the_native_api_answers_hostile_requests_in_its_format(client, routes, data) -> None:  # noqa: ANN001
    call = data.draw(calls(routes, API), label="call")
    response = await call.send(client)
    assert_native_answer(call, response)
    if response.status_code == 201:  # an account has at most 20 webhooks: stay below, so creating one gets far
        await client.delete(f"{API}/webhooks/{response.json()['id']}", headers=routes[0].headers)
