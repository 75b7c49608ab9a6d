"""Schemathesis over Postino's own ``/openapi.json``, against a running ``postino serve``.

Every operation the document lists is called with data generated from its schema, data
that fits it and data that does not, signed in with the credentials that operation
takes (an SmsGateway24 token, a bearer token, a NusaSMS API key, a phone's token, a
login), so the handlers behind authentication are reached too. No answer may be a 5xx,
and no answer may carry a header its operation documents in a wrong form. It runs on
both engines, in about 40 seconds on two cores.
"""

from __future__ import annotations

import base64
from collections import Counter

import hypothesis.strategies as st
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_headers_conformance

from postino.core.devices import devices
from tests.conftest import AccountInfo
from tests.support import ServerProcess

EXAMPLES = 10
"""Per operation and generation mode (positive, negative), for some 85 operations."""
LOGIN_PATHS = ("/getdata/gettoken", "/getdata/smstosend")
STREAMS = ("/api/mobile/v1/events",)
"""Server-Sent Events: the answer never ends, so only its status line is read."""
CHECKS = [not_a_server_error, response_headers_conformance]


class Credentials:
    """What each API of Postino signs in with, for one account and its phone."""

    def __init__(self, email: str, password: str, sg24: str, bearer: str, api_key: str, registration: str,
                 device: str) -> None:
        self.email, self.password = email, password
        self.sg24, self.bearer, self.api_key = sg24, bearer, api_key
        self.registration, self.device = registration, device

    def fields(self, path: str) -> dict[str, str]:
        """Query or body fields that sign the request in."""
        if path in LOGIN_PATHS:
            return {"email": self.email, "pass": self.password}
        if path.startswith("/getdata/"):
            return {"token": self.sg24}
        if path.startswith(("/api/v3/", "/api/command")):
            return {"user": self.email, "password": self.password}
        return {}

    def headers(self, method: str, path: str) -> dict[str, str]:
        if path.startswith("/nusasms_api/"):
            return {"APIKey": self.api_key}
        if path == "/api/mobile/v1/device" and method == "POST":
            return {"Authorization": f"Bearer {self.registration}"}
        if path.startswith("/api/mobile/"):
            return {"Authorization": f"Bearer {self.device}"}
        if path.startswith(("/api/v1/", "/messages/", "/tokens/")):
            return {"Authorization": f"Bearer {self.bearer}"}
        if path.startswith(("/3rdparty/", "/api/3rdparty/")):  # SMS Gate: the account's login
            return {"Authorization": "Basic " + base64.b64encode(f"{self.email}:{self.password}".encode()).decode()}
        return {}

    def sign_in(self, case: schemathesis.Case) -> schemathesis.Case:
        path, method = case.operation.path, case.method.upper()
        fields = self.fields(path)
        if fields:
            if method == "POST" and isinstance(case.body, dict):
                case.body.update(fields)
            else:
                case.query = {**(case.query or {}), **fields}
        for name, value in self.headers(method, path).items():
            case.headers[name] = value
        return case


async def _credentials(core, info: AccountInfo) -> Credentials:  # noqa: ANN001
    """``info``'s credentials and those of a phone registered for it."""
    async with core.unit() as unit:
        _device, token = await devices.register(
            unit, info.id, name="fuzz phone", sim_cards=[{"slotIndex": 0, "simNumber": 1}]
        )
    return Credentials(info.email, info.password, info.sg24_token, info.bearer_token, info.api_key,
                       info.device_registration_token, token)


def _strategy(operation: schemathesis.APIOperation, who: Credentials) -> st.SearchStrategy:
    """Fitting and unfitting data, plus the document's own examples, every case signed in."""
    generated = [operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    return st.one_of([*generated, *operation.get_strategies_from_examples()]).map(who.sign_in)


def _sg24_ok(response: requests.Response) -> bool:
    """An SmsGateway24 answer says ``error: 0`` (its refusals are HTTP 200 too)."""
    try:
        return response.json().get("error") == 0
    except (ValueError, AttributeError):
        return False


async def test_no_operation_of_the_openapi_document_answers_a_server_error(core, settings, account, tmp_path) -> None:  # noqa: ANN001
    who = await _credentials(core, account)
    # The server shares the key core sealed the phone's webhook key with.
    server = ServerProcess(
        tmp_path / "server", settings.database_url, env={"POSTINO_SECRET_KEY": settings.secret_key}
    ).start()
    session = requests.Session()
    try:
        schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
        failures: list[str] = []
        answered: Counter[str] = Counter()
        sg24_accepted: Counter[str] = Counter()
        for result in schema.get_all_operations():
            operation = result.ok()

            @hypothesis_settings(max_examples=2 * EXAMPLES, deadline=None, database=None, derandomize=True,
                                 phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=_strategy(operation, who))
            def call(case: schemathesis.Case) -> None:
                stream = case.operation.path in STREAMS
                try:
                    response = case.call(base_url=server.url, session=session, timeout=10, stream=stream)
                except requests.RequestException as exc:
                    failures.append(f"{case.as_curl_command()} -> no answer: {exc!r}")
                    raise
                answered[f"{case.method} {case.operation.path} {response.status_code // 100}xx"] += 1
                if case.operation.path.startswith("/getdata/") and _sg24_ok(response):
                    sg24_accepted[f"{case.method} {case.operation.path}"] += 1
                if stream:
                    response.close()
                    if response.status_code >= 500:
                        failures.append(f"{case.as_curl_command()} -> {response.status_code}")
                    return
                try:
                    case.validate_response(response, checks=CHECKS)
                except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a FailureGroup
                    failures.append(f"{case.as_curl_command()} -> {response.status_code} {response.text[:300]}\n{exc}")
                    raise

            try:
                call()
            except (Exception, BaseExceptionGroup):  # every operation runs; each failure is in `failures`
                pass
        assert not failures, "\n\n".join(failures[:8]) + "\n\n" + server.log()[-4000:]
        # Each operation was reached, and the signed-in ones got past authentication.
        operations = {key.rsplit(" ", 1)[0] for key in answered}
        assert len(operations) == sum(1 for _ in schema.get_all_operations())
        for reached in ("GET /messages/", "GET /api/v1/devices", "GET /api/mobile/v1/settings",
                        "GET /nusasms_api/1.0/balance", "POST /tokens/", "GET /3rdparty/v1/messages"):
            assert answered[f"{reached} 2xx"], answered
        assert sg24_accepted["GET /getdata/getallsms"] and sg24_accepted["POST /getdata/getalldevices"], sg24_accepted
    finally:
        session.close()
        server.stop()
