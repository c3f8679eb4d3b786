"""The AMI layer against the PBX simulator over real TCP, and the header checks it runs first."""

from __future__ import annotations

import asyncio
import logging

import pytest

from outbound_campaign.dialer.ami import (
    AmiActionError,
    AmiAuthError,
    AmiClient,
    OriginateUnknown,
)
from outbound_campaign.dialer.ami_headers import AmiHeaderError, join_variables, validate_headers
from outbound_campaign.dialer.ami_wire import AmiProtocol, parse_event
from pbxsim import AmiUser, PbxSimulator, Scenario

USERS = {
    "dialer": AmiUser.from_spec("dialer-secret", "all"),
    "readonly": AmiUser.from_spec("readonly-secret", read="call", write="reporting"),
}
UUID = "c0ffee00-0000-4000-8000-000000000001"
DAY = "20250106"  # OC_DAY: the dialplan files the call's record under AstDB family oc/<DAY>
FAMILY = f"oc/{DAY}"
INJECTIONS = [
    "x\r\n\r\nAction: Hangup\r\nChannel: /.*/",
    "x\nAction: Hangup",
    "x\0",
    "x\r",
    "x\tY",
    "x\x7f",
    "x\u2028",
]


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 20))


def agent_first(uuid: str = UUID, **extra: object) -> dict[str, object]:
    return {
        "Channel": "PJSIP/1001",
        "Context": "oc-agent-first",
        "Exten": "s",
        "Priority": "1",
        "Timeout": "20000",
        "CallerID": '"Campaign 7" <+33100000000>',
        "ChannelId": uuid,
        "OtherChannelId": f"{uuid}-2",
        "Variable": {
            "OC_CALL_UUID": uuid,
            "OC_CAMPAIGN_ID": "7",
            "OC_DAY": DAY,
            "OC_DIAL": "PJSIP/+33102020202@trunk",
            "OC_DIAL_TIMEOUT": "20",
            "OC_CALLERID_NUM": "+33100000000",
        },
        **extra,
    }


async def started(**scenario) -> tuple[PbxSimulator, AmiClient]:
    sim = PbxSimulator(Scenario(**{"time_scale": 0.002, "seed": 1, **scenario}), USERS)
    await sim.start()
    client = AmiClient(
        "127.0.0.1", sim.port, "dialer", "dialer-secret", reconnect_delay=0.02, reconnect_max_delay=0.1
    )
    await client.start()
    return sim, client


async def stopped(sim: PbxSimulator, client: AmiClient) -> None:
    await client.close()
    await sim.stop()


# ---- validation (pure) ----------------------------------------------------------------------


@pytest.mark.parametrize("value", INJECTIONS)
def test_control_characters_are_refused_not_stripped(value):
    with pytest.raises(AmiHeaderError, match="'Channel'"):
        validate_headers({"Channel": value})


@pytest.mark.parametrize("name", ["Chan nel", "Channel:", "Chännel", "", "X\r\nAction"])
def test_bad_header_names_are_refused(name):
    with pytest.raises(AmiHeaderError):
        validate_headers({name: "x"})


def test_variables_are_joined_after_checking_names_and_values():
    assert join_variables({"OC_CALL_UUID": "u", "OC_CAMPAIGN_ID": 7}) == "OC_CALL_UUID=u,OC_CAMPAIGN_ID=7"
    for bad in ({"OC_DIAL": "a,b"}, {"1BAD": "x"}, {"CHANNEL(language)": "fr"}, {"A": "x\r\nB"}):
        with pytest.raises(AmiHeaderError):
            join_variables(bad)
    with pytest.raises(AmiHeaderError):
        validate_headers({"Variable": "A=1,Action: Hangup"})


def test_duplicate_and_over_long_headers_are_refused():
    with pytest.raises(AmiHeaderError, match="twice"):
        validate_headers({"Channel": "a", "channel": "b"})
    with pytest.raises(AmiHeaderError, match="longer"):
        validate_headers({"Data": "x" * 2000})


# ---- over the wire ------------------------------------------------------------------------------


def test_login_and_bad_login():
    async def scenario():
        sim, client = await started()
        pong = await client.ping()
        bad = AmiClient("127.0.0.1", sim.port, "dialer", "wrong")
        with pytest.raises(AmiAuthError, match="Authentication failed"):
            await bad.start()
        await stopped(sim, client)
        return pong

    assert run(scenario()) >= 0


def test_header_injection_through_every_field_never_reaches_the_wire():
    async def scenario():
        sim, client = await started()
        fields = [*agent_first(), "ActionID"]
        for field in fields:
            for value in INJECTIONS:
                if field == "Variable":
                    headers = agent_first(Variable={"OC_CALL_UUID": value})
                else:
                    headers = {**agent_first(), field: value}
                with pytest.raises(AmiHeaderError):
                    await client.originate(headers)
        for call in (
            client.db_put("oc", "k\r\nAction: Hangup", "v"),
            client.db_get("oc\0", "k"),
            client.hangup("PJSIP/1001\nAction: Originate"),
            client.redirect("PJSIP/1001", "ctx\r\n", "s"),
            client.user_event("OcTest", {"Uuid": "x\r\n\r\nAction: Logoff"}),
        ):
            with pytest.raises(AmiHeaderError):
                await call
        names = [logged.name for logged in sim.actions_log]
        await stopped(sim, client)
        return names

    assert run(scenario()) == ["Login"]


def test_concurrent_originates_are_correlated_by_action_id():
    outcomes = {"+33100000001": "answer", "+33100000002": "busy", "+33100000003": "congestion"}

    async def scenario():
        sim, client = await started(overrides=outcomes)
        orders = [
            {"Channel": f"PJSIP/{number}@trunk", "Application": "Wait", "Data": "1", "ChannelId": f"u{i}"}
            for i, number in enumerate(outcomes)
        ]
        results = await asyncio.gather(*(client.originate(order) for order in orders))
        await stopped(sim, client)
        return results

    results = run(scenario())
    assert [(r.success, r.reason) for r in results] == [(True, 4), (False, 5), (False, 8)]
    assert results[0].uniqueid == "u0" and len({r.action_id for r in results}) == 3


def test_agent_first_outcome_and_astdb_helpers():
    async def scenario():
        sim, client = await started(overrides={"+33102020202": "answer"}, talk_time=(200, 200))
        ended = asyncio.Event()
        client.on_event("UserEvent", lambda event: ended.set() if event["UserEvent"] == "OcCallEnd" else None)
        result = await client.originate(agent_first())
        await asyncio.sleep(0.05)
        channels = await client.core_show_channels()
        assert await client.hangup(f"/^{channels[0]['Channel'].split('-')[0]}-/")
        await ended.wait()
        record = await client.db_get(FAMILY, UUID)
        deleted = await client.db_del(FAMILY, UUID)
        missing = await client.db_get(FAMILY, UUID)
        await stopped(sim, client)
        return result, channels, record, deleted, missing

    result, channels, record, deleted, missing = run(scenario())
    assert (result.success, result.reason, result.uniqueid) == (True, 4, UUID)
    assert UUID in {c["Uniqueid"] for c in channels}
    assert record.startswith("dialstatus=ANSWER;") and deleted and missing is None


def test_device_state_list_then_live_changes():
    async def scenario():
        sim, client = await started(busy_devices=frozenset({"PJSIP/1001"}))
        changes = asyncio.Queue()
        client.on_event("DeviceStateChange", changes.put_nowait)
        listed = await client.device_state_list()
        sim.outside_call("PJSIP/1001", up=False)
        change = await asyncio.wait_for(changes.get(), 5)
        await stopped(sim, client)
        return listed, change

    listed, change = run(scenario())
    assert [(item["Device"], item["State"]) for item in listed] == [("PJSIP/1001", "INUSE")]
    assert (change["Device"], change["State"]) == ("PJSIP/1001", "NOT_INUSE"), "the list items are not events"


def test_refused_originate_raises_action_error():
    async def scenario():
        sim = PbxSimulator(Scenario(time_scale=0.002), USERS)
        await sim.start()
        client = AmiClient("127.0.0.1", sim.port, "readonly", "readonly-secret")
        await client.start()
        with pytest.raises(AmiActionError, match="Permission denied"):
            await client.originate(agent_first())
        await stopped(sim, client)

    run(scenario())


def test_originate_whose_link_drops_after_sending_is_not_resent():
    async def scenario():
        sim, client = await started(overrides={"+33102020202": "answer"})
        states: list[str] = []
        client.on_connected(lambda c: states.append("connected"))
        client.on_disconnected(lambda c: states.append("disconnected"))
        sim.faults.drop_after("Originate")
        with pytest.raises(OriginateUnknown) as caught:
            await client.originate(agent_first())
        await client.wait_connected(5)
        await client.ping()
        await sim.wait_idle()
        originates = sim.actions("Originate")
        record = await client.db_get(FAMILY, UUID)
        await stopped(sim, client)
        return caught.value, originates, states, record

    unknown, originates, states, record = run(scenario())
    assert unknown.headers["ChannelId"] == UUID
    assert len(originates) == 1  # ran once, never replayed
    assert states == ["disconnected", "connected"]
    assert record is not None  # the call went on: reconcile finds its outcome in AstDB


def test_lost_ack_still_resolves_with_the_originate_response():
    async def scenario():
        sim, client = await started(overrides={"+33102020202": "busy"})
        sim.faults.lose_ack("Originate")
        result = await client.originate({"Channel": "PJSIP/+33102020202@trunk", "Application": "Wait"})
        await stopped(sim, client)
        return result

    assert run(scenario()).reason == 5


def test_reconnects_after_a_dropped_connection():
    async def scenario():
        sim, client = await started()
        sim.drop_connections()
        await asyncio.sleep(0.01)
        await client.wait_connected(5)
        await client.ping()
        logins = len(sim.actions("Login"))
        await stopped(sim, client)
        return logins

    assert run(scenario()) == 2


def test_watchdog_drops_a_silent_peer_and_reconnects():
    async def scenario():
        sim = PbxSimulator(Scenario(time_scale=0.002), USERS)
        await sim.start()
        client = AmiClient(
            "127.0.0.1",
            sim.port,
            "dialer",
            "dialer-secret",
            ping_interval=0.05,
            ping_timeout=0.1,
            reconnect_delay=0.02,
        )
        lost = asyncio.Event()
        client.on_disconnected(lambda c: lost.set())
        await client.start()
        sim.faults.frozen = True
        await lost.wait()
        sim.faults.frozen = False
        await client.wait_connected(5)
        logins = len(sim.actions("Login"))
        await stopped(sim, client)
        return logins

    assert run(scenario()) >= 2


def test_a_raising_callback_does_not_kill_the_connection(caplog):
    async def scenario():
        sim, client = await started()
        seen = asyncio.Event()

        def broken(event):
            raise RuntimeError("bug in a callback")

        async def broken_async(event):
            raise RuntimeError("bug in an async callback")

        client.on_event("UserEvent", broken)
        client.on_event("UserEvent", broken_async)
        client.on_event("UserEvent", lambda event: seen.set())
        await client.user_event("OcTest", {"Uuid": "1"})
        await seen.wait()
        await client.ping()
        logins = len(sim.actions("Login"))
        await stopped(sim, client)
        return logins

    with caplog.at_level(logging.ERROR):
        assert run(scenario()) == 1
    assert "bug in a callback" in caplog.text and "bug in an async callback" in caplog.text


class _Transport:
    def write(self, data):
        pass

    def close(self):
        pass


class _Link:
    """What the protocol reports to: unparsed events, panoramisk's messages, a lost link."""

    def __init__(self):
        self.events, self.messages, self.lost = [], [], []

    def event(self, name, frame):
        self.events.append((name, parse_event(frame)))

    def dispatch(self, message):
        self.messages.append(message)

    def connection_lost(self, reason):
        self.lost.append(reason)


def test_the_wire_reads_events_split_anywhere_and_leaves_answers_to_panoramisk():
    protocol = AmiProtocol()
    protocol.connection_made(_Transport())
    protocol.factory = link = _Link()
    protocol.data_received(b"Asterisk Call Manager/11.0.0\r\n")  # alone: Asterisk waits for a Login
    wire = (
        b"Response: Success\r\nActionID: login\r\nMessage: Authentication accepted\r\n\r\n"
        b"Event: Newchannel\r\nChannel: PJSIP/1001-00000001\r\nUniqueid: u1\r\n\r\n"
        b"Event: VarSet\r\nChanVariable: A=1\r\nChanVariable: B=2\r\nValue: x: y\r\n\r\n"
        b"Event: OriginateResponse\r\nActionID: nobody-waits\r\nResponse: Failure\r\n\r\n"
        b"Event: Hangup\r\nUniqueid: u1\r\nCause: 16\r\n\r\n"
        b"Event: Shutdown\r\nShutdown: Uncleanly\r\n\r\n"
    )
    cut = wire.index(b"Uniqueid: u1") + 4  # the first read ends inside a header
    for chunk in (wire[:cut], wire[cut : cut + 50], wire[cut + 50 :]):
        protocol.data_received(chunk)
    assert protocol.version == "11.0.0"
    assert link.events == [
        ("Newchannel", {"Event": "Newchannel", "Channel": "PJSIP/1001-00000001", "Uniqueid": "u1"}),
        ("VarSet", {"Event": "VarSet", "ChanVariable": ["A=1", "B=2"], "Value": "x: y"}),
        ("Hangup", {"Event": "Hangup", "Uniqueid": "u1", "Cause": "16"}),
    ]
    # An event carrying an ActionID may answer an action: panoramisk routes it (here to the
    # callbacks, as nothing waits for it); Shutdown closes the link, then reaches the callbacks.
    assert [message["Event"] for message in link.messages] == ["OriginateResponse", "Shutdown"]
    assert len(link.lost) == 1


def test_events_reach_callbacks_as_dicts_and_only_the_wanted_ones():
    async def scenario():
        sim, client = await started()
        early, late = [], asyncio.Event()
        client.on_event("UserEvent", early.append)
        await client.user_event("OcTest", {"Uuid": "1"})
        await client.ping()
        client.on_event("User*", lambda event: late.set())  # a callback added later is served too
        await client.user_event("OcTest", {"Uuid": "2"})
        await late.wait()
        routes = dict(client._routes)
        await stopped(sim, client)
        return early, routes

    early, routes = run(scenario())
    assert [(type(event), event["UserEvent"], event["Uuid"]) for event in early] == [
        (dict, "OcTest", "1"),
        (dict, "OcTest", "2"),
    ]
    # Only the names that arrived were looked up, each once; none reached a callback unasked.
    assert set(routes) <= {"UserEvent", "FullyBooted", "SuccessfulAuth"} and len(routes["UserEvent"]) == 2
