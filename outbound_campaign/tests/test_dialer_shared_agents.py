import time
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from pbxsim import Scenario

from ..dialer.pacing import TokenBucket
from ..host.runner import DialerRunner
from ..host.store import DialerStore
from .dialer_common import TUESDAY_10AM, DialerCase
from .shared_agents import ANSWERING, CONTACTS, shared_agents_campaigns


def phones(first):
    """Nine London numbers from ``+44207946<first>``; the first five answer."""
    numbers = [f"+44207946{first + n:04d}" for n in range(CONTACTS)]
    return numbers, numbers[:ANSWERING]


@tagged("post_install", "-at_install")
class TestDefectASharedAgents(DialerCase):
    """Issue 9, defect a: agents shared by an agent-first and a client-first campaign are one pool;
    the client-first calls in flight keep the agents they may need, so no answered customer is
    left without one."""

    def test_defect_a_shared_agents_keep_the_abandon_cap(self):
        agent_first_phones, agent_first_answering = phones(7000)
        client_first_phones, client_first_answering = phones(8000)
        scenario = Scenario(
            seed=9,
            time_scale=0.05,
            overrides={
                number: "answer"
                if number in (*agent_first_answering, *client_first_answering)
                else "no_answer"
                for number in (*agent_first_phones, *client_first_phones)
            },
            ring_time=(2.0, 6.0),
            # Talks outlast the wait for an agent by far: an agent taken by the other campaign
            # is not back before the customer waiting for them gives up.
            talk_time=(60.0, 90.0),
            agent_ring_time=(1.0, 2.0),
        )
        run = shared_agents_campaigns(
            self.env,
            self.server,
            None,  # run_dialer gives the server the simulator's port
            ["PJSIP/4001", "PJSIP/4002", "PJSIP/4003"],
            agent_first_phones,
            client_first_phones,
            # 1.5 s of real time at this scale: an agent held for the customer reaches them well
            # within it on a loaded machine; one on a call of the other campaign does not.
            max_wait=30,
            dial_timeout=15,
        )
        self.run_dialer(run.settled, scenario=scenario, timeout=180)
        run.check(self)

    def test_defect_a_an_agent_is_held_for_the_client_first_call_of_another_server(self):
        """The agent serves an agent-first campaign of this server and a client-first campaign of
        another server, whose host has a call ringing: this server's host does not ring them
        while that call may need them, nor once it does not (no host holds the other server)."""
        other_server = self.server.copy({"name": "Other PBX"})
        elsewhere = self.create_campaign(
            "Elsewhere", agents=self.agent, phones=["+442079469001"], campaign_type="client_first"
        )
        elsewhere.dialer_server_id = other_server
        here = self.create_campaign("Here", agents=self.agent, phones=["+442079469002"])
        (elsewhere | here).action_run_now()
        self.env["outbound.call"].create(
            {
                "campaign_id": elsewhere.id,
                "contact_id": elsewhere.contact_ids.id,
                "dial_mode": "client_first",
                "state": "ringing",
            }
        )
        store = DialerStore(self.registry, self.server.id, "test@localhost:0")
        # This host holds its own server: claiming is fenced by the lease.
        self.server.write({"holder": store.holder, "lease_until": fields.Datetime.now() + timedelta(hours=1)})
        runner = DialerRunner(store, clock=lambda: TUESDAY_10AM)
        runner._server, _link = store.load_server()

        def plan():
            self.env.flush_all()
            runner._bucket = TokenBucket(50)
            campaigns = store.load_campaigns(TUESDAY_10AM)
            with store.env() as env:
                writable = runner._statuses_due((campaign.id for campaign in campaigns), time.monotonic())
                decided, claimed, _contacts = runner._plan(env, campaigns, [], {}, writable)
            self.env.invalidate_all()
            return decided, claimed

        other_server.write(
            {"holder": "other@elsewhere:1", "lease_until": fields.Datetime.now() + timedelta(hours=1)}
        )
        held, claimed = plan()
        self.assertEqual((held.originates, claimed), ((), []))
        self.assertEqual(held.statuses[here.id].reason, "no_agent_ready")
        self.assertEqual(self.agent.state, "ready")

        other_server.lease_until = fields.Datetime.now() - timedelta(hours=1)
        dialled, claimed = plan()
        self.assertEqual([order.call.agent_id for order in claimed], [self.agent.id])
        self.assertEqual(dialled.shared_agents, {self.agent.id})
        self.assertEqual(self.agent.state, "ringing")
