"""Fault injection: what a flaky network or a restarting Asterisk does to an AMI client.

Rules are matched on the action name, case-insensitively; ``"*"`` matches every action.
A rule's ``count`` is how many more actions it applies to (``None``: all of them).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Rule:
    action: str
    count: int | None
    delay: float = 0.0

    def take(self, action: str) -> bool:
        if self.action not in ("*", action.lower()) or self.count == 0:
            return False
        if self.count is not None:
            self.count -= 1
        return True


@dataclass
class Faults:
    """Mutable from tests while the simulator runs (plain attribute writes are thread-safe)."""

    #: Every Nth action received (all connections together) is carried out, its response is
    #: not sent, and the connection that sent it is dropped: "the link died after the write".
    drop_every: int = 0
    #: While set, actions are read and logged but nothing is answered and no event is sent:
    #: a peer that is silently gone (what a ping watchdog must detect).
    frozen: bool = False
    _lost: list[_Rule] = field(default_factory=list)
    _delayed: list[_Rule] = field(default_factory=list)
    _drop_after: list[_Rule] = field(default_factory=list)

    def lose_ack(self, action: str, count: int | None = 1) -> None:
        """Carry the action out but never send its response (events still flow)."""
        self._lost.append(_Rule(action.lower(), count))

    def delay_ack(self, action: str, seconds: float, count: int | None = 1) -> None:
        """Carry the action out and send its response ``seconds`` (real time) later."""
        self._delayed.append(_Rule(action.lower(), count, seconds))

    def drop_after(self, action: str, count: int | None = 1) -> None:
        """Carry the action out, then drop its connection before the response is written."""
        self._drop_after.append(_Rule(action.lower(), count))

    def clear(self) -> None:
        self.drop_every = 0
        self.frozen = False
        self._lost.clear()
        self._delayed.clear()
        self._drop_after.clear()

    def ack_lost(self, action: str) -> bool:
        return any(rule.take(action) for rule in self._lost)

    def ack_delay(self, action: str) -> float:
        return next((rule.delay for rule in self._delayed if rule.take(action)), 0.0)

    def drop_after_action(self, action: str, serial: int) -> bool:
        if self.drop_every and serial % self.drop_every == 0:
            return True
        return any(rule.take(action) for rule in self._drop_after)
