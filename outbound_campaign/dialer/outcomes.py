"""What became of a call, from what Asterisk told us about it.

Asterisk reports a call's fate in three vocabularies that overlap and sometimes disagree:

* the ``OriginateResponse`` ``Reason``: the last control frame the originated channel saw
  (``enum ast_control_frame_type``: 0 = none, 1 hangup, 3 ringing, 4 answer, 5 busy, 8 congestion);
* the Q.850 hangup ``Cause`` of the customer's channel (``Hangup`` event, ``${HANGUPCAUSE}``);
* the ``DialStatus`` of the dialplan's ``Dial()`` to the customer (agent-first calls).

plus the facts our own dialplan adds (``OcAbandoned``, ``OcCallEnd`` and the AstDB record of
``docs/call-flow-contract.md``). Each vocabulary is mapped by a table below; :func:`classify` only
decides which table speaks first: a specific Q.850 cause is the network saying exactly why, so it
beats the Dial status, which beats the coarse originate reason.

The retry policy of each outcome lives here too (:data:`OUTCOME_POLICIES`), so that the meaning of
an outcome and its consequence for the contact are read in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum


class Outcome(str, Enum):
    """The outcome of one attempt, as stored on ``outbound.call``."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    INVALID_NUMBER = "invalid_number"
    FAILED = "failed"
    ABANDONED = "abandoned"
    AGENT_NO_ANSWER = "agent_no_answer"
    TRUNK_REFUSED = "trunk_refused"
    UNKNOWN = "unknown"
    #: ``AMD()`` found an answering machine; hung up, never sent to an agent (``dialer/amd.py``)
    MACHINE = "machine"
    #: a machine that was left the campaign's message (by the dialplan, or the agent's button)
    MACHINE_MESSAGE_LEFT = "machine_message_left"


class CampaignType(str, Enum):
    """Who is called first: the agent (no abandon possible) or the customer (may overdial)."""

    AGENT_FIRST = "agent_first"
    CLIENT_FIRST = "client_first"


#: ``OriginateResponse`` ``Reason`` (the last ``ast_control_frame_type`` seen) → outcome.
REASON_OUTCOMES: Mapping[int, Outcome] = {
    0: Outcome.FAILED,  # no control frame: channel not created, or gone before any progress
    1: Outcome.FAILED,  # AST_CONTROL_HANGUP: hung up before answering
    2: Outcome.NO_ANSWER,  # AST_CONTROL_RING: timed out while ringing locally
    3: Outcome.NO_ANSWER,  # AST_CONTROL_RINGING: timed out while the far end rang
    4: Outcome.ANSWERED,  # AST_CONTROL_ANSWER
    5: Outcome.BUSY,  # AST_CONTROL_BUSY
    6: Outcome.FAILED,  # AST_CONTROL_TAKEOFFHOOK
    7: Outcome.FAILED,  # AST_CONTROL_OFFHOOK
    8: Outcome.CONGESTION,  # AST_CONTROL_CONGESTION
}

#: Q.850 causes that say why an unanswered call failed. Causes absent from the table (0 unknown,
#: 16 normal clearing, 31 normal unspecified) are neutral: they leave the decision to the others.
CAUSE_OUTCOMES: Mapping[int, Outcome] = {
    1: Outcome.INVALID_NUMBER,  # unallocated (unassigned) number (SIP 404, 485, 604)
    2: Outcome.FAILED,  # no route to specified transit network: our routing, not the number
    3: Outcome.INVALID_NUMBER,  # no route to destination: the number range does not exist
    17: Outcome.BUSY,  # user busy (SIP 486, 600)
    18: Outcome.NO_ANSWER,  # no user responding (SIP 408)
    19: Outcome.NO_ANSWER,  # no answer from user, user alerted (SIP 480)
    20: Outcome.NO_ANSWER,  # subscriber absent (mobile switched off)
    21: Outcome.BUSY,  # call rejected: the person declined it (SIP 603); retried like busy
    22: Outcome.INVALID_NUMBER,  # number changed (SIP 410)
    27: Outcome.FAILED,  # destination out of order: a line fault, temporary by Q.850
    28: Outcome.INVALID_NUMBER,  # invalid number format, address incomplete (SIP 484)
    29: Outcome.FAILED,  # facility rejected
    34: Outcome.CONGESTION,  # no circuit/channel available (SIP 503)
    38: Outcome.CONGESTION,  # network out of order
    41: Outcome.CONGESTION,  # temporary failure
    42: Outcome.CONGESTION,  # switching equipment congestion
    44: Outcome.CONGESTION,  # requested circuit/channel not available
    47: Outcome.CONGESTION,  # resource unavailable, unspecified
    50: Outcome.FAILED,  # requested facility not subscribed
    57: Outcome.FAILED,  # bearer capability not authorized
    58: Outcome.FAILED,  # bearer capability not presently available (SIP 488, 606)
    63: Outcome.FAILED,  # service or option not available
    65: Outcome.FAILED,  # bearer capability not implemented
    66: Outcome.FAILED,  # channel type not implemented
    69: Outcome.FAILED,  # requested facility not implemented
    79: Outcome.FAILED,  # service or option not implemented
    88: Outcome.FAILED,  # incompatible destination
    95: Outcome.FAILED,  # invalid message
    102: Outcome.FAILED,  # recovery on timer expiry (SIP 504)
    111: Outcome.FAILED,  # protocol error
    127: Outcome.FAILED,  # interworking, unspecified
}

#: ``${DIALSTATUS}`` of the dialplan's ``Dial()`` to the customer → outcome.
DIAL_STATUS_OUTCOMES: Mapping[str, Outcome] = {
    "ANSWER": Outcome.ANSWERED,
    "BUSY": Outcome.BUSY,
    "NOANSWER": Outcome.NO_ANSWER,
    "CANCEL": Outcome.NO_ANSWER,  # the agent hung up while the customer was still ringing
    "CONGESTION": Outcome.CONGESTION,
    "CHANUNAVAIL": Outcome.FAILED,
    "DONTCALL": Outcome.BUSY,  # privacy manager: the person refused the call
    "TORTURE": Outcome.BUSY,  # privacy manager: the person refused the call
    "INVALIDARGS": Outcome.FAILED,
}

#: The ``OriginateResponse`` reason of an answered channel.
REASON_ANSWERED = 4

#: Dial statuses by which the far end answered for the customer's number. Not ``INVALIDARGS``
#: (our dialplan refused the dial string) nor ``CHANUNAVAIL`` (Asterisk could not create or call
#: the customer's channel: a trunk that does not exist, is down or refuses the call).
PLACED_DIAL_STATUSES: frozenset[str] = frozenset(DIAL_STATUS_OUTCOMES) - {"INVALIDARGS", "CHANUNAVAIL"}
#: Client first: ``OriginateResponse`` reasons only a reached far end gives (ringing, answer,
#: busy, congestion). In agent first the reason is the agent's.
PLACED_REASONS: frozenset[int] = frozenset(
    reason for reason, outcome in REASON_OUTCOMES.items() if outcome is not Outcome.FAILED
)
#: Hangup causes by which the network answered for the number (busy, no answer, unallocated…).
#: Not our own failures (the causes read as ``failed``), nor 3 (no route to destination): the
#: PJSIP channel driver gives it when it cannot place a call at all (no such endpoint, no
#: reachable contact: ``chan_pjsip.c``, ``request()``), and ``Dial()`` passes it on.
PLACED_CAUSES: frozenset[int] = frozenset(
    cause for cause, outcome in CAUSE_OUTCOMES.items() if outcome is not Outcome.FAILED
) - {3}


@dataclass(frozen=True)
class OutcomePolicy:
    """What an outcome means for the contact.

    ``charges_attempt``: the attempt counts against the campaign's max attempts, provided the
    customer's number was really dialled (see ``CallResult.customer_dialled``).
    ``final_state``: the contact's state at once (``done``/``failed``); ``None`` reschedules it.
    ``retry_delay``: which of the campaign's retry delays applies (``None``: due again at once).
    """

    charges_attempt: bool
    final_state: str | None
    retry_delay: str | None


#: Decisions on attempts (documented in the module docstring of ``retries``):
#: every outcome of a dialled customer number charges an attempt; ``agent_no_answer`` and
#: ``trunk_refused`` (the customer was never dialled) and ``unknown`` (we cannot tell whether
#: they were) do not.
OUTCOME_POLICIES: Mapping[Outcome, OutcomePolicy] = {
    Outcome.ANSWERED: OutcomePolicy(True, "done", None),
    Outcome.INVALID_NUMBER: OutcomePolicy(True, "failed", None),
    Outcome.BUSY: OutcomePolicy(True, None, "busy"),
    Outcome.NO_ANSWER: OutcomePolicy(True, None, "no_answer"),
    Outcome.CONGESTION: OutcomePolicy(True, None, "failed"),
    Outcome.FAILED: OutcomePolicy(True, None, "failed"),
    # plus the 72 h no-re-call floor of client-first campaigns, applied by ``retries``
    Outcome.ABANDONED: OutcomePolicy(True, None, "no_answer"),
    Outcome.AGENT_NO_ANSWER: OutcomePolicy(False, None, None),
    Outcome.TRUNK_REFUSED: OutcomePolicy(False, None, "failed"),
    Outcome.UNKNOWN: OutcomePolicy(False, None, "failed"),
    # the number was dialled and answered, by no person: tried again, each after its own delay
    Outcome.MACHINE: OutcomePolicy(True, None, "machine"),
    Outcome.MACHINE_MESSAGE_LEFT: OutcomePolicy(True, None, "machine_message_left"),
}

#: Outcomes after which the contact is called again (attempts permitting).
RETRYABLE: frozenset[Outcome] = frozenset(o for o, p in OUTCOME_POLICIES.items() if p.final_state is None)
#: Outcomes that close the contact whatever its attempt count.
FINAL: frozenset[Outcome] = frozenset(OUTCOME_POLICIES) - RETRYABLE
#: Outcomes of calls that tried no customer's number (the agent missed the call, or nobody
#: knows what became of it): they say nothing of the trunk.
NO_DIAL_ATTEMPT: frozenset[Outcome] = frozenset({Outcome.AGENT_NO_ANSWER, Outcome.UNKNOWN})
#: Answering machines: no live answer (pacing, abandons), no wrap-up nor disposition for the agent.
MACHINES: frozenset[Outcome] = frozenset({Outcome.MACHINE, Outcome.MACHINE_MESSAGE_LEFT})
#: Outcomes that are no call to a customer: pacing does not count them.
NO_CUSTOMER_CALL: frozenset[Outcome] = NO_DIAL_ATTEMPT | {Outcome.TRUNK_REFUSED}

#: A campaign's trunk is said to refuse calls when its last this many dial attempts were all
#: refused: one refusal may be a passing fault, five in a row is the trunk's configuration.
TRUNK_REFUSAL_RUN = 5


def customer_leg_placed(
    campaign_type: CampaignType | str,
    *,
    answered: bool = False,
    reason: int | None = None,
    dial_status: str | None = None,
    cause: int | None = None,
) -> bool:
    """Whether what Asterisk reported shows the customer's leg was placed: the customer answered,
    or the far end answered for the number (ringing, busy, congestion, unallocated…).

    One rule for both flows; the events add what only they show (a ``DialBegin``, the customer's
    channel ringing). A call whose leg was never placed charges no attempt: Asterisk or the trunk
    refused it (``INVALIDARGS``, ``CHANUNAVAIL`` without a cause from the far end).
    """
    dial_status = (dial_status or "").strip().upper() or None
    if answered or dial_status in PLACED_DIAL_STATUSES or cause in PLACED_CAUSES:
        return True
    return CampaignType(campaign_type) is CampaignType.CLIENT_FIRST and reason in PLACED_REASONS


def trunk_refuses(last_outcomes: Sequence[Outcome | str]) -> bool:
    """Whether a campaign's last dial attempts, newest first (outcomes of
    :data:`NO_DIAL_ATTEMPT` left out), show a trunk that refuses its calls."""
    recent = [Outcome(outcome) for outcome in last_outcomes[:TRUNK_REFUSAL_RUN]]
    return len(recent) == TRUNK_REFUSAL_RUN and all(o is Outcome.TRUNK_REFUSED for o in recent)


def asterisk_status(dial_status: str | None, cause: int | str | None, reason: int | str | None) -> str:
    """How Asterisk reported a call, in its own terms: ``CHANUNAVAIL, cause 3``."""
    parts = [dial_status] if dial_status else []
    if cause not in (None, "", 0, "0"):
        parts.append(f"cause {cause}")
    if not parts and reason not in (None, ""):
        parts.append(f"originate reason {reason}")
    return ", ".join(parts)


def _table_outcome(cause: int | None, dial_status: str | None, reason: int | None) -> Outcome | None:
    """The first table that has an opinion on an unanswered call: cause, then Dial, then reason."""
    for table, key in (
        (CAUSE_OUTCOMES, cause),
        (DIAL_STATUS_OUTCOMES, dial_status),
        (REASON_OUTCOMES, reason),
    ):
        if key is not None and key in table:
            return table[key]
    return None


def classify(
    campaign_type: CampaignType | str,
    *,
    reason: int | None = None,
    cause: int | None = None,
    dial_status: str | None = None,
    answered: bool = False,
    connected: bool = False,
    abandoned: bool = False,
    placed: bool | None = None,
    machine: bool = False,
    message_left: bool = False,
) -> Outcome:
    """Outcome of a finished call from everything known about it (any argument may be missing).

    Agent first: an originate that did not answer (any reason but 4) is ``agent_no_answer``: the
    customer was never dialled. Once the agent answered, the customer's fate is the ``Dial()``'s
    (``answered`` is ignored: it may be the agent's answer); no Dial status at all means the agent
    hung up before the customer was dialled.

    Client first: a live answer that never reached an agent is ``abandoned``, whether the dialplan
    played the safe-harbor message (``OcAbandoned``) or the person hung up while on hold: the
    regulators count every live answer not connected to an agent within 2 s, and counting it keeps
    pacing on the safe side.

    Either flow: a call whose customer leg was never placed (``placed``, by default
    :func:`customer_leg_placed` of the facts given; the engine adds what the events showed) is
    ``trunk_refused``, whatever the tables say: a PJSIP trunk that does not exist reports the
    cause a network gives for a number that does not exist.

    Either flow: an answer ``AMD()`` found a machine on (``machine``) is ``machine``, or
    ``machine_message_left`` once the message was left (``message_left``: by the dialplan, or by
    the agent's **Leave message**): never an answer nor an abandon, it is no live answer.
    """
    if message_left:
        return Outcome.MACHINE_MESSAGE_LEFT
    if machine:
        return Outcome.MACHINE
    dial_status = (dial_status or "").strip().upper() or None
    agent_first = CampaignType(campaign_type) is CampaignType.AGENT_FIRST
    if placed is None:
        placed = customer_leg_placed(
            campaign_type,
            answered=answered and not agent_first,
            reason=reason,
            dial_status=dial_status,
            cause=cause,
        )
    if agent_first:
        if reason is not None and reason != REASON_ANSWERED:
            return Outcome.AGENT_NO_ANSWER
        if dial_status == "ANSWER" or connected:
            return Outcome.ANSWERED
        if dial_status is None:
            return Outcome.AGENT_NO_ANSWER
        if not placed:
            return Outcome.TRUNK_REFUSED
        return _table_outcome(cause, dial_status, None) or Outcome.FAILED
    if abandoned:
        return Outcome.ABANDONED
    if answered or reason == REASON_ANSWERED or dial_status == "ANSWER" or connected:
        return Outcome.ANSWERED if connected else Outcome.ABANDONED
    if not placed:
        return Outcome.TRUNK_REFUSED
    return _table_outcome(cause, dial_status, reason) or Outcome.FAILED


def significant_cause(current: int | None, new: int | None) -> int | None:
    """Keep the most telling of two hangup causes of one leg.

    A Local channel pair reports 0 on one half and the real cause on the other (transcripts 03
    and 06); 16 (normal clearing) is what the far end says when nothing went wrong, so any
    other non-zero cause is more telling.
    """
    if new in (None, 0):
        return current
    if current in (None, 0) or (current == 16 and new != 16):
        return new
    return current


@dataclass(frozen=True)
class CallEndRecord:
    """What our dialplan's hangup handler stored in AstDB and sent as ``UserEvent: OcCallEnd``."""

    dial_status: str | None = None
    cause: int | None = None
    answered_at: datetime | None = None
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    abandoned: bool = False
    amd_status: str | None = None
    amd_cause: str | None = None
    message_left: bool = False


#: Written by every call's hangup handler; ``amd``, ``amdcause`` empty when no detection ran.
_ASTDB_KEYS = (
    "dialstatus",
    "cause",
    "answered",
    "connected",
    "ended",
    "abandoned",
    "amd",
    "amdcause",
    "message",
)


def _epoch(value: str, key: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{key}={value!r} is not an epoch") from exc


def _int_or_none(value: str, key: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"{key}={value!r} is not an integer") from exc


def _flag(fields: Mapping[str, str], key: str) -> bool:
    value = fields.get(key, "")
    if value not in ("", "0", "1"):
        raise ValueError(f"{key}={value!r} is neither 0 nor 1")
    return value == "1"


def _record_from_fields(fields: Mapping[str, str]) -> CallEndRecord:
    return CallEndRecord(
        dial_status=fields.get("dialstatus", "").strip().upper() or None,
        cause=_int_or_none(fields.get("cause", ""), "cause"),
        answered_at=_epoch(fields.get("answered", ""), "answered"),
        connected_at=_epoch(fields.get("connected", ""), "connected"),
        ended_at=_epoch(fields.get("ended", ""), "ended"),
        abandoned=_flag(fields, "abandoned"),
        amd_status=fields.get("amd", "").strip().upper() or None,
        amd_cause=fields.get("amdcause", "").strip() or None,
        message_left=_flag(fields, "message"),
    )


def parse_astdb_value(value: str) -> CallEndRecord:
    """Parse ``dialstatus=…;cause=…;answered=…;connected=…;ended=…;abandoned=0|1;amd=…;amdcause=…;message=0|1``.

    Keys we do not know are ignored (a newer dialplan may add some); a pair without ``=`` or a
    non-numeric number is refused, since it means the value was not written by our dialplan.
    """
    fields: dict[str, str] = {}
    for pair in value.strip().split(";"):
        if not pair:
            continue
        key, sep, val = pair.partition("=")
        if not sep:
            raise ValueError(f"AstDB value {value!r}: {pair!r} is not key=value")
        fields[key.strip().lower()] = val.strip()
    return _record_from_fields(fields)


def format_astdb_value(record: CallEndRecord) -> str:
    """The AstDB value our dialplan writes, in the contract's key order (used by the simulator)."""

    def epoch(at: datetime | None) -> str:
        return "" if at is None else str(int(at.timestamp()))

    values = (
        record.dial_status or "",
        "" if record.cause is None else str(record.cause),
        epoch(record.answered_at),
        epoch(record.connected_at),
        epoch(record.ended_at),
        "1" if record.abandoned else "0",
    )
    values += (record.amd_status or "", record.amd_cause or "", "1" if record.message_left else "0")
    return ";".join(f"{key}={val}" for key, val in zip(_ASTDB_KEYS, values, strict=True))


def record_from_user_event(event: Mapping[str, object]) -> CallEndRecord:
    """The same record from the headers of ``UserEvent: OcCallEnd``."""
    headers = {"DialStatus": "dialstatus", "Cause": "cause", "Answered": "answered"}
    headers |= {"Connected": "connected", "Ended": "ended", "Abandoned": "abandoned"}
    headers |= {"AmdStatus": "amd", "AmdCause": "amdcause", "Message": "message"}
    fields = {}
    for header, key in headers.items():
        value = event.get(header)
        if isinstance(value, list):
            value = value[0] if value else None
        fields[key] = "" if value is None else str(value).strip()
    return _record_from_fields(fields)
