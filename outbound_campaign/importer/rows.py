"""Reading a contact file into rows: encoding, the seed's ragged rows, cleaning, the rejects file.

Files are read as streams, block by block or row by row: a million-row file is never held whole.
"""

import codecs
import csv
import io
import tempfile

import chardet

from ..dialer.rules import CONTROL_CHARACTERS

# Spreadsheets run a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
SEPARATOR_CANDIDATES = (",", ";", "\t", "|")
SAMPLE_BYTES = 64 * 1024
READ_BLOCK = 1024 * 1024
# chardet is pure Python (seconds per 100 kB): only a sample of the non-ASCII lines is given to it.
CHARDET_SAMPLE_BYTES = 32 * 1024
# Single-byte encodings of Western European files, all read as cp1252 (a superset of latin-1's
# printable characters); chardet often cannot tell them apart on a short sample.
WESTERN_ENCODINGS = {"ascii", "iso-8859-1", "iso-8859-15", "windows-1252", "cp1252", "latin-1", "latin1"}


class FileReadError(ValueError):
    """The file cannot be read as a list of contacts; the message is for the user."""


def detect_encoding(stream):
    """The encoding to read ``stream`` (a seekable binary file) with: BOMs first, then strict
    UTF-8, then chardet on a sample. The file is read block by block."""
    stream.seek(0)
    head = stream.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(stream, "utf-8"):
        return "utf-8"
    guess = chardet.detect(_non_ascii_sample(stream))
    encoding = (guess.get("encoding") or "").lower()
    if not encoding or encoding in WESTERN_ENCODINGS or (guess.get("confidence") or 0) < 0.6:
        encoding = "cp1252"
    return next(
        (candidate for candidate in (encoding, "cp1252") if _decodes(stream, candidate)),
        "latin-1",  # decodes any byte
    )


def _blocks(stream):
    stream.seek(0)
    while block := stream.read(READ_BLOCK):
        yield block


def _decodes(stream, encoding):
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
        for block in _blocks(stream):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _non_ascii_sample(stream):
    """The file's first non-ASCII lines, joined, up to ``CHARDET_SAMPLE_BYTES``."""
    stream.seek(0)
    lines, size = [], 0
    for chunk in stream:
        for line in chunk.splitlines():
            if not line.isascii():
                lines.append(line)
                size += len(line) + 1
                if size >= CHARDET_SAMPLE_BYTES:
                    return b"\n".join(lines)[:CHARDET_SAMPLE_BYTES]
    return b"\n".join(lines)


def is_blank(stream):
    """Whether the binary file ``stream`` holds only whitespace (read until its first other byte)."""
    return not any(block.strip() for block in _blocks(stream))


def looks_binary(text):
    """Whether decoded ``text`` is binary data rather than text: more than a few control characters
    (a stray NUL in one cell is the row's problem, not the file's)."""
    controls = sum(1 for char in text if char not in "\t\r\n" and CONTROL_CHARACTERS.match(char))
    return controls > 2 + len(text) / 100


def text_sample(text, size=SAMPLE_BYTES):
    """The first lines of ``text`` (about ``size`` characters, whole lines)."""
    if len(text) <= size:
        return text
    end = text.rfind("\n", 0, size)
    return text[: end + 1] if end > 0 else text[:size]


def guess_separator(text):
    """The separator of a file whose rows are not all as wide as the header (the seed's example):
    the candidate splitting the header line in the most columns."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    widths = {sep: len(next(csv.reader([header], delimiter=sep), [])) for sep in SEPARATOR_CANDIDATES}
    best = max(SEPARATOR_CANDIDATES, key=lambda sep: widths[sep])  # ties: the first candidate
    return best if widths[best] > 1 else ","


def csv_rows(lines, separator):
    """``(line number, fields)`` of each record of ``lines`` (a text file, lines ending at line
    feeds only, read as it goes) (blank ones too: the report counts them), the line being where the
    record starts. Spaces after a separator are skipped, so that ``a, "b, c"`` reads as two fields."""
    reader = csv.reader(lines, delimiter=separator, skipinitialspace=True, strict=False)
    previous_line = 0
    try:
        for fields in reader:
            start = previous_line + 1
            previous_line = reader.line_num
            yield start, fields
    except csv.Error as error:
        raise FileReadError(f"line {reader.line_num}: {error}") from error


def fit_row(fields, width, separator):
    """The row cut to the header's ``width``, as a tuple: fields beyond it belong to the last column
    (unquoted separators in the seed's addresses), joined back with the separator and one space;
    missing fields are empty. A tuple of strings, which Python's garbage collector stops tracking:
    an import holds batches of 20,000 rows, and lists would make each batch trigger a full
    collection of the server process's objects."""
    if len(fields) > width:
        last = (separator.strip() + " " if separator.strip() else separator).join(
            field.strip() for field in fields[width - 1 :]
        )
        return (*fields[: width - 1], last)
    if len(fields) < width:
        return (*fields, *[""] * (width - len(fields)))
    return tuple(fields)


def clean_text(value):
    """``value`` trimmed, its control characters (tabs, line breaks, NUL ...) turned into spaces:
    none may reach a stored name or phone (AMI headers, CSV exports, the agent's screen)."""
    value = value.strip()
    if CONTROL_CHARACTERS.search(value):
        value = " ".join(CONTROL_CHARACTERS.sub(" ", value).split())
    return value


def neutralise(cell):
    """A cell a spreadsheet shows as text, never runs as a formula."""
    cell = "" if cell is None else str(cell)
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


class RejectsFile:
    """The rejected rows as CSV (UTF-8 with BOM, which Excel needs), formulas neutralised, written
    to a temporary file as they come; only their count and the first ``preview_size`` are kept in
    memory. ``header`` names the file's columns."""

    def __init__(self, header, preview_size):
        self.count = 0
        self.preview = []
        self._preview_size = preview_size
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by __exit__, with the text layer)
        self._text = io.TextIOWrapper(self._file, encoding="utf-8", newline="")
        self._text.write("\ufeff")
        self._writer = csv.writer(self._text, lineterminator="\r\n")
        self._writer.writerow([neutralise(cell) for cell in ("line", "reason", *header)])

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._text.close()

    def add(self, rejects):
        """Add ``rejects``, ``(line, reason, fields)`` in line order."""
        self.count += len(rejects)
        self.preview += rejects[: self._preview_size - len(self.preview)]
        self._writer.writerows(
            [line, neutralise(reason), *(neutralise(field) for field in fields)]
            for line, reason, fields in rejects
        )

    def binary_file(self):
        """The CSV file, at its start, to read as bytes."""
        self._text.flush()
        self._file.seek(0)
        return self._file
