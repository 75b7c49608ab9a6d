"""What runs is written in one place: ``postino.wiring``; nothing registers itself on import."""

from __future__ import annotations

import subprocess
import sys

from postino import wiring
from postino.app import create_app
from postino.core.service import Core
from postino.settings import Settings


def test_the_scheduler_runs_the_listed_jobs(tmp_path) -> None:  # noqa: ANN001
    plain = Settings(data_dir=tmp_path)
    assert [name for name, _ in wiring.jobs(plain)] == [
        "promote_due",
        "release_expired_leases",
        "expire_overdue",
        "notice_offline_devices",
        "start_due_campaigns",
        "release_campaigns",
        "finish_campaigns",
        "outbox_prune",
        "match_waiting_receipts",
        "send_fallbacks",
    ]
    sandboxed = Settings(data_dir=tmp_path, sandbox=True)
    assert [name for name, _ in wiring.jobs(sandboxed)][-1] == "nusasms_sandbox"
    assert [name for name, _ in wiring.workers(plain)] == ["outbox", "campaigns", "connectors"]


def test_a_bare_core_has_no_listeners_until_the_app_wires_it(tmp_path) -> None:  # noqa: ANN001
    settings = Settings(data_dir=tmp_path)
    core = Core(settings)
    assert core.listeners.transition == [] and core.listeners.received == [] and core.listeners.stored == []
    create_app(settings, core)
    create_app(settings, core)  # wiring twice does not run a listener twice
    names = [fn.__qualname__ for fn in core.listeners.transition]
    assert names == [
        "announce_moves", "push_reports", "refund_failed", "hear_moves", "announce", "announce", "count_moves",
    ]
    assert [fn.__name__ for fn in core.listeners.received] == ["announce_received", "announce_received", "hear_inbound"]
    assert [fn.__name__ for fn in core.listeners.offline] == ["announce_offline"]
    assert [fn.__name__ for fn in core.listeners.stored] == ["count_stored"]


def test_a_part_that_fails_to_import_fails_the_start() -> None:
    code = "import sys; sys.modules['postino.native_api'] = None; import postino.app"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "ModuleNotFoundError: import of postino.native_api halted" in run.stderr


async def test_the_metrics_listener_counts_what_the_hot_path_writes(client, core, alice) -> None:  # noqa: ANN001
    from .sg24.conftest import register_phone

    phone = await register_phone(core, alice.id)

    def accepted(text: str) -> float:
        name = 'postino_messages_accepted_total{channel="sms"}'
        line = next((ln for ln in text.splitlines() if ln.startswith(name + " ")), None)
        return float(line.split()[-1]) if line else 0.0

    before = accepted((await client.get("/metrics")).text)
    for n in range(3):
        answer = await client.get(
            "/getdata/addsms", params={"token": alice.sg24_token, "sendto": f"+39349123456{n}", "body": "x", "device_id": phone}
        )
        assert answer.json()["error"] == 0
    assert accepted((await client.get("/metrics")).text) - before == 3


def _samples(text: str) -> dict[str, float]:
    """The exposition's samples by name with labels, e.g. ``postino_writer_group_seconds_count``."""
    return {ln.rsplit(" ", 1)[0]: float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines() if ln and ln[0] != "#"}


async def test_metrics_show_where_the_writes_and_pauses_went(client, core, alice) -> None:  # noqa: ANN001
    import gc

    from .sg24.conftest import register_phone

    phone = await register_phone(core, alice.id)
    before = _samples((await client.get("/metrics")).text)
    for n in range(3):
        answer = await client.get(
            "/getdata/addsms", params={"token": alice.sg24_token, "sendto": f"+39349123457{n}", "body": "x", "device_id": phone}
        )
        assert answer.json()["error"] == 0
    gc.collect()
    after = _samples((await client.get("/metrics")).text)

    assert after["postino_writer_works_total"] - before.get("postino_writer_works_total", 0) >= 3
    groups = after["postino_writer_group_seconds_count"]
    assert groups >= 1 and after['postino_writer_group_seconds_bucket{le="+Inf"}'] == groups
    buckets = [v for k, v in after.items() if k.startswith("postino_writer_group_seconds_bucket")]
    assert buckets == sorted(buckets)  # cumulative
    assert after["postino_writer_group_seconds_sum"] > 0
    if core.db.is_sqlite:  # the writer's own thread; on PostgreSQL its groups run on the loop
        assert after["postino_writer_group_cpu_seconds_total"] > 0
    full = 'postino_gc_pause_seconds_count{generation="2"}'
    assert after[full] >= before.get(full, 0) + 1
    assert "postino_wal_restart_hold_seconds_count" in after
    assert after["postino_wal_cap_wait_seconds_count"] == 0  # the WAL of a few writes is far under its cap
