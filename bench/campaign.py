"""Figure 7: a campaign to 100,000 contacts, from the ``savepaket`` call to every message queued.

The lists are those of the campaign test (tests/contacts/test_scale.py): 100,000 numbers
in 3 lists of 130,000 entries (30,000 numbers in two lists), 1,000 of them opted out, so
99,000 messages. They are written straight into the running server's database (WAL lets
the bench write beside it); the clock runs from the request to the moment the last of
them is ``queued``: the request writes the first page, the server's campaigns worker
the rest, a page per transaction.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime
from urllib.parse import urlencode
from urllib.request import urlopen

from .figures import Env, Row, _db

DISTINCT = 100_000
LISTS = ((0, 50_000), (35_000, 80_000), (65_000, 100_000))
OPTED_OUT = range(7, DISTINCT, 100)
TARGET_S = 5.0


def _number(i: int) -> str:
    return f"+39350{i:07d}"


def _lists(db: sqlite3.Connection, account_id: int) -> list[int]:
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    tags = []
    with db:
        for n, (first, last) in enumerate(LISTS):
            tag = db.execute("INSERT INTO tags (account_id, title, created_at) VALUES (?, ?, ?)",
                             (account_id, f"bench list {n}", now)).lastrowid  # fmt: skip
            db.executemany(
                "INSERT INTO contacts (account_id, tag_id, phone, fullname, fields, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, '{}', ?, ?)",
                [(account_id, tag, _number(i), f"Contact {i}", now, now) for i in range(first, last)],
            )
            tags.append(tag)
        db.executemany(
            "INSERT INTO optouts (account_id, phone, at, channel, source, actor) VALUES (?, ?, ?, '', 'operator', '')",
            [(account_id, _number(i), now) for i in OPTED_OUT],
        )
    return tags


def figure(env: Env) -> list[Row]:
    with _db(env) as db:
        tags = _lists(db, env.account["id"])
    query = urlencode({"token": env.account["sg24_token"], "title": "Figure 7", "device_id": env.device_id,
                       "body": "Spring sale: 20% off until Sunday", "tags": ",".join(map(str, tags))})  # fmt: skip
    expected = DISTINCT - len(OPTED_OUT)
    started = time.monotonic()
    with urlopen(f"{env.server.url}/getdata/savepaket?{query}", timeout=60) as answer:
        paket = json.loads(answer.read())
    if paket.get("error") != 0:
        return [Row("7. campaign: 100,000 contacts to queued", f"refused: {paket}", f"<= {TARGET_S:.0f} s", False)]
    def handed_out() -> bool:
        """The campaign row says every page is written and handed out (cheap to ask while the server works)."""
        with _db(env) as db:
            expanded, written, released = db.execute(
                "SELECT expanded_at, written, released FROM campaigns WHERE id = ?", (paket["paket_id"],)
            ).fetchone()
        return expanded is not None and released >= written

    deadline = started + 120
    while not handed_out() and time.monotonic() < deadline:
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    with _db(env) as db:  # then the messages themselves, outside the clock
        done = db.execute(
            "SELECT count(*) FROM messages m JOIN campaigns c ON c.batch_id = m.batch_id"
            " WHERE c.id = ? AND m.state = 'queued'", (paket["paket_id"],)
        ).fetchone()[0]
    ok = done == expected and elapsed <= TARGET_S
    return [Row(f"7. campaign: 100,000 contacts (3 lists, 1,000 opted out) to queued ({done:,} messages)",
                f"{elapsed:.2f} s", f"<= {TARGET_S:.0f} s", ok)]  # fmt: skip
