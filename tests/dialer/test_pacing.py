"""Pacing: per-agent counts, the abandon-rate taper, server limits, and a client-first simulation."""

import heapq
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import pytest

from outbound_campaign.dialer.outcomes import Outcome
from outbound_campaign.dialer.pacing import (
    PacingCount,
    PacingPolicy,
    PacingStats,
    RollingStats,
    TokenBucket,
    agent_first_dials,
    agents_held,
    client_first_dials,
    dial_ratio,
    share_round_robin,
    window_first_day,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)


def test_agent_first_one_call_per_ready_agent_not_being_rung():
    assert agent_first_dials(5) == 5
    assert agent_first_dials(5, agents_being_rung=2) == 3
    assert agent_first_dials(1, agents_being_rung=3) == 0


def test_client_first_fills_ready_agents_times_ratio():
    assert client_first_dials(4, 0, 1.0) == 4
    assert client_first_dials(4, 3, 2.5) == 7  # floor(10) - 3
    assert client_first_dials(3, 0, 1.0 / 0.3) == 10  # 3 × 3.333 = 9.9999 → 10, not 9
    assert client_first_dials(2, 9, 3.0) == 0


@pytest.mark.parametrize("ratio", [1.0, 1.2, 1.5, 2.0, 2.5, 1.0 / 0.3, 3.0])
def test_defect_a_calls_in_flight_hold_the_agents_their_answers_may_need(ratio):
    """The calls pacing lets ``n`` agents carry hold those ``n`` agents, no more (else a shared
    campaign would starve the others), and never fewer than their expected answers (calls ×
    answer rate, the answer rate being at most 1 / ratio)."""
    for agents in range(40):
        calls = client_first_dials(agents, 0, ratio)
        assert agents_held(calls, ratio) <= agents
        for in_flight in range(calls + 1):
            assert agents_held(in_flight, ratio) >= in_flight / ratio - 1e-9
    assert agents_held(3, 1.0) == 3  # 1:1: every call that may answer has its agent
    assert agents_held(0, 2.5) == 0


def test_ratio_is_one_to_one_until_the_answer_rate_is_known():
    policy = PacingPolicy(max_ratio=3.0, min_sample=30)
    assert dial_ratio(PacingStats(dialed=29, answered=9), policy) == 1.0
    assert dial_ratio(PacingStats(dialed=0), policy) == 1.0
    assert dial_ratio(PacingStats(dialed=40, answered=0), policy) == 1.0


def test_ratio_follows_answer_rate_bounded_by_cap():
    policy = PacingPolicy(max_ratio=3.0)
    assert dial_ratio(PacingStats(dialed=100, answered=50), policy) == pytest.approx(2.0)
    assert dial_ratio(PacingStats(dialed=100, answered=20), policy) == pytest.approx(3.0)  # 5 → 3
    assert dial_ratio(PacingStats(dialed=100, answered=100), policy) == pytest.approx(1.0)


def test_ratio_tapers_to_one_near_the_abandon_cap():
    policy = PacingPolicy(max_ratio=3.0, abandon_cap=0.03, near_cap=0.8)  # 1:1 from 2.4 %
    far = PacingStats(dialed=1000, answered=500, abandoned=0)
    half = PacingStats(dialed=1000, answered=500, abandoned=6)  # 1.2 % = half the threshold
    near = PacingStats(dialed=1000, answered=500, abandoned=12)  # 2.4 %
    over = PacingStats(dialed=1000, answered=500, abandoned=20)  # 4 %
    assert dial_ratio(far, policy) == pytest.approx(2.0)
    assert dial_ratio(half, policy) == pytest.approx(1.5)
    assert dial_ratio(near, policy) == 1.0
    assert dial_ratio(over, policy) == 1.0


def test_policy_refuses_a_ratio_below_one():
    with pytest.raises(ValueError):
        PacingPolicy(max_ratio=0.5)


def test_the_window_is_thirty_utc_days_today_included():
    assert window_first_day(T0) == date(2025, 2, 2)
    # 00:30 in Paris on the 3rd is still the 2nd in UTC, the day the counters count it on
    assert window_first_day(datetime(2025, 3, 3, 0, 30, tzinfo=timezone(timedelta(hours=1)))) == date(
        2025, 2, 1
    )


def test_calls_ended_since_the_last_read_count_as_the_counters_do():
    since = PacingCount()
    for outcome in (
        Outcome.ANSWERED,
        Outcome.ABANDONED,
        Outcome.BUSY,
        Outcome.AGENT_NO_ANSWER,
        Outcome.UNKNOWN,
    ):
        since.count(outcome)
    # an abandon is a live answer too; the agent's miss and the unknown fate are no customer call
    assert since.add_to(PacingStats(10, 4, 1)) == PacingStats(13, 6, 2)


def test_rolling_stats_forget_calls_older_than_the_window():
    rolling = RollingStats(timedelta(hours=24))  # Ofcom's window
    rolling.record(T0, answered=True, abandoned=True)
    rolling.record(T0 + timedelta(hours=1), answered=True)
    rolling.record(T0 + timedelta(hours=2), answered=False)
    assert rolling.stats(T0 + timedelta(hours=3)) == PacingStats(3, 2, 1)
    assert rolling.stats(T0 + timedelta(hours=24, minutes=30)) == PacingStats(2, 1, 0)
    assert rolling.stats(T0 + timedelta(days=3)) == PacingStats(0, 0, 0)


def test_share_round_robin_is_fair_and_rotates_leftovers():
    assert share_round_robin([10, 10, 10], 7, start=0) == [3, 2, 2]
    assert share_round_robin([10, 10, 10], 7, start=1) == [2, 3, 2]
    assert share_round_robin([1, 10, 10], 9, start=0) == [1, 4, 4]  # unused share redistributed
    assert share_round_robin([0, 5], 9) == [0, 5]
    assert share_round_robin([4, 4], 0) == [0, 0]
    assert share_round_robin([], 3) == []


def test_token_bucket_limits_calls_per_second():
    bucket = TokenBucket(rate=2.0, burst=2.0)
    assert bucket.take(T0, 5) == 2
    assert bucket.take(T0, 1) == 0
    assert bucket.next_token_at(T0) == T0 + timedelta(seconds=0.5)
    assert bucket.take(T0 + timedelta(milliseconds=499), 1) == 0
    assert bucket.take(T0 + timedelta(milliseconds=500), 3) == 1
    assert bucket.available(T0 + timedelta(seconds=60)) == 2  # never more than the burst


def test_token_bucket_slower_than_one_call_a_second():
    bucket = TokenBucket(rate=0.5)
    assert bucket.take(T0, 3) == 1
    assert bucket.available(T0 + timedelta(seconds=1)) == 0
    assert bucket.available(T0 + timedelta(seconds=2)) == 1


# --- simulation ---------------------------------------------------------------------------------


@dataclass
class Simulation:
    """2,000 client-first calls, 30 % answered, random ring and talk times, ``agents`` agents.

    Calls ring 4-20 s; an answered call waits at most ``max_wait`` s for an agent, then is
    abandoned; talks last 20-120 s plus 5 s of wrap-up. The dialer decides every 0.5 s.
    """

    agents: int
    policy: PacingPolicy
    fixed_ratio: float | None = None
    total_calls: int = 2000
    answer_rate: float = 0.3
    max_wait: float = 2.0
    seed: int = 20250303
    ratios_far_from_cap: list[float] = field(default_factory=list)
    peak_in_flight_per_agent: float = 0.0

    def run(self) -> PacingStats:
        rng = random.Random(self.seed)
        stats = RollingStats(timedelta(days=30))
        events: list[tuple[float, int, str]] = []  # (time, sequence, kind)
        sequence = 0
        free_agents = self.agents
        ringing = 0
        waiting: list[float] = []  # give-up times of answered calls without an agent
        placed = 0
        now = 0.0

        def at(seconds: float) -> datetime:
            return T0 + timedelta(seconds=seconds)

        def push(when: float, kind: str) -> None:
            nonlocal sequence
            sequence += 1
            heapq.heappush(events, (when, sequence, kind))

        while placed < self.total_calls or events or waiting:
            while events and events[0][0] <= now:
                _when, _seq, kind = heapq.heappop(events)
                if kind == "answer":
                    ringing -= 1
                    waiting.append(now + self.max_wait)
                elif kind == "no_answer":
                    ringing -= 1
                    stats.record(at(now), answered=False)
                elif kind == "agent_free":
                    free_agents += 1
            waiting.sort()
            while waiting and free_agents:
                waiting.pop(0)
                free_agents -= 1
                stats.record(at(now), answered=True)
                push(now + rng.uniform(20, 120) + 5, "agent_free")
            while waiting and waiting[0] <= now:
                waiting.pop(0)
                stats.record(at(now), answered=True, abandoned=True)
            current = stats.stats(at(now))
            ratio = self.fixed_ratio or dial_ratio(current, self.policy)
            if (
                current.dialed >= self.policy.min_sample
                and current.abandon_rate < self.policy.abandon_cap / 2
            ):
                self.ratios_far_from_cap.append(ratio)
            in_flight = ringing + len(waiting)
            dials = min(client_first_dials(free_agents, in_flight, ratio), self.total_calls - placed)
            for _ in range(dials):
                placed += 1
                ringing += 1
                if rng.random() < self.answer_rate:
                    push(now + rng.uniform(4, 15), "answer")
                else:
                    push(now + rng.uniform(4, 20), "no_answer")
            if free_agents:
                self.peak_in_flight_per_agent = max(
                    self.peak_in_flight_per_agent, (ringing + len(waiting)) / free_agents
                )
            now += 0.5
        return stats.stats(at(now))


@pytest.mark.parametrize("agents", [5, 20])
def test_client_first_simulation_stays_under_the_abandon_cap_while_overdialling(agents):
    policy = PacingPolicy(max_ratio=3.0, abandon_cap=0.03)
    simulation = Simulation(agents=agents, policy=policy)
    final = simulation.run()
    assert final.dialed == 2000
    assert 0.25 < final.answer_rate < 0.35
    assert final.abandon_rate < 0.03
    far = simulation.ratios_far_from_cap
    assert len(far) > 100
    assert sum(far) / len(far) > 1.5  # it does overdial while far from the cap
    assert simulation.peak_in_flight_per_agent > 2


def test_same_simulation_without_abandon_control_breaks_the_cap():
    """The control above is what keeps the rate down: a fixed 3:1 ratio abandons far more."""
    simulation = Simulation(agents=5, policy=PacingPolicy(), fixed_ratio=3.0)
    assert simulation.run().abandon_rate > 0.06
