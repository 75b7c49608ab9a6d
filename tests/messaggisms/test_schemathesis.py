"""Property-based: answers of a running ``postino serve`` against the provider's OpenAPI document.

The document is used as published except at the points messaggisms.md names as the
provider's own inconsistencies, relaxed here in a copy built from the original: ``error``
is null on success; recipient times are ``{"$date": …}`` objects; ``fields`` and
``options.custom`` are written as their examples show; PUT declares its ``id``; values
not set yet (a report before sending, recipient times) may be null. Everything else is
validated strictly. Any 5xx, or any answer not matching its schema, fails the test.
"""

from __future__ import annotations

import copy
import json
from collections import Counter

import hypothesis.strategies as st
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from postino.core.accounts import accounts
from tests.conftest import make_account
from tests.support import ServerProcess

from .conftest import add_phone, deliver
from .test_reference_examples import REFERENCE

MAX_EXAMPLES = 30
NULL = {"enum": [None]}

# Bodies valid for the schema *and* for Postino's rules, so the fuzzing also reaches the
# success paths (random recipients are nearly always badly formatted and refused).
_number = st.integers(3_400_000_000, 3_499_999_999).map(lambda n: f"+39-{n}")
_recipients = st.one_of(
    _number,
    st.lists(_number, min_size=1, max_size=3),
    st.fixed_dictionaries({"number": _number, "fields": st.fixed_dictionaries({"name": st.text(max_size=20)})}),
)
_options = st.fixed_dictionaries(
    {},
    optional={
        "flash": st.booleans(),
        "timestamp_send": st.sampled_from(["2018-05-20", "20-05-2031", "2031-01-01T10:00:00Z", "1905480000000"]),
        "custom": st.text(max_size=20),
        "callback_url": st.just("https://example.com/callback"),
        "callback_field": st.just("payload"),
    },
)
VALID_BODIES = {
    "POST": st.fixed_dictionaries(
        {"sender": st.sampled_from(["alberto", "3939989741", "+393939989741"]), "body": st.text(min_size=1, max_size=200).filter(str.strip),
         "recipients": _recipients},
        optional={"test": st.booleans(), "priority": st.floats(1, 3), "options": _options, "transaction": st.booleans()},
    ),
    "PUT": st.fixed_dictionaries(
        {"recipients": _recipients},
        optional={"transaction": st.booleans(), "options": st.fixed_dictionaries({}, optional={"timestamp_send": _options.map(lambda o: o.get("timestamp_send", "2031-02-02"))})},
    ),
}


def relaxed(original: dict) -> dict:
    """A copy of the provider's document relaxed at exactly the documented points."""
    doc = copy.deepcopy(original)
    schemas = doc["components"]["schemas"]
    recipient = schemas["Recipient_Object"]["properties"]
    mongo_date = {
        "type": "object",
        "required": ["$date"],
        "properties": {"$date": {"type": "object", "required": ["$numberLong"],
                                 "properties": {"$numberLong": {"type": "string"}}}},
    }
    for key in ("timestamp_sent", "timestamp_delivery"):
        recipient[key] = {"anyOf": [{"type": "string"}, mongo_date, NULL]}
    recipient["fields"] = {"anyOf": [recipient["fields"], {"type": "object"}]}
    recipient["report"] = {"anyOf": [recipient["report"], NULL]}
    custom = schemas["Options"]["properties"]["custom"]
    schemas["Options"]["properties"]["custom"] = {"anyOf": [custom, {"type": "object"}]}
    for path in doc["paths"].values():
        for operation in path.values():
            for response in operation["responses"].values():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                if "error" in schema.get("properties", {}):
                    schema["properties"]["error"] = {"anyOf": [{"type": "integer"}, NULL]}
    put = doc["paths"]["/messages/{id}"]["put"]
    put.setdefault("parameters", []).append(
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "example": "5cf7cc139f272546624d3795"}}
    )
    return doc


def test_relaxation_touches_only_the_named_points() -> None:
    original = json.loads(REFERENCE.read_text())
    doc = relaxed(original)
    assert doc["components"]["schemas"]["Message_Object"] == original["components"]["schemas"]["Message_Object"]
    assert doc["components"]["schemas"]["Statistics"] == original["components"]["schemas"]["Statistics"]
    assert doc["paths"]["/messages/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"][
        "properties"]["data"] == original["paths"]["/messages/"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]["properties"]["data"]


async def _seed(core) -> tuple[str, list[str], list[str]]:  # noqa: ANN001
    """An account with a phone and messages in every state the routes can show."""
    info = await make_account(core, "fuzz@example.com", "fuzz password")
    device = await add_phone(core, info.id)
    from postino.dialects.messaggisms import actions
    from postino.dialects.messaggisms.endpoint import Context

    ids: list[str] = []
    numbers = ["+39-3491234567", "+39-3491234568"]
    bodies = [
        {"sender": "alberto", "body": "Ciao {{name}}", "recipients": [{"number": numbers[0], "fields": {"name": "Anna"}}]},
        {"sender": "alberto", "body": "open", "recipients": numbers, "transaction": True},
        {"sender": "3939989741", "body": "test", "recipients": numbers, "test": True},
        {"sender": "Simone", "body": "later", "recipients": numbers, "options": {"timestamp_send": "2031-01-01",
                                                                               "custom": {"a": 1}, "flash": True}},
    ]

    class FakeRequest:
        def __init__(self, body: dict) -> None:
            self._body = json.dumps(body).encode()
            self.query_params: dict = {}

        async def body(self) -> bytes:
            return self._body

    for body in bodies:
        async with core.unit() as unit:
            account = await accounts.get(unit, info.id)
            answer = await actions.create(Context(unit, account, None, FakeRequest(body)))
            ids.append(answer.data[0]["id"])
        if len(ids) == 1:
            await deliver(core, device.id)
    return info.bearer_token, ids, numbers


async def test_answers_match_the_provider_schema(core, settings, tmp_path) -> None:  # noqa: ANN001
    token, ids, numbers = await _seed(core)
    server = ServerProcess(tmp_path / "server", settings.database_url).start()
    try:
        schema = schemathesis.openapi.from_dict(relaxed(json.loads(REFERENCE.read_text())))
        headers = {"Authorization": f"Bearer {token}"}
        checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
        failures: list[str] = []
        seen: Counter[tuple[str, int]] = Counter()
        for result in schema.get_all_operations():
            operation = result.ok()
            strategies = [operation.as_strategy(), *operation.get_strategies_from_examples()]
            names = [p.name for p in operation.iter_parameters()]
            valid_body = VALID_BODIES.get(operation.method.upper())
            if valid_body is not None and "id" not in names:
                strategies.append(valid_body.flatmap(lambda body, op=operation: op.as_strategy(body=body)))
            if "id" in names:
                pinned = {"id": st.sampled_from(ids)}
                if "number" in names:
                    pinned["number"] = st.sampled_from(numbers)
                if valid_body is None:
                    strategies.append(
                        st.fixed_dictionaries(pinned).flatmap(lambda params, op=operation: op.as_strategy(path_parameters=params))
                    )
                else:
                    strategies.append(
                        st.tuples(st.fixed_dictionaries(pinned), valid_body).flatmap(
                            lambda pair, op=operation: op.as_strategy(path_parameters=pair[0], body=pair[1])
                        )
                    )

            @hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=st.one_of(strategies))
            def run(case) -> None:  # noqa: ANN001
                response = case.call(base_url=server.url, headers=headers)
                seen[(f"{case.method} {case.path}", response.status_code // 100)] += 1
                try:
                    case.validate_response(response, checks=checks, headers=headers)
                except Exception as exc:  # noqa: BLE001 - collect every operation's failures
                    failures.append(f"{case.method} {case.formatted_path}: {response.status_code} {exc}")
                    raise

            try:
                run()
            except Exception:  # noqa: BLE001
                pass
        assert not failures, "\n".join(failures[:5]) + "\n" + server.log()[-3000:]
        # Every operation answered successfully at least once: the schema checks saw real data.
        operations = {name for name, _ in seen}
        assert len(operations) == 7
        assert all(seen[(name, 2)] for name in operations), seen
    finally:
        server.stop()
