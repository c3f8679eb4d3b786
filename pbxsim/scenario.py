"""Scripted behaviour of the simulated world: who answers, how fast, for how long.

Every duration is in simulated seconds; :meth:`Scenario.real` turns it into wall-clock seconds
through ``time_scale`` (0.01 makes a 20 s ring last 0.2 s). The timeouts a client sends
(Originate ``Timeout``, ``OC_DIAL_TIMEOUT``, ``OC_MAX_WAIT``) are simulated seconds too, so the
relative order of events is the same at any scale.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

#: "machine": an answering machine answers (``oc-amd``'s faked ``AMD()`` says MACHINE).
CUSTOMER_OUTCOMES = ("answer", "busy", "no_answer", "invalid", "congestion", "machine")
ANSWERING = frozenset({"answer", "machine"})
AGENT_OUTCOMES = ("answer", "busy", "no_answer")

# Channel technologies a stock Asterisk 22 build registers; any other fails like transcript 08.
TECHNOLOGIES = frozenset({"PJSIP", "SIP", "IAX2", "DAHDI", "Local", "Dongle", "Motif", "WebSocket"})

Span = tuple[float, float]


def parse_mix(text: str) -> dict[str, float]:
    """``"answer=0.3,busy=0.2"`` → weights (normalised later); unknown outcomes are refused."""
    mix: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, weight = item.partition("=")
        if not sep or name not in CUSTOMER_OUTCOMES:
            raise ValueError(
                f"bad mix item {item!r}: expected OUTCOME=WEIGHT, OUTCOME in {CUSTOMER_OUTCOMES}"
            )
        mix[name] = float(weight)
    if not mix or sum(mix.values()) <= 0:
        raise ValueError("the outcome mix needs at least one positive weight")
    return mix


def parse_span(text: str) -> Span:
    """``"2:6"`` (or ``"4"``) → (2.0, 6.0) seconds."""
    low, _, high = text.partition(":")
    span = (float(low), float(high or low))
    if span[0] < 0 or span[1] < span[0]:
        raise ValueError(f"bad range {text!r}: expected MIN:MAX with 0 <= MIN <= MAX")
    return span


def dialled_number(dial: str) -> str:
    """The number in a dial string: what follows ``TECH/`` up to ``@`` (``PJSIP/+331…@trunk``)."""
    resource = dial.partition("/")[2]
    return resource.partition("@")[0]


@dataclass
class Scenario:
    """Outcomes and timings. Lookups for a customer: ``overrides`` by number then by dial
    string, then the longest matching key of ``prefix_overrides``, then a draw from ``mix``.
    Agents (the channel of an agent-first Originate or of a Bridge leg) answer unless listed
    in ``agent_overrides`` (by channel or number) or drawn by ``agent_no_answer``; a phone busy on
    a call the dialer did not place (``busy_devices``, :meth:`PbxSimulator.outside_call`) is busy,
    an unregistered one cannot be called."""

    seed: int | None = None
    mix: Mapping[str, float] = field(default_factory=lambda: {"answer": 1.0})
    overrides: Mapping[str, str] = field(default_factory=dict)
    prefix_overrides: Mapping[str, str] = field(default_factory=dict)
    ring_time: Span = (2.0, 6.0)
    talk_time: Span = (5.0, 30.0)
    fail_time: Span = (0.5, 2.0)
    agent_ring_time: Span = (1.0, 3.0)
    agent_no_answer: float = 0.0
    agent_overrides: Mapping[str, str] = field(default_factory=dict)
    hold_message_time: float = 2.0
    #: ``AMD()``'s analysis (client first, ``OC_AMD=1``), and a message left on a machine
    amd_time: float = 2.0
    machine_message_time: float = 3.0
    abandon_message_time: float = 3.0
    time_scale: float = 1.0
    technologies: frozenset[str] = TECHNOLOGIES
    #: agents' phones on a call the dialer did not place from the start (``PJSIP/1001``)
    busy_devices: frozenset[str] = frozenset()
    #: agents' phones not registered from the start
    unregistered_devices: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for outcome in [*self.overrides.values(), *self.prefix_overrides.values(), *self.mix]:
            if outcome not in CUSTOMER_OUTCOMES:
                raise ValueError(f"unknown customer outcome {outcome!r}")
        for outcome in self.agent_overrides.values():
            if outcome not in AGENT_OUTCOMES:
                raise ValueError(f"unknown agent outcome {outcome!r}")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.rng = random.Random(self.seed)

    def real(self, seconds: float) -> float:
        return seconds * self.time_scale

    def draw(self, span: Span) -> float:
        return self.rng.uniform(*span)

    def customer_outcome(self, dial: str) -> str:
        number = dialled_number(dial)
        for key in (number, dial):
            if key in self.overrides:
                return self.overrides[key]
        matches = [prefix for prefix in self.prefix_overrides if number.startswith(prefix)]
        if matches:
            return self.prefix_overrides[max(matches, key=len)]
        outcomes = list(self.mix)
        return self.rng.choices(outcomes, weights=[self.mix[o] for o in outcomes])[0]

    def agent_outcome(self, channel: str) -> str:
        for key in (channel, dialled_number(channel)):
            if key in self.agent_overrides:
                return self.agent_overrides[key]
        if self.agent_no_answer and self.rng.random() < self.agent_no_answer:
            return "no_answer"
        return "answer"
