"""The simulator over TCP, against the Asterisk 22 transcripts and the call-flow contract."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from pathlib import Path

import pytest

from pbxsim import DEFAULT_USER, AmiUser, PbxSimulator, Scenario, run_in_thread

# The sessions recorded against Asterisk 22.10.1 (a copy of the shared reference).
TRANSCRIPTS = Path(__file__).resolve().parents[1] / "data" / "ami-asterisk-22"
USERS = {
    "dialer": AmiUser.from_spec("dialer-secret", "all"),
    "readonly": AmiUser.from_spec("readonly-secret", read="call,reporting", write="reporting"),
}
FAST = {"time_scale": 0.002, "seed": 7}
DAY = "20250106"  # the OC_DAY the test originates carry: records go to AstDB family oc/<DAY>
FAMILY = f"oc/{DAY}"
CALL_EVENTS = {"Newchannel", "DialBegin", "DialEnd", "Hangup", "OriginateResponse"}


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 20))


def transcript(name: str) -> list[tuple[str, object]]:
    """A transcript as steps: ("send", bytes) and ("expect", bytes); "closed" marks EOF."""
    steps: list[tuple[str, object]] = []
    sent: list[str] = []
    received = b""
    for line in (TRANSCRIPTS / name).read_text().splitlines():
        if line.startswith(">>"):
            if received:
                steps.append(("expect", received))
                received = b""
            if line == ">>":
                steps.append(("send", ("\r\n".join(sent) + "\r\n\r\n").encode()))
                sent = []
            else:
                sent.append(line[3:])
        elif line.startswith("<<connection closed"):
            received += b"<closed>"
        else:
            received += line.removesuffix("\\r\\n").encode() + b"\r\n"
    if received:
        steps.append(("expect", received))
    return steps


def normalise(data: bytes) -> bytes:
    """Values that differ between two runs of Asterisk itself."""
    data = re.sub(rb"(Uptime|LastReload): \d+", rb"\1: N", data)
    data = re.sub(rb"Timestamp: [\d.]+", b"Timestamp: T", data)
    data = re.sub(rb"-[0-9a-f]{8}(;[12])?\r\n", rb"-SEQ\1\r\n", data)
    return re.sub(rb"\b\d{10}\.\d+\b", b"UID", data)


def blocks(data: bytes) -> list[dict[str, str]]:
    out = []
    for raw in data.split(b"\r\n\r\n"):
        lines = [line.decode() for line in raw.split(b"\r\n") if b": " in line or line.endswith(b":")]
        if lines:
            out.append(dict(line.split(": ", 1) if ": " in line else (line[:-1], "") for line in lines))
    return out


class Wire:
    """A raw AMI connection: bytes in, bytes out."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.data = reader, writer, b""

    @classmethod
    async def open(cls, sim: PbxSimulator, login: str | None = "dialer") -> Wire:
        wire = cls(*await asyncio.open_connection("127.0.0.1", sim.port))
        await wire.until(lambda data: data.endswith(b"\r\n"))
        if login:
            secret = USERS[login].secret if login in USERS else "dialer-secret"
            await wire.action(f"Action: Login\r\nUsername: {login}\r\nSecret: {secret}\r\nActionID: login-1")
            await wire.until(lambda data: b"Authentication accepted" in data)
        return wire

    async def action(self, text: str) -> None:
        self.writer.write(text.encode() + b"\r\n\r\n")
        await self.writer.drain()

    async def until(self, done, timeout: float = 5.0) -> bytes:
        async def read() -> bytes:
            while not done(self.data):
                chunk = await self.reader.read(65536)
                if not chunk:
                    self.data += b"<closed>"
                    break
                self.data += chunk
            return self.data

        return await asyncio.wait_for(read(), timeout)

    async def event(self, name: str, **headers: str) -> dict[str, str]:
        def found(data: bytes) -> dict[str, str] | None:
            return next(
                (
                    b
                    for b in blocks(data)
                    if b.get("Event") == name and all(b.get(k) == v for k, v in headers.items())
                ),
                None,
            )

        await self.until(lambda data: found(data) is not None or data.endswith(b"<closed>"))
        return found(self.data)

    def take(self) -> bytes:
        data, self.data = self.data, b""
        return data

    def close(self) -> None:
        self.writer.close()


async def simulator(**scenario) -> PbxSimulator:
    sim = PbxSimulator(Scenario(**{**FAST, **scenario}), USERS)
    await sim.start()
    return sim


async def replay(name: str, sim: PbxSimulator) -> None:
    """Send a transcript's actions; what comes back must be its bytes, up to normalise()."""
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    wire = Wire(reader, writer)
    for kind, payload in transcript(name):
        if kind == "send":
            wire.writer.write(payload)
        else:
            expected = normalise(payload).replace(b"<closed><closed>", b"<closed>")
            size = len(expected)
            await wire.until(lambda data, size=size: len(normalise(data)) >= size)
            assert normalise(wire.take()) == expected
    wire.close()


@pytest.mark.parametrize(
    "name",
    [
        "01-login-bad-secret.txt",
        "10-dbput-dbget-missing.txt",
        "12-ping-and-unknown-action.txt",
        "13-readonly-user-cannot-originate.txt",
        "14-devicestate-list.txt",
    ],
)
def test_answers_byte_for_byte_like_the_transcript(name):
    async def scenario():
        sim = await simulator()
        try:
            await replay(name, sim)
        finally:
            await sim.stop()

    run(scenario())


def signature(data: bytes) -> list[tuple[str, ...]]:
    """The call events a dialer reads, with the values that carry the outcome."""
    keys = (
        "Channel",
        "DestChannel",
        "ChannelStateDesc",
        "Cause",
        "Cause-txt",
        "DialStatus",
        "Response",
        "Reason",
    )
    return [
        (b["Event"], *(b.get(k, "") for k in keys))
        for b in blocks(normalise(data))
        if b.get("Event") in CALL_EVENTS
    ]


@pytest.mark.parametrize(
    ("name", "outcome"),
    [
        ("03-client-busy.txt", "busy"),
        ("04-client-no-answer-timeout.txt", "no_answer"),
        ("05-client-unallocated.txt", "invalid"),
        ("06-client-congestion.txt", "congestion"),
        ("08-bad-channel-technology.txt", None),
    ],
)
def test_failed_originate_events_match_the_transcript(name, outcome):
    steps = transcript(name)
    originate = steps[3][1]
    number = re.search(rb"Local/(\d+)@", originate)
    overrides = {number[1].decode(): outcome} if number else {}

    async def scenario():
        sim = await simulator(overrides=overrides)
        try:
            wire = await Wire.open(sim)
            wire.take()
            wire.writer.write(originate)
            response = await wire.event("OriginateResponse")
            if response.get("Uniqueid") == "<unknown>" and number:
                await wire.until(lambda data: data.count(b"Event: Hangup\r\n") == 2)
            await sim.wait_idle()
            return wire.take()
        finally:
            await sim.stop()

    ours = run(scenario())
    expected = steps[4][1]
    assert signature(ours) == signature(expected)
    # The OriginateResponse of a failure is identical, byte for byte.
    their_response = next(b for b in expected.split(b"\r\n\r\n") if b.startswith(b"Event: OriginateResponse"))
    assert their_response in ours


def test_answered_originate_and_dial_application_match_transcript_07():
    steps = transcript("07-agent-first-client-no-answer.txt")

    async def scenario():
        sim = await simulator(overrides={"5550105": "no_answer"}, talk_time=(1, 1))
        try:
            wire = await Wire.open(sim)
            wire.take()
            wire.writer.write(steps[3][1])
            return await wire.until(lambda data: data.count(b"Event: Hangup\r\n") == 4)
        finally:
            await sim.stop()

    ours = run(scenario())
    theirs = steps[4][1]
    ours_answer = [b for b in blocks(normalise(ours)) if b.get("Event") == "OriginateResponse"]
    theirs_answer = [b for b in blocks(normalise(theirs)) if b.get("Event") == "OriginateResponse"]
    assert ours_answer == theirs_answer
    dial_end = [
        (b.get("Channel", ""), b["DestChannel"], b["DialStatus"])
        for b in blocks(normalise(ours))
        if b.get("Event") == "DialEnd"
    ]
    assert dial_end == [
        ("", "Local/1002@agents-SEQ;1", "ANSWER"),
        ("Local/1002@agents-SEQ;1", "Local/5550105@customers-SEQ;1", "NOANSWER"),
    ]


def test_sync_originate_answers_before_the_events_as_transcript_09():
    steps = transcript("09-sync-originate-bad.txt")

    async def scenario():
        sim = await simulator(overrides={"5550109": "invalid"})
        try:
            wire = await Wire.open(sim)
            wire.take()
            wire.writer.write(steps[3][1])
            await wire.until(lambda data: data.count(b"Event: Hangup\r\n") == 2)
            return wire.take()
        finally:
            await sim.stop()

    ours = run(scenario())
    assert ours.startswith(
        b"Response: Error\r\nActionID: orig-8\r\nMessage: Originate failed\r\n\r\nEvent: Newchannel"
    )
    assert b"OriginateResponse" not in ours


def test_coreshowchannels_and_hangup_by_regex_as_transcript_11():
    steps = transcript("11-coreshowchannels-during-call.txt")
    theirs = blocks(steps[6][1]) + blocks(steps[8][1])[:3]  # the lists, not the hangup that follows

    async def scenario():
        sim = await simulator(overrides={"5550107": "answer"}, ring_time=(0, 0), talk_time=(900, 900))
        try:
            wire = await Wire.open(sim)
            wire.writer.write(steps[3][1])
            await wire.event("OriginateResponse")
            wire.take()
            wire.writer.write(steps[5][1])
            await wire.event("CoreShowChannelsComplete")
            listing = blocks(wire.take())
            wire.writer.write(steps[7][1])
            await wire.event("ChannelsHungupListComplete")
            hung_up = blocks(wire.take())
            await sim.wait_idle()
            return listing + hung_up
        finally:
            await sim.stop()

    ours = run(scenario())
    # Same messages, same headers in the same order.
    assert [list(b) for b in ours] == [list(b) for b in theirs]
    assert [b.get("Channel", "")[-2:] for b in ours] == [b.get("Channel", "")[-2:] for b in theirs]
    assert ours[-1]["ListItems"] == "1"


def test_an_injected_header_line_shows_as_an_extra_action_in_the_log():
    async def scenario():
        sim = await simulator()
        try:
            wire = await Wire.open(sim)
            await wire.action(
                "Action: DBPut\r\nFamily: oc\r\nKey: k\r\nVal: x\r\n\r\nAction: Hangup\r\nChannel: /.*/"
            )
            await wire.until(lambda data: data.count(b"Response:") >= 3)
            return [logged.name for logged in sim.actions_log]
        finally:
            await sim.stop()

    assert run(scenario()) == ["Login", "DBPut", "Hangup"]


def test_actions_are_logged_to_a_file(tmp_path):
    async def scenario():
        sim = PbxSimulator(Scenario(**FAST), USERS, log_actions=tmp_path / "actions.jsonl")
        await sim.start()
        try:
            wire = await Wire.open(sim)
            await wire.action("Action: Ping\r\nActionID: p")
            await wire.until(lambda data: b"Pong" in data)
        finally:
            await sim.stop()

    run(scenario())
    lines = (tmp_path / "actions.jsonl").read_text().splitlines()
    assert len(lines) == 2 and '"Ping"' in lines[1]


def originate_agent_first(
    uuid: str, agent: str = "PJSIP/1001", dial: str = "PJSIP/+33102020202@trunk"
) -> str:
    return (
        f"Action: Originate\r\nChannel: {agent}\r\nContext: oc-agent-first\r\nExten: s\r\nPriority: 1\r\n"
        f'Async: true\r\nTimeout: 20000\r\nCallerID: "Campaign 7" <+33100000000>\r\nChannelId: {uuid}\r\n'
        f"OtherChannelId: {uuid}-2\r\nVariable: OC_CALL_UUID={uuid},OC_CAMPAIGN_ID=7,OC_DAY={DAY},OC_DIAL={dial},"
        f"OC_DIAL_TIMEOUT=20,OC_CALLERID_NUM=+33100000000\r\nActionID: {uuid}"
    )


def originate_client_first(uuid: str, dial: str = "PJSIP/+33102020202@trunk", max_wait: int = 30) -> str:
    return (
        f"Action: Originate\r\nChannel: {dial}\r\nContext: oc-client-first\r\nExten: s\r\nPriority: 1\r\n"
        f'Async: true\r\nTimeout: 20000\r\nCallerID: "Campaign 7" <+33100000000>\r\nChannelId: {uuid}\r\n'
        f"Variable: OC_CALL_UUID={uuid},OC_CAMPAIGN_ID=7,OC_DAY={DAY},OC_MAX_WAIT={max_wait},OC_HOLD_MSG=oc/hold,"
        f"OC_ABANDON_MSG=oc/sorry\r\nActionID: {uuid}"
    )


@pytest.mark.parametrize(
    ("outcome", "dialstatus", "cause"),
    [
        ("answer", "ANSWER", "16"),
        ("busy", "BUSY", "17"),
        ("invalid", "CHANUNAVAIL", "1"),
        ("congestion", "CONGESTION", "34"),
    ],
)
def test_agent_first_records_the_outcome_in_astdb(outcome, dialstatus, cause):
    uuid = "c0ffee00-0000-4000-8000-000000000001"

    async def scenario():
        sim = await simulator(overrides={"+33102020202": outcome})
        try:
            wire = await Wire.open(sim)
            await wire.action(originate_agent_first(uuid))
            response = await wire.event("OriginateResponse")
            end = await wire.event("UserEvent", UserEvent="OcCallEnd")
            await sim.wait_idle()
            return response, end, sim.astdb.get(FAMILY, uuid)
        finally:
            await sim.stop()

    response, end, record = run(scenario())
    assert (response["Response"], response["Reason"], response["Uniqueid"]) == ("Success", "4", uuid)
    assert (end["Uuid"], end["DialStatus"], end["Cause"], end["Abandoned"]) == (uuid, dialstatus, cause, "0")
    fields = dict(item.split("=", 1) for item in record.split(";"))
    assert list(fields) == [
        "dialstatus",
        "cause",
        "answered",
        "connected",
        "ended",
        "abandoned",
        "amd",
        "amdcause",
        "message",
    ]
    assert (fields["dialstatus"], fields["cause"], bool(fields["answered"])) == (
        dialstatus,
        cause,
        outcome == "answer",
    )


def test_agent_first_agent_not_answering_fails_with_reason_3():
    async def scenario():
        sim = await simulator(agent_overrides={"PJSIP/1001": "no_answer"})
        try:
            wire = await Wire.open(sim)
            await wire.action(originate_agent_first("a1"))
            response = await wire.event("OriginateResponse")
            await sim.wait_idle()
            return response, sim.astdb.get(FAMILY, "a1")
        finally:
            await sim.stop()

    response, record = run(scenario())
    assert (response["Response"], response["Reason"], response["Channel"]) == ("Failure", "3", "PJSIP/1001")
    assert record is None  # the dialplan never ran


def originate_agent_bridge(uuid: str, customer: str, agent: str = "PJSIP/1001") -> str:
    return (
        f"Action: Originate\r\nChannel: {agent}\r\nContext: oc-agent-bridge\r\nExten: s\r\n"
        f"Priority: 1\r\nAsync: true\r\nTimeout: 20000\r\nChannelId: {uuid}-a\r\n"
        f"Variable: OC_CALL_UUID={uuid},OC_LEG=agent,OC_CUSTOMER={customer}\r\nActionID: oc-{uuid}-a"
    )


def test_client_first_connected_by_an_agent_leg_in_oc_agent_bridge():
    uuid = "c1"

    async def scenario():
        sim = await simulator(overrides={"+33102020202": "answer"}, talk_time=(2, 2))
        try:
            wire = await Wire.open(sim)
            await wire.action(originate_client_first(uuid))
            waiting = await wire.event("UserEvent", UserEvent="OcWaiting")
            await wire.action(originate_agent_bridge(uuid, waiting["Channel"]))
            connected = await wire.event("UserEvent", UserEvent="OcConnected")
            end = await wire.event("UserEvent", UserEvent="OcCallEnd")
            await sim.wait_idle()
            return waiting, connected, end, sim.astdb.get(FAMILY, uuid), wire.take()
        finally:
            await sim.stop()

    waiting, connected, end, record, data = run(scenario())
    assert waiting["Uuid"] == connected["Uuid"] == end["Uuid"] == uuid
    assert waiting["Channel"].startswith("PJSIP/trunk-") and waiting["Uniqueid"] == uuid
    # OcConnected comes from the agent's leg, running oc-agent-bridge.
    assert (connected["Uniqueid"], connected["Context"]) == (f"{uuid}-a", "oc-agent-bridge")
    entered = [b["Uniqueid"] for b in blocks(data) if b.get("Event") == "BridgeEnter"]
    assert sorted(entered) == [uuid, f"{uuid}-a"]
    assert end["Connected"] and end["Abandoned"] == "0"
    fields = dict(item.split("=", 1) for item in record.split(";"))
    assert fields["connected"] == end["Connected"] and fields["abandoned"] == "0"
    assert int(fields["answered"]) <= int(fields["connected"]) <= int(fields["ended"])


def test_an_application_bridge_leg_runs_no_dialplan_so_nothing_records_the_connection():
    """What real Asterisk does with Application: Bridge: the bridge, but no OcConnected."""
    uuid = "c3"

    async def scenario():
        sim = await simulator(overrides={"+33102020202": "answer"}, talk_time=(2, 2))
        try:
            wire = await Wire.open(sim)
            await wire.action(originate_client_first(uuid))
            waiting = await wire.event("UserEvent", UserEvent="OcWaiting")
            await wire.action(
                "Action: Originate\r\nChannel: PJSIP/1001\r\nApplication: Bridge\r\n"
                f"Data: {waiting['Channel']}\r\nAsync: true\r\nChannelId: {uuid}-a\r\n"
                f"Variable: OC_CALL_UUID={uuid},OC_LEG=agent\r\nActionID: {uuid}-a"
            )
            end = await wire.event("UserEvent", UserEvent="OcCallEnd")
            await sim.wait_idle()
            return end, sim.astdb.get(FAMILY, uuid), wire.take()
        finally:
            await sim.stop()

    end, record, data = run(scenario())
    assert data.count(b"Event: BridgeEnter\r\n") == 2 and b"OcConnected" not in data
    assert end["Connected"] == "" and ";connected=;" in record


@pytest.mark.parametrize("customer", ["gone", 'PJSIP/trunk-00000001"', "abandoned"])
def test_oc_agent_bridge_takes_only_a_customer_still_on_hold(customer):
    async def scenario():
        sim = await simulator(overrides={"+33102020202": "answer"})
        try:
            wire = await Wire.open(sim)
            if customer == "abandoned":  # a customer being played the abandon message, or gone
                await wire.action(originate_client_first("c4", max_wait=1))
                waiting = await wire.event("UserEvent", UserEvent="OcWaiting")
                await wire.event("UserEvent", UserEvent="OcAbandoned")
                target = waiting["Channel"]
            else:
                target = "PJSIP/trunk-00000099" if customer == "gone" else customer
            await wire.action(originate_agent_bridge("c4", target))
            hangup = await wire.event("Hangup", Uniqueid="c4-a")
            await sim.wait_idle()
            return hangup, wire.take()
        finally:
            await sim.stop()

    hangup, data = run(scenario())
    assert hangup["Cause"] == "16" and b"OcConnected" not in data and b"BridgeEnter" not in data


@pytest.mark.parametrize(
    "variables", ["OC_CALL_UUID=d2,OC_DAY=2025016", "OC_CALL_UUID=d2,OC_DAY=2025-01-06", "OC_CALL_UUID=d2"]
)
def test_a_first_channel_without_a_valid_oc_day_is_hung_up_unrecorded(variables):
    async def scenario():
        sim = await simulator(overrides={"+33102020202": "answer"})
        try:
            wire = await Wire.open(sim)
            await wire.action(
                "Action: Originate\r\nChannel: PJSIP/+33102020202@trunk\r\nContext: oc-client-first\r\n"
                f"Exten: s\r\nPriority: 1\r\nAsync: true\r\nChannelId: d2\r\nVariable: {variables}"
            )
            hangup = await wire.event("Hangup", Uniqueid="d2")
            await sim.wait_idle()
            return hangup, wire.take(), sim.astdb.family("oc")
        finally:
            await sim.stop()

    hangup, data, family = run(scenario())
    assert hangup["Cause"] == "16" and b"OcWaiting" not in data and b"OcCallEnd" not in data
    assert family == {}


def test_the_hangup_handler_prunes_the_families_of_8_to_14_days_before_once_a_day():
    now = int(time.time())

    def day(ago: int) -> str:
        return time.strftime("%Y%m%d", time.gmtime(now - ago * 86400))

    async def scenario():
        sim = await simulator(overrides={"+33102020202": "busy"})
        for ago in (7, 8, 11, 14, 15):
            sim.astdb.put(f"oc/{day(ago)}", "old", "x")
        sim.astdb.put("other", "k", "v")
        try:
            wire = await Wire.open(sim)
            await wire.action(originate_agent_first("e1"))
            await wire.event("UserEvent", UserEvent="OcCallEnd")
            await sim.wait_idle()
            after_first = {ago: sim.astdb.get(f"oc/{day(ago)}", "old") for ago in (7, 8, 11, 14, 15)}
            sim.astdb.put(f"oc/{day(9)}", "late", "x")
            await wire.action(originate_agent_first("e2"))
            await wire.event("UserEvent", UserEvent="OcCallEnd")
            await sim.wait_idle()
            return after_first, sim.astdb.get(f"oc/{day(9)}", "late"), sim.astdb.get("other", "k"), sim
        finally:
            await sim.stop()

    after_first, late, other, sim = run(scenario())
    assert after_first == {7: "x", 8: None, 11: None, 14: None, 15: "x"}
    assert late == "x"  # swept once a day only
    assert other == "v" and sim.astdb.get(FAMILY, "e1") and sim.astdb.get(FAMILY, "e2")


def test_client_first_without_agent_is_abandoned():
    async def scenario():
        sim = await simulator(overrides={"+33102020202": "answer"})
        try:
            wire = await Wire.open(sim)
            await wire.action(originate_client_first("c2", max_wait=5))
            abandoned = await wire.event("UserEvent", UserEvent="OcAbandoned")
            end = await wire.event("UserEvent", UserEvent="OcCallEnd")
            await sim.wait_idle()
            return abandoned, end, sim.astdb.get(FAMILY, "c2")
        finally:
            await sim.stop()

    abandoned, end, record = run(scenario())
    assert abandoned["Uuid"] == "c2" and end["Abandoned"] == "1"
    assert record.startswith("dialstatus=ANSWER;cause=16;") and ";abandoned=1;" in record


def test_customer_outcomes_follow_the_seeded_mix():
    mix = {"answer": 0.3, "busy": 0.2, "no_answer": 0.3, "invalid": 0.1, "congestion": 0.1}
    scenarios = [Scenario(seed=3, mix=mix) for _ in range(2)]
    draws = [[scenario.customer_outcome("PJSIP/1@t") for _ in range(200)] for scenario in scenarios]
    assert draws[0] == draws[1]
    assert set(draws[0]) == set(mix)
    assert Scenario(prefix_overrides={"+331": "busy", "+3310": "congestion"}).customer_outcome(
        "PJSIP/+33102@t"
    ) == ("congestion")


def test_calls_survive_a_dropped_connection_and_are_found_again():
    async def scenario():
        sim = await simulator(overrides={"+33102020202": "answer"}, talk_time=(60, 60))
        try:
            wire = await Wire.open(sim)
            await wire.action(originate_agent_first("d1"))
            await wire.event("BridgeEnter")
            sim.drop_connections()
            assert (await wire.until(lambda data: data.endswith(b"<closed>"))).endswith(b"<closed>")
            again = await Wire.open(sim)
            await again.action("Action: CoreShowChannels\r\nActionID: c")
            await again.event("CoreShowChannelsComplete")
            listed = [b["Uniqueid"] for b in blocks(again.take()) if b.get("Event") == "CoreShowChannel"]
            await again.action("Action: Hangup\r\nChannel: /^PJSIP/1001-/\r\nActionID: h")
            end = await again.event("UserEvent", UserEvent="OcCallEnd")
            return listed, end
        finally:
            await sim.stop()

    listed, end = run(scenario())
    assert "d1" in listed and end["Uuid"] == "d1"


def test_drop_every_n_actions_runs_the_action_but_never_answers():
    async def scenario():
        sim = await simulator()
        sim.faults.drop_every = 3  # Login is 1
        try:
            wire = await Wire.open(sim)
            await wire.action("Action: DBPut\r\nFamily: f\r\nKey: k\r\nVal: 1\r\nActionID: 2")
            await wire.action("Action: DBPut\r\nFamily: f\r\nKey: k\r\nVal: 2\r\nActionID: 3")
            data = await wire.until(lambda data: data.endswith(b"<closed>"))
            return data, sim.astdb.get("f", "k")
        finally:
            await sim.stop()

    data, value = run(scenario())
    assert b"ActionID: 2\r\n" in data and b"ActionID: 3\r\n" not in data and value == "2"


def test_lost_and_delayed_acks():
    async def scenario():
        sim = await simulator(overrides={"5550101": "busy"})
        try:
            wire = await Wire.open(sim)
            sim.faults.lose_ack("Originate")
            await wire.action(
                "Action: Originate\r\nChannel: Local/5550101@c\r\nApplication: Wait\r\n"
                "Async: yes\r\nActionID: o1"
            )
            await wire.event("OriginateResponse", ActionID="o1")
            sim.faults.delay_ack("Ping", 0.2)
            await wire.action(
                "Action: Ping\r\nActionID: p1\r\n\r\nAction: DBGet\r\nFamily: x\r\nKey: y\r\nActionID: d1"
            )
            await wire.until(lambda data: b"Pong" in data)
            return wire.take()
        finally:
            await sim.stop()

    data = run(scenario())
    assert b"Originate successfully queued" not in data
    assert data.index(b"ActionID: d1") < data.index(b"ActionID: p1")


def test_shutdown_event_then_close():
    async def scenario():
        sim = await simulator()
        try:
            wire = await Wire.open(sim)
            await sim.shutdown(restart=True)
            return await wire.until(lambda data: data.endswith(b"<closed>"))
        finally:
            await sim.stop()

    data = run(scenario())
    assert data.endswith(
        b"Event: Shutdown\r\nPrivilege: system,all\r\nShutdown: Cleanly\r\nRestart: True\r\n\r\n<closed>"
    )


def test_frozen_simulator_reads_but_never_answers():
    async def scenario():
        sim = await simulator()
        try:
            wire = await Wire.open(sim)
            wire.take()
            sim.faults.frozen = True
            await wire.action("Action: Ping\r\nActionID: p")
            with pytest.raises(asyncio.TimeoutError):
                await wire.until(lambda data: b"Pong" in data, timeout=0.2)
            return sim.actions("ping")
        finally:
            await sim.stop()

    assert len(run(scenario())) == 1


def test_default_user_has_least_privilege():
    async def scenario():
        sim = PbxSimulator(Scenario(**FAST))
        await sim.start()
        sim.astdb.put(FAMILY, "k", "v")
        try:
            wire = await Wire.open(sim)
            await wire.action("Action: Command\r\nCommand: core stop now\r\nActionID: c")
            await wire.action(f"Action: DBDel\r\nFamily: {FAMILY}\r\nKey: k\r\nActionID: d")
            await wire.action(f"Action: DBPut\r\nFamily: {FAMILY}\r\nKey: k\r\nVal: w\r\nActionID: p")
            await wire.action(f"Action: DBGet\r\nFamily: {FAMILY}\r\nKey: k\r\nActionID: g")
            await wire.event("DBGetComplete")
            return wire.take(), sim.astdb.get(FAMILY, "k")
        finally:
            await sim.stop()

    data, value = run(scenario())
    assert DEFAULT_USER.read == {"call", "user", "reporting"}
    assert DEFAULT_USER.write == {"originate", "call", "reporting"}
    assert b"FullyBooted" not in data  # no ``system`` read
    # DBDel and DBPut need ``system``: refused as Asterisk refuses Originate in transcript 13.
    assert b"Response: Error\r\nActionID: d\r\nMessage: Permission denied\r\n\r\n" in data
    assert b"Response: Error\r\nActionID: p\r\nMessage: Permission denied\r\n\r\n" in data
    assert b"Event: DBGetResponse\r\nFamily: oc/20250106\r\nKey: k\r\nVal: v\r\n" in data
    assert value == "v"


def test_run_in_thread_serves_synchronous_code():
    with (
        run_in_thread(Scenario(**FAST), USERS) as sim,
        socket.create_connection(("127.0.0.1", sim.port)) as sock,
    ):
        sock.sendall(b"Action: Login\r\nUsername: dialer\r\nSecret: dialer-secret\r\n\r\n")
        received = b""
        while b"Authentication accepted" not in received:
            received += sock.recv(4096)
        sim.drop_connections()
        while chunk := sock.recv(4096):
            received += chunk
    assert received.startswith(b"Asterisk Call Manager/11.0.0\r\n")


def originate_client_dial(uuid: str, dial: str = "PJSIP/+33102020202@trunk", max_wait: int = 30) -> str:
    """The contract-v3 client-first Originate: a Local channel whose ;2 runs oc-client-dial."""
    return (
        "Action: Originate\r\nChannel: Local/s@oc-client-dial/n\r\nContext: oc-client-first\r\nExten: s\r\n"
        f'Priority: 1\r\nAsync: true\r\nTimeout: 30000\r\nCallerID: "Campaign 7" <+33100000000>\r\n'
        f"ChannelId: {uuid}\r\nOtherChannelId: {uuid}-2\r\nVariable: OC_CALL_UUID={uuid},OC_CAMPAIGN_ID=7,"
        f"OC_DAY={DAY},OC_DIAL={dial},OC_DIAL_TIMEOUT=20,OC_CALLERID_NUM=+33100000000,OC_MAX_WAIT={max_wait},"
        f"OC_HOLD_MSG=oc/hold,OC_ABANDON_MSG=oc/sorry\r\nActionID: oc-{uuid}"
    )


@pytest.mark.parametrize(
    ("outcome", "status", "cause"),
    [("busy", "BUSY", "17"), ("no_answer", "NOANSWER", "19"), ("congestion", "CONGESTION", "34"),
     ("invalid", "CHANUNAVAIL", "1")],
)  # fmt: skip
def test_client_first_local_dial_not_answered_is_recorded_by_the_second_half(outcome, status, cause):
    """As Asterisk 22 does (tests/asterisk): the Originate fails with Reason 0 and the Uniqueid
    of ;1 whatever the dial got; the DialEnd, the causes and the dial record tell."""
    uuid = "c0ffee00-0000-4000-8000-0000000000c5"

    async def scenario():
        sim = await simulator(overrides={"+33102020202": outcome})
        try:
            wire = await Wire.open(sim)
            await wire.action(originate_client_dial(uuid))
            response = await wire.event("OriginateResponse")
            await sim.wait_idle()
            return response, blocks(wire.take()), sim.astdb.get(FAMILY, f"{uuid}-dial"), sim
        finally:
            await sim.stop()

    response, events, record, sim = run(scenario())
    assert (response["Response"], response["Reason"], response["Uniqueid"]) == ("Failure", "0", uuid)
    news = [e for e in events if e.get("Event") == "Newchannel"]
    assert [(e["Uniqueid"], e["Linkedid"]) for e in news[:2]] == [(uuid, uuid), (f"{uuid}-2", uuid)]
    assert news[0]["Channel"].startswith("Local/s@oc-client-dial-") and news[0]["Channel"].endswith(";1")
    assert news[2]["Linkedid"] == uuid and news[2]["Channel"].startswith("PJSIP/trunk-")
    (begin,) = [e for e in events if e.get("Event") == "DialBegin" and e.get("Uniqueid") == f"{uuid}-2"]
    assert begin["DestLinkedid"] == uuid
    (end,) = [e for e in events if e.get("Event") == "DialEnd" and e.get("Uniqueid") == f"{uuid}-2"]
    assert end["DialStatus"] == DIAL_EVENT_STATUS.get(outcome, status)
    hangups = {e["Uniqueid"]: e["Cause"] for e in events if e.get("Event") == "Hangup"}
    assert hangups[f"{uuid}-2"] == cause
    fields = dict(item.split("=", 1) for item in record.split(";"))
    assert list(fields) == ["dialstatus", "cause", "answered", "ended"]
    assert (fields["dialstatus"], fields["cause"], fields["answered"]) == (status, cause, "")
    assert sim.astdb.get(FAMILY, uuid) is None  # oc-client-first never ran: no main record
    assert sim.call(uuid).outcome == outcome
    assert b"OcCallEnd" not in b"".join(str(e).encode() for e in events)


DIAL_EVENT_STATUS = {"invalid": "NOANSWER"}  # DialEnd vs DIALSTATUS (see pbxsim.calls)


def test_defect_k_the_customer_waits_while_the_hold_message_plays():
    """OcWaiting on answer, the hold message playing meanwhile; the agent takes the customer out
    of it (as oc-client-first does since defect k)."""
    uuid = "c0ffee00-0000-4000-8000-0000000000c9"

    async def scenario():
        # 500 simulated seconds of hold message: the agent always comes before its end.
        sim = await simulator(overrides={"+33102020202": "answer"}, talk_time=(2, 2), hold_message_time=500)
        try:
            wire = await Wire.open(sim)
            await wire.action(originate_client_dial(uuid))
            waiting = await wire.event("UserEvent", UserEvent="OcWaiting")
            await wire.action("Action: CoreShowChannels\r\nActionID: csc")
            await wire.event("CoreShowChannelsComplete")
            (customer,) = [
                b for b in blocks(wire.data) if b.get("Event") == "CoreShowChannel" and b["Uniqueid"] == uuid
            ]
            await wire.action(originate_agent_bridge(uuid, waiting["Channel"]))
            await wire.event("UserEvent", UserEvent="OcConnected")
            end = await wire.event("UserEvent", UserEvent="OcCallEnd")
            await sim.wait_idle()
            return customer, end, wire.take()
        finally:
            await sim.stop()

    customer, end, data = run(scenario())
    assert (customer["Application"], customer["ApplicationData"], customer["Exten"]) == (
        "Playback",
        "oc/hold",
        "s",
    )
    assert end["Connected"] and end["Abandoned"] == "0" and b"OcAbandoned" not in data


def test_client_first_local_dial_answered_runs_oc_client_first_on_the_first_half():
    uuid = "c0ffee00-0000-4000-8000-0000000000c6"

    async def scenario():
        sim = await simulator(overrides={"+33102020202": "answer"}, talk_time=(2, 2))
        try:
            wire = await Wire.open(sim)
            await wire.action(originate_client_dial(uuid))
            response = await wire.event("OriginateResponse")
            waiting = await wire.event("UserEvent", UserEvent="OcWaiting")
            await wire.action(originate_agent_bridge(uuid, waiting["Channel"]))
            end = await wire.event("UserEvent", UserEvent="OcCallEnd")
            await sim.wait_idle()
            return response, waiting, end, sim.astdb.get(FAMILY, uuid), sim.astdb.get(FAMILY, f"{uuid}-dial")
        finally:
            await sim.stop()

    response, waiting, end, main, dial = run(scenario())
    assert (response["Response"], response["Reason"], response["Uniqueid"]) == ("Success", "4", uuid)
    assert waiting["Uniqueid"] == uuid and waiting["Channel"].startswith("Local/s@oc-client-dial-")
    assert waiting["Channel"].endswith(";1")
    assert end["Connected"] and end["Abandoned"] == "0" and main.startswith("dialstatus=ANSWER;")
    fields = dict(item.split("=", 1) for item in dial.split(";"))
    assert fields["dialstatus"] == "ANSWER" and int(fields["answered"]) <= int(fields["ended"])


# --- agents' phones: device state -----------------------------------------------------------------


def device_events(data: bytes) -> list[tuple[str, str]]:
    return [(b["Device"], b["State"]) for b in blocks(data) if b.get("Event") == "DeviceStateChange"]


def test_an_agent_first_call_moves_the_agents_device_and_the_list_shows_it():
    uuid = "c0ffee00-0000-4000-8000-0000000000d1"

    async def scenario():
        sim = await simulator(overrides={"+33102020202": "answer"})
        try:
            wire = await Wire.open(sim, login=None)
            await wire.action("Action: Login\r\nUsername: dialer\r\nSecret: dialer-secret\r\nActionID: l")
            await wire.until(lambda data: b"Authentication accepted" in data)
            await wire.action(originate_agent_first(uuid))
            await wire.event("UserEvent", UserEvent="OcCallEnd")
            await wire.event("DeviceStateChange", Device="PJSIP/1001", State="NOT_INUSE")
            live = wire.take()
            await wire.action("Action: DeviceStateList\r\nActionID: ds-1")
            await wire.event("DeviceStateListComplete")
            return live, wire.take()
        finally:
            await sim.stop()

    live, listed = run(scenario())
    # Least privilege is enough: DeviceStateChange is a ``call`` event.
    assert [state for device, state in device_events(live) if device == "PJSIP/1001"] == [
        "NOT_INUSE",
        "RINGING",
        "INUSE",
        "NOT_INUSE",
    ]
    assert {device for device, _state in device_events(live)} == {"PJSIP/1001"}, "customers are not tracked"
    events = blocks(live)
    ringing = next(i for i, b in enumerate(events) if b.get("State") == "RINGING")
    newstate = next(
        i for i, b in enumerate(events) if b.get("Event") == "Newstate" and b.get("Uniqueid") == uuid
    )
    hangup = next(i for i, b in enumerate(events) if b.get("Event") == "Hangup" and b.get("Uniqueid") == uuid)
    freed = max(i for i, b in enumerate(events) if b.get("State") == "NOT_INUSE")
    assert newstate < ringing and hangup < freed, "the device follows its channel's events"
    assert (
        b"Event: DeviceStateChange\r\nActionID: ds-1\r\nDevice: PJSIP/1001\r\nState: NOT_INUSE\r\n\r\n"
        b"Event: DeviceStateListComplete\r\nActionID: ds-1\r\nEventList: Complete\r\nListItems: 1\r\n\r\n"
    ) in listed


def test_a_call_the_dialer_did_not_place_makes_the_phone_busy_until_it_ends():
    uuid = "c0ffee00-0000-4000-8000-0000000000d2"

    async def scenario():
        sim = await simulator()
        try:
            wire = await Wire.open(sim)
            sim.outside_call("PJSIP/1001")
            busy = await wire.event("DeviceStateChange", Device="PJSIP/1001")
            await wire.action(originate_agent_first(uuid))
            response = await wire.event("OriginateResponse")
            await sim.wait_idle()
            sim.outside_call("PJSIP/1001", up=False)
            free = await wire.event("DeviceStateChange", Device="PJSIP/1001", State="NOT_INUSE")
            return busy, response, free, [c.dial_outcome for c in sim.calls]
        finally:
            await sim.stop()

    busy, response, free, dialled = run(scenario())
    assert busy["State"] == "INUSE"
    assert (response["Response"], response["Reason"]) == ("Failure", "5"), "the phone answers busy"
    assert free["State"] == "NOT_INUSE"
    assert dialled == [""], "the customer was never dialled"


def test_an_unregistered_phone_is_unavailable_and_cannot_be_called():
    async def scenario():
        sim = await simulator(unregistered_devices=frozenset({"PJSIP/1001"}))
        try:
            wire = await Wire.open(sim)
            await wire.action("Action: DeviceStateList\r\nActionID: ds-2")
            await wire.event("DeviceStateListComplete")
            listed = device_events(wire.take())
            await wire.action(originate_agent_first("c0ffee00-0000-4000-8000-0000000000d3"))
            response = await wire.event("OriginateResponse")
            sim.register_device("PJSIP/1001")
            registered = await wire.event("DeviceStateChange", Device="PJSIP/1001")
            return listed, response, registered, sim.channels
        finally:
            await sim.stop()

    listed, response, registered, channels = run(scenario())
    assert listed == [("PJSIP/1001", "UNAVAILABLE")]
    assert (response["Response"], response["Reason"], response["Uniqueid"]) == ("Failure", "0", "<unknown>")
    assert registered["State"] == "NOT_INUSE"
    assert channels == []


def test_device_state_changes_are_call_events():
    async def scenario():
        sim = PbxSimulator(Scenario(**FAST), {"user-only": AmiUser.from_spec("s", read="user", write="call")})
        await sim.start()
        try:
            wire = await Wire.open(sim, login=None)
            await wire.action("Action: Login\r\nUsername: user-only\r\nSecret: s")
            await wire.until(lambda data: b"Authentication accepted" in data)
            sim.outside_call("PJSIP/1001")
            await wire.action("Action: Ping\r\nActionID: p")
            await wire.until(lambda data: b"Pong" in data)
            return wire.take()
        finally:
            await sim.stop()

    assert b"DeviceStateChange" not in run(scenario())
