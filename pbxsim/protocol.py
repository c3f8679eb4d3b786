"""AMI framing, read and written the way Asterisk's ``manager.c`` does it.

Reading follows ``get_input()``: a line ends at ``\\n`` (an optional ``\\r`` before it is dropped),
the line is then used as a C string so a NUL cuts it short, and an empty line ends the action.
A line that fills the 1024-byte input buffer without a newline makes Asterisk discard the
whole action (``Line too long``). Header lookups follow ``astman_get_header()``: the name is
matched case-insensitively up to the colon, blanks after it are skipped, the first match wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
MAX_LINE = 1024

Header = tuple[str, str]


@dataclass(frozen=True)
class ActionMessage:
    """One action as received: its header lines in order, duplicates kept."""

    headers: tuple[Header, ...]

    def get(self, name: str, default: str = "") -> str:
        """First non-empty value of ``name`` (as ``astman_get_header``), else ``default``."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted and value:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    @property
    def name(self) -> str:
        return self.get("Action")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")


def _parse_header(line: str) -> Header | None:
    key, colon, value = line.partition(":")
    if not colon:
        return None  # Asterisk keeps such a line but no lookup can ever match it
    return key, value.lstrip(" \t")


class ActionParser:
    """Incremental splitter of a client byte stream into :class:`ActionMessage` objects."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._headers: list[Header] = []
        self._discarding = False

    def feed(self, data: bytes) -> list[ActionMessage]:
        self._buffer += data
        actions: list[ActionMessage] = []
        while (end := self._buffer.find(b"\n")) >= 0:
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            line = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
            if not line:
                if not self._discarding:
                    actions.append(ActionMessage(tuple(self._headers)))
                self._headers, self._discarding = [], False
            elif not self._discarding and (header := _parse_header(line)) is not None:
                self._headers.append(header)
        if len(self._buffer) >= MAX_LINE:
            self._buffer.clear()
            self._discarding = True
        return actions


def encode(headers: Iterable[Header]) -> bytes:
    """One response or event: ``Key: value\\r\\n`` lines and the blank line that ends it."""
    return "".join(f"{key}: {value}\r\n" for key, value in headers).encode() + b"\r\n"


def iter_pairs(text: str) -> Iterator[tuple[str, str]]:
    """``A=1,B=2`` as the pairs of an Originate ``Variable`` header."""
    for item in text.split(","):
        name, _, value = item.partition("=")
        if name:
            yield name.strip(), value
