"""How many calls to place now: per-agent pacing, abandon-rate control, server limits.

* Agent first: one call per ready agent not already being rung. Nobody can be abandoned.
* Client first: calls in flight (dialling, ringing or answered and waiting for an agent) may reach
  ``ready agents × ratio``. The ratio is what the observed answer rate justifies (1 / answer
  rate), bounded by the campaign's max ratio, and tapered linearly to 1:1 as the abandon rate
  (abandons / live answers over the campaign's rolling window: 30 days for the FTC, 24 h for
  Ofcom) approaches ``near_cap × cap``. Until enough calls are seen to trust the answer rate the
  ratio is 1:1.
* Agents shared by several campaigns are one pool per dialer turn: the calls of a client-first
  campaign not yet with an agent hold ``ceil(calls / ratio)`` of its ready agents
  (:func:`agents_held`) before any other campaign is given one, and each agent goes to one
  campaign at most.
* The dialer server's limits: at most ``max_channels`` customer calls at once (trunk channels;
  agent legs are internal) and ``max_calls_per_second`` (a token bucket driven by ``now``),
  shared round-robin between the campaigns running on it.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from .outcomes import NO_CUSTOMER_CALL, Outcome

#: Ended calls that are no customer call, so count nowhere in pacing (``outcomes.NO_CUSTOMER_CALL``:
#: the agent's phone rang out, the trunk refused the call, or its fate stayed unknown), as the
#: outcome values the counters store.
NOT_CUSTOMER_CALLS = frozenset(outcome.value for outcome in NO_CUSTOMER_CALL)
#: The abandon rate is measured over this window (FTC/FCC: 30 days; Ofcom's 24 h is stricter per
#: day but looser over the month at the same cap).
PACING_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class PacingStats:
    """Counts over the campaign's rolling window (the host may compute them in SQL)."""

    dialed: int = 0
    answered: int = 0
    abandoned: int = 0

    @property
    def abandon_rate(self) -> float:
        """Abandons per live answer, the regulators' ratio (0 before the first answer)."""
        return self.abandoned / self.answered if self.answered else 0.0

    @property
    def answer_rate(self) -> float:
        """Live answers per finished customer call (0 before the first call)."""
        return self.answered / self.dialed if self.dialed else 0.0

    def __add__(self, other: PacingStats) -> PacingStats:
        return PacingStats(
            self.dialed + other.dialed, self.answered + other.answered, self.abandoned + other.abandoned
        )


def stats_of_outcomes(counts: Mapping[str, int]) -> PacingStats:
    """The pacing counts of ended calls given as ``{outcome value: calls}``: the one counting rule,
    applied by the host to the campaign counters over the window and to the calls ended since.
    An abandoned call is a live answer too."""
    abandoned = counts.get(Outcome.ABANDONED.value, 0)
    return PacingStats(
        dialed=sum(calls for outcome, calls in counts.items() if outcome not in NOT_CUSTOMER_CALLS),
        answered=counts.get(Outcome.ANSWERED.value, 0) + abandoned,
        abandoned=abandoned,
    )


def window_first_day(now: datetime) -> date:
    """The first day of the pacing window at ``now``: the counters count calls per UTC day, so the
    window is today and the days before it, :data:`PACING_WINDOW` in all (today included)."""
    return now.astimezone(timezone.utc).date() - timedelta(days=PACING_WINDOW.days - 1)


class PacingCount:
    """The calls of a campaign ended since its pacing counts were last read from the counters,
    counted as they are (:func:`stats_of_outcomes`), so that pacing reacts at once."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()

    def count(self, outcome: Outcome) -> None:
        self.outcomes[outcome.value] += 1

    def add_to(self, stats: PacingStats) -> PacingStats:
        return stats + stats_of_outcomes(self.outcomes)


class RollingStats:
    """Pacing counts over a sliding window, fed with finished customer calls in time order.

    For the long-running host, which would otherwise query the counts at every decision; amortised
    O(1) per call.
    """

    def __init__(self, window: timedelta) -> None:
        self.window = window
        self._calls: deque[tuple[datetime, bool, bool]] = deque()
        self._answered = 0
        self._abandoned = 0

    def record(self, at: datetime, *, answered: bool, abandoned: bool = False) -> None:
        """Count one finished customer call; an abandoned call is a live answer too."""
        answered = answered or abandoned
        self._calls.append((at, answered, abandoned))
        self._answered += answered
        self._abandoned += abandoned

    def stats(self, now: datetime) -> PacingStats:
        """The counts of the calls that ended within the window before ``now``."""
        oldest = now - self.window
        while self._calls and self._calls[0][0] <= oldest:
            _at, answered, abandoned = self._calls.popleft()
            self._answered -= answered
            self._abandoned -= abandoned
        return PacingStats(len(self._calls), self._answered, self._abandoned)


@dataclass(frozen=True)
class PacingPolicy:
    """A client-first campaign's overdial limits."""

    max_ratio: float = 3.0
    abandon_cap: float = 0.03
    near_cap: float = 0.8
    min_sample: int = 30

    def __post_init__(self) -> None:
        if self.max_ratio < 1:
            raise ValueError("the dial ratio cap cannot be below 1 (one call per ready agent)")
        if not 0 < self.abandon_cap < 1 or not 0 < self.near_cap <= 1:
            raise ValueError("the abandon cap and the near-cap fraction must be in (0, 1)")


def dial_ratio(stats: PacingStats, policy: PacingPolicy) -> float:
    """Calls in flight allowed per ready agent: > 1 only far enough from the abandon cap."""
    threshold = policy.abandon_cap * policy.near_cap
    if stats.abandon_rate >= threshold or stats.dialed < policy.min_sample or not stats.answered:
        return 1.0
    ideal = min(policy.max_ratio, 1.0 / stats.answer_rate)
    return 1.0 + (ideal - 1.0) * (1.0 - stats.abandon_rate / threshold)


def agent_first_dials(ready_agents: int, agents_being_rung: int = 0) -> int:
    """One originate per ready agent that no call is already ringing."""
    return max(0, ready_agents - agents_being_rung)


def client_first_dials(ready_agents: int, calls_in_flight: int, ratio: float) -> int:
    """New customer calls so that calls not yet with an agent stay within ``ready × ratio``."""
    return max(0, math.floor(ready_agents * ratio + 1e-9) - calls_in_flight)


def agents_held(calls_in_flight: int, ratio: float) -> int:
    """Ready agents that client-first calls not yet with an agent keep for themselves.

    The inverse of :func:`client_first_dials`: ``n`` ready agents may carry ``floor(n × ratio)``
    such calls, and those calls hold ``ceil(calls / ratio)`` agents, never more than ``n``. The
    ratio is at most ``1 / answer rate`` (:func:`dial_ratio`), so the calls' expected answers,
    ``calls × answer rate``, never exceed the agents held for them: the campaign's own pacing
    argument, which keeps its abandon rate under its cap, stays true when other campaigns share
    its agents, as long as none of them is given an agent held here. At 1:1 (before the answer
    rate is known, and near the cap) every call that may answer has its agent.
    """
    return max(0, math.ceil(calls_in_flight / ratio - 1e-9))


def share_round_robin(demands: Sequence[int], capacity: int, start: int = 0) -> list[int]:
    """Split ``capacity`` among demands fairly: equal shares, leftovers one each from ``start``.

    Rotating ``start`` between decisions gives every campaign its turn at the leftovers.
    """
    grants = [0] * len(demands)
    if not demands:
        return grants
    order = [(start + i) % len(demands) for i in range(len(demands))]
    active = [i for i in order if demands[i] > 0]
    while capacity > 0 and active:
        share = capacity // len(active)
        if share == 0:
            for i in active[:capacity]:
                grants[i] += 1
            break
        for i in active:
            given = min(share, demands[i] - grants[i])
            grants[i] += given
            capacity -= given
        active = [i for i in active if grants[i] < demands[i]]
    return grants


class TokenBucket:
    """Calls-per-second limit: ``rate`` tokens a second, at most ``burst`` saved up.

    Driven by the ``now`` of each decision (no clock read), so tests replay it exactly.
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("max calls per second must be positive")
        self.rate = rate
        self.burst = max(1.0, rate) if burst is None else burst
        self._tokens = self.burst
        self._updated: datetime | None = None

    def _refill(self, now: datetime) -> None:
        if self._updated is not None and now > self._updated:
            elapsed = (now - self._updated).total_seconds()
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        if self._updated is None or now > self._updated:
            self._updated = now

    def available(self, now: datetime) -> int:
        """Whole calls that may start at ``now``."""
        self._refill(now)
        return math.floor(self._tokens + 1e-9)

    def take(self, now: datetime, count: int) -> int:
        """Consume up to ``count`` tokens; returns how many were granted."""
        granted = min(count, self.available(now))
        self._tokens -= granted
        return granted

    def next_token_at(self, now: datetime) -> datetime:
        """When the next whole call may start (``now`` if one may already)."""
        if self.available(now):
            return now
        return now + timedelta(seconds=(1.0 - self._tokens) / self.rate)
