"""Answering machines and recordings on a real Asterisk (issue 11): the shipped dialplan's
[oc-amd], [oc-leave-message] and [oc-record], driven with the variables the engine puts on the
Originate (``dialer/amd.py``, ``dialer/orders.py``). The machines of the test dialplan play a
long greeting and a beep, then record what they hear; the people say "hello" and go quiet."""

from __future__ import annotations

import array
import math
import time
import wave
from datetime import datetime, timezone
from pathlib import Path

import pytest
from asterisk_session import AmiSession, run, utc_day
from conftest import pbx_with_a_clean_log, requires_asterisk

from outbound_campaign.dialer.amd import AmdSettings
from outbound_campaign.dialer.events import fold_event
from outbound_campaign.dialer.orders import LeaveMessageOrder
from outbound_campaign.dialer.outcomes import Outcome, classify, parse_astdb_value
from outbound_campaign.dialer.views import CallState, CallView, CampaignType
from realpbx import Agent, Customer
from realpbx.dialplan import heard_path

pytestmark = requires_asterisk

MACHINE = "+447700900101"
MACHINE_FOR_A_MESSAGE = "+447700900102"
PERSON = "+447700900103"
TALKS = "+447700900104"
MACHINE_FOR_THE_AGENT = "+447700900105"
MACHINE_AGENT_FIRST = "+447700900106"
CUSTOMERS = {
    MACHINE: Customer.machine(),
    MACHINE_FOR_A_MESSAGE: Customer.machine(),
    PERSON: Customer.person(),
    TALKS: Customer.talks("vm-intro"),
    MACHINE_FOR_THE_AGENT: Customer.machine(),
    MACHINE_AGENT_FIRST: Customer.machine(),
}
AGENTS = {"agent": Agent.answer()}
#: The campaign's message left on machines (2.96 s of speech).
MESSAGE = "tt-weasels"
DIAL_TIMEOUT = 5
FRAME = 160  # samples of 20 ms at 8 kHz


@pytest.fixture(scope="module")
def pbx():
    yield from pbx_with_a_clean_log(customers=CUSTOMERS, agents=AGENTS)


def detection(**settings) -> dict[str, str]:
    """The variables the engine adds for a client-first campaign with detection on."""
    return AmdSettings(enabled=True, **settings).variables(CampaignType.CLIENT_FIRST)


def record(pbx, uuid: str) -> dict[str, str]:
    raw = pbx.astdb("oc").get(f"{utc_day()}/{uuid}")
    assert raw is not None, f"no AstDB record {uuid}"
    return dict(item.partition("=")[::2] for item in raw.split(";"))


def wait_for_file(path: Path, timeout: float = 10.0) -> Path:
    """A file Asterisk writes when a channel ends: there, and no longer growing."""
    deadline, size = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size == size and size > 44:
            return path
        size = path.stat().st_size if path.exists() else -1
        time.sleep(0.3)
    raise AssertionError(f"{path} was not written")


def envelope(path: Path) -> list[float]:
    """Loudness of each 20 ms of a 16-bit mono wav."""
    with wave.open(str(path)) as wav:
        samples = array.array("h", wav.readframes(wav.getnframes()))
    return [
        math.sqrt(sum(s * s for s in samples[i : i + FRAME]) / FRAME)
        for i in range(0, len(samples) - FRAME, FRAME)
    ]


def best_correlation(heard: list[float], sound: list[float]) -> float:
    """How well ``sound``'s loudness matches some stretch of ``heard`` (Pearson, best offset)."""

    def pearson(a: list[float], b: list[float]) -> float:
        mean_a, mean_b = sum(a) / len(a), sum(b) / len(b)
        cov = sum((x - mean_a) * (y - mean_b) for x, y in zip(a, b, strict=True))
        var = math.sqrt(sum((x - mean_a) ** 2 for x in a) * sum((y - mean_b) ** 2 for y in b))
        return cov / var if var else 0.0

    if len(heard) < len(sound):
        return 0.0
    return max(pearson(heard[at : at + len(sound)], sound) for at in range(len(heard) - len(sound) + 1))


def duration(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def test_a_machine_is_detected_and_hung_up_never_waiting_for_an_agent(pbx):
    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.client_first(pbx.dial_string(MACHINE), DIAL_TIMEOUT, max_wait=10, settings=detection())
            machine = await ami.user_event("OcMachine", uuid)
            end = await ami.user_event("OcCallEnd", uuid)
            return uuid, machine, end, ami.of_call(uuid)

    uuid, machine, end, events = run(scenario())
    assert machine["AmdStatus"] == "MACHINE" and machine["AmdCause"]
    assert not [e for e in events if e.get("UserEvent") == "OcWaiting"]
    assert (end["AmdStatus"], end["Message"], end["Abandoned"]) == ("MACHINE", "0", "0")
    stored = parse_astdb_value(pbx.astdb("oc")[f"{utc_day()}/{uuid}"])
    assert (stored.amd_status, stored.amd_cause) == ("MACHINE", machine["AmdCause"])
    assert classify(CampaignType.CLIENT_FIRST, reason=4, answered=True, machine=True) is Outcome.MACHINE
    assert record(pbx, uuid)["message"] == "0"


def test_a_machine_is_left_the_campaigns_message_after_the_beep(pbx):
    async def scenario():
        async with AmiSession.of(pbx) as ami:
            settings = detection(on_machine="message", message=MESSAGE)
            uuid = ami.client_first(
                pbx.dial_string(MACHINE_FOR_A_MESSAGE), DIAL_TIMEOUT, max_wait=10, settings=settings
            )
            await ami.user_event("OcMachine", uuid)
            end = await ami.user_event("OcCallEnd", uuid, timeout=40)
            return uuid, end

    uuid, end = run(scenario())
    assert (end["AmdStatus"], end["Message"]) == ("MACHINE", "1")
    assert parse_astdb_value(pbx.astdb("oc")[f"{utc_day()}/{uuid}"]).message_left
    # What the machine recorded after its beep is the campaign's message.
    assert heard_the_message(pbx, MACHINE_FOR_A_MESSAGE) > 0.9


def heard_the_message(pbx, number: str) -> float:
    """How well what the machine ``number`` recorded matches the campaign's message."""
    spool = pbx.run_dir / "spool"
    heard = wait_for_file(Path(heard_path(str(spool), number)))
    converted = spool / f"message-{number[1:]}.wav"
    pbx.cli(f"file convert {pbx.run_dir}/lib/sounds/en/{MESSAGE}.gsm {converted}")
    return best_correlation(envelope(heard), envelope(wait_for_file(converted)))


def test_the_agent_leaves_the_message_and_is_free_at_once(pbx):
    """Agent first: the agent hears a greeting and presses Leave message; the engine's order
    (one Redirect of both channels) lets the agent go while the machine gets the message."""

    async def scenario():
        async with AmiSession.of(pbx) as ami:
            settings = AmdSettings(on_machine="message", message=MESSAGE).variables(CampaignType.AGENT_FIRST)
            uuid = ami.agent_first(
                pbx.agent_channel("agent"),
                pbx.dial_string(MACHINE_FOR_THE_AGENT),
                DIAL_TIMEOUT,
                settings=settings,
            )
            await ami.wait_for(lambda e: e.get("Event") == "DialEnd" and e.get("Uniqueid") == uuid)
            # the engine's view of the call, from the events it saw
            call = CallView(uuid, 1, 1, 1, CampaignType.AGENT_FIRST, state=CallState.QUEUED)
            for event in ami.of_call(uuid):
                call = fold_event(call, event, datetime.now(timezone.utc)).call
            answer = await ami.client.send_action(LeaveMessageOrder(call).to_ami_headers())
            await ami.hangup_of(uuid)  # the agent is let go at once
            end = await ami.user_event("OcCallEnd", uuid)
            freed = time.monotonic()
            await ami.wait_for(
                lambda e: (
                    e.get("Event") == "Hangup"
                    and e.get("Channel", "").startswith(f"Local/{MACHINE_FOR_THE_AGENT}@")
                ),
                timeout=40,
            )
            return uuid, answer, end, time.monotonic() - freed

    uuid, answer, end, message_time = run(scenario())
    assert answer.success, answer
    assert (end["DialStatus"], end["Message"]) == ("ANSWER", "1")
    assert message_time > 2.0, "the agent was free before the message was played"
    stored = parse_astdb_value(pbx.astdb("oc")[f"{utc_day()}/{uuid}"])
    assert classify(
        CampaignType.AGENT_FIRST, reason=4, dial_status="ANSWER", message_left=stored.message_left
    ) is (Outcome.MACHINE_MESSAGE_LEFT)
    assert heard_the_message(pbx, MACHINE_FOR_THE_AGENT) > 0.9


def test_agent_first_detection_when_asked_hangs_up_the_machine_before_the_agent_hears_it(pbx):
    async def scenario():
        async with AmiSession.of(pbx) as ami:
            settings = AmdSettings(enabled=True, agent_first=True).variables(CampaignType.AGENT_FIRST)
            uuid = ami.agent_first(
                pbx.agent_channel("agent"),
                pbx.dial_string(MACHINE_AGENT_FIRST),
                DIAL_TIMEOUT,
                settings=settings,
            )
            machine = await ami.user_event("OcMachine", uuid)
            end = await ami.user_event("OcCallEnd", uuid)
            return uuid, machine, end, ami.of_call(uuid)

    uuid, machine, end, events = run(scenario())
    assert machine["AmdStatus"] == "MACHINE"
    assert (end["AmdStatus"], end["Message"]) == ("MACHINE", "0")
    assert not [e for e in events if e["Event"] == "BridgeEnter" and e.get("Uniqueid") == uuid], (
        "never bridged"
    )
    stored = parse_astdb_value(pbx.astdb("oc")[f"{utc_day()}/{uuid}"])
    assert (stored.amd_status, stored.amd_cause) == ("MACHINE", machine["AmdCause"])


def test_a_short_hello_then_silence_is_a_person_who_reaches_an_agent(pbx):
    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.client_first(pbx.dial_string(PERSON), DIAL_TIMEOUT, max_wait=10, settings=detection())
            waiting = await ami.user_event("OcWaiting", uuid)
            ami.connect_agent(uuid, pbx.agent_channel("agent"), waiting["Channel"])
            await ami.user_event("OcConnected", uuid)
            await ami.client.hangup(waiting["Channel"])
            end = await ami.user_event("OcCallEnd", uuid)
            return uuid, end, ami.of_call(uuid)

    uuid, end, events = run(scenario())
    assert not [e for e in events if e.get("UserEvent") == "OcMachine"]
    assert end["AmdStatus"] == "HUMAN" and end["Connected"]
    assert record(pbx, uuid)["amd"] == "HUMAN"


def test_a_recorded_call_leaves_one_file_as_long_as_the_talk(pbx):
    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.client_first(
                pbx.dial_string(TALKS), DIAL_TIMEOUT, max_wait=10, settings={"OC_RECORD": "1"}
            )
            waiting = await ami.user_event("OcWaiting", uuid)
            ami.connect_agent(uuid, pbx.agent_channel("agent"), waiting["Channel"])
            await ami.user_event("OcConnected", uuid)
            connected = time.monotonic()
            await ami.user_event("OcCallEnd", uuid)
            return uuid, time.monotonic() - connected

    uuid, talk = run(scenario())
    monitor = pbx.run_dir / "spool" / "monitor"
    recording = wait_for_file(monitor / f"{uuid}.wav")
    assert [path.name for path in monitor.iterdir() if uuid in path.name] == [f"{uuid}.wav"]
    assert abs(duration(recording) - talk) < 1.0, (duration(recording), talk)
