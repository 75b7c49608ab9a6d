"""The state file: what a simulated phone must remember across restarts.

Per phone: its registration (id, token, login, the server it belongs to) and the messages
it has taken but not finished, like the app's own database. A restart reuses the
registration and finishes what was in flight, so no message is sent twice or forgotten.
Written atomically (temporary file, then rename), so a kill never leaves half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class StateFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {"phones": {}}
        if path.exists():
            try:
                loaded = json.loads(path.read_text() or "{}")
                if isinstance(loaded, dict) and isinstance(loaded.get("phones"), dict):
                    self.data = loaded
            except (OSError, ValueError):
                pass  # unreadable: start afresh, the phone registers again
        self.dirty = False

    def phone(self, index: int) -> dict[str, Any]:
        return self.data["phones"].setdefault(str(index), {})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)
        self.dirty = False

    def save_if_dirty(self) -> None:
        if self.dirty:
            self.save()
