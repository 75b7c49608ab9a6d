"""The sent log: one line per SMS a simulated phone actually sends.

Evidence from the phone's side for "delivered exactly once": tests count each message
id here. Appended and flushed per line, so a killed server (or a stopped simulator)
never hides a send; several phones and processes may share one file (``O_APPEND``
keeps short lines whole).
"""

from __future__ import annotations

import os
from pathlib import Path


class SentLog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def record(self, message_id: str, device_id: str) -> None:
        """``<message id> <device id>``: written with one ``write`` so lines never interleave."""
        os.write(self._fd, f"{message_id} {device_id}\n".encode())

    def close(self) -> None:
        os.close(self._fd)


def read_sent_log(path: Path) -> list[str]:
    """The message ids in a sent log, one per send, in order."""
    if not path.exists():
        return []
    return [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
