"""Reading CSV and XLSX files safely: encodings, delimiters, limits on size, rows and columns."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from opportunities.errors import N_, FieldError, ImportFileError, Reason, because
from opportunities.listings.cells import unguard_formula
from opportunities.settings import Settings, load_settings
from opportunities.text import fold
from opportunities.validation import ALL_COLUMNS, REQUIRED_COLUMNS


@dataclass(frozen=True)
class RowRejection:
    """A row that was not stored, and why: one error per field (``row`` for the row as a whole)."""

    row: int  # as numbered in a spreadsheet: the header is row 1
    errors: tuple[FieldError, ...]
    values: Mapping[str, str]

    @property
    def field(self) -> str:
        """The first field the row is rejected for."""
        return self.errors[0].field

    @property
    def reason(self) -> str:
        """Why the row is rejected, in English (:func:`opportunities.i18n.explain_errors` in another language)."""
        return "; ".join(str(e) for e in self.errors)


# Limits that no setting changes: how much of a CSV decides its delimiter, how far an XLSX may
# unpack compared with IMPORT_MAX_BYTES (real workbooks unpack 3–10×; zip bombs 1000×), and the
# last row a spreadsheet can have (a sheet declaring more is damaged or hostile).
SNIFF_CHARS = 64 * 1024
XLSX_MAX_EXPANSION = 10
EXCEL_MAX_ROWS = 1_048_576
# How many columns right of an XLSX header's last one are read, to report values without a name;
# cells further right are not read at all.
XLSX_COLUMNS_PAST_HEADER = 10
# Most columns a header may name: the template has 23; a file with a million (a 10 MB CSV can hold
# that many) would make a warning per column and a wide row per line.
MAX_COLUMNS = 200
# More than this share of NUL bytes in a CSV's first part: a binary file, not text with a stray NUL.
BINARY_NUL_SHARE = 0.01
_DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": N_("comma"), ";": N_("semicolon"), "\t": N_("tab")}
_SEP_LINE = re.compile(r"sep=(.)[ \t]*(?:\r\n|\r|\n)")  # Excel's first line naming the delimiter
_ZIP_SIGNATURE = b"PK\x03\x04"
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and other Office 97–2003 files
_OTHER_SPREADSHEETS = (".xls", ".xlsm", ".xlsb", ".ods", ".numbers")


@dataclass(frozen=True)
class ReadLimits:
    """How large an import file may be: IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, IMPORT_MAX_CELL_CHARS."""

    max_bytes: int
    max_rows: int
    max_cell_chars: int

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ReadLimits:
        s = settings or load_settings()
        return cls(max_bytes=s.import_max_bytes, max_rows=s.import_max_rows, max_cell_chars=s.import_max_cell_chars)


@dataclass(frozen=True)
class Table:
    """A read file: its header as written and its rows keyed by normalised column name.

    ``rejected`` holds rows that could not be read as rows (a NUL byte, more cells than the
    header, a cell over the length limit); every other row is in ``rows``.
    """

    header: tuple[str, ...]
    rows: list[dict[str, str]]
    row_numbers: list[int]  # as in a spreadsheet: the header is row 1; blank rows are skipped
    warnings: tuple[Reason, ...] = ()
    rejected: tuple[RowRejection, ...] = ()


@dataclass
class _Sheet:
    """What a format reader found: the header's cells and the non-blank rows by row number."""

    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    rejected: list[RowRejection] = field(default_factory=list)


def _column_name(name: str) -> str:
    return fold(unguard_formula(name.strip())).replace(" ", "_")


def _column_letter(index: int) -> str:
    """Spreadsheet letter of the 0-based column ``index``: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes") if (value.hour or value.minute) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _too_many_rows(filename: str, limits: ReadLimits) -> ImportFileError:
    return ImportFileError(
        because(
            N_("{name} has more than {limit} rows, the most an upload may have; split it into smaller files"),
            name=filename,
            limit=limits.max_rows,
        )
    )


def _check_size(filename: str, size: int, limits: ReadLimits) -> None:
    if size > limits.max_bytes:
        raise ImportFileError(
            because(
                N_("{name} is {value} bytes, more than the {limit} an upload may have; split it into smaller files"),
                name=filename,
                value=size,
                limit=limits.max_bytes,
            )
        )


def _decode(data: bytes, filename: str) -> str:
    """The text of a CSV file: UTF-8 (with or without BOM) or UTF-16 (Excel's "Unicode text")."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            text = ""
        # The header names are ASCII: a first line that is not mostly ASCII was never UTF-16 text.
        first = text.split("\n", 1)[0][:1000]
        if sum(c.isascii() for c in first) * 2 <= len(first) or not first:
            raise ImportFileError(
                because(
                    N_("{name} is not UTF-8 text, nor the UTF-16 its first bytes announce; save it as 'CSV UTF-8' and try again"),
                    name=filename,
                )
            )
        return text
    elif data.startswith(_ZIP_SIGNATURE):
        raise ImportFileError(
            because(
                N_(
                    "{name} is a spreadsheet workbook (a zip file such as .xlsx), not a CSV; upload it with the "
                    ".xlsx extension, or save it as 'CSV UTF-8' and try again"
                ),
                name=filename,
            )
        )
    elif data.startswith(_OLE_SIGNATURE):
        raise ImportFileError(
            because(
                N_("{name} is an Excel 97–2003 (.xls) workbook, not a CSV; save it as 'CSV UTF-8' or as .xlsx and try again"),
                name=filename,
            )
        )
    head = data[:SNIFF_CHARS]
    if head.count(0) > BINARY_NUL_SHARE * len(head):
        # Excel's "Unicode text" without its BOM: every other byte of Latin text is NUL.
        odd, even = head[1::2].count(0), head[0::2].count(0)
        encoding = "utf-16-le" if odd > 0.9 * len(head) / 2 > even else "utf-16-be" if even > 0.9 * len(head) / 2 > odd else ""
        try:
            if encoding:
                return data.decode(encoding)
        except UnicodeDecodeError:
            pass
        raise ImportFileError(
            because(
                N_(
                    "{name} is a binary file, not CSV text (it is {share} % NUL bytes): perhaps an Excel "
                    "file renamed to .csv; save it as 'CSV UTF-8', or upload the .xlsx"
                ),
                name=filename,
                share=round(100 * head.count(0) / len(head)),
            )
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1]
        legacy = f"{byte.decode('cp1252', 'replace')!r} in Windows-1252, {byte.decode('cp1250', 'replace')!r} in Windows-1250"
        # Not decoded as Windows-1250/1252: the two disagree on Polish and Slovenian letters, and
        # guessing wrong would store wrong names without anyone noticing.
        raise ImportFileError(
            because(
                N_(
                    "{name} is not UTF-8 text: line {line} has the byte {byte} ({legacy}), so it was "
                    "probably saved as Excel's legacy 'CSV (comma delimited)'; save it as 'CSV UTF-8' and try again"
                ),
                name=filename,
                line=line,
                byte=f"0x{byte.hex().upper()}",
                legacy=legacy,
            )
        ) from None


def _trimmed(cells: Sequence[str]) -> int:
    """How many cells are left without the empty ones at the end."""
    n = len(cells)
    while n and not cells[n - 1].strip():
        n -= 1
    return n


def _delimiter(text: str) -> str:
    """The delimiter (comma, semicolon, tab) that reads the start of ``text`` as a consistent table.

    Each candidate parses the first :data:`SNIFF_CHARS` characters as RFC 4180; the one whose
    header has more than one cell and the most template column names, then the most rows as
    wide as the header, wins. Quotes are never guessed: a doubled quote is always a quote.
    """
    sample = text[:SNIFF_CHARS]
    best: tuple[int, int, int] = (0, 0, 0)
    chosen = ","
    for candidate in _DELIMITERS:
        rows = list(csv.reader(io.StringIO(sample, newline=""), delimiter=candidate))
        if len(text) > len(sample) and len(rows) > 1:
            rows.pop()  # cut off by the sample
        rows = [r for r in rows if _trimmed(r)]
        if not rows or (width := _trimmed(rows[0])) < 2:
            continue
        known = sum(_column_name(c) in (*ALL_COLUMNS, "row", "reason") for c in rows[0])
        consistent = sum(_trimmed(r) <= width for r in rows[1:])
        score = (known, consistent, width)
        if score > best:
            best, chosen = score, candidate
    return chosen


def _read_csv(data: bytes, filename: str, limits: ReadLimits) -> _Sheet:
    """An RFC 4180 CSV: doubled quotes, quoted delimiters and line breaks, CRLF, LF or CR lines."""
    text = _decode(data, filename)
    first_line = 1
    if sep := _SEP_LINE.match(text):
        delimiter, text, first_line = sep.group(1), text[sep.end() :], 2
    else:
        delimiter = _delimiter(text)
    # The file is already within IMPORT_MAX_BYTES, so no field can exceed that; the csv module's
    # own limit (128 KiB) would otherwise end the read with an error naming no row.
    csv.field_size_limit(max(csv.field_size_limit(), limits.max_bytes))
    consumed = 0  # characters the reader has taken: where each record starts

    def lines() -> Iterator[str]:
        nonlocal consumed
        for line in io.StringIO(text, newline=""):
            consumed += len(line)
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    header = next(reader, [])
    _check_width(header, filename)
    sheet = _Sheet(header=header)
    width = _trimmed(header)
    names = [_column_name(h) for h in header]
    number, count, last_start, last_line = 1, 0, 0, first_line
    has_nul = "\x00" in text  # checked once: most files have none
    while True:
        start, line = consumed, reader.line_num + first_line
        try:
            cells = next(reader, None)
        except csv.Error as exc:  # not expected from a lenient reader of whole lines; named if it happens
            raise ImportFileError(
                because(N_("{name}: line {line} cannot be read as CSV ({detail})"), name=filename, line=line, detail=str(exc))
            ) from None
        if cells is None:
            break
        number += 1
        last_start, last_line = start, line
        if not any(cells) or not "".join(cells).strip():
            continue  # blank lines are not rows to reject
        count += 1
        if count > limits.max_rows:
            raise _too_many_rows(filename, limits)
        if has_nul and any("\x00" in c for c in cells):
            values = {n: _cell_value(c.replace("\x00", "")) for n, c in zip(names, cells, strict=False) if n}
            column = next(i for i, c in enumerate(cells) if "\x00" in c)
            name = names[column] if column < len(names) else ""
            reason = (
                because(
                    N_(
                        "line {line} contains a NUL byte (\\0) here; the file may be a spreadsheet saved as binary, or damaged: retype this cell"
                    ),
                    line=line,
                )
                if name  # the field names the column
                else because(
                    N_(
                        "line {line} contains a NUL byte (\\0) in {column}; the file may be a spreadsheet saved as binary, or damaged: retype that cell"
                    ),
                    line=line,
                    column=_column_letter(column),
                )
            )
            sheet.rejected.append(RowRejection(number, (FieldError(name or "row", reason),), values))
        elif len(cells) > width and _trimmed(cells) > width:
            values = {n: _cell_value(c) for n, c in zip(names, cells, strict=False) if n}
            extra = [c for c in cells[width:] if c.strip()]
            reason = because(
                N_(
                    "This row has {count} cells but the header has {width}; a {delimiter} in an unquoted cell? (cells past the header: {cells})"
                ),
                count=_trimmed(cells),
                width=width,
                delimiter=because(_DELIMITER_NAMES[delimiter]) if delimiter in _DELIMITER_NAMES else repr(delimiter),
                cells=", ".join(repr(c[:40]) for c in extra[:3]),
            )
            sheet.rejected.append(RowRejection(number, (FieldError("row", reason),), values))
        else:
            sheet.rows.append((number, cells))
    _check_quotes_closed(text[last_start:], delimiter, filename, number, last_line)
    return sheet


def _check_width(header: Sequence[str], filename: str) -> None:
    """Refuse a header naming more than MAX_COLUMNS columns, before any row is read."""
    if _trimmed(header) > MAX_COLUMNS:
        raise ImportFileError(
            because(
                N_("{name} has more than {limit} columns; keep the columns of the template and remove the others"),
                name=filename,
                limit=MAX_COLUMNS,
            )
        )


def _check_quotes_closed(last_record: str, delimiter: str, filename: str, number: int, line: int) -> None:
    """A quote left open at the end makes the rest of the file one cell: say where it opened."""
    try:
        for _ in csv.reader(io.StringIO(last_record, newline=""), delimiter=delimiter, strict=True):
            pass
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise ImportFileError(
                because(
                    N_(
                        '{name}: a quote (") opened in row {row} (line {line}) is never closed, so the rest of the file '
                        "reads as one cell; close or remove that quote and try again"
                    ),
                    name=filename,
                    row=number,
                    line=line,
                )
            ) from None


def _check_zip(data: bytes, filename: str, limits: ReadLimits) -> None:
    """Refuse what is not an .xlsx workbook, or would unpack to too much, before openpyxl reads it."""
    if data.startswith(_OLE_SIGNATURE):
        raise ImportFileError(
            because(
                N_("{name} is an Excel 97–2003 (.xls) workbook; save it as .xlsx (Excel Workbook) and try again"), name=filename
            )
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(
            because(N_("{name} is not a readable Excel .xlsx file ({detail})"), name=filename, detail=str(exc))
        ) from None
    with archive:
        infos = {i.filename: i for i in archive.infolist()}

        def small_part(name: str) -> bytes:
            info = infos.get(name)
            return archive.read(info)[:4096] if info is not None and info.file_size <= 1_000_000 else b""

        if b"opendocument" in small_part("mimetype"):
            raise ImportFileError(
                because(
                    N_("{name} is an OpenDocument spreadsheet (.ods); save it as .xlsx or 'CSV UTF-8' and try again"),
                    name=filename,
                )
            )
        if "xl/workbook.bin" in infos:
            raise ImportFileError(
                because(N_("{name} is an Excel binary workbook (.xlsb); save it as .xlsx and try again"), name=filename)
            )
        if "xl/workbook.xml" not in infos:
            raise ImportFileError(because(N_("{name} is a zip file but not an Excel .xlsx workbook"), name=filename))
        types = infos.get("[Content_Types].xml")
        if types is not None and types.file_size <= 1_000_000 and b"macroEnabled" in archive.read(types):
            raise ImportFileError(
                because(
                    N_("{name} is a macro-enabled workbook (.xlsm); save it as .xlsx (Excel Workbook) and try again"),
                    name=filename,
                )
            )
    # ZipInfo.file_size is what reading will yield at most (zipfile stops there and checks the CRC).
    unpacked = sum(i.file_size for i in infos.values())
    limit = limits.max_bytes * XLSX_MAX_EXPANSION
    whole = [i for i in infos.values() if not i.filename.startswith("xl/worksheets/") and i.file_size > limits.max_bytes]
    if unpacked > limit or whole:
        raise ImportFileError(
            because(
                N_(
                    "{name} unpacks to {value} bytes, more than the {limit} allowed; a damaged file or a zip bomb? "
                    "Save it again from Excel, or split it"
                ),
                name=filename,
                value=unpacked,
                limit=limit,
            )
        )


def _read_xlsx(data: bytes, filename: str, limits: ReadLimits) -> _Sheet:
    """The first sheet of an .xlsx, streamed: whatever size it declares, memory follows its real cells."""
    from openpyxl import load_workbook

    _check_zip(data, filename, limits)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, SyntaxError, EOFError) as exc:
        raise ImportFileError(
            because(N_("{name} is not a readable Excel .xlsx file ({detail})"), name=filename, detail=str(exc))
        ) from None
    try:
        sheet = workbook.worksheets[0]
        # The declared <dimension> (say A1:XFD1048576) would pad every row and add empty rows to the
        # end; forgotten, each row is as long as its last real cell and the sheet ends at its last row.
        sheet.reset_dimensions()  # type: ignore[union-attr]
        header = [_cell_text(v) for v in next(sheet.iter_rows(max_row=1, max_col=MAX_COLUMNS + 1, values_only=True), ())]
        _check_width(header, filename)
        read = _Sheet(header=header[: _trimmed(header)])
        # Rows are cut a few columns past the header: a value there is reported (a column without a
        # name), while a cell in column XFD does not make every row 16,384 cells long.
        width = len(read.header) + XLSX_COLUMNS_PAST_HEADER
        count = 0
        for number, values in enumerate(sheet.iter_rows(min_row=2, max_col=width, values_only=True), start=2):
            if number > EXCEL_MAX_ROWS:
                raise ImportFileError(
                    because(
                        N_("{name} has rows past Excel's last row ({limit}); the file is damaged"),
                        name=filename,
                        limit=EXCEL_MAX_ROWS,
                    )
                )
            if values.count(None) + values.count("") == len(values):
                continue  # blank (a gap before a far row is a million of these: no per-cell loop)
            count += 1
            if count > limits.max_rows:
                raise _too_many_rows(filename, limits)
            read.rows.append((number, [_cell_text(v) for v in values]))
    except ImportFileError:
        raise
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, IndexError, SyntaxError, EOFError, zlib.error) as exc:
        raise ImportFileError(
            because(N_("{name} is a damaged Excel .xlsx file ({detail})"), name=filename, detail=f"{type(exc).__name__}: {exc}")
        ) from None
    finally:
        workbook.close()
    return read


def read_table(path: Path, *, limits: ReadLimits | None = None, required: Sequence[str] = REQUIRED_COLUMNS) -> Table:
    """Read a CSV or XLSX import file (or another table with the ``required`` columns).

    Raises :class:`ImportFileError` when it is unusable.
    """
    if not path.is_file():
        raise ImportFileError(because(N_("{name} does not exist"), name=str(path)))
    limits = limits or ReadLimits.from_settings()
    _check_size(path.name, path.stat().st_size, limits)
    with path.open("rb") as fh:
        # In chunks: read(max_bytes) would reserve the whole limit at once, and the file may have
        # grown since stat().
        chunks, size = [], 0
        while size <= limits.max_bytes and (chunk := fh.read(1 << 20)):
            chunks.append(chunk)
            size += len(chunk)
    data = b"".join(chunks)
    return read_table_bytes(data, path.name, limits=limits, required=required)


def read_table_bytes(data: bytes, filename: str, *, limits: ReadLimits | None = None,
                     required: Sequence[str] = REQUIRED_COLUMNS) -> Table:  # fmt: skip
    """Read an import file's ``data``, its format told by ``filename``'s extension (.csv, .txt, .xlsx).

    The one reading path of the command line and the upload page. Raises
    :class:`ImportFileError` when the whole file is unusable; a row that cannot be read as a row
    is in :attr:`Table.rejected` with its reason, and every other row is kept.
    """
    limits = limits or ReadLimits.from_settings()
    _check_size(filename, len(data), limits)
    suffix = Path(filename).suffix.lower()
    if suffix in (".csv", ".txt"):
        sheet = _read_csv(data, filename, limits)
    elif suffix == ".xlsx":
        sheet = _read_xlsx(data, filename, limits)
    else:
        if not suffix:
            raise ImportFileError(because(N_("{name}: upload a .csv or .xlsx file, not a file without extension"), name=filename))
        raise ImportFileError(
            because(
                N_("{name}: upload a .csv or .xlsx file, not {value}; save it as 'CSV UTF-8' or as .xlsx"),
                name=filename,
                value=suffix,
            )
        )
    return _table(sheet, filename, limits, required)


def _cell_value(cell: str) -> str:
    """A cell as stored: stripped, line breaks as ``\\n`` (XLSX cannot keep a CR), formula guard removed."""
    cell = cell.strip()
    if "\r" in cell:
        cell = cell.replace("\r\n", "\n").replace("\r", "\n")
    return unguard_formula(cell) if cell[:1] == "'" else cell


def _table(sheet: _Sheet, filename: str, limits: ReadLimits, required: Sequence[str] = REQUIRED_COLUMNS) -> Table:
    """Check the header and key every row by column name; cells are stripped and unguarded."""
    header = sheet.header[: _trimmed(sheet.header)]
    names = [_column_name(h) for h in header]
    if not any(names):
        raise ImportFileError(because(N_("{name} is empty: it needs a header row and at least one row of data"), name=filename))
    columns: dict[str, list[int]] = {}
    for i, n in enumerate(names):
        if n:
            columns.setdefault(n, []).append(i)
    repeated = [f"{n} ({', '.join(_column_letter(i) for i in at)})" for n, at in columns.items() if len(at) > 1]
    if repeated:
        raise ImportFileError(
            because(
                N_("{name} names a column more than once: {value}; keep one of each and try again"),
                name=filename,
                value="; ".join(repeated),
            )
        )
    missing = [c for c in required if c not in names]
    if missing:
        raise ImportFileError(
            because(
                N_("{name} lacks the required column(s): {value}; start from the template"),
                name=filename,
                value=", ".join(missing),
            )
        )
    # ``row`` and ``reason`` come from a rejected-rows file being uploaded again.
    unknown = [h for h, n in zip(header, names, strict=True) if n and n not in (*ALL_COLUMNS, "row", "reason")]
    warnings = [because(N_("unknown column {value} ignored"), value=repr(h)) for h in unknown]
    rows, numbers, rejected = [], [], list(sheet.rejected)
    named = [(i, n) for i, n in enumerate(names) if n]
    nameless = [i for i, n in enumerate(names) if not n]
    unnamed: set[int] = set()
    for number, cells in sheet.rows:
        size = len(cells)
        values = {n: _cell_value(cells[i]) if i < size else "" for i, n in named}
        if size > len(names) or nameless:
            unnamed.update(i for i in (*nameless, *range(len(names), size)) if i < size and cells[i].strip())
        long = None
        if max(map(len, cells[: len(names)]), default=0) > limits.max_cell_chars:
            long = next(i for i, c in enumerate(cells[: len(names)]) if len(c) > limits.max_cell_chars)
        if long is not None:
            reason = (
                because(
                    N_("This cell has {count} characters, more than the {limit} a cell may hold; shorten it"),
                    count=len(cells[long]),
                    limit=limits.max_cell_chars,
                )
                if names[long]  # the field names the column
                else because(
                    N_("{column} has {count} characters, more than the {limit} a cell may hold; shorten it"),
                    column=_column_letter(long),
                    count=len(cells[long]),
                    limit=limits.max_cell_chars,
                )
            )
            rejected.append(RowRejection(number, (FieldError(names[long] or "row", reason),), values))
            continue
        rows.append(values)
        numbers.append(number)
    warnings += [
        because(N_("column {column} has values but no name in the header; they are ignored"), column=_column_letter(i))
        for i in sorted(unnamed)
    ]
    if not rows and not rejected:
        raise ImportFileError(because(N_("{name} has a header but no rows of data"), name=filename))
    rejected.sort(key=lambda r: r.row)
    return Table(header=tuple(header), rows=rows, row_numbers=numbers, warnings=tuple(warnings), rejected=tuple(rejected))
