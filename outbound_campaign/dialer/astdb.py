"""Where the dialplan records each call in AstDB, so that no outcome is lost while the dialer is
away: the family of the UTC day the call was queued (its ``OC_DAY``), the call's uuid as key.

Least privilege: the dialer's AMI user reads AstDB (``DBGet`` is filed under ``system`` or
``reporting``) but never writes or deletes there (``DBPut``/``DBDel`` need ``system``): the
dialplan files each record under the UTC day the call was queued and drops the days older than a
week.
"""

from __future__ import annotations

from datetime import datetime

from .outcomes import CampaignType
from .schedule import require_aware
from .views import CallView

#: AstDB family of the dialplan's records; each UTC day of queueing is a sub-family
#: ``oc/<YYYYMMDD>`` (see :func:`astdb_location`).
ASTDB_FAMILY = "oc"
#: Key suffix of the client-first dial record (see :func:`astdb_locations`).
DIAL_RECORD_SUFFIX = "-dial"


def astdb_day(queued_at: datetime) -> str:
    """``YYYYMMDD`` of the UTC day ``queued_at`` falls on: the call's ``OC_DAY``."""
    return require_aware(queued_at).strftime("%Y%m%d")


def astdb_location(call: CallView) -> tuple[str, str]:
    """``(family, key)`` of the call's AstDB record for ``DBGet``: ``("oc/<YYYYMMDD>", uuid)``,
    the UTC day its first Originate was queued (the ``OC_DAY`` it carried).

    The dialplan's hangup handler writes it there and deletes the families older than a week
    itself; the dialer only reads (its AMI user has no ``system`` right, which DBDel needs).
    """
    if call.queued_at is None:
        raise ValueError(f"call {call.uuid}: no queued_at, so no OC_DAY and no AstDB location")
    return f"{ASTDB_FAMILY}/{astdb_day(call.queued_at)}", call.uuid


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
