"""The fake WhatsApp Cloud API as the tests run it: a real ``postino graph simulate`` process."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.connectors.smsc import SmscProcess

API_VERSION = "v21.0"


class GraphProcess(SmscProcess):
    """``GraphProcess(tmp_path, "--invalid", "6281*").start()``; ``command(inbound={...})``
    writes a stdin line, ``events("webhook")`` reads its log, ``settings()`` is what
    ``connectors add whatsapp_cloud`` takes to reach it."""

    def __init__(
        self, workdir: Path, *extra: str, token: str = "graph-token-1", app_secret: str = "graph-secret-1",
        verify_token: str = "graph-verify-1", phone_number_id: str = "106540352242922",
    ) -> None:
        self.workdir = workdir
        self.extra = list(extra)
        self.token = token
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.phone_number_id = phone_number_id
        self.events_path = workdir / "graph-events.jsonl"
        self.log_path = workdir / "graph.log"
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/{API_VERSION}/{self.phone_number_id}/messages"

    def argv(self, port: int) -> list[str]:
        return [
            "graph", "simulate", "--port", str(port), "--token", self.token, "--app-secret", self.app_secret,
            "--verify-token", self.verify_token, "--phone-number-id", self.phone_number_id,
            "--log", str(self.events_path), *self.extra,
        ]  # fmt: skip

    def settings(self) -> dict[str, Any]:
        """What ``connectors add whatsapp_cloud`` takes to reach this fake."""
        return {
            "phone_number_id": self.phone_number_id, "token": self.token, "app_secret": self.app_secret,
            "verify_token": self.verify_token, "base_url": self.base_url, "api_version": API_VERSION,
        }
