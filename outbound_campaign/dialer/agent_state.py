"""What becomes of an agent when a call they were rung for ends.

* The agent talked to the customer (the call was connected): ``wrap_up`` until the call's end plus
  the campaign's wrap-up time, keeping the call as their current call (the console records the
  disposition on it); the host makes them ``ready`` once that time has passed. No wrap-up time:
  ``ready`` at once.
* The agent did not take the call (their phone rang out or was busy: OriginateResponse Reason 3
  or 5, or a client-first bridge leg that failed): a miss. The first miss in a row puts them back
  to ``ready``; the second pauses them with the reason "No answer" (they are away from their
  desk) and the managers see it. Answering a call resets the count (the host does it when the
  agent's leg is answered).
* A machine (the agent pressed Leave message): ``ready`` at once, there is nothing to record.
* Any other end (the customer was not reached, Asterisk tore the call down: Reason 0/1 says nothing
  of the agent): ``ready`` at once, no miss counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .outcomes import MACHINES, Outcome

#: Misses in a row that pause an agent.
MISSES_BEFORE_PAUSE = 2
#: OriginateResponse reasons that say the agent did not take the call: rang out (3), busy (5).
AGENT_AWAY_REASONS = frozenset({3, 5})

READY, WRAP_UP, PAUSED = "ready", "wrap_up", "paused"


@dataclass(frozen=True)
class AgentNext:
    """The agent's next state; ``missed_in_a_row`` is ``None`` when the count does not change."""

    agent_id: int
    state: str
    missed_in_a_row: int | None = None
    wrap_up_until: datetime | None = None
    keeps_call: bool = False


def missed_by_agent(outcome: Outcome, reason: int | None) -> bool:
    """An agent-first call the agent let ring out or refused busy."""
    return outcome is Outcome.AGENT_NO_ANSWER and reason in AGENT_AWAY_REASONS


def after_miss(agent_id: int, missed_in_a_row: int) -> AgentNext:
    """One more miss on top of ``missed_in_a_row``: ready again, or paused at the second."""
    missed = missed_in_a_row + 1
    return AgentNext(agent_id, PAUSED if missed >= MISSES_BEFORE_PAUSE else READY, missed)


def after_call(
    agent_id: int, connected: bool, ended_at: datetime, wrap_up: timedelta, outcome: Outcome | None = None
) -> AgentNext:
    """The agent's state once a call they took part in (not missed) has ended."""
    if connected and wrap_up > timedelta(0) and outcome not in MACHINES:
        return AgentNext(agent_id, WRAP_UP, wrap_up_until=ended_at + wrap_up, keeps_call=True)
    return AgentNext(agent_id, READY)
