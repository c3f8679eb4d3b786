from outbound_campaign.importer import sql_copy


def test_copy_text_format():
    assert sql_copy.copy_line([1, None, "a\tb\\c\nd", ""]) == "1\t\ta\\tb\\\\c\\nd\t\n"
    assert sql_copy.copy_clean_fields(["1", "", "a\\b"]) == "1\t\ta\\\\b"


def test_psycopg2_cursor_is_odoos_wrapped_one_or_itself():
    class OdooCursor:
        _obj = object()

    plain = object()
    assert sql_copy.psycopg2_cursor(OdooCursor) is OdooCursor._obj
    assert sql_copy.psycopg2_cursor(plain) is plain
