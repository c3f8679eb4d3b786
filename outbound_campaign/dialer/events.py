"""What the AMI events mean for a call: :func:`fold_event` applies each event, and each response
to our Originate actions, to its call (routed with :func:`call_uuid_of`); :func:`check_timeouts`
closes, on a tick, a call whose last event will not come; a call that ends yields a
:class:`CallResult`. Nothing here does I/O or reads the clock.

Identifiers, channel variables and UserEvents follow ``docs/call-flow-contract.md``: the
first channel is ``<uuid>``, its Local half ``<uuid>-2`` / ``<uuid>;2``, the client-first agent
leg ``<uuid>-a``, and the customer dialled by the agent-first dialplan has Linkedid ``<uuid>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from .amd import is_machine
from .outcomes import (
    CallEndRecord,
    CampaignType,
    Outcome,
    classify,
    customer_leg_placed,
    record_from_user_event,
    significant_cause,
)
from .schedule import require_aware
from .views import CallState, CallView

#: How long a failed originate waits for its channel's Hangup (which carries the Q.850 cause).
SETTLE = timedelta(seconds=5)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


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
    amd_status: str | None = None
    amd_cause: str | None = None

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
            amd_status=call.amd_status,
            amd_cause=call.amd_cause,
        )


class CallTransition(NamedTuple):
    """The call after one event: ``result`` when it just ended; ``agent_missed`` names an agent
    who did not take a client-first bridge leg (the host pauses them)."""

    call: CallView
    changed: bool
    result: CallResult | None = None
    agent_missed: int | None = None


def header(event: Mapping[str, object], key: str) -> str | None:
    value = event.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value).strip()


def _int_header(event: Mapping[str, object], key: str) -> int | None:
    value = header(event, key)
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
    action_id = (header(event, "ActionID") or "").lower()
    uuid = _uuid_in(header(event, "Uuid")) or (
        _uuid_in(action_id[3:]) if action_id.startswith("oc-") else None
    )
    if uuid:
        return uuid
    for key in ("Uniqueid", "Linkedid", "DestUniqueid", "DestLinkedid"):
        uuid = _uuid_in(header(event, key))
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


def end_call(call: CallView, ended_at: datetime, record: CallEndRecord | None = None) -> CallView:
    """Close a call with what the events and, if given, the dialplan's record say."""
    known = record or CallEndRecord()
    agent_first = call.campaign_type is CampaignType.AGENT_FIRST
    dial_status = call.dial_status or known.dial_status
    customer_answered = not agent_first or dial_status == "ANSWER"
    answered_at = call.answered_at or (known.answered_at if customer_answered else None)
    connected_at = call.connected_at or (known.connected_at if customer_answered else None)
    abandoned = call.abandoned or known.abandoned
    amd_status = known.amd_status or call.amd_status
    amd_cause = known.amd_cause or call.amd_cause
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
            machine=is_machine(amd_status),
            message_left=known.message_left,
        )
    return call.evolve(
        state=CallState.ENDED,
        answered_at=answered_at,
        connected_at=connected_at,
        ended_at=ended_at,
        cause=cause,
        dial_status=dial_status,
        abandoned=abandoned,
        customer_dialled=dialled,
        outcome=outcome,
        amd_status=amd_status,
        amd_cause=amd_cause,
    )


_STAMPS = {
    CallState.ORIGINATING: "originated_at",
    CallState.RINGING: "ringing_at",
    CallState.ANSWERED: "answered_at",
    CallState.CONNECTED: "connected_at",
}


_ORDER = tuple(CallState)
_RANK = {state: rank for rank, state in enumerate(_ORDER)}


def _with(call: CallView, **changes: object) -> CallView:
    """``evolve``, or the call itself when it already has these values: most events repeat
    what is known, and a dialer folds a score of them per call."""
    for name, value in changes.items():
        if getattr(call, name) != value:
            return call.evolve(**changes)
    return call


def advance(call: CallView, state: CallState, now: datetime) -> CallView:
    """Move forward to ``state`` (never back), stamping the states passed on the way.

    Ringing is only stamped when reached: a call answered without a ringing event never rang as
    far as we know, and its ring time is then measured from the originate.
    """
    current, target = _RANK[call.state], _RANK[state]
    if target <= current:
        return call
    changes: dict[str, object] = {"state": state}
    for passed in _ORDER[current + 1 : target + 1]:
        stamp = _STAMPS.get(passed)
        if stamp and getattr(call, stamp) is None and (passed is state or passed is not CallState.RINGING):
            changes[stamp] = now
    return call.evolve(**changes)


def _on_response(call: CallView, event: Mapping[str, object], now: datetime) -> tuple[CallView, int | None]:
    """The immediate answer to our Originate action: queued, or refused."""
    success = header(event, "Response") == "Success"
    if (header(event, "ActionID") or "").lower() == call.agent_action_id:
        if success:
            return call, None
        return _with(call, agent_id=None, agent_leg_at=None), call.agent_id
    if success:
        return advance(call, CallState.ORIGINATING, now), None
    refused = _with(call, error=header(event, "Message") or "Originate refused")
    return end_call(refused, now), None


def _on_originate_response(
    call: CallView, event: Mapping[str, object], now: datetime
) -> tuple[CallView, int | None]:
    success = header(event, "Response") == "Success"
    if (header(event, "ActionID") or "").lower() == call.agent_action_id or _leg(
        call, header(event, "Uniqueid"), None
    ) == _AGENT_LEG:
        if success:
            return _with(call, agent_answered_at=call.agent_answered_at or now), None
        return _with(call, agent_id=None, agent_leg_at=None), call.agent_id
    call = _with(call, reason=_int_header(event, "Reason"), originated_at=call.originated_at or now)
    if success:
        if call.campaign_type is CampaignType.AGENT_FIRST:
            call = _with(call, agent_answered_at=call.agent_answered_at or now, first_channel_seen=True)
            return advance(call, CallState.ORIGINATING, now), None
        call = _with(call, customer_dialled=True, first_channel_seen=True)
        return advance(call, CallState.ANSWERED, now), None
    call = _with(call, originate_failed_at=now)
    # Client first originates a Local channel, which Asterisk creates before anything can fail;
    # its events may still be on their way: Asterisk sends the OriginateResponse itself but
    # channel events through its message bus, and a loaded one delivers a refusal at once (busy,
    # unallocated) before them. Wait for them as for a Hangup (check_timeouts ends the wait).
    waits = call.first_channel_seen or call.campaign_type is CampaignType.CLIENT_FIRST
    if not waits or call.first_channel_gone_at is not None:
        return end_call(call, now), None
    return call, None  # its Hangup, with the Q.850 cause, is still to come (transcript 05)


def _on_channel(call: CallView, event: Mapping[str, object], now: datetime) -> tuple[CallView, int | None]:
    """Newchannel / Newstate: which channels exist, which ring, which answered."""
    leg = _leg(call, header(event, "Uniqueid"), header(event, "Linkedid"))
    if leg is None:
        return call, None
    if leg == _FIRST:
        call = _with(
            call, first_channel_seen=True, agent_channel=call.agent_channel or header(event, "Channel")
        )
        call = advance(call, CallState.ORIGINATING, now)
    if _is_customer_leg(call, leg):
        state = header(event, "ChannelState")
        if leg == _LINKED or state in ("5", "6"):  # a Local ;1 is created before any dial
            call = _with(call, customer_dialled=True)
        if state == "5":
            call = advance(call, CallState.RINGING, now)
        elif state == "6" and leg == _FIRST:
            call = advance(call, CallState.ANSWERED, now)
    elif leg == _FIRST and header(event, "ChannelState") == "6":
        call = _with(call, agent_answered_at=call.agent_answered_at or now)
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
    caller = _leg(call, header(event, "Uniqueid"), None)
    if caller != (_FIRST if agent_first else _LOCAL_HALF):
        return call, None
    if header(event, "Event") == "DialBegin":
        # agent first: the customer's channel, which the agent's Leave message redirects
        customer = header(event, "DestChannel") if agent_first else call.customer_channel
        return advance(
            _with(call, customer_dialled=True, customer_channel=customer), CallState.RINGING, now
        ), None
    status = (header(event, "DialStatus") or "").upper() or None
    call = _with(call, dial_status=status, customer_dialled=True)
    if status == "ANSWER":
        call = advance(call, CallState.CONNECTED if agent_first else CallState.ANSWERED, now)
    return call, None


def _on_hangup(call: CallView, event: Mapping[str, object], now: datetime) -> tuple[CallView, int | None]:
    leg = _leg(call, header(event, "Uniqueid"), header(event, "Linkedid"))
    if _is_customer_leg(call, leg):
        call = _with(call, cause=significant_cause(call.cause, _int_header(event, "Cause")))
    if leg != _FIRST:
        return call, None
    call = _with(call, first_channel_gone_at=now)
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
    return end_call(call, now), None


def _on_bridge(call: CallView, event: Mapping[str, object], now: datetime) -> tuple[CallView, int | None]:
    if (
        call.campaign_type is CampaignType.CLIENT_FIRST
        and _leg(call, header(event, "Uniqueid"), None) == _AGENT_LEG
    ):
        return advance(call, CallState.CONNECTED, now), None
    return call, None


def _on_user_event(call: CallView, event: Mapping[str, object], now: datetime) -> tuple[CallView, int | None]:
    name = header(event, "UserEvent")
    if name == "OcWaiting":
        channel = header(event, "Channel")
        call = _with(call, customer_dialled=True, customer_channel=channel or call.customer_channel)
        return advance(call, CallState.ANSWERED, now), None
    if name == "OcConnected":
        return advance(call, CallState.CONNECTED, now), None
    if name == "OcAbandoned":
        return _with(call, abandoned=True), None
    if name == "OcMachine":  # oc-amd found a machine: no agent is sent to this call
        return _with(call, amd_status=header(event, "AmdStatus"), amd_cause=header(event, "AmdCause")), None
    if name == "OcCallEnd":
        return end_call(call, now, record_from_user_event(event)), None
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


#: The events :func:`fold_event` reads (besides the answers to our actions): a host asks its AMI
#: link for these only.
FOLDED_EVENTS = frozenset(_HANDLERS)


def fold_event(call: CallView, event: Mapping[str, object], now: datetime) -> CallTransition:
    """Apply one AMI event, or the response to one of our Originate actions, to its call.

    Events for an ended call, and events that say nothing new, leave it unchanged.
    """
    now = require_aware(now)
    if call.state is CallState.ENDED:
        return CallTransition(call, False)
    name = header(event, "Event")
    if name is None and header(event, "Response") is not None:
        handler = _on_response
    elif name in _HANDLERS:
        handler = _HANDLERS[name]
    else:
        return CallTransition(call, False)
    new, agent_missed = handler(call, event, now)
    result = CallResult.of(new) if new.state is CallState.ENDED else None
    return CallTransition(new, new is not call and new != call, result, agent_missed)


def check_timeouts(call: CallView, now: datetime, settle: timedelta = SETTLE) -> CallTransition:
    """Close a call whose last event will not come: a failed originate whose channel Hangup never
    arrives, or a hung-up first channel whose OriginateResponse never arrives."""
    now = require_aware(now)
    if call.state is CallState.ENDED:
        return CallTransition(call, False)
    waited_since = call.originate_failed_at or call.first_channel_gone_at
    if waited_since is None or now - waited_since < settle:
        return CallTransition(call, False)
    ended = end_call(call, now)
    return CallTransition(ended, True, CallResult.of(ended))
