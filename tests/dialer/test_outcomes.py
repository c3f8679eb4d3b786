"""Outcome tables, checked against the AMI sessions recorded on a real Asterisk 22."""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from outbound_campaign.dialer.outcomes import (
    CAUSE_OUTCOMES,
    FINAL,
    NO_CUSTOMER_CALL,
    OUTCOME_POLICIES,
    RETRYABLE,
    TRUNK_REFUSAL_RUN,
    CallEndRecord,
    CampaignType,
    Outcome,
    asterisk_status,
    classify,
    customer_leg_placed,
    format_astdb_value,
    parse_astdb_value,
    record_from_user_event,
    significant_cause,
    trunk_refuses,
)

AGENT_FIRST, CLIENT_FIRST = CampaignType.AGENT_FIRST, CampaignType.CLIENT_FIRST
ROOT = Path(__file__).resolve().parents[2]
# The sessions recorded against Asterisk 22.10.1 (a copy of the shared reference).
TRANSCRIPTS = ROOT / "tests" / "data" / "ami-asterisk-22"


def read_transcript(name: str) -> list[dict[str, str]]:
    """The messages Asterisk sent, as header dicts (lines ``>> `` were sent by the client)."""
    messages, headers = [], {}
    for line in (TRANSCRIPTS / name).read_text(encoding="utf-8").splitlines():
        if not line.endswith("\\r\\n"):
            continue  # client lines and the <<connection closed>> notes
        text = line[: -len("\\r\\n")]
        if text == "":
            if headers:
                messages.append(headers)
            headers = {}
        elif ": " in text or text.endswith(":"):
            key, _sep, value = text.partition(":")
            headers.setdefault(key, value.strip())
    return messages


def facts_of(name: str) -> dict:
    """Reason, most telling hangup cause and Dial() status of the one call in a transcript."""
    messages = read_transcript(name)
    originate = [m for m in messages if m.get("Event") == "OriginateResponse"]
    cause = None
    for message in messages:
        if message.get("Event") == "Hangup":
            cause = significant_cause(cause, int(message["Cause"]))
    # the dialplan's Dial() has a caller channel; the originate's own dial has none
    dial_ends = [m for m in messages if m.get("Event") == "DialEnd" and "Uniqueid" in m]
    return {
        "reason": int(originate[0]["Reason"]),
        "cause": cause,
        "dial_status": dial_ends[-1]["DialStatus"] if dial_ends else None,
    }


@pytest.mark.parametrize(
    ("name", "campaign_type", "facts", "outcome"),
    [
        ("02-agent-first-answered.txt", AGENT_FIRST, (4, 16, "ANSWER"), Outcome.ANSWERED),
        ("03-client-busy.txt", CLIENT_FIRST, (5, 17, None), Outcome.BUSY),
        ("04-client-no-answer-timeout.txt", CLIENT_FIRST, (3, 19, None), Outcome.NO_ANSWER),
        ("05-client-unallocated.txt", CLIENT_FIRST, (0, 1, None), Outcome.INVALID_NUMBER),
        ("06-client-congestion.txt", CLIENT_FIRST, (8, 34, None), Outcome.CONGESTION),
        ("07-agent-first-client-no-answer.txt", AGENT_FIRST, (4, None, "NOANSWER"), Outcome.NO_ANSWER),
        ("08-bad-channel-technology.txt", CLIENT_FIRST, (0, None, None), Outcome.TRUNK_REFUSED),
    ],
)
def test_recorded_sessions_yield_their_outcome(name, campaign_type, facts, outcome):
    found = facts_of(name)
    assert (found["reason"], found["cause"], found["dial_status"]) == facts
    assert classify(campaign_type, **found) is outcome


def test_recorded_transcripts_parse_into_messages():
    messages = read_transcript("03-client-busy.txt")
    assert messages[0] == {"Response": "Success", "ActionID": "login-1", "Message": "Authentication accepted"}
    hangups = [m for m in messages if m.get("Event") == "Hangup"]
    assert [(h["Cause"], h["Cause-txt"]) for h in hangups] == [("0", "Unknown"), ("17", "User busy")]


@pytest.mark.parametrize(
    ("kwargs", "outcome"),
    [
        # the cause beats the coarse reason: Reason 0 with "unallocated" is a bad number
        ({"reason": 0, "cause": 1}, Outcome.INVALID_NUMBER),
        ({"reason": 1, "cause": 17}, Outcome.BUSY),
        ({"reason": 1, "cause": 28}, Outcome.INVALID_NUMBER),
        ({"reason": 3, "cause": 3}, Outcome.INVALID_NUMBER),
        ({"reason": 0, "cause": 22}, Outcome.INVALID_NUMBER),
        ({"reason": 1, "cause": 21}, Outcome.BUSY),
        ({"reason": 1, "cause": 18}, Outcome.NO_ANSWER),
        ({"reason": 0, "cause": 38}, Outcome.CONGESTION),
        ({"reason": 0, "cause": 42}, Outcome.CONGESTION),
        ({"reason": 3, "cause": 27}, Outcome.FAILED),
        ({"reason": 5, "cause": 127}, Outcome.FAILED),
        # neutral causes leave it to the reason
        ({"reason": 5, "cause": 16}, Outcome.BUSY),
        ({"reason": 3, "cause": 0}, Outcome.NO_ANSWER),
        ({"reason": 8, "cause": 31}, Outcome.CONGESTION),
        ({"reason": 2}, Outcome.NO_ANSWER),
        # nothing shows the customer's leg was placed: the trunk (or Asterisk) refused the call;
        # cause 3 is what the PJSIP driver gives for a trunk that does not exist
        ({"reason": 0, "cause": 3}, Outcome.TRUNK_REFUSED),
        ({"reason": 0, "cause": 27}, Outcome.TRUNK_REFUSED),
        ({"reason": 1, "cause": 16}, Outcome.TRUNK_REFUSED),
        ({"reason": 6}, Outcome.TRUNK_REFUSED),
        ({}, Outcome.TRUNK_REFUSED),
        ({"reason": 0, "cause": 27, "placed": True}, Outcome.FAILED),  # the events showed a dial
        # a live answer: connected, or abandoned (by our message or by the person on hold)
        ({"reason": 4, "connected": True, "cause": 16}, Outcome.ANSWERED),
        ({"reason": 4, "cause": 16}, Outcome.ABANDONED),
        ({"reason": 4, "abandoned": True}, Outcome.ABANDONED),
        ({"answered": True, "connected": True}, Outcome.ANSWERED),
        ({"abandoned": True, "cause": 17}, Outcome.ABANDONED),
    ],
)
def test_client_first_classification(kwargs, outcome):
    assert classify(CLIENT_FIRST, **kwargs) is outcome


@pytest.mark.parametrize(
    ("kwargs", "outcome"),
    [
        ({"reason": 3}, Outcome.AGENT_NO_ANSWER),
        ({"reason": 5, "cause": 17}, Outcome.AGENT_NO_ANSWER),  # the agent's phone was busy
        ({"reason": 0, "cause": 1}, Outcome.AGENT_NO_ANSWER),
        ({"reason": 4}, Outcome.AGENT_NO_ANSWER),  # agent hung up before the customer was dialled
        ({"reason": 4, "answered": True}, Outcome.AGENT_NO_ANSWER),  # the agent's answer
        ({"reason": 4, "dial_status": "ANSWER"}, Outcome.ANSWERED),
        ({"reason": 4, "dial_status": "BUSY", "cause": 17}, Outcome.BUSY),
        ({"reason": 4, "dial_status": "CHANUNAVAIL", "cause": 1}, Outcome.INVALID_NUMBER),
        ({"reason": 4, "dial_status": "CHANUNAVAIL"}, Outcome.TRUNK_REFUSED),
        ({"reason": 4, "dial_status": "CHANUNAVAIL", "cause": 3}, Outcome.TRUNK_REFUSED),
        ({"reason": 4, "dial_status": "INVALIDARGS", "cause": 16}, Outcome.TRUNK_REFUSED),
        ({"reason": 4, "dial_status": "CHANUNAVAIL", "cause": 3, "placed": True}, Outcome.INVALID_NUMBER),
        ({"reason": 4, "dial_status": "CONGESTION", "cause": 16}, Outcome.CONGESTION),
        ({"reason": 4, "dial_status": "cancel"}, Outcome.NO_ANSWER),
        ({"dial_status": "NOANSWER"}, Outcome.NO_ANSWER),  # from AstDB: no OriginateResponse seen
        ({}, Outcome.AGENT_NO_ANSWER),
    ],
)
def test_agent_first_classification(kwargs, outcome):
    assert classify(AGENT_FIRST, **kwargs) is outcome


def test_agent_first_never_abandons():
    assert classify("agent_first", reason=4, dial_status="ANSWER", abandoned=True) is Outcome.ANSWERED


def test_cause_table_covers_the_usual_q850_causes():
    expected = {
        1: "invalid_number",
        3: "invalid_number",
        17: "busy",
        18: "no_answer",
        19: "no_answer",
        21: "busy",
        28: "invalid_number",
        34: "congestion",
        38: "congestion",
        41: "congestion",
        42: "congestion",
        127: "failed",
    }
    assert {cause: CAUSE_OUTCOMES[cause].value for cause in expected} == expected
    assert 16 not in CAUSE_OUTCOMES and 0 not in CAUSE_OUTCOMES


def test_significant_cause_prefers_a_telling_cause():
    assert significant_cause(None, 0) is None
    assert significant_cause(0, 17) == 17
    assert significant_cause(16, 34) == 34
    assert significant_cause(17, 16) == 17
    assert significant_cause(17, 0) == 17
    assert significant_cause(19, 1) == 19  # the first telling cause stays


def test_retry_policies():
    assert {Outcome.ANSWERED, Outcome.INVALID_NUMBER} == FINAL
    assert set(Outcome) - FINAL == RETRYABLE
    assert OUTCOME_POLICIES[Outcome.ANSWERED].final_state == "done"
    assert OUTCOME_POLICIES[Outcome.INVALID_NUMBER].final_state == "failed"
    uncharged = {o for o, p in OUTCOME_POLICIES.items() if not p.charges_attempt}
    assert uncharged == {Outcome.AGENT_NO_ANSWER, Outcome.TRUNK_REFUSED, Outcome.UNKNOWN}
    delays = {o: p.retry_delay for o, p in OUTCOME_POLICIES.items() if o in RETRYABLE}
    assert delays == {
        Outcome.BUSY: "busy",
        Outcome.NO_ANSWER: "no_answer",
        Outcome.CONGESTION: "failed",
        Outcome.FAILED: "failed",
        Outcome.ABANDONED: "no_answer",
        Outcome.AGENT_NO_ANSWER: None,
        Outcome.TRUNK_REFUSED: "failed",
        Outcome.UNKNOWN: "failed",
        Outcome.MACHINE: "machine",
        Outcome.MACHINE_MESSAGE_LEFT: "machine_message_left",
    }


@pytest.mark.parametrize("campaign_type", [AGENT_FIRST, CLIENT_FIRST])
def test_defect_c_one_rule_says_whether_the_customer_leg_was_placed(campaign_type):
    def placed(**facts):
        return customer_leg_placed(campaign_type, **facts)

    assert not placed(dial_status="CHANUNAVAIL", cause=3)  # PJSIP: no such endpoint
    assert not placed(dial_status="CHANUNAVAIL", cause=66)  # no such channel driver
    assert not placed(dial_status="INVALIDARGS", cause=16)  # our dialplan refused the dial string
    assert not placed()
    assert placed(dial_status="CHANUNAVAIL", cause=1)  # the network: no such number
    assert placed(dial_status="BUSY") and placed(dial_status="noanswer") and placed(answered=True)
    # the originate's reason is the customer's only in client first
    assert placed(reason=3) is (campaign_type is CLIENT_FIRST)


def test_defect_c_a_trunk_refuses_calls_after_a_run_of_refusals():
    refused = [Outcome.TRUNK_REFUSED] * TRUNK_REFUSAL_RUN
    assert trunk_refuses(refused)
    assert trunk_refuses([*refused, Outcome.ANSWERED])  # newest first: the answer is older
    assert not trunk_refuses(refused[1:])  # too few to tell
    assert not trunk_refuses([Outcome.BUSY, *refused])
    assert trunk_refuses(["trunk_refused"] * TRUNK_REFUSAL_RUN)  # as stored
    assert Outcome.TRUNK_REFUSED in NO_CUSTOMER_CALL  # pacing does not count it as dialled
    assert asterisk_status("CHANUNAVAIL", 3, 0) == "CHANUNAVAIL, cause 3"
    assert asterisk_status(None, "0", "0") == "originate reason 0"


def test_astdb_value_round_trip():
    value = (
        "dialstatus=ANSWER;cause=16;answered=1795777980;connected=1795777982;ended=1795778010;abandoned=0;"
        "amd=;amdcause=;message=0"
    )
    record = parse_astdb_value(value)
    assert record == CallEndRecord(
        dial_status="ANSWER",
        cause=16,
        answered_at=datetime(2026, 11, 27, 11, 13, 0, tzinfo=timezone.utc),
        connected_at=datetime(2026, 11, 27, 11, 13, 2, tzinfo=timezone.utc),
        ended_at=datetime(2026, 11, 27, 11, 13, 30, tzinfo=timezone.utc),
        abandoned=False,
    )
    assert format_astdb_value(record) == value


def test_astdb_value_of_an_unanswered_abandon_free_call():
    record = parse_astdb_value("dialstatus=;cause=17;answered=;connected=;ended=1795777991;abandoned=0")
    assert (record.dial_status, record.cause, record.answered_at, record.abandoned) == (None, 17, None, False)
    assert format_astdb_value(CallEndRecord(abandoned=True)) == (
        "dialstatus=;cause=;answered=;connected=;ended=;abandoned=1;amd=;amdcause=;message=0"
    )


def test_astdb_value_ignores_unknown_keys():
    assert parse_astdb_value("cause=34;ended=1;future=x").cause == 34


@pytest.mark.parametrize(
    "value",
    [
        "ANSWER|16|37",  # transcript 10: not our format
        "dialstatus=ANSWER;cause=normal",
        "ended=yesterday",
        "abandoned=yes",
    ],
)
def test_astdb_value_refuses_what_our_dialplan_does_not_write(value):
    with pytest.raises(ValueError):
        parse_astdb_value(value)


def test_transcript_10_value_is_not_ours():
    (value,) = [
        m["Val"] for m in read_transcript("10-dbput-dbget-missing.txt") if m.get("Event") == "DBGetResponse"
    ]
    with pytest.raises(ValueError):
        parse_astdb_value(value)


def test_record_from_oc_call_end_user_event():
    event = {
        "Event": "UserEvent",
        "UserEvent": "OcCallEnd",
        "Uuid": "c0ffee00-0000-4000-8000-000000000001",
        "DialStatus": "",
        "Cause": ["16", "16"],  # panoramisk lists repeated headers
        "Answered": "1795777980",
        "Connected": "",
        "Ended": "1795777990",
        "Abandoned": "1",
    }
    record = record_from_user_event(event)
    assert record.cause == 16 and record.abandoned and record.connected_at is None
    assert record.ended_at == datetime(2026, 11, 27, 11, 13, 10, tzinfo=timezone.utc)
