"""Why a campaign dials or not, as the plan reports it."""

from datetime import datetime, timezone

from engine_builders import T0, agent, campaign, contact, server, uuids

from outbound_campaign.dialer.pacing import TokenBucket
from outbound_campaign.dialer.planning import TurnState, plan
from outbound_campaign.dialer.schedule import CallingWindow


def test_statuses_explain_why_nothing_is_dialled():
    closed = campaign(window=CallingWindow(tz="Europe/Paris", weekdays=frozenset({5})))
    decided = plan(
        TurnState(T0, server(), [closed], [agent(1)], [], {7: [contact(1)]}), TokenBucket(5), uuids()
    )
    status = decided.statuses[7]
    assert (status.reason, status.opens_at) == (
        "closed_day",
        datetime(2025, 1, 11, 7, 0, tzinfo=timezone.utc),
    )
    assert plan(TurnState(T0, server(), [campaign()], [agent(1)], [], {}), TokenBucket(5), uuids()).statuses[
        7
    ].reason == ("no_contact_due")
    nobody = plan(TurnState(T0, server(), [campaign()], [], [], {7: [contact(1)]}), TokenBucket(5), uuids())
    assert nobody.statuses[7].reason == "no_agent_ready"
