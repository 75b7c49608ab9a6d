"""The payload of NusaSMS push callbacks (delivery reports to the account's ``push_url``).

The provider documents that a push callback exists, not its body; Postino sends one JSON
object per state change that carries both vocabularies, so WhatsApp and SMS
integrations can read the field they already know.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .render import DR_STATUS, WA_STATUS, timestamp


def report(row: Any, state: str, at: datetime) -> dict[str, Any]:
    destination = row.recipient.lstrip("+") if row.recipient.startswith("+") else row.recipient
    return {
        "ref_no": row.customer_id or str(row.id),
        "messageid": row.customer_id or str(row.id),
        "channel": row.channel,
        "destination": destination,
        "sender": row.sender or None,
        "status": WA_STATUS.get(state, "F"),
        "dr_status": DR_STATUS.get(state, "FAILED"),
        "date": timestamp(at),
    }
