"""What may be written to AMI: every header of an action is checked before anything is written
(:func:`validate_headers`). AMI is a line protocol, so a CR, LF or NUL in a value would let a
caller-supplied string end the header, or the action, and start another one. Pure: refuses,
never strips.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .rules import CONTROL_CHARACTERS

HEADER_NAME = re.compile(r"[A-Za-z0-9_-]+")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Asterisk reads a line into a 1024-byte buffer; a longer line makes it discard the whole action
# (older releases went on reading, and the tail of the value became a header line of its own).
MAX_LINE_BYTES = 1000


class AmiHeaderError(ValueError):
    """A header name or value that must not be written to AMI; nothing was sent."""


def check_value(header: str, value: object) -> str:
    """``value`` as a header value, or :class:`AmiHeaderError` if it holds a control character."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise AmiHeaderError(f"AMI header {header!r}: value must be a string, got {type(value).__name__}")
    text = str(value)
    control = CONTROL_CHARACTERS.search(text)
    if control:
        raise AmiHeaderError(
            f"AMI header {header!r}: control character {control.group()!r} refused in {text!r}"
        )
    if len(f"{header}: {text}".encode()) > MAX_LINE_BYTES:
        raise AmiHeaderError(f"AMI header {header!r}: line longer than {MAX_LINE_BYTES} bytes refused")
    return text


def join_variables(variables: Mapping[str, object]) -> str:
    """``{"A": "1", "B": "x"}`` → ``"A=1,B=x"`` (one Originate ``Variable`` header, as the
    contract has it), refusing names that are not plain identifiers and values with a comma."""
    pairs = []
    for name, value in variables.items():
        if not isinstance(name, str) or not VARIABLE_NAME.fullmatch(name):
            raise AmiHeaderError(f"AMI Variable name {name!r} refused: expected [A-Za-z_][A-Za-z0-9_]*")
        text = check_value(f"Variable {name}", value)
        if "," in text:
            raise AmiHeaderError(f"AMI Variable {name!r}: a comma in the value would split it: {text!r}")
        pairs.append(f"{name}={text}")
    return ",".join(pairs)


def _check_joined_variables(text: str) -> str:
    for item in text.split(","):
        name, sep, _ = item.partition("=")
        if not sep or not VARIABLE_NAME.fullmatch(name):
            raise AmiHeaderError(
                f"AMI Variable item {item!r} refused: expected NAME=value, NAME an identifier"
            )
    return text


def validate_headers(headers: Mapping[str, object]) -> dict[str, str]:
    """Check every header of an action and return them as strings (``Variable`` may be a
    mapping, joined with commas). Pure: raises :class:`AmiHeaderError`, never strips."""
    checked: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in headers.items():
        if not isinstance(name, str) or not HEADER_NAME.fullmatch(name):
            raise AmiHeaderError(f"AMI header name {name!r} refused: expected [A-Za-z0-9_-]+")
        if name.lower() in seen:
            raise AmiHeaderError(f"AMI header {name!r} given twice (header names are case-insensitive)")
        seen.add(name.lower())
        if name.lower() == "variable":
            if isinstance(value, Mapping):
                joined = join_variables(value)
            else:
                joined = _check_joined_variables(check_value(name, value))
            checked[name] = check_value(name, joined)
        else:
            checked[name] = check_value(name, value)
    return checked
