from odoo.tests import tagged

from pbxsim import Scenario

from .dialer_common import DialerCase
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
