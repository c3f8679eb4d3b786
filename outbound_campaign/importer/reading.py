"""A contact file as a table: its header and an iterator of its rows, whatever its format.

CSV: the encoding detected (``rows``), the separator sniffed by base_import on a sample and
guessed again where the seed's ragged rows defeat it, the rows read from the file as they are
iterated (a million-row file is never held whole); spreadsheets: read by ``spreadsheets`` (ODS
by base_import's own reader) from their bytes, compressed. Errors are ``rows.FileReadError`` (or one of its subclasses), raised
here or while the rows are iterated; the caller words them for the user.
"""

import dataclasses
import io
import os
from collections.abc import Iterator

from odoo.tools.mimetypes import guess_mimetype

from odoo.addons.base_import.models.base_import import FILE_TYPE_DICT, odf_ods_reader

from . import rows, spreadsheets

SPREADSHEET_KINDS = {ext for ext, _handler, _requirement in FILE_TYPE_DICT.values() if ext != "csv"}
# How every spreadsheet file starts: a ZIP (XLSX, ODS) or an OLE2 compound file (XLS).
SPREADSHEET_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


class EmptyFile(rows.FileReadError):
    """The file holds no row with a value."""


class BinaryFile(rows.FileReadError):
    """The file is neither a CSV nor a spreadsheet: its text would be binary data."""


class OdsUnsupported(rows.FileReadError):
    """The file is an ODS spreadsheet and odfpy, which base_import reads them with, is missing."""


@dataclasses.dataclass
class Table:
    """``rows`` yields ``(line, values)``, values as wide as ``header``; ``encoding`` and
    ``separator`` are the CSV's (False and "," for a spreadsheet)."""

    header: list
    rows: Iterator
    encoding: str | bool
    separator: str


def read_table(env, stream, filename, column_name, column_count=None):
    """The ``Table`` of ``stream`` (a seekable binary file named ``filename``, open while the rows
    are iterated). Empty header cells are named
    ``column_name(index)``. A CSV's rows are as wide as its header (fields beyond it belong to the
    last column: the seed's unquoted addresses). A spreadsheet may hold values right of its header:
    its rows are as wide as ``column_count`` (what an earlier reading counted, the header then
    completed to it), or, when it is None, at least as wide as the header."""
    if rows.is_blank(stream):
        raise EmptyFile()
    stream.seek(0)
    head = stream.read(len(SPREADSHEET_SIGNATURES[1]))
    kind = None
    if head.startswith(SPREADSHEET_SIGNATURES) or _named_kind(filename):
        # A spreadsheet (or what its name says is one): read whole, as its readers need.
        stream.seek(0)
        data = stream.read()
        kind = _spreadsheet_kind(data, filename)
        if kind:
            records, encoding, separator = _spreadsheet_rows(data, kind), False, ","
    if not kind:
        records, encoding, separator = _csv_rows(env, stream)
    header = next((values for _line, values in records if any(value.strip() for value in values)), None)
    if header is None:
        raise EmptyFile()
    header = [rows.clean_text(name) or column_name(index) for index, name in enumerate(header)]
    header += [column_name(index) for index in range(len(header), column_count or 0)]
    width = len(header)
    if kind and column_count is None:
        fitted = (
            (line, rows.fit_row(values, max(width, len(values)), separator)) for line, values in records
        )
    else:
        fitted = ((line, rows.fit_row(values, width, separator)) for line, values in records)
    return Table(header=header, rows=fitted, encoding=encoding, separator=separator)


def _spreadsheet_kind(data, filename):
    """``"xlsx"``, ``"xls"`` or ``"ods"`` from the content, else from the name; None for a CSV."""
    kind = FILE_TYPE_DICT.get(guess_mimetype(data), ("",))[0]
    if kind in SPREADSHEET_KINDS:
        return kind
    return _named_kind(filename)


def _named_kind(filename):
    """The spreadsheet kind ``filename``'s extension says, or None."""
    extension = os.path.splitext(filename or "")[1].lower().lstrip(".")
    return extension if extension in SPREADSHEET_KINDS else None


def _spreadsheet_rows(data, kind):
    """The first sheet's ``(line, values)``; lines are the sheet's row numbers (for ODS, counted
    among the rows its reader gives)."""
    if kind == "xlsx":
        return spreadsheets.xlsx_rows(data)
    if kind == "xls":
        return spreadsheets.xls_rows(data)
    if odf_ods_reader is None:
        raise OdsUnsupported()
    # base_import's reader reads an ODS file whole, as base_import does, repeating empty cells
    # only up to the last one of each row.
    try:
        sheet = odf_ods_reader.ODSReader(file=io.BytesIO(data)).getFirstSheet()
    except Exception as error:  # odfpy fails on a broken file in many ways
        raise rows.FileReadError(str(error)) from error
    return spreadsheets.text_rows(enumerate(sheet, 1))


def _csv_rows(env, stream):
    """``(records, encoding, separator)`` of a CSV file, its records read from ``stream`` as they
    are iterated."""
    encoding = rows.detect_encoding(stream)
    stream.seek(0)
    # Lines end at line feeds only: csv reads a CR inside a quoted field as part of the value.
    text = io.TextIOWrapper(stream, encoding=encoding, newline="\n")
    sample = rows.text_sample(text.read(rows.SAMPLE_BYTES + 1))
    if rows.looks_binary(sample):
        raise BinaryFile()
    separator = _sniffed_separator(env, sample)
    if not separator or separator == " ":
        # Rows wider than the header (the seed's unquoted addresses) defeat base_import's sniffing.
        separator = rows.guess_separator(sample)
    text.seek(0)
    return rows.csv_rows(text, separator), encoding, separator


def _sniffed_separator(env, sample):
    """The separator base_import finds in ``sample`` (every row as wide as the header), or "".
    Through its public preview, on a sample: chardet is skipped since the encoding is known, and
    a 200,000-row file need not be parsed once per candidate separator."""
    preview = (
        env["base_import.import"]
        .new({"res_model": "outbound.contact", "file": sample.encode("utf-8"), "file_type": "text/csv"})
        .parse_preview({"quoting": '"', "separator": "", "encoding": "utf-8"}, count=1)
    )
    return "" if "error" in preview else preview["options"].get("separator") or ""
