"""Simulated channels and the call flows of Asterisk plus our dialplan.

Each Originate runs as one asyncio task that plays what Asterisk would do: create the channel
(a ``;1``/``;2`` pair for ``Local``), ring it, publish the outcome (``OriginateResponse`` with the
Reason Asterisk uses), then run the application or the dialplan context on it. The contexts of
``extensions_outbound_campaign.conf`` are emulated step for step (docs/call-flow-contract.md):
``oc-agent-first`` dials ``OC_DIAL`` from the agent's channel; in client first the Originate of
``Local/s@oc-client-dial/n`` gets a ``;1``/``;2`` pair whose ``;2`` half runs ``oc-client-dial``
(every variable of ``;1`` copied to it, as ``ast_unreal_call_setup()`` does): it pushes its own
hangup handler, which writes ``oc/<OC_DAY>/<uuid>-dial``, and dials ``OC_DIAL``; the customer's
answer answers ``;2`` and ``;1``, which then runs ``oc-client-first``: the customer waits from
the answer on (``OcWaiting``, then the hold message and music on hold) until an agent leg in
``oc-agent-bridge`` takes it (``SHARED(OC_CONNECTED)``, ``OcConnected``, ``Bridge(customer,x)``)
or ``OC_MAX_WAIT`` after the answer passes. The hangup handler of the
first channel writes the outcome to AstDB under ``oc/<OC_DAY>/<uuid>``, sends ``UserEvent:
OcCallEnd`` and, on the first call ending of a UTC day, deletes the families of 8 to 14 days
before. An agent leg originated with ``Application: Bridge`` runs no dialplan, as in Asterisk:
it is bridged, but nothing sends ``OcConnected`` nor records the connection. A customer
originated directly into ``oc-client-first`` (before contract v3) still works as it did.

Calls belong to the PBX, not to an AMI connection: they go on when a client drops.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from .astdb import AstDB
from .devices import Devices, device_of
from .protocol import Header
from .scenario import ANSWERING, Scenario

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    21: "Call Rejected",
    34: "Circuit/channel congestion",
}
# OriginateResponse Reason: the last control frame seen (AST_CONTROL_*), 0 when none.
REASON_HANGUP, REASON_RINGING, REASON_ANSWER, REASON_BUSY, REASON_CONGESTION = 1, 3, 4, 5, 8

# Hangup causes a failed leg ends with: (single channel or Local ;2, Local ;1), per the transcripts.
FAILURE_CAUSES = {"busy": (17, 0), "congestion": (34, 0), "invalid": (1, 1), "no_answer": (19, 19)}
# What app_dial makes of a failed leg: DialEnd's DialStatus and the DIALSTATUS variable differ
# for an unallocated number (ast_hangup_cause_to_dial_status() vs handle_cause()).
DIAL_FAILURES = {
    "busy": ("BUSY", "BUSY"),
    "congestion": ("CONGESTION", "CONGESTION"),
    "invalid": ("NOANSWER", "CHANUNAVAIL"),
    "no_answer": ("NOANSWER", "NOANSWER"),
}

# The dialplan's REGEX() check of OC_DIAL, dialled unchanged when it matches (the addon's
# dialer/rules.py DIAL_STRING_REGEX: tests/dialer/test_rules.py holds the three equal).
DIAL_STRING = re.compile(r"^[A-Za-z0-9]+/[A-Za-z0-9+/@._:-]+$")
# The dialplan's REGEX() checks of OC_CALL_UUID, OC_DAY and (oc-agent-bridge) OC_CUSTOMER.
UUID_CHECK = re.compile(r"^[0-9a-fA-F-]+$")
DAY_CHECK = re.compile(r"^[0-9]{8}$")
CHANNEL_CHECK = re.compile(r"^[A-Za-z0-9+/@._;:-]+$")
ASTDB_FAMILY = "oc"
CLIENT_DIAL_CONTEXT = "oc-client-dial"
# The OriginateResponse of a client-first Local channel whose ;2 did not reach the customer:
# Asterisk 22.10.1 reports Reason 0 (no control frame reached the Originate: Dial() on ;2
# passes no busy or congestion indication on, ;1 is just hung up) and the Uniqueid of ;1,
# whatever Dial() got (tests/asterisk/test_flows.py, test_contract.py).
CLIENT_DIAL_FAILED_REASON = 0
# The hangup handler's daily sweep: DBdeltree(oc/<day>) for these many days before today.
SWEEP_DAYS = range(8, 15)
AGENT_BRIDGE_CONTEXT = "oc-agent-bridge"
HANGUP_HANDLER_CONTEXT = "oc-hangup-handler"


def utc_day(epoch: int) -> str:
    """``STRFTIME(epoch,UTC,%Y%m%d)``."""
    return time.strftime("%Y%m%d", time.gmtime(epoch))


Publish = Callable[[str, str, list[Header]], None]
_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hangup:
    cause: int


@dataclass(frozen=True)
class Goto:
    context: str
    exten: str
    priority: int


class Interrupted(Exception):
    """A channel a flow was waiting on got a Hangup or a Redirect."""

    def __init__(self, channel: Channel, signal: Hangup | Goto) -> None:
        super().__init__(channel.name)
        self.channel = channel
        self.signal = signal


@dataclass(eq=False)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int = 1
    state: int = 0
    caller_num: str = "<unknown>"
    caller_name: str = "<unknown>"
    application: str = ""
    app_data: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    shared: dict[str, str] = field(default_factory=dict)  # SHARED() variables
    far: Channel | None = None  # the ;2 half of a Local channel
    bridge: Bridge | None = None
    hangup_cause: int = 0
    hangup_handler: Callable[[Channel], None] | None = None
    carrier: Channel | None = None  # client first: the Local ;1 whose ;2 dialled this channel
    created: float = field(default_factory=time.monotonic)
    device: str | None = None  # an agent's phone: its device state follows this channel
    gone: bool = False
    has_flow: bool = False  # an originated channel: its own task hangs it up

    def __post_init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.signal: asyncio.Future[Hangup | Goto] = loop.create_future()
        self.finished: asyncio.Future[None] = loop.create_future()

    def snapshot(self, prefix: str = "") -> list[Header]:
        headers = [
            ("Channel", self.name),
            ("ChannelState", str(self.state)),
            ("ChannelStateDesc", STATE_DESC[self.state]),
            ("CallerIDNum", self.caller_num),
            ("CallerIDName", self.caller_name),
            ("ConnectedLineNum", "<unknown>"),
            ("ConnectedLineName", "<unknown>"),
            ("Language", "en"),
            ("AccountCode", ""),
            ("Context", self.context),
            ("Exten", self.exten),
            ("Priority", str(self.priority)),
            ("Uniqueid", self.uniqueid),
            ("Linkedid", self.linkedid),
        ]
        return [(prefix + key, value) for key, value in headers]

    def halves(self) -> list[Channel]:
        return [self, self.far] if self.far else [self]


@dataclass(eq=False)
class Bridge:
    id: str
    members: list[Channel] = field(default_factory=list)

    def headers(self) -> list[Header]:
        return [
            ("BridgeUniqueid", self.id),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", "<unknown>"),
            ("BridgeName", "<unknown>"),
            ("BridgeNumChannels", str(len(self.members))),
            ("BridgeVideoSourceMode", "none"),
        ]


@dataclass
class OriginateRequest:
    channel: str
    context: str = ""
    exten: str = ""
    priority: int = 1
    application: str = ""
    data: str = ""
    timeout: float = 30.0  # simulated seconds
    caller_name: str = "<unknown>"
    caller_num: str = "<unknown>"
    channel_id: str = ""
    other_channel_id: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    action_id: str = ""


@dataclass(eq=False)
class SimCall:
    """One Originate and what became of it, for tests to inspect."""

    request: OriginateRequest
    flow: str  # agent-first | client-first | agent-leg | application | dialplan
    uuid: str = ""
    outcome: str = ""  # of the originated channel: answer/busy/no_answer/invalid/congestion/...
    reason: int | None = None  # OriginateResponse Reason
    dial_outcome: str = ""  # agent-first: of the customer leg
    dial_status: str = ""
    answered_at: int | None = None
    connected_at: int | None = None
    abandoned: bool = False
    amd_status: str = ""
    amd_cause: str = ""
    message_left: bool = False
    ended: bool = False
    channels: list[Channel] = field(default_factory=list)


@dataclass
class _Ring:
    answered: bool
    outcome: str
    rang: bool = False


class Pbx:
    """Channels, bridges and flows of one simulated Asterisk."""

    def __init__(self, scenario: Scenario, astdb: AstDB, publish: Publish) -> None:
        self.scenario = scenario
        self.astdb = astdb
        self._publish = publish
        self.channels: dict[str, Channel] = {}
        self.calls: list[SimCall] = []
        self.devices = Devices(publish, scenario.busy_devices, scenario.unregistered_devices)
        self._tasks: set[asyncio.Task] = set()
        self._sequence = itertools.count(1)
        self._unique = itertools.count(1)
        self._epoch_base = int(time.time())
        # Answered client-first customers a Bridge leg may take: name → (call, connected future).
        self._waiting: dict[str, tuple[SimCall, asyncio.Future[Bridge]]] = {}
        # GLOBAL(OC_SWEPT_DAY) of the hangup handler: the UTC day AstDB was last pruned.
        self.swept_day: str | None = None

    # ---- public operations (AMI actions land here) -------------------------------------------

    def originate(
        self, request: OriginateRequest, on_result: Callable[[bool], None] | None = None
    ) -> SimCall:
        if request.context == "oc-agent-first":
            flow = "agent-first"
        elif request.context == "oc-client-first":
            flow = "client-first"
        elif request.context == AGENT_BRIDGE_CONTEXT or request.application.lower() == "bridge":
            flow = "agent-leg"
        else:
            flow = "application" if request.application else "dialplan"
        call = SimCall(request, flow)
        self.calls.append(call)
        task = asyncio.get_running_loop().create_task(self._originate(call, on_result))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return call

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _logger.error("simulated call failed", exc_info=task.exception())

    def find(self, name: str) -> Channel | None:
        return self.channels.get(name)

    def signal(self, channel: Channel, signal: Hangup | Goto) -> None:
        """Hangup or Redirect a live channel; its flow reacts at its next wait."""
        owner = self._owner(channel)
        if not owner.signal.done():
            owner.signal.set_result(signal)

    def user_event(self, channel: Channel | None, name: str, fields: list[Header]) -> None:
        headers = channel.snapshot() if channel else []
        self._publish("UserEvent", "user,all", [*headers, ("UserEvent", name), *fields])

    def active(self) -> bool:
        return bool(self.channels)

    async def hangup_all(self) -> None:
        for channel in list(self.channels.values()):
            if channel.far is not None or not channel.name.endswith(";2"):
                self.signal(channel, Hangup(16))
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def duration(self, channel: Channel) -> str:
        seconds = int((time.monotonic() - channel.created) / self.scenario.time_scale)
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

    # ---- channels ------------------------------------------------------------------------------

    def _owner(self, channel: Channel) -> Channel:
        """The channel whose flow reacts to a signal: the ;1 half for a Local pair, and for the
        customer dialled by ``oc-client-dial``, the ;1 half that carries the call."""
        if channel.carrier is not None:
            return self._owner(channel.carrier)
        if channel.name.endswith(";2"):
            owner = self.channels.get(channel.name[:-1] + "1", channel)
            return owner if owner is channel else self._owner(owner)
        return channel

    def _uniqueid(self) -> str:
        return f"{self._epoch_base}.{next(self._unique)}"

    def _new_channel(
        self, dial: str, *, uniqueid: str, other_id: str, linkedid: str, caller: tuple[str, str]
    ) -> Channel:
        tech, _, resource = dial.partition("/")
        sequence = f"{next(self._sequence):08x}"
        caller_name, caller_num = caller
        if tech.lower() == "local":
            resource = resource.partition("/")[0]  # options (/n…) are not part of the name
            exten, _, context = resource.partition("@")
            near_id = uniqueid or self._uniqueid()
            far_id = other_id or (f"{uniqueid};2" if uniqueid else self._uniqueid())
            linked = linkedid or near_id
            near = Channel(f"Local/{resource}-{sequence};1", near_id, linked, context, exten)
            near.far = Channel(f"Local/{resource}-{sequence};2", far_id, linked, context, exten, state=4)
        else:
            peer = resource.partition("@")[2] or resource.partition("/")[0]
            near_id = uniqueid or self._uniqueid()
            near = Channel(f"{tech}/{peer}-{sequence}", near_id, linkedid or near_id, "default", "s")
        for half in near.halves():
            half.caller_name, half.caller_num = caller_name, caller_num
            self.channels[half.name] = half
            self._publish("Newchannel", "call,all", half.snapshot())
        return near

    def _set_state(self, channel: Channel, state: int, *, both_halves: bool = True) -> None:
        halves = channel.halves() if both_halves else [channel]
        for half in reversed(halves):  # the far half moves first, as Asterisk reports it
            half.state = state
            self._publish("Newstate", "call,all", half.snapshot())
            if half.device:
                self.devices.channel_state(half.device, half.name, state)

    def _hangup(self, channel: Channel, cause: int, far_cause: int | None = None) -> None:
        """Leave any bridge, then hang up each half (hangup handler first, then the event)."""
        if channel.bridge is not None:
            self._leave_bridge(channel)
        self._hangup_half(channel, cause)
        if channel.far is not None:
            self._hangup_half(channel.far, cause if far_cause is None else far_cause)

    def _hangup_half(self, half: Channel, cause: int) -> None:
        if half.gone:
            return
        half.gone = True
        half.hangup_cause = cause
        if half.hangup_handler is not None:
            # It runs in oc-hangup-handler (what its UserEvent says), then the channel is back
            # where it was for its Hangup event.
            where = half.context, half.exten, half.priority
            half.context, half.exten, half.priority = HANGUP_HANDLER_CONTEXT, "s", 1
            half.hangup_handler(half)
            half.context, half.exten, half.priority = where
        self.channels.pop(half.name, None)
        cause_text = CAUSE_TEXT.get(cause, "Unknown")
        self._publish(
            "Hangup", "call,all", [*half.snapshot(), ("Cause", str(cause)), ("Cause-txt", cause_text)]
        )
        if half.device:
            self.devices.channel_state(half.device, half.name, None)
        if not half.finished.done():
            half.finished.set_result(None)

    def _epoch(self) -> int:
        return int(time.time())

    # ---- waiting -------------------------------------------------------------------------------

    async def _pause(self, seconds: float, *channels: Channel, until: asyncio.Future | None = None) -> bool:
        """Wait ``seconds`` (simulated), or until ``until`` completes (→ True); a Hangup or
        Redirect of one of ``channels`` raises :class:`Interrupted`."""
        owners = {self._owner(ch).signal: ch for ch in channels}
        waiting: set[asyncio.Future] = set(owners)
        if until is not None:
            waiting.add(until)
        timeout = None if math.isinf(seconds) else self.scenario.real(seconds)
        done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for future in done:
            if future in owners:
                raise Interrupted(owners[future], future.result())
        return bool(done)

    def _consume(self, channel: Channel) -> None:
        """A Redirect was acted on: arm the channel for the next signal."""
        owner = self._owner(channel)
        owner.signal = asyncio.get_running_loop().create_future()

    # ---- ringing ---------------------------------------------------------------------------------

    async def _ring(
        self,
        callee: Channel,
        outcome: str,
        timeout: float,
        *watch: Channel,
        agent: bool,
        relay: Channel | None = None,
    ) -> _Ring:
        """Ring ``callee`` until it answers, fails or ``timeout`` passes; ``relay`` (a Local ;1
        whose ;2 is the caller) is told it rings too, as Dial() passes the indication on."""
        if outcome in FAILURE_CAUSES and outcome != "no_answer":
            await self._pause(self.scenario.draw(self.scenario.fail_time), callee, *watch)
            return _Ring(False, outcome)
        self._set_state(callee, 5, both_halves=False)  # Ringing() leaves a Local ;2 in state Ring
        if relay is not None:
            self._set_state(relay, 5, both_halves=False)
        answer_after = self.scenario.draw(self.scenario.agent_ring_time if agent else self.scenario.ring_time)
        if outcome not in ANSWERING or answer_after >= timeout:
            await self._pause(timeout, callee, *watch)
            return _Ring(False, "no_answer", rang=True)
        await self._pause(answer_after, callee, *watch)
        return _Ring(True, "answer", rang=True)

    def _outcome(self, dial: str, agent: bool) -> str:
        return self.scenario.agent_outcome(dial) if agent else self.scenario.customer_outcome(dial)

    # ---- Originate -------------------------------------------------------------------------------

    async def _originate(self, call: SimCall, on_result: Callable[[bool], None] | None) -> None:
        request = call.request
        tech = request.channel.partition("/")[0]
        known = {t.lower() for t in self.scenario.technologies}
        agent = call.flow in ("agent-first", "agent-leg")
        device = device_of(request.channel) if agent else None
        # An unregistered phone: the channel driver cannot create the channel (as an unknown
        # technology, transcript 08).
        if tech.lower() not in known or (device and self.devices.unavailable(device)):
            await asyncio.sleep(0)
            call.outcome, call.ended = "invalid", True
            self._originate_response(call, None, 0, on_result)
            return
        if call.flow == "client-first" and _local_context(request.channel) == CLIENT_DIAL_CONTEXT:
            await self._originate_client_dial(call, on_result)
            return
        channel = self._new_channel(
            request.channel,
            uniqueid=request.channel_id,
            other_id=request.other_channel_id,
            linkedid="",
            caller=(request.caller_name, request.caller_num),
        )
        call.uuid = request.channel_id or channel.uniqueid
        channel.has_flow = True
        if device:
            channel.device = device
            self.devices.channel_state(device, channel.name, channel.state)
        call.channels.append(channel)
        _set_variables(channel, request.variables)
        self._publish(
            "DialBegin",
            "call,all",
            [*channel.snapshot("Dest"), ("DialString", request.channel.partition("/")[2])],
        )
        call.outcome = (
            "busy" if device and self.devices.busy_outside(device) else self._outcome(request.channel, agent)
        )
        try:
            ring = await self._ring(channel, call.outcome, request.timeout, agent=agent)
        except Interrupted as interrupted:
            call.outcome = "hangup"
            cause = interrupted.signal.cause if isinstance(interrupted.signal, Hangup) else 16
            self._hangup(channel, cause)
            self._originate_response(call, None, REASON_HANGUP, on_result)
            call.ended = True
            return
        if not ring.answered:
            call.outcome = ring.outcome
            self._fail_originate(call, channel, ring, on_result)
            call.ended = True
            return
        self._set_state(channel, 6)
        self._dial_status(None, channel, "ANSWER", "DialEnd")
        self._originate_response(call, channel, REASON_ANSWER, on_result)
        try:
            await self._run(call, channel)
        finally:
            self._hangup(channel, channel.hangup_cause or 16)
            call.ended = True

    def _fail_originate(
        self, call: SimCall, channel: Channel, ring: _Ring, on_result: Callable[[bool], None] | None
    ) -> None:
        """Report a failed Originate in the order Asterisk does (transcripts 03 to 06)."""
        far = channel.halves()[1:]
        single_cause, local_near_cause = FAILURE_CAUSES[ring.outcome]
        near_cause = local_near_cause if far else single_cause

        def respond(reason: int) -> None:
            self._originate_response(call, None, reason, on_result)

        if ring.outcome == "no_answer":  # the Originate timed out: no DialEnd
            self._hangup_half(channel, near_cause)
            respond(REASON_RINGING if ring.rang else 0)
        elif ring.outcome == "invalid":  # the far end hung up with cause 1 before anything else
            respond(0)
            for half in far:
                self._hangup_half(half, single_cause)
            self._dial_status(None, channel, DIAL_FAILURES["invalid"][0], "DialEnd")
            self._hangup_half(channel, near_cause)
        else:  # Busy()/Congestion() put the far end in state Busy
            for half in far:
                half.state = 7
                self._publish("Newstate", "call,all", half.snapshot())
            self._dial_status(None, channel, DIAL_FAILURES[ring.outcome][0], "DialEnd")
            if ring.outcome == "congestion":
                respond(REASON_CONGESTION)
            self._hangup_half(channel, near_cause)
            if ring.outcome == "busy":
                respond(REASON_BUSY)
        for half in far:
            self._hangup_half(half, single_cause)

    def _originate_response(
        self,
        call: SimCall,
        channel: Channel | None,
        reason: int,
        on_result: Callable[[bool], None] | None,
        uniqueid: str = "<unknown>",
    ) -> None:
        """``uniqueid``: of the failed channel, when one was created (``<unknown>`` otherwise)."""
        call.reason = reason
        success = channel is not None
        if on_result is not None:  # a synchronous Originate: the action answers, no event
            on_result(success)
            return
        request = call.request
        headers: list[Header] = [("ActionID", request.action_id)] if request.action_id else []
        headers += [
            ("Response", "Success" if success else "Failure"),
            ("Channel", channel.name if channel else request.channel),
        ]
        if request.application:
            headers += [("Application", request.application), ("Data", request.data)]
        else:
            headers += [("Context", request.context), ("Exten", request.exten)]
        headers += [
            ("Reason", str(reason)),
            ("Uniqueid", channel.uniqueid if channel else uniqueid),
            ("CallerIDNum", request.caller_num),
            ("CallerIDName", request.caller_name),
        ]
        self._publish("OriginateResponse", "call,all", headers)

    def _dial_status(self, caller: Channel | None, callee: Channel, status: str, event: str) -> None:
        headers = caller.snapshot() if caller else []
        self._publish(event, "call,all", [*headers, *callee.snapshot("Dest"), ("DialStatus", status)])

    # ---- what runs on an answered channel ---------------------------------------------------------

    async def _run(self, call: SimCall, channel: Channel) -> None:
        """Run the application or context; a Redirect restarts it at the new place."""
        request = call.request
        goto: Goto | None = None
        while True:
            try:
                if goto is not None:
                    await self._context(call, channel, goto.context, goto.exten, goto.priority)
                elif request.application:
                    await self._application(call, channel, request.application, request.data)
                else:
                    await self._context(call, channel, request.context, request.exten, request.priority)
                return
            except Interrupted as interrupted:
                if isinstance(interrupted.signal, Hangup):
                    channel.hangup_cause = interrupted.signal.cause
                    return
                goto = interrupted.signal
                self._consume(channel)
                if channel.bridge is not None:
                    self._leave_bridge(channel)

    async def _context(
        self, call: SimCall, channel: Channel, context: str, exten: str, priority: int
    ) -> None:
        channel.context, channel.exten, channel.priority = context, exten, priority
        if context == "oc-agent-first":
            await self._agent_first(call, channel)
        elif context == "oc-client-first":
            await self._client_first(call, channel)
        elif context == AGENT_BRIDGE_CONTEXT:
            await self._agent_bridge(call, channel)
        else:  # a context we do not emulate: the channel stays up for a talk time
            channel.application, channel.app_data = "Wait", ""
            await self._pause(self.scenario.draw(self.scenario.talk_time), channel)

    async def _application(self, call: SimCall, channel: Channel, application: str, data: str) -> None:
        channel.application, channel.app_data = application, data
        app = application.lower()
        if app == "bridge":
            await self._bridge_leg(call, channel, data)
        elif app == "dial":
            dial, _, timeout = data.partition(",")
            await self._dial(call, channel, dial, float(timeout.partition(",")[0] or "inf"))
        elif app == "wait":
            await self._pause(float(data or 0), channel)
        else:
            await self._pause(self.scenario.draw(self.scenario.talk_time), channel)

    # ---- oc-agent-first ---------------------------------------------------------------------------

    def _valid_call_variables(self, channel: Channel) -> bool:
        """The REGEX() checks of OC_CALL_UUID and OC_DAY that open the first contexts; when one
        fails, the dialplan hangs up (cause 16) before pushing the hangup handler."""
        variables = channel.variables
        if UUID_CHECK.match(variables.get("OC_CALL_UUID", "")) and DAY_CHECK.match(
            variables.get("OC_DAY", "")
        ):
            return True
        channel.hangup_cause = 16
        return False

    async def _agent_first(self, call: SimCall, agent: Channel) -> None:
        """``oc-agent-first``: push the hangup handler, then Dial(${OC_DIAL}, timeout) if it passes
        the REGEX() check."""
        if not self._valid_call_variables(agent):
            return
        agent.hangup_handler = self._outcome_handler(call, "agent-first")
        agent.priority += 1
        dial = agent.variables.get("OC_DIAL", "")
        if not DIAL_STRING.fullmatch(dial):
            self._set_dialstatus(call, agent, "INVALIDARGS")
            return
        timeout = float(re.sub(r"\D", "", agent.variables.get("OC_DIAL_TIMEOUT", "")) or "inf")
        if agent.variables.get("OC_CALLERID_NUM"):
            agent.caller_num = agent.variables["OC_CALLERID_NUM"]
        await self._dial(call, agent, dial, timeout)

    async def _dial(self, call: SimCall, caller: Channel, dial: str, timeout: float) -> None:
        """app_dial with one destination: DialBegin/DialEnd, DIALSTATUS, bridge on answer."""
        # U(): the dialplan stamps the answer on the dialling channel ([oc-answered]).
        caller.application, caller.app_data = "Dial", f"{dial},{timeout:g},U(oc-answered^{caller.name})"
        tech = dial.partition("/")[0].lower()
        if not dial or tech not in {t.lower() for t in self.scenario.technologies}:
            self._set_dialstatus(call, caller, "CHANUNAVAIL")
            return
        callee = self._new_channel(
            dial,
            uniqueid="",
            other_id="",
            linkedid=caller.linkedid,
            caller=(caller.caller_name, caller.caller_num),
        )
        callee.application, callee.app_data = "AppDial", "(Outgoing Line)"
        call.channels.append(callee)
        self._publish(
            "DialBegin",
            "call,all",
            [*caller.snapshot(), *callee.snapshot("Dest"), ("DialString", dial.partition("/")[2])],
        )
        call.dial_outcome = self.scenario.customer_outcome(dial)
        try:
            ring = await self._ring(callee, call.dial_outcome, timeout, caller, agent=False)
        except Interrupted as interrupted:
            if interrupted.channel is caller:  # the agent hung up while the customer rang
                self._dial_status(caller, callee, "CANCEL", "DialEnd")
                self._hangup(callee, 0)
                self._set_dialstatus(call, caller, "CANCEL")
                raise
            self._dial_status(caller, callee, "NOANSWER", "DialEnd")
            self._hangup(callee, getattr(interrupted.signal, "cause", 16))
            self._set_dialstatus(call, caller, "NOANSWER")
            return
        if not ring.answered:
            event_status, variable_status = DIAL_FAILURES[ring.outcome]
            if ring.outcome == "no_answer":  # Dial gave up: it hangs the callee up (transcript 07)
                self._dial_status(caller, callee, event_status, "DialEnd")
                self._hangup(callee, 0)
            else:
                single_cause, near_cause = FAILURE_CAUSES[ring.outcome]
                self._hangup(callee, near_cause if callee.far else single_cause, far_cause=single_cause)
                self._dial_status(caller, callee, event_status, "DialEnd")
                caller.hangup_cause = callee.hangup_cause  # app_dial passes the cause on
            self._set_dialstatus(call, caller, variable_status)
            return
        self._set_state(callee, 6)
        self._dial_status(caller, callee, "ANSWER", "DialEnd")
        self._set_dialstatus(call, caller, "ANSWER")
        call.answered_at = call.connected_at = self._epoch()
        await self._talk(self._bridge(caller, callee), customer=callee, own=caller)

    def _set_dialstatus(self, call: SimCall, caller: Channel, status: str) -> None:
        caller.variables["DIALSTATUS"] = status
        call.dial_status = status

    # ---- client first: Local/s@oc-client-dial/n -----------------------------------------------------

    async def _originate_client_dial(self, call: SimCall, on_result: Callable[[bool], None] | None) -> None:
        """The contract-v3 client-first Originate: ``;2`` runs ``oc-client-dial``; once the
        customer answered, ``;1`` runs the Originate's context (``oc-client-first``)."""
        request = call.request
        near = self._new_channel(
            request.channel,
            uniqueid=request.channel_id,
            other_id=request.other_channel_id,
            linkedid="",
            caller=(request.caller_name, request.caller_num),
        )
        far = near.far
        call.uuid = request.channel_id or near.uniqueid
        near.has_flow = far.has_flow = True
        call.channels.append(near)
        _set_variables(near, request.variables)
        far.variables.update(near.variables)  # ast_unreal_call_setup(): every variable of ;1
        self._publish(
            "DialBegin",
            "call,all",
            [*near.snapshot("Dest"), ("DialString", request.channel.partition("/")[2])],
        )
        dialled = await self._client_dial(call, near, far, request.timeout, on_result)
        if dialled is None:
            call.ended = True
            return
        callee, answered = dialled
        try:
            await self._run(call, near)
        finally:
            # ;1 ends: ;2's Dial() sees its caller leave, hangs the customer up, and ;2 ends.
            cause = near.hangup_cause or 16
            if near.bridge is not None:
                self._leave_bridge(near)
            self._hangup_half(near, cause)
            far.variables["ANSWEREDTIME"] = str(self._epoch() - answered)
            for channel in (*callee.halves(), far):
                if channel.bridge is not None:
                    self._leave_bridge(channel)
            self._hangup(callee, cause)
            self._hangup_half(far, cause)
            call.ended = True

    async def _client_dial(
        self,
        call: SimCall,
        near: Channel,
        far: Channel,
        originate_timeout: float,
        on_result: Callable[[bool], None] | None,
    ) -> tuple[Channel, int] | None:
        """``oc-client-dial`` on ``far``: the REGEX() checks, the hangup handler that records the
        dial, the REGEX() check of ``OC_DIAL``, then Dial(). Returns the answered customer's
        channel and the answer's epoch; ``None`` when the Originate failed (already reported)."""
        variables = far.variables
        far.context, far.exten, far.priority = CLIENT_DIAL_CONTEXT, "s", 1

        def failed(cause: int, outcome: str) -> None:
            # ;2 hangs up (its handler, if pushed, records the dial), then ;1 with its cause.
            call.outcome = call.outcome or outcome
            self._hangup_half(far, cause)
            self._hangup_half(near, cause)
            self._originate_response(call, None, CLIENT_DIAL_FAILED_REASON, on_result, near.uniqueid)

        await asyncio.sleep(0)
        if not self._valid_call_variables(far):
            failed(16, "failed")
            return None
        far.hangup_handler = self._dial_record_handler()
        far.priority += 1
        dial = variables.get("OC_DIAL", "")
        if not DIAL_STRING.fullmatch(dial):
            self._set_dialstatus(call, far, "INVALIDARGS")
            failed(16, "failed")
            return None
        timeout = float(re.sub(r"\D", "", variables.get("OC_DIAL_TIMEOUT", "")) or "inf")
        if variables.get("OC_CALLERID_NUM"):
            far.caller_num = variables["OC_CALLERID_NUM"]
        far.application, far.app_data = "Dial", f"{dial},{timeout:g},U(oc-answered^{far.name})"
        if dial.partition("/")[0].lower() not in {t.lower() for t in self.scenario.technologies}:
            self._set_dialstatus(call, far, "CHANUNAVAIL")
            failed(16, "failed")
            return None
        callee = self._new_channel(
            dial, uniqueid="", other_id="", linkedid=far.linkedid, caller=(far.caller_name, far.caller_num)
        )
        for half in callee.halves():
            half.carrier = near
        callee.application, callee.app_data = "AppDial", "(Outgoing Line)"
        call.channels.append(callee)
        self._publish(
            "DialBegin",
            "call,all",
            [*far.snapshot(), *callee.snapshot("Dest"), ("DialString", dial.partition("/")[2])],
        )
        call.dial_outcome = call.outcome = self.scenario.customer_outcome(dial)
        try:
            ring = await self._ring(
                callee, call.dial_outcome, min(timeout, originate_timeout), near, agent=False, relay=near
            )
        except Interrupted as interrupted:  # an AMI Hangup of ;1 or of the customer: cancelled
            cause = interrupted.signal.cause if isinstance(interrupted.signal, Hangup) else 16
            call.outcome = "hangup"
            self._dial_status(far, callee, "CANCEL", "DialEnd")
            self._hangup(callee, 0)
            self._set_dialstatus(call, far, "CANCEL")
            self._hangup_half(near, cause)
            self._hangup_half(far, cause)
            self._originate_response(call, None, REASON_HANGUP, on_result)
            return None
        if not ring.answered:
            if ring.outcome == "no_answer" and originate_timeout < timeout:
                # The Originate gave up first (its Timeout is under OC_DIAL_TIMEOUT): ;1 is hung
                # up, which cancels the Dial() of ;2.
                self._hangup_half(near, 0)
                self._dial_status(far, callee, "CANCEL", "DialEnd")
                self._hangup(callee, 0)
                self._set_dialstatus(call, far, "CANCEL")
                self._hangup_half(far, 16)
                self._originate_response(call, None, REASON_RINGING, on_result)
                return None
            event_status, variable_status = DIAL_FAILURES[ring.outcome]
            if ring.outcome == "no_answer":  # Dial gave up; the dialplan then does Hangup(19)
                self._dial_status(far, callee, event_status, "DialEnd")
                self._hangup(callee, 0)
                cause = 19
            else:
                single_cause, near_cause = FAILURE_CAUSES[ring.outcome]
                self._hangup(callee, near_cause if callee.far else single_cause, far_cause=single_cause)
                self._dial_status(far, callee, event_status, "DialEnd")
                cause = single_cause  # app_dial passes the customer's cause on to ;2
            self._set_dialstatus(call, far, variable_status)
            self._hangup_half(far, cause)
            self._dial_status(None, near, event_status, "DialEnd")  # the Originate's own dial
            self._hangup_half(near, cause)
            self._originate_response(call, None, CLIENT_DIAL_FAILED_REASON, on_result, near.uniqueid)
            return None
        self._set_state(callee, 6)
        self._dial_status(far, callee, "ANSWER", "DialEnd")
        self._set_dialstatus(call, far, "ANSWER")
        answered = self._epoch()
        self._set_state(near, 6)  # Dial() answers ;2, and ;1 with it
        self._dial_status(None, near, "ANSWER", "DialEnd")
        self._bridge(far, callee)
        self._originate_response(call, near, REASON_ANSWER, on_result)
        return callee, answered

    def _dial_record_handler(self) -> Callable[[Channel], None]:
        """``oc-hangup-handler`` with ARG1 ``client-dial``: DB(oc/<OC_DAY>/<uuid>-dial) with
        Dial()'s facts (no UserEvent), then the daily sweep."""

        def handler(channel: Channel) -> None:
            uuid, day = channel.variables["OC_CALL_UUID"], channel.variables["OC_DAY"]
            ended = self._epoch()
            answered_time = channel.variables.get("ANSWEREDTIME", "")
            answered = str(ended - int(answered_time)) if answered_time else ""
            self.astdb.put(
                f"{ASTDB_FAMILY}/{day}",
                f"{uuid}-dial",
                f"dialstatus={channel.variables.get('DIALSTATUS', '')};cause={channel.hangup_cause};"
                f"answered={answered};ended={ended}",
            )
            self._sweep_astdb(ended)

        return handler

    # ---- oc-client-first --------------------------------------------------------------------------

    async def _client_first(self, call: SimCall, customer: Channel) -> None:
        """``oc-client-first``: hangup handler, OcWaiting at once (the customer waits from the
        answer on), the hold message, music on hold until ``OC_MAX_WAIT`` after the answer, then
        (no agent came) extension ``abandoned``: OcAbandoned, the safe-harbor message, hang up.
        An agent may take the customer during the hold message or the music."""
        if not self._valid_call_variables(customer):
            return
        uuid = customer.variables["OC_CALL_UUID"]
        customer.hangup_handler = self._outcome_handler(call, "client-first")
        call.answered_at = self._epoch()
        if customer.variables.get("OC_AMD") == "1" and not await self._detect(call, customer):
            return
        max_wait_digits = re.sub(r"\D", "", customer.variables.get("OC_MAX_WAIT", ""))
        max_wait = float(max_wait_digits) if max_wait_digits else 30.0  # the dialplan's default
        connected: asyncio.Future[Bridge] = asyncio.get_running_loop().create_future()
        self._waiting[customer.name] = (call, connected)
        try:
            customer.shared["OC_WAITING"] = "1"
            self.user_event(customer, "OcWaiting", [("Uuid", uuid)])
            hold_message = customer.variables.get("OC_HOLD_MSG", "")
            if hold_message:
                customer.application, customer.app_data = "Playback", hold_message
                await self._pause(self.scenario.hold_message_time, customer, until=connected)
                max_wait -= self.scenario.hold_message_time
            if not connected.done() and max_wait > 0:
                customer.application, customer.app_data = "MusicOnHold", ""
                await self._pause(max_wait, customer, until=connected)
        finally:
            self._waiting.pop(customer.name, None)
        if connected.done():  # in the bridge until the call ends (Bridge's x: never back here)
            await self._pause(math.inf, customer)
        customer.exten, customer.priority = "abandoned", 1
        customer.shared["OC_WAITING"] = "0"
        call.abandoned = True
        self.user_event(customer, "OcAbandoned", [("Uuid", uuid)])
        customer.application, customer.app_data = "Playback", customer.variables.get("OC_ABANDON_MSG", "")
        await self._pause(self.scenario.abandon_message_time, customer)

    async def _detect(self, call: SimCall, customer: Channel) -> bool:
        """``oc-amd``, faked: ``AMD()`` listens for ``amd_time``, then says MACHINE for a customer
        drawn as ``machine`` (OcMachine; hung up, or ``oc-leave-message`` plays the message) and
        HUMAN for any other. Whether the customer is a person, to go on waiting for an agent."""
        customer.context, customer.exten, customer.application = "oc-amd", "s", "AMD"
        await self._pause(self.scenario.amd_time, customer)
        machine = call.outcome == "machine"
        call.amd_status, call.amd_cause = (
            ("MACHINE", "LONGGREETING-2000-1500") if machine else ("HUMAN", "HUMAN-1000-800")
        )
        if not machine:
            customer.context = "oc-client-first"  # Return()
            return True
        uuid = customer.variables["OC_CALL_UUID"]
        self.user_event(
            customer,
            "OcMachine",
            [("Uuid", uuid), ("AmdStatus", call.amd_status), ("AmdCause", call.amd_cause)],
        )
        message = customer.variables.get("OC_MACHINE_MSG", "")
        if customer.variables.get("OC_MACHINE_ACTION") == "message" and message:
            customer.context, customer.exten = "oc-leave-message", "leave"
            customer.application, customer.app_data = "Playback", message
            await self._pause(self.scenario.machine_message_time, customer)
            call.message_left = True
        return False

    async def _agent_bridge(self, call: SimCall, agent: Channel) -> None:
        """``oc-agent-bridge``: check OC_CALL_UUID and OC_CUSTOMER, take only a customer still on
        hold (``SHARED(OC_WAITING)`` = 1), stamp ``SHARED(OC_CONNECTED)`` on the customer's
        channel, send ``OcConnected`` from this leg, then ``Bridge(customer,x)``."""
        variables = agent.variables
        uuid, target = variables.get("OC_CALL_UUID", ""), variables.get("OC_CUSTOMER", "")
        if not UUID_CHECK.match(uuid) or not CHANNEL_CHECK.match(target):
            agent.hangup_cause = 16
            return
        call.uuid = uuid
        customer = self.channels.get(target)
        if customer is None or customer.shared.get("OC_WAITING") != "1":
            agent.hangup_cause = 16
            return
        customer.shared["OC_WAITING"] = "0"
        customer.shared["OC_CONNECTED"] = str(self._epoch())
        self.user_event(agent, "OcConnected", [("Uuid", uuid)])
        agent.application, agent.app_data = "Bridge", f"{target},x"
        await self._bridge_leg(call, agent, target)

    async def _bridge_leg(self, call: SimCall, agent: Channel, target: str) -> None:
        """``Bridge(target)`` on the agent leg: take the waiting customer or give up. Run as
        ``Application: Bridge`` it is just that: no dialplan, so no ``OcConnected`` and no
        connection recorded for the customer's hangup handler."""
        call.uuid = call.request.variables.get("OC_CALL_UUID", call.uuid)
        waiting = self._waiting.pop(target, None)
        if waiting is None:
            agent.variables["BRIDGERESULT"] = "FAILURE"
            return
        customer_call, connected = waiting
        customer = self.channels[target]
        bridge = self._bridge(customer, agent)
        if "OC_CONNECTED" in customer.shared:
            customer_call.connected_at = int(customer.shared["OC_CONNECTED"])
        connected.set_result(bridge)
        await self._talk(bridge, customer=customer, own=agent)

    # ---- bridges ------------------------------------------------------------------------------------

    def _bridge(self, first: Channel, second: Channel) -> Bridge:
        bridge = Bridge(str(uuid.uuid4()))
        self._publish("BridgeCreate", "call,all", bridge.headers())
        for channel in (first, second):
            bridge.members.append(channel)
            channel.bridge = bridge
            self._publish("BridgeEnter", "call,all", [*bridge.headers(), *channel.snapshot()])
        return bridge

    def _leave_bridge(self, channel: Channel) -> None:
        bridge = channel.bridge
        bridge.members.remove(channel)
        channel.bridge = None
        self._publish("BridgeLeave", "call,all", [*bridge.headers(), *channel.snapshot()])
        if not bridge.members:
            self._publish("BridgeDestroy", "call,all", bridge.headers())

    async def _talk(self, bridge: Bridge, customer: Channel, own: Channel) -> None:
        """Both sides talk; then the customer hangs up, or a Hangup/Redirect of one side ends
        the call. ``own`` is the channel of the running flow: it is hung up by that flow when
        this returns; a member with a flow of its own is signalled and waited for; any other
        member (a dialled leg) is hung up here."""
        members = list(bridge.members)
        try:
            await self._pause(self.scenario.draw(self.scenario.talk_time), *members)
            first, signal, signalled = customer, Hangup(16), False
        except Interrupted as interrupted:
            first, signal, signalled = interrupted.channel, interrupted.signal, True
        for member in [first, *(m for m in members if m is not first)]:
            if member.gone:
                continue
            member_signal = signal if member is first else Hangup(16)
            if member is own:
                if isinstance(member_signal, Hangup):
                    own.hangup_cause = member_signal.cause
            elif member.has_flow:
                if member is not first or not signalled:
                    self.signal(member, member_signal)
                if isinstance(member_signal, Hangup):
                    await member.finished
            else:
                self._hangup(member, getattr(member_signal, "cause", 16))
        if first is own and isinstance(signal, Goto):
            raise Interrupted(own, signal)

    # ---- the dialplan's hangup handler ---------------------------------------------------------------

    def _outcome_handler(self, call: SimCall, flow: str) -> Callable[[Channel], None]:
        """``oc-hangup-handler``: DB(oc/<OC_DAY>/<uuid>), UserEvent OcCallEnd (contract § AstDB),
        then the daily sweep of the AstDB families of 8 to 14 days before."""

        def handler(channel: Channel) -> None:
            uuid, day = channel.variables["OC_CALL_UUID"], channel.variables["OC_DAY"]
            dialstatus = "ANSWER" if flow == "client-first" else channel.variables.get("DIALSTATUS", "")
            ended = self._epoch()
            answered = "" if call.answered_at is None else str(call.answered_at)
            if flow == "client-first":  # stamped by oc-agent-bridge on this channel
                connected = re.sub(r"\D", "", channel.shared.get("OC_CONNECTED", ""))
            else:
                connected = "" if call.connected_at is None else str(call.connected_at)
            abandoned = "1" if call.abandoned else "0"
            message = "1" if call.message_left else "0"
            cause = str(channel.hangup_cause)
            self.astdb.put(
                f"{ASTDB_FAMILY}/{day}",
                uuid,
                f"dialstatus={dialstatus};cause={cause};answered={answered};"
                f"connected={connected};ended={ended};abandoned={abandoned};"
                f"amd={call.amd_status};amdcause={call.amd_cause};message={message}",
            )
            self.user_event(
                channel,
                "OcCallEnd",
                [
                    ("Uuid", uuid),
                    ("DialStatus", dialstatus),
                    ("Cause", cause),
                    ("Answered", answered),
                    ("Connected", connected),
                    ("Ended", str(ended)),
                    ("Abandoned", abandoned),
                    ("AmdStatus", call.amd_status),
                    ("AmdCause", call.amd_cause),
                    ("Message", message),
                ],
            )
            self._sweep_astdb(ended)

        return handler

    def _sweep_astdb(self, now: int) -> None:
        """Once per UTC day (GLOBAL(OC_SWEPT_DAY)): DBdeltree(oc/<day>) for the days 8 to 14
        before ``now``. Families of recent days, and other families, are never touched."""
        today = utc_day(now)
        if self.swept_day == today:
            return
        self.swept_day = today
        for days in SWEEP_DAYS:
            self.astdb.deltree(f"{ASTDB_FAMILY}/{utc_day(now - days * 86400)}")


def _local_context(dial: str) -> str | None:
    """The context of a ``Local/exten@context[/options]`` dial string, else ``None``."""
    tech, _, resource = dial.partition("/")
    if tech.lower() != "local":
        return None
    return resource.partition("/")[0].partition("@")[2] or "default"


def _set_variables(channel: Channel, variables: dict[str, str]) -> None:
    """Originate's ``Variable``: the dialplan reads ``_NAME``/``__NAME`` as ``NAME``
    (``ast_var_name()``), so the inheritance prefixes are dropped here."""
    channel.variables.update({name.lstrip("_"): value for name, value in variables.items()})
