"""What becomes of an agent when a call ends: wrap-up, ready, a miss, paused at the second."""

from datetime import datetime, timedelta, timezone

import pytest

from outbound_campaign.dialer.agent_state import after_call, after_miss, missed_by_agent
from outbound_campaign.dialer.outcomes import Outcome

T0 = datetime(2025, 1, 6, 10, 0, tzinfo=timezone.utc)


def test_a_call_the_agent_took_ends_in_wrap_up_keeping_the_call():
    decided = after_call(4, connected=True, ended_at=T0, wrap_up=timedelta(seconds=30))
    assert (decided.state, decided.wrap_up_until, decided.keeps_call) == (
        "wrap_up",
        T0 + timedelta(seconds=30),
        True,
    )
    assert decided.missed_in_a_row is None, "the count was reset when the agent answered"


@pytest.mark.parametrize(("connected", "wrap_up"), [(False, 30), (True, 0)])
def test_no_customer_or_no_wrap_up_time_is_ready_at_once(connected, wrap_up):
    decided = after_call(4, connected=connected, ended_at=T0, wrap_up=timedelta(seconds=wrap_up))
    assert (decided.state, decided.wrap_up_until, decided.keeps_call) == ("ready", None, False)


def test_the_first_miss_leaves_the_agent_ready_the_second_in_a_row_pauses():
    first = after_miss(4, 0)
    assert (first.state, first.missed_in_a_row) == ("ready", 1)
    second = after_miss(4, first.missed_in_a_row)
    assert (second.state, second.missed_in_a_row) == ("paused", 2)


@pytest.mark.parametrize(
    ("outcome", "reason", "missed"),
    [
        (Outcome.AGENT_NO_ANSWER, 3, True),
        (Outcome.AGENT_NO_ANSWER, 5, True),
        (Outcome.AGENT_NO_ANSWER, 0, False),  # Asterisk tore it down: says nothing of the agent
        (Outcome.AGENT_NO_ANSWER, 1, False),
        (Outcome.NO_ANSWER, 4, False),  # the customer did not answer, the agent did
    ],
)
def test_what_counts_as_the_agents_miss(outcome, reason, missed):
    assert missed_by_agent(outcome, reason) is missed
