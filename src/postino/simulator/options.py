"""What a simulated phone can be told: server, credentials, odds, delays, test rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_FAIL_PATTERN = r"#fail(?::([A-Za-z_]+))?"
"""Text containing ``#fail`` fails with ``--fail-error``; ``#fail:RESULT_ERROR_RADIO_OFF`` names the error."""
DEFAULT_REPLY_PATTERN = "#reply"
"""Text containing ``#reply`` makes the recipient answer: an inbound ``Re: <text>`` from that number."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Seconds from ``50ms``, ``1.5s``, ``2m`` or a bare number of seconds."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"not a duration: {text!r} (examples: 50ms, 1.5s, 2m)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_slots(text: str) -> list[int]:
    try:
        slots = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise ValueError(f"--slots must be numbers like 0,1,2 (got {text!r})") from exc
    if not slots or any(s < 0 or s > 5 for s in slots):
        raise ValueError("--slots must name slots from 0 to 5")
    return slots


def slot_channel(slot: int) -> str:
    return "whatsapp" if slot in (2, 3) else "rcs" if slot in (4, 5) else "sms"


@dataclass
class Options:
    server: str
    token: str
    slots: list[int] = field(default_factory=lambda: [0, 1])
    deliver: float = 1.0
    latency: float = 0.05
    phones: int = 1
    state_file: Path = Path("postino-phone.json")
    name: str = "postino-sim"
    fail_pattern: str = DEFAULT_FAIL_PATTERN
    fail_error: str = "RESULT_ERROR_NO_SERVICE"
    reply_pattern: str = DEFAULT_REPLY_PATTERN
    inbound_every: float = 0.0
    inbound_from: str = "+393330000001"
    inbound_text: str = "Hello from the simulated phone"
    take_delay: float = 0.0
    poll_every: float = 10.0
    insecure: bool = False
    ca_cert: Path | None = None
    parent_pid: int | None = None
    seed: int | None = None
    sent_log: Path | None = None
    """Append ``<message id> <device id>`` here for every SMS sent (evidence for tests)."""

    @property
    def api(self) -> str:
        base = self.server.rstrip("/")
        return base if base.endswith("/api/mobile/v1") else base + "/api/mobile/v1"

    def sim_cards(self) -> list[dict]:
        """The slots as the app declares them, plus the ``channels`` extension for 2-5."""
        cards = []
        for slot in self.slots:
            card: dict = {"slotIndex": slot, "simNumber": slot + 1}
            if slot >= 2:
                card["channels"] = [slot_channel(slot)]
            cards.append(card)
        return cards
