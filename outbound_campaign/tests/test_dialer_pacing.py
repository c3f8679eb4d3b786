from odoo import Command
from odoo.tests import tagged

from pbxsim import Scenario

from .dialer_common import DialerCase

CALLS = 1500
AGENTS = 20


@tagged("post_install", "-at_install")
class TestClientFirstPacing(DialerCase):
    """1,500 client-first calls at a 30 % answer rate: pacing overdials while the abandon rate
    allows it and keeps that rate under the campaign's 3 % cap."""

    def test_abandon_rate_stays_under_cap(self):
        users = [
            self.env["res.users"].create({"name": f"Pacer {n}", "login": f"pacer{n}"}) for n in range(AGENTS)
        ]
        agents = self.env["outbound.agent"].create(
            [
                {"user_id": user.id, "channel": f"PJSIP/3{n:03d}", "state": "ready"}
                for n, user in enumerate(users)
            ]
        )
        campaign = self.create_campaign(
            "Paced",
            campaign_type="client_first",
            max_attempts=1,
            # 2 s of real time at this scale: abandons then come from overdialling, which pacing
            # controls, not from the time this loaded test machine takes to ring an agent (at
            # 1 s, a machine busy with other work abandoned 10 %).
            max_wait=20,
            abandon_rate_cap=3.0,
            max_dial_ratio=3.0,
            phones=[f"+4420794{n:05d}" for n in range(CALLS)],
        )
        campaign.agent_ids = [Command.set(agents.ids)]
        self.server.max_channels = 200
        campaign.action_run_now()
        scenario = Scenario(
            seed=30,
            time_scale=0.1,
            mix={"answer": 0.3, "no_answer": 0.5, "busy": 0.2},
            ring_time=(2.0, 10.0),
            talk_time=(4.0, 12.0),
            agent_ring_time=(0.5, 1.0),
        )
        peak = []

        def watch(sim):  # customers being called at once, sampled as the run goes
            peak.append(sum(1 for call in sim.calls if call.flow == "client-first" and not call.ended))

        self.run_dialer(lambda: self.settled(campaign), scenario=scenario, timeout=240, during=watch)

        calls = campaign.call_ids
        self.assertEqual(len(calls), CALLS)
        outcomes = {
            outcome: len(calls.filtered(lambda c, o=outcome: c.outcome == o))
            for outcome in set(calls.mapped("outcome"))
        }
        live = outcomes.get("answered", 0) + outcomes.get("abandoned", 0)
        self.assertGreater(live, 0.25 * CALLS, outcomes)
        abandon_rate = outcomes.get("abandoned", 0) / live
        self.assertLess(abandon_rate, 0.03, outcomes)
        # It did overdial: at some moment more customers were being called than there are agents.
        self.assertGreater(max(peak), AGENTS, "client first overdials while far from the abandon cap")
