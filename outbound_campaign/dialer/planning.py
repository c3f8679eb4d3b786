"""What to originate at this instant for one dialer server: :func:`plan`.

The host loads the state as the views of ``views``, calls :func:`plan`, commits each order's
call row, then sends its ``to_ami_headers()``. Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from .agent_pool import allocate_agents, hold_agents
from .amd import is_machine
from .campaign_status import CampaignStatus, campaign_status
from .orders import ConnectAgentOrder, OriginateOrder, originate_order
from .outcomes import CampaignType
from .pacing import (
    TokenBucket,
    agent_first_dials,
    agents_held,
    client_first_dials,
    dial_ratio,
    share_round_robin,
)
from .rules import E164
from .schedule import ABANDON_NO_RECALL, contact_zones, next_callable_at, require_aware
from .views import AgentView, CallState, CallView, CampaignView, ContactView, DialerServerView


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
class TurnState:
    """What the host of one dialer server loaded for a turn at ``now``, as :func:`plan` reads it.

    ``agents`` are the agents in state ready (with a free phone), with every running campaign
    they serve, of this server or another; ``calls`` the calls not ended on this server, and
    the client-first calls without an agent of other servers' campaigns that share agents with
    this server's (they hold agents too); ``due_contacts`` per campaign, ordered by
    ``next_attempt_at``, a few more than agents (the host's indexed query: contacts are never
    scanned here); ``reserved`` per agent, their due reserved contacts in due order.

    A campaign no ready agent serves can dial nothing: the host may leave its due contacts out
    (it reads them when it writes the campaign's status), and its status in the plan then says
    ``no_contact_due`` whatever its contacts. ``statuses_wanted``: the campaigns whose dialing
    status the plan says (the host writes them at most every few seconds); None for all.
    """

    now: datetime
    server: DialerServerView
    campaigns: Sequence[CampaignView]
    agents: Sequence[AgentView]
    calls: Sequence[CallView]
    due_contacts: Mapping[int, Sequence[ContactView]]
    reserved: Mapping[int, Sequence[ContactView]] = field(default_factory=dict)
    statuses_wanted: frozenset[int] | None = None


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


def _wants_an_agent(call: CallView) -> bool:
    """A client-first call not yet with an agent that may need one: dialling, ringing, or
    answered without one (waiting, or answered a moment before its ``OcWaiting``). A
    reserved call of a client-first campaign is dialled agent first: it has its agent."""
    return call.campaign_type is CampaignType.CLIENT_FIRST and (
        call.state in (CallState.QUEUED, CallState.ORIGINATING, CallState.RINGING)
        or (
            call.state is CallState.ANSWERED
            and call.agent_id is None
            and not call.abandoned
            and not is_machine(call.amd_status)
        )
    )


def _waiting_for_agent(call: CallView) -> bool:
    return (
        call.campaign_type is CampaignType.CLIENT_FIRST
        and call.state is CallState.ANSWERED
        and call.agent_id is None
        and call.customer_channel is not None
        and not call.abandoned
        and not is_machine(call.amd_status)  # a machine never reaches an agent
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


@dataclass
class _Dialling:
    """What the originates of one plan share: its instant and server, the names of new calls, the
    contacts not to dial (in flight, or promised by this plan) and the contacts skipped."""

    now: datetime
    server: DialerServerView
    new_uuid: Callable[[], str]
    busy_contacts: set[int]
    skips: list[ContactSkip] = field(default_factory=list)


def _dial_campaign(
    dialling: _Dialling,
    campaign: CampaignView,
    due: Sequence[ContactView],
    agents: Sequence[AgentView],
    grant: int,
    reserved: bool = False,
) -> list[OriginateOrder]:
    """Up to ``grant`` originates from the head of ``due``, reading no contact past the last one
    dialled; contacts that cannot be dialled now are added to ``dialling.skips``. Reserved
    contacts are dialled only when ``reserved`` (with their agent), the others only when not."""
    now, skips = dialling.now, dialling.skips
    orders: list[OriginateOrder] = []
    agents_left = list(agents)
    if grant <= 0:
        return orders
    for contact in due:
        if contact.id in dialling.busy_contacts or (contact.assigned_agent_id is not None) is not reserved:
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
            uuid = dialling.new_uuid()
            orders.append(originate_order(now, dialling.server, campaign, contact, agent, uuid, reserved))
        except ValueError as exc:
            skips.append(ContactSkip(contact.id, "invalid_number", None, str(exc)))
            continue
        if agent is not None:
            agents_left.pop(0)
        if len(orders) >= grant:
            break
    return orders


def _dial_reserved(
    dialling: _Dialling,
    campaigns: Mapping[int, CampaignView],
    free: Sequence[AgentView],
    reserved: Mapping[int, Sequence[ContactView]],
    capacity: int,
) -> list[OriginateOrder]:
    """One agent-first originate per free agent (longest idle first) with a reserved contact due
    in one of the server's running campaigns, its first callable one, within ``capacity``."""
    orders: list[OriginateOrder] = []
    for agent in free:
        if len(orders) >= capacity:
            break
        for contact in reserved.get(agent.id, ()):
            campaign = campaigns.get(contact.campaign_id)
            if (
                campaign is None
                or contact.assigned_agent_id != agent.id
                or contact.id in dialling.busy_contacts
            ):
                continue
            agent_first = replace(campaign, type=CampaignType.AGENT_FIRST)
            dialled = _dial_campaign(dialling, agent_first, [contact], [agent], 1, reserved=True)
            if dialled:
                orders += dialled
                break
    return orders


def plan(state: TurnState, bucket: TokenBucket, new_uuid: Callable[[], str], start: int = 0) -> Plan:
    """Decide the originates of ``state.now`` for ``state.server``.

    The free agents are one pool for all the campaigns, each agent given to one of them at most.
    First, customers waiting on hold get an agent (an abandon is the costliest thing to let
    happen); then the client-first calls not yet with an agent hold their share of the agents
    (``pacing.agents_held``), which no other campaign gets; then each free agent with a reserved
    contact due calls it, agent first whatever the campaign's type (a promised call must have its
    agent: Ofcom allows re-calls within 72 h only with a guaranteed agent); then the other free
    agents are shared among the campaigns that are not preview campaigns, each campaign paces its
    calls on the agents held for it and given to it, and the server's free channels and
    calls-per-second tokens (taken from ``bucket``) are shared round-robin from ``start``.
    ``new_uuid`` names each new call.
    """
    now, server = require_aware(state.now), state.server
    running = sorted((c for c in state.campaigns if c.server_id == server.id), key=lambda c: c.id)
    by_id = {campaign.id: campaign for campaign in running}
    # One pass over the calls (hundreds at a large site, every turn): this server's in flight,
    # those of them that may want an agent, and the client-first calls of other servers' campaigns
    # that want the agents they share with ours (their pacing is not known here: they hold one
    # agent per call, the most any ratio asks).
    in_flight: list[CallView] = []
    calls_wanting: list[CallView] = []
    elsewhere: Counter[int] = Counter()
    for call in state.calls:
        if not call.in_flight:
            continue
        if call.server_id != server.id:
            if _wants_an_agent(call):
                elsewhere[call.campaign_id] += 1
            continue
        in_flight.append(call)
        if _wants_an_agent(call):
            calls_wanting.append(call)
    busy_agents = {call.agent_id for call in in_flight if call.agent_id is not None}
    free = sorted((a for a in state.agents if a.id not in busy_agents), key=lambda a: (a.ready_since, a.id))

    connects: list[ConnectAgentOrder] = []
    taken: set[int] = set()
    waiting = sorted(
        (call for call in calls_wanting if _waiting_for_agent(call) and call.campaign_id in by_id),
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
    unconnected = Counter(call.campaign_id for call in calls_wanting if call.uuid not in bridging)
    held = hold_agents(
        free,
        {cid: agents_held(count, ratios[cid]) for cid, count in sorted(unconnected.items()) if cid in by_id}
        | dict(sorted(elsewhere.items())),
    )
    holding = {agent.id for agents in held.values() for agent in agents}
    free = [agent for agent in free if agent.id not in holding]

    capacity = min(max(0, server.max_channels - len(in_flight)), bucket.available(now))
    dialling = _Dialling(now, server, new_uuid, {call.contact_id for call in in_flight})
    promised = _dial_reserved(dialling, by_id, free, state.reserved, capacity)
    dialling.busy_contacts |= {order.call.contact_id for order in promised}
    promised_agents = {order.call.agent_id for order in promised}
    free = [agent for agent in free if agent.id not in promised_agents]
    capacity -= len(promised)

    start = start % len(running) if running else 0
    order = running[start:] + running[:start]
    # Preview campaigns pick nobody: their agents choose, and reserve what they chose (above).
    unreserved = {
        campaign.id: state.due_contacts.get(campaign.id, ()) for campaign in order if not campaign.preview
    }
    wanting = {cid for cid, due in unreserved.items() if due}
    # Then each agent left goes to one campaign at most: no agent is counted twice.
    allocated = allocate_agents(free, order, wanting, held)
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
            dialling, campaign, unreserved.get(campaign.id, ()), allocated[campaign.id], grant
        )
        originates += orders
        dialled[campaign.id] += len(orders)
    bucket.take(now, len(originates))

    statuses = {
        campaign.id: campaign_status(now, campaign, dialled[campaign.id], demand, pools, unreserved, ratios)
        for campaign, demand in zip(order, demands, strict=True)
        if state.statuses_wanted is None or campaign.id in state.statuses_wanted
    }
    counted = [agent for agents in held.values() for agent in agents]
    counted += [agent for campaign in order if dialled[campaign.id] for agent in allocated[campaign.id]]
    placed = {sent.call.agent_id for sent in (*connects, *originates)}
    counted += [agent for agent in state.agents if agent.id in placed]
    return Plan(
        tuple(connects),
        tuple(originates),
        tuple(dialling.skips),
        statuses,
        (start + 1) % len(running) if running else 0,
        frozenset(agent.id for agent in counted if agent.campaign_ids - by_id.keys())
        if connects or originates
        else frozenset(),
    )
