"""Helpers of the NusaSMS tests: WhatsApp-capable phones, API-key clients, a local file server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from postino.core.devices import devices

WA_SENDER = "6281100000002"


async def wa_phone(core, account_id: int, *, number: str = WA_SENDER, sms: bool = True):  # noqa: ANN001, ANN201
    """A phone with SMS slots 0-1 (optional) and a WhatsApp slot 2 sending as ``number``."""
    cards = [{"slotIndex": 0, "simNumber": 1}] if sms else []
    cards.append({"slotIndex": 2, "simNumber": 3, "phoneNumber": number, "channels": ["whatsapp"]})
    async with core.unit() as unit:
        device, _token = await devices.register(unit, account_id, name="wa phone", sim_cards=cards)
    return device


async def sms_phone(core, account_id: int):  # noqa: ANN001, ANN201
    async with core.unit() as unit:
        device, _token = await devices.register(unit, account_id, name="sms phone")
    return device


def key(api_key: str) -> dict[str, str]:
    return {"APIKey": api_key, "accept": "application/json"}


class FileServer:
    """A real HTTP server on loopback that serves ``files[path] = bytes``."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.hits: list[str] = []
        files, hits = self.files, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                hits.append(self.path)
                body = files.get(self.path)
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    server = FileServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;" + b"\x00" * 64
