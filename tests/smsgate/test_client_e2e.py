"""The PyPI ``android-sms-gateway`` client, unchanged, against a real ``postino serve`` and a simulated phone.

Its base URL is the only thing that changes: ``<postino>/3rdparty/v1`` (the cloud's path)
or ``<postino>/api/3rdparty/v1`` (a private server's). Sent messages go out through
the real mobile API to the simulated phone, which reports them Delivered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import android_sms_gateway as asg
import pytest
from android_sms_gateway import domain
from android_sms_gateway.enums import HealthStatus, ProcessState, WebhookEvent
from android_sms_gateway.errors import APIError as ClientError

from tests.support import ServerProcess, SimulatorProcess, wait_for_sync
from tests.webhooks.conftest import Receiver

FAST = ("--latency", "10ms", "--poll-every", "200ms")


@pytest.fixture
def running(core, alice, database_url, tmp_path: Path):  # noqa: ANN001, ANN201
    server = ServerProcess(tmp_path / "server", database_url, "--allow-private-urls").start()
    phone = SimulatorProcess(server.url, alice.device_registration_token, *FAST, workdir=tmp_path / "phone")
    try:
        phone.start()
        yield server, phone
    finally:
        phone.stop()
        server.stop()


def _delivered(client: asg.APIClient, message_id: str) -> domain.MessageState | None:
    state = client.get_state(message_id)
    if [r.state for r in state.recipients] == [ProcessState.Delivered] * len(state.recipients):
        return state
    return None


def _send_and_follow(client: asg.APIClient, device_id: str, text: str) -> domain.MessageState:
    sent = client.send(domain.Message(phone_numbers=["+393491234567", "+393491234568"], text_message=domain.TextMessage(text)))
    assert sent.device_id == device_id and sent.state == ProcessState.Pending
    assert [r.phone_number for r in sent.recipients] == ["+393491234567", "+393491234568"]
    done = wait_for_sync(lambda: _delivered(client, sent.id), timeout=30, message="both recipients Delivered")
    assert done.state == ProcessState.Delivered
    assert {"Pending", "Processed", "Sent", "Delivered"} <= set(done.states or {})
    return done


def test_basic_auth_on_both_base_paths(running, alice, tmp_path: Path) -> None:  # noqa: ANN001
    server, phone = running
    (device_id,) = phone.device_ids
    receiver = Receiver(tmp_path / "receiver").start()
    try:
        for base in ("/3rdparty/v1", "/api/3rdparty/v1"):
            with asg.APIClient(alice.email, alice.password, base_url=server.url + base) as client:
                assert client.health_check().status == HealthStatus.PASS
                assert client.liveness_check().status == HealthStatus.PASS
                (device,) = client.list_devices()
                assert device.id == device_id and device.last_seen is not None

                hook = client.create_webhook(
                    domain.Webhook(id=None, url=receiver.url + "/hook", event=WebhookEvent.SMS_DELIVERED)
                )
                assert [h.id for h in client.get_webhooks()] == [hook.id]

                done = _send_and_follow(client, device_id, f"hello via {base}")
                key = client.get_settings().webhooks.signing_key
                assert key

                def delivered_hooks() -> list[dict]:
                    found = [json.loads(r["body"]) for r in receiver.acknowledged()]
                    mine = [r for r in found if r["payload"]["messageId"] == done.id]
                    return mine if len(mine) == 2 else []

                hooks = wait_for_sync(delivered_hooks, timeout=20, message="two sms:delivered webhooks")
                assert {h["payload"]["phoneNumber"] for h in hooks} == {"+393491234567", "+393491234568"}
                assert all(h["event"] == "sms:delivered" and h["webhookId"] == hook.id and h["deviceId"] == device_id for h in hooks)
                for request in receiver.acknowledged():
                    body = request["body"].encode()
                    stamp = request["headers"]["x-timestamp"]
                    expected = hmac.new(key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
                    assert request["headers"]["x-signature"] == expected
                client.delete_webhook(hook.id)
                assert client.get_webhooks() == []
                receiver.log_path.unlink(missing_ok=True)

                everything = client.get_messages()
                assert done.id in [m.id for m in everything]
                delivered = client.get_messages(
                    query=domain.MessagesQueryFilter(state="Delivered", device_id=device_id,
                                                     from_=datetime.now(timezone.utc) - timedelta(hours=1)),
                    pagination=domain.QueryPagination(limit=1, offset=0),
                    sort="-created_at",
                )
                assert [m.id for m in delivered] == [done.id]
                assert client.get_messages(query=domain.MessagesQueryFilter(state="Pending")) == []

                client.patch_settings(domain.DeviceSettings(messages=domain.SettingsMessages(send_interval_min=1, send_interval_max=2)))
                settings = client.get_settings()
                assert (settings.messages.send_interval_min, settings.messages.send_interval_max) == (1, 2)
                client.patch_settings(domain.DeviceSettings(messages=domain.SettingsMessages(send_interval_min=0, send_interval_max=0)))

                logs = client.get_logs(from_=(datetime.now(timezone.utc) - timedelta(hours=1)).isoformat())
                assert any(entry.context and entry.context.get("state") == "delivered" for entry in logs)
    finally:
        receiver.stop()


def test_jwt_tokens_scopes_refresh_and_revoke(running, alice) -> None:  # noqa: ANN001
    server, phone = running
    (device_id,) = phone.device_ids
    for base in ("/3rdparty/v1", "/api/3rdparty/v1"):
        with asg.APIClient(alice.email, alice.password, base_url=server.url + base) as admin:
            token = admin.generate_token(domain.TokenRequest(
                scopes=["messages:send", "messages:read", "messages:list", "devices:list", "settings:read", "logs:read",
                        "tokens:manage"],
                ttl=900,
            ))
            limited = admin.generate_token(domain.TokenRequest(scopes=["devices:list"]))
        assert token.token_type == "Bearer" and token.refresh_token
        with asg.APIClient(None, token.access_token, base_url=server.url + base) as client:
            assert client.health_check().status == HealthStatus.PASS
            assert [d.id for d in client.list_devices()] == [device_id]
            done = _send_and_follow(client, device_id, f"jwt via {base}")
            assert done.id in [m.id for m in client.get_messages()]
            assert client.get_settings().messages is not None
            assert client.get_logs()
            with pytest.raises(ClientError) as refused:
                client.get_webhooks()
            assert refused.value.status_code == 403
            assert refused.value.response["message"] == "scope required: webhooks:list"
            renewed = client.refresh_token(token.refresh_token)
            assert renewed.id != token.id and renewed.access_token != token.access_token
            with pytest.raises(ClientError) as old:
                client.list_devices()  # the old pair was revoked by the refresh
            assert old.value.status_code == 401
        with asg.APIClient(None, renewed.access_token, base_url=server.url + base) as client:
            assert [d.id for d in client.list_devices()] == [device_id]
            client.revoke_token(renewed.id)
            with pytest.raises(ClientError) as revoked:
                client.list_devices()
            assert revoked.value.status_code == 401
        with asg.APIClient(None, limited.access_token, base_url=server.url + base) as client:
            assert [d.id for d in client.list_devices()] == [device_id]
            with pytest.raises(ClientError) as outside:
                client.send(domain.Message(phone_numbers=["+393491234567"], text_message=domain.TextMessage("no")))
            assert outside.value.status_code == 403
