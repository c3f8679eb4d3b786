"""Where the dialplan files each call's records in AstDB: under the UTC day the call was queued."""

from datetime import datetime, timedelta, timezone

import pytest
from engine_builders import CLIENT_FIRST, T0, UUID, agent, call, campaign, contact, server, uuids

from outbound_campaign.dialer.astdb import astdb_location, astdb_locations
from outbound_campaign.dialer.pacing import TokenBucket
from outbound_campaign.dialer.planning import TurnState, plan
from outbound_campaign.dialer.schedule import CallingWindow
from outbound_campaign.dialer.views import (
    CallState,
)


@pytest.mark.parametrize(
    ("queued_at", "day"),
    [
        (T0, "20250106"),
        (datetime(2025, 1, 6, 23, 59, 59, 999999, tzinfo=timezone.utc), "20250106"),
        # 00:30 in Paris is still the 5th in UTC: the day is always the UTC one.
        (datetime(2025, 1, 6, 0, 30, tzinfo=timezone(timedelta(hours=1))), "20250105"),
        (datetime(2024, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))), "20250101"),
    ],
)
def test_the_astdb_record_is_filed_under_the_utc_day_the_call_was_queued(queued_at, day):
    utc_campaign = campaign(window=CallingWindow(tz="UTC", legal_hours=None))
    state = TurnState(queued_at, server(), [utc_campaign], [agent(1)], [], {7: [contact(3)]})
    decided = plan(state, TokenBucket(5), uuids())
    (order,) = decided.originates
    assert order.variables["OC_DAY"] == day
    assert astdb_location(order.call) == (f"oc/{day}", UUID)
    assert astdb_location(call(queued_at=queued_at, state=CallState.RINGING)) == (f"oc/{day}", UUID)


def test_a_call_without_queued_at_has_no_astdb_location():
    with pytest.raises(ValueError, match="queued_at"):
        astdb_location(call(queued_at=None))


def test_astdb_locations_of_each_flow():
    assert astdb_locations(call()) == [("oc/20250106", UUID)]
    assert astdb_locations(call(campaign_type=CLIENT_FIRST)) == [
        ("oc/20250106", UUID),
        ("oc/20250106", f"{UUID}-dial"),
    ]
