"""A webhook receiver for the tests, run as its own process: logs every request, answers as told.

    python receiver.py --port P --log requests.jsonl --control control.json

``control.json`` is read at every request: ``{"fail_first": 3, "status": 500}`` answers
``status`` to the first ``fail_first`` attempts of each delivery (``X-Postino-Delivery``),
then 200; ``{"always": 500}`` answers 500 to everything; ``"delay": 0.2`` makes every
answer that slow (a slow receiver). Each request is one JSON line: method, path,
headers, body, the status answered, when it arrived (``start``) and was answered (``t``).
"""

from __future__ import annotations

import argparse
import json
import ssl
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("--control", type=Path, required=True)
    parser.add_argument("--tls-cert", type=Path, help="PEM certificate + key: answer https")
    args = parser.parse_args()
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def read_control() -> dict:
        try:
            return json.loads(args.control.read_text())
        except (OSError, ValueError):
            return {}

    def decide(delivery: str, control: dict) -> int:
        with lock:
            seen[delivery] += 1
            count = seen[delivery]
        if "always" in control:
            return int(control["always"])
        if count <= int(control.get("fail_first", 0)):
            return int(control.get("status", 500))
        return 200

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            start = time.time()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            control = read_control()
            status = decide(self.headers.get("X-Postino-Delivery", self.path), control)
            if control.get("delay"):
                time.sleep(float(control["delay"]))  # playing a slow receiver
            entry = {
                "method": "POST",
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "status": status,
                "start": start,
                "t": time.time(),
            }
            with lock, args.log.open("a") as log:
                log.write(json.dumps(entry) + "\n")
            answer = b'{"ok":true}' if status < 300 else b'{"ok":false}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
