"""The shared rules (``dialer/rules.py``), and the shipped dialplan's dial-string check against them."""

import ctypes
import ctypes.util
import re
from pathlib import Path

import pytest

from outbound_campaign.dialer import rules
from pbxsim import calls

DIALPLAN = (
    Path(__file__).resolve().parents[2] / "outbound_campaign/data/asterisk/extensions_outbound_campaign.conf"
)
#: The contexts whose Dial() takes the customer dial string ``OC_DIAL``.
DIALLING_CONTEXTS = ("oc-agent-first", "oc-client-dial")


# --- control characters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "char", ["\r", "\n", "\x00", "\t", "\x1b", "\x7f", "\x85", "\x9f", "\u2028", "\u2029"]
)
def test_control_characters_are_refused(char):
    assert rules.has_control_characters(f"ACME{char}Action: Hangup")
    with pytest.raises(rules.RuleError):
        rules.check_no_control_characters("Channel", f"PJSIP/1001{char}")


@pytest.mark.parametrize("text", ["Zoë Lefèvre", "O'Brien & Sons", "日本語", "+44 20 7946 0958", "\xa0"])
def test_ordinary_text_passes(text):
    assert not rules.has_control_characters(text)


# --- E.164 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["+33123456789", "+12015550123", "+4420794609"])
def test_e164_numbers(number):
    assert rules.is_e164(number)
    assert rules.check_e164(number) == number


@pytest.mark.parametrize(
    "number",
    ["", None, "0123456789", "+0123456789", "+33 1 23 45 67 89", "+33123456789\n", "+123456", "+1" * 9],
)
def test_not_e164(number):
    assert not rules.is_e164(number)
    with pytest.raises(rules.RuleError, match=r"E\.164"):
        rules.check_e164(number)


# --- dial templates and dial strings --------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "number", "expected"),
    [
        ("PJSIP/{number}@my-trunk", "+33123456789", "PJSIP/+33123456789@my-trunk"),
        ("PJSIP/{digits}@sip.example.net", "+33123456789", "PJSIP/33123456789@sip.example.net"),
        ("SIP/provider/{digits}", "+33123456789", "SIP/provider/33123456789"),
        ("DAHDI/g1/{national}", "+33123456789", "DAHDI/g1/0123456789"),
        ("PJSIP/my_trunk/sip:{number}@sip.example.net:5060", "+12015550123", None),
        ("Local/{digits}@oc-test.customers/n", "+12015550123", "Local/12015550123@oc-test.customers/n"),
    ],
)
def test_real_trunk_names_dial_exactly_what_the_template_says(template, number, expected):
    expected = expected or template.format(number=number)
    assert rules.check_dial_template(template) == template
    assert rules.dial_string(template, number) == expected


@pytest.mark.parametrize(
    ("template", "fault", "culprit"),
    [
        ("PJSIP/{number}@trunk&PJSIP/1001", "character", "&"),
        ("PJSIP/{number}@trunk,30,D(1)", "character", ","),
        ("PJSIP/{number}@trunk)", "character", ")"),
        ('PJSIP/{number}@"trunk"', "character", '"'),
        ("PJSIP/{number}@${EVIL}", "character", "$"),
        ("PJSIP/{number}@trunk;x", "character", ";"),
        ("PJSIP/{number}@trunk|x", "character", "|"),
        ("PJSIP/{number} @trunk", "character", " "),
        ("PJSIP/{number}@trunk\r\nAction: Hangup", "character", "\r"),
        ("PJSIP/{{number}}", "character", "{"),
        ("PJSIP/{phone}@trunk", "placeholder", "{phone}"),
        ("PJSIP/{number!r}@trunk", "placeholder", "{number}"),
        ("PJSIP/{number:>20}@trunk", "placeholder", "{number}"),
        ("PJSIP/1001@trunk", "no_placeholder", ""),
        ("{number}@trunk", "shape", ""),
        ("/{number}", "shape", ""),
        ("", "no_placeholder", ""),
    ],
)
def test_dial_templates_refused_say_why(template, fault, culprit):
    with pytest.raises(rules.RuleError, match="dial template") as refused:
        rules.check_dial_template(template)
    assert (refused.value.fault, refused.value.culprit) == (fault, culprit)


def test_unbalanced_braces_are_refused():
    with pytest.raises(rules.RuleError, match="dial template"):
        rules.check_dial_template("PJSIP/{number@trunk")


# --- sounds, caller ID, weekdays ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "number", "expected"),
    [
        ("PJSIP/{number}@trunk", "+33123456789", "PJSIP/+33123456789@trunk"),
        ("PJSIP/{digits}@trunk", "+33123456789", "PJSIP/33123456789@trunk"),
        ("PJSIP/{national}@trunk", "+33123456789", "PJSIP/0123456789@trunk"),
        ("SIP/gw/{national}", "+442079460018", "SIP/gw/02079460018"),
        ("PJSIP/{national}@us-trunk", "+12015550123", "PJSIP/2015550123@us-trunk"),
        ("PJSIP/00{digits}@trunk", "+390612345678", "PJSIP/00390612345678@trunk"),
        ("Local/{digits}@customers", "+15550101000", "Local/15550101000@customers"),
    ],
)
def test_dial_string_placeholders(template, number, expected):
    assert rules.dial_string(template, number) == expected


@pytest.mark.parametrize(
    "template",
    [
        "PJSIP/{phone}@trunk",
        "PJSIP/{}@trunk",
        "PJSIP/{0}@trunk",
        "PJSIP/{number!r}",
        "PJSIP/{number:>20}",
        "{number",
    ],
)
def test_dial_template_refuses_other_placeholders(template):
    with pytest.raises(ValueError, match="dial template"):
        rules.dial_string(template, "+33123456789")


@pytest.mark.parametrize(
    "template", ["PJSIP/{number}@trunk,30", "PJSIP/{number}@trunk;x", "PJSIP/{{number}}"]
)
def test_dial_string_refuses_characters_outside_the_safe_set(template):
    with pytest.raises(ValueError, match="outside"):
        rules.dial_string(template, "+33123456789")


@pytest.mark.parametrize(
    "number",
    ["0123456789", "+0123456789", "+33 1 23 45 67 89", "+33123456789\r\nAction: Hangup", "+123456", ""],
)
def test_dial_string_refuses_what_is_not_e164(number):
    with pytest.raises(ValueError, match=r"E\.164"):
        rules.dial_string("PJSIP/{number}@trunk", number)


@pytest.mark.parametrize("sound", ["oc-please-hold", "custom/acme_hold.v2"])
def test_sound_names(sound):
    assert rules.check_sound_name("hold_message", sound) == sound


@pytest.mark.parametrize("sound", ["", None, "../../etc/passwd", "hold,x", "hold message", "hold\n"])
def test_sound_names_refused(sound):
    with pytest.raises(rules.RuleError):
        rules.check_sound_name("hold_message", sound)


def test_caller_id_header():
    assert rules.caller_id("ACME Renewals", "+442079460999") == '"ACME Renewals" <+442079460999>'
    assert rules.caller_id("", "+442079460999") == '"" <+442079460999>'


@pytest.mark.parametrize(
    ("name", "number"),
    [
        ('ACME "Renewals"', "+442079460999"),
        ("ACME <x>", "+442079460999"),
        ("ACME\\", "+442079460999"),
        ("ACME\r\nAction: Hangup", "+442079460999"),
        ("x" * 81, "+442079460999"),
        ("ACME", ""),
        ("ACME", "02079460999"),
    ],
)
def test_caller_id_refused(name, number):
    with pytest.raises(rules.RuleError):
        rules.caller_id(name, number)


def test_weekdays_monday_first_as_datetime_weekday():
    days = dict.fromkeys(rules.WEEKDAY_FIELDS, False) | {"mon": True, "sun": True}
    assert rules.weekday_numbers(days) == frozenset({0, 6})
    assert rules.weekday_numbers(dict.fromkeys(rules.WEEKDAY_FIELDS, False)) == frozenset()


# --- the shipped dialplan mirrors the dial-string rule --------------------------------------------


def _context(name):
    text = DIALPLAN.read_text()
    start = text.index(f"\n[{name}]\n")
    end = text.find("\n[", start + 1)
    return text[start : end if end > 0 else None]


def _posix_ere_matcher(pattern):
    """``pattern`` compiled by the C library's ``regcomp`` (``REG_EXTENDED``), as Asterisk's REGEX()
    compiles it; None where no C library can be loaded."""
    path = ctypes.util.find_library("c")
    if not path:
        return None
    libc = ctypes.CDLL(path)
    compiled = ctypes.create_string_buffer(1024)  # larger than any libc's regex_t
    reg_extended = 1  # the same value in glibc, musl and the BSDs
    if libc.regcomp(compiled, pattern.encode(), reg_extended):
        raise AssertionError(f"the C library refuses the dialplan's regex {pattern!r}")
    return lambda text: libc.regexec(compiled, text.encode(), 0, None, 0) == 0


@pytest.mark.parametrize("context", DIALLING_CONTEXTS)
def test_defect_b_dialplan_dials_the_dial_string_unchanged_or_refuses_it(context):
    """The dial string reaches Dial() as the dialer sent it (no FILTER() rewriting a trunk name),
    after a REGEX() check whose text is the Python rule's, refusing with INVALIDARGS otherwise."""
    lines = [line.strip() for line in _context(context).splitlines() if not line.strip().startswith(";")]
    checks = [line for line in lines if "${OC_DIAL})" in line]
    assert checks == [f'same => n,GotoIf($[${{REGEX("{rules.DIAL_STRING_REGEX}" ${{OC_DIAL}})}}]?dial)'], (
        checks
    )
    assert not [line for line in lines if "FILTER(" in line and ",${OC_DIAL})" in line]
    dials = [line for line in lines if "Dial(" in line]
    # U(): the answer stamp of the AstDB record (docs/call-flow-contract.md), no dial option.
    assert dials == ["same => n,Dial(${OC_DIAL},${FILTER(0-9,${OC_DIAL_TIMEOUT})},U(oc-answered^${CHANNEL}))"]
    refusal = lines.index(checks[0]) + 1
    assert lines[refusal : refusal + 2] == ["same => n,Set(DIALSTATUS=INVALIDARGS)", "same => n,Hangup(16)"]


def test_defect_b_dialplan_regex_accepts_and_refuses_what_the_python_rule_does():
    """The dialplan's regex, compiled by the C library as Asterisk compiles it, agrees with the
    Python rule on every printable ASCII character in every position and on real trunk names;
    REGEX() takes its pattern between quotes and strips backslashes, so the pattern has neither."""
    pattern = rules.DIAL_STRING_REGEX
    assert '"' not in pattern and "\\" not in pattern and ";" not in pattern
    posix = _posix_ere_matcher(pattern)
    if posix is None:
        pytest.skip("no C library to compile the dialplan's regex with")
    samples = [
        "PJSIP/+33123456789@my-trunk",
        "PJSIP/33123456789@sip.example.net",
        "SIP/provider/33123456789",
        "DAHDI/g1/0123456789",
        "PJSIP/my_trunk/sip:+12015550123@sip.example.net:5060",
        "Local/12015550123@oc-test.customers/n",
    ]
    samples += [f"PJSIP/+3312{chr(code)}@trunk" for code in range(1, 128)]
    samples += [f"{chr(code)}JSIP/+3312@trunk" for code in range(1, 128)]
    samples += ["PJSIP/", "/+3312", "PJSIP+3312", "PJSIP/1\n", "PJSIP/1\nPJSIP/2"]
    for sample in samples:
        assert posix(sample) is bool(rules.DIAL_STRING.fullmatch(sample)), sample
    for refused in "&,|()\"'$\\{}[];` \t\r\n":
        assert not posix(f"PJSIP/1@trunk{refused}PJSIP/2"), refused


def test_defect_b_the_simulator_checks_the_dial_string_as_the_dialplan_does():
    assert calls.DIAL_STRING.pattern == rules.DIAL_STRING_REGEX


def test_defect_b_dial_string_characters_never_include_dialplan_syntax():
    allowed = {
        chr(code) for code in range(128) if re.fullmatch(f"[{rules.DIAL_STRING_CHARACTERS}]", chr(code))
    }
    assert allowed >= set("-._/@+:")
    assert not allowed & set("&,|()\"'$\\{}[];` \t\r\n\x00")
