"""The state file: what a simulated phone must remember across restarts.

Per phone: its registration (id, token, login, the server it belongs to) and the messages
it has taken but not finished, like the app's own database. A restart reuses the
registration and finishes what was in flight, so no message is sent twice or forgotten.
Written atomically (temporary file, then rename), so a kill never leaves half a file.
"""

from __future__ import annotations

import asyncio
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
        self._next_save: asyncio.Future[None] | None = None

    def phone(self, index: int) -> dict[str, Any]:
        return self.data["phones"].setdefault(str(index), {})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)
        self.dirty = False

    async def save_soon(self) -> None:
        """Save, sharing one write with every phone that asks in the same turn of the event loop.

        Phones taking messages at the same moment each need their state on disk before they
        answer; one file holds them all, so one write serves every phone waiting for it.
        """
        if self._next_save is None:
            loop = asyncio.get_running_loop()
            self._next_save = loop.create_future()
            loop.call_soon(self._save_for_waiters)
        await asyncio.shield(self._next_save)

    def _save_for_waiters(self) -> None:
        waiting, self._next_save = self._next_save, None
        assert waiting is not None
        try:
            self.save()
        except Exception as exc:  # noqa: BLE001 - every waiting phone meets it, as with save()
            waiting.set_exception(exc)
        else:
            waiting.set_result(None)

    def save_if_dirty(self) -> None:
        if self.dirty:
            self.save()
