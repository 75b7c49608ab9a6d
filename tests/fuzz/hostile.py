"""What a hostile or careless client sends, as hypothesis strategies the dialects' fuzz tests share.

A test lists its routes as ``Route``s (a method, a path, the fields and headers of a
request that route accepts) and draws ``Call``s from ``calls(routes)``: the same request
with some of its fields replaced by a mutation, written as a query string, a form, JSON or
multipart, or with its whole body replaced, its method changed or its path mangled.

The mutation classes:

- integers beyond 64 bits (±2**63 and much larger);
- JSON nested 10,000 deep, as a whole body or as one field's value;
- dates past the year 9999 or before the year 1 (and some that do not exist);
- bytes that are no UTF-8, in form fields, JSON strings, query values and headers, and
  JSON's escaped lone surrogates (``"\\ud800"``), which no UTF-8 answer can carry;
- NUL characters, which PostgreSQL stores in no text column (SQLite does);
- JSON of the wrong type (an object where a string is expected, a list where an object is);
- wrong HTTP methods, odd paths (``..%2F``, double slashes, trailing garbage);
- huge strings.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx
import hypothesis.strategies as st
from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("POSTINO_FUZZ_EXAMPLES", "400"))
"""Examples per dialect test; a longer hunt: ``POSTINO_FUZZ_EXAMPLES=5000``."""

fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=os.environ.get("POSTINO_FUZZ_RANDOM", "") == "",
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.large_base_example],
)
"""Bounded and reproducible in CI; ``POSTINO_FUZZ_RANDOM=1`` draws new examples each run."""


@dataclass(frozen=True)
class Raw:
    """Bytes written into a request as they are, not encoded: ``json`` inside a JSON body, ``form`` elsewhere."""

    json: bytes
    form: bytes

    def __repr__(self) -> str:
        return f"Raw({_short(self.form)})"


# --- the mutation classes --------------------------------------------------------------

INT64_EDGES = [2**63, 2**63 - 1, -(2**63), -(2**63) - 1, 2**64, -(2**64), 10**30, -(10**30), 10**300, -(10**300)]
huge_integers = st.one_of(
    st.sampled_from(INT64_EDGES), st.integers(min_value=2**63), st.integers(max_value=-(2**63) - 1)
)

DEEP_LIST = b"[" * 10_000 + b"]" * 10_000
DEEP_OBJECT = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
deep_json = st.sampled_from([Raw(DEEP_LIST, DEEP_LIST), Raw(DEEP_OBJECT, DEEP_OBJECT)])

far_dates = st.one_of(
    # instants that only exist in the year 10000 or 0 once moved to UTC
    st.sampled_from(["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31 23:30-01:00",
                     "0001-01-01T00:00+00:01", "9999-12-31T23:59:59.999999-00:01"]),
    st.sampled_from([
        "9999-12-31 23:59:59", "9999-12-31T23:59:59Z", "10000-01-01", "10000-01-01 00:00:00", "0000-01-01",
        "0001-01-01", "0001-01-01 00:00", "-0001-01-01", "31.12.9999 23:59:59", "01.01.0001 00:00", "01-01-0001",
        "31-12-9999 23:59", "2024-02-30", "2024-13-01 25:61", "99999999999999999", "-99999999999999999",
        "253402300800000", "-62135596800001", "1e400", "NaN",
    ]),
)  # fmt: skip
"""Past 9999 and before the year 1, as text and as epoch milliseconds; dates that do not exist."""

BAD_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"caf\xe9", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80abc"]
invalid_utf8 = st.one_of(
    st.sampled_from([Raw(b'"' + bad + b'"', bad) for bad in BAD_UTF8]),
    # JSON may escape a lone surrogate, which no UTF-8 answer can carry back
    st.sampled_from([Raw(b'"\\ud800"', b"\xed\xa0\x80"), Raw(b'"+39-\\udfff"', b"+39-\xed\xbf\xbf"),
                     Raw(b'"a\\ud83d"', b"a\xed\xa0\xbd")]),
)

wrong_types = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(),  # NaN and Infinity included: not JSON, yet some parsers take them
    st.lists(st.integers(-5, 5), max_size=3),
    st.dictionaries(st.sampled_from(["a", "number", "$date", ""]), st.integers(-5, 5), max_size=2),
    st.just([{"number": {"nested": []}}]),
)

huge_strings = st.sampled_from([
    "x" * 200_000, "9" * 100_000, "+" + "3" * 10_000, "€" * 60_000, "{{" * 20_000, "%" * 50_000,
    "\x00" * 1_000, "a," * 50_000, "\U0001f600" * 30_000,
])  # fmt: skip

hostile_values = st.one_of(huge_integers, deep_json, far_dates, invalid_utf8, wrong_types, huge_strings)

_DATE_LIKE = re.compile(r"\d{4}-\d\d-\d\d|\d\d[.-]\d\d[.-]\d{4}")
_TIME_NAMES = ("date", "time", "at", "expires", "timestamp", "when")


def tainted(text: str) -> st.SearchStrategy:
    """``text`` as it was, with bytes that are no UTF-8 (or a lone surrogate, or a NUL) added:
    it still passes the length and format checks that a bare bad byte fails, and gets deeper."""
    escaped = json.dumps(text).encode()[1:-1]
    raw = text.encode()
    return st.sampled_from([
        Raw(b'"' + escaped + b'\\ud800"', raw + b"\xed\xa0\x80"),
        Raw(b'"\\udfff' + escaped + b'"', b"\xed\xbf\xbf" + raw),
        Raw(b'"' + escaped + b'\xff"', raw + b"\xff"),
        Raw(b'"' + escaped + b'\\u0000"', raw + b"\x00"),
    ])  # fmt: skip


def hostile_values_like(name: str, value: Any) -> st.SearchStrategy:
    """Hostile values, most often of the class that hits ``value`` hardest: far dates for a
    date or a field named like one, huge integers for an integer, a tainted copy of a text."""
    lowered = name.lower()
    if (isinstance(value, str) and _DATE_LIKE.search(value)) or any(lowered.endswith(t) for t in _TIME_NAMES):
        return st.one_of(far_dates, far_dates, hostile_values)
    if isinstance(value, int) and not isinstance(value, bool):
        return st.one_of(huge_integers, huge_integers.map(str), hostile_values)
    if isinstance(value, str) and value:
        return st.one_of(tainted(value), hostile_values)
    return hostile_values


WRONG_METHODS = ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "PROPFIND"]
ODD_PATHS = [
    "/..%2F..%2Fetc%2Fpasswd", "/..%2f", "//", "/%2e%2e/%2e%2e/", "%00", "/%00", "%ff", ";jsessionid=1", "/./.",
    "~", ".json", "%20", "/" + "a" * 5_000, "%2F", "/%252e%252e", "?",
]  # fmt: skip

HOSTILE_HEADERS = [
    b"Bearer \xff\xfe", "Bearer " + "x" * 10_000, "", "Basic %%%", "Basic " + "A" * 999, "Bearer",
    "Code 99999999999999999999", b"Basic \xc3(", "Bearer  \t ", "Basic Og==", "Basic w6k6w6k=",
]  # fmt: skip
"""Credentials made hostile: no ASCII, huge, empty, malformed Basic, a one-time code past 64 bits."""

whole_bodies = st.sampled_from([
    DEEP_LIST, DEEP_OBJECT, b"\xff\xfe\xfd", b'{"a": "\xff"}', b"[]", b"[{}]", b'"text"', b"null", b"1e999999",
    b"9" * 5_000, b"{", b'{"a":1}}', b"a=%ff&b=%zz&&=", b"\x00" * 64, b"x" * 300_000,
])  # fmt: skip
"""A body replaced as a whole: nesting, invalid UTF-8, JSON that is no object, truncated or huge."""


# --- requests --------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """A request a route accepts: mutations start from it."""

    method: str
    path: str
    """May name path parameters: ``/messages/{id}/``."""
    fields: Any = field(default_factory=dict)
    """The body's (or query's) fields; a list for a route whose body is a JSON array."""
    headers: dict[str, str] = field(default_factory=dict)
    encodings: tuple[str, ...] = ("json",)
    """How the fields travel: ``query``, ``form``, ``json``, ``json-as-form``, ``multipart``;
    the first, the way most clients send them, is drawn about half the time."""
    path_params: dict[str, Any] = field(default_factory=dict)
    prefix: str = ""
    """Where the API's error format applies; by default the path's first segment."""

    def url_path(self, params: dict[str, Any] | None = None) -> str:
        values = self.path_params if params is None else params
        return self.path.format(**{k: _url_value(v) for k, v in values.items()})


@dataclass(frozen=True)
class Call:
    """One request, ready to send; its repr is what a failing example prints."""

    method: str
    path: str
    headers: dict[str, str | bytes]
    query: str = ""
    body: bytes | None = None
    files: dict[str, Any] | None = None

    def __repr__(self) -> str:
        target = self.path[:200] + (f"?{_short(self.query.encode())}" if self.query else "")
        headers = {k: v if len(v) < 80 else v[:60] + (b"..." if isinstance(v, bytes) else "...")
                   for k, v in self.headers.items()}
        parts = [f"{self.method} {target}", f"headers={headers!r}"]
        if self.body is not None:
            parts.append(f"body={_short(self.body)}")
        if self.files is not None:
            parts.append(f"multipart={ {k: _short(v[1]) for k, v in self.files.items()} }")
        return "Call(" + ", ".join(parts) + ")"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how hypothesis prints a drawn value
        printer.text(repr(self))

    async def send(self, client: httpx.AsyncClient) -> httpx.Response:
        url = httpx.URL(self.path)
        if self.query:
            url = url.copy_with(query=self.query.encode())
        if self.files is not None:
            return await client.request(self.method, url, headers=self.headers, files=self.files)
        return await client.request(self.method, url, headers=self.headers, content=self.body)


def _short(data: bytes, limit: int = 160) -> str:
    text = repr(data[:limit])
    return text + (f"...({len(data)} bytes)" if len(data) > limit else "")


def _form_value(value: Any) -> bytes:
    if isinstance(value, Raw):
        return value.form
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (dict, list)) or value is None or isinstance(value, bool):
        return _json(value)
    return str(value).encode()


URL_VALUE_CAP = 6_000
"""A URL is capped by every HTTP stack (httpx at 64 KB): longer values keep their two ends,
so nested JSON stays balanced ``[[[…]]]`` and a long string stays long."""


def _url_value(value: Any) -> str:
    """A path or query value, percent-encoded."""
    data = _form_value(value)
    if len(data) > URL_VALUE_CAP:
        data = data[: URL_VALUE_CAP // 2] + data[-URL_VALUE_CAP // 2 :]
    return quote_from_bytes(data, safe="")


def _query(fields: dict[str, Any]) -> str:
    return "&".join(f"{quote(str(k), safe='')}={_url_value(v)}" for k, v in fields.items())


_FORM_SPECIAL = re.compile(rb"[&=+%#\s]")


def _form(fields: dict[str, Any]) -> bytes:
    """A urlencoded body; a ``Raw`` value goes in as its bytes (those that are no UTF-8 stay so),
    only ``&``, ``=``, ``+``, ``%``, ``#`` and spaces escaped."""
    parts = []
    for key, value in fields.items():
        if isinstance(value, Raw):
            encoded = _FORM_SPECIAL.sub(lambda m: b"%%%02X" % m.group()[0], value.form)
        else:
            encoded = quote_from_bytes(_form_value(value), safe="").encode()
        parts.append(quote(str(key), safe="").encode() + b"=" + encoded)
    return b"&".join(parts)


def _json(fields: Any) -> bytes:
    """A JSON document; each ``Raw`` value is spliced in as it is."""
    spliced: dict[str, bytes] = {}

    def mark(value: Any) -> Any:
        if isinstance(value, Raw):
            key = uuid.uuid4().hex
            spliced[key] = value.json
            return key
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mark(v) for v in value]
        return value

    text = json.dumps(mark(fields)).encode()  # NaN and Infinity are written as Python does
    for key, raw in spliced.items():
        text = text.replace(b'"' + key.encode() + b'"', raw)
    return text


def encode(route: Route, fields: Any, encoding: str, headers: dict[str, str | bytes], path: str) -> Call:
    method = route.method
    if encoding == "query":
        return Call(method, path, headers, query=_query(fields))
    if encoding == "form":
        return Call(method, path, {**headers, "Content-Type": "application/x-www-form-urlencoded"}, body=_form(fields))
    if encoding == "multipart":
        return Call(method, path, headers, files={k: (None, _form_value(v)) for k, v in fields.items()})
    if encoding == "json-as-form":  # curl -d '{...}': JSON under a form content type
        return Call(method, path, {**headers, "Content-Type": "application/x-www-form-urlencoded"}, body=_json(fields))
    return Call(method, path, {**headers, "Content-Type": "application/json"}, body=_json(fields))


def _places(value: Any, path: tuple = ()) -> list[tuple]:
    """The path of every field, item and nested value in ``value`` (the root excluded)."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    found = []
    for key, inner in children:
        found.append((*path, key))
        found.extend(_places(inner, (*path, key)))
    return found


_DROP = object()


def _replaced(value: Any, path: tuple, new: Any) -> Any:
    """A copy of ``value`` with the place at ``path`` set to ``new`` (removed: ``_DROP``)."""
    copy = dict(value) if isinstance(value, dict) else list(value)
    key, rest = path[0], path[1:]
    if rest:
        copy[key] = _replaced(copy[key], rest, new)
    elif new is _DROP and isinstance(copy, dict):
        del copy[key]
    else:
        copy[key] = None if new is _DROP else new
    return copy


def _at(value: Any, path: tuple) -> Any:
    for key in path:
        value = value[key]
    return value


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with one or two of its places (a field, an item, a value nested at any depth,
    or a field it does not have) replaced by hostile values, or dropped."""
    places = _places(value) + ([("extra",), ("id",)] if isinstance(value, dict) else [])
    if not places:
        return draw(hostile_values)
    for path in draw(st.lists(st.sampled_from(places), min_size=1, max_size=2, unique=True)):
        try:
            current = _at(value, path)
        except (KeyError, IndexError, TypeError):  # a new field, or one inside a place replaced already
            current = None
            if len(path) > 1:
                continue
        if current is not None and draw(st.integers(0, 7)) == 0:
            value = _replaced(value, path, _DROP)
        else:
            value = _replaced(value, path, draw(hostile_values_like(str(path[-1]), current)))
    return value


def unmutated(route: Route) -> Call:
    """The request the mutations of ``route`` start from."""
    return encode(route, route.fields, route.encodings[0], dict(route.headers), route.url_path())


@st.composite
def calls(draw: st.DrawFn, routes: list[Route], prefix: str | None = None) -> Call:
    """A hostile variant of one of ``routes``; a mangled path stays under ``prefix`` (by default
    the route's first segment), where the dialect's error format applies."""
    route = draw(st.sampled_from(routes))
    prefix = prefix or route.prefix or "/" + route.path.split("/")[1]
    kind = draw(st.sampled_from(["fields"] * 5 + ["body", "method", "path", "header"]))
    encoding = draw(st.sampled_from([*route.encodings[:1] * len(route.encodings), *route.encodings[1:]]))
    headers: dict[str, str | bytes] = dict(route.headers)
    path = route.url_path()
    if kind == "fields":
        if route.path_params and draw(st.booleans()):
            names = draw(st.lists(st.sampled_from(list(route.path_params)), min_size=1, unique=True))
            params = {**route.path_params, **{name: draw(hostile_values_like(name, route.path_params[name]))
                                              for name in names}}
            return encode(route, route.fields, encoding, headers, route.url_path(params))
        return encode(route, draw(mutated(route.fields)), encoding, headers, path)
    if kind == "body":
        content_type = draw(st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain",
                                             "multipart/form-data; boundary=x", "application/json; charset=latin-1"]))
        query = _query(route.fields) if "query" in route.encodings and draw(st.booleans()) else ""
        return Call(route.method, path, {**headers, "Content-Type": content_type}, query=query, body=draw(whole_bodies))
    call = encode(route, route.fields, encoding, headers, path)
    if kind == "method":
        return replace(call, method=draw(st.sampled_from([m for m in WRONG_METHODS if m != route.method])))
    if kind == "path":
        odd = draw(st.sampled_from(ODD_PATHS))
        rest = path.removeprefix(prefix).lstrip("/")
        mangled = draw(st.sampled_from([path + odd, path.rstrip("/") + odd, f"{prefix}//{rest}",
                                        f"{prefix}/{odd.lstrip('/')}/{rest}"]))
        if not mangled.startswith(prefix.rstrip("/") + "/"):  # "/api/command" + "%00" left the API
            mangled = f"{prefix.rstrip('/')}/{odd.lstrip('/')}"
        return replace(call, path=mangled)
    # one of the route's headers (its credentials) made hostile
    name = draw(st.sampled_from(list(headers) or ["Authorization"]))
    return replace(call, headers={**call.headers, name: draw(st.sampled_from(HOSTILE_HEADERS))})


# --- what every answer must be ---------------------------------------------------------


def no_server_error(call: Call, response: httpx.Response) -> None:
    assert response.status_code < 500, f"{call!r} -> {response.status_code} {response.text[:500]}"


def redirect_within(call: Call, response: httpx.Response, prefix: str) -> bool:
    """A redirect to the same path with one slash fewer or more (Starlette's ``redirect_slashes``):
    no error, so no error format; it must stay on this server and under ``prefix``."""
    if response.status_code not in (307, 308):
        return False
    target = httpx.URL(response.headers["location"])
    assert target.host in ("", "testserver") and target.path.startswith(prefix), answered(call, response)
    return True


def json_of(call: Call, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise AssertionError(f"{call!r} -> {response.status_code}, not JSON: {response.text[:300]!r}") from None


def answered(call: Call, response: httpx.Response) -> str:
    """``call -> status body`` for assertion messages."""
    return f"{call!r} -> {response.status_code} {response.text[:300]}"
