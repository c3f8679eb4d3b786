"""The contact's next step after a call: :func:`decide_retry`. The tables it reads are in
``outcomes``.

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

from dataclasses import dataclass
from datetime import datetime, timedelta

from .events import CallResult
from .outcomes import OUTCOME_POLICIES, CampaignType, Outcome
from .rules import E164
from .schedule import ABANDON_NO_RECALL, contact_zones, next_callable_at, require_aware
from .views import CampaignView, ContactState, ContactView

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
    now = require_aware(now)
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
