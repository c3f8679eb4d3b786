"""The call flows of docs/call-flow-contract.md on a real Asterisk, at the AMI level: the shipped
dialplan as shipped, the README's AMI user, each customer behaviour → what the contract says
Asterisk reports (OriginateResponse, DialEnd, Hangup causes, our UserEvents, AstDB records)."""

from __future__ import annotations

import pytest
from asterisk_session import AmiSession, run, utc_day
from conftest import pbx_with_a_clean_log, requires_asterisk

from realpbx import CUSTOMERS_CONTEXT, Agent, Customer

pytestmark = requires_asterisk

ANSWERS = "+447700900001"
ANSWERS_LATE = "+447700900002"
BUSY = "+447700900003"
RINGS_OUT = "+447700900004"
CONGESTION = "+447700900005"
UNALLOCATED = "+447700900006"
HANGS_UP_WAITING = "+447700900007"
STAYS = "+447700900008"
CUSTOMERS = {
    ANSWERS: Customer.answer(talk=1),
    ANSWERS_LATE: Customer.answer_late(ring=1, talk=1),
    BUSY: Customer.busy(),
    RINGS_OUT: Customer.ring_out(),
    CONGESTION: Customer.congestion(),
    UNALLOCATED: Customer.unallocated(),
    HANGS_UP_WAITING: Customer.hangs_up_waiting(after=1),
    STAYS: Customer.answer(),
}
AGENTS = {
    "agent": Agent.answer(),
    "slow": Agent.answer(ring=1),
    "absent": Agent.no_answer(),
    "engaged": Agent.busy(),
}
DIAL_TIMEOUT = 2
#: What the tests below make Asterisk log on purpose: an Originate to the PJSIP phone nobody registered.
ON_PURPOSE = ("endpoint 'octest-phone'", "Endpoint 'octest-phone'")


@pytest.fixture(scope="module")
def pbx():
    yield from pbx_with_a_clean_log(ON_PURPOSE, customers=CUSTOMERS, agents=AGENTS)


def record(pbx, key: str) -> dict[str, str]:
    raw = pbx.astdb("oc").get(f"{utc_day()}/{key}")
    assert raw is not None, f"no AstDB record {key}"
    return dict(item.partition("=")[::2] for item in raw.split(";"))


# ---- agent first ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "dial_status", "dial_end", "cause", "answered"),
    [
        (ANSWERS, "ANSWER", "ANSWER", "16", True),
        (ANSWERS_LATE, "ANSWER", "ANSWER", "16", True),
        (BUSY, "BUSY", "BUSY", "17", False),
        (RINGS_OUT, "NOANSWER", "NOANSWER", "16", False),
        (CONGESTION, "CONGESTION", "CONGESTION", "34", False),
        # Dial() reports the customer's hangup before answer as DialEnd NOANSWER but sets
        # DIALSTATUS=CHANUNAVAIL and passes cause 1 on to the agent's channel.
        (UNALLOCATED, "CHANUNAVAIL", "NOANSWER", "1", False),
    ],
)
def test_agent_first(pbx, number, dial_status, dial_end, cause, answered):
    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.agent_first(pbx.agent_channel("agent"), pbx.dial_string(number), DIAL_TIMEOUT)
            response = await ami.originate_response(uuid)
            assert (response["Response"], response["Reason"], response["Uniqueid"]) == ("Success", "4", uuid)
            end = await ami.user_event("OcCallEnd", uuid)
            await ami.hangup_of(uuid)
            return uuid, ami.of_call(uuid), end

    uuid, events, end = run(scenario())
    (dial,) = [e for e in events if e["Event"] == "DialEnd" and e.get("Uniqueid") == uuid]
    assert dial["DialStatus"] == dial_end
    assert dial["DestChannel"].startswith(f"Local/{number}@{CUSTOMERS_CONTEXT}-")
    assert (end["DialStatus"], end["Cause"], end["Abandoned"]) == (dial_status, cause, "0")
    assert bool(end["Answered"]) is answered and end["Connected"] == end["Answered"]
    (hangup,) = [e for e in events if e["Event"] == "Hangup" and e["Uniqueid"] == uuid]
    assert hangup["Cause"] == cause
    stored = record(pbx, uuid)
    assert (stored["dialstatus"], stored["cause"], stored["answered"], stored["abandoned"]) == (
        dial_status,
        cause,
        end["Answered"],
        "0",
    )


@pytest.mark.parametrize(("agent", "reason"), [("absent", "3"), ("engaged", "5")])
def test_agent_first_agent_not_reached(pbx, agent, reason):
    """The customer is never dialled: the Originate fails with the agent's reason, and no
    dialplan ran, so nothing is recorded."""

    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.agent_first(pbx.agent_channel(agent), pbx.dial_string(ANSWERS), ring_ms=1500)
            response = await ami.originate_response(uuid)
            return uuid, response, ami.of_call(uuid)

    uuid, response, events = run(scenario())
    assert (response["Response"], response["Reason"]) == ("Failure", reason)
    assert not [e for e in events if e["Event"] in ("DialBegin", "UserEvent") and e.get("Uniqueid") == uuid]
    assert f"{utc_day()}/{uuid}" not in pbx.astdb("oc")


def test_agent_first_dials_a_context_with_a_dash_exactly(pbx):
    """Issue 9 b on a real Asterisk: `Local/<number>@octest-customers/n` reaches that context,
    nothing filtered out of the dial string."""

    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.agent_first(pbx.agent_channel("agent"), pbx.dial_string(ANSWERS), DIAL_TIMEOUT)
            begin = await ami.wait_for(lambda e: e.get("Event") == "DialBegin" and e.get("Uniqueid") == uuid)
            end = await ami.user_event("OcCallEnd", uuid)
            return begin, end

    begin, end = run(scenario())
    assert "-" in CUSTOMERS_CONTEXT
    assert begin["DestChannel"].startswith(f"Local/{ANSWERS}@{CUSTOMERS_CONTEXT}-")
    assert end["DialStatus"] == "ANSWER"


def test_agent_first_a_dial_string_with_options_is_refused(pbx):
    """A dial string the shipped REGEX refuses ends INVALIDARGS, nothing dialled."""

    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.agent_first(pbx.agent_channel("agent"), f"{pbx.dial_string(ANSWERS)}&Local/x@y")
            end = await ami.user_event("OcCallEnd", uuid)
            return end, ami.of_call(uuid)

    end, events = run(scenario())
    assert (end["DialStatus"], end["Cause"]) == ("INVALIDARGS", "16")
    assert not [e for e in events if e["Event"] == "DialBegin" and e.get("Uniqueid") == end["Uniqueid"]]


# ---- client first ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "dial_status", "cause"),
    [
        (BUSY, "BUSY", "17"),
        (RINGS_OUT, "NOANSWER", "19"),
        (CONGESTION, "CONGESTION", "34"),
        (UNALLOCATED, "CHANUNAVAIL", "1"),
    ],
)
def test_client_first_not_answered(pbx, number, dial_status, cause):
    """The Originate fails with Reason 0 whatever became of the dial (the Local channel is hung
    up, no control frame reaches the Originate): the dial's DialEnd, the cause of both halves and
    the dial record say what happened; no main record is written."""

    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.client_first(pbx.dial_string(number), DIAL_TIMEOUT)
            response = await ami.originate_response(uuid)
            # Both halves: their Hangup events come in no set order.
            await ami.hangup_of(f"{uuid}-2")
            await ami.hangup_of(uuid)
            return uuid, response, ami.of_call(uuid)

    uuid, response, events = run(scenario())
    assert (response["Response"], response["Reason"]) == ("Failure", "0")
    (dial,) = [e for e in events if e["Event"] == "DialEnd" and e.get("Uniqueid") == f"{uuid}-2"]
    assert dial["DestChannel"].startswith(f"Local/{number}@{CUSTOMERS_CONTEXT}-")
    assert dial["DialStatus"] == ("NOANSWER" if dial_status == "CHANUNAVAIL" else dial_status)
    causes = {e["Uniqueid"]: e["Cause"] for e in events if e["Event"] == "Hangup"}
    assert (causes[f"{uuid}-2"], causes[uuid]) == (cause, cause)
    assert not [e for e in events if e["Event"] == "UserEvent"]
    dialled = record(pbx, f"{uuid}-dial")
    assert (dialled["dialstatus"], dialled["cause"], dialled["answered"]) == (dial_status, cause, "")
    assert f"{utc_day()}/{uuid}" not in pbx.astdb("oc")


@pytest.mark.parametrize("number", [ANSWERS, ANSWERS_LATE])
def test_client_first_answered_and_connected(pbx, number):
    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.client_first(pbx.dial_string(number), DIAL_TIMEOUT, max_wait=10)
            response = await ami.originate_response(uuid)
            waiting = await ami.user_event("OcWaiting", uuid)
            ami.connect_agent(uuid, pbx.agent_channel("agent"), waiting["Channel"])
            agent = await ami.originate_response(uuid, "-a")
            connected = await ami.user_event("OcConnected", uuid)
            end = await ami.user_event("OcCallEnd", uuid)
            await ami.hangup_of(f"{uuid}-a")
            return uuid, response, waiting, agent, connected, end, ami.of_call(uuid)

    uuid, response, waiting, agent, connected, end, events = run(scenario())
    assert (response["Response"], response["Reason"], response["Uniqueid"]) == ("Success", "4", uuid)
    assert waiting["Uniqueid"] == uuid and waiting["Channel"].startswith("Local/s@oc-client-dial-")
    assert waiting["Channel"].endswith(";1")
    assert (agent["Response"], agent["Uniqueid"]) == ("Success", f"{uuid}-a")
    assert connected["Uniqueid"] == f"{uuid}-a"
    entered = {e["Uniqueid"] for e in events if e["Event"] == "BridgeEnter"}
    assert {uuid, f"{uuid}-a"} <= entered
    assert (end["DialStatus"], end["Abandoned"]) == ("ANSWER", "0")
    assert end["Answered"] and end["Connected"] and int(end["Connected"]) >= int(end["Answered"])
    main, dialled = record(pbx, uuid), record(pbx, f"{uuid}-dial")
    assert (main["dialstatus"], main["connected"], main["abandoned"]) == ("ANSWER", end["Connected"], "0")
    assert dialled["dialstatus"] == "ANSWER" and dialled["answered"]


def test_client_first_customer_hangs_up_while_waiting(pbx):
    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.client_first(pbx.dial_string(HANGS_UP_WAITING), DIAL_TIMEOUT, max_wait=10)
            await ami.user_event("OcWaiting", uuid)
            end = await ami.user_event("OcCallEnd", uuid)
            return uuid, end, ami.of_call(uuid)

    uuid, end, events = run(scenario())
    assert (end["DialStatus"], end["Cause"], end["Connected"], end["Abandoned"]) == ("ANSWER", "16", "", "0")
    assert not [e for e in events if e.get("UserEvent") == "OcAbandoned"]
    assert record(pbx, uuid)["abandoned"] == "0"


def test_client_first_no_agent_within_max_wait_is_abandoned(pbx):
    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.client_first(
                pbx.dial_string(STAYS), DIAL_TIMEOUT, max_wait=1, abandon_message="vm-goodbye"
            )
            waiting = await ami.user_event("OcWaiting", uuid)
            abandoned = await ami.user_event("OcAbandoned", uuid)
            end = await ami.user_event("OcCallEnd", uuid)
            # Too late: the abandoned customer is no longer waiting; the agent is hung up.
            ami.connect_agent(uuid, pbx.agent_channel("agent"), waiting["Channel"])
            agent_gone = await ami.hangup_of(f"{uuid}-a")
            return uuid, abandoned, end, agent_gone, ami.of_call(uuid)

    uuid, abandoned, end, agent_gone, events = run(scenario())
    assert abandoned["Uniqueid"] == uuid
    assert (end["DialStatus"], end["Cause"], end["Connected"], end["Abandoned"]) == ("ANSWER", "16", "", "1")
    assert agent_gone["Cause"] in ("0", "16")
    assert not [e for e in events if e.get("UserEvent") == "OcConnected"]
    assert record(pbx, uuid)["abandoned"] == "1"


# ---- agents' phones ------------------------------------------------------------------------------------


def test_unregistered_pjsip_endpoint_is_unavailable(pbx):
    async def scenario():
        async with AmiSession.of(pbx) as ami:
            return await ami.client.device_state_list()

    states = {item["Device"]: item["State"] for item in run(scenario())}
    assert states[pbx.unregistered_endpoint] == "UNAVAILABLE"


def test_originate_to_the_unregistered_endpoint_fails_at_once(pbx):
    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.agent_first(pbx.unregistered_endpoint, pbx.dial_string(ANSWERS))
            return await ami.originate_response(uuid)

    response = run(scenario())
    assert (response["Response"], response["Reason"]) == ("Failure", "0")
