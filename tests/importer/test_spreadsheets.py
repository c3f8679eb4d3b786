import datetime
import io

import openpyxl
import pytest
import xlwt

from outbound_campaign.importer import rows, spreadsheets


def xlsx(values_by_row, far=None):
    """An XLSX of ``values_by_row`` whose cell ALL20000 is formatted (declaring A1:ALL20000) and
    holds ``far``."""
    book = openpyxl.Workbook()
    sheet = book.active
    for values in values_by_row:
        sheet.append(values)
    sheet["ALL20000"].font = openpyxl.styles.Font(bold=True)
    sheet["ALL20000"].value = far
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_far_formatted_cell_yields_the_data_rows_only():
    data = xlsx([["name", "phone"], ["Ann", "07911 123456"], [], ["Bob", 447911123457]])
    assert len(data) < 6000
    assert list(spreadsheets.xlsx_rows(data)) == [
        (1, ["name", "phone"]),
        (2, ["Ann", "07911 123456"]),
        (4, ["Bob", "447911123457"]),
    ]


def test_value_beyond_the_column_bound_is_refused_with_its_cell():
    with pytest.raises(spreadsheets.TooManyColumns) as caught:
        list(spreadsheets.xlsx_rows(xlsx([["phone"], ["07911 123456"]], far="x")))
    assert caught.value.cell == "ALL20000"
    assert isinstance(caught.value, rows.FileReadError)


def test_cells_read_as_base_import_reads_them():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([1.0, 2.5, True, datetime.datetime(2025, 3, 1, 9, 30), datetime.date(2025, 3, 2), "  "])
    sheet["D1"].number_format = "yyyy-mm-dd hh:mm:ss"
    sheet["E1"].number_format = "yyyy-mm-dd"
    buffer = io.BytesIO()
    book.save(buffer)
    assert list(spreadsheets.xlsx_rows(buffer.getvalue())) == [
        (1, ["1", "2.5", "True", "2025-03-01 09:30:00", "2025-03-02"])
    ]


def test_error_cell_is_refused_with_its_cell():
    with pytest.raises(spreadsheets.CellError) as caught:
        list(spreadsheets.xlsx_rows(xlsx([["phone", "score"], ["07911 123456", "#DIV/0!"]])))
    assert (caught.value.cell, caught.value.value) == ("B2", "#DIV/0!")


def test_broken_files_are_read_errors():
    for reader in (spreadsheets.xlsx_rows, spreadsheets.xls_rows):
        with pytest.raises(rows.FileReadError):
            list(reader(b"PK\x03\x04 not really a zip"))


def test_xls_rows_as_stored():
    book = xlwt.Workbook()
    sheet = book.add_sheet("Contacts")
    for row, values in enumerate(
        [["Prénom", "Téléphone"], ["Zoé", 2079460501], [], ["Léa", "+44 20 7946 0502"]]
    ):
        for column, value in enumerate(values):
            sheet.write(row, column, value)
    sheet.write(200, 255, None, xlwt.easyxf("font: bold on"))  # formatted, empty: IV201
    buffer = io.BytesIO()
    book.save(buffer)
    assert list(spreadsheets.xls_rows(buffer.getvalue())) == [
        (1, ["Prénom", "Téléphone"]),
        (2, ["Zoé", "2079460501"]),
        (4, ["Léa", "+44 20 7946 0502"]),
    ]


def test_text_rows_bounded_and_trimmed():
    wide = ["a", *[""] * 1000]
    assert list(spreadsheets.text_rows(enumerate([wide, ["", " "], ["b", "c", ""]], 1))) == [
        (1, ["a"]),
        (3, ["b", "c"]),
    ]
    with pytest.raises(spreadsheets.TooManyColumns):
        list(spreadsheets.text_rows([(7, [*[""] * 600, "x"])]))
