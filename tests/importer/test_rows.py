import io

from outbound_campaign.importer import rows

SEED_EXAMPLE = (
    "firstname, lastname, enterprise, phone, address\n"
    "Big, Ben, The Tower, 0101010101, Westminster, London SW1A 0AA, UK\n"
)


def test_encodings_detected():
    text = "Prénom;Société\nJérôme;Café “Noël” €\n"
    assert rows.detect_encoding(io.BytesIO(b"\xef\xbb\xbf" + text.encode())) == "utf-8-sig"
    assert rows.detect_encoding(io.BytesIO(text.encode())) == "utf-8"
    assert rows.detect_encoding(io.BytesIO(text.encode("cp1252"))) == "cp1252"


def test_encoding_read_block_by_block(monkeypatch):
    """A UTF-8 character cut by a block's end is still UTF-8; a cp1252 byte in a later block is not."""
    monkeypatch.setattr(rows, "READ_BLOCK", 3)
    assert rows.detect_encoding(io.BytesIO("abé€\n".encode())) == "utf-8"
    text = "Prénom;Société\nJérôme;Café “Noël” €\n"
    assert rows.detect_encoding(io.BytesIO(b"phone\n0101\n" + text.encode("cp1252"))) == "cp1252"


def test_seed_rows_wider_than_the_header_belong_to_its_last_column():
    separator = rows.guess_separator(SEED_EXAMPLE)
    records = list(rows.csv_rows(io.StringIO(SEED_EXAMPLE), separator))
    assert separator == ","
    assert rows.fit_row(records[1][1], 5, separator)[-1] == "Westminster, London SW1A 0AA, UK"
    assert rows.fit_row(["a"], 3, separator) == ("a", "", "")


def test_lines_are_where_records_start():
    text = 'phone,address\n1,"a\nb"\n\n2,c\n'
    assert [line for line, _fields in rows.csv_rows(io.StringIO(text), ",")] == [1, 2, 4, 5]


def test_binary_text_is_told_apart_from_a_stray_control_character():
    assert rows.looks_binary(bytes(range(256)).decode("latin-1"))
    assert not rows.looks_binary("phone\n0101\x00\n" + "x" * 400)


def test_clean_text_and_rejects_file_neutralise():
    assert rows.clean_text(" Dee\tDee\x00 ") == "Dee Dee"
    with rows.RejectsFile(["phone"], preview_size=1) as rejects:
        rejects.add([(2, "invalid", ["=1+2"]), (3, "@x", ["0"])])
        rejects.add([(5, "invalid", ["n/a"])])
        content = rejects.binary_file().read()
    assert content.startswith(b"\xef\xbb\xbf")
    assert content.decode("utf-8-sig") == (
        "line,reason,phone\r\n2,invalid,'=1+2\r\n3,'@x,0\r\n5,invalid,n/a\r\n"
    )
    assert (rejects.count, rejects.preview) == (3, [(2, "invalid", ["=1+2"])])
