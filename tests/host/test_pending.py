"""The runner's pending writes: taken whole by a turn, given back whole when its transaction fails."""

from datetime import datetime, timezone

from outbound_campaign.dialer.events import CallResult
from outbound_campaign.dialer.outcomes import CampaignType, Outcome
from outbound_campaign.dialer.views import CallState, CallView
from outbound_campaign.host.pending import FinishedCall, PendingWrites

T0 = datetime(2025, 1, 6, 10, 0, tzinfo=timezone.utc)


def call(uuid, state):
    return CallView(uuid, 7, 1, 1, CampaignType.AGENT_FIRST, state=state, queued_at=T0)


def finished(uuid):
    ended = CallView(
        uuid, 7, 1, 1, CampaignType.AGENT_FIRST, state=CallState.ENDED, ended_at=T0, outcome=Outcome.BUSY
    )
    return FinishedCall(CallResult.of(ended))


def test_a_turn_takes_everything_and_leaves_nothing():
    pending = PendingWrites(
        {"a": call("a", CallState.RINGING)}, [finished("b")], {1}, {2}, {"PJSIP/1": "INUSE"}
    )
    taken = pending.take()
    assert not pending
    assert taken.progress.keys() == {"a"} and taken.missed_agents == {1} and taken.device_changes
    assert taken.calls_or_agents


def test_a_failed_turn_gives_back_what_it_took_before_what_came_since():
    pending = PendingWrites(
        {"a": call("a", CallState.RINGING)}, [finished("b")], {1}, set(), {"PJSIP/1": "INUSE"}
    )
    taken = pending.take()
    pending.progress["a"] = call("a", CallState.ANSWERED)
    pending.finished.append(finished("c"))
    pending.device_changes["PJSIP/1"] = "NOT_INUSE"
    pending.freed_agents.add(3)
    pending.restore(taken)
    assert pending.progress["a"].state is CallState.ANSWERED, "the newer state of a call wins"
    assert [call.result.uuid for call in pending.finished] == ["b", "c"], "the older results first"
    assert pending.device_changes == {"PJSIP/1": "NOT_INUSE"}
    assert (pending.missed_agents, pending.freed_agents) == ({1}, {3})


def test_only_the_phones_are_not_for_the_batch():
    assert not PendingWrites(device_changes={"PJSIP/1": "INUSE"}).calls_or_agents
    assert PendingWrites(device_changes={"PJSIP/1": "INUSE"})
    assert not PendingWrites()


def test_only_agent_first_calls_moving_on_free_nothing_a_plan_could_use():
    assert PendingWrites({"a": call("a", CallState.ANSWERED)}).frees_nothing
    assert not PendingWrites().frees_nothing, "an idle turn plans (contacts fall due)"
    waiting = CallView("w", 7, 1, 1, CampaignType.CLIENT_FIRST, state=CallState.ANSWERED, queued_at=T0)
    assert not PendingWrites({"w": waiting}).frees_nothing, "a customer may be waiting for an agent"
    for others in (
        {"finished": [finished("b")]},
        {"missed_agents": {1}},
        {"freed_agents": {2}},
        {"phones_freed": True},
    ):
        assert not PendingWrites({"a": call("a", CallState.RINGING)}, **others).frees_nothing


def test_a_phone_stored_busy_frees_nothing_a_phone_freed_does_until_its_turn_takes_it():
    ringing = {"a": call("a", CallState.RINGING)}
    assert PendingWrites(ringing, device_changes={"PJSIP/1": "INUSE"}).frees_nothing
    pending = PendingWrites(dict(ringing), phones_freed=True)
    taken = pending.take()
    assert taken.phones_freed and not taken.frees_nothing
    assert not pending.phones_freed
    pending.progress.update(ringing)
    assert pending.frees_nothing
    pending.restore(taken)
    assert pending.phones_freed, "a failed turn gives the freed phone back"
