"""What a plan originates: one call per free agent, overdial by the answer rate, reserved contacts
with their agent, the server's limits, each contact on its own clock (defect d), no client-first
call within 72 h of an abandon (defect j)."""

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest
from engine_builders import (
    AGENT_FIRST,
    CLIENT_FIRST,
    MONDAY_1305,
    T0,
    UUID,
    agent,
    call,
    campaign,
    contact,
    server,
    uuids,
)

from outbound_campaign.dialer.pacing import PacingStats, TokenBucket
from outbound_campaign.dialer.planning import ContactSkip, TurnState, plan
from outbound_campaign.dialer.schedule import ABANDON_NO_RECALL, CallingWindow
from outbound_campaign.dialer.views import (
    CallState,
)


def test_agent_first_one_call_per_free_agent_longest_idle_first():
    agents = [agent(1, idle_minutes=1), agent(2, idle_minutes=9), agent(3, idle_minutes=5)]
    busy = call(agent_id=3, contact_id=99)
    due = {7: [contact(10), contact(11), contact(12)]}
    decided = plan(TurnState(T0, server(), [campaign()], agents, [busy], due), TokenBucket(5), uuids())
    assert [(o.call.agent_id, o.call.contact_id) for o in decided.originates] == [(2, 10), (1, 11)]
    assert decided.statuses[7].reason == "dialing"


def test_server_channels_and_calls_per_second_bound_the_plan():
    agents = [agent(i, idle_minutes=i) for i in range(1, 6)]
    due = {7: [contact(i) for i in range(10, 20)]}
    in_flight = [
        call(uuid=f"c0ffee00-0000-4000-8000-{i:012d}", agent_id=None, contact_id=i) for i in range(100, 107)
    ]
    full = plan(
        TurnState(T0, server(max_channels=9), [campaign()], agents, in_flight, due), TokenBucket(5), uuids()
    )
    assert len(full.originates) == 2  # 9 channels - 7 calls
    bucket = TokenBucket(rate=3.0, burst=3.0)
    limited = plan(TurnState(T0, server(), [campaign()], agents, [], due), bucket, uuids())
    assert len(limited.originates) == 3
    assert bucket.available(T0) == 0  # the plan took its tokens
    again = plan(TurnState(T0, server(), [campaign()], agents, [], due), bucket, uuids())
    assert again.originates == () and again.statuses[7].reason == "server_full"


def test_due_contacts_outside_their_window_are_skipped_with_their_next_time():
    # 07:30 UTC: 08:30 in Paris (callable), 02:30 in New York (not before 08:00 EST = 13:00 UTC)
    now = datetime(2025, 1, 6, 7, 30, tzinfo=timezone.utc)
    due = {7: [contact(1, "+12015550123"), contact(2, "+33123456789")]}
    decided = plan(TurnState(now, server(), [campaign()], [agent(1)], [], due), TokenBucket(5), uuids())
    assert decided.skips == (
        ContactSkip(1, "not_callable", datetime(2025, 1, 6, 13, 0, tzinfo=timezone.utc)),
    )
    assert [o.call.contact_id for o in decided.originates] == [2]


def test_invalid_numbers_are_skipped_and_the_agent_kept():
    due = {7: [contact(1, "0123456789"), contact(2)]}
    decided = plan(TurnState(T0, server(), [campaign()], [agent(1)], [], due), TokenBucket(5), uuids())
    assert [(s.contact_id, s.reason) for s in decided.skips] == [(1, "invalid_number")]
    assert [(o.call.contact_id, o.call.agent_id) for o in decided.originates] == [(2, 1)]


def test_a_reserved_contact_is_called_with_its_agent_agent_first_even_in_client_first():
    client = campaign(type=CLIENT_FIRST)
    promised = contact(5, "+33123450005", assigned_agent_id=2)
    due = {7: [contact(1), contact(2)]}
    decided = plan(
        TurnState(T0, server(), [client], [agent(1, idle_minutes=9), agent(2)], [], due, {2: [promised]}),
        TokenBucket(5),
        uuids(),
    )
    first, *others = decided.originates
    assert (first.call.contact_id, first.call.agent_id, first.call.reserved) == (5, 2, True)
    assert first.call.campaign_type is AGENT_FIRST, "the call is folded as the agent-first call it is"
    assert (first.channel, first.context) == ("PJSIP/1002", "oc-agent-first")
    assert first.to_ami_headers()["Variable"].startswith(f"OC_CALL_UUID={first.call.uuid},OC_CAMPAIGN_ID=7,")
    # Agent 2 is taken by their promised call; client first paces for the one agent left.
    assert [(o.call.contact_id, o.call.agent_id, o.call.campaign_type) for o in others] == [
        (1, None, CLIENT_FIRST)
    ]


def test_a_reserved_contact_is_never_dialled_without_its_agent():
    promised = contact(5, assigned_agent_id=2)
    decided = plan(
        TurnState(T0, server(), [campaign()], [agent(1)], [], {7: [promised, contact(1)]}),
        TokenBucket(5),
        uuids(),
    )
    assert [o.call.contact_id for o in decided.originates] == [1]
    nobody = plan(
        TurnState(T0, server(), [campaign()], [agent(1)], [], {}, {2: [promised]}), TokenBucket(5), uuids()
    )
    assert nobody.originates == ()


def test_reserved_calls_come_after_waiting_customers_and_within_the_servers_capacity():
    waiting = call(
        campaign_type=CLIENT_FIRST, state=CallState.ANSWERED, contact_id=99, customer_channel="Local/s@x-1;1"
    )
    reserved = {1: [contact(5, assigned_agent_id=1)], 2: [contact(6, assigned_agent_id=2)]}
    client = campaign(type=CLIENT_FIRST)
    agents = [agent(1, idle_minutes=9), agent(2)]
    decided = plan(
        TurnState(T0, server(max_channels=2), [client], agents, [waiting], {}, reserved),
        TokenBucket(5),
        uuids(),
    )
    assert [c.call.agent_id for c in decided.connects] == [1], "the customer on hold first"
    assert [(o.call.contact_id, o.call.agent_id) for o in decided.originates] == [(6, 2)]
    full = plan(
        TurnState(T0, server(max_channels=1), [client], agents, [waiting], {}, reserved),
        TokenBucket(5),
        uuids(),
    )
    assert full.originates == ()


def test_a_preview_campaign_dials_only_what_its_agents_reserved():
    preview = campaign(preview=True)
    due = {7: [contact(1), contact(2)]}
    idle = plan(TurnState(T0, server(), [preview], [agent(1)], [], due), TokenBucket(5), uuids())
    assert idle.originates == ()
    assert idle.statuses[7].reason == "preview"
    chosen = plan(
        TurnState(T0, server(), [preview], [agent(1)], [], due, {1: [contact(2, assigned_agent_id=1)]}),
        TokenBucket(5),
        uuids(),
    )
    assert [(o.call.contact_id, o.call.reserved) for o in chosen.originates] == [(2, True)]
    assert chosen.statuses[7].reason == "dialing"


def test_client_first_overdials_by_the_observed_answer_rate():
    stats = PacingStats(dialed=200, answered=80, abandoned=0)  # 40 % → 2.5
    client = campaign(type=CLIENT_FIRST, stats=stats)
    ringing = call(campaign_type=CLIENT_FIRST, state=CallState.RINGING, contact_id=99)
    due = {7: [contact(i) for i in range(10, 30)]}
    agents = [agent(1), agent(2)]
    decided = plan(TurnState(T0, server(), [client], agents, [ringing], due), TokenBucket(20, 20), uuids())
    assert len(decided.originates) == 4  # floor(2 × 2.5) - 1 ringing
    assert decided.statuses[7].dial_ratio == pytest.approx(2.5)


def test_client_first_waits_while_calls_in_flight_cover_the_ready_agents():
    ringing = [
        call(
            uuid=f"c0ffee00-0000-4000-8000-{i:012d}",
            campaign_type=CLIENT_FIRST,
            state=CallState.RINGING,
            contact_id=i,
        )
        for i in (90, 91)
    ]
    client = campaign(type=CLIENT_FIRST)
    decided = plan(
        TurnState(T0, server(), [client], [agent(1), agent(2)], ringing, {7: [contact(5)]}),
        TokenBucket(5),
        uuids(),
    )
    assert decided.originates == ()
    assert decided.statuses[7].reason == "paced"


def test_a_customer_answered_before_it_waits_on_hold_counts_as_not_yet_connected():
    """Between the answer and ``OcWaiting`` (the hold message plays) the customer has no channel
    to send an agent to yet, but it will need one: no new call is placed for that agent."""
    hearing_the_message = call(campaign_type=CLIENT_FIRST, state=CallState.ANSWERED, contact_id=90)
    client = campaign(type=CLIENT_FIRST)
    decided = plan(
        TurnState(T0, server(), [client], [agent(1)], [hearing_the_message], {7: [contact(5)]}),
        TokenBucket(5),
        uuids(),
    )
    assert decided.originates == () and decided.connects == ()
    assert decided.statuses[7].reason == "paced"


def test_client_first_at_the_abandon_cap_falls_back_to_one_to_one():
    stats = PacingStats(dialed=1000, answered=400, abandoned=12)  # 3 %
    client = campaign(type=CLIENT_FIRST, stats=stats)
    due = {7: [contact(i) for i in range(10, 30)]}
    decided = plan(
        TurnState(T0, server(), [client], [agent(1), agent(2)], [], due), TokenBucket(20, 20), uuids()
    )
    assert len(decided.originates) == 2
    assert decided.statuses[7].reason == "abandon_cap"


def test_waiting_customers_get_an_agent_before_any_new_call():
    waiting = call(
        campaign_type=CLIENT_FIRST,
        state=CallState.ANSWERED,
        answered_at=T0 - timedelta(seconds=1),
        customer_channel="PJSIP/trunk-0000001a",
    )
    client = campaign(type=CLIENT_FIRST)
    decided = plan(
        TurnState(T0, server(), [client], [agent(1, 3), agent(2, 1)], [waiting], {7: [contact(5)]}),
        TokenBucket(5),
        uuids(),
    )
    (connect,) = decided.connects
    assert connect.to_ami_headers() == {
        "Action": "Originate",
        "Channel": "PJSIP/1001",
        "Context": "oc-agent-bridge",
        "Exten": "s",
        "Priority": "1",
        "Async": "true",
        "Timeout": "20000",
        "ChannelId": f"{UUID}-a",
        "Variable": f"OC_CALL_UUID={UUID},OC_LEG=agent,OC_CUSTOMER=PJSIP/trunk-0000001a",
        "ActionID": f"oc-{UUID}-a",
    }
    assert (connect.call.agent_id, connect.call.agent_leg_at) == (1, T0)
    assert [o.call.contact_id for o in decided.originates] == [5]  # agent 2 at 1:1 (no stats yet)


def test_server_capacity_is_shared_round_robin_between_campaigns():
    first, second = campaign(id=7), campaign(id=8)
    agents = [agent(i, i, campaigns=(7, 8)) for i in range(1, 7)]
    due = {7: [contact(i) for i in range(10, 20)], 8: [contact(i, campaign_id=8) for i in range(20, 30)]}
    one = plan(
        TurnState(T0, server(max_channels=3), [first, second], agents, [], due), TokenBucket(9, 9), uuids()
    )
    assert sorted(o.call.campaign_id for o in one.originates) == [7, 7, 8]
    two = plan(
        TurnState(T0, server(max_channels=3), [first, second], agents, [], due),
        TokenBucket(9, 9),
        uuids(),
        one.next_start,
    )
    assert sorted(o.call.campaign_id for o in two.originates) == [7, 8, 8]
    agents_used = [o.call.agent_id for o in one.originates]
    assert len(set(agents_used)) == 3


class CountingContacts(Sequence):
    """A long due list that counts how many contacts the engine reads."""

    def __init__(self, size: int):
        self.size, self.read = size, 0

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        if isinstance(index, slice) or index >= self.size:
            raise IndexError(index)
        self.read += 1
        return contact(index + 1)


def test_an_agent_becoming_free_reads_only_the_contacts_it_dials():
    due = CountingContacts(100_000)
    busy = [
        call(uuid=f"c0ffee00-0000-4000-8000-{i:012d}", agent_id=100 + i, contact_id=10**6 + i)
        for i in range(50)
    ]
    decided = plan(
        TurnState(T0, server(max_channels=100), [campaign()], [agent(1)], busy, {7: due}),
        TokenBucket(5),
        uuids(),
    )
    assert len(decided.originates) == 1
    assert due.read == 1


def test_defect_d_a_contact_is_called_on_its_own_clock_not_its_numbers():
    """A +1 212 (New York) number whose contact lives in Los Angeles: 05:05 there, no call."""
    due = {7: [contact(1, "+12125550100", tz="America/Los_Angeles")]}
    decided = plan(
        TurnState(MONDAY_1305, server(), [campaign()], [agent(1)], [], due), TokenBucket(5), uuids()
    )
    assert decided.originates == ()
    assert decided.skips == (
        ContactSkip(1, "not_callable", datetime(2025, 1, 6, 16, 0, tzinfo=timezone.utc)),
    )


def test_defect_d_a_toll_free_number_is_called_only_within_hours_in_all_its_zones():
    due = {7: [contact(1, "+18005550199")]}
    decided = plan(
        TurnState(MONDAY_1305, server(), [campaign()], [agent(1)], [], due), TokenBucket(5), uuids()
    )
    assert decided.originates == ()
    # Guam, the last of the NANP's zones to reach 08:00, does at 22:00 UTC
    assert decided.skips == (
        ContactSkip(1, "not_callable", datetime(2025, 1, 6, 22, 0, tzinfo=timezone.utc)),
    )


def test_defect_d_zones_whose_hours_never_overlap_skip_the_contact_with_the_reason():
    office = campaign(
        window=CallingWindow(tz="Europe/Paris", daily_window=True, hour_start=9.0, hour_end=17.0)
    )
    due = {7: [contact(1, "+79161234567"), contact(2, "+79161234567", tz="Europe/Moscow")]}
    decided = plan(TurnState(MONDAY_1305, server(), [office], [agent(1)], [], due), TokenBucket(5), uuids())
    (skip,) = decided.skips
    assert (skip.contact_id, skip.reason, skip.next_attempt_at) == (1, "no_common_hours", None)
    assert "Asia/Anadyr" in skip.detail and "Europe/Moscow" in skip.detail
    assert [o.call.contact_id for o in decided.originates] == [2]  # 16:05 in Moscow


def test_defect_j_no_client_first_call_to_a_number_abandoned_within_72_hours():
    """Another contact of the company with this number was abandoned an hour ago."""
    abandoned_at = T0 - timedelta(hours=1)
    client = campaign(type=CLIENT_FIRST)
    due = {7: [contact(1, abandoned_at=abandoned_at), contact(2, "+33123456780")]}
    decided = plan(TurnState(T0, server(), [client], [agent(1)], [], due), TokenBucket(5), uuids())
    assert decided.skips == (ContactSkip(1, "not_callable", abandoned_at + ABANDON_NO_RECALL),)
    assert [o.call.contact_id for o in decided.originates] == [2]
    # past the 72 h, it is called again
    later = abandoned_at + ABANDON_NO_RECALL
    decided = plan(TurnState(later, server(), [client], [agent(1)], [], due), TokenBucket(5), uuids())
    assert [o.call.contact_id for o in decided.originates][:1] == [1]


def test_defect_j_an_agent_on_the_line_may_call_the_number_within_72_hours():
    """Ofcom allows a re-call with a guaranteed agent: agent-first campaigns, and contacts
    reserved for their agent (a call back, a previewed contact), dialled agent first."""
    recently = T0 - timedelta(hours=1)
    decided = plan(
        TurnState(T0, server(), [campaign()], [agent(1)], [], {7: [contact(1, abandoned_at=recently)]}),
        TokenBucket(5),
        uuids(),
    )
    assert [o.call.contact_id for o in decided.originates] == [1]
    promised = contact(5, assigned_agent_id=1, abandoned_at=recently)
    decided = plan(
        TurnState(T0, server(), [campaign(type=CLIENT_FIRST)], [agent(1)], [], {}, {1: [promised]}),
        TokenBucket(5),
        uuids(),
    )
    assert [(o.call.contact_id, o.call.campaign_type) for o in decided.originates] == [(5, AGENT_FIRST)]
