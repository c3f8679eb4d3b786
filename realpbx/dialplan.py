"""The test dialplan beside the shipped one: customers and agents as extensions of Local channels.

Each customer number is an exact extension of :data:`CUSTOMERS_CONTEXT` whose priorities act
out one behaviour (answer, busy, ring out…) on the ``;2`` half of the Local channel Dial()
places: the customer trunk is ``Local/{number}@octest-customers/n``. The context name holds a
``-`` on purpose: a dial string with one must reach Asterisk exactly as written (issue 9, b).
Each agent is an extension of :data:`AGENTS_CONTEXT` that rings, answers and stays on the line
until the other side hangs up (or rings out, or is busy).

A refused customer hangs up with its cause, as a SIP trunk's channel does on a final refusal
(chan_pjsip turns 486, 503, 404 into a hangup with cause 17, 34, 1; no control frame first):
``Hangup(17)`` (Dial: BUSY), ``Hangup(34)`` (CONGESTION), ``Hangup(1)`` (an unallocated number);
``Ringing()`` + ``Wait()`` rings out (NOANSWER). Agents are Local channels: ``Busy()`` for one
on the phone already.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

CUSTOMERS_CONTEXT = "octest-customers"
AGENTS_CONTEXT = "octest-agents"
#: How long "stays until the other side hangs up" waits at most: longer than any test.
FOREVER = 3600

_EXTEN = re.compile(r"[A-Za-z0-9+]+")
#: Where a machine records what it heard: the spool folder of the run, named after its number.
HEARD_FILE = "${ASTSPOOLDIR}/heard-${FILTER(0-9,${EXTEN})}.wav"


def heard_path(spool: str, number: str) -> str:
    """The file :data:`HEARD_FILE` names for ``number`` under the run's spool folder."""
    return f"{spool}/heard-{''.join(c for c in number if c.isdigit())}.wav"


def _seconds(value: float) -> str:
    if value < 0:
        raise ValueError(f"a duration cannot be negative: {value}")
    return f"{value:g}"


@dataclass(frozen=True)
class Customer:
    """What a customer number does when dialled. Build with the class methods."""

    kind: str
    ring: float = 0.0
    talk: float | None = None
    #: sounds played on answer (an answering machine's greeting and beep, a person's "hello")
    says: tuple[str, ...] = ()

    @classmethod
    def machine(cls, greeting: str = "vm-intro", beep: str = "beep") -> Customer:
        """An answering machine: plays a long greeting and a beep, then records what it hears
        (:func:`heard_path`) until the other side hangs up."""
        return cls("machine", says=(greeting, beep))

    @classmethod
    def person(cls, hello: str = "hello", silence: str = "silence/3", talk: float | None = None) -> Customer:
        """Says a short "hello", then is silent (audio silence, as a phone sends) and stays on
        the line ``talk`` s more (``None``: until the other side hangs up)."""
        return cls("answer", talk=talk, says=(hello, silence))

    @classmethod
    def talks(cls, sound: str) -> Customer:
        """Answers, says ``sound`` (a phone sends audio all along: a recording has frames to
        mix), then hangs up."""
        return cls("answer", talk=0.0, says=(sound,))

    @classmethod
    def answer(cls, talk: float | None = None, ring: float = 0.0) -> Customer:
        """Answers (after ``ring`` s), talks ``talk`` s then hangs up; ``None``: stays until the
        other side hangs up."""
        return cls("answer", ring, talk)

    @classmethod
    def answer_late(cls, ring: float, talk: float | None = None) -> Customer:
        """Rings ``ring`` s first, then answers as :meth:`answer`."""
        return cls("answer", ring, talk)

    @classmethod
    def hangs_up_waiting(cls, after: float) -> Customer:
        """Answers, then hangs up ``after`` s later (in client first: while waiting for an agent)."""
        return cls("answer", 0.0, after)

    @classmethod
    def busy(cls) -> Customer:
        return cls("busy")

    @classmethod
    def ring_out(cls) -> Customer:
        """Rings and never answers: Dial() gives up (NOANSWER)."""
        return cls("ring_out")

    @classmethod
    def congestion(cls) -> Customer:
        return cls("congestion")

    @classmethod
    def unallocated(cls) -> Customer:
        """No such number: hangs up with cause 1."""
        return cls("unallocated")

    def priorities(self) -> list[str]:
        # As a SIP trunk reports a final refusal (486, 503, 404): the channel hangs up with the
        # cause (chan_pjsip queues the hangup with it), no control frame first.
        if self.kind == "busy":
            return ["Hangup(17)"]
        if self.kind == "congestion":
            return ["Hangup(34)"]
        if self.kind == "unallocated":
            return ["Hangup(1)"]
        if self.kind == "ring_out":
            return ["Ringing()", f"Wait({FOREVER})"]
        says = [f"Playback({sound})" for sound in self.says]
        if self.kind == "machine":
            # k: keep the file when the other side hangs up (Record deletes it otherwise)
            return ["Answer()", *says, f"Record({HEARD_FILE},0,{FOREVER},k)", "Hangup(16)"]
        steps = ["Ringing()", f"Wait({_seconds(self.ring)})"] if self.ring else []
        talk = FOREVER if self.talk is None else _seconds(self.talk)
        return [*steps, "Answer()", *says, f"Wait({talk})", "Hangup(16)"]


@dataclass(frozen=True)
class Agent:
    """What an agent's Local channel does when rung. Build with the class methods."""

    kind: str
    ring: float = 0.0

    @classmethod
    def answer(cls, ring: float = 0.0) -> Agent:
        """Rings ``ring`` s, answers, stays until the other side hangs up."""
        return cls("answer", ring)

    @classmethod
    def no_answer(cls) -> Agent:
        """Rings and never answers (the Originate's Timeout ends it: Reason 3)."""
        return cls("no_answer")

    @classmethod
    def busy(cls) -> Agent:
        return cls("busy")

    def priorities(self) -> list[str]:
        if self.kind == "busy":
            return ["Busy()"]
        if self.kind == "no_answer":
            return ["Ringing()", f"Wait({FOREVER})"]
        steps = ["Ringing()", f"Wait({_seconds(self.ring)})"] if self.ring else []
        return [*steps, "Answer()", f"Wait({FOREVER})", "Hangup(16)"]


def _context(name: str, extensions: Mapping[str, Customer | Agent]) -> list[str]:
    lines = [f"[{name}]"]
    for exten, behaviour in extensions.items():
        if not _EXTEN.fullmatch(exten):
            raise ValueError(f"not an extension for the test dialplan: {exten!r}")
        first, *rest = behaviour.priorities()
        lines.append(f"exten => {exten},1,{first}")
        lines += [f" same => n,{step}" for step in rest]
    return lines


def render(
    shipped_dialplan: str,
    customers: Mapping[str, Customer],
    agents: Mapping[str, Agent],
) -> str:
    """``extensions.conf``: the shipped dialplan ``#include``d by absolute path (as shipped,
    never a copy), then the customers' and agents' contexts."""
    lines = [
        "; written by realpbx for one test run",
        "[general]",
        "static = yes",
        "writeprotect = yes",
        "",
        f'#include "{shipped_dialplan}"',
        "",
        *_context(CUSTOMERS_CONTEXT, customers),
        "",
        *_context(AGENTS_CONTEXT, agents),
        "",
    ]
    return "\n".join(lines)
