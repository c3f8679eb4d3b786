"""One scenario through the PBX simulator and through a real Asterisk: what the engine reads of
it must be the same, so that the simulator, which the other suites lean on, cannot drift from
Asterisk. Compared per call, normalised (uuids, times, channel sequence numbers): the
OriginateResponse (Response, Reason, whose Uniqueid), each DialEnd's DialStatus, each hangup
Cause of our legs, the Oc* UserEvents and their fields, the AstDB records as DBGet returns them,
and the CoreShowChannels of a customer waiting for an agent.

Both ring the same Local agent (``Local/agent@octest-agents``). Asterisk reaches its customers
through the test dialplan (``Local/{number}@octest-customers/n``, hanging up with the causes a SIP
trunk gives); the simulator through a SIP trunk of its own (``PJSIP/{number}@trunk``), told per
number what the test dialplan's customers do. The customers' own channels are not compared."""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import pytest
from asterisk_session import AmiSession, run, utc_day
from conftest import requires_asterisk, start_pbx

from outbound_campaign.dialer.amd import AmdSettings
from outbound_campaign.dialer.outcomes import CampaignType
from pbxsim import AmiUser, PbxSimulator, Scenario
from realpbx import AGENTS_CONTEXT, CUSTOMERS_CONTEXT, Agent, Customer, RealAsterisk

pytestmark = requires_asterisk

ANSWERS = "+447700900301"
BUSY = "+447700900302"
RINGS_OUT = "+447700900303"
CONGESTION = "+447700900304"
UNALLOCATED = "+447700900305"
STAYS = "+447700900306"
MACHINE = "+447700900307"
TALK = 1.0
# The real customers, and what the simulator is told of the same numbers.
CUSTOMERS = {
    ANSWERS: (Customer.answer(talk=TALK), "answer"),
    BUSY: (Customer.busy(), "busy"),
    RINGS_OUT: (Customer.ring_out(), "no_answer"),
    CONGESTION: (Customer.congestion(), "congestion"),
    UNALLOCATED: (Customer.unallocated(), "invalid"),
    STAYS: (Customer.answer(), "answer"),
    MACHINE: (Customer.machine(), "machine"),
}
AGENT = f"Local/agent@{AGENTS_CONTEXT}"
DIAL_TIMEOUT = 2
HOLD_MESSAGE = "pls-hold-while-try"
SECRET = "contract-secret"
SIMULATED_TRUNK = "PJSIP/{number}@trunk"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# A channel's sequence number ends the value, or the channel named in Dial()'s U() option.
_SEQUENCE = re.compile(r"-[0-9a-f]{8}(;[12])?(?=\)?$)")


@pytest.fixture(scope="module")
def pbx():
    asterisk = start_pbx(
        customers={n: real for n, (real, _) in CUSTOMERS.items()}, agents={"agent": Agent.answer()}
    )
    yield asterisk
    asterisk.stop()


def simulator() -> PbxSimulator:
    scenario = Scenario(
        seed=1,
        time_scale=0.1,  # a simulated second lasts 0.1 s: the call's timers keep their order
        overrides={number: sim for number, (_, sim) in CUSTOMERS.items()},
        ring_time=(0.0, 0.0),
        talk_time=(TALK, TALK),
        agent_ring_time=(0.0, 0.0),
        fail_time=(0.0, 0.0),
    )
    user = AmiUser.from_spec(SECRET, read="call,user,reporting", write="originate,call,reporting")
    return PbxSimulator(scenario, {RealAsterisk.username: user})


def leg(event: dict[str, str], uuid: str) -> str | None:
    """Which of our legs an event is about; ``None`` for the customer's own channels."""
    uniqueid = event.get("Uniqueid", "")
    if uniqueid in (uuid, f"{uuid}-2", f"{uuid}-a"):
        return uniqueid.replace(uuid, "U")
    if event.get("DestUniqueid") == uuid and "Uniqueid" not in event:
        return "originate"  # the Originate's own dial of the first channel
    return None


def times(value: str) -> str:
    return "T" if value else ""


def normalised(events: list[dict[str, str]], uuid: str) -> Counter:
    """What the engine reads of one call, as a multiset (Asterisk does not order the
    OriginateResponse against the dialplan's events the same way from one run to the next)."""
    seen: Counter = Counter()
    for event in events:
        name, where = event.get("Event"), leg(event, uuid)
        if name == "OriginateResponse":
            where = "U-a" if event.get("ActionID", "").endswith("-a") else "U"
            owner = (event.get("Uniqueid") or "").replace(uuid, "U")
            seen[(where, name, event["Response"], event["Reason"], owner)] += 1
        elif where is None:
            continue
        elif name == "DialEnd":
            seen[(where, name, event["DialStatus"])] += 1
        elif name == "Hangup":
            seen[(where, name, event["Cause"])] += 1
        elif name == "BridgeEnter":
            seen[(where, name)] += 1
        elif name == "UserEvent":
            fields = {k: v for k, v in event.items() if k[:1].isupper()}
            kept = {
                k: fields.get(k, "").replace(uuid, "U") for k in ("UserEvent", "Uuid", "Context", "Exten")
            }
            if fields["UserEvent"] == "OcWaiting":
                kept["Channel"] = _SEQUENCE.sub("-SEQ\\1", fields["Channel"])
            if fields["UserEvent"] == "OcMachine":
                kept["AmdStatus"] = fields["AmdStatus"]  # the cause is the analysis' own figures
            if fields["UserEvent"] == "OcCallEnd":
                kept |= {k: fields[k] for k in ("DialStatus", "Cause", "Abandoned", "AmdStatus", "Message")}
                kept |= {k: times(fields[k]) for k in ("Answered", "Connected", "Ended")}
            seen[(where, name, tuple(sorted(kept.items())))] += 1
    return seen


def user_events(events: list[dict[str, str]]) -> list[str]:
    return [e["UserEvent"] for e in events if e.get("Event") == "UserEvent"]


def record(raw: str | None) -> tuple[tuple[str, str], ...] | None:
    """A DBGet answer with its times as ``T``: the fields, in order."""
    if raw is None:
        return None
    fields = [item.partition("=")[::2] for item in raw.split(";")]
    return tuple(
        (k, times(v) if k in ("answered", "connected", "ended", "amdcause") else v) for k, v in fields
    )


def channel_shape(channel: dict[str, str], uuid: str, dial: str) -> dict[str, str]:
    keys = (
        "Channel",
        "ChannelState",
        "Context",
        "Exten",
        "Application",
        "ApplicationData",
        "Uniqueid",
        "Linkedid",
    )
    shape = {k: _SEQUENCE.sub("-SEQ\\1", channel.get(k, "<missing>")).replace(uuid, "U") for k in keys}
    shape["ApplicationData"] = shape["ApplicationData"].replace(dial, "<customer>")
    shape["BridgeId"] = "set" if channel.get("BridgeId") else ""
    return shape


async def the_scenario(ami: AmiSession, dial) -> dict[str, object]:
    """Every flow once, concurrently; then what DBGet says of each."""

    async def agent_first(number: str) -> str:
        uuid = ami.agent_first(AGENT, dial(number), DIAL_TIMEOUT)
        await ami.user_event("OcCallEnd", uuid)
        await ami.originate_response(uuid)
        await ami.hangup_of(uuid)
        return uuid

    async def client_first_not_answered(number: str) -> str:
        uuid = ami.client_first(dial(number), DIAL_TIMEOUT)
        await ami.originate_response(uuid)
        await ami.hangup_of(uuid)
        await ami.hangup_of(f"{uuid}-2")
        return uuid

    async def client_first_connected() -> tuple[str, list[dict[str, str]]]:
        uuid = ami.client_first(dial(ANSWERS), DIAL_TIMEOUT, max_wait=10, hold_message=HOLD_MESSAGE)
        waiting = await ami.user_event("OcWaiting", uuid)
        channels = await ami.client.core_show_channels()
        ami.connect_agent(uuid, AGENT, waiting["Channel"])
        await ami.user_event("OcCallEnd", uuid)
        await ami.originate_response(uuid)
        await ami.hangup_of(f"{uuid}-a")
        await ami.hangup_of(f"{uuid}-2")
        mine = [
            channel_shape(c, uuid, dial(ANSWERS))
            for c in channels
            if c.get("Uniqueid") in (uuid, f"{uuid}-2")
        ]
        return uuid, sorted(mine, key=lambda c: c["Uniqueid"])

    async def client_first_abandoned() -> str:
        uuid = ami.client_first(dial(STAYS), DIAL_TIMEOUT, max_wait=1)
        await ami.user_event("OcCallEnd", uuid)
        await ami.originate_response(uuid)
        await ami.hangup_of(f"{uuid}-2")
        return uuid

    async def client_first_machine() -> str:
        settings = AmdSettings(enabled=True).variables(CampaignType.CLIENT_FIRST)
        uuid = ami.client_first(dial(MACHINE), DIAL_TIMEOUT, max_wait=10, settings=settings)
        await ami.user_event("OcCallEnd", uuid)
        await ami.originate_response(uuid)
        await ami.hangup_of(f"{uuid}-2")
        return uuid

    flows = {
        **{f"agent first, {n}": agent_first(n) for n in (ANSWERS, BUSY, UNALLOCATED)},
        **{
            f"client first, {n}": client_first_not_answered(n)
            for n in (BUSY, RINGS_OUT, CONGESTION, UNALLOCATED)
        },
        "client first, connected": client_first_connected(),
        "client first, abandoned": client_first_abandoned(),
        "client first, machine": client_first_machine(),
    }
    done = dict(zip(flows, await asyncio.gather(*flows.values()), strict=True))
    done["client first, connected"], waiting_channels = done["client first, connected"]
    family = f"oc/{utc_day()}"
    result: dict[str, object] = {"channels of a waiting customer": waiting_channels}
    for name, uuid in done.items():
        events = ami.of_call(uuid)
        result[name] = {
            "events": normalised(events, uuid),
            "user events": user_events(events),
            "record": record(await ami.client.db_get(family, uuid)),
            "dial record": record(await ami.client.db_get(family, f"{uuid}-dial")),
        }
    return result


def test_the_simulator_reports_what_asterisk_reports(pbx):
    async def on_asterisk():
        async with AmiSession.of(pbx) as ami:
            return await the_scenario(ami, pbx.dial_string)

    async def on_simulator():
        sim = simulator()
        await sim.start()
        try:
            async with AmiSession(pbx.host, sim.port, RealAsterisk.username, SECRET) as ami:
                return await the_scenario(ami, lambda number: SIMULATED_TRUNK.format(number=number))
        finally:
            await sim.stop()

    asterisk, simulated = run(on_asterisk(), 90), run(on_simulator(), 90)
    assert f"@{CUSTOMERS_CONTEXT}/n" in pbx.dial_template
    for name in asterisk:
        assert simulated[name] == asterisk[name], name
