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


def test_the_plan_says_the_statuses_wanted_only_and_dials_the_same():
    """The host writes a campaign's status at most every few seconds: the plan of a turn that
    writes none computes none, and places the same calls."""
    campaigns = [campaign(), campaign(id=8)]
    due = {7: [contact(1, "+33123456781")], 8: [contact(2, "+33123456782", campaign_id=8)]}
    agents = [agent(1, campaigns=(7, 8)), agent(2, campaigns=(7, 8))]

    def planned(wanted):
        state = TurnState(T0, server(), campaigns, agents, [], due, statuses_wanted=wanted)
        return plan(state, TokenBucket(5), uuids())

    every, one, none = planned(None), planned(frozenset({8})), planned(frozenset())
    assert set(every.statuses) == {7, 8}
    assert one.statuses == {8: every.statuses[8]}
    assert none.statuses == {}
    assert (
        [o.call.contact_id for o in none.originates]
        == [o.call.contact_id for o in every.originates]
        == [1, 2]
    )
