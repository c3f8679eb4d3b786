"""The state the host loads, as the engine reads it: a dialer server, its running campaigns, the
ready agents, the contacts due and the calls in flight, with the states calls and contacts go
through. Nothing here does I/O or reads the clock.

Each view refuses on creation what could not be sent to Asterisk: the rules the models check too
come from ``rules``; channels and dialplan contexts, which only the engine sends, are checked here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from . import rules
from .amd import AmdSettings
from .outcomes import CampaignType, Outcome
from .pacing import PacingPolicy, PacingStats
from .rules import check_dial_string, check_dial_template, check_sound_name
from .schedule import CallingWindow

AGENT_FIRST_CONTEXT = "oc-agent-first"
CLIENT_FIRST_CONTEXT = "oc-client-first"
#: Client first: the context the ``;2`` half of the originated Local channel runs; it dials the
#: customer and records the dial's facts in AstDB (``oc/<day>/<uuid>-dial``).
CLIENT_DIAL_CONTEXT = "oc-client-dial"
#: Voicemail drop: a machine's channel plays the campaign's message at ``leave``, the agent-first
#: agent's channel is let go at ``agent`` (the agent's Leave message, an AMI Redirect of both).
LEAVE_MESSAGE_CONTEXT = "oc-leave-message"
#: Client first: the context the agent leg is originated into; on answer it marks the waiting
#: customer connected (``SHARED(OC_CONNECTED)``), sends ``OcConnected`` and ``Bridge()``s them.
AGENT_BRIDGE_CONTEXT = "oc-agent-bridge"
#: FTC/FCC/Ofcom: let a number ring at least 15 s before giving up.
MIN_DIAL_TIMEOUT = 15

CHANNEL = re.compile(r"^[A-Za-z0-9+/@._;:-]+$")
CONTEXT = re.compile(r"^[A-Za-z0-9_-]+$")


class CallState(str, Enum):
    """``outbound.call`` states, in the order a call goes through them."""

    QUEUED = "queued"
    ORIGINATING = "originating"
    RINGING = "ringing"
    ANSWERED = "answered"
    CONNECTED = "connected"
    ENDED = "ended"


class ContactState(str, Enum):
    """The ``outbound.contact`` states the engine decides."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


def check_pattern(name: str, value: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(value or ""):
        raise ValueError(f"{name}: {value!r} has characters outside {pattern.pattern}")
    return value


@dataclass(frozen=True)
class RetryDelays:
    """A campaign's delays before calling a contact again, per kind of outcome."""

    busy: timedelta = timedelta(minutes=15)
    no_answer: timedelta = timedelta(hours=1)
    failed: timedelta = timedelta(minutes=30)
    machine: timedelta = timedelta(hours=4)
    machine_message_left: timedelta = timedelta(days=1)

    def delay(self, key: str | None) -> timedelta:
        """The delay named by ``OutcomePolicy.retry_delay`` (``None``: none)."""
        return timedelta(0) if key is None else getattr(self, key)


@dataclass(frozen=True)
class DialerServerView:
    """An Asterisk server: how to reach customers and how much it may carry.

    ``max_channels`` bounds the customer calls in flight (trunk channels; agent legs are
    internal); ``max_calls_per_second`` is enforced by the host's :class:`~.pacing.TokenBucket`.
    """

    id: int
    customer_dial_template: str
    max_channels: int
    max_calls_per_second: float = 1.0
    agent_first_context: str = AGENT_FIRST_CONTEXT
    client_first_context: str = CLIENT_FIRST_CONTEXT
    agent_bridge_context: str = AGENT_BRIDGE_CONTEXT
    client_dial_context: str = CLIENT_DIAL_CONTEXT

    def __post_init__(self) -> None:
        check_dial_template(self.customer_dial_template)
        check_pattern("agent-first context", self.agent_first_context, CONTEXT)
        check_pattern("client-first context", self.client_first_context, CONTEXT)
        check_pattern("agent-bridge context", self.agent_bridge_context, CONTEXT)
        check_pattern("client-dial context", self.client_dial_context, CONTEXT)


@dataclass(frozen=True)
class CampaignView:
    """A running campaign, as the engine needs it. ``stats`` are over ``pacing``'s window.

    ``preview``: agents choose the contacts to call (the console reserves them); the engine then
    dials only reserved contacts and never picks one itself. ``wrap_up_time``: seconds an agent
    keeps after a call they took, to record its disposition.
    """

    id: int
    type: CampaignType
    server_id: int
    window: CallingWindow
    caller_id_number: str
    caller_id_name: str = ""
    dial_timeout: int = 30
    agent_ring_timeout: int = 20
    max_attempts: int = 3
    retry_delays: RetryDelays = field(default_factory=RetryDelays)
    max_wait: int = 2
    hold_message: str | None = None
    abandon_message: str | None = None
    pacing: PacingPolicy = field(default_factory=PacingPolicy)
    stats: PacingStats = field(default_factory=PacingStats)
    wrap_up_time: int = 0
    preview: bool = False
    amd: AmdSettings = field(default_factory=AmdSettings)
    #: record calls (``oc-record``), after this announcement to the customer if any
    record: bool = False
    record_announcement: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", CampaignType(self.type))
        if self.wrap_up_time < 0:
            raise ValueError("the wrap-up time cannot be negative")
        if self.dial_timeout < MIN_DIAL_TIMEOUT:
            raise ValueError(f"dial timeout {self.dial_timeout} s: numbers must ring at least 15 s")
        if self.agent_ring_timeout <= 0 or self.max_wait <= 0 or self.max_attempts < 1:
            raise ValueError("agent ring timeout, max wait and max attempts must be positive")

    def check_dialable(self) -> None:
        """Raise ``ValueError`` if no new call may be placed as the campaign stands: what it sends
        to Asterisk (caller ID, client-first messages) must pass the rules. A campaign that fails
        them still settles its calls in flight: only the host's dialling leaves it out."""
        rules.caller_id(self.caller_id_name, self.caller_id_number)
        if self.type is CampaignType.CLIENT_FIRST:
            for name in ("hold_message", "abandon_message"):
                check_sound_name(name, getattr(self, name))
        self.amd.check_dialable()
        if self.record and self.record_announcement:
            check_sound_name("recording announcement", self.record_announcement)


@dataclass(frozen=True)
class AgentView:
    """An agent in state ``ready``, with the campaigns they serve; longest idle is served first."""

    id: int
    channel: str
    campaign_ids: frozenset[int]
    ready_since: datetime

    def __post_init__(self) -> None:
        check_dial_string("agent channel", self.channel)


@dataclass(frozen=True)
class ContactView:
    """A contact due for a call; ``attempts`` counts the attempts charged so far.

    ``assigned_agent_id``: reserved for that agent (a call back, a previewed contact the agent
    chose to call): dialled only with them, agent first.
    """

    id: int
    campaign_id: int
    e164: str
    attempts: int = 0
    tz: str | None = None
    assigned_agent_id: int | None = None
    #: the end of the last abandoned call to this number in the contact's company, if recent
    abandoned_at: datetime | None = None


@dataclass(frozen=True)
class CallView:
    """One attempt (``outbound.call``) and everything learnt about it so far.

    ``campaign_type`` is how this call was dialled, which is its campaign's type except for a
    reserved call (``reserved``: a contact reserved for its agent), always agent first.
    """

    uuid: str
    campaign_id: int
    contact_id: int
    server_id: int
    campaign_type: CampaignType
    agent_id: int | None = None
    state: CallState = CallState.QUEUED
    queued_at: datetime | None = None
    originated_at: datetime | None = None
    ringing_at: datetime | None = None
    answered_at: datetime | None = None
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    agent_answered_at: datetime | None = None
    agent_leg_at: datetime | None = None
    customer_channel: str | None = None
    reason: int | None = None
    cause: int | None = None
    dial_status: str | None = None
    abandoned: bool = False
    customer_dialled: bool = False
    first_channel_seen: bool = False
    first_channel_gone_at: datetime | None = None
    originate_failed_at: datetime | None = None
    error: str | None = None
    outcome: Outcome | None = None
    reserved: bool = False
    #: agent first: the agent's channel (the first channel's name), for the agent's Leave message
    agent_channel: str | None = None
    #: ``AMDSTATUS``/``AMDCAUSE`` of ``oc-amd`` (``OcMachine``, or the AstDB record)
    amd_status: str | None = None
    amd_cause: str | None = None

    @property
    def action_id(self) -> str:
        """ActionID of the call's originate."""
        return f"oc-{self.uuid}"

    @property
    def agent_action_id(self) -> str:
        """ActionID of the client-first agent leg."""
        return f"oc-{self.uuid}-a"

    @property
    def in_flight(self) -> bool:
        """Holds a trunk channel, or is about to."""
        return self.state is not CallState.ENDED

    def evolve(self, **changes: object) -> CallView:
        """``dataclasses.replace`` without its cost: the fields copied, not passed one by one to a
        frozen ``__init__`` (which sets each of the thirty through ``object.__setattr__``). A
        dialer folds a dozen events per call; at full rate ``replace`` was a sixth of its CPU.
        Same result: a call view checks nothing on creation."""
        unknown = changes.keys() - self.__dataclass_fields__.keys()
        if unknown:
            raise TypeError(f"CallView has no field {', '.join(sorted(unknown))}")
        call = object.__new__(CallView)
        call.__dict__.update(self.__dict__, **changes)
        return call
