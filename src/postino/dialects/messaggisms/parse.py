"""Reading MessaggiSMS requests: the JSON body, recipients, placeholders, sender, options.

Integrations post the JSON body with whatever Content-Type their HTTP library picked
(curl's default is a form type), so the body is read as JSON first, whatever the header.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from ...core.errors import InvalidInput
from ...core.messages import numbers
from ...http import fits_int64, storable
from ...http_json import nests_deeper
from .errors import INVALID_BODY, INVALID_PARAMETER, MISSING_PARAMETER, ApiError

MAX_RECIPIENTS = 100_000
SCOPE_KEYS = {"body": ("body", "corpo"), "number": ("number", "numero"), "fields": ("fields", "campi")}

_RECIPIENT = re.compile(r"\+(\d{1,4})-(\d{3,17})")
_NUMERIC_SENDER = re.compile(r"\+?\d{3,14}")
_ALPHA_SENDER = re.compile(r"[A-Za-z0-9]{3,11}")
_DAY_FIRST = re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_DIGITS = re.compile(r"-?\d{1,16}")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def invalid(message: str) -> ApiError:
    return ApiError(422, INVALID_PARAMETER, message)


def json_body(raw: bytes) -> dict:
    """The request's JSON object; a real form body (``a=1&b=2``) is read as its fields."""
    if nests_deeper(raw):
        raise ApiError(400, INVALID_BODY, "The body nests too deep")
    text = raw.decode("utf-8", errors="replace").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        value = _form(text)
    if not isinstance(value, dict):
        raise ApiError(400, INVALID_BODY, "The body must be a JSON object")
    if ("\\u" in text or "%00" in text or "\x00" in text) and not storable(value):
        raise ApiError(400, INVALID_BODY, "The body holds text no database can store (a NUL or a lone surrogate)")
    return value


def _form(text: str) -> dict:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise ApiError(400, INVALID_BODY, "The body is not valid JSON") from None
    found: dict[str, Any] = {}
    for key, value in pairs:
        key = key.removesuffix("[]")
        if key in found:
            found[key] = (found[key] if isinstance(found[key], list) else [found[key]]) + [value]
        elif key == "recipients" and "," in value:
            found[key] = [v.strip() for v in value.split(",")]
        else:
            found[key] = value
    for key in ("test", "transaction"):
        if isinstance(found.get(key), str):
            found[key] = found[key].lower() in ("1", "true", "yes")
    return found


def pick(payload: dict, name: str) -> Any:
    """A value under its English key or the seed's Italian one."""
    for key in SCOPE_KEYS.get(name, (name,)):
        if key in payload:
            return payload[key]
    return None


# --- recipients ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    raw: str  # as sent: "+39-3491234567"
    e164: str  # "+393491234567"
    fields: dict = field(default_factory=dict)


def check_number(raw: str) -> str | None:
    """E.164 of a ``+<country code>-<number>`` recipient, or None for any other format."""
    match = _RECIPIENT.fullmatch(raw.strip())
    if not match:
        return None
    cc, number = match.groups()
    try:
        e164 = numbers.normalise(f"+{cc}{number}")
    except InvalidInput:
        return None
    if not e164.startswith(f"+{cc}") or numbers.country_prefix(e164) != f"+{cc}":
        return None
    return e164


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def recipients(value: Any) -> tuple[list[Recipient], list[str]]:
    """Valid recipients and the invalid ones (as sent). ``value`` is a string, an object or a list of either."""
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_RECIPIENTS:
        raise invalid(f"At most {MAX_RECIPIENTS} recipients per request")
    valid: list[Recipient] = []
    bad: list[str] = []
    for item in items:
        number: Any = item
        fields: Any = {}
        if isinstance(item, dict):
            number = pick(item, "number")
            fields = pick(item, "fields")
            if fields is None or fields == []:
                fields = {}
        if not isinstance(number, str) or not isinstance(fields, dict):
            bad.append(_as_text(item))
            continue
        e164 = check_number(number)
        if e164 is None:
            bad.append(number)
        else:
            valid.append(Recipient(number.strip(), e164, fields))
    return valid, bad


# --- scalar parameters --------------------------------------------------------------------


def sender(value: Any) -> str:
    if value is None or value == "":
        raise ApiError(422, MISSING_PARAMETER, "missing 'sender' parameter")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        value = str(value)  # the Node SDK posts a numeric sender as a JSON number
    if not isinstance(value, str):
        raise invalid("'sender' must be a string")
    if _NUMERIC_SENDER.fullmatch(value):
        return value
    if _ALPHA_SENDER.fullmatch(value) and not value.lstrip("+").isdigit():
        return value
    raise invalid("'sender' must be 3-11 alphanumeric characters or 3-14 digits")


def body(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ApiError(422, MISSING_PARAMETER, "missing 'body' parameter")
    if not isinstance(value, str):
        raise invalid("'body' must be a string")
    return value


def priority(value: Any) -> float:
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise invalid("'priority' must be a number")
    if not 1.0 <= float(value) <= 1000.0:
        raise invalid("'priority' must be between 1.00 and 1000")
    return float(value)


def flag(payload: dict, name: str) -> bool:
    value = payload.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(f"'{name}' must be true or false")
    return value


def timestamp(value: Any, zone: ZoneInfo) -> datetime | None:
    """``2018-05-20``, ``20-05-2018`` (midnight, account time), ISO 8601, or epoch milliseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise invalid("Invalid 'timestamp_send'")
    if isinstance(value, (int, float)) or (isinstance(value, str) and _DIGITS.fullmatch(value.strip())):
        try:
            return _EPOCH + timedelta(milliseconds=int(float(value)))
        except (OverflowError, ValueError):
            raise invalid("Invalid 'timestamp_send'") from None
    if not isinstance(value, str):
        raise invalid("Invalid 'timestamp_send'")
    text = value.strip()
    found: datetime | None = None
    day_first = _DAY_FIRST.fullmatch(text)
    try:
        if day_first:
            d, m, y, hh, mm, ss = day_first.groups()
            found = datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        elif len(text) == 10:
            found = datetime.combine(date.fromisoformat(text), time())
        else:
            found = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise invalid("Invalid 'timestamp_send': use 2018-05-20, 20-05-2018, ISO 8601 or epoch milliseconds") from None
    if found.tzinfo is None:
        found = found.replace(tzinfo=zone)
    try:
        return found.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it: no year 0 or 10000
        raise invalid("Invalid 'timestamp_send'") from None


def epoch_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


# --- options ------------------------------------------------------------------------------

OPTION_KEYS = ("flash", "realtime", "timestamp_send", "custom", "callback_url", "callback_field")


def options(value: Any, zone: ZoneInfo, current: dict | None = None) -> dict:
    """The stored options after applying ``value`` over ``current`` (timestamps as epoch ms)."""
    result = dict(current or {"flash": False, "realtime": False, "timestamp_send": None})
    if value is None:
        return result
    if not isinstance(value, dict):
        raise invalid("'options' must be an object")
    for key in ("flash", "realtime"):
        if key in value:
            result[key] = flag(value, key)
    if "timestamp_send" in value:
        moment = timestamp(value["timestamp_send"], zone)
        result["timestamp_send"] = epoch_ms(moment) if moment else None
    if "custom" in value:
        if value["custom"] is not None and not isinstance(value["custom"], (str, dict)):
            raise invalid("'options.custom' must be a string or an object")
        result["custom"] = value["custom"]
    if "callback_url" in value:
        url = value["callback_url"]
        if url in (None, ""):
            result.pop("callback_url", None)
        elif not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise invalid("'options.callback_url' must be an http(s) URL")
        else:
            result["callback_url"] = url
    if "callback_field" in value:
        name = value["callback_field"]
        if name in (None, ""):
            result.pop("callback_field", None)
        elif not isinstance(name, str) or len(name) > 100:
            raise invalid("'options.callback_field' must be a short string")
        else:
            result["callback_field"] = name
    return result


def due_at(stored: dict) -> datetime | None:
    ms = stored.get("timestamp_send")
    return None if ms is None else _EPOCH + timedelta(milliseconds=int(ms))


def message_extra(stored: dict) -> dict | None:
    """What each message of the request carries for the phone (flash) and for callbacks."""
    extra = {k: stored[k] for k in ("callback_url", "callback_field") if stored.get(k)}
    if stored.get("flash"):
        extra["flash"] = True
    return extra or None


def paging(query: Any, *, default: int, maximum: int = 1000) -> tuple[int, int]:
    """``(offset, limit)`` from ``?page=&per_page=`` (pages count from 1)."""
    try:
        page = int(query.get("page", 1))
        per_page = int(query.get("per_page", default))
    except ValueError:
        raise invalid("'page' and 'per_page' must be integers") from None
    if page < 1 or per_page < 1:
        raise invalid("'page' and 'per_page' must be at least 1")
    per_page = min(per_page, maximum)
    if not fits_int64(page * per_page):
        raise invalid("'page' is past the last page there can be")
    return (page - 1) * per_page, per_page
