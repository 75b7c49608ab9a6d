"""Importing address books: 10,000 rows with 37 bad ones, CSV dialects and encodings, XLSX, the progress bar."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from postino.core.accounts import accounts
from postino.core.contacts import imports, lists, sheets
from postino.db.tables import contacts, tags

from ..support import postino_command, run_cli, wait_for_sync
from .helpers import number

ROWS = 10_000
BAD = {  # data row index -> (cells, reason)
    **{i: ([" ", "No phone", "Roma"], "no phone number") for i in range(5, 5000, 500)},  # 10
    **{i: (["abc", "Letters", "Roma"], "not a phone number: 'abc'") for i in range(7, 7000, 700)},  # 10
    **{i: (["+39 000 1234", "Invalid", "Roma"], "not a valid number for IT: '+39 000 1234'") for i in range(11, 9000, 1000)},  # 9
    **{i: ([number(i), "Too", "many", "cells"], "4 cells, more than the header's 3") for i in range(13, 8000, 1000)},  # 8
}
assert len(BAD) == 37


def _rows() -> list[list[str]]:
    return [BAD[i][0] if i in BAD else [number(i), f"Persona {i}", "Città"] for i in range(ROWS)]


def _expected_bad() -> list[dict]:
    return [{"line": i + 2, "reason": BAD[i][1]} for i in sorted(BAD)]  # line 1 is the header


def _csv(path: Path, *, delimiter: str = ",", encoding: str = "utf-8-sig") -> Path:
    text = io.StringIO()
    import csv

    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["Telefono", "Nome", "Città"])
    writer.writerows(_rows())
    path.write_bytes(text.getvalue().encode(encoding))
    return path


def _xlsx(path: Path) -> Path:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Contatti")
    sheet.append(["Telefono", "Nome", "Città"])
    for i, row in enumerate(_rows()):
        # Excel users type numbers without '+': the cell is a number then.
        sheet.append([int(row[0][1:]) if i % 3 == 0 and i not in BAD else row[0], *row[1:]])
    book.save(path)
    return path


def _db(settings) -> list[str]:  # noqa: ANN001
    return ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]


async def _stored(core, account_id: int) -> int:  # noqa: ANN001
    async with core.reader() as unit:
        return int(await unit.conn.scalar(select(func.count()).select_from(contacts).where(contacts.c.account_id == account_id)))


async def test_10000_rows_with_37_bad_ones_import_nothing_or_the_rest_with_skip_bad(settings, core, alice, tmp_path) -> None:  # noqa: ANN001
    path = _csv(tmp_path / "contatti.csv")
    refused = run_cli("contacts", "import", str(path), "--list", "Clienti", "--email", alice.email, "--json",
                      *_db(settings), check=False)  # fmt: skip
    assert refused.returncode == 1, refused.stderr
    report = json.loads(refused.stdout)
    assert report["bad"] == _expected_bad()
    assert (report["imported"], report["updated"], report["bad_count"], report["total"]) == (0, 0, 37, ROWS)
    assert await _stored(core, alice.id) == 0
    async with core.reader() as unit:
        assert await unit.conn.scalar(select(func.count()).select_from(tags)) == 0  # not even the list

    done = run_cli("contacts", "import", str(path), "--list", "Clienti", "--email", alice.email, "--json", "--skip-bad",
                   *_db(settings))  # fmt: skip
    report = json.loads(done.stdout)
    assert set(report) == {"list_id", "imported", "updated", "bad", "bad_count", "total"}
    assert report["bad"] == _expected_bad()
    assert (report["imported"], report["updated"], report["total"]) == (ROWS - 37, 0, ROWS)
    assert await _stored(core, alice.id) == ROWS - 37
    async with core.reader() as unit:
        row = (await unit.conn.execute(select(contacts).where(contacts.c.phone == number(42)))).one()
    assert (row.tag_id, row.fullname, row.fields) == (report["list_id"], "Persona 42", {"Città": "Città"})


async def test_an_xlsx_with_the_same_rows_imports_the_same_through_the_api(client, core, alice, tmp_path) -> None:  # noqa: ANN001
    list_id = (await client.post("/api/v1/lists", json={"title": "Clienti"}, headers=_bearer(alice))).json()["id"]
    path = _xlsx(tmp_path / "contatti.xlsx")
    files = {"file": ("contatti.xlsx", path.read_bytes(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
    refused = await client.post(f"/api/v1/lists/{list_id}/import", files=files, headers=_bearer(alice))
    assert refused.status_code == 422
    body = refused.json()
    assert body["error"]["code"] == "invalid" and body["bad"] == _expected_bad() and body["imported"] == 0
    assert await _stored(core, alice.id) == 0
    done = await client.post(f"/api/v1/lists/{list_id}/import", files=files, data={"skip_bad": "true"}, headers=_bearer(alice))
    assert done.status_code == 200, done.text
    assert done.json() == {"list_id": list_id, "imported": ROWS - 37, "updated": 0, "bad": _expected_bad(),
                           "bad_count": 37, "total": ROWS}  # fmt: skip
    async with core.reader() as unit:
        phones = set((await unit.conn.execute(select(contacts.c.phone))).scalars())
    assert phones == {number(i) for i in range(ROWS) if i not in BAD}
    again = await client.post(f"/api/v1/lists/{list_id}/import", files=files, data={"skip_bad": "1"}, headers=_bearer(alice))
    assert (again.json()["imported"], again.json()["updated"]) == (0, ROWS - 37)  # a known phone is updated


def _bearer(account) -> dict[str, str]:  # noqa: ANN001
    return {"Authorization": f"Bearer {account.bearer_token}"}


@pytest.mark.parametrize(
    ("data", "delimiter", "encoding"),
    [
        ("telefono;nome;città\r\n3491111111;Niccolò;Forlì\r\n".encode("cp1252"), ";", "windows-1252"),
        ("\ufeffNumber\tName\tCity\n+393491111111\tNiccolò\tForlì\n".encode(), "\t", "utf-8-sig"),
        ('mobile,fullname,city\n"+39 349 1111111","Niccolò, jr.",Forlì\n'.encode(), ",", "utf-8"),
        ("phone\n3491111111\n".encode(), ",", "utf-8"),
    ],
)
def test_csv_dialects_and_encodings(data: bytes, delimiter: str, encoding: str) -> None:
    sheet = sheets.read(data)
    assert (sheet.delimiter, sheet.encoding, sheet.format) == (delimiter, encoding, "csv")
    cols = imports.columns(sheet.header)
    (row,) = list(sheet.rows)
    good = imports.check(row, cols, "IT")
    assert isinstance(good, imports.Good) and (good.line, good.phone) == (2, "+393491111111")
    if len(sheet.header) > 1:  # a one-column file has a phone and nothing else
        assert good.name in ("Niccolò", "Niccolò, jr.") and list(good.fields.values()) == ["Forlì"]


def test_the_mapping_overrides_the_guess_and_names_fields() -> None:
    header = ["Cellulare", "Numero", "Nome", "Città"]
    guessed = imports.columns(header)
    assert (guessed.phone, guessed.name, guessed.fields) == (1, 2, {"Cellulare": 0, "Città": 3})
    mapped = imports.columns(header, imports.parse_mapping("phone=cellulare, name=Nome, city=Città"))
    assert (mapped.phone, mapped.name, mapped.fields) == (0, 2, {"city": 3, "Numero": 1})
    with pytest.raises(Exception, match="No column 'Tel'"):
        imports.columns(header, imports.parse_mapping("phone=Tel"))
    with pytest.raises(Exception, match="No phone column"):
        imports.columns(["Name", "City"])
    with pytest.raises(Exception, match="what=column"):
        imports.parse_mapping("phone")
    with pytest.raises(Exception, match="XLS files"):
        sheets.read(b"\xd0\xcf\x11\xe0rest of an old workbook")


async def test_an_import_updates_known_numbers_and_merges_their_fields(core, alice) -> None:  # noqa: ANN001
    async with core.unit() as unit:
        account = await accounts.get(unit, alice.id)
        tag = await lists.create_tag(unit, alice.id, "Soci")
        first = sheets.read(b"phone,name,city,level\n3491111111,Anna,Roma,gold\n3492222222,Bea,,\n")
        report = await imports.import_sheet(unit, account, tag.id, first)
        assert (report.imported, report.updated) == (2, 0)
        second = sheets.read(b"phone,name,city\n+393491111111,Anna R.,Milano\n3491111111,Anna Rossi,Torino\n")
        report = await imports.import_sheet(unit, account, tag.id, second)
        assert (report.imported, report.updated, report.total) == (0, 2, 2)
        no_names = sheets.read(b"gsm;vip\n3492222222;yes\n")  # no name column: the name stays
        assert (await imports.import_sheet(unit, account, tag.id, no_names)).updated == 1
        rows = (await unit.conn.execute(select(contacts.c.phone, contacts.c.fullname, contacts.c.fields)
                                        .order_by(contacts.c.phone))).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        ("+393491111111", "Anna Rossi", {"city": "Torino", "level": "gold"}),
        ("+393492222222", "Bea", {"vip": "yes"}),
    ]


def test_export_writes_what_import_reads(settings, alice, tmp_path) -> None:  # noqa: ANN001
    source = tmp_path / "in.csv"
    source.write_text("numero;nome;città\n3491111111;Anna;Roma\n3492222222;Bea;\n", encoding="utf-8")
    run_cli("contacts", "import", str(source), "--list", "Soci", "--email", alice.email, *_db(settings))
    out = tmp_path / "out.csv"
    run_cli("contacts", "export", "--list", "Soci", "--email", alice.email, "--out", str(out), *_db(settings))
    assert out.read_bytes().decode("utf-8-sig").splitlines() == [
        "phone,name,città", "+393491111111,Anna,Roma", "+393492222222,Bea,"
    ]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed: the terminal test needs it")
def test_the_progress_bar_shows_on_a_terminal(settings, alice, tmp_path) -> None:  # noqa: ANN001
    path = _csv(tmp_path / "contatti.csv")
    socket, session = f"postino-test-{uuid.uuid4().hex[:8]}", "import"
    command = " ".join([*postino_command("contacts", "import", str(path), "--list", "T", "--email", alice.email,
                                         "--skip-bad", *_db(settings)), "; echo IMPORT-DONE; read _"])  # fmt: skip
    tmux = ["tmux", "-L", socket]
    subprocess.run([*tmux, "new-session", "-d", "-s", session, "-x", "160", "-y", "40", command], check=True)
    try:
        def screen() -> str:
            return subprocess.run([*tmux, "capture-pane", "-p", "-S", "-", "-t", session], capture_output=True, text=True).stdout

        shown = wait_for_sync(lambda: "IMPORT-DONE" in screen() and screen(), timeout=60, message="the import to end")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    assert "importing" in shown and "10000/10000 rows" in shown and "━" in shown, shown
    assert "9963 imported" in shown
