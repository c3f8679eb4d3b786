from outbound_campaign.importer import e164


def test_one_parse_settles_plain_numbers():
    assert e164.parse_once("020 7946 0958", "GB") == "+442079460958"
    assert e164.parse_once("+33 1 01 01 01 01", None) == "+33101010101"


def test_left_to_phone_parse_invalid_numbers_and_patched_countries():
    assert e164.parse_once("12", "GB") is None
    assert e164.parse_once("not a number", "GB") is None
    # Odoo's patches add Brazil's ninth digit: one parse cannot give that.
    assert e164.parse_once("+55 11 8765 4321", "BR") is None
