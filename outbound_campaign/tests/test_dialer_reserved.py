"""Contacts reserved for an agent (a call back, a previewed contact the agent chose to call) and
preview campaigns."""

from odoo.tests import tagged

from pbxsim import Scenario

from ..host.store import DialerStore
from .dialer_common import DialerCase

NUMBERS = [f"+4420794605{n:02d}" for n in range(20, 24)]


@tagged("post_install", "-at_install")
class TestDialerReserved(DialerCase):
    def reserve(self, campaign, number, agent):
        contact = campaign.contact_ids.filtered(lambda c: c.phone_e164 == number)
        contact.assigned_agent_id = agent
        return contact

    def originate_of(self, sim, call):
        return next(o for o in sim.actions("Originate") if o.get("ChannelId") == call.uuid)

    def test_reserved_contact_is_called_only_with_its_agent_agent_first_in_a_client_first_campaign(self):
        campaign = self.create_campaign(
            "Call backs",
            agents=self.agent | self.other_agent,
            phones=NUMBERS,
            campaign_type="client_first",
            max_wait=60,
        )
        promised = self.reserve(campaign, NUMBERS[-1], self.other_agent)
        campaign.action_run_now()
        sim = self.run_dialer(lambda: self.settled(campaign), scenario=Scenario(seed=4, time_scale=0.01))
        call = promised.call_ids
        self.assertEqual(len(call), 1)
        self.assertEqual(
            (call.agent_id, call.dial_mode, call.outcome), (self.other_agent, "agent_first", "answered")
        )
        originate = self.originate_of(sim, call)
        self.assertEqual(
            (originate.get("Channel"), originate.get("Context")), ("PJSIP/2002", "oc-agent-first")
        )
        self.assertEqual(promised.state, "done")
        self.assertFalse(promised.assigned_agent_id, "the promised call was made: the reservation ends")
        others = campaign.call_ids - call
        self.assertEqual(set(others.mapped("dial_mode")), {"client_first"})
        self.assertEqual({self.originate_of(sim, c).get("Context") for c in others}, {"oc-client-first"})

    def test_reserved_contact_waits_for_its_agent(self):
        campaign = self.create_campaign("Waiting", agents=self.agent | self.other_agent, phones=NUMBERS)
        promised = self.reserve(campaign, NUMBERS[0], self.other_agent)
        self.other_agent.state = "paused"
        campaign.action_run_now()
        sim = self.run_dialer(lambda: set((campaign.contact_ids - promised).mapped("state")) == {"done"})
        self.assertFalse(promised.call_ids, "never dialled with another agent")
        self.assertEqual((promised.state, promised.assigned_agent_id), ("pending", self.other_agent))
        self.assertEqual({o.get("Channel") for o in sim.actions("Originate")}, {"PJSIP/2001"})

    def test_reserved_contact_goes_before_the_agents_other_work(self):
        campaign = self.create_campaign("First", agents=self.agent, phones=NUMBERS)
        promised = self.reserve(campaign, NUMBERS[-1], self.agent)  # the last in due order otherwise
        campaign.action_run_now()
        sim = self.run_dialer(lambda: self.settled(campaign))
        self.assertEqual(sim.actions("Originate")[0].get("ChannelId"), promised.call_ids.uuid)

    def test_a_reservation_the_agent_missed_stays(self):
        campaign = self.create_campaign("Missed", agents=self.agent, phones=NUMBERS[:1])
        promised = self.reserve(campaign, NUMBERS[0], self.agent)
        campaign.action_run_now()
        scenario = Scenario(seed=4, time_scale=0.01, agent_overrides={"PJSIP/2001": "no_answer"})
        self.run_dialer(lambda: self.agent.state == "paused", scenario=scenario)
        self.assertEqual(promised.call_ids.mapped("outcome"), ["agent_no_answer"] * 2)
        self.assertEqual((promised.state, promised.assigned_agent_id), ("pending", self.agent))

    def test_preview_campaign_dials_only_what_its_agents_chose(self):
        campaign = self.create_campaign(
            "Preview", agents=self.agent | self.other_agent, phones=NUMBERS, preview=True
        )
        chosen = self.reserve(campaign, NUMBERS[2], self.agent)
        campaign.action_run_now()
        settle = {}

        def keep_going(_sim):  # a few more turns after the chosen call, to see nothing else dialled
            if chosen.state == "done":
                settle["turns"] = settle.get("turns", 0) + 1

        # Back to "preview" once the call is over: written within the host's refresh of its change.
        sim = self.run_dialer(
            lambda: settle.get("turns", 0) >= 10 and campaign.dialing_status == "preview", during=keep_going
        )
        self.assertEqual([o.get("ChannelId") for o in sim.actions("Originate")], [chosen.call_ids.uuid])
        self.assertEqual(set((campaign.contact_ids - chosen).mapped("state")), {"pending"})

    def test_a_reserved_call_in_flight_is_loaded_as_dialled_after_a_restart(self):
        """The call's dial mode is stored: a new host folds a reserved call of a client-first
        campaign as the agent-first call it is, and ends the reservation with it."""
        campaign = self.create_campaign(
            "Restart", agents=self.agent, phones=NUMBERS[:1], campaign_type="client_first"
        )
        promised = self.reserve(campaign, NUMBERS[0], self.agent)
        campaign.action_run_now()
        scenario = Scenario(seed=4, time_scale=0.01, talk_time=(300, 300))
        self.run_dialer(lambda: promised.call_ids.state == "connected", scenario=scenario)
        calls, _contacts = DialerStore(self.registry, self.server.id, "test@localhost:1").load_open_calls()
        (view,) = calls
        self.assertEqual(
            (view.campaign_type.value, view.reserved, view.agent_id), ("agent_first", True, self.agent.id)
        )
