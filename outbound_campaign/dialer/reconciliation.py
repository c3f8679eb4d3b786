"""Settling the calls in flight after a reconnect or a restart, before dialling again:
:func:`reconcile`, from the channels Asterisk still has (``CoreShowChannels``) and the records
the dialplan left in AstDB (read at ``astdb.astdb_locations``). Never re-send an Originate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .astdb import astdb_locations
from .events import CallResult, advance, call_uuid_of, end_call, header
from .outcomes import REASON_ANSWERED, CallEndRecord, CampaignType, Outcome, parse_astdb_value
from .schedule import require_aware
from .views import CHANNEL, CallState, CallView

#: How long after its originate a call may stay unresolved after a reconnect before it is
#: declared ``unknown``.
RECONCILE_GRACE = timedelta(minutes=2)


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
            (header(channel, "Uniqueid") or "").lower() == call.uuid
            and header(channel, "ChannelState") == "6"
            and (header(channel, "Application") or "").lower() in _WAITING_APPLICATIONS
            and header(channel, "Exten") == "s"
            and CHANNEL.fullmatch(header(channel, "Channel") or "")
        ):
            found = replace(
                call,
                customer_dialled=True,
                first_channel_seen=True,
                reason=call.reason if call.reason is not None else REASON_ANSWERED,
                customer_channel=header(channel, "Channel"),
            )
            return advance(found, CallState.ANSWERED, now)
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
    now = require_aware(now)
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
            ended = end_call(call, record.ended_at or now, record)
        elif since is None or now - since >= grace:
            ended = replace(call, state=CallState.ENDED, ended_at=now, outcome=Outcome.UNKNOWN)
        else:
            settled.append(Reconciliation(call, "pending"))
            continue
        settled.append(Reconciliation(ended, "ended", CallResult.of(ended)))
    return settled
