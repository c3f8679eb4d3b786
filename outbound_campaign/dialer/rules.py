"""The rules every layer checks alike, each defined once: the models refuse at save what the engine
would refuse to dial, the importer cleans what the models would refuse, the store reads the
weekdays the model writes, and the shipped dialplan's checks are tested against these patterns.

A check raises :class:`RuleError` (a ``ValueError``) with an English message for logs and, in
``fault`` and ``culprit``, what a model needs to say it in the user's language.

Pure Python: the models, the importer, the engine and the store import it; it imports nothing of
the addon.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

import phonenumbers

# --- control characters -------------------------------------------------------------------------

#: C0 and C1 control characters, DEL and the Unicode line and paragraph separators. The broader of
#: the rules the house had: CR, LF and NUL end an AMI header or break PostgreSQL, and the C1 NEL
#: (U+0085) and U+2028/U+2029 are line breaks too for many readers (Python's ``splitlines``,
#: browsers, spreadsheets), so they would split a CSV export or the agent's screen just the same.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class RuleError(ValueError):
    """A value a rule refuses. ``fault`` names the rule broken (for a translated message),
    ``culprit`` the part of the value at fault (a character, a placeholder)."""

    def __init__(self, message: str, fault: str = "", culprit: str = "") -> None:
        super().__init__(message)
        self.fault = fault
        self.culprit = culprit


def has_control_characters(text: str) -> bool:
    return bool(CONTROL_CHARACTERS.search(text))


def check_no_control_characters(label: str, value: str) -> str:
    """Refuse, never strip, what could end an AMI header early or forge another one."""
    if has_control_characters(value):
        raise RuleError(f"{label}: control characters (CR, LF, NUL…) are refused in {value!r}", "control")
    return value


# --- E.164 --------------------------------------------------------------------------------------

#: A number in E.164 with its +: a country code (never 0) and at most 15 digits in all. Numbers are
#: read into this form by ``importer.phones.to_e164`` (Odoo's metadata patches apply there).
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def is_e164(number: str | None) -> bool:
    return isinstance(number, str) and bool(E164.fullmatch(number))


def check_e164(number: str) -> str:
    """An E.164 number with its +, nothing else."""
    if not is_e164(number):
        raise RuleError(f"{number!r} is not an E.164 number (+ then 7 to 15 digits)", "e164", str(number))
    return number


# --- dial strings -------------------------------------------------------------------------------

#: What a dial template may hold around its placeholders, and so what the dial string built from it
#: may hold: letters, digits and ``+ / @ . _ : -``; ``my-trunk``, ``sip.example.net``,
#: ``SIP/provider/…``, ``DAHDI/g1/…``, ``PJSIP/trunk/sip:…@host:5060``, ``Local/…@ctx/n`` all fit.
#: Refused: what could add a destination or a Dial() argument or option (``&`` ``,`` ``|``), what
#: the dialplan would read as syntax (``$ { } ( ) [ ] " \\ ;``), spaces and control characters.
#: Written so that it reads the same as a POSIX ERE bracket expression (the dialplan's
#: ``REGEX()``, no backslash: REGEX's argument parsing strips them) and as a Python one: ``-`` last.
DIAL_STRING_CHARACTERS = "A-Za-z0-9+/@._:-"
#: A dial string: a technology, "/", a resource. The shipped dialplan checks ``OC_DIAL`` with this
#: very text (``tests/dialer/test_rules.py`` reads the ``.conf``) and dials it as it is, or refuses it
#: with ``DIALSTATUS=INVALIDARGS``: it is never rewritten.
DIAL_STRING_REGEX = f"^[A-Za-z0-9]+/[{DIAL_STRING_CHARACTERS}]+$"
DIAL_STRING = re.compile(DIAL_STRING_REGEX)
_DIAL_STRING_CHARACTER = re.compile(f"[{DIAL_STRING_CHARACTERS}]")
#: The placeholders of a customer dial template (see :func:`dial_string`).
DIAL_TEMPLATE_PLACEHOLDERS = ("number", "digits", "national")
DIAL_TEMPLATE_EXAMPLES = "PJSIP/{number}@my-trunk, PJSIP/{digits}@sip.example.net, SIP/provider/{national}"


def check_dial_string(label: str, value: str) -> str:
    """A dial string as the dialplan dials it (see :data:`DIAL_STRING_REGEX`)."""
    if not DIAL_STRING.fullmatch(value or ""):
        raise RuleError(
            f"{label} {value!r}: a dial string is technology/resource, with characters from "
            f"[{DIAL_STRING_CHARACTERS}] only",
            "dial_string",
            value,
        )
    return value


@lru_cache(maxsize=64)  # a server has one template, checked for every Originate
def check_dial_template(template: str) -> str:
    """A customer dial template: at least one of ``{number}``, ``{digits}``, ``{national}``
    (plainly: no format spec), around them only :data:`DIAL_STRING_CHARACTERS`, and in the shape
    technology/resource, so that every number gives a dial string the dialplan dials unchanged."""
    try:
        parts = list(string.Formatter().parse(template or ""))
    except ValueError as exc:
        raise RuleError(f"dial template {template!r}: {exc}", "braces") from exc
    names = []
    for text, name, spec, conversion in parts:
        bad = next((char for char in text if not _DIAL_STRING_CHARACTER.fullmatch(char)), None)
        if bad is not None:
            raise RuleError(
                f"dial template {template!r}: character {bad!r} is outside [{DIAL_STRING_CHARACTERS}]",
                "character",
                bad,
            )
        if name is None:
            continue
        if name not in DIAL_TEMPLATE_PLACEHOLDERS or spec or conversion:
            raise RuleError(
                f"dial template {template!r}: placeholder {{{name}}} is not one of "
                "{number}, {digits}, {national}",
                "placeholder",
                f"{{{name}}}",
            )
        names.append(name)
    if not names:
        raise RuleError(
            f"dial template {template!r}: it needs {{number}}, {{digits}} or {{national}}", "no_placeholder"
        )
    sample = template.format(number="+15550100", digits="15550100", national="5550100")
    if not DIAL_STRING.fullmatch(sample):
        raise RuleError(
            f"dial template {template!r}: a dial string is technology/resource, e.g. PJSIP/{{number}}@trunk",
            "shape",
        )
    return template


def dial_string(template: str, number: str) -> str:
    """The channel to dial for ``number`` through the server's ``customer_dial_template``.

    ``{number}`` is E.164 with its +, ``{digits}`` without it, ``{national}`` the number as
    dialled inside its country, national prefix included (``0123456789`` for +33 1 23 45 67 89,
    ``2015550123`` for +1 201-555-0123).
    """
    check_dial_template(template)
    check_e164(number)
    national = ""
    if "{national}" in template:  # parsing the number is most of the cost of an Originate's headers
        parsed = phonenumbers.parse(number, None)
        national = re.sub(
            r"\D", "", phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        )
    return check_dial_string(
        "dial string", template.format(number=number, digits=number[1:], national=national)
    )


# --- what the campaign sends to Asterisk ----------------------------------------------------------

#: An Asterisk sound name (hold and abandon messages), passed to Playback() as it is: a path under
#: the sounds folder, no extension, no "..".
SOUND_NAME = re.compile(r"^[A-Za-z0-9_./-]+$")
CALLER_ID_NAME_MAX = 80
#: Besides control characters: what would end the quoted name of a ``CallerID: "name" <number>``.
CALLER_ID_NAME_FORBIDDEN = '"<>\\'


def check_sound_name(label: str, value: str | None) -> str:
    if not value or not SOUND_NAME.fullmatch(value) or ".." in value:
        raise RuleError(
            f"{label} {value!r}: an Asterisk sound name holds letters, digits and _ . / - only, never ..",
            "sound",
            value or "",
        )
    return value


def check_caller_id_name(name: str) -> str:
    """The caller ID name (may be empty): at most 80 characters, no control character, no ``"<>\\``."""
    if (
        has_control_characters(name)
        or any(char in name for char in CALLER_ID_NAME_FORBIDDEN)
        or len(name) > CALLER_ID_NAME_MAX
    ):
        raise RuleError(
            f'caller ID name {name!r}: at most 80 characters, no control character or "<>\\', "caller_id_name"
        )
    return name


def caller_id(name: str, number: str) -> str:
    """The ``CallerID`` header: ``"name" <number>``, the number E.164 and required (the law)."""
    return f'"{check_caller_id_name(name)}" <{check_e164(number)}>'


# --- the calling week ---------------------------------------------------------------------------

#: The campaign's weekday fields, Monday first: their index is ``datetime.weekday()``.
WEEKDAY_FIELDS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday_numbers(days) -> frozenset[int]:
    """The days (0 = Monday) ticked in ``days``: a campaign record, or a mapping of its weekday fields."""
    return frozenset(number for number, day in enumerate(WEEKDAY_FIELDS) if days[day])
