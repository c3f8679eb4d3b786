"""When a campaign's list runs out at the current pace, counting only the time it may call.

The pace is the contacts closed over a recent span divided by the *callable* time within that
span: a window that opened ten minutes ago gives ten minutes' worth of pace, not a third of it.
The forecast then spends the time the remaining contacts need at that pace in the campaign's
coming calling windows (its dates, daily window, weekdays and legal hours, on the campaign's
clock, as :func:`~.schedule.window_status` reads them). Contacts in other zones shift their own
windows; at campaign level the campaign's clock is the estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .schedule import CallingWindow, is_callable, next_boundary, next_callable_at, require_aware, zone_named

#: The span over which the pace is measured.
PACE_SPAN = timedelta(minutes=30)
#: Past this the figure means nothing to a manager: "more than a year".
HORIZON = timedelta(days=366)

#: The list runs out at ``exhausts_at``.
ON_PACE = "on_pace"
#: Nothing was closed recently (or the campaign could not call): no pace to extrapolate.
NO_PACE = "no_pace"
#: The campaign's dates (or its window) end before the list runs out.
NOT_WITHIN_DATES = "not_within_dates"
#: Further away than :data:`HORIZON`.
BEYOND_HORIZON = "beyond_horizon"


@dataclass(frozen=True)
class Forecast:
    status: str
    exhausts_at: datetime | None = None


def _open_until(start: datetime, window: CallingWindow, limit: datetime) -> datetime:
    """The end of the callable stretch that ``start`` (callable) lies in, or ``limit`` if later."""
    zone, span = zone_named(window.tz), window.daily_span()
    at = start
    while at < limit:
        boundary = next_boundary(at, zone, span)
        if not is_callable(boundary, window):
            return min(boundary, limit)
        at = boundary
    return limit


def _weeks_later(at: datetime, tz: str, weeks: int) -> datetime:
    """The same wall-clock time ``weeks`` weeks later on the clock of ``tz``."""
    zone = zone_named(tz)
    wall = at.astimezone(zone).replace(tzinfo=None) + timedelta(weeks=weeks)
    return wall.replace(tzinfo=zone).astimezone(timezone.utc)


def callable_time(start: datetime, end: datetime, window: CallingWindow) -> timedelta:
    """How long the campaign may call within ``[start, end)``."""
    start, end = require_aware(start), require_aware(end)
    total = timedelta()
    at = start
    while at < end:
        opens = next_callable_at(at, window)
        if opens is None or opens >= end:
            break
        closes = _open_until(opens, window, end)
        total += closes - opens
        at = closes
    return total


def pace_per_hour(closed: int, now: datetime, window: CallingWindow, span: timedelta = PACE_SPAN) -> float:
    """Contacts closed per hour of calling time over the ``span`` before ``now`` (0: no pace)."""
    callable_span = callable_time(now - span, now, window)
    if closed <= 0 or callable_span <= timedelta():
        return 0.0
    return closed / (callable_span / timedelta(hours=1))


def exhaust(now: datetime, contacts_left: int, per_hour: float, window: CallingWindow) -> Forecast:
    """When ``contacts_left`` contacts are closed at ``per_hour``, calling only within ``window``."""
    now = require_aware(now)
    if contacts_left <= 0:
        return Forecast(ON_PACE, now)
    if per_hour <= 0:
        return Forecast(NO_PACE)
    remaining = timedelta(hours=contacts_left / per_hour)
    horizon = now + HORIZON
    at = next_callable_at(now, window)
    if at is None:
        return Forecast(NOT_WITHIN_DATES)
    if window.date_end is None:
        # The weekly pattern repeats: skip the whole weeks the list still needs rather than walk
        # them day by day (a DST hour falling inside the window is the only inexactness). Any
        # seven days hold one week's calling time: what is left after the skip is less than a
        # week's walk, or exactly one (the end of its last stretch, not the next opening).
        start, end = window.daily_span()
        per_week = timedelta(seconds=len(window.weekdays) * (end - start))
        weeks = math.ceil(remaining / per_week) - 1
        if weeks > 0:
            at = _weeks_later(at, window.tz, weeks)
            remaining -= per_week * weeks
    while True:
        opens = next_callable_at(at, window)
        if opens is None:
            return Forecast(NOT_WITHIN_DATES)
        if opens >= horizon:
            return Forecast(BEYOND_HORIZON)
        closes = _open_until(opens, window, min(opens + remaining, horizon))
        if closes - opens >= remaining:
            return Forecast(ON_PACE, opens + remaining)
        if closes >= horizon:
            return Forecast(BEYOND_HORIZON)
        remaining -= closes - opens
        at = closes
