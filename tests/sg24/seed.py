"""The literal examples of the SmsGateway24 documents (seeds 000 it, 001 de, 003 pt)."""

from __future__ import annotations

GETTOKEN_OK = {"error": 0, "message": "OK", "token": "abbde3e31e9d026c02f41119fc551111e"}
GETTOKEN_WRONG = {"error": 1, "message": "Login or password incorrect"}

ADDSMS_OK = {"error": 0, "sms_id": 62807347, "message": "Sms has been saved successfully"}

# 000/001 "datajson" field example, and the "Request example" body (token and device are the reader's own).
DATAJSON_EXAMPLE = (
    '{"token":"%(token)s","smsdata":[{"sendto":"015752982212","body":"Test message","sim":1,'
    '"timetosend":"2019-07-01 23:50:00","device_id":%(device)s},{"sendto":"+4915752982212","body":"Test message 2",'
    '"sim":1,"timetosend":"2019-07-01 23:50:00","device_id":%(device)s,"urgent":1}]}'
)
BULK_REQUEST_EXAMPLE = {
    "token": "df427bfcf113c9a21c6771803501",
    "smsdata": [
        {"sendto": "015752982212", "body": "Your password is 12345", "sim": 1, "timetosend": "2019-07-01 23:50:00",
         "device_id": 260, "customerid": 122, "urgent": 1},
        {"sendto": "015752982212", "body": "Regular SMS. Not urgnet", "sim": 1, "timetosend": "2019-07-01 23:50:00",
         "device_id": 260, "customerid": 122, "urgent": 0},
    ],
}

GETALLSMS_OK = {
    "error": 0,
    "message": "OK",
    "count": 2,
    "smss": {
        "62050971": {
            "id": 62050971, "sendto": "+4912312312332", "body": "Hello! Thank you for Order! ", "customerid": None,
            "status": 2, "statustitle": "sending", "deviceid": 11231, "urgent": None,
            "created": {"date": "2023-11-02 22:44:43.000000", "timezone_type": 3, "timezone": "Europe/Paris"},
            "senttime": None, "timetosend": None, "paketid": None, "pakettitle": None, "paketbody": None,
        },
        "62051117": {
            "id": 62051117, "sendto": "+4912312312332", "body": "Hello! Thank you for Order! ", "customerid": None,
            "status": 7, "statustitle": "delivered", "deviceid": 11231, "urgent": None,
            "created": {"date": "2023-11-02 22:46:09.000000", "timezone_type": 3, "timezone": "Europe/Paris"},
            "senttime": None, "timetosend": None, "paketid": None, "pakettitle": None, "paketbody": None,
        },
    },
}
PHP_DATE = {"date": "2023-11-02 22:44:43.000000", "timezone_type": 3, "timezone": "Europe/Paris"}

SAVETAG_OK = {"error": 0, "tag_id": 8303, "message": "OK"}
SAVECONTACT_OK = {"error": 0, "contact_id": 15954765, "message": "ok"}
SAVEPAKET_OK = {"error": 0, "message": "OK", "paket_id": 1}

GETALLDEVICES_OK = {
    "error": 0,
    "message": "OK",
    "count": 2,
    "device": {
        "1576": {
            "id": 1576, "title": "AOSP_on_IA_Emulator", "number": None, "imei": "358240051111110",
            "created": {"date": "2020-03-28 20:10:29.000000", "timezone_type": 3, "timezone": "UTC"},
            "createdhumanformat": "28.03.2020 20:10:29",
            "lastseen": {"date": "2020-04-23 17:02:21.000000", "timezone_type": 3, "timezone": "UTC"},
            "lastseenhumanformat": "23.04.2020 17:02:21",
            "serialnumber": "EMULATOR30X0X5X0",
            "siminfo": [{"Slot": "0", "IccId": "89014103211118510720", "Number": " 15555215554", "Roaming": "0",
                         "CountryIso": "us", "CarrierName": "Android (T-Mobile)"}],
            "appversion": "12.1.21", "isappversionactual": False, "delaybetweeneachsms": None,
            "delaybetweenrequest": 1, "subscription": True,
        },
    },
}

GETSMSSTATUS_OK = {"error": 0, "message": "OK", "sms_id": 62807347, "status": 7, "status_description": "delivered"}
GETDEVICESTATUS_OK = {
    "error": 0, "message": "OK", "device_id": 260, "title": "Pixel", "online": False,
    "lastseen": {"date": "2020-04-23 17:02:21.000000", "timezone_type": 3, "timezone": "UTC"}, "diffseconds": 12,
}
