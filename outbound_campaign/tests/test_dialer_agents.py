"""The agent's side of the dialer: their phone's state, calls they miss, wrap-up after a call."""

import time
from datetime import timedelta

from odoo.tests import tagged

from pbxsim import Scenario

from .dialer_common import DialerCase

ANSWER, BUSY = "+442079460511", "+442079460512"


class Once(dict):
    """Simulator overrides that each apply to one call only."""

    def __getitem__(self, key):
        return self.pop(key)


@tagged("post_install", "-at_install")
class TestDialerAgents(DialerCase):
    def running(self, phones, agents=None, **values):
        campaign = self.create_campaign(
            "Agents", agents=agents or self.agent, phones=phones, retry_delay_failed=0, **values
        )
        campaign.action_run_now()
        return campaign

    # -- the phone's state ---------------------------------------------------------------------

    def test_a_busy_phone_is_offered_no_call_until_it_is_free(self):
        campaign = self.running([ANSWER])
        seen = {"busy_polls": 0, "originates_while_busy": None}

        def watch(sim):
            if seen["originates_while_busy"] is not None:
                return
            if self.agent.device_state == "INUSE":  # stored by the host from DeviceStateList
                seen["busy_polls"] += 1
            if seen["busy_polls"] >= 10:  # half a second of turns with the agent ready but busy
                seen["originates_while_busy"] = len(sim.actions("Originate"))
                sim.outside_call("PJSIP/2001", up=False)

        sim = self.run_dialer(
            lambda: campaign.contact_ids.state == "done" and self.agent.device_state == "NOT_INUSE",
            scenario=Scenario(seed=1, time_scale=0.01, busy_devices=frozenset({"PJSIP/2001"})),
            during=watch,
        )
        self.assertEqual(seen["originates_while_busy"], 0, "no call offered while the phone was busy")
        self.assertEqual([o.get("Channel") for o in sim.actions("Originate")], ["PJSIP/2001"])
        self.assertEqual(campaign.call_ids.outcome, "answered")
        self.assertEqual(self.agent.state, "ready")

    def test_an_unregistered_phone_is_offered_no_call(self):
        campaign = self.running([ANSWER, BUSY], agents=self.agent | self.other_agent)
        sim = self.run_dialer(
            lambda: self.settled(campaign),
            scenario=Scenario(
                seed=1,
                time_scale=0.01,
                overrides={BUSY: "answer"},
                unregistered_devices=frozenset({"PJSIP/2001"}),
            ),
        )
        self.assertEqual({o.get("Channel") for o in sim.actions("Originate")}, {"PJSIP/2002"})
        self.assertEqual(self.agent.device_state, "UNAVAILABLE")
        self.assertEqual(self.agent.state, "ready", "not paused: never rung")

    # -- missed calls --------------------------------------------------------------------------

    def test_two_missed_calls_in_a_row_pause_the_agent_and_tell_the_managers(self):
        campaign = self.running([ANSWER])
        scenario = Scenario(seed=1, time_scale=0.01, agent_overrides={"PJSIP/2001": "no_answer"})
        self.run_dialer(lambda: self.agent.state == "paused", scenario=scenario)
        self.assertEqual(campaign.call_ids.mapped("outcome"), ["agent_no_answer"] * 2)
        self.assertEqual(self.agent.pause_reason_id, self.env.ref("outbound_campaign.pause_reason_no_answer"))
        self.assertEqual(self.agent.missed_call_count, 2)
        self.assertFalse(self.agent.current_call_id)
        contact = campaign.contact_ids
        self.assertEqual(
            (contact.state, contact.attempt_count), ("pending", 0), "the customer was never dialled"
        )
        self.assertIn({"agent_id": self.agent.id, "state": "paused"}, self.agent_payloads())
        managers = self.env.ref("outbound_campaign.group_outbound_manager")
        told = {
            cid
            for payload in self.bus_payloads("outbound_campaign/dashboard", managers)
            for cid in payload["campaign_ids"]
        }
        self.assertIn(campaign.id, told)

    def test_one_missed_call_leaves_the_agent_ready_and_an_answer_resets_the_count(self):
        campaign = self.running([ANSWER])
        scenario = Scenario(seed=1, time_scale=0.01, agent_overrides=Once({"PJSIP/2001": "no_answer"}))
        self.run_dialer(lambda: campaign.contact_ids.state == "done", scenario=scenario)
        self.assertEqual(campaign.call_ids.sorted("id").mapped("outcome"), ["agent_no_answer", "answered"])
        self.assertEqual((self.agent.state, self.agent.missed_call_count), ("ready", 0))
        self.assertFalse(self.agent.pause_reason_id)
        self.assertNotIn("paused", [payload["state"] for payload in self.agent_payloads()])

    def test_a_missed_client_first_bridge_leg_counts_as_a_miss(self):
        self.running([ANSWER], campaign_type="client_first", max_wait=60)
        scenario = Scenario(seed=1, time_scale=0.01, agent_overrides={"PJSIP/2001": "no_answer"})
        self.run_dialer(lambda: self.agent.state == "paused", scenario=scenario)
        self.assertEqual(self.agent.pause_reason_id, self.env.ref("outbound_campaign.pause_reason_no_answer"))
        self.assertEqual(self.agent.missed_call_count, 2)

    # -- wrap-up ---------------------------------------------------------------------------------

    def watch_agent(self, seen):
        """A ``during`` hook noting the agent's current call while ringing, and their first wrap-up
        (current call, end of wrap-up, when seen) and when they were ready again after it."""

        def watch(_sim):
            if self.agent.state == "ringing":
                seen.setdefault("ringing", set()).add(self.agent.current_call_id)
            if self.agent.state == "wrap_up" and "wrap_up" not in seen:
                seen["wrap_up"] = (self.agent.current_call_id, self.agent.wrap_up_until, time.monotonic())
            if self.agent.state == "ready" and "wrap_up" in seen and "ready" not in seen:
                seen["ready"] = time.monotonic()

        return watch

    def assert_wrapped_up(self, seen, call, after):
        current, until, _seen_at = seen["wrap_up"]
        self.assertEqual(current, call, "wrap-up keeps the call for its disposition")
        self.assertGreaterEqual(until - call.end_at, timedelta(seconds=2))
        self.assertLess(until - call.end_at, timedelta(seconds=3))
        self.assertFalse(self.agent.current_call_id, "ready again: no current call")
        # Repeats dropped: the phone's own changes are told too, with the same state.
        told = [payload["state"] for payload in self.agent_payloads()]
        states = [state for n, state in enumerate(told) if not n or told[n - 1] != state]
        self.assertEqual(
            states[:4], ["ringing", "on_call", "wrap_up", after], "the console heard each change"
        )

    def test_agent_first_wrap_up_then_the_next_call(self):
        campaign = self.running([ANSWER, "+442079460513"], wrap_up_time=2)
        seen = {}
        scenario = Scenario(seed=1, time_scale=0.01, agent_ring_time=(15, 18), talk_time=(10, 10))
        sim = self.run_dialer(
            lambda: self.settled(campaign) and self.agent.state == "ready",
            scenario=scenario,
            during=self.watch_agent(seen),
        )
        first, second = campaign.call_ids.sorted("id")
        self.assertEqual(
            seen["ringing"], {first, second}, "the call is the agent's from the moment they ring"
        )
        # Ready at the end of the wrap-up, and rung for the next call in the same transaction.
        self.assert_wrapped_up(seen, first, after="ringing")
        # The next call comes once the wrap-up is over (a call lasts a few tenths of a second here).
        originates = sim.actions("Originate")
        first_sent = next(o for o in originates if o.get("ChannelId") == first.uuid)
        second_sent = next(o for o in originates if o.get("ChannelId") == second.uuid)
        self.assertGreaterEqual(second_sent.received_at - first_sent.received_at, 2.0)

    def test_client_first_wrap_up_then_ready(self):
        campaign = self.running([ANSWER], wrap_up_time=2, campaign_type="client_first", max_wait=60)
        seen = {}
        scenario = Scenario(seed=1, time_scale=0.01, agent_ring_time=(15, 18), talk_time=(10, 10))
        self.run_dialer(lambda: "ready" in seen, scenario=scenario, during=self.watch_agent(seen))
        call = campaign.call_ids
        self.assertEqual(call.outcome, "answered")
        self.assertEqual(seen["ringing"], {call}, "the call is the agent's from the moment they ring")
        self.assert_wrapped_up(seen, call, after="ready")
        self.assertGreater(seen["ready"] - seen["wrap_up"][2], 1.5)

    def test_a_call_that_reached_no_customer_frees_the_agent_at_once(self):
        campaign = self.running([BUSY], wrap_up_time=30, max_attempts=1)
        self.run_dialer(
            lambda: campaign.contact_ids.state == "failed",
            scenario=Scenario(seed=1, time_scale=0.01, overrides={BUSY: "busy"}),
        )
        self.assertEqual(campaign.call_ids.outcome, "busy")
        self.assertEqual(self.agent.state, "ready")
        self.assertFalse(self.agent.current_call_id)
        self.assertFalse(self.agent.wrap_up_until)

    def agent_payloads(self):
        return self.bus_payloads("outbound_campaign/agent", self.agent.user_id.partner_id)
