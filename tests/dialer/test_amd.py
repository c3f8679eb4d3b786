"""Answering-machine detection in the engine: the settings, what AMD() said, the outcomes it
gives, their retries, pacing that never counts a machine as a live answer, and the record the
dialplan leaves in AstDB (lossless across a restart)."""

from dataclasses import replace
from datetime import timedelta

import pytest
from engine_builders import AGENT_FIRST, CLIENT_FIRST, T0, UUID, call, campaign, contact, server, steps, uuids

from outbound_campaign.dialer.agent_state import READY, WRAP_UP, after_call
from outbound_campaign.dialer.amd import BOUNDS, AmdSettings, MachineAction, is_machine
from outbound_campaign.dialer.events import CallResult
from outbound_campaign.dialer.orders import originate_order
from outbound_campaign.dialer.outcomes import (
    CallEndRecord,
    Outcome,
    classify,
    format_astdb_value,
    parse_astdb_value,
)
from outbound_campaign.dialer.pacing import PacingCount, TokenBucket, stats_of_outcomes
from outbound_campaign.dialer.planning import TurnState, plan
from outbound_campaign.dialer.reconciliation import reconcile
from outbound_campaign.dialer.retries import decide_retry
from outbound_campaign.dialer.rules import RuleError
from outbound_campaign.dialer.views import AgentView, CallState, ContactState, RetryDelays

ANSWER = {"Event": "OriginateResponse", "ActionID": f"oc-{UUID}", "Response": "Success", "Reason": "4"}
MACHINE_EVENT = {
    "Event": "UserEvent",
    "UserEvent": "OcMachine",
    "Uuid": UUID,
    "AmdStatus": "MACHINE",
    "AmdCause": "LONGGREETING-1520-1500",
}


def call_end(**extra):
    ended = str(int(T0.timestamp()) + 9)
    headers = {"Event": "UserEvent", "UserEvent": "OcCallEnd", "Uuid": UUID, "DialStatus": "ANSWER"}
    headers |= {"Cause": "16", "Answered": str(int(T0.timestamp())), "Ended": ended, "Abandoned": "0"}
    return headers | extra


def client_call(**kwargs):
    return call(
        **({"campaign_type": CLIENT_FIRST, "state": CallState.QUEUED, "originated_at": None} | kwargs)
    )


def test_settings_have_asterisks_defaults_and_refuse_values_out_of_bounds():
    settings = AmdSettings(enabled=True)
    assert (settings.initial_silence, settings.greeting, settings.total_analysis) == (2500, 1500, 5000)
    for name, bound in BOUNDS.items():
        with pytest.raises(ValueError, match=name):
            AmdSettings(**{name: bound.least - 1})
        with pytest.raises(ValueError, match=name):
            AmdSettings(**{name: bound.greatest + 1})
    with pytest.raises(ValueError, match="shorter"):
        AmdSettings(greeting=4000, total_analysis=3000)


def test_leaving_a_message_needs_a_sound_name():
    with pytest.raises(RuleError):
        AmdSettings(enabled=True, on_machine=MachineAction.MESSAGE).check_dialable()
    with pytest.raises(RuleError):
        AmdSettings(enabled=True, on_machine="message", message="../etc/passwd").check_dialable()
    AmdSettings(enabled=True, on_machine="message", message="outbound/drop").check_dialable()
    AmdSettings(on_machine="message").check_dialable()  # detection off: nothing is left
    with pytest.raises(RuleError):
        AmdSettings(message="a b").check_dialable()  # the agent's Leave message would play it
    with pytest.raises(RuleError):
        campaign(amd=AmdSettings(enabled=True, on_machine="message", message="a,b")).check_dialable()


def test_detection_runs_in_client_first_and_only_on_request_in_agent_first():
    on = AmdSettings(enabled=True, on_machine="message", message="outbound/drop")
    assert on.runs(CLIENT_FIRST) and not on.runs(AGENT_FIRST)
    assert replace(on, agent_first=True).runs(AGENT_FIRST)
    assert not AmdSettings().runs(CLIENT_FIRST)
    # the agent's Leave message plays the message in agent first, detection or not
    assert on.variables(AGENT_FIRST) == {"OC_MACHINE_MSG": "outbound/drop"}


def test_the_originate_carries_the_settings_to_the_dialplan():
    settings = AmdSettings(enabled=True, initial_silence=2000, greeting=1200, total_analysis=4000)
    order = originate_order(T0, server(), campaign(type=CLIENT_FIRST, amd=settings), contact(1), None, UUID)
    variables = order.to_ami_headers()["Variable"]
    assert "OC_AMD=1,OC_AMD_INITIAL_SILENCE=2000,OC_AMD_GREETING=1200,OC_AMD_TOTAL=4000" in variables
    assert "OC_MACHINE_ACTION=hangup" in variables
    plain = originate_order(T0, server(), campaign(type=CLIENT_FIRST), contact(1), None, UUID)
    assert "OC_AMD" not in plain.to_ami_headers()["Variable"]


@pytest.mark.parametrize(
    ("status", "machine"),
    [("MACHINE", True), ("NOTSURE", False), ("HUMAN", False), ("HANGUP", False), (None, False)],
)
def test_only_machine_is_a_machine_notsure_is_a_person(status, machine):
    assert is_machine(status) is machine


def test_a_machine_is_neither_an_answer_nor_an_abandon():
    assert classify(CLIENT_FIRST, reason=4, answered=True, machine=True) is Outcome.MACHINE
    assert classify(CLIENT_FIRST, reason=4, answered=True, abandoned=True, machine=True) is Outcome.MACHINE
    assert classify(CLIENT_FIRST, reason=4, answered=True, machine=True, message_left=True) is (
        Outcome.MACHINE_MESSAGE_LEFT
    )
    # agent first: the agent's Leave message after the customer answered
    assert classify(AGENT_FIRST, reason=4, dial_status="ANSWER", connected=True, message_left=True) is (
        Outcome.MACHINE_MESSAGE_LEFT
    )


def test_client_first_machine_from_the_events_never_gets_an_agent():
    answered, machine = steps(client_call(), (0, ANSWER), (3, MACHINE_EVENT))
    assert machine.call.amd_status == "MACHINE" and machine.call.state is CallState.ANSWERED
    waiting = replace(machine.call, customer_channel="Local/s@oc-client-dial-0000000a;1")
    agent = AgentView(4, "PJSIP/1004", frozenset({7}), T0)
    state = TurnState(T0, server(), [campaign(type=CLIENT_FIRST)], [agent], [waiting], {})
    assert plan(state, TokenBucket(5), uuids()).connects == ()
    person = replace(waiting, amd_status="NOTSURE")
    state = replace(state, calls=[person])
    assert len(plan(state, TokenBucket(5), uuids()).connects) == 1
    assert answered.changed


def test_client_first_machine_ends_as_machine_or_message_left():
    *_, end = steps(client_call(), (0, ANSWER), (3, MACHINE_EVENT), (9, call_end(AmdStatus="MACHINE")))
    assert end.result.outcome is Outcome.MACHINE
    assert (end.result.amd_status, end.result.amd_cause) == ("MACHINE", "LONGGREETING-1520-1500")
    *_, end = steps(client_call(), (0, ANSWER), (9, call_end(AmdStatus="MACHINE", Message="1")))
    assert end.result.outcome is Outcome.MACHINE_MESSAGE_LEFT
    *_, end = steps(
        client_call(), (0, ANSWER), (9, call_end(AmdStatus="NOTSURE", Connected=str(int(T0.timestamp()) + 5)))
    )
    assert end.result.outcome is Outcome.ANSWERED and end.result.amd_status == "NOTSURE"


def test_the_astdb_record_keeps_the_detection_and_reconciles_after_a_restart():
    record = CallEndRecord(
        "ANSWER", 16, T0, None, T0 + timedelta(seconds=9), False, "MACHINE", "TOOLONG-5000", True
    )
    value = format_astdb_value(record)
    assert value.endswith(";abandoned=0;amd=MACHINE;amdcause=TOOLONG-5000;message=1")
    assert parse_astdb_value(value) == record
    assert format_astdb_value(CallEndRecord("ANSWER", 16)).endswith(";amd=;amdcause=;message=0")
    with pytest.raises(ValueError):
        parse_astdb_value("dialstatus=ANSWER;message=yes")
    in_flight = client_call(state=CallState.ANSWERED, originated_at=T0, answered_at=T0, customer_dialled=True)
    settled = reconcile(T0 + timedelta(minutes=5), [in_flight], [], {UUID: value})
    assert settled[0].result.outcome is Outcome.MACHINE_MESSAGE_LEFT
    assert settled[0].result.amd_cause == "TOOLONG-5000"


@pytest.mark.parametrize(
    ("outcome", "delay"),
    [(Outcome.MACHINE, timedelta(hours=3)), (Outcome.MACHINE_MESSAGE_LEFT, timedelta(days=2))],
)
def test_machines_are_retried_after_their_own_delay_and_charge_an_attempt(outcome, delay):
    delays = RetryDelays(machine=timedelta(hours=3), machine_message_left=timedelta(days=2))
    ended = call(state=CallState.ENDED, ended_at=T0, outcome=outcome, customer_dialled=True)
    # max attempts high enough, and a window open every day: the delay alone decides
    decision = decide_retry(
        CallResult.of(ended), contact(1, attempts=1), campaign(retry_delays=delays, max_attempts=5), T0
    )
    assert (decision.state, decision.attempts, decision.charged) == (ContactState.PENDING, 2, True)
    assert decision.next_attempt_at >= T0 + delay


def test_pacing_counts_a_machine_as_dialled_never_as_a_live_answer_or_an_abandon():
    stats = stats_of_outcomes({"answered": 4, "abandoned": 1, "machine": 3, "machine_message_left": 2})
    assert (stats.dialed, stats.answered, stats.abandoned) == (10, 5, 1)
    assert stats.abandon_rate == pytest.approx(0.2)
    count = PacingCount()  # the calls the host saw end since its last load
    count.count(Outcome.MACHINE)
    count.count(Outcome.ANSWERED)
    assert count.add_to(stats) == replace(stats, dialed=12, answered=6)


def test_an_agent_who_left_the_message_is_ready_at_once_without_wrap_up():
    wrap_up = timedelta(seconds=30)
    assert after_call(4, True, T0, wrap_up, Outcome.MACHINE_MESSAGE_LEFT).state == READY
    assert after_call(4, True, T0, wrap_up, Outcome.ANSWERED).state == WRAP_UP
