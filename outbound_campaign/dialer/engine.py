"""The dialer's decisions: what to originate, what the AMI events mean, what to do next.

Both hosts (``odoo-bin outbound_dialer`` and the cron burst) drive the same functions, in this
order: load the state as the views below → :func:`plan` → send each order's
``to_ami_headers()`` (after committing its call row) → :func:`fold_event` for every AMI event
and action response (routed with :func:`call_uuid_of`), :func:`check_timeouts` on a tick →
a :class:`CallResult` when a call ends → :func:`decide_retry` for its contact → after any
reconnect, :func:`reconcile` before planning again (reading each call's AstDB records at
:func:`astdb_locations`). Nothing here does I/O or reads the clock.

Identifiers, headers, channel variables, UserEvents and the AstDB record follow
``docs/call-flow-contract.md``. Our ActionIDs are ``oc-<uuid>`` (first originate) and
``oc-<uuid>-a`` (client-first agent leg): an ``OriginateResponse`` ``Failure`` carries
``Uniqueid: <unknown>`` (transcripts 03–08), so the ActionID is what routes it.

Least privilege: the dialer's AMI user has ``write = originate,call,reporting`` and ``read =
call,user,reporting``. It reads AstDB (``DBGet`` is filed under ``system`` or ``reporting``) but
never writes or deletes there (``DBPut``/``DBDel`` need ``system``): the dialplan files each
record under the UTC day the call was queued (``OC_DAY``) and drops the days older than a week.

Decisions on attempts (the tables are in ``outcomes``):

* ``answered`` → contact ``done``; ``invalid_number`` → contact ``failed`` at once.
* ``busy``, ``no_answer``, ``congestion``, ``failed`` → retried after the campaign's delay for
  busy / no answer / failure; each charges an attempt; at ``max_attempts`` the contact fails.
* ``abandoned`` → charges an attempt; no client-first call to that number (in the company,
  whichever contact holds it) within 72 h (Ofcom), whatever the retry delay says; agent-first
  calls, which have their agent on the line, may.
* ``agent_no_answer`` → the customer was never dialled: no attempt charged, due again at once
  (the host pauses the agent who missed the call).
* ``trunk_refused`` → the customer's leg was never placed (``INVALIDARGS``, ``CHANUNAVAIL``
  without a cause from the far end: ``outcomes.customer_leg_placed``, one rule for both flows):
  no attempt charged, retried after the failure delay.
* ``unknown`` (lost connection, nothing in AstDB past the grace period) → no attempt charged
  (we cannot tell whether the number rang), retried after the failure delay.
* An attempt is only charged if the customer's number was really dialled: an AMI ``Error`` to the
  Originate or a channel that could not be created (transcript 08) charges nothing. A call the
  trunk refused is retried no sooner than :data:`TRUNK_REFUSED_RETRY_FLOOR`, so that a trunk
  that refuses every call cannot make the dialer spin.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from enum import Enum

from . import rules
from .outcomes import (
    OUTCOME_POLICIES,
    REASON_ANSWERED,
    CallEndRecord,
    CampaignType,
    Outcome,
    classify,
    customer_leg_placed,
    parse_astdb_value,
    record_from_user_event,
    significant_cause,
)
from .pacing import (
    PacingPolicy,
    PacingStats,
    TokenBucket,
    agent_first_dials,
    agents_held,
    client_first_dials,
    dial_ratio,
    share_round_robin,
)
from .rules import (
    E164,
    check_dial_string,
    check_dial_template,
    check_e164,
    check_no_control_characters,
    check_sound_name,
    dial_string,
)
from .schedule import (
    ABANDON_NO_RECALL,
    CallingWindow,
    contact_zones,
    next_callable_at,
    window_status,
)

AGENT_FIRST_CONTEXT = "oc-agent-first"
CLIENT_FIRST_CONTEXT = "oc-client-first"
#: Client first: the context the ``;2`` half of the originated Local channel runs; it dials the
#: customer and records the dial's facts in AstDB (``oc/<day>/<uuid>-dial``).
CLIENT_DIAL_CONTEXT = "oc-client-dial"
#: Client first: the Originate's Timeout is the campaign's dial timeout plus this margin, so that
#: the ``Dial()`` of ``oc-client-dial`` (``OC_DIAL_TIMEOUT``) always gives up first and records why.
CLIENT_FIRST_TIMEOUT_MARGIN_MS = 10_000
#: Key suffix of the client-first dial record (see :func:`astdb_locations`).
DIAL_RECORD_SUFFIX = "-dial"
#: Client first: the context the agent leg is originated into; on answer it marks the waiting
#: customer connected (``SHARED(OC_CONNECTED)``), sends ``OcConnected`` and ``Bridge()``s them.
AGENT_BRIDGE_CONTEXT = "oc-agent-bridge"
#: AstDB family of the dialplan's records; each UTC day of queueing is a sub-family
#: ``oc/<YYYYMMDD>`` (see :func:`astdb_location`).
ASTDB_FAMILY = "oc"
#: FTC/FCC/Ofcom: let a number ring at least 15 s before giving up.
MIN_DIAL_TIMEOUT = 15
#: How long a failed originate waits for its channel's Hangup (which carries the Q.850 cause).
SETTLE = timedelta(seconds=5)
#: How long after its originate a call may stay unresolved after a reconnect before it is
#: declared ``unknown``.
RECONCILE_GRACE = timedelta(minutes=2)

_CHANNEL = re.compile(r"^[A-Za-z0-9+/@._;:-]+$")
_CONTEXT = re.compile(r"^[A-Za-z0-9_-]+$")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


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


# --- validation ---------------------------------------------------------------------------------
# The rules shared with the models live in ``rules``; here, only what the engine alone checks.


def _check_pattern(name: str, value: str, pattern: re.Pattern[str]) -> str:
    if not pattern.fullmatch(value or ""):
        raise ValueError(f"{name}: {value!r} has characters outside {pattern.pattern}")
    return value


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the engine works on timezone-aware (UTC) datetimes")
    return now.astimezone(timezone.utc)


# --- the state the host loads -------------------------------------------------------------------


@dataclass(frozen=True)
class RetryDelays:
    """A campaign's delays before calling a contact again, per kind of outcome."""

    busy: timedelta = timedelta(minutes=15)
    no_answer: timedelta = timedelta(hours=1)
    failed: timedelta = timedelta(minutes=30)

    def delay(self, key: str | None) -> timedelta:
        """The delay named by ``OutcomePolicy.retry_delay`` (``None``: none)."""
        return timedelta(0) if key is None else getattr(self, key)


@dataclass(frozen=True)
class DialerServerView:
    """An Asterisk server: how to reach customers and how much it may carry.

    ``max_channels`` bounds the customer calls in flight (trunk channels; agent legs are
    internal); ``max_calls_per_second`` is enforced by the host's :class:`TokenBucket`.
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
        _check_pattern("agent-first context", self.agent_first_context, _CONTEXT)
        _check_pattern("client-first context", self.client_first_context, _CONTEXT)
        _check_pattern("agent-bridge context", self.agent_bridge_context, _CONTEXT)
        _check_pattern("client-dial context", self.client_dial_context, _CONTEXT)


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


# --- what the engine decides --------------------------------------------------------------------


@dataclass(frozen=True)
class OriginateOrder:
    """An ``Originate`` to send; ``call`` is the row to commit first (state ``queued``)."""

    call: CallView
    channel: str
    context: str
    timeout_ms: int
    caller_id: str
    variables: Mapping[str, str]
    other_channel_id: str | None = None

    def __post_init__(self) -> None:
        _check_pattern("context", self.context, _CONTEXT)
        for name, value in (("Channel", self.channel), ("CallerID", self.caller_id)):
            check_no_control_characters(name, value)
        for name, value in self.variables.items():
            if "," in check_no_control_characters(name, value):
                raise ValueError(f"variable {name}: a comma would split the Variable header")

    def to_ami_headers(self) -> dict[str, str]:
        """The headers of the contract, Variable as one comma-separated header."""
        headers = {
            "Action": "Originate",
            "Channel": self.channel,
            "Context": self.context,
            "Exten": "s",
            "Priority": "1",
            "Async": "true",
            "Timeout": str(self.timeout_ms),
            "CallerID": self.caller_id,
            "ChannelId": self.call.uuid,
        }
        if self.other_channel_id:
            headers["OtherChannelId"] = self.other_channel_id
        headers["Variable"] = ",".join(f"{name}={value}" for name, value in self.variables.items())
        headers["ActionID"] = self.call.action_id
        return headers


@dataclass(frozen=True)
class ConnectAgentOrder:
    """Client first: ring a ready agent and bridge them to the customer waiting on hold.

    The agent leg runs the dialplan context ``oc-agent-bridge`` when the agent answers (not the
    ``Bridge`` application directly: Asterisk runs no dialplan on an application leg, so nothing
    would record that the customer was connected).
    """

    call: CallView
    agent_channel: str
    customer_channel: str
    timeout_ms: int
    context: str = AGENT_BRIDGE_CONTEXT

    def __post_init__(self) -> None:
        _check_pattern("customer channel", self.customer_channel, _CHANNEL)
        _check_pattern("agent channel", self.agent_channel, _CHANNEL)
        _check_pattern("context", self.context, _CONTEXT)

    def to_ami_headers(self) -> dict[str, str]:
        """The contract's agent-leg originate (Async, so the AMI connection never waits on it)."""
        uuid = self.call.uuid
        return {
            "Action": "Originate",
            "Channel": self.agent_channel,
            "Context": self.context,
            "Exten": "s",
            "Priority": "1",
            "Async": "true",
            "Timeout": str(self.timeout_ms),
            "ChannelId": f"{uuid}-a",
            "Variable": f"OC_CALL_UUID={uuid},OC_LEG=agent,OC_CUSTOMER={self.customer_channel}",
            "ActionID": self.call.agent_action_id,
        }


@dataclass(frozen=True)
class ContactSkip:
    """A due contact not dialled now: ``not_callable`` (move ``next_attempt_at``; ``None`` means
    never within the campaign's dates), ``no_common_hours`` (its number spans zones, ``detail``,
    whose calling hours never overlap: never callable until it is given its own zone) or
    ``invalid_number`` (not E.164 or no valid dial string: fail it)."""

    contact_id: int
    reason: str
    next_attempt_at: datetime | None = None
    detail: str = ""


@dataclass(frozen=True)
class CampaignStatus:
    """Why a campaign dials or not, as the dashboard shows it. The host writes it on the campaign
    after each plan (``dialing_status`` = ``reason``, ``dialing_status_until``, ``dial_ratio``,
    ``dialing_status_at``), only when it changed.

    ``reason``, the first that explains the campaign's dialling, in the order a manager checks:

    * ``dialing``: it placed calls at this plan.
    * ``abandon_cap``: client first, it placed calls (or could not) with its abandon rate near its
      cap: pacing is tapered to one call per ready agent (``dial_ratio`` says how far).
    * ``not_started`` / ``ended`` / ``closed_day`` / ``outside_hours`` / ``never``: the calling
      window (``schedule.window_status``): before the campaign's start date, after its end date,
      a weekday it does not call, outside its daily hours (or the legal calling hours), no time
      left at all. ``opens_at`` (``dialing_status_until``): when it opens again (not for ``ended``
      and ``never``).
    * ``no_contact_due``: no contact to call now; the host sets ``dialing_status_until`` to the
      next contact's due time (none: nothing left to call).
    * ``preview``: a preview campaign with no contact reserved by its agents: agents choose
      whom to call from their console.
    * ``no_agent_ready``: contacts are due but none of its agents is ready with a free phone.
    * ``server_full``: the dialer server's channels or calls per second are all in use.
    * ``paced``: client first, the calls in flight already cover its ready agents at the current
      ``dial_ratio``.

    "Dialer offline" is not the engine's to say: the dashboard reads the dialer server's heartbeat.
    """

    campaign_id: int
    reason: str
    opens_at: datetime | None = None
    dial_ratio: float = 1.0
    abandon_rate: float = 0.0


@dataclass(frozen=True)
class Plan:
    """Everything :func:`plan` decided; ``next_start`` is the round-robin start of the next plan."""

    connects: tuple[ConnectAgentOrder, ...]
    originates: tuple[OriginateOrder, ...]
    skips: tuple[ContactSkip, ...]
    statuses: Mapping[int, CampaignStatus]
    next_start: int
    #: The agents this plan counted on (held for calls in flight, or given to a campaign that
    #: placed a call) who also serve campaigns of other dialer servers; empty when it placed
    #: nothing. The host writes their rows with its claim: a host of another server planning on
    #: one of them at the same time then fails to serialize and plans again, on fresh data.
    shared_agents: frozenset[int] = frozenset()


# --- planning -----------------------------------------------------------------------------------

DIALING = "dialing"
ABANDON_CAP = "abandon_cap"
NO_CONTACT_DUE = "no_contact_due"
NO_AGENT_READY = "no_agent_ready"
SERVER_FULL = "server_full"
#: client first: the calls already in flight cover the ready agents at the current ratio
PACED = "paced"
#: a preview campaign waits for its agents to choose whom to call
PREVIEW = "preview"


def _originate(
    now: datetime,
    server: DialerServerView,
    campaign: CampaignView,
    contact: ContactView,
    agent: AgentView | None,
    uuid: str,
    reserved: bool = False,
) -> OriginateOrder:
    customer = dial_string(server.customer_dial_template, contact.e164)
    call = CallView(
        uuid=uuid,
        campaign_id=campaign.id,
        contact_id=contact.id,
        server_id=server.id,
        campaign_type=campaign.type,
        agent_id=agent.id if agent else None,
        queued_at=now,
        reserved=reserved,
    )
    caller_id = rules.caller_id(campaign.caller_id_name, campaign.caller_id_number)
    variables = {"OC_CALL_UUID": uuid, "OC_CAMPAIGN_ID": str(campaign.id), "OC_DAY": _astdb_day(now)}
    if agent is not None:
        variables |= {
            "OC_DIAL": customer,
            "OC_DIAL_TIMEOUT": str(campaign.dial_timeout),
            "OC_CALLERID_NUM": campaign.caller_id_number,
        }
        return OriginateOrder(
            call,
            agent.channel,
            server.agent_first_context,
            campaign.agent_ring_timeout * 1000,
            caller_id,
            variables,
            other_channel_id=f"{uuid}-2",
        )
    # Client first (contract v3): a Local channel whose ;2 half dials the customer in
    # oc-client-dial (and records that dial in AstDB, whatever becomes of it) while ;1, once the
    # customer answered, runs oc-client-first. Asterisk copies every channel variable of ;1 to ;2
    # when it calls the pair (main/core_unreal.c, ast_unreal_call_setup()), so plain names reach
    # both halves. "/n": no Local optimisation, the pair stays until the call ends.
    variables |= {
        "OC_DIAL": customer,
        "OC_DIAL_TIMEOUT": str(campaign.dial_timeout),
        "OC_CALLERID_NUM": campaign.caller_id_number,
        "OC_MAX_WAIT": str(campaign.max_wait),
        "OC_HOLD_MSG": campaign.hold_message or "",
        "OC_ABANDON_MSG": campaign.abandon_message or "",
    }
    return OriginateOrder(
        call,
        f"Local/s@{server.client_dial_context}/n",
        server.client_first_context,
        campaign.dial_timeout * 1000 + CLIENT_FIRST_TIMEOUT_MARGIN_MS,
        caller_id,
        variables,
        other_channel_id=f"{uuid}-2",
    )


def _hold_agents(free: Sequence[AgentView], needs: Mapping[int, int]) -> dict[int, list[AgentView]]:
    """Per campaign, ``needs[campaign_id]`` free agents who serve it, each agent held for one
    campaign at most; a campaign gets fewer only when no assignment of the agents can give it
    more (augmenting paths: a shared agent held for one campaign is moved to make room).

    Agents serving the fewest campaigns are held first, the longest idle first among them: the
    agents shared with other campaigns are left to those campaigns where possible.
    """
    candidates = sorted(free, key=lambda a: (len(a.campaign_ids), a.ready_since, a.id))
    holder: dict[int, int] = {}  # agent id -> the campaign they are held for
    for campaign_id, need in needs.items():
        for _ in range(need):
            # Breadth first from the campaign: an agent not held yet, or one held for another
            # campaign that can take another agent instead, and so on along the path.
            reached_from: dict[int, int] = {}  # agent id -> campaign that reached them
            through: dict[int, int] = {}  # campaign -> the agent of theirs it was reached by
            queue, found = deque([campaign_id]), None
            while queue and found is None:
                current = queue.popleft()
                for agent in candidates:
                    if current not in agent.campaign_ids or agent.id in reached_from:
                        continue
                    reached_from[agent.id] = current
                    owner = holder.get(agent.id)
                    if owner is None:
                        found = agent.id
                        break
                    if owner != campaign_id and owner not in through:
                        through[owner] = agent.id
                        queue.append(owner)
            if found is None:
                break  # its calls outnumber the agents left for it: it dials no more (pacing)
            while True:  # each campaign on the path takes the next agent and gives up its own
                current = reached_from[found]
                holder[found] = current
                if current == campaign_id:
                    break
                found = through[current]
    held: dict[int, list[AgentView]] = {}
    for agent in free:
        if agent.id in holder:
            held.setdefault(holder[agent.id], []).append(agent)
    return held


def _allocate_agents(
    free: Sequence[AgentView],
    campaign_order: Sequence[CampaignView],
    wanting: set[int],
    held: Mapping[int, Sequence[AgentView]],
) -> dict[int, list[AgentView]]:
    """Give each free agent (longest idle first) to one of their campaigns that wants agents:
    the one with the fewest so far (those held for it included), ties to the round-robin order."""
    rank = {campaign.id: i for i, campaign in enumerate(campaign_order)}
    allocated: dict[int, list[AgentView]] = {campaign.id: [] for campaign in campaign_order}
    for agent in free:
        choices = [cid for cid in agent.campaign_ids if cid in wanting]
        if choices:
            chosen = min(choices, key=lambda cid: (len(held.get(cid, ())) + len(allocated[cid]), rank[cid]))
            allocated[chosen].append(agent)
    return allocated


def _wants_an_agent(call: CallView) -> bool:
    """A client-first call not yet with an agent that may need one: dialling, ringing, or
    answered without one (waiting, or answered a moment before its ``OcWaiting``). A
    reserved call of a client-first campaign is dialled agent first: it has its agent."""
    return call.campaign_type is CampaignType.CLIENT_FIRST and (
        call.state in (CallState.QUEUED, CallState.ORIGINATING, CallState.RINGING)
        or (call.state is CallState.ANSWERED and call.agent_id is None and not call.abandoned)
    )


def _waiting_for_agent(call: CallView) -> bool:
    return (
        call.campaign_type is CampaignType.CLIENT_FIRST
        and call.state is CallState.ANSWERED
        and call.agent_id is None
        and call.customer_channel is not None
        and not call.abandoned
    )


def _not_callable_now(now: datetime, campaign: CampaignView, contact: ContactView) -> ContactSkip | None:
    """Why ``contact`` may not be dialled now, if so: the hours on its clock, or, without an agent
    on the line (client first), the 72 h after an abandoned call to its number (Ofcom)."""
    zones = contact_zones(contact.e164, contact.tz, campaign.window.tz)
    earliest = now
    if campaign.type is CampaignType.CLIENT_FIRST and contact.abandoned_at is not None:
        earliest = max(now, contact.abandoned_at + ABANDON_NO_RECALL)
    callable_at = next_callable_at(earliest, campaign.window, zones)
    if callable_at == now:
        return None
    # never, though each zone has its hours: they never overlap
    never_together = callable_at is None and len(zones) > 1
    if never_together and all(next_callable_at(earliest, campaign.window, zone) for zone in zones):
        return ContactSkip(contact.id, "no_common_hours", None, ", ".join(zones))
    return ContactSkip(contact.id, "not_callable", callable_at)


def _dial_campaign(
    now: datetime,
    server: DialerServerView,
    campaign: CampaignView,
    due: Sequence[ContactView],
    agents: Sequence[AgentView],
    grant: int,
    busy_contacts: set[int],
    new_uuid: Callable[[], str],
    skips: list[ContactSkip],
    reserved: bool = False,
) -> list[OriginateOrder]:
    """Up to ``grant`` originates from the head of ``due``, reading no contact past the last one
    dialled; contacts that cannot be dialled now are appended to ``skips``. Reserved contacts
    are dialled only when ``reserved`` (with their agent), the others only when not."""
    orders: list[OriginateOrder] = []
    agents_left = list(agents)
    if grant <= 0:
        return orders
    for contact in due:
        if contact.id in busy_contacts or (contact.assigned_agent_id is not None) is not reserved:
            continue
        if not E164.fullmatch(contact.e164):
            skips.append(ContactSkip(contact.id, "invalid_number", None, f"{contact.e164!r} is not E.164"))
            continue
        skip = _not_callable_now(now, campaign, contact)
        if skip is not None:
            skips.append(skip)
            continue
        agent = agents_left[0] if campaign.type is CampaignType.AGENT_FIRST else None
        try:
            orders.append(_originate(now, server, campaign, contact, agent, new_uuid(), reserved))
        except ValueError as exc:
            skips.append(ContactSkip(contact.id, "invalid_number", None, str(exc)))
            continue
        if agent is not None:
            agents_left.pop(0)
        if len(orders) >= grant:
            break
    return orders


def _dial_reserved(
    now: datetime,
    server: DialerServerView,
    campaigns: Mapping[int, CampaignView],
    free: Sequence[AgentView],
    reserved: Mapping[int, Sequence[ContactView]],
    capacity: int,
    busy_contacts: set[int],
    new_uuid: Callable[[], str],
    skips: list[ContactSkip],
) -> list[OriginateOrder]:
    """One agent-first originate per free agent (longest idle first) with a reserved contact due
    in one of the server's running campaigns, its first callable one, within ``capacity``."""
    orders: list[OriginateOrder] = []
    for agent in free:
        if len(orders) >= capacity:
            break
        for contact in reserved.get(agent.id, ()):
            campaign = campaigns.get(contact.campaign_id)
            if campaign is None or contact.assigned_agent_id != agent.id or contact.id in busy_contacts:
                continue
            dialled = _dial_campaign(
                now,
                server,
                replace(campaign, type=CampaignType.AGENT_FIRST),
                [contact],
                [agent],
                1,
                busy_contacts,
                new_uuid,
                skips,
                reserved=True,
            )
            if dialled:
                orders += dialled
                break
    return orders


def plan(
    now: datetime,
    server: DialerServerView,
    campaigns: Sequence[CampaignView],
    agents: Sequence[AgentView],
    calls: Iterable[CallView],
    due_contacts: Mapping[int, Sequence[ContactView]],
    bucket: TokenBucket,
    new_uuid: Callable[[], str],
    start: int = 0,
    reserved: Mapping[int, Sequence[ContactView]] | None = None,
) -> Plan:
    """Decide the originates of this instant for one dialer server.

    ``agents`` are the agents in state ready (with a free phone), with every running campaign
    they serve, of this server or another; ``calls`` the calls not ended on this server, and
    the client-first calls without an agent of other servers' campaigns that share agents with
    this server's (they hold agents too); ``due_contacts`` per campaign, ordered by
    ``next_attempt_at``, a few more than agents (the host's indexed query: contacts are never
    scanned here); ``reserved`` per agent, their due reserved contacts in due order. The free agents are one pool for all the
    campaigns, each agent given to one of them at most. First, customers waiting on hold get an
    agent (an abandon is the costliest thing to let happen); then the client-first calls not yet
    with an agent hold their share of the agents (``pacing.agents_held``), which no other
    campaign gets; then each free agent with a reserved contact due calls it, agent first
    whatever the campaign's type (a promised call must have its agent: Ofcom allows re-calls
    within 72 h only with a guaranteed agent); then the other free agents are shared among the
    campaigns that are not preview campaigns, each campaign paces its calls on the agents held
    for it and given to it, and the server's free channels and calls-per-second tokens (taken
    from ``bucket``) are shared round-robin from ``start``. ``new_uuid`` names each new call.
    """
    now = _aware(now)
    running = sorted((c for c in campaigns if c.server_id == server.id), key=lambda c: c.id)
    by_id = {campaign.id: campaign for campaign in running}
    calls = list(calls)
    in_flight = [call for call in calls if call.in_flight and call.server_id == server.id]
    busy_agents = {call.agent_id for call in in_flight if call.agent_id is not None}
    free = sorted((a for a in agents if a.id not in busy_agents), key=lambda a: (a.ready_since, a.id))

    connects: list[ConnectAgentOrder] = []
    taken: set[int] = set()
    waiting = sorted(
        (call for call in in_flight if _waiting_for_agent(call) and call.campaign_id in by_id),
        key=lambda call: (call.answered_at or now, call.uuid),
    )
    for call in waiting:
        agent = next((a for a in free if a.id not in taken and call.campaign_id in a.campaign_ids), None)
        if agent is None:
            continue
        taken.add(agent.id)
        campaign = by_id[call.campaign_id]
        connects.append(
            ConnectAgentOrder(
                replace(call, agent_id=agent.id, agent_leg_at=now),
                agent.channel,
                call.customer_channel or "",
                campaign.agent_ring_timeout * 1000,
                server.agent_bridge_context,
            )
        )
    free = [agent for agent in free if agent.id not in taken]

    # One pool of agents for every campaign of the turn. First out of it: the agents that
    # client-first calls not yet with an agent hold, ceil(calls / ratio) per campaign
    # (pacing.agents_held says why that keeps the abandon cap).
    ratios = {
        campaign.id: dial_ratio(campaign.stats, campaign.pacing)
        if campaign.type is CampaignType.CLIENT_FIRST
        else 1.0
        for campaign in running
    }
    bridging = {connect.call.uuid for connect in connects}
    unconnected = Counter(
        call.campaign_id for call in in_flight if call.uuid not in bridging and _wants_an_agent(call)
    )
    # The client-first calls of other servers' campaigns want the agents they share with ours;
    # their pacing is not known here: they hold one agent per call, the most any ratio asks.
    elsewhere = Counter(
        call.campaign_id
        for call in calls
        if call.server_id != server.id and call.in_flight and _wants_an_agent(call)
    )
    held = _hold_agents(
        free,
        {cid: agents_held(count, ratios[cid]) for cid, count in sorted(unconnected.items()) if cid in by_id}
        | dict(sorted(elsewhere.items())),
    )
    holding = {agent.id for agents in held.values() for agent in agents}
    free = [agent for agent in free if agent.id not in holding]

    capacity = min(max(0, server.max_channels - len(in_flight)), bucket.available(now))
    skips: list[ContactSkip] = []
    busy_contacts = {call.contact_id for call in in_flight}
    promised = _dial_reserved(
        now, server, by_id, free, reserved or {}, capacity, busy_contacts, new_uuid, skips
    )
    busy_contacts |= {order.call.contact_id for order in promised}
    promised_agents = {order.call.agent_id for order in promised}
    free = [agent for agent in free if agent.id not in promised_agents]
    capacity -= len(promised)

    start = start % len(running) if running else 0
    order = running[start:] + running[:start]
    # Preview campaigns pick nobody: their agents choose, and reserve what they chose (above).
    unreserved = {
        campaign.id: due_contacts.get(campaign.id, ()) for campaign in order if not campaign.preview
    }
    wanting = {cid for cid, due in unreserved.items() if due}
    # Then each agent left goes to one campaign at most: no agent is counted twice.
    allocated = _allocate_agents(free, order, wanting, held)
    pools = {campaign.id: [*held.get(campaign.id, ()), *allocated[campaign.id]] for campaign in order}

    demands: list[int] = []
    for campaign in order:
        due = len(unreserved.get(campaign.id, ()))
        if campaign.type is CampaignType.AGENT_FIRST:
            demand = agent_first_dials(len(allocated[campaign.id]))
        else:
            demand = client_first_dials(
                len(pools[campaign.id]), unconnected[campaign.id], ratios[campaign.id]
            )
        demands.append(min(demand, due))

    grants = share_round_robin(demands, capacity)

    originates: list[OriginateOrder] = list(promised)
    dialled = Counter(order.call.campaign_id for order in promised)
    for campaign, grant in zip(order, grants, strict=True):
        orders = _dial_campaign(
            now,
            server,
            campaign,
            unreserved.get(campaign.id, ()),
            allocated[campaign.id],
            grant,
            busy_contacts,
            new_uuid,
            skips,
        )
        originates += orders
        dialled[campaign.id] += len(orders)
    bucket.take(now, len(originates))

    statuses = {
        campaign.id: _status(now, campaign, dialled[campaign.id], demand, pools, unreserved, ratios)
        for campaign, demand in zip(order, demands, strict=True)
    }
    counted = [agent for agents in held.values() for agent in agents]
    counted += [agent for campaign in order if dialled[campaign.id] for agent in allocated[campaign.id]]
    placed = {sent.call.agent_id for sent in (*connects, *originates)}
    counted += [agent for agent in agents if agent.id in placed]
    return Plan(
        tuple(connects),
        tuple(originates),
        tuple(skips),
        statuses,
        (start + 1) % len(running) if running else 0,
        frozenset(agent.id for agent in counted if agent.campaign_ids - by_id.keys())
        if connects or originates
        else frozenset(),
    )


def _status(
    now: datetime,
    campaign: CampaignView,
    dialled: int,
    demand: int,
    pools: Mapping[int, Sequence[AgentView]],
    due_contacts: Mapping[int, Sequence[ContactView]],
    ratios: Mapping[int, float],
) -> CampaignStatus:
    """The first reason that explains the campaign's dialling, in the order a manager checks
    (the codes are listed on :class:`CampaignStatus`)."""
    rate = campaign.stats.abandon_rate if campaign.type is CampaignType.CLIENT_FIRST else 0.0
    capped = rate >= campaign.pacing.abandon_cap * campaign.pacing.near_cap
    if dialled:
        return CampaignStatus(
            campaign.id, ABANDON_CAP if capped else DIALING, None, ratios[campaign.id], rate
        )
    window = window_status(now, campaign.window)
    if not window.is_open:
        return CampaignStatus(campaign.id, window.reason, window.opens_at, ratios[campaign.id], rate)
    if campaign.preview:
        return CampaignStatus(campaign.id, PREVIEW, None, ratios[campaign.id], rate)
    if not due_contacts.get(campaign.id):
        reason = NO_CONTACT_DUE
    elif not pools[campaign.id]:
        reason = NO_AGENT_READY
    elif demand:
        reason = SERVER_FULL
    else:
        reason = ABANDON_CAP if capped else PACED
    return CampaignStatus(campaign.id, reason, None, ratios[campaign.id], rate)


# --- folding AMI events -------------------------------------------------------------------------


@dataclass(frozen=True)
class CallResult:
    """A finished call, ready to store and to decide the contact's next step on."""

    uuid: str
    campaign_id: int
    contact_id: int
    agent_id: int | None
    outcome: Outcome
    reason: int | None
    cause: int | None
    dial_status: str | None
    customer_dialled: bool
    queued_at: datetime | None
    originated_at: datetime | None
    ringing_at: datetime | None
    answered_at: datetime | None
    connected_at: datetime | None
    ended_at: datetime
    ring_seconds: float | None
    wait_seconds: float | None
    talk_seconds: float | None
    error: str | None = None
    reserved: bool = False

    @classmethod
    def of(cls, call: CallView) -> CallResult:
        """The result of an ended call, with its durations in seconds."""
        if call.outcome is None or call.ended_at is None:
            raise ValueError(f"call {call.uuid} has not ended")

        def seconds(since: datetime | None, until: datetime | None) -> float | None:
            if since is None or until is None:
                return None
            return max(0.0, (until - since).total_seconds())

        ring_from = call.ringing_at
        if ring_from is None and call.campaign_type is CampaignType.CLIENT_FIRST and call.customer_dialled:
            ring_from = call.originated_at
        waits = call.campaign_type is CampaignType.CLIENT_FIRST
        return cls(
            uuid=call.uuid,
            campaign_id=call.campaign_id,
            contact_id=call.contact_id,
            agent_id=call.agent_id,
            outcome=call.outcome,
            reason=call.reason,
            cause=call.cause,
            dial_status=call.dial_status,
            customer_dialled=call.customer_dialled,
            queued_at=call.queued_at,
            originated_at=call.originated_at,
            ringing_at=call.ringing_at,
            answered_at=call.answered_at,
            connected_at=call.connected_at,
            ended_at=call.ended_at,
            ring_seconds=seconds(ring_from, call.answered_at or call.ended_at),
            wait_seconds=seconds(call.answered_at, call.connected_at or call.ended_at) if waits else None,
            talk_seconds=seconds(call.connected_at, call.ended_at),
            error=call.error,
            reserved=call.reserved,
        )


@dataclass(frozen=True)
class CallTransition:
    """The call after one event: ``result`` when it just ended; ``agent_missed`` names an agent
    who did not take a client-first bridge leg (the host pauses them)."""

    call: CallView
    changed: bool
    result: CallResult | None = None
    agent_missed: int | None = None


def _header(event: Mapping[str, object], key: str) -> str | None:
    value = event.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value).strip()


def _int_header(event: Mapping[str, object], key: str) -> int | None:
    value = _header(event, key)
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _uuid_in(value: str | None) -> str | None:
    match = _UUID.match((value or "").lower())
    return match.group(0) if match else None


def call_uuid_of(event: Mapping[str, object]) -> str | None:
    """The uuid of the call an event or action response belongs to, or ``None`` if not ours.

    ``Uuid`` (our UserEvents), then our ActionID, then the channel ids: ``<uuid>``, its Local
    half ``<uuid>-2`` / ``<uuid>;2``, the agent leg ``<uuid>-a``, or a channel whose Linkedid is
    the uuid (the customer dialled by the agent-first dialplan).
    """
    action_id = (_header(event, "ActionID") or "").lower()
    candidates = [_header(event, "Uuid"), action_id[3:] if action_id.startswith("oc-") else None]
    candidates += [_header(event, key) for key in ("Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid")]
    for candidate in candidates:
        uuid = _uuid_in(candidate)
        if uuid:
            return uuid
    return None


_FIRST, _LOCAL_HALF, _AGENT_LEG, _LINKED = "first", "local_half", "agent_leg", "linked"


def _leg(call: CallView, uniqueid: str | None, linkedid: str | None) -> str | None:
    """Which channel of the call: the originated one (``<uuid>``), its Local ``;2`` half, the
    client-first agent leg (``<uuid>-a``, and what it dials: Linkedid ``<uuid>-a``) or a channel
    linked to the call (Linkedid ``<uuid>``: the customer dialled by the dialplan)."""
    unique = (uniqueid or "").lower()
    if unique == call.uuid:
        return _FIRST
    if unique in (f"{call.uuid}-2", f"{call.uuid};2"):
        return _LOCAL_HALF
    if unique.startswith(f"{call.uuid}-a") or (linkedid or "").lower().startswith(f"{call.uuid}-a"):
        return _AGENT_LEG
    if _uuid_in(linkedid) == call.uuid or _uuid_in(uniqueid) == call.uuid:
        return _LINKED
    return None


def _is_customer_leg(call: CallView, leg: str | None) -> bool:
    """Agent first: the channel the dialplan dialled. Client first: the Local pair (whose halves
    carry the customer's state and hangup cause) and the channel its ``;2`` half dialled (a
    customer originated directly, before contract v3, is the first channel itself)."""
    if call.campaign_type is CampaignType.AGENT_FIRST:
        return leg == _LINKED
    return leg in (_FIRST, _LOCAL_HALF, _LINKED)


def _end(call: CallView, ended_at: datetime, record: CallEndRecord | None = None) -> CallView:
    """Close a call with what the events and, if given, the dialplan's record say."""
    known = record or CallEndRecord()
    agent_first = call.campaign_type is CampaignType.AGENT_FIRST
    dial_status = call.dial_status or known.dial_status
    customer_answered = not agent_first or dial_status == "ANSWER"
    answered_at = call.answered_at or (known.answered_at if customer_answered else None)
    connected_at = call.connected_at or (known.connected_at if customer_answered else None)
    abandoned = call.abandoned or known.abandoned
    cause = significant_cause(call.cause, known.cause)
    # What the events showed (a DialBegin, the customer's channel), else the one rule on what
    # Asterisk reported, the same in both flows.
    dialled = call.customer_dialled or customer_leg_placed(
        call.campaign_type,
        answered=answered_at is not None,
        reason=call.reason,
        dial_status=dial_status,
        cause=cause,
    )
    if call.error is not None and call.reason is None and not dialled:
        # Refused before any channel existed (AMI error, link down): nobody was rung, not even
        # the agent, so it is neither the agent's miss nor the customer's outcome.
        outcome = Outcome.FAILED
    else:
        outcome = classify(
            call.campaign_type,
            reason=call.reason,
            cause=cause,
            dial_status=dial_status,
            answered=answered_at is not None,
            connected=connected_at is not None,
            abandoned=abandoned,
            placed=dialled,
        )
    return replace(
        call,
        state=CallState.ENDED,
        answered_at=answered_at,
        connected_at=connected_at,
        ended_at=ended_at,
        cause=cause,
        dial_status=dial_status,
        abandoned=abandoned,
        customer_dialled=dialled,
        outcome=outcome,
    )


_STAMPS = {
    CallState.ORIGINATING: "originated_at",
    CallState.RINGING: "ringing_at",
    CallState.ANSWERED: "answered_at",
    CallState.CONNECTED: "connected_at",
}


def _advance(call: CallView, state: CallState, now: datetime) -> CallView:
    """Move forward to ``state`` (never back), stamping the states passed on the way.

    Ringing is only stamped when reached: a call answered without a ringing event never rang as
    far as we know, and its ring time is then measured from the originate.
    """
    order = list(CallState)
    current, target = order.index(call.state), order.index(state)
    if target <= current:
        return call
    changes: dict[str, object] = {"state": state}
    for passed in order[current + 1 : target + 1]:
        stamp = _STAMPS.get(passed)
        if stamp and getattr(call, stamp) is None and (passed is state or passed is not CallState.RINGING):
            changes[stamp] = now
    return replace(call, **changes)


def _on_response(call: CallView, event: Mapping[str, object], now: datetime) -> tuple[CallView, int | None]:
    """The immediate answer to our Originate action: queued, or refused."""
    success = _header(event, "Response") == "Success"
    if (_header(event, "ActionID") or "").lower() == call.agent_action_id:
        if success:
            return call, None
        return replace(call, agent_id=None, agent_leg_at=None), call.agent_id
    if success:
        return _advance(call, CallState.ORIGINATING, now), None
    refused = replace(call, error=_header(event, "Message") or "Originate refused")
    return _end(refused, now), None


def _on_originate_response(
    call: CallView, event: Mapping[str, object], now: datetime
) -> tuple[CallView, int | None]:
    success = _header(event, "Response") == "Success"
    if (_header(event, "ActionID") or "").lower() == call.agent_action_id or _leg(
        call, _header(event, "Uniqueid"), None
    ) == _AGENT_LEG:
        if success:
            return replace(call, agent_answered_at=call.agent_answered_at or now), None
        return replace(call, agent_id=None, agent_leg_at=None), call.agent_id
    call = replace(call, reason=_int_header(event, "Reason"), originated_at=call.originated_at or now)
    if success:
        if call.campaign_type is CampaignType.AGENT_FIRST:
            call = replace(call, agent_answered_at=call.agent_answered_at or now, first_channel_seen=True)
            return _advance(call, CallState.ORIGINATING, now), None
        call = replace(call, customer_dialled=True, first_channel_seen=True)
        return _advance(call, CallState.ANSWERED, now), None
    call = replace(call, originate_failed_at=now)
    # Client first originates a Local channel, which Asterisk creates before anything can fail;
    # its events may still be on their way: Asterisk sends the OriginateResponse itself but
    # channel events through its message bus, and a loaded one delivers a refusal at once (busy,
    # unallocated) before them. Wait for them as for a Hangup (check_timeouts ends the wait).
    waits = call.first_channel_seen or call.campaign_type is CampaignType.CLIENT_FIRST
    if not waits or call.first_channel_gone_at is not None:
        return _end(call, now), None
    return call, None  # its Hangup, with the Q.850 cause, is still to come (transcript 05)


def _on_channel(call: CallView, event: Mapping[str, object], now: datetime) -> tuple[CallView, int | None]:
    """Newchannel / Newstate: which channels exist, which ring, which answered."""
    leg = _leg(call, _header(event, "Uniqueid"), _header(event, "Linkedid"))
    if leg is None:
        return call, None
    if leg == _FIRST:
        call = replace(call, first_channel_seen=True)
        call = _advance(call, CallState.ORIGINATING, now)
    if _is_customer_leg(call, leg):
        state = _header(event, "ChannelState")
        if leg == _LINKED or state in ("5", "6"):  # a Local ;1 is created before any dial
            call = replace(call, customer_dialled=True)
        if state == "5":
            call = _advance(call, CallState.RINGING, now)
        elif state == "6" and leg == _FIRST:
            call = _advance(call, CallState.ANSWERED, now)
    elif leg == _FIRST and _header(event, "ChannelState") == "6":
        call = replace(call, agent_answered_at=call.agent_answered_at or now)
    return call, None


def _on_dial(call: CallView, event: Mapping[str, object], now: datetime) -> tuple[CallView, int | None]:
    """DialBegin / DialEnd of the dialplan's ``Dial()`` to the customer: from the agent's channel
    in agent first (``oc-agent-first``), from the Local ``;2`` half in client first
    (``oc-client-dial``). An answer connects an agent-first call; a client-first one is then
    answered, waiting for an agent.

    The originate's own dial has no caller channel (no ``Uniqueid``) and is ignored: its
    NOANSWER in transcript 05 is not the customer's.
    """
    agent_first = call.campaign_type is CampaignType.AGENT_FIRST
    caller = _leg(call, _header(event, "Uniqueid"), None)
    if caller != (_FIRST if agent_first else _LOCAL_HALF):
        return call, None
    if _header(event, "Event") == "DialBegin":
        return _advance(replace(call, customer_dialled=True), CallState.RINGING, now), None
    status = (_header(event, "DialStatus") or "").upper() or None
    call = replace(call, dial_status=status, customer_dialled=True)
    if status == "ANSWER":
        call = _advance(call, CallState.CONNECTED if agent_first else CallState.ANSWERED, now)
    return call, None


def _on_hangup(call: CallView, event: Mapping[str, object], now: datetime) -> tuple[CallView, int | None]:
    leg = _leg(call, _header(event, "Uniqueid"), _header(event, "Linkedid"))
    if _is_customer_leg(call, leg):
        call = replace(call, cause=significant_cause(call.cause, _int_header(event, "Cause")))
    if leg != _FIRST:
        return call, None
    call = replace(call, first_channel_gone_at=now)
    if (
        call.originate_failed_at is None
        and call.reason is None
        and call.state
        in (
            CallState.QUEUED,
            CallState.ORIGINATING,
            CallState.RINGING,
        )
    ):
        return call, None  # the OriginateResponse, with the reason, is still to come (03, 04)
    return _end(call, now), None


def _on_bridge(call: CallView, event: Mapping[str, object], now: datetime) -> tuple[CallView, int | None]:
    if (
        call.campaign_type is CampaignType.CLIENT_FIRST
        and _leg(call, _header(event, "Uniqueid"), None) == _AGENT_LEG
    ):
        return _advance(call, CallState.CONNECTED, now), None
    return call, None


def _on_user_event(call: CallView, event: Mapping[str, object], now: datetime) -> tuple[CallView, int | None]:
    name = _header(event, "UserEvent")
    if name == "OcWaiting":
        channel = _header(event, "Channel")
        call = replace(call, customer_dialled=True, customer_channel=channel or call.customer_channel)
        return _advance(call, CallState.ANSWERED, now), None
    if name == "OcConnected":
        return _advance(call, CallState.CONNECTED, now), None
    if name == "OcAbandoned":
        return replace(call, abandoned=True), None
    if name == "OcCallEnd":
        return _end(call, now, record_from_user_event(event)), None
    return call, None


_HANDLERS: Mapping[str, Callable[[CallView, Mapping[str, object], datetime], tuple[CallView, int | None]]] = {
    "OriginateResponse": _on_originate_response,
    "Newchannel": _on_channel,
    "Newstate": _on_channel,
    "DialBegin": _on_dial,
    "DialEnd": _on_dial,
    "Hangup": _on_hangup,
    "BridgeEnter": _on_bridge,
    "UserEvent": _on_user_event,
}


def fold_event(call: CallView, event: Mapping[str, object], now: datetime) -> CallTransition:
    """Apply one AMI event, or the response to one of our Originate actions, to its call.

    Events for an ended call, and events that say nothing new, leave it unchanged.
    """
    now = _aware(now)
    if call.state is CallState.ENDED:
        return CallTransition(call, False)
    name = _header(event, "Event")
    if name is None and _header(event, "Response") is not None:
        handler = _on_response
    elif name in _HANDLERS:
        handler = _HANDLERS[name]
    else:
        return CallTransition(call, False)
    new, agent_missed = handler(call, event, now)
    result = CallResult.of(new) if new.state is CallState.ENDED else None
    return CallTransition(new, new != call, result, agent_missed)


def check_timeouts(call: CallView, now: datetime, settle: timedelta = SETTLE) -> CallTransition:
    """Close a call whose last event will not come: a failed originate whose channel Hangup never
    arrives, or a hung-up first channel whose OriginateResponse never arrives."""
    now = _aware(now)
    if call.state is CallState.ENDED:
        return CallTransition(call, False)
    waited_since = call.originate_failed_at or call.first_channel_gone_at
    if waited_since is None or now - waited_since < settle:
        return CallTransition(call, False)
    ended = _end(call, now)
    return CallTransition(ended, True, CallResult.of(ended))


# --- after the call -----------------------------------------------------------------------------

#: The least delay before calling again a contact whose call the trunk refused: a trunk that
#: refuses every call must not make the dialer re-dial the same contacts in a loop, whatever the
#: campaign's failure delay (which may be 0). A lost link is no such loop: its calls keep theirs.
TRUNK_REFUSED_RETRY_FLOOR = timedelta(minutes=5)


@dataclass(frozen=True)
class RetryDecision:
    """The contact's next step after a call."""

    contact_id: int
    state: ContactState
    attempts: int
    next_attempt_at: datetime | None
    charged: bool
    last_outcome: Outcome


def decide_retry(
    result: CallResult, contact: ContactView, campaign: CampaignView, now: datetime
) -> RetryDecision:
    """Done, failed, or when to call again (inside the contact's calling window).

    ``next_attempt_at`` is ``None`` for a pending contact when the campaign's dates leave no
    time to call it again.
    """
    now = _aware(now)
    policy = OUTCOME_POLICIES[result.outcome]
    charged = policy.charges_attempt and result.customer_dialled
    attempts = contact.attempts + charged
    if policy.final_state is not None:
        return RetryDecision(
            contact.id, ContactState(policy.final_state), attempts, None, charged, result.outcome
        )
    if charged and attempts >= campaign.max_attempts:
        return RetryDecision(contact.id, ContactState.FAILED, attempts, None, charged, result.outcome)
    ended = min(result.ended_at, now)
    earliest = max(now, ended + campaign.retry_delays.delay(policy.retry_delay))
    if result.outcome is Outcome.TRUNK_REFUSED:
        earliest = max(earliest, ended + TRUNK_REFUSED_RETRY_FLOOR)
    if result.outcome is Outcome.ABANDONED and campaign.type is CampaignType.CLIENT_FIRST:
        earliest = max(earliest, ended + ABANDON_NO_RECALL)
    number = contact.e164 if E164.fullmatch(contact.e164) else None
    zones = contact_zones(number, contact.tz, campaign.window.tz)
    next_at = next_callable_at(earliest, campaign.window, zones)
    return RetryDecision(contact.id, ContactState.PENDING, attempts, next_at, charged, result.outcome)


def _astdb_day(queued_at: datetime) -> str:
    """``YYYYMMDD`` of the UTC day ``queued_at`` falls on: the call's ``OC_DAY``."""
    return _aware(queued_at).strftime("%Y%m%d")


def astdb_location(call: CallView) -> tuple[str, str]:
    """``(family, key)`` of the call's AstDB record for ``DBGet``: ``("oc/<YYYYMMDD>", uuid)``,
    the UTC day its first Originate was queued (the ``OC_DAY`` it carried).

    The dialplan's hangup handler writes it there and deletes the families older than a week
    itself; the dialer only reads (its AMI user has no ``system`` right, which DBDel needs).
    """
    if call.queued_at is None:
        raise ValueError(f"call {call.uuid}: no queued_at, so no OC_DAY and no AstDB location")
    return f"{ASTDB_FAMILY}/{_astdb_day(call.queued_at)}", call.uuid


def astdb_locations(call: CallView) -> list[tuple[str, str]]:
    """Every ``(family, key)`` where the dialplan may have recorded the call, main record first.

    Agent first: the main record only (:func:`astdb_location`). Client first (contract v3): also
    ``("oc/<YYYYMMDD>", "<uuid>-dial")``, written by the hangup handler of the Local ``;2`` half
    that dialled the customer (``oc-client-dial``) whether the customer answered or not; the main
    record exists only once the customer answered (``oc-client-first`` on ``;1``).
    """
    family, key = astdb_location(call)
    if call.campaign_type is CampaignType.CLIENT_FIRST:
        return [(family, key), (family, f"{key}{DIAL_RECORD_SUFFIX}")]
    return [(family, key)]


#: What a waiting client-first customer runs: the hold message, then music on hold.
_WAITING_APPLICATIONS = frozenset({"playback", "musiconhold"})


def _waiting_seen(call: CallView, channels: Sequence[Mapping[str, object]], now: datetime) -> CallView:
    """A client-first customer found waiting (``;1`` up in ``oc-client-first``'s ``s``, hearing
    the hold message or music on hold: past ``OcWaiting``, sent on answer) while we still thought
    it dialling: the ``OcWaiting`` was lost with the connection. Mark it answered and waiting,
    with its channel, so that :func:`plan` sends it an agent. A ``Playback`` in extension
    ``abandoned`` is the abandon message: that customer waits no more."""
    # Answered but without its channel: restored from the database after a restart.
    lost_channel = call.state is CallState.ANSWERED and call.customer_channel is None
    if call.campaign_type is not CampaignType.CLIENT_FIRST or not (
        lost_channel or call.state in (CallState.QUEUED, CallState.ORIGINATING, CallState.RINGING)
    ):
        return call
    for channel in channels:
        if (
            (_header(channel, "Uniqueid") or "").lower() == call.uuid
            and _header(channel, "ChannelState") == "6"
            and (_header(channel, "Application") or "").lower() in _WAITING_APPLICATIONS
            and _header(channel, "Exten") == "s"
            and _CHANNEL.fullmatch(_header(channel, "Channel") or "")
        ):
            found = replace(
                call,
                customer_dialled=True,
                first_channel_seen=True,
                reason=call.reason if call.reason is not None else REASON_ANSWERED,
                customer_channel=_header(channel, "Channel"),
            )
            return _advance(found, CallState.ANSWERED, now)
    return call


def _parse_record(raw: str | None) -> CallEndRecord | None:
    if not raw:
        return None
    try:
        return parse_astdb_value(raw)
    except ValueError:
        return None


@dataclass(frozen=True)
class Reconciliation:
    """What became of an in-flight call across a lost connection: ``up`` (events will follow),
    ``ended`` (``result`` holds the outcome; the AstDB record stays, the dialplan drops it a
    week later) or ``pending`` (nothing known yet; ask again)."""

    call: CallView
    status: str
    result: CallResult | None = None


def reconcile(
    now: datetime,
    calls: Iterable[CallView],
    channels: Iterable[Mapping[str, object]],
    astdb: Mapping[str, str | None],
    grace: timedelta = RECONCILE_GRACE,
) -> list[Reconciliation]:
    """Settle the calls in flight after a reconnect or a restart, before dialling again.

    ``channels`` are the ``CoreShowChannel`` events; ``astdb`` maps the AstDB *key* of each
    location of :func:`astdb_locations` (``"<uuid>"``, and in client first ``"<uuid>-dial"``; keys
    are unique, the family only names the day) to the value ``DBGet`` returned there (``None`` or
    absent when not found). The main record, when there is one, says how the call ended; else a
    client-first ``-dial`` record does: the customer was busy, did not answer, … (or answered but
    ``oc-client-first`` never ran: the customer hung up at once, an abandon). A call neither up
    nor recorded, older than ``grace`` since its originate, ends ``unknown``: its contact is
    rescheduled, never left in progress. Never re-send an Originate for it.

    A client-first call still up whose customer is on hold, though we missed its ``OcWaiting``,
    comes back ``up`` as answered and waiting (its ``call`` updated), so that an agent is sent.

    Nothing is up and no main record was written only once every channel of the call is gone
    (Asterisk runs a channel's hangup handlers before it leaves the channel list), so a ``-dial``
    record alone is final.
    """
    now = _aware(now)
    channels = list(channels)
    live = {uuid for uuid in map(call_uuid_of, channels) if uuid}
    settled: list[Reconciliation] = []
    for call in calls:
        if call.state is CallState.ENDED:
            continue
        if call.uuid in live:
            settled.append(Reconciliation(_waiting_seen(call, channels, now), "up"))
            continue
        record = None
        if call.queued_at is not None:
            for _family, key in astdb_locations(call):
                record = _parse_record(astdb.get(key))
                if record is not None:
                    break
        else:
            record = _parse_record(astdb.get(call.uuid))
        since = call.originated_at or call.queued_at
        if record is not None:
            ended = _end(call, record.ended_at or now, record)
        elif since is None or now - since >= grace:
            ended = replace(call, state=CallState.ENDED, ended_at=now, outcome=Outcome.UNKNOWN)
        else:
            settled.append(Reconciliation(call, "pending"))
            continue
        settled.append(Reconciliation(ended, "ended", CallResult.of(ended)))
    return settled


__all__ = [
    "ABANDON_NO_RECALL",
    "AGENT_BRIDGE_CONTEXT",
    "ASTDB_FAMILY",
    "CLIENT_DIAL_CONTEXT",
    "TRUNK_REFUSED_RETRY_FLOOR",
    "AgentView",
    "CallResult",
    "CallState",
    "CallTransition",
    "CallView",
    "CampaignStatus",
    "CampaignView",
    "ConnectAgentOrder",
    "ContactSkip",
    "ContactState",
    "ContactView",
    "DialerServerView",
    "OriginateOrder",
    "Plan",
    "Reconciliation",
    "RetryDecision",
    "RetryDelays",
    "astdb_location",
    "astdb_locations",
    "call_uuid_of",
    "check_e164",
    "check_timeouts",
    "decide_retry",
    "dial_string",
    "fold_event",
    "plan",
    "reconcile",
]
