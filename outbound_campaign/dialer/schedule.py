"""When a contact may be called: campaign dates, daily window, weekdays, legal calling hours.

Rules and where they are evaluated:

* ``date_start`` / ``date_end`` (inclusive, optional) are the campaign's: they are read in the
  campaign's time zone, as the manager who typed them meant.
* The daily window, the allowed weekdays and the legal calling hours (08:00–21:00, FTC/FCC) are
  about the person called, so they are read on the called party's clock (:func:`contact_zones`):
  the contact's own zone when it has one; else the zones of its number's prefix, and when the
  prefix spans several (+1 800, Russian mobiles) the contact is callable only when it is within
  hours in all of them; else the campaign's zone.

A time is callable when the local wall clock reads a time in ``[start, end)``. This definition is
what the rules say ("8:00–21:00 local time") and makes DST plain: on the spring-forward day a
window starting inside the gap opens when the clock jumps past its start; on the autumn day the
repeated hour is in the window on both passes if its wall time is. :func:`next_callable_at` walks
forward from boundary to boundary (window start, window end, midnight, offset transitions), so it
never assumes that a day has 24 hours. Windows do not cross midnight (the legal cap forbids it).
With several zones it jumps to the latest of their next openings until all are open at once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

ALL_WEEKDAYS: frozenset[int] = frozenset(range(7))
#: FTC TSR / FCC TCPA calling hours in the called party's local time (some states are stricter).
LEGAL_HOURS: tuple[float, float] = (8.0, 21.0)
#: Ofcom: after an abandoned call, no call to that number (in the company, whichever contact holds
#: it) within 72 h unless an agent is guaranteed: only agent-first calls may.
ABANDON_NO_RECALL = timedelta(hours=72)

_DAY = 86400
#: A weekly pattern repeats within 8 days; searching further cannot find an opening.
_HORIZON = timedelta(days=8)

OPEN = "open"
NOT_STARTED = "not_started"
ENDED = "ended"
CLOSED_DAY = "closed_day"
OUTSIDE_HOURS = "outside_hours"
NEVER = "never"


def _seconds(hours: float, what: str) -> int:
    if not 0 <= hours <= 24:
        raise ValueError(f"{what} must be an hour between 0 and 24, got {hours!r}")
    return round(hours * 3600)


@dataclass(frozen=True)
class CallingWindow:
    """A campaign's calling rules (hours are floats: 9.5 is 09:30; Monday is weekday 0).

    ``legal_hours`` is the regulatory cap intersected with the daily window; ``None`` lifts it
    (only where no such rule applies). ``weekdays`` apply whether the daily window is on or not.
    """

    tz: str
    date_start: date | None = None
    date_end: date | None = None
    daily_window: bool = False
    hour_start: float = 0.0
    hour_end: float = 24.0
    weekdays: frozenset[int] = ALL_WEEKDAYS
    legal_hours: tuple[float, float] | None = LEGAL_HOURS

    def __post_init__(self) -> None:
        zone_named(self.tz)
        if not self.weekdays or not self.weekdays <= ALL_WEEKDAYS:
            raise ValueError(f"weekdays must be a non-empty subset of 0..6, got {sorted(self.weekdays)}")
        if self.date_start and self.date_end and self.date_end < self.date_start:
            raise ValueError("the campaign ends before it starts")
        if self.daily_window and _seconds(self.hour_start, "start") >= _seconds(self.hour_end, "end"):
            raise ValueError("the daily window must start before it ends (no window across midnight)")
        if self.legal_hours and _seconds(self.legal_hours[0], "legal start") >= _seconds(
            self.legal_hours[1], "legal end"
        ):
            raise ValueError("legal calling hours must start before they end")

    def daily_span(self) -> tuple[int, int] | None:
        """The callable seconds of a local day ``[start, end)``, or ``None`` if there are none."""
        start, end = 0, _DAY
        if self.daily_window:
            start, end = _seconds(self.hour_start, "start"), _seconds(self.hour_end, "end")
        if self.legal_hours:
            start = max(start, _seconds(self.legal_hours[0], "legal start"))
            end = min(end, _seconds(self.legal_hours[1], "legal end"))
        return (start, end) if start < end else None


@dataclass(frozen=True)
class WindowStatus:
    """The campaign-level answer for the dashboard: open now, or when it opens (``None``: never)."""

    is_open: bool
    opens_at: datetime | None
    reason: str


@lru_cache(maxsize=512)
def zone_named(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {key!r}") from exc


def is_zone(key: str) -> bool:
    """Whether ``key`` names a zone of the tz database (the check contacts' zones get at save)."""
    try:
        zone_named(key)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=65536)
def _number_zones(e164: str) -> tuple[str, ...]:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = phone_timezone.time_zones_for_number(number)
    return tuple(
        sorted(zone for zone in set(zones) if zone != phone_timezone.UNKNOWN_TIMEZONE and is_zone(zone))
    )


def contact_zones(e164: str | None, explicit_tz: str | None, campaign_tz: str) -> tuple[str, ...]:
    """The zones of the called party's clock, all of which must be within hours for a call: the
    contact's own zone when it has one; else every zone of its number's prefix; else the
    campaign's. A contact zone unknown to the tz database (refused at save) is ignored."""
    if explicit_tz and is_zone(explicit_tz):
        return (explicit_tz,)
    from_number = _number_zones(e164) if e164 else ()
    return from_number or (campaign_tz,)


def require_aware(now: datetime) -> datetime:
    if now.tzinfo is timezone.utc:  # what the host's clock gives, checked per event
        return now
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("times given to the scheduler must be timezone-aware (UTC)")
    return now.astimezone(timezone.utc)


def utc(value: datetime | None) -> datetime | None:
    """A naive UTC datetime as Odoo stores it → an aware one; None stays None."""
    return value.replace(tzinfo=timezone.utc) if value else None


def naive(value: datetime | None) -> datetime | None:
    """An aware datetime → the naive UTC datetime Odoo stores."""
    return value.astimezone(timezone.utc).replace(tzinfo=None) if value else None


def _second_of_day(local: datetime) -> float:
    return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6


def _transition(after: datetime, before: datetime, zone: ZoneInfo) -> datetime:
    """The first whole second in ``(after, before]`` with another UTC offset than ``after``.

    zoneinfo does not list transitions, and offsets change on whole seconds, so a binary search
    on epoch seconds finds it in about 12 steps for a one-hour gap.
    """
    old = after.astimezone(zone).utcoffset()
    low, high = math.floor(after.timestamp()), math.ceil(before.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, timezone.utc).astimezone(zone).utcoffset() == old:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, timezone.utc)


def _wall_to_utc(day: date, zone: ZoneInfo) -> datetime:
    """The first instant at which the clock of ``zone`` reads ``day`` 00:00 or later."""
    midnight = datetime.combine(day, time())
    first = midnight.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)
    if first.astimezone(zone).replace(tzinfo=None) == midnight:
        return first
    # midnight falls in a spring-forward gap: the day starts when the clock jumps
    earlier = midnight.replace(tzinfo=zone, fold=1).astimezone(timezone.utc)
    return _transition(min(first, earlier), max(first, earlier), zone)


def _date_bounds(window: CallingWindow) -> tuple[datetime | None, datetime | None]:
    zone = zone_named(window.tz)
    start = _wall_to_utc(window.date_start, zone) if window.date_start else None
    end = _wall_to_utc(window.date_end + timedelta(days=1), zone) if window.date_end else None
    return start, end


def _open_locally(local: datetime, span: tuple[int, int], weekdays: frozenset[int]) -> bool:
    return local.weekday() in weekdays and span[0] <= _second_of_day(local) < span[1]


def next_boundary(at: datetime, zone: ZoneInfo, span: tuple[int, int]) -> datetime:
    """The next instant after ``at`` where callability may change: the clock reaching the
    window's start, its end or midnight, or the UTC offset changing."""
    local = at.astimezone(zone)
    second = _second_of_day(local)
    step = min(b for b in (span[0], span[1], _DAY) if b > second) - second
    candidate = at + timedelta(seconds=step)
    if candidate.astimezone(zone).utcoffset() != local.utcoffset():
        return _transition(at, candidate, zone)
    return candidate


def is_callable(now_utc: datetime, window: CallingWindow, tz: str | Iterable[str] | None = None) -> bool:
    """Whether a contact whose clock is ``tz`` (a zone or several; default: the campaign's) may be
    called now."""
    return next_callable_at(now_utc, window, tz) == require_aware(now_utc)


def _next_open(
    at: datetime, zone: ZoneInfo, span: tuple[int, int], weekdays: frozenset[int], horizon: datetime
) -> datetime | None:
    """The first instant in ``[at, horizon)`` when the clock of ``zone`` is within the window."""
    while at < horizon:
        if _open_locally(at.astimezone(zone), span, weekdays):
            return at
        at = next_boundary(at, zone, span)
    return None


def next_callable_at(
    now_utc: datetime, window: CallingWindow, tz: str | Iterable[str] | None = None
) -> datetime | None:
    """The first instant at or after ``now_utc`` when a contact on the clock of ``tz`` may be
    called; with several zones, when it is within the window in all of them at once.

    Returns ``now_utc`` itself when callable now, ``None`` when never again (past the end date, a
    window emptied by the legal hours, zones whose windows never overlap), else a UTC datetime.
    """
    at = require_aware(now_utc)
    span = window.daily_span()
    if span is None:
        return None
    keys = [tz] if isinstance(tz, str) else list(tz or ())
    zones = [zone_named(key) for key in keys or [window.tz]]
    start, end = _date_bounds(window)
    if start is not None and at < start:
        at = start
    horizon = at + _HORIZON
    if end is not None:
        horizon = min(horizon, end)
    # Each zone's next opening is a lower bound of the common one: jump to the latest until all
    # zones are open at that instant.
    while True:
        opens = [_next_open(at, zone, span, window.weekdays, horizon) for zone in zones]
        if None in opens:
            return None
        latest = max(opens)
        if latest == at:
            return at
        at = latest


def window_status(now_utc: datetime, window: CallingWindow) -> WindowStatus:
    """Campaign-level status in the campaign's zone, for the dashboard's "why not dialing" text."""
    now = require_aware(now_utc)
    start, end = _date_bounds(window)
    if end is not None and now >= end:
        return WindowStatus(False, None, ENDED)
    opens_at = next_callable_at(now, window)
    if opens_at == now:
        return WindowStatus(True, None, OPEN)
    if opens_at is None:
        return WindowStatus(False, None, NEVER)
    if start is not None and now < start:
        return WindowStatus(False, opens_at, NOT_STARTED)
    local = now.astimezone(zone_named(window.tz))
    reason = OUTSIDE_HOURS if local.weekday() in window.weekdays else CLOSED_DAY
    return WindowStatus(False, opens_at, reason)
