"""manager.conf users and the read/write permission classes Asterisk checks."""

from __future__ import annotations

from dataclasses import dataclass, field

CLASSES = frozenset(
    {
        "system",
        "call",
        "log",
        "verbose",
        "command",
        "agent",
        "user",
        "config",
        "dtmf",
        "reporting",
        "cdr",
        "dialplan",
        "originate",
        "agi",
        "cc",
        "aoc",
        "test",
        "security",
        "message",
    }
)

# Authority of each action, as registered in Asterisk 22 (manager.c, db.c, devicestate.c, pbx.c).
# An empty set means any logged-in user may run it; otherwise one class in common suffices.
ACTION_AUTHORITY: dict[str, frozenset[str]] = {
    "ping": frozenset(),
    "logoff": frozenset(),
    "login": frozenset(),
    "originate": frozenset({"originate"}),
    "hangup": frozenset({"system", "call"}),
    "redirect": frozenset({"call"}),
    "userevent": frozenset({"user"}),
    "coreshowchannels": frozenset({"system", "reporting"}),
    "dbget": frozenset({"system", "reporting"}),
    "dbput": frozenset({"system"}),
    "dbdel": frozenset({"system"}),
    "devicestatelist": frozenset({"call", "reporting"}),
    "extensionstatelist": frozenset({"call", "reporting"}),
}


def parse_classes(text: str) -> frozenset[str]:
    """``"call,user"`` → classes; ``"all"`` → every class. Unknown names are refused."""
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    if "all" in names:
        return CLASSES
    unknown = names - CLASSES
    if unknown:
        raise ValueError(f"unknown AMI permission class(es): {', '.join(sorted(unknown))}")
    return frozenset(names)


@dataclass(frozen=True)
class AmiUser:
    """A ``[user]`` section of manager.conf: secret plus ``read =`` and ``write =`` classes."""

    secret: str
    read: frozenset[str] = field(default=CLASSES)
    write: frozenset[str] = field(default=CLASSES)

    @classmethod
    def from_spec(cls, secret: str, read: str = "all", write: str | None = None) -> AmiUser:
        return cls(secret, parse_classes(read), parse_classes(read if write is None else write))

    def may_run(self, action: str) -> bool:
        authority = ACTION_AUTHORITY[action]
        return not authority or bool(authority & self.write)


# A least-privilege dialer: call events and UserEvents to read; Originate, call control and
# reporting to write. Never ``system``, ``command`` or ``config``: it may DBGet (``reporting``)
# but gets "Permission denied" for DBPut/DBDel; the dialplan alone writes and prunes AstDB.
DEFAULT_USERNAME = "dialer"
DEFAULT_USER = AmiUser.from_spec(
    "dialer-secret", read="call,user,reporting", write="originate,call,reporting"
)
