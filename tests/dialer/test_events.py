"""Folding AMI events into calls: sessions recorded against Asterisk 22 replayed, and the
client-first flow step by step."""

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from engine_builders import (
    AGENT_FIRST,
    CLIENT_FIRST,
    LOCAL_1,
    LOCAL_2,
    T0,
    TRUNK,
    UUID,
    agent,
    call,
    campaign,
    dest,
    server,
    steps,
    uuids,
)

from outbound_campaign.dialer.events import call_uuid_of, check_timeouts, fold_event
from outbound_campaign.dialer.outcomes import Outcome
from outbound_campaign.dialer.pacing import TokenBucket
from outbound_campaign.dialer.planning import TurnState, plan
from outbound_campaign.dialer.views import (
    CallState,
    CallView,
)

ROOT = Path(__file__).resolve().parents[2]


# The sessions recorded against Asterisk 22.10.1 (a copy of the shared reference).
TRANSCRIPTS = ROOT / "tests" / "data" / "ami-asterisk-22"


def replay_as_contract(name: str) -> list[dict[str, str]]:
    """A recorded session as our engine would see it under the contract: the originated channel
    named ``UUID`` (ChannelId), its Local half ``UUID-2`` (OtherChannelId), ActionID ``oc-UUID``."""
    messages, headers = [], {}
    for line in (TRANSCRIPTS / name).read_text(encoding="utf-8").splitlines():
        if not line.endswith("\\r\\n"):
            continue
        text = line[: -len("\\r\\n")]
        if text == "":
            if headers.get("Event"):
                messages.append(headers)
            headers = {}
        elif ":" in text:
            key, _sep, value = text.partition(":")
            headers.setdefault(key, value.strip())
    channels = [m for m in messages if m["Event"] == "Newchannel"]
    renames = {}
    if channels:
        first = channels[0]
        renames[first["Uniqueid"]] = UUID
        second_half = first["Channel"].rsplit(";", 1)[0] + ";2"
        renames |= {m["Uniqueid"]: f"{UUID}-2" for m in channels if m["Channel"] == second_half}
    rewritten = []
    for message in messages:
        values = {key: renames.get(value, value) for key, value in message.items()}
        if values.get("ActionID", "").startswith("orig-"):
            values["ActionID"] = f"oc-{UUID}"
        rewritten.append(values)
    return rewritten


def fold_all(call_view: CallView, events: list[dict[str, str]]):
    """Fold events one second apart from T0; returns the last transition and the result."""
    result = None
    for index, event in enumerate(events):
        if call_uuid_of(event) != call_view.uuid:
            continue
        transition = fold_event(call_view, event, T0 + timedelta(seconds=index))
        call_view = transition.call
        result = result or transition.result
    return call_view, result


@pytest.mark.parametrize(
    ("name", "campaign_type", "outcome", "reason", "cause", "dial_status", "dialled"),
    [
        ("02-agent-first-answered.txt", AGENT_FIRST, Outcome.ANSWERED, 4, 16, "ANSWER", True),
        ("03-client-busy.txt", CLIENT_FIRST, Outcome.BUSY, 5, None, None, True),
        ("04-client-no-answer-timeout.txt", CLIENT_FIRST, Outcome.NO_ANSWER, 3, 19, None, True),
        ("05-client-unallocated.txt", CLIENT_FIRST, Outcome.INVALID_NUMBER, 0, 1, None, True),
        ("06-client-congestion.txt", CLIENT_FIRST, Outcome.CONGESTION, 8, None, None, True),
        ("07-agent-first-client-no-answer.txt", AGENT_FIRST, Outcome.NO_ANSWER, 4, None, "NOANSWER", True),
        ("08-bad-channel-technology.txt", CLIENT_FIRST, Outcome.TRUNK_REFUSED, 0, None, None, False),
    ],
)
def test_replayed_sessions_end_with_their_outcome(
    name, campaign_type, outcome, reason, cause, dial_status, dialled
):
    queued = call(campaign_type=campaign_type, state=CallState.QUEUED, originated_at=None)
    events = replay_as_contract(name)
    final, result = fold_all(queued, events)
    if result is None:  # 08: a client-first failure with no channel waits for channel events first
        settled = check_timeouts(final, T0 + timedelta(minutes=1))
        final, result = settled.call, settled.result
    assert final.state is CallState.ENDED
    assert (result.outcome, result.reason, result.cause, result.dial_status) == (
        outcome,
        reason,
        cause,
        dial_status,
    )
    assert result.customer_dialled is dialled


def test_replayed_agent_first_answer_has_ring_and_talk_times():
    events = replay_as_contract("02-agent-first-answered.txt")
    queued = call(state=CallState.QUEUED, originated_at=None)
    _final, result = fold_all(queued, events)

    def index_of(kind: str, **headers) -> int:
        return next(
            i
            for i, e in enumerate(events)
            if e["Event"] == kind and all(e.get(k) == v for k, v in headers.items())
        )

    dial_begin = index_of("DialBegin", Uniqueid=UUID)
    dial_end = index_of("DialEnd", Uniqueid=UUID)
    hangup = index_of("Hangup", Uniqueid=UUID)
    assert result.ringing_at == T0 + timedelta(seconds=dial_begin)
    assert result.answered_at == result.connected_at == T0 + timedelta(seconds=dial_end)
    assert result.ended_at == T0 + timedelta(seconds=hangup)
    assert result.ring_seconds == dial_end - dial_begin
    assert result.talk_seconds == hangup - dial_end
    assert result.wait_seconds is None


def test_routing_events_to_calls():
    assert call_uuid_of({"Event": "UserEvent", "UserEvent": "OcWaiting", "Uuid": UUID}) == UUID
    assert (
        call_uuid_of({"Event": "OriginateResponse", "ActionID": f"oc-{UUID}", "Uniqueid": "<unknown>"})
        == UUID
    )
    assert call_uuid_of({"Response": "Success", "ActionID": f"oc-{UUID}-a"}) == UUID
    assert call_uuid_of({"Event": "Hangup", "Uniqueid": f"{UUID}-a", "Linkedid": f"{UUID}-a"}) == UUID
    assert call_uuid_of({"Event": "Hangup", "Uniqueid": "1795777980.10", "Linkedid": UUID.upper()}) == UUID
    assert call_uuid_of({"Event": "DialBegin", "DestUniqueid": f"{UUID};2"}) == UUID
    assert call_uuid_of({"Event": "Hangup", "Uniqueid": "1795777980.10", "Linkedid": "1795777980.10"}) is None
    assert call_uuid_of({"Response": "Success", "ActionID": "login-1"}) is None


def client_call(**kwargs) -> CallView:
    return call(
        **({"campaign_type": CLIENT_FIRST, "state": CallState.QUEUED, "originated_at": None} | kwargs)
    )


def test_client_first_answered_and_connected():
    queued = client_call()
    transitions = steps(
        queued,
        (0, {"Response": "Success", "ActionID": f"oc-{UUID}", "Message": "Originate successfully queued"}),
        (1, {"Event": "Newchannel", "Uniqueid": UUID, "Linkedid": UUID, "ChannelState": "0"}),
        (3, {"Event": "Newstate", "Uniqueid": UUID, "Linkedid": UUID, "ChannelState": "5"}),
        (9, {"Event": "OriginateResponse", "ActionID": f"oc-{UUID}", "Response": "Success", "Reason": "4"}),
        (
            11,
            {"Event": "UserEvent", "UserEvent": "OcWaiting", "Uuid": UUID, "Channel": "PJSIP/trunk-0000001a"},
        ),
    )
    waiting = transitions[-1].call
    assert [t.call.state for t in transitions] == [
        CallState.ORIGINATING,
        CallState.ORIGINATING,
        CallState.RINGING,
        CallState.ANSWERED,
        CallState.ANSWERED,
    ]
    assert waiting.customer_channel == "PJSIP/trunk-0000001a"
    (connect,) = plan(
        TurnState(T0, server(), [campaign(type=CLIENT_FIRST)], [agent(4)], [waiting], {}),
        TokenBucket(5),
        uuids(),
    ).connects
    transitions = steps(
        connect.call,
        (
            12,
            {"Event": "OriginateResponse", "ActionID": f"oc-{UUID}-a", "Response": "Success", "Reason": "4"},
        ),
        (12, {"Event": "BridgeEnter", "Uniqueid": f"{UUID}-a", "Linkedid": UUID}),
        (12, {"Event": "UserEvent", "UserEvent": "OcConnected", "Uuid": UUID}),
        (100, {"Event": "Hangup", "Uniqueid": UUID, "Linkedid": UUID, "Cause": "16"}),
    )
    result = transitions[-1].result
    assert [t.changed for t in transitions] == [True, True, False, True]
    assert result.outcome is Outcome.ANSWERED and result.agent_id == 4
    assert (result.ring_seconds, result.wait_seconds, result.talk_seconds) == (6.0, 3.0, 88.0)
    assert result.cause == 16


def test_client_first_abandon_by_the_dialplan():
    transitions = steps(
        client_call(),
        (0, {"Event": "OriginateResponse", "ActionID": f"oc-{UUID}", "Response": "Success", "Reason": "4"}),
        (1, {"Event": "UserEvent", "UserEvent": "OcWaiting", "Uuid": UUID, "Channel": "PJSIP/trunk-01"}),
        (3, {"Event": "UserEvent", "UserEvent": "OcAbandoned", "Uuid": UUID}),
        (
            4,
            {
                "Event": "UserEvent",
                "UserEvent": "OcCallEnd",
                "Uuid": UUID,
                "DialStatus": "",
                "Cause": "16",
                "Answered": str(int(T0.timestamp())),
                "Connected": "",
                "Ended": str(int(T0.timestamp()) + 4),
                "Abandoned": "1",
            },
        ),
        (4, {"Event": "Hangup", "Uniqueid": UUID, "Cause": "16"}),
    )
    result = transitions[3].result
    assert result.outcome is Outcome.ABANDONED
    assert (result.wait_seconds, result.talk_seconds) == (4.0, None)
    assert not transitions[4].changed  # the call had already ended


def test_customer_hanging_up_on_hold_is_an_abandon():
    transitions = steps(
        client_call(),
        (0, {"Event": "OriginateResponse", "ActionID": f"oc-{UUID}", "Response": "Success", "Reason": "4"}),
        (5, {"Event": "Hangup", "Uniqueid": UUID, "Cause": "16"}),
    )
    assert transitions[-1].result.outcome is Outcome.ABANDONED


def test_agent_missing_the_bridge_leg_puts_the_customer_back_in_the_queue():
    waiting = client_call(state=CallState.ANSWERED, answered_at=T0, customer_channel="PJSIP/trunk-01")
    sent = replace(waiting, agent_id=4, agent_leg_at=T0)
    (transition,) = steps(
        sent,
        (
            20,
            {"Event": "OriginateResponse", "ActionID": f"oc-{UUID}-a", "Response": "Failure", "Reason": "3"},
        ),
    )
    assert transition.agent_missed == 4
    assert transition.call.agent_id is None and transition.call.state is CallState.ANSWERED
    assert transition.result is None


def test_originate_refused_by_asterisk_is_failed_but_not_dialled():
    (transition,) = steps(
        client_call(), (0, {"Response": "Error", "ActionID": f"oc-{UUID}", "Message": "Permission denied"})
    )
    result = transition.result
    assert (result.outcome, result.customer_dialled, result.error) == (
        Outcome.FAILED,
        False,
        "Permission denied",
    )


def test_failed_originate_waits_for_its_hangup_then_settles():
    transitions = steps(
        client_call(),
        (0, {"Event": "Newchannel", "Uniqueid": UUID, "Linkedid": UUID, "ChannelState": "0"}),
        (1, {"Event": "OriginateResponse", "ActionID": f"oc-{UUID}", "Response": "Failure", "Reason": "0"}),
    )
    pending = transitions[-1].call
    assert pending.state is not CallState.ENDED
    assert not check_timeouts(pending, T0 + timedelta(seconds=5)).changed
    settled = check_timeouts(pending, T0 + timedelta(seconds=6))
    assert settled.result.outcome is Outcome.TRUNK_REFUSED  # nothing shows a dial to the customer
    assert settled.result.ended_at == T0 + timedelta(seconds=6)


def test_agent_first_agent_not_answering():
    transitions = steps(
        call(),
        (0, {"Event": "Newchannel", "Uniqueid": UUID, "Linkedid": UUID, "ChannelState": "0"}),
        (20, {"Event": "Hangup", "Uniqueid": UUID, "Linkedid": UUID, "Cause": "19"}),
        (20, {"Event": "OriginateResponse", "ActionID": f"oc-{UUID}", "Response": "Failure", "Reason": "3"}),
    )
    assert transitions[1].result is None  # waits for the reason
    result = transitions[2].result
    assert (result.outcome, result.customer_dialled, result.ring_seconds) == (
        Outcome.AGENT_NO_ANSWER,
        False,
        None,
    )


def test_client_first_connected_by_the_agent_bridge_context_events():
    """The events of the agent leg originated into oc-agent-bridge, as the simulator sends them."""
    waiting = call(
        campaign_type=CLIENT_FIRST,
        state=CallState.ANSWERED,
        answered_at=T0,
        customer_channel="PJSIP/trunk-0000001a",
    )
    (connect,) = plan(
        TurnState(T0, server(), [campaign(type=CLIENT_FIRST)], [agent(4)], [waiting], {}),
        TokenBucket(5),
        uuids(),
    ).connects
    assert connect.to_ami_headers()["Context"] == "oc-agent-bridge"
    agent_leg = {"Channel": "PJSIP/1004-00000002", "Uniqueid": f"{UUID}-a", "Linkedid": f"{UUID}-a"}
    transitions = steps(
        connect.call,
        (1, {"Response": "Success", "ActionID": f"oc-{UUID}-a", "Message": "Originate successfully queued"}),
        (5, {"Event": "Newstate", **agent_leg, "ChannelState": "6"}),
        (5, {"Event": "OriginateResponse", "ActionID": f"oc-{UUID}-a", "Response": "Success", "Reason": "4"}),
        (5, {"Event": "UserEvent", **agent_leg, "Context": "oc-agent-bridge", "UserEvent": "OcConnected",
             "Uuid": UUID}),
        (5, {"Event": "BridgeEnter", "Uniqueid": UUID, "Linkedid": UUID}),
        (5, {"Event": "BridgeEnter", **agent_leg}),
        (65, {"Event": "UserEvent", "UserEvent": "OcCallEnd", "Uuid": UUID, "DialStatus": "ANSWER",
              "Cause": "16", "Answered": str(int(T0.timestamp())),
              "Connected": str(int(T0.timestamp()) + 5), "Ended": str(int(T0.timestamp()) + 65),
              "Abandoned": "0"}),
    )  # fmt: skip
    assert transitions[3].call.state is CallState.CONNECTED
    result = transitions[-1].result
    assert result.outcome is Outcome.ANSWERED and result.agent_id == 4


def test_client_first_failed_originate_response_before_the_channel_events():
    """A real Asterisk sends the OriginateResponse itself but the channel events through its
    message bus: a loaded one delivers the failure of a call the customer refused at once before
    the events of the Local pair that dialled them. The call waits for them: busy, as Asterisk
    said, not a call the trunk refused."""
    transitions = steps(
        client_call(),
        (0, {"Event": "OriginateResponse", "ActionID": f"oc-{UUID}", "Response": "Failure", "Reason": "0"}),
        (0, {"Event": "Newchannel", **LOCAL_1, "ChannelState": "0"}),
        (0, {"Event": "Newchannel", **LOCAL_2, "ChannelState": "4"}),
        (0, {"Event": "DialBegin", **LOCAL_2, **dest(TRUNK), "DialString": "+33123456789@trunk"}),
        (0, {"Event": "Hangup", **TRUNK, "Cause": "17"}),
        (0, {"Event": "DialEnd", **LOCAL_2, **dest(TRUNK), "DialStatus": "BUSY"}),
        (0, {"Event": "Hangup", **LOCAL_2, "Cause": "17"}),
        (0, {"Event": "Hangup", **LOCAL_1, "Cause": "17"}),
    )
    assert transitions[0].result is None
    result = transitions[-1].result
    assert (result.outcome, result.dial_status, result.cause, result.customer_dialled) == (
        Outcome.BUSY,
        "BUSY",
        17,
        True,
    )


def test_client_first_busy_from_the_local_second_half_dial():
    transitions = steps(
        client_call(),
        (0, {"Event": "Newchannel", **LOCAL_1, "ChannelState": "0"}),
        (0, {"Event": "Newchannel", **LOCAL_2, "ChannelState": "4"}),
        (0, {"Event": "DialBegin", **LOCAL_2, **dest(TRUNK), "DialString": "+33123456789@trunk"}),
        (2, {"Event": "Hangup", **TRUNK, "Cause": "17"}),
        (2, {"Event": "DialEnd", **LOCAL_2, **dest(TRUNK), "DialStatus": "BUSY"}),
        (2, {"Event": "Hangup", **LOCAL_2, "Cause": "17"}),
        (2, {"Event": "Hangup", **LOCAL_1, "Cause": "17"}),
        (2, {"Event": "OriginateResponse", "ActionID": f"oc-{UUID}", "Response": "Failure", "Reason": "5"}),
    )
    assert transitions[1].call.customer_dialled is False  # a Local pair is not yet a dial
    assert transitions[2].call.state is CallState.RINGING and transitions[2].call.customer_dialled
    result = transitions[-1].result
    assert (result.outcome, result.dial_status, result.cause, result.customer_dialled) == (
        Outcome.BUSY,
        "BUSY",
        17,
        True,
    )


def test_client_first_answer_from_the_local_second_half_waits_for_an_agent():
    transitions = steps(
        client_call(),
        (0, {"Event": "DialBegin", **LOCAL_2, **dest(TRUNK)}),
        (3, {"Event": "DialEnd", **LOCAL_2, **dest(TRUNK), "DialStatus": "ANSWER"}),
        (3, {"Event": "OriginateResponse", "ActionID": f"oc-{UUID}", "Response": "Success", "Reason": "4"}),
        (4, {"Event": "UserEvent", "UserEvent": "OcWaiting", "Uuid": UUID, **LOCAL_1}),
    )
    assert [t.call.state for t in transitions] == [CallState.RINGING, *[CallState.ANSWERED] * 3]
    assert transitions[-1].call.customer_channel == LOCAL_1["Channel"]
    assert transitions[-1].result is None


def test_the_agent_legs_own_dialled_channel_is_not_the_customer():
    waiting = client_call(state=CallState.ANSWERED, answered_at=T0, customer_channel=LOCAL_1["Channel"])
    phone = {"Uniqueid": "1795778013.30", "Linkedid": f"{UUID}-a", "Cause": "21"}
    (transition,) = steps(waiting, (5, {"Event": "Hangup", **phone}))
    assert transition.call.cause is None


def test_an_event_that_says_nothing_new_leaves_the_call_as_it_is():
    """The very same call back, unchanged: a dialer folds a score of events a call, most of them
    repeating what it knows, and copies nothing for those."""
    newstate = {"Event": "Newstate", "Uniqueid": UUID, "Linkedid": UUID, "Channel": "PJSIP/2001-01"}
    first, repeated, answered = steps(
        call(),
        (1, newstate | {"ChannelState": "5"}),
        (2, newstate | {"ChannelState": "5"}),
        (3, newstate | {"ChannelState": "6"}),
    )
    assert first.changed and first.call.agent_channel == "PJSIP/2001-01"
    assert not repeated.changed and repeated.call is first.call
    assert answered.changed and answered.call.agent_answered_at == T0 + timedelta(seconds=3)
