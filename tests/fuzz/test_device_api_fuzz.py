"""The phones' API (``/api/mobile/v1``) under hostile input: registration, pulls, reports, webhooks.

Whatever a phone (or something pretending to be one) sends, a refusal is the app's
``{"message": …}`` with a 4xx status, never a 5xx. The webhook receiver's requests are
signed with the phone's key, so their bodies are parsed, not just refused unsigned.
"""

from __future__ import annotations

import base64
from dataclasses import replace

import httpx
import hypothesis.strategies as st
import pytest_asyncio
from hypothesis import given

from tests.device_api.helpers import API, APP_AGENT, device_of, queue, register, signed

from .hostile import Call, Route, answered, calls, fuzz_settings, json_of, no_server_error, redirect_within, unmutated

SIM_CARDS = [{"slotIndex": 0, "simNumber": 1, "phoneNumber": "+393331112222"}, {"slotIndex": 1, "simNumber": 2}]


def phone_routes(registration: str, token: str, ext_id: str, login: tuple[str, str], message_id: int) -> list[Route]:
    as_phone = {"Authorization": f"Bearer {token}", **APP_AGENT}
    as_user = {"Authorization": "Basic " + base64.b64encode(":".join(login).encode()).decode()}
    report = [{"id": str(message_id), "state": "Sent",
               "recipients": [{"phoneNumber": "+393491234567", "state": "Sent"}],
               "states": {"Sent": "2024-06-22T15:46:11.000+07:00"}}]
    received = {"event": "sms:received", "deviceId": ext_id,
                "payload": {"messageId": "abc", "message": "Ciao", "phoneNumber": "6505551212", "simNumber": 1,
                            "receivedAt": "2024-06-22T15:46:11.000+07:00"}}
    delivered = {"event": "sms:delivered", "payload": {"messageId": str(message_id), "deliveredAt": 1719046000000}}
    return [
        Route("POST", f"{API}/device", {"name": "Pixel 8", "pushToken": None, "simCards": SIM_CARDS},
              {"Authorization": f"Bearer {registration}", **APP_AGENT}),
        Route("GET", f"{API}/device", {}, as_phone, ("query",)),
        Route("PATCH", f"{API}/device",
              {"id": ext_id, "pushToken": "fcm-token", "name": "Pixel", "simCards": SIM_CARDS}, as_phone),
        Route("GET", f"{API}/message", {"order": "lifo"}, as_phone, ("query",)),
        Route("PATCH", f"{API}/message", report, as_phone),
        Route("GET", f"{API}/settings", {}, as_phone, ("query",)),
        Route("GET", f"{API}/webhooks", {}, as_phone, ("query",)),
        Route("GET", f"{API}/user/code", {}, as_user, ("query",)),
        Route("POST", f"{API}/hooks/{{ext_id}}", received, {}, path_params={"ext_id": ext_id}),
        Route("POST", f"{API}/hooks/{{ext_id}}", delivered, {}, path_params={"ext_id": ext_id}),
    ]


def assert_phone_answer(call: Call, response: httpx.Response) -> None:
    no_server_error(call, response)
    if (call.method == "HEAD" and not response.content) or redirect_within(call, response, "/api/mobile/"):
        return
    if response.status_code == 204:
        assert response.content == b"", answered(call, response)
        return
    body = json_of(call, response)
    if response.status_code >= 400:
        assert isinstance(body, dict) and set(body) == {"message"}, answered(call, response)
        assert isinstance(body["message"], str) and body["message"], answered(call, response)


class Phone:
    """The registered phone: its routes, and the key that signs what it posts to the webhook receiver."""

    def __init__(self, routes: list[Route], webhook_key: str) -> None:
        self.routes = routes
        self.webhook_key = webhook_key

    def signed(self, call: Call) -> Call:
        if "/hooks/" not in call.path or call.files is not None:
            return call
        body = call.body or b""
        signature = {k: v for k, v in signed(self.webhook_key, body).items() if k != "Content-Type"}
        return replace(call, headers={**call.headers, **signature})


@pytest_asyncio.fixture
async def android(client, core, account) -> Phone:  # noqa: ANN001
    reg = await register(client, account.device_registration_token, simCards=SIM_CARDS)
    device = await device_of(core, reg["id"])
    (message_id,) = await queue(core, account.id, device.id, "Il tuo codice: 4711")
    routes = phone_routes(account.device_registration_token, reg["token"], reg["id"], (account.email, account.password),
                          message_id)
    return Phone(routes, device.webhook_key)


async def test_every_route_accepts_the_request_the_fuzzing_starts_from(client, android) -> None:  # noqa: ANN001
    for route in android.routes:
        call = android.signed(unmutated(route))
        response = await call.send(client)
        assert response.status_code < 300, answered(call, response)
        assert_phone_answer(call, response)


@fuzz_settings
@given(data=st.data())
async def test_the_phone_api_answers_hostile_requests_in_its_format(client, android, data) -> None:  # noqa: ANN001
    call = android.signed(data.draw(calls(android.routes, API), label="call"))
    assert_phone_answer(call, await call.send(client))
