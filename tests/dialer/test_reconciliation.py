"""Settling the calls in flight after a reconnect, from the channels still up and the records
the dialplan left in AstDB."""

from datetime import timedelta

import pytest
from engine_builders import (
    AGENT_FIRST,
    CLIENT_FIRST,
    LOCAL_1,
    LOCAL_2,
    T0,
    UUID,
    agent,
    call,
    campaign,
    contact,
    server,
    uuids,
)

from outbound_campaign.dialer.outcomes import Outcome
from outbound_campaign.dialer.pacing import TokenBucket
from outbound_campaign.dialer.planning import TurnState, plan
from outbound_campaign.dialer.reconciliation import reconcile
from outbound_campaign.dialer.retries import decide_retry
from outbound_campaign.dialer.views import (
    CallState,
)


def test_reconcile_after_a_reconnect():
    up = call(uuid="c0ffee00-0000-4000-8000-000000000001")
    recorded = call(uuid="c0ffee00-0000-4000-8000-000000000002", agent_id=3, state=CallState.RINGING)
    young = call(uuid="c0ffee00-0000-4000-8000-000000000003", originated_at=T0 + timedelta(minutes=4))
    lost = call(uuid="c0ffee00-0000-4000-8000-000000000004", originated_at=None)
    garbled = call(uuid="c0ffee00-0000-4000-8000-000000000005")
    channels = [
        {"Event": "CoreShowChannel", "Uniqueid": "1795778035.26", "Linkedid": up.uuid},
        {"Event": "CoreShowChannel", "Uniqueid": "1795778035.27", "Linkedid": "1795778035.26"},
    ]
    start = int(T0.timestamp())
    astdb = {
        recorded.uuid: f"dialstatus=ANSWER;cause=16;answered={start + 10};connected={start + 10};"
        f"ended={start + 70};abandoned=0",
        young.uuid: None,
        garbled.uuid: "ANSWER|16|37",
    }
    now = T0 + timedelta(minutes=5)
    settled = {r.call.uuid: r for r in reconcile(now, [up, recorded, young, lost, garbled], channels, astdb)}
    assert settled[up.uuid].status == "up" and settled[up.uuid].result is None
    done = settled[recorded.uuid].result
    assert (done.outcome, done.ended_at, done.talk_seconds) == (
        Outcome.ANSWERED,
        T0 + timedelta(seconds=70),
        60.0,
    )
    assert settled[young.uuid].status == "pending"
    assert settled[lost.uuid].result.outcome is Outcome.UNKNOWN
    assert settled[garbled.uuid].result.outcome is Outcome.UNKNOWN
    assert settled[garbled.uuid].call.state is CallState.ENDED


@pytest.mark.parametrize(("connected", "outcome"), [("+10", Outcome.ANSWERED), ("", Outcome.ABANDONED)])
def test_reconcile_reads_the_client_first_connection_from_the_record(connected, outcome):
    """oc-agent-bridge stamps SHARED(OC_CONNECTED) on the customer: without it, a connected call
    found only in AstDB after a lost connection would be misread as abandoned."""
    waiting = call(campaign_type=CLIENT_FIRST, state=CallState.ANSWERED, agent_id=4, answered_at=T0)
    start = int(T0.timestamp())
    stamp = str(start + 10) if connected else ""
    record = f"dialstatus=ANSWER;cause=16;answered={start};connected={stamp};ended={start + 70};abandoned=0"
    (settled,) = reconcile(T0 + timedelta(minutes=5), [waiting], [], {UUID: record})
    assert settled.result.outcome is outcome


@pytest.mark.parametrize(
    ("record", "outcome", "dialled"),
    [
        ("dialstatus=BUSY;cause=17;answered=;ended={end}", Outcome.BUSY, True),
        ("dialstatus=NOANSWER;cause=19;answered=;ended={end}", Outcome.NO_ANSWER, True),
        ("dialstatus=CONGESTION;cause=34;answered=;ended={end}", Outcome.CONGESTION, True),
        ("dialstatus=CHANUNAVAIL;cause=1;answered=;ended={end}", Outcome.INVALID_NUMBER, True),
        ("dialstatus=CHANUNAVAIL;cause=27;answered=;ended={end}", Outcome.TRUNK_REFUSED, False),
        ("dialstatus=CHANUNAVAIL;cause=3;answered=;ended={end}", Outcome.TRUNK_REFUSED, False),
        ("dialstatus=INVALIDARGS;cause=16;answered=;ended={end}", Outcome.TRUNK_REFUSED, False),
        ("dialstatus=ANSWER;cause=16;answered={end};ended={end}", Outcome.ABANDONED, True),
    ],
)
def test_reconcile_a_client_first_call_from_its_dial_record_alone(record, outcome, dialled):
    """The link was down when the OriginateResponse came: only the ;2 half's record tells."""
    ringing = call(campaign_type=CLIENT_FIRST, state=CallState.RINGING)
    end = int(T0.timestamp()) + 20
    astdb = {UUID: None, f"{UUID}-dial": record.format(end=end)}
    (settled,) = reconcile(T0 + timedelta(minutes=5), [ringing], [], astdb)
    assert settled.status == "ended"
    assert (settled.result.outcome, settled.result.customer_dialled) == (outcome, dialled)
    assert settled.result.ended_at == T0 + timedelta(seconds=20)
    decision = decide_retry(
        settled.result, contact(1), campaign(type=CLIENT_FIRST), T0 + timedelta(minutes=5)
    )
    assert decision.charged is dialled


def test_reconcile_prefers_the_main_record_of_an_answered_client_first_call():
    answered = call(campaign_type=CLIENT_FIRST, state=CallState.RINGING)
    start = int(T0.timestamp())
    astdb = {
        UUID: f"dialstatus=ANSWER;cause=16;answered={start};connected={start + 5};ended={start + 60};abandoned=0",
        f"{UUID}-dial": f"dialstatus=ANSWER;cause=16;answered={start};ended={start + 60}",
    }
    (settled,) = reconcile(T0 + timedelta(minutes=5), [answered], [], astdb)
    assert settled.result.outcome is Outcome.ANSWERED and settled.result.talk_seconds == 55.0


def test_reconcile_finds_a_client_first_customer_waiting_on_hold():
    """OcWaiting was lost with the link: the ;1 half up in MusicOnHold says the customer waits."""
    dialling = call(campaign_type=CLIENT_FIRST, state=CallState.RINGING)
    channels = [
        {
            "Event": "CoreShowChannel",
            **LOCAL_1,
            "ChannelState": "6",
            "Exten": "s",
            "Application": "MusicOnHold",
        },
        {"Event": "CoreShowChannel", **LOCAL_2, "ChannelState": "6", "Exten": "s", "Application": "Dial"},
    ]
    (settled,) = reconcile(T0 + timedelta(seconds=30), [dialling], channels, {})
    assert settled.status == "up"
    waiting = settled.call
    assert (waiting.state, waiting.customer_channel) == (CallState.ANSWERED, LOCAL_1["Channel"])
    (connect,) = plan(
        TurnState(T0, server(), [campaign(type=CLIENT_FIRST)], [agent(4)], [waiting], {}),
        TokenBucket(5),
        uuids(),
    ).connects
    assert connect.to_ami_headers()["Variable"].endswith(f"OC_CUSTOMER={LOCAL_1['Channel']}")


def test_reconcile_gives_back_its_channel_to_a_waiting_customer_restored_after_a_restart():
    """Restored from the database (answered, no channel known): found on hold, it gets an agent."""
    restored = call(campaign_type=CLIENT_FIRST, state=CallState.ANSWERED, answered_at=T0)
    channels = [
        {
            "Event": "CoreShowChannel",
            **LOCAL_1,
            "ChannelState": "6",
            "Exten": "s",
            "Application": "MusicOnHold",
        }
    ]
    (settled,) = reconcile(T0 + timedelta(seconds=30), [restored], channels, {})
    assert (settled.status, settled.call.customer_channel) == ("up", LOCAL_1["Channel"])
    (connect,) = plan(
        TurnState(T0, server(), [campaign(type=CLIENT_FIRST)], [agent(4)], [settled.call], {}),
        TokenBucket(5),
        uuids(),
    ).connects
    assert connect.call.uuid == restored.uuid


@pytest.mark.parametrize(
    ("exten", "application", "waiting"),
    [
        ("s", "Playback", True),
        ("s", "MusicOnHold", True),
        ("abandoned", "Playback", False),
        ("s", "Set", False),
    ],
)
def test_defect_k_reconcile_finds_a_customer_hearing_the_hold_message(exten, application, waiting):
    """The customer waits from the answer on (OcWaiting, then the hold message): found in
    Playback in ``s`` it is waiting; in Playback in ``abandoned`` it is hearing the abandon
    message and waits no more."""
    dialling = call(campaign_type=CLIENT_FIRST, state=CallState.RINGING)
    channels = [
        {
            "Event": "CoreShowChannel",
            **LOCAL_1,
            "ChannelState": "6",
            "Exten": exten,
            "Application": application,
        }
    ]
    (settled,) = reconcile(T0 + timedelta(seconds=30), [dialling], channels, {})
    assert settled.status == "up"
    assert (settled.call.state is CallState.ANSWERED) is waiting
    assert settled.call.customer_channel == (LOCAL_1["Channel"] if waiting else None)


@pytest.mark.parametrize(
    "record",
    ["dialstatus=CHANUNAVAIL;cause=3;answered=;ended={end}", "dialstatus=INVALIDARGS;cause=16;ended={end}"],
)
@pytest.mark.parametrize("campaign_type", [AGENT_FIRST, CLIENT_FIRST])
def test_defect_c_the_same_rule_reads_the_astdb_record_after_a_lost_link(campaign_type, record):
    ringing = call(campaign_type=campaign_type, state=CallState.RINGING)
    value = record.format(end=int(T0.timestamp()) + 20)
    astdb = {UUID: value} if campaign_type is AGENT_FIRST else {UUID: None, f"{UUID}-dial": value}
    (settled,) = reconcile(T0 + timedelta(minutes=5), [ringing], [], astdb)
    assert (settled.result.outcome, settled.result.customer_dialled) == (Outcome.TRUNK_REFUSED, False)
