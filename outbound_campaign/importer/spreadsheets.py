"""The first sheet of an XLSX or XLS file, row by row, in memory bounded by its data.

A sheet declares its used range (XLSX ``<dimension ref="A1:ALL20000"/>``), and a single formatted
cell far away stretches it: reading the whole range, as openpyxl's normal mode and base_import do,
makes every cell of it (20 million for a 5 kB file). Here XLSX files are streamed (openpyxl's
read-only mode, the declared range ignored) and XLS files read row by row as stored (xlrd, its
format caps a sheet at 65,536 rows of 256 columns); each row stops at its last cell holding a
value, empty rows are left out, and a value beyond ``MAX_COLUMNS`` refuses the file.

Cells read as base_import reads them: whole numbers without ``.0``, dates as Odoo writes them.
Imports nothing from Odoo.
"""

import datetime
import io

import openpyxl
import xlrd
from openpyxl.styles.numbers import is_datetime
from openpyxl.utils import get_column_letter

from .rows import FileReadError

# More columns than any contact file has; a value beyond them is a stray cell, not a column.
MAX_COLUMNS = 500
DATE_FORMAT = "%Y-%m-%d"  # Odoo's DEFAULT_SERVER_DATE_FORMAT
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # Odoo's DEFAULT_SERVER_DATETIME_FORMAT
TIME_FORMAT = "%H:%M:%S"


class TooManyColumns(FileReadError):
    """A cell holds a value beyond ``MAX_COLUMNS``: ``cell`` is its reference (``ALL20000``)."""

    def __init__(self, cell):
        super().__init__(f"cell {cell} is beyond the {MAX_COLUMNS} columns a contact file may have")
        self.cell = cell


class CellError(FileReadError):
    """A cell holds a spreadsheet error (``#DIV/0!``): ``cell`` is its reference."""

    def __init__(self, cell, value):
        super().__init__(f"cell {cell} holds the error {value}")
        self.cell = cell
        self.value = value


def cell_reference(row, column):
    """``(20000, 1000)`` -> ``"ALL20000"`` (both 1-based)."""
    return f"{get_column_letter(column)}{row}"


def xlsx_rows(data):
    """``(row number, values)`` of each row of the first sheet holding a value, values as text."""
    return _readable(_xlsx_rows(data), "XLSX")


def xls_rows(data):
    """``(row number, values)`` of each row of the first sheet holding a value, values as text."""
    return _readable(_xls_rows(data), "XLS")


def _readable(numbered_rows, kind):
    try:
        yield from numbered_rows
    except FileReadError:
        raise
    except Exception as error:  # a broken file fails in the zip, OLE2, XML or reader layers alike
        raise FileReadError(f"not a readable {kind} file ({error})") from error


def _xlsx_rows(data):
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        # Without the declared range, rows are as wide as their own cells and missing rows cost nothing.
        sheet.reset_dimensions()
        for number, cells in enumerate(sheet.iter_rows(min_row=1), 1):
            values = [
                _xlsx_text(cell, number, column) for column, cell in enumerate(_bounded(cells, number), 1)
            ]
            if _trim(values):
                yield number, values
    finally:
        book.close()


def _xls_rows(data):
    # Ragged rows: each as long as its own cells, not padded to the widest (the declared range).
    book = xlrd.open_workbook(file_contents=data, ragged_rows=True, on_demand=True)
    try:
        sheet = book.sheet_by_index(0)
        for index in range(sheet.nrows):
            number = index + 1
            cells = _bounded(sheet.row(index), number)
            values = [_xls_text(cell, book.datemode, number, column) for column, cell in enumerate(cells, 1)]
            if _trim(values):
                yield number, values
    finally:
        book.release_resources()


def text_rows(numbered_rows):
    """``(row number, values)`` of rows already read as text (an ODS sheet), bounded and
    trimmed as the others."""
    for number, texts in numbered_rows:
        values = list(_bounded(texts, number, value_of=str))
        if _trim(values):
            yield number, values


def _bounded(cells, number, value_of=lambda cell: cell.value):
    """The row's first ``MAX_COLUMNS`` cells; a value further right refuses the file."""
    if len(cells) <= MAX_COLUMNS:
        return cells
    for column, cell in enumerate(cells[MAX_COLUMNS:], MAX_COLUMNS + 1):
        if _has_value(value_of(cell)):
            raise TooManyColumns(cell_reference(number, column))
    return cells[:MAX_COLUMNS]


def _has_value(value):
    return value is not None and (not isinstance(value, str) or bool(value.strip()))


def _trim(values):
    """Drop the row's empty cells at its end (formatted cells, spaces); whether any is left."""
    while values and not values[-1].strip():
        values.pop()
    return bool(values)


def _xlsx_text(cell, number, column):
    value = cell.value
    if value is None:
        return ""
    if cell.data_type == "e":
        raise CellError(cell_reference(number, column), value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, datetime.datetime):
        return value.strftime(
            DATETIME_FORMAT if is_datetime(cell.number_format) == "datetime" else DATE_FORMAT
        )
    if isinstance(value, datetime.time):
        return value.strftime(TIME_FORMAT)
    return str(value)


def _xls_text(cell, datemode, number, column):
    kind = cell.ctype
    if kind == xlrd.XL_CELL_NUMBER:
        return str(int(cell.value)) if float(cell.value).is_integer() else str(cell.value)
    if kind == xlrd.XL_CELL_DATE:
        moment = datetime.datetime(*xlrd.xldate.xldate_as_tuple(cell.value, datemode))
        return moment.strftime(DATETIME_FORMAT if cell.value % 1 else DATE_FORMAT)
    if kind == xlrd.XL_CELL_BOOLEAN:
        return "True" if cell.value else "False"
    if kind == xlrd.XL_CELL_ERROR:
        raise CellError(cell_reference(number, column), xlrd.error_text_from_code.get(cell.value, cell.value))
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    return str(cell.value)
