"""An AMI session against a real Asterisk (or the simulator) as the dialer holds one: the
project's own client (``dialer/ami.py``) logged in as the README's user, every event recorded,
and the Originates of docs/call-flow-contract.md built from their parts."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid as uuids
from collections.abc import Callable, Mapping

from outbound_campaign.dialer.ami import AmiClient

CALLER_ID_NUMBER = "+442079460999"
CALLER_ID = f'"Octest" <{CALLER_ID_NUMBER}>'
WAIT = 20.0  # seconds any one expected event may take at most

Event = dict[str, str]


def run(coroutine, timeout: float = 60.0):
    """Run one test's coroutine; a hung Asterisk fails the test, never hangs the run."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def utc_day() -> str:
    return time.strftime("%Y%m%d", time.gmtime())


def belongs_to(event: Mapping[str, str], uuid: str) -> bool:
    """Whether an event is about the call ``uuid``: its channels (``<uuid>``, ``<uuid>-2``,
    ``<uuid>-a``, and those linked to them), our UserEvents, its OriginateResponses."""
    ids = (event.get("Uniqueid", ""), event.get("Linkedid", ""), event.get("DestUniqueid", ""))
    return (
        any(value.startswith(uuid) for value in ids)
        or event.get("Uuid") == uuid
        or event.get("ActionID", "").startswith(f"oc-{uuid}")
    )


class AmiSession:
    def __init__(self, host: str, port: int, username: str, secret: str) -> None:
        self.client = AmiClient(host, port, username, secret, reconnect_delay=0.1, reconnect_max_delay=0.5)
        self.events: list[Event] = []
        self._arrived = asyncio.Event()
        self._originates: set[asyncio.Task] = set()
        self.client.on_event("*", self._record)

    @classmethod
    def of(cls, pbx) -> AmiSession:
        return cls(pbx.host, pbx.ami_port, pbx.username, pbx.secret)

    async def __aenter__(self) -> AmiSession:
        await self.client.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._originates:
            task.cancel()
        await self.client.close()

    def _record(self, message) -> None:
        self.events.append({key: str(value) for key, value in message.items() if key != "content"})
        self._arrived.set()

    # ---- waiting ------------------------------------------------------------------------------------

    async def wait_for(self, match: Callable[[Event], bool], timeout: float = WAIT, start: int = 0) -> Event:
        """The first recorded event (from index ``start``) that ``match`` accepts."""
        deadline = asyncio.get_running_loop().time() + timeout
        seen = start
        while True:
            for event in self.events[seen:]:
                if match(event):
                    return event
            seen = len(self.events)
            self._arrived.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no such event within {timeout} s; events: {self.events[start:]}")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    async def user_event(self, name: str, uuid: str, timeout: float = WAIT) -> Event:
        return await self.wait_for(lambda e: e.get("UserEvent") == name and e.get("Uuid") == uuid, timeout)

    async def originate_response(self, uuid: str, leg: str = "", timeout: float = WAIT) -> Event:
        action_id = f"oc-{uuid}{leg}"
        return await self.wait_for(
            lambda e: e.get("Event") == "OriginateResponse" and e.get("ActionID") == action_id, timeout
        )

    async def hangup_of(self, uniqueid: str, timeout: float = WAIT) -> Event:
        return await self.wait_for(
            lambda e: e.get("Event") == "Hangup" and e.get("Uniqueid") == uniqueid, timeout
        )

    def of_call(self, uuid: str) -> list[Event]:
        return [event for event in self.events if belongs_to(event, uuid)]

    # ---- the contract's Originates --------------------------------------------------------------

    def _originate(self, headers: Mapping[str, str]) -> None:
        """Send it; its OriginateResponse joins the recorded events (the client hands it to the
        Originate's caller, not to event callbacks)."""

        async def send() -> None:
            result = await self.client.originate(headers)
            self._record(result.event)

        task = asyncio.get_running_loop().create_task(send())
        self._originates.add(task)
        task.add_done_callback(self._originates.discard)

    def agent_first(
        self,
        agent: str,
        dial: str,
        dial_timeout: int = 3,
        ring_ms: int = 5000,
        settings: Mapping[str, str] | None = None,
    ) -> str:
        """``settings``: more variables, as the engine adds them (detection, recording)."""
        uuid = str(uuids.uuid4())
        variables = (
            f"OC_CALL_UUID={uuid},OC_CAMPAIGN_ID=1,OC_DAY={utc_day()},OC_DIAL={dial},"
            f"OC_DIAL_TIMEOUT={dial_timeout},OC_CALLERID_NUM={CALLER_ID_NUMBER}"
        )
        variables += "".join(f",{name}={value}" for name, value in (settings or {}).items())
        self._originate(
            {
                "Channel": agent,
                "Context": "oc-agent-first",
                "Exten": "s",
                "Priority": "1",
                "Timeout": str(ring_ms),
                "CallerID": CALLER_ID,
                "ChannelId": uuid,
                "OtherChannelId": f"{uuid}-2",
                "Variable": variables,
                "ActionID": f"oc-{uuid}",
            }
        )
        return uuid

    def client_first(
        self,
        dial: str,
        dial_timeout: int = 3,
        max_wait: int = 5,
        hold_message: str = "",
        abandon_message: str = "",
        settings: Mapping[str, str] | None = None,
    ) -> str:
        """``settings``: more variables, as the engine adds them (detection, recording)."""
        uuid = str(uuids.uuid4())
        variables = (
            f"OC_CALL_UUID={uuid},OC_CAMPAIGN_ID=2,OC_DAY={utc_day()},OC_DIAL={dial},"
            f"OC_DIAL_TIMEOUT={dial_timeout},OC_CALLERID_NUM={CALLER_ID_NUMBER},OC_MAX_WAIT={max_wait},"
            f"OC_HOLD_MSG={hold_message},OC_ABANDON_MSG={abandon_message}"
        )
        variables += "".join(f",{name}={value}" for name, value in (settings or {}).items())
        self._originate(
            {
                "Channel": "Local/s@oc-client-dial/n",
                "Context": "oc-client-first",
                "Exten": "s",
                "Priority": "1",
                "Timeout": str(dial_timeout * 1000 + 10000),
                "CallerID": CALLER_ID,
                "ChannelId": uuid,
                "OtherChannelId": f"{uuid}-2",
                "Variable": variables,
                "ActionID": f"oc-{uuid}",
            }
        )
        return uuid

    def connect_agent(self, uuid: str, agent: str, customer_channel: str, ring_ms: int = 5000) -> None:
        self._originate(
            {
                "Channel": agent,
                "Context": "oc-agent-bridge",
                "Exten": "s",
                "Priority": "1",
                "Timeout": str(ring_ms),
                "ChannelId": f"{uuid}-a",
                "Variable": f"OC_CALL_UUID={uuid},OC_LEG=agent,OC_CUSTOMER={customer_channel}",
                "ActionID": f"oc-{uuid}-a",
            }
        )
