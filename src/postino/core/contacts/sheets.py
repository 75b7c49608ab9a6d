"""Reading an address book file: CSV in the dialects and encodings people export, or XLSX.

CSV needs no library beyond the stdlib: ``csv`` reads quoted fields and any delimiter,
and what varies between exports (the delimiter, a BOM, Windows-1252 bytes from an older
Excel) is decided here in a few lines. XLSX is a zip of XML whose cell types and shared
strings are easy to get wrong; ``openpyxl`` (maintained, pure Python) reads it, in
read-only mode so a large sheet is streamed row by row.

Both give the same thing: a header and rows of text cells, each with the line (CSV) or
row number (XLSX) a person sees when opening the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from ..errors import InvalidInput

DELIMITERS = ",;\t"
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # the binary .xls of Excel 97-2003
_SAMPLE = 64 * 1024


@dataclass(frozen=True)
class Row:
    line: int
    """Where the row starts: the file's line (CSV) or the sheet's row number (XLSX)."""
    cells: list[str]


@dataclass
class Sheet:
    header: list[str]
    rows: Iterator[Row]
    total: int | None
    """Data rows in the file when known before reading them (a progress bar's length)."""
    format: str
    """``csv`` or ``xlsx``."""
    encoding: str = ""
    delimiter: str = ""


def read(data: bytes) -> Sheet:
    """The header and rows of ``data``: XLSX when it is a zip, else CSV."""
    if data.startswith(_ZIP):
        return _xlsx(data)
    if data.startswith(_OLE):
        raise InvalidInput("XLS files (Excel 97-2003) are not read: save the sheet as XLSX or CSV", field="file")
    return _csv(data)


# --- CSV ------------------------------------------------------------------------------


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was in: a BOM's, else UTF-8, else Windows-1252.

    Bytes that are not UTF-8 are almost always an older Excel's Windows-1252 (the "ANSI"
    code page of Western Europe); it maps every byte but five, which become U+FFFD.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "windows-1252"


def _first_line(text: str) -> str:
    end = text.find("\n")
    return text if end < 0 else text[:end]


def delimiter_of(text: str) -> str:
    """``,``, ``;`` or tab: what ``csv.Sniffer`` finds in the first lines, if the header has it.

    The sniffer looks for a character that splits every sampled line alike; on a file of
    one column, or a sample cut inside a quoted field, it can find none or a wrong one.
    Then the candidate the header holds most often wins (a comma when it holds none).
    """
    sample = text[:_SAMPLE]
    if len(text) > _SAMPLE and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    header = _first_line(sample)
    try:
        found = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        found = ""
    if found and found in header:
        return found
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv(data: bytes) -> Sheet:
    text, encoding = decode(data)
    delimiter = delimiter_of(text)
    records = _records(text, delimiter)
    first = next(records, None)
    if first is None:
        raise InvalidInput("The file is empty: the first row must name the columns", field="file")
    total = sum(1 for _ in _records(text, delimiter))
    return Sheet(first.cells, records, max(0, total - 1), "csv", encoding, delimiter)


def _records(text: str, delimiter: str) -> Iterator[Row]:
    """Non-empty records with the line each starts on (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', doublequote=True)
    start = 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if cells and any(c.strip() for c in cells):
            yield Row(line, cells)


# --- XLSX -----------------------------------------------------------------------------


def _xlsx(data: bytes) -> Sheet:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidInput(f"Not a readable XLSX file ({type(exc).__name__})", field="file") from None
    if not book.worksheets:
        book.close()
        raise InvalidInput("The workbook has no sheet", field="file")
    sheet = book.worksheets[0]
    rows = _xlsx_rows(book, sheet)
    first = next(rows, None)
    if first is None:
        raise InvalidInput("The sheet is empty: the first row must name the columns", field="file")
    total = None if sheet.max_row is None else max(0, sheet.max_row - first.line)
    return Sheet(first.cells, rows, total, "xlsx")


def _xlsx_rows(book: Any, sheet: Any) -> Iterator[Row]:
    try:
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [cell_text(v) for v in values]
            while cells and not cells[-1]:
                cells.pop()
            if cells:
                yield Row(number, cells)
    finally:
        book.close()


def cell_text(value: Any) -> str:
    """A cell as the text a person sees: 393491234567 for a number typed without ``+``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value).strip()
