"""AMI input parsing as Asterisk's manager.c does it (no network)."""

from pbxsim.protocol import MAX_LINE, ActionParser, encode


def test_crlf_and_bare_lf_both_end_lines():
    actions = ActionParser().feed(b"Action: Ping\r\nActionID: a\r\n\r\nAction: Ping\nActionID: b\n\n")
    assert [(a.name, a.action_id) for a in actions] == [("Ping", "a"), ("Ping", "b")]


def test_a_bare_cr_does_not_end_a_line():
    (action,) = ActionParser().feed(b"Action: Ping\rActionID: x\r\n\r\n")
    assert action.name == "Ping\rActionID: x"


def test_nul_cuts_the_line_so_a_line_starting_with_nul_is_blank_and_ends_the_action():
    actions = ActionParser().feed(b"Action: Ping\0Channel: evil\r\nActionID: p\r\n\0Action: Hangup\r\n\r\n")
    assert [a.headers for a in actions] == [(("Action", "Ping"), ("ActionID", "p")), ()]


def test_header_names_are_case_insensitive_and_the_first_one_wins():
    (action,) = ActionParser().feed(b"ACTION:ping\r\nactionid:   one\r\nActionID: two\r\n\r\n")
    assert (action.name, action.action_id, action.get_all("ActionId")) == ("ping", "one", ["one", "two"])


def test_input_may_arrive_byte_by_byte():
    parser = ActionParser()
    data = b"Action: Ping\r\nActionID: z\r\n\r\n"
    actions = [action for byte in data for action in parser.feed(bytes([byte]))]
    assert [a.action_id for a in actions] == ["z"]


def test_a_line_too_long_discards_the_whole_action():
    parser = ActionParser()
    assert parser.feed(b"Action: Originate\r\nChannel: " + b"x" * MAX_LINE) == []
    actions = parser.feed(b"Action: Hangup\r\n\r\nAction: Ping\r\n\r\n")
    assert [a.name for a in actions] == ["Ping"]


def test_encode_writes_crlf_lines_and_a_blank_line():
    assert encode([("Response", "Success"), ("ActionID", "1")]) == b"Response: Success\r\nActionID: 1\r\n\r\n"
