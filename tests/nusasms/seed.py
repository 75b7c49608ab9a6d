"""The literal examples of seed 004 (NusaSMS API, English), and a shape comparison."""

from __future__ import annotations

from typing import Any

AUTH = {"error": False, "error_code": 0, "message": "Data message", "data": {"userid": "string", "idPerson": 0, "idClient": 0}}
BALANCE = {
    "error": False, "error_code": 0, "message": "Data message",
    "data": {
        "idClient": 0, "wa_balance": 0, "wa_expired_date": "2019-08-24", "hlr_balance": 0,
        "hlr_expired_date": "2019-08-24", "sim_balance": 0, "sim_expired_date": "2019-08-24", "sms_balance": 0,
        "sms_expired_date": "2019-08-24", "pulsa_balance": 0,
    },
}  # fmt: skip
SEND_MESSAGE = {
    "error": False, "error_code": 0, "message": "Data message",
    "data": {"sender": "string", "destination": "string", "message": "string", "ref_no": "string"},
}  # fmt: skip
SEND_MEDIA = {
    "error": False, "error_code": 0, "message": "Data message",
    "data": {"sender": "string", "destination": "string", "caption": "string", "media_url": "string", "ref_no": "string"},
}  # fmt: skip
STATUS = {
    "error": False, "error_code": 0, "message": "Data message",
    "data": {
        "destination": "string", "sender": "string", "is_group": False, "create_date": "2019-08-24T14:15:22Z",
        "sent_date": "2019-08-24T14:15:22Z", "read_date": "2019-08-24T14:15:22Z",
        "delivered_date": "2019-08-24T14:15:22Z", "ref_no": "string", "status": "string", "message": "string",
        "caption": "string", "media_url": "string",
    },
}  # fmt: skip
PHONE_CHECK = {"error": False, "error_code": 0, "message": "Data message", "data": None}
VALIDATION = {"detail": [{"loc": ["string"], "msg": "string", "type": "string"}]}

V3_OK_XML = (
    '<?xml version="1.0" encoding="UTF-8"?> <results> <result> <status>0</status> '
    "<messageid>175041319203754627</messageid> <destination>6285100803380</destination> </result> </results>"
)
V3_OK_JSON = {"results": [{"status": "0", "messageid": "175041319203754627", "destination": "628510080XXXX"}]}
V3_AUTH_XML = (
    '<?xml version="1.0" encoding="UTF-8"?> <results> <result> <status>-5</status> <messageid></messageid> '
    "<destination>6285100803380</destination> </result> </results>"
)
V3_AUTH_JSON = {"results": [{"status": "-5", "messageid": "", "destination": "6285100803380"}]}
V3_BAD_DEST_XML = (
    '<?xml version="1.0" encoding="UTF-8"?> <results> <result> <status>-13</status> <messageid></messageid> '
    "<destination>085100803380</destination> </result> </results>"
)
V3_BAD_DEST_JSON = {"results": [{"status": "-13", "messageid": "", "destination": "6285100803380"}]}
V3_GROUP_XML = (
    '<?xml version="1.0" encoding="UTF-8"?> <results> <result> <status>0</status> '
    "<campaign_name>Group-Api-Campaign-cf27252-5101</campaign_name> <group>Example</group> </result> </results>"
)
V3_GROUP_JSON = {"results": [{"status": "0", "campaign_name": "Group-Api-Campaign-cf27252-5101", "group": "Example"}]}
V3_GROUP_FAIL_XML = V3_GROUP_XML.replace("<status>0</status>", "<status>-55</status>")
V3_GROUP_FAIL_JSON = {"results": [{"status": "-55", "campaign_name": "Group-Api-Campaign-cf27252-5101", "group": "Example"}]}


def same_shape(actual: Any, example: Any, *, nullable: tuple[str, ...] = (), path: str = "$") -> None:
    """Same keys, same JSON types, recursively; ``nullable`` keys may also be null."""
    if isinstance(example, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not an object"
        assert set(actual) >= set(example), f"{path}: missing {set(example) - set(actual)}"
        for name, value in example.items():
            if actual[name] is None and name in nullable:
                continue
            same_shape(actual[name], value, nullable=nullable, path=f"{path}.{name}")
    elif isinstance(example, list):
        assert isinstance(actual, list), f"{path}: {actual!r} is not a list"
        for index, item in enumerate(actual):
            same_shape(item, example[0], nullable=nullable, path=f"{path}[{index}]")
    elif isinstance(example, bool) or example is None:
        assert actual is example or type(actual) is type(example), f"{path}: {actual!r} vs {example!r}"
    elif isinstance(example, (int, float)):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), f"{path}: {actual!r} is not a number"
    else:
        assert type(actual) is type(example), f"{path}: {actual!r} is not {type(example).__name__}"


def xml_results(text: str) -> list[dict[str, str]]:
    """The ``<result>`` elements of a v3 XML answer as dicts (empty elements give '')."""
    import xml.etree.ElementTree as ET

    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(text.split("?>", 1)[1].strip())
    assert root.tag == "results"
    return [{child.tag: (child.text or "") for child in result} for result in root.findall("result")]
