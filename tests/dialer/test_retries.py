"""The contact's next step after a call; a leg the trunk refused charges no attempt (issue 9,
defect c)."""

from datetime import date, datetime, timedelta, timezone

import pytest
from engine_builders import (
    AGENT_FIRST,
    CLIENT_FIRST,
    LOCAL_1,
    LOCAL_2,
    MONDAY_1305,
    T0,
    TRUNK,
    UUID,
    call,
    campaign,
    contact,
    dest,
    steps,
)

from outbound_campaign.dialer.events import CallResult
from outbound_campaign.dialer.outcomes import CampaignType, Outcome
from outbound_campaign.dialer.retries import decide_retry
from outbound_campaign.dialer.schedule import ABANDON_NO_RECALL, CallingWindow
from outbound_campaign.dialer.views import (
    CallState,
    ContactState,
    RetryDelays,
)


def result_of(outcome: Outcome, ended_at: datetime = T0, dialled: bool = True) -> CallResult:
    ended = call(state=CallState.ENDED, ended_at=ended_at, outcome=outcome, customer_dialled=dialled)
    return CallResult.of(ended)


DELAYS = RetryDelays(busy=timedelta(minutes=10), no_answer=timedelta(hours=2), failed=timedelta(minutes=30))


@pytest.mark.parametrize(
    ("outcome", "state", "attempts", "next_at", "charged"),
    [
        (Outcome.ANSWERED, ContactState.DONE, 2, None, True),
        (Outcome.INVALID_NUMBER, ContactState.FAILED, 2, None, True),
        (Outcome.BUSY, ContactState.PENDING, 2, T0 + timedelta(minutes=10), True),
        (Outcome.NO_ANSWER, ContactState.PENDING, 2, T0 + timedelta(hours=2), True),
        (Outcome.CONGESTION, ContactState.PENDING, 2, T0 + timedelta(minutes=30), True),
        (Outcome.FAILED, ContactState.PENDING, 2, T0 + timedelta(minutes=30), True),
        (Outcome.AGENT_NO_ANSWER, ContactState.PENDING, 1, T0, False),
        (Outcome.UNKNOWN, ContactState.PENDING, 1, T0 + timedelta(minutes=30), False),
    ],
)
def test_retry_decisions(outcome, state, attempts, next_at, charged):
    decision = decide_retry(result_of(outcome), contact(1, attempts=1), campaign(retry_delays=DELAYS), T0)
    assert (decision.state, decision.attempts, decision.next_attempt_at, decision.charged) == (
        state,
        attempts,
        next_at,
        charged,
    )


def test_last_attempt_fails_the_contact_but_an_uncharged_outcome_does_not():
    limited = campaign(max_attempts=3)
    assert (
        decide_retry(result_of(Outcome.BUSY), contact(1, attempts=2), limited, T0).state
        is ContactState.FAILED
    )
    decision = decide_retry(result_of(Outcome.AGENT_NO_ANSWER), contact(1, attempts=3), limited, T0)
    assert decision.state is ContactState.PENDING


def test_nothing_dialled_charges_nothing():
    decision = decide_retry(
        result_of(Outcome.FAILED, dialled=False), contact(1, attempts=2), campaign(max_attempts=3), T0
    )
    assert (decision.state, decision.attempts, decision.charged) == (ContactState.PENDING, 2, False)


def test_abandoned_number_is_not_called_again_within_72_hours():
    client = campaign(type=CLIENT_FIRST, retry_delays=DELAYS)
    decision = decide_retry(result_of(Outcome.ABANDONED), contact(1), client, T0)
    assert decision.next_attempt_at == T0 + ABANDON_NO_RECALL
    assert decision.attempts == 1


def test_retry_lands_in_the_contacts_next_window():
    # busy at 20:55 in Paris: +10 min is past 21:00, so 08:00 the next morning
    evening = datetime(2025, 1, 6, 19, 55, tzinfo=timezone.utc)
    decision = decide_retry(
        result_of(Outcome.BUSY, evening), contact(1), campaign(retry_delays=DELAYS), evening
    )
    assert decision.next_attempt_at == datetime(2025, 1, 7, 7, 0, tzinfo=timezone.utc)


def test_retry_after_the_campaign_end_has_no_next_time():
    ending = campaign(retry_delays=DELAYS, window=CallingWindow(tz="Europe/Paris", date_end=date(2025, 1, 6)))
    evening = datetime(2025, 1, 6, 19, 55, tzinfo=timezone.utc)
    decision = decide_retry(result_of(Outcome.BUSY, evening), contact(1), ending, evening)
    assert (decision.state, decision.next_attempt_at) == (ContactState.PENDING, None)


def call_end_event(dial_status: str, cause: int, seconds: int) -> dict[str, str]:
    """The ``OcCallEnd`` of the dialplan's hangup handler for a call nobody answered."""
    ended = str(int(T0.timestamp()) + seconds)
    return {"Event": "UserEvent", "UserEvent": "OcCallEnd", "Uuid": UUID, "DialStatus": dial_status,
            "Cause": str(cause), "Answered": "", "Connected": "", "Ended": ended, "Abandoned": "0"}  # fmt: skip


def refused_by_trunk(campaign_type: CampaignType, dial_status: str, cause: int) -> CallResult:
    """What Asterisk reports when ``Dial()`` cannot place the customer's leg: no ``DialBegin``, no
    customer channel; ``Dial()`` passes the driver's cause on (3 for a PJSIP endpoint that does
    not exist, 66 for a channel driver that is not loaded, 16 for our dialplan's INVALIDARGS)."""
    if campaign_type is AGENT_FIRST:
        events = [
            (0, {"Event": "Newchannel", "Uniqueid": UUID, "Linkedid": UUID, "ChannelState": "0"}),
            (
                4,
                {
                    "Event": "OriginateResponse",
                    "ActionID": f"oc-{UUID}",
                    "Response": "Success",
                    "Reason": "4",
                },
            ),
            (4, call_end_event(dial_status, cause, 4)),
            (4, {"Event": "Hangup", "Uniqueid": UUID, "Linkedid": UUID, "Cause": str(cause)}),
        ]
    else:
        events = [
            (0, {"Event": "Newchannel", **LOCAL_1, "ChannelState": "0"}),
            (0, {"Event": "Newchannel", **LOCAL_2, "ChannelState": "4"}),
            (0, {"Event": "Hangup", **LOCAL_2, "Cause": str(cause)}),
            (0, {"Event": "Hangup", **LOCAL_1, "Cause": str(cause)}),
            (
                0,
                {
                    "Event": "OriginateResponse",
                    "ActionID": f"oc-{UUID}",
                    "Response": "Failure",
                    "Reason": "0",
                },
            ),
        ]
    queued = call(campaign_type=campaign_type, state=CallState.QUEUED, originated_at=None)
    results = [t.result for t in steps(queued, *events) if t.result is not None]
    assert len(results) == 1
    return results[0]


@pytest.mark.parametrize("campaign_type", [AGENT_FIRST, CLIENT_FIRST])
@pytest.mark.parametrize(
    ("dial_status", "cause"), [("CHANUNAVAIL", 3), ("CHANUNAVAIL", 66), ("INVALIDARGS", 16)]
)
def test_defect_c_a_leg_the_trunk_refused_charges_no_attempt_in_either_flow(
    campaign_type, dial_status, cause
):
    result = refused_by_trunk(campaign_type, dial_status, cause)
    assert (result.outcome, result.customer_dialled) == (Outcome.TRUNK_REFUSED, False)
    # the contact's last attempt: a charged one would fail it
    ended = result.ended_at
    decision = decide_retry(
        result, contact(1, attempts=2), campaign(max_attempts=3, retry_delays=DELAYS), ended
    )
    assert (decision.state, decision.attempts, decision.charged) == (ContactState.PENDING, 2, False)
    assert decision.next_attempt_at == ended + DELAYS.failed
    assert decision.last_outcome is Outcome.TRUNK_REFUSED


def test_defect_c_a_leg_that_was_placed_still_charges_its_attempt():
    """Agent first: Dial() began (the trunk took the call), then the network said the number does
    not exist: an attempt, and the number is invalid."""
    transitions = steps(
        call(state=CallState.QUEUED, originated_at=None),
        (4, {"Event": "OriginateResponse", "ActionID": f"oc-{UUID}", "Response": "Success", "Reason": "4"}),
        (4, {"Event": "DialBegin", "Uniqueid": UUID, "Linkedid": UUID, **dest(TRUNK)}),
        (
            6,
            {
                "Event": "DialEnd",
                "Uniqueid": UUID,
                "Linkedid": UUID,
                **dest(TRUNK),
                "DialStatus": "CHANUNAVAIL",
            },
        ),
        (6, call_end_event("CHANUNAVAIL", 3, 6)),
    )
    result = transitions[-1].result
    assert (result.outcome, result.customer_dialled) == (Outcome.INVALID_NUMBER, True)
    assert decide_retry(result, contact(1), campaign(), result.ended_at).charged


def test_defect_c_a_trunk_refusing_every_call_does_not_make_the_dialer_spin():
    """With no failure delay at all, a refused contact still waits before it is dialled again."""
    no_delay = campaign(retry_delays=RetryDelays(failed=timedelta(0)))
    result = refused_by_trunk(AGENT_FIRST, "CHANUNAVAIL", 3)
    decision = decide_retry(result, contact(1), no_delay, result.ended_at)
    assert decision.next_attempt_at >= result.ended_at + timedelta(minutes=5)
    # an agent's miss, an Originate lost with the link: no such loop, they keep their delay
    ready_again = decide_retry(result_of(Outcome.AGENT_NO_ANSWER, dialled=False), contact(1), no_delay, T0)
    assert ready_again.next_attempt_at == T0
    link_lost = decide_retry(result_of(Outcome.FAILED, dialled=False), contact(1), no_delay, T0)
    assert link_lost.next_attempt_at == T0


def test_defect_d_a_retry_lands_in_the_contacts_own_window():
    busy = result_of(Outcome.BUSY, MONDAY_1305)
    decision = decide_retry(
        busy, contact(1, "+12125550100", tz="America/Los_Angeles"), campaign(), MONDAY_1305
    )
    assert decision.next_attempt_at == datetime(2025, 1, 6, 16, 0, tzinfo=timezone.utc)
