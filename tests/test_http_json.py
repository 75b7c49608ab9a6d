"""Bodies are measured before the stdlib parser recurses into them (``postino.http_json``)."""

from __future__ import annotations

import json

import pytest

from postino.http_json import MAX_DEPTH, loads, nests_deeper


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def test_a_real_body_is_answered_without_a_scan() -> None:
    body = json.dumps({"sender": "alberto", "recipients": [{"phone": "+393491234567"}], "body": "[{[{"})
    assert not nests_deeper(body) and not nests_deeper(body.encode())


def test_the_bound_is_exact_for_arrays_and_objects() -> None:
    assert not nests_deeper(nested(MAX_DEPTH)) and nests_deeper(nested(MAX_DEPTH + 1))
    assert not nests_deeper("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert nests_deeper(b"[" * 10_000 + b"]" * 10_000)


def test_many_siblings_are_no_depth() -> None:
    assert not nests_deeper(json.dumps([[i] for i in range(5_000)]))


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"body": "[" * 5_000, "escaped": '\\"[[[' * 100})
    assert not nests_deeper(text)
    assert json.loads(text)["body"] == "[" * 5_000


def test_loads_refuses_with_a_value_error_before_parsing() -> None:
    with pytest.raises(ValueError, match="nests too deep"):
        loads("[" * 10_000 + "]" * 10_000)
    assert loads(nested(3)) == {"a": {"a": {"a": 1}}}
