"""Reading CSV and XLSX files as a stream of rows, with encoding and delimiter detection.

Nothing here holds the whole file: CSV is decoded and parsed line by line, XLSX is read
with openpyxl's read-only mode. Rows come out as ``(row_number, cells, bad_bytes)`` where
``row_number`` is the number a spreadsheet shows (the header is row 1, the first data row
is row 2) and ``bad_bytes`` says the row held bytes that are invalid in the file's encoding
(those cells carry the bytes as lone surrogates so the row can be reported, not guessed).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from ..formulas import xlsx_unescape

#: How many bytes of a CSV are examined to choose its encoding and delimiter.
SAMPLE_BYTES = 1 << 20

#: Undecodable bytes, kept by the ``surrogateescape`` error handler as U+DC80..U+DCFF.
BAD_BYTES = re.compile("[\udc80-\udcff]")

csv.field_size_limit(1 << 24)


class ReadError(Exception):
    """The file cannot be read at all (not a CSV/XLSX, unknown encoding, no header)."""


@dataclass
class Table:
    """An opened file: its header, how it was read, and its rows (an iterator, read once)."""

    headers: list[str]
    rows: Iterator[tuple[int, list[str], bool]]
    encoding: str
    delimiter: str = ""
    file_format: str = "csv"
    _closers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        """Release the underlying file."""
        for closer in self._closers:
            closer()


def file_sha256(path: str | Path) -> str:
    """The hex SHA-256 of a file (identifies the file of a run, for audit and resume)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _looks_utf16(sample: bytes) -> str | None:
    """UTF-16 without a BOM: every other byte of ASCII text is zero."""
    if len(sample) < 8:
        return None
    head = sample[:4096]
    even_zero = head[0::2].count(0) / max(1, len(head[0::2]))
    odd_zero = head[1::2].count(0) / max(1, len(head[1::2]))
    if odd_zero > 0.4 and even_zero < 0.05:
        return "utf-16-le"
    if even_zero > 0.4 and odd_zero < 0.05:
        return "utf-16-be"
    return None


def detect_encoding(sample: bytes) -> str:
    """The most likely encoding of a CSV from its first bytes.

    A BOM decides (UTF-8, UTF-16). Otherwise UTF-8 when the sample decodes as UTF-8, or
    when more of its non-ASCII lines are valid UTF-8 than are valid only as GB18030 (a UTF-8
    file with a few corrupt rows stays UTF-8, and those rows are reported); otherwise
    GB18030, the superset of GBK that Chinese Excel writes.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    utf16 = _looks_utf16(sample)
    if utf16:
        return utf16
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"  # a character cut at the end of the sample
    # Line by line: lines valid only as UTF-8 against lines valid only as GB18030. Corrupt
    # bytes in a UTF-8 file rarely make a valid GB18030 line, GBK text rarely valid UTF-8.
    utf8_lines = gb_lines = 0
    for line in sample.split(b"\n")[:-1] or [sample]:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_lines += 1
            continue
        except UnicodeDecodeError:
            pass
        try:
            line.decode("gb18030")
            gb_lines += 1
        except UnicodeDecodeError:
            pass
    return "gb18030" if gb_lines > utf8_lines else "utf-8"


def _sniff_delimiter(text: str) -> str:
    lines = text.splitlines()[:50]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        first = lines[0] if lines else ""
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _is_xlsx(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def open_table(path: str | Path, *, encoding: str | None = None) -> Table:
    """Open a CSV or XLSX file for streaming; ``encoding`` overrides detection for CSV."""
    path = Path(path)
    if _is_xlsx(path):
        return _open_xlsx(path)
    return _open_csv(path, encoding=encoding)


def _open_csv(path: Path, *, encoding: str | None) -> Table:
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError as exc:
            raise ReadError(_("Unknown encoding %(e)s.") % {"e": encoding}) from exc
        if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} and sample.startswith(
            codecs.BOM_UTF8
        ):
            encoding = "utf-8-sig"
    else:
        encoding = detect_encoding(sample)
    binary = open(path, "rb")  # noqa: SIM115 - closed by Table.close
    text = io.TextIOWrapper(binary, encoding=encoding, errors="surrogateescape", newline="")
    head = sample.decode(encoding, errors="replace")
    delimiter = _sniff_delimiter(head)
    flag = [False]

    def lines() -> Iterator[str]:
        search = BAD_BYTES.search
        for line in text:
            if search(line):
                flag[0] = True
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    try:
        headers = next(reader)
    except StopIteration as exc:
        text.close()
        raise ReadError(_("The file is empty.")) from exc
    except (csv.Error, UnicodeError) as exc:
        text.close()
        raise ReadError(str(exc)) from exc
    if headers and headers[0].startswith("\ufeff"):
        headers[0] = headers[0][1:]
    headers = [h.strip() for h in headers]

    def rows() -> Iterator[tuple[int, list[str], bool]]:
        number = 1
        for cells in reader:
            number += 1
            bad = flag[0]
            flag[0] = False
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # blank lines are not rows
            yield number, cells, bad

    return Table(headers, rows(), encoding, delimiter, "csv", [text.close])


def _cell_text(value: Any) -> str:
    """An XLSX cell as the text a CSV export would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, str):
        # Control characters (CR included) were written as OOXML's _xHHHH_ escapes.
        return xlsx_unescape(value)
    return str(value)


def _open_xlsx(path: Path) -> Table:
    try:
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise ReadError(_("This is not a readable XLSX file: %(e)s") % {"e": exc}) from exc
    sheet = workbook.active
    if sheet is None:
        workbook.close()
        raise ReadError(_("The workbook has no sheet."))
    iterator = sheet.iter_rows(values_only=True)
    try:
        header_row = next(iterator)
    except StopIteration as exc:
        workbook.close()
        raise ReadError(_("The file is empty.")) from exc
    headers = [_cell_text(v).strip() for v in header_row]
    while headers and not headers[-1]:
        headers.pop()

    def rows() -> Iterator[tuple[int, list[str], bool]]:
        for number, values in enumerate(iterator, start=2):
            cells = [_cell_text(v) for v in values]
            if not any(c.strip() for c in cells):
                continue
            yield number, cells, False

    return Table(headers, rows(), "xlsx", "", "xlsx", [workbook.close])


def preview(path: str | Path, *, encoding: str | None = None, limit: int = 10) -> Table:
    """The header and the first ``limit`` rows, for the mapping page (rows as a list)."""
    table = open_table(path, encoding=encoding)
    try:
        first = []
        for item in table.rows:
            first.append(item)
            if len(first) >= limit:
                break
    finally:
        table.close()
    table.rows = iter(first)
    return table
