"""A crash inside a handler, on a real server: the API's own 5xx answer, a request id in the
log, and the same keep-alive connection still serves the client's next request."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.support import ServerProcess

FAILING = ["/messages/", "/api/v1/webhooks", "/nusasms_api/1.0/balance", "/api/mobile/v1/device"]


def local_port(response: httpx.Response) -> int:
    """The client's port of the connection that carried ``response``."""
    return response.extensions["network_stream"].get_extra_info("client_addr")[1]


def test_a_crash_answers_in_each_apis_format_and_keeps_the_connection(core, alice, database_url, tmp_path: Path) -> None:  # noqa: ANN001
    server = ServerProcess(tmp_path / "server", database_url, env={"POSTINO_FAIL_PATHS": json.dumps(FAILING)}).start()
    try:
        with httpx.Client(base_url=server.url, timeout=10, limits=httpx.Limits(max_connections=1)) as http:
            bearer = {"Authorization": f"Bearer {alice.bearer_token}"}

            crashed = http.get("/messages/", headers=bearer)
            assert crashed.status_code == 500
            body = crashed.json()
            request_id = crashed.headers["x-request-id"]
            assert body == {"data": None, "success": False, "message": f"Internal server error (request id {request_id})",
                            "credit": None, "error": 500}
            after = http.get("/getdata/getalldevices", params={"token": alice.sg24_token})
            assert after.status_code == 200 and after.json()["error"] == 0
            assert local_port(after) == local_port(crashed)  # the connection survived the crash

            native = http.get("/api/v1/webhooks", headers=bearer)
            assert native.status_code == 500
            assert native.json()["error"]["code"] == "internal_error"
            nusa = http.get("/nusasms_api/1.0/balance", headers={"APIKey": alice.api_key})
            assert nusa.status_code == 500
            assert nusa.json()["error"] is True and nusa.json()["error_code"] == 500 and nusa.json()["data"] is None
            phone = http.get("/api/mobile/v1/device")
            assert phone.status_code == 500 and set(phone.json()) == {"message"}
            again = http.get("/health")
            assert again.status_code == 200 and local_port(again) == local_port(crashed)
    finally:
        server.stop()
    log = server.log()
    assert f"request {request_id}: GET /messages/ failed" in log
    assert "fault injected at /messages/" in log
    assert alice.bearer_token not in log
