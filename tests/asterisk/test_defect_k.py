"""Issue 9, defect k: in client first the agent's phone rings from the moment the customer
answers. The customer is waiting (``SHARED(OC_WAITING)=1``, ``OcWaiting``) at once, the hold
message playing meanwhile; an agent may bridge during the message; the max wait counts from the
answer."""

from __future__ import annotations

import asyncio

import pytest
from asterisk_session import AmiSession, run, utc_day
from conftest import requires_asterisk, start_pbx

from realpbx import Agent, Customer

pytestmark = requires_asterisk

STAYS = "+447700900101"
HANGS_UP_AFTER_6_5 = "+447700900102"
HOLD_MESSAGE = "demo-thanks"  # 5.5 s of Debian's asterisk-core-sounds-en-gsm


@pytest.fixture(scope="module")
def pbx():
    asterisk = start_pbx(
        customers={STAYS: Customer.answer(), HANGS_UP_AFTER_6_5: Customer.hangs_up_waiting(after=6.5)},
        agents={"agent": Agent.answer()},
    )
    yield asterisk
    asterisk.stop()


async def customer_in(ami: AmiSession, uuid: str, application: str | None = None) -> dict[str, str]:
    """The customer's channel in ``CoreShowChannels`` (running ``application`` when given). While
    Asterisk moves a channel into a bridge (a masquerade) two channels can carry its Uniqueid for
    an instant, and a loaded Asterisk may still be in ``ExecIf`` on its way to ``Playback``: ask
    again, for two seconds at most."""
    for _attempt in range(20):
        channels = [c for c in await ami.client.core_show_channels() if c.get("Uniqueid") == uuid]
        if len(channels) == 1 and application in (None, channels[0]["Application"]):
            return channels[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"not one channel with Uniqueid {uuid} in {application}: {channels}")


def test_defect_k_waiting_while_the_hold_message_plays(pbx):
    """OcWaiting comes while the hold message is still playing, not after it."""

    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.client_first(pbx.dial_string(STAYS), max_wait=30, hold_message=HOLD_MESSAGE)
            await ami.user_event("OcWaiting", uuid)
            customer = await customer_in(ami, uuid, "Playback")
            await ami.client.hangup(customer["Channel"])
            await ami.user_event("OcCallEnd", uuid)
            return customer

    customer = run(scenario())
    assert (customer["ChannelState"], customer["Application"]) == ("6", "Playback")
    assert (customer["Context"], customer["Exten"], customer["ApplicationData"]) == (
        "oc-client-first",
        "s",
        HOLD_MESSAGE,
    )


def test_defect_k_agent_bridged_during_the_hold_message(pbx):
    """The agent leg, originated on OcWaiting while the message plays, takes the customer out of
    Playback into the bridge; the call is connected, not abandoned."""

    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.client_first(pbx.dial_string(STAYS), max_wait=30, hold_message=HOLD_MESSAGE)
            waiting = await ami.user_event("OcWaiting", uuid)
            before = await customer_in(ami, uuid, "Playback")
            ami.connect_agent(uuid, pbx.agent_channel("agent"), waiting["Channel"])
            await ami.user_event("OcConnected", uuid)
            await ami.wait_for(lambda e: e.get("Event") == "BridgeEnter" and e.get("Uniqueid") == uuid)
            during = await customer_in(ami, uuid)
            await ami.client.hangup(during["Channel"])
            end = await ami.user_event("OcCallEnd", uuid)
            return before, during, end, ami.of_call(uuid)

    before, during, end, events = run(scenario())
    assert before["Application"] == "Playback"
    assert during["BridgeId"] and during["Application"] != "Playback"
    assert not [e for e in events if e.get("UserEvent") == "OcAbandoned"]
    assert (end["Connected"] != "", end["Abandoned"]) == (True, "0")
    # Asterisk's own clock: connected before the 5.5 s message could have ended.
    assert int(end["Connected"]) - int(end["Answered"]) < 5


def test_defect_k_max_wait_counts_from_the_answer(pbx):
    """Max wait 3 s, hold message 5.5 s, no agent, the customer hangs up 6.5 s after answering:
    counted from the answer the wait ran out when the message ended (abandoned, 1 s before the
    customer hangs up); counted from the end of the message it would end at 7.5 s at the
    earliest, after the customer had gone."""

    async def scenario():
        async with AmiSession.of(pbx) as ami:
            uuid = ami.client_first(
                pbx.dial_string(HANGS_UP_AFTER_6_5), max_wait=3, hold_message=HOLD_MESSAGE
            )
            end = await ami.user_event("OcCallEnd", uuid)
            return end, ami.of_call(uuid)

    end, events = run(scenario())
    assert [e["UserEvent"] for e in events if e["Event"] == "UserEvent"] == [
        "OcWaiting",
        "OcAbandoned",
        "OcCallEnd",
    ]
    assert end["Abandoned"] == "1"
    assert pbx.astdb("oc")[f"{utc_day()}/{end['Uniqueid']}"].split(";")[5] == "abandoned=1"
