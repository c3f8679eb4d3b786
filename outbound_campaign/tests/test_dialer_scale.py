"""Issue 14's guards for CI: a soak and a many-agents run, small enough for every test run.

``make bench`` measures the same at full size (``benchmarks/bench_scale.py``); these check what
must hold at any size: nothing kept in the dialer's memory for a call once its result is stored,
no contact left in progress, and no agent's phone ever carrying two of the dialer's calls.
"""

from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import SQL

from pbxsim import Scenario
from pbxsim.devices import Devices

from .dialer_common import DialerCase

#: Real sites' mix (answer rate 30 %), on accelerated ring and talk times (a 3-minute talk: 0.18 s).
MIX = {"answer": 0.3, "no_answer": 0.4, "busy": 0.2, "invalid": 0.1}


def scenario(seed):
    return Scenario(
        seed=seed,
        time_scale=0.001,
        mix=MIX,
        ring_time=(2.0, 20.0),
        agent_ring_time=(1.0, 3.0),
        talk_time=(30.0, 180.0),
    )


def add_contacts(env, campaign, count, first):
    """``count`` pending contacts on London numbers from ``first`` on, set-based: the ORM would
    take seconds per thousand."""
    env.flush_all()
    env.cr.execute(
        SQL(
            """
            INSERT INTO outbound_contact (campaign_id, company_id, phone, phone_e164, state, attempt_count,
                                          create_uid, write_uid, create_date, write_date)
            SELECT %(campaign)s, %(company)s, p, p, 'pending', 0, 1, 1, now(), now()
              FROM (SELECT '+4420' || lpad(n::text, 8, '0') AS p
                      FROM generate_series(%(first)s, %(first)s + %(count)s - 1) n) numbers
            """,
            campaign=campaign.id,
            company=campaign.company_id.id,
            first=first,
            count=count,
        )
    )
    env.invalidate_all()


class PhoneWatch:
    """The most channels each agent's phone carried at once, as the simulated Asterisk saw them
    (every channel state change on a device goes through ``Devices.channel_state``)."""

    def __init__(self):
        self.channels = {}  # device -> channels on it now
        self.most = {}  # device -> most channels on it at once

    def __enter__(self):
        original = Devices.channel_state
        watch = self

        def channel_state(devices, device, channel, state):
            on_device = watch.channels.setdefault(device, set())
            if state is None:
                on_device.discard(channel)
            else:
                on_device.add(channel)
            watch.most[device] = max(watch.most.get(device, 0), len(on_device))
            return original(devices, device, channel, state)

        self._patch = patch.object(Devices, "channel_state", channel_state)
        self._patch.start()
        return self

    def __exit__(self, *exc):
        self._patch.stop()


@tagged("post_install", "-at_install")
class TestDialerScale(DialerCase):
    def create_agents(self, count):
        users = self.env["res.users"].create(
            [{"name": f"Scale agent {n}", "login": f"scale-agent-{n}"} for n in range(count)]
        )
        return self.env["outbound.agent"].create(
            [
                {"user_id": user.id, "channel": f"PJSIP/5{n:03d}", "state": "ready"}
                for n, user in enumerate(users)
            ]
        )

    def open_contacts(self, campaigns):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT count(*) FROM outbound_contact WHERE campaign_id IN %s AND state IN ('pending', 'in_progress')",
            [tuple(campaigns.ids)],
        )
        return self.env.cr.fetchone()[0]

    def test_soak_leaves_nothing_behind(self):
        """Fifteen hundred calls through one runner: once every result is stored, the runner keeps
        nothing per call (its maps of calls, contacts and pending writes are empty), its other
        maps are bounded by campaigns and phones, and no contact is left in progress."""
        self.server.write({"max_channels": 200, "max_calls_per_second": 1000})
        agents = self.create_agents(20)
        campaign = self.create_campaign("Soak", agents=agents, max_attempts=1)
        add_contacts(self.env, campaign, 1500, first=1)
        campaign.action_run_now()
        sim = self.run_dialer(lambda: not self.open_contacts(campaign), scenario=scenario(14), timeout=300)
        runner = self.runner
        originated = len(sim.actions("Originate"))
        self.assertEqual(originated, 1500, "every contact called once")
        self.assertEqual(len(campaign.call_ids.filtered(lambda call: call.state == "ended")), originated)
        self.assertEqual(self.open_contacts(campaign), 0)
        # Sizes, not contents: a leak of two thousand entries would print pages.
        self.assertEqual(len(runner.calls), 0, "no call kept once its result is stored")
        self.assertEqual(len(runner.contacts), 0, "no contact kept once its call's result is stored")
        self.assertFalse(runner._pending, "nothing left to store")
        self.assertEqual((runner._unfinished, runner._unsettled, runner._tasks), ({}, set(), set()))
        # Bounded by campaigns and phones, whatever the number of calls.
        self.assertLessEqual(set(runner._statuses_written) | set(runner._ended_since_load), {campaign.id})
        self.assertLessEqual(set(runner.device_states), set(agents.mapped("channel")))
        self.assertEqual(runner._phones_to_store, {}, "the phones' last states stored with the last turn")
        self.assertEqual(runner._wrap_ups_end, [], "no wrap-up on this campaign: none waited for")
        self.assertEqual(set(agents.mapped("state")), {"ready"})

    def test_many_shared_agents_never_offered_two_calls(self):
        """Fifty agents, each shared by three of five campaigns (agent first and client first
        alternately): no agent's phone ever carries two of the dialer's calls at once."""
        self.server.write({"max_channels": 200, "max_calls_per_second": 1000})
        agents = self.create_agents(50)
        campaigns = self.env["outbound.campaign"]
        for index in range(5):
            shared = agents.filtered(lambda agent, i=index: (agents.ids.index(agent.id) - i) % 5 < 3)
            campaign = self.create_campaign(
                f"Shared {index}",
                agents=shared,
                campaign_type="agent_first" if index % 2 == 0 else "client_first",
                max_attempts=1,
                max_wait=30,
            )
            add_contacts(self.env, campaign, 120, first=10_000 * (index + 1))
            campaigns |= campaign
        self.assertEqual({len(campaign.agent_ids) for campaign in campaigns}, {30})
        campaigns.action_run_now()
        with PhoneWatch() as watch:
            self.run_dialer(lambda: not self.open_contacts(campaigns), scenario=scenario(50), timeout=300)
        phones = {device: most for device, most in watch.most.items() if device.startswith("PJSIP/5")}
        self.assertGreaterEqual(len(phones), 45, "the calls went round the pool")
        twice = {device: most for device, most in phones.items() if most > 1}
        self.assertEqual(twice, {}, "an agent's phone carried two of the dialer's calls at once")
        self.assertEqual(set(agents.mapped("state")), {"ready"})
        self.assertEqual(self.runner.calls, {})
