import signal
from collections import Counter

import pytest

from pbxsim import Scenario, run_in_thread

from .dialer_processes import CommittedWorld, start_dialer, stop, wait_for


@pytest.fixture
def fast_simulator():
    scenario = Scenario(
        seed=1, time_scale=0.001, ring_time=(0.0, 0.0), talk_time=(0.0, 5.0), agent_ring_time=(0.0, 1.0)
    )
    with run_in_thread(scenario) as sim:
        yield sim


def test_sigkill_mid_calls_then_restart():
    """A dialer killed mid-calls: the next one recovers every outcome, nothing stays in progress."""
    scenario = Scenario(seed=4, time_scale=0.05, ring_time=(1.0, 2.0), talk_time=(20.0, 40.0))
    with run_in_thread(scenario) as sim:
        world = CommittedWorld(sim.port, contacts=12, agents=4, prefix="Kill")
        try:
            first = start_dialer(world)
            wait_for(lambda: len([c for c in sim.calls if c.answered_at]) >= 3, 60, "calls to be answered")
            stop(first, signal.SIGKILL)
            killed_in_flight = world.query(
                "SELECT count(*) FROM outbound_call WHERE campaign_id = %s AND state != 'ended'",
                world.campaign_id,
            )[0][0]
            assert killed_in_flight, "the kill must happen with calls in flight"
            second = start_dialer(world)
            try:
                wait_for(world.settled, 120, "every contact to be settled")
            finally:
                stop(second)
            calls = world.query(
                "SELECT uuid, state, outcome FROM outbound_call WHERE campaign_id = %s", world.campaign_id
            )
            assert {state for _uuid, state, _outcome in calls} == {"ended"}
            assert {outcome for _uuid, _state, outcome in calls} == {"answered"}, (
                "outcomes recovered, none unknown"
            )
            assert world.contact_states() == {"done": 12}
            originates = Counter(o.get("ChannelId") for o in sim.actions("Originate"))
            assert set(originates.values()) == {1}, "no call was originated twice"
            assert len(originates) == 12
        finally:
            world.destroy()


def test_two_dialer_processes_never_double_dial(fast_simulator):
    """Two dialer processes on one database, the first stopped midway: 10,000 contacts, each
    dialled exactly once."""
    sim = fast_simulator
    world = CommittedWorld(sim.port, contacts=10_000, agents=60, prefix="Twin")
    try:
        processes = [start_dialer(world), start_dialer(world)]
        try:
            wait_for(lambda: len(sim.actions("Originate")) >= 3_000, 180, "the first host to dial")
            holding = next(p for p in processes if f":{p.pid}/" in world.holder())
            stop(holding)  # the standby takes over once the lease is released
            wait_for(world.settled, 300, "every contact to be settled")
        finally:
            for process in processes:
                stop(process)
        numbers = Counter(
            o.get("Variable").split("OC_DIAL=")[1].split(",")[0] for o in sim.actions("Originate")
        )
        assert len(numbers) == 10_000
        assert max(numbers.values()) == 1, "a contact was dialled twice"
        holders = {o.username for o in sim.actions("Originate")}
        assert holders == {"dialer"}
        sessions = {o.session for o in sim.actions("Originate")}
        assert len(sessions) >= 2, "both processes dialled, one after the other"
        assert world.contact_states() == {"done": 10_000}
    finally:
        world.destroy()
