"""Why a campaign dials or not, as the dashboard shows it: the first reason that explains it, in
the order a manager checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .outcomes import CampaignType
from .schedule import window_status
from .views import AgentView, CampaignView, ContactView

DIALING = "dialing"
ABANDON_CAP = "abandon_cap"
NO_CONTACT_DUE = "no_contact_due"
NO_AGENT_READY = "no_agent_ready"
SERVER_FULL = "server_full"
#: client first: the calls already in flight cover the ready agents at the current ratio
PACED = "paced"
#: a preview campaign waits for its agents to choose whom to call
PREVIEW = "preview"


@dataclass(frozen=True)
class CampaignStatus:
    """Why a campaign dials or not, as the dashboard shows it. The host writes it on the campaign
    (``dialing_status`` = ``reason``, ``dialing_status_until``, ``dial_ratio``,
    ``dialing_status_at``) only when it changed: its first at once, then at most every refresh.

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


def campaign_status(
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
