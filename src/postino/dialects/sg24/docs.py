"""The OpenAPI description of ``/getdata/``: parameters per method, written once here.

The handlers parse requests themselves (query, form, multipart or JSON alike), so the
document is built from this table rather than from pydantic models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # "string" | "integer" | "file"
    required: bool
    description: str


@dataclass(frozen=True)
class Method:
    summary: str
    description: str
    fields: tuple[Field, ...]
    example: dict[str, Any]


def _f(name: str, type_: str, required: bool, description: str) -> Field:
    return Field(name, type_, required, description)


TOKEN = _f("token", "string", True, "Token from `gettoken`.")
SEND_FIELDS = (
    _f("sendto", "string", True, "Recipient phone number(s), separated by commas. Write `%2B` for `+` in a GET query "
       "(a leading space is read as `+`)."),
    _f("body", "string", True, "Message text (not needed when `file` is sent)."),
    _f("device_id", "integer", True, "Id of one of your devices (see `getalldevices`)."),
    _f("sim", "integer", False, "Slot: 0 and 1 SMS, 2 WhatsApp Business, 3 WhatsApp Personal, 4 and 5 RCS. Default 0."),
    _f("timetosend", "string", False, "`YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS` in the account's "
       "time zone; a past time means now."),
    _f("customerid", "string", False, "Your own reference (also accepted as `customerId`)."),
    _f("urgent", "integer", False, "1: send before every non-urgent message of the device (OTP)."),
)
SAVED = {"error": 0, "sms_id": 62807347, "message": "Sms has been saved successfully", "sms_ids": [62807347]}

METHODS: dict[str, Method] = {
    "gettoken": Method(
        "Get a token",
        "A new token for the account; earlier tokens stay valid.",
        (_f("email", "string", True, "Your login (email)."), _f("pass", "string", True, "Your password.")),
        {"error": 0, "message": "OK", "token": "abbde3e31e9d026c02f41119fc551111"},
    ),
    "addsms": Method(
        "Send a message",
        "One message per distinct recipient of `sendto`. A `file` (multipart POST; jpeg, png, webp or gif, at most "
        "5 MB) is stored and its public URL replaces `body`.",
        (TOKEN, *SEND_FIELDS, _f("file", "file", False, "Image to send (multipart POST only).")),
        SAVED,
    ),
    "smstosend": Method(
        "Send a message with email and password",
        "As `addsms`, authenticated by `email` + `pass` (or by `token`).",
        (_f("email", "string", True, "Your login (email)."), _f("pass", "string", True, "Your password."),
         *SEND_FIELDS),
        SAVED,
    ),
    "addalotofsms": Method(
        "Send many messages at once",
        "All or nothing, up to 10,000 items: on any error nothing is stored and the message names the item "
        "(`smsdata[3]: …`). A raw JSON body `{\"token\":…,\"smsdata\":[…]}` works as well.",
        (_f("datajson", "string", True, 'JSON: {"token":"…","smsdata":[{"sendto","body","device_id","sim",'
            '"timetosend","customerid","urgent"},…]}'),
         _f("token", "string", False, "The token, when it is not inside `datajson`.")),
        {"error": 0, "message": "OK", "count": 2, "sms_ids": [62807347, 62807348]},
    ),
    "getallsms": Method(
        "List messages",
        "Outgoing and incoming (status 5) messages, oldest first, paged with `limit` and `offset`; `count` is the "
        "total that matches.",
        (TOKEN,
         _f("device_id", "integer", False, "Only this device."),
         _f("status", "integer", False, "1 pending, 2 sending, 3 queued, 5 incoming, 6 sent, 7 delivered, "
            "8 not delivered, 9 failed, 10 no service, 11 null pdu, 12 radio off, 100 not allowed."),
         _f("begindate", "string", False, "`YYYY-MM-DD[ HH:MM:SS]`: created at or after."),
         _f("enddate", "string", False, "`YYYY-MM-DD[ HH:MM:SS]`: created up to (a bare date includes that day)."),
         _f("sim", "integer", False, "Only this slot."),
         _f("customerid", "string", False, "Only this customer id."),
         _f("phone", "string", False, "Only this recipient (or sender, for incoming)."),
         _f("onlycount", "integer", False, "1: answer only `count`."),
         _f("orderbydesc", "integer", False, "1: newest first."),
         _f("timezone", "string", False, "IANA zone for the dates (e.g. `Australia/Sydney`); default the account's."),
         _f("limit", "integer", False, "Page size, default 1000, at most 10000."),
         _f("offset", "integer", False, "Messages to skip.")),
        {"error": 0, "message": "OK", "count": 1, "smss": {"62050971": {
            "id": 62050971, "sendto": "+4912312312332", "body": "Hello!", "customerid": None, "status": 7,
            "statustitle": "delivered", "deviceid": 11231, "sim": 0, "urgent": None,
            "created": {"date": "2023-11-02 22:44:43.000000", "timezone_type": 3, "timezone": "Europe/Paris"},
            "senttime": None, "timetosend": None, "paketid": None, "pakettitle": None, "paketbody": None}}},
    ),
    "savetag": Method(
        "Create a tag (contact list)",
        "Saving a title the account already has returns that tag's id.",
        (TOKEN, _f("title", "string", True, "Tag name.")),
        {"error": 0, "tag_id": 8303, "message": "OK"},
    ),
    "savecontact": Method(
        "Add a contact to a tag",
        "The same phone in the same tag again updates the name and returns the same id.",
        (TOKEN, _f("phone", "string", True, "Phone number."), _f("ctag_id", "integer", True, "Tag id."),
         _f("fullname", "string", True, "Name of the contact.")),
        {"error": 0, "contact_id": 15954765, "message": "ok"},
    ),
    "savepaket": Method(
        "Create a newsletter",
        "At `time_to_send`, one message per distinct contact of the tags.",
        (TOKEN, _f("title", "string", True, "Newsletter title."), _f("device_id", "integer", True, "Device id."),
         _f("body", "string", True, "Message text."), _f("tags", "string", True, "Tag ids, e.g. `12,13,14`."),
         _f("sim", "integer", False, "Slot, default 0."),
         _f("time_to_send", "string", False, "`DD.MM.YYYY H:i:s` in the account's time zone, or 0 for now.")),
        {"error": 0, "message": "OK", "paket_id": 17, "paket": 17, "contacts": 120},
    ),
    "getalldevices": Method(
        "List devices",
        "Every device of the account with its SIM slots and whether it is online.",
        (TOKEN,),
        {"error": 0, "message": "OK", "count": 0, "device": {}},
    ),
    "getsmsstatus": Method(
        "Status of one message",
        "",
        (TOKEN, _f("sms_id", "integer", True, "Message id.")),
        {"error": 0, "message": "OK", "sms_id": 62807347, "status": 7, "status_description": "delivered"},
    ),
    "getdevicestatus": Method(
        "Status of one device",
        "",
        (TOKEN, _f("device_id", "integer", True, "Device id.")),
        {"error": 0, "message": "OK", "device_id": 260, "title": "Pixel", "online": True,
         "lastseen": {"date": "2024-01-01 10:00:00.000000", "timezone_type": 3, "timezone": "UTC"},
         "diffseconds": 12},
    ),
}


def _schema(field: Field) -> dict[str, Any]:
    if field.type == "file":
        return {"type": "string", "format": "binary", "description": field.description}
    return {"type": field.type, "description": field.description}


def openapi(name: str, verb: str) -> dict[str, Any]:
    """``openapi_extra`` of one operation: query parameters for GET, a form body for POST."""
    doc = METHODS[name]
    responses = {
        "200": {
            "description": "`error` 0 with the fields below, or `error` 1 with `message`.",
            "content": {"application/json": {"example": doc.example}},
        }
    }
    if verb == "GET":
        return {
            "parameters": [
                {"name": f.name, "in": "query", "required": f.required, "schema": _schema(f)}
                for f in doc.fields
                if f.type != "file"
            ],
            "responses": responses,
        }
    properties = {f.name: _schema(f) for f in doc.fields}
    required = [f.name for f in doc.fields if f.required]
    form = {"type": "object", "properties": properties, "required": required}
    plain = {"type": "object", "properties": {k: v for k, v in properties.items() if v.get("format") != "binary"}}
    return {
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {"schema": plain},
                "multipart/form-data": {"schema": form},
                "application/json": {"schema": plain},
            }
        },
        "responses": responses,
    }
