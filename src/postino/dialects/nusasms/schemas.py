"""The request bodies of the JSON API, validated with pydantic and the seed's rules."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from ...core.net import guard
from .render import Invalid

PHONE = re.compile(r"\+?\d{8,15}")
GROUP = re.compile(r"\d{5,15}-\d{5,15}")
CHECK_NUMBER = re.compile(r"\d{8,14}")
MAX_TIMEOUT = 30 * 24 * 3600
_ESCAPE = re.compile(r"\\U([0-9a-fA-F]{8})|\\u([0-9a-fA-F]{4})|\\n")


def unescape(text: str) -> str:
    r"""``\U0001F600`` (and ``\uXXXX``) become the character, ``\n`` a line break."""

    def _one(match: re.Match[str]) -> str:
        code = match.group(1) or match.group(2)
        if code is None:
            return "\n"
        value = int(code, 16)
        return chr(value) if value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF else match.group(0)

    return _ESCAPE.sub(_one, text)


def _check_url(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    try:
        guard.check_syntax(value)
    except guard.BlockedURL:
        raise PydanticCustomError("url_parsing", f"Invalid {field}, an http(s) URL is expected") from None
    return value


class _Send(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    timeout: int = Field(0, ge=0, le=MAX_TIMEOUT)
    sender: str | None = None
    is_group: bool = False
    destination: str

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: str, info: ValidationInfo) -> str:
        pattern = GROUP if info.data.get("is_group") else PHONE
        if not pattern.fullmatch(value):
            raise PydanticCustomError("value_error", "Invalid destination format")
        return value


class SendMessageParams(_Send):
    message: str = Field(min_length=1, max_length=10_000)


class SendMediaParams(_Send):
    caption: str | None = Field(None, max_length=3000)
    media_url: str | None = None
    media_base64: str | None = None
    file_name: str | None = Field(None, max_length=200)

    @field_validator("media_url")
    @classmethod
    def _media_url(cls, value: str | None) -> str | None:
        return _check_url(value, "media_url")


class WAPhoneCheckParams(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    phone_numbers: list[str] = Field(min_length=1, max_length=100)
    callback_url: str | None = None

    @field_validator("phone_numbers")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        for number in value:
            if not CHECK_NUMBER.fullmatch(number.strip()):
                raise PydanticCustomError(
                    "value_error", "Invalid phone number format: digits only, 8 to 14 characters"
                )
        return [n.strip() for n in value]

    @field_validator("callback_url")
    @classmethod
    def _callback(cls, value: str | None) -> str | None:
        return _check_url(value, "callback_url")


OPTIONAL = ("timeout", "sender", "is_group", "caption", "media_url", "media_base64", "file_name", "callback_url")


def parse(model: type[BaseModel], body: dict[str, Any]) -> Any:
    """``model`` from ``body``; empty optional form fields count as absent. Errors: 422 ``detail``."""
    cleaned = {k: v for k, v in body.items() if not (k in OPTIONAL and (v is None or v == ""))}
    try:
        return model.model_validate(cleaned)
    except ValidationError as exc:
        raise Invalid(
            [
                {"loc": ["body", *exc_loc], "msg": err["msg"], "type": err["type"]}
                for err in exc.errors(include_url=False)
                for exc_loc in [list(err["loc"])]
            ]
        ) from None
