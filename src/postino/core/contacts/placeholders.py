"""``{{placeholders}}`` in campaign bodies, by the MessaggiSMS rules.

``{{name}}`` and ``{{ name }}`` are the same placeholder; one with no value becomes
empty text, so a missing field never leaves braces in a message someone receives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def has_placeholders(template: str) -> bool:
    return PLACEHOLDER.search(template) is not None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def fill(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with every placeholder replaced by its value (missing: empty)."""
    return PLACEHOLDER.sub(lambda match: _text(values.get(match.group(1))), template)


def contact_values(phone: str, fullname: str, fields: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a contact fills: its fields, then ``name``/``fullname`` (when it has one) and ``phone``."""
    values: dict[str, Any] = dict(fields or {})
    if fullname:
        values["name"] = fullname
        values["fullname"] = fullname
    values["phone"] = phone
    return values
