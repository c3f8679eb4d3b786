"""How often a dialer host tells the managers' dashboards that campaigns changed, and the
agents' consoles that agents changed.

A busy host changes calls many times a second; a dashboard needs to hear of it within a second or
two, not at every change. The campaigns changed are gathered and sent together at most every
``interval`` seconds; a host turns at least every quarter of a second, so a change is sent within
``interval`` plus one turn (under a second at the default half second).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

#: Least time between two dashboard notifications of one host (seconds).
DASHBOARD_INTERVAL = 0.5
#: Least time between two rounds of console notifications: a pop a fifth of a second late goes
#: unnoticed, one transaction and NOTIFY per call ended would slow the dialling.
AGENT_INTERVAL = 0.2


class PendingNotices:
    """Ids (campaigns whose dashboard figures changed, agents whose console must hear of them) to
    send at most every ``interval`` seconds (``now`` is any monotonic clock, in seconds)."""

    def __init__(self, interval: float = DASHBOARD_INTERVAL) -> None:
        self.interval = interval
        self.pending: set[int] = set()
        self._sent_at = -math.inf

    def add(self, campaign_ids: Iterable[int]) -> None:
        self.pending |= set(campaign_ids)

    def due(self, now: float) -> bool:
        """Something to send, and the last sending is ``interval`` old."""
        return bool(self.pending) and now - self._sent_at >= self.interval

    def take(self, now: float) -> set[int]:
        """The campaigns to send now; they are sent as of ``now``."""
        campaign_ids, self.pending, self._sent_at = self.pending, set(), now
        return campaign_ids
