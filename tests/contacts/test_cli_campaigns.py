"""``postino campaigns`` as an operator runs it: create (now or later), cancel, with the counts in ``--json``."""

from __future__ import annotations

import json

from postino.core.contacts import campaigns

from ..support import run_cli
from .helpers import bulk_contacts, bulk_optouts, new_list, number, phone


async def test_create_now_and_later_then_cancel(settings, core, alice) -> None:  # noqa: ANN001
    db = ["--email", alice.email, "--json", "--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    device = await phone(core, alice.id)
    for title, first in (("Clienti", 0), ("Soci", 2)):
        tag = await new_list(core, alice.id, title)
        await bulk_contacts(core, alice.id, tag, [number(i) for i in range(first, first + 4)])
    await bulk_optouts(core, alice.id, [number(0)])

    now = json.loads(run_cli("campaigns", "create", "--title", "Ora", "--body", "Ciao {{name}}", "--lists",
                             "Clienti,Soci", "--device-id", str(device), "--slot", "1", *db).stdout)  # fmt: skip
    assert {k: now[k] for k in ("state", "total", "queued", "waiting", "opted_out", "duplicates_skipped", "slot")} == {
        "state": "running", "total": 5, "queued": 5, "waiting": 0, "opted_out": 1, "duplicates_skipped": 2, "slot": 1,
    }
    later = json.loads(run_cli("campaigns", "create", "--title", "Domani", "--body", "Saldi", "--lists", "Soci",
                               "--at", "2099-05-29T09:00", "--window", "09:00-20:00", "--pace", "120", *db).stdout)  # fmt: skip
    assert {k: later[k] for k in ("state", "total", "send_at", "window", "pace", "device_id")} == {
        "state": "scheduled", "total": 4, "send_at": "2099-05-29T07:00:00.000Z", "window": "09:00-20:00",
        "pace": 120, "device_id": None,
    }
    canceled = json.loads(run_cli("campaigns", "cancel", str(later["id"]), *db).stdout)
    assert (canceled["id"], canceled["state"]) == (later["id"], "canceled")
    refused = run_cli("campaigns", "create", "--title", "X", "--body", "B", "--lists", "Nessuna", *db, check=False)
    assert refused.returncode == 1 and "no list named 'Nessuna'" in refused.stderr
    async with core.reader() as unit:
        found, _next = await campaigns.list_campaigns(unit, alice.id)
    assert [(c.title, c.state) for c in found] == [("Domani", "canceled"), ("Ora", "running")]
