"""Running the real dialer host against the PBX simulator, inside an Odoo test transaction.

The registry is put in test mode, so the host's short transactions (``registry.cursor()``) are
savepoints of the test's own transaction: what the dialer commits is visible to the test and
rolled back after it. The simulator speaks AMI over real TCP on its own thread; the host runs on
an asyncio loop in the test's thread.
"""

import asyncio
import json
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from odoo.addons.bus.models.bus import channel_with_db, json_dump

from pbxsim import Scenario, run_in_thread

from ..host.runner import DialerRunner
from ..host.store import DialerStore
from .common import OutboundCampaignCase

#: A Tuesday, 10:00 in London: inside every test campaign's window and legal calling hours.
TUESDAY_10AM = datetime(2026, 3, 10, 10, 0, tzinfo=timezone.utc)


def wall_clock_from(start):
    """Time that starts at ``start`` and runs at the wall clock's pace."""
    origin = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - origin)


class DialerCase(OutboundCampaignCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry.enter_test_mode(cls.cr)
        cls.addClassCleanup(cls.registry.leave_test_mode)
        cls.agent.state = "ready"
        cls.other_agent.state = "ready"
        cls.server.write({"username": "dialer", "secret": "dialer-secret", "max_calls_per_second": 50})

    @classmethod
    def create_campaign(cls, name, agents=None, phones=(), server=True, **values):
        # Simulated calls last a fraction of a second: no wrap-up after them unless a test asks.
        return super().create_campaign(name, agents, phones, server, **{"wrap_up_time": 0, **values})

    def bus_payloads(self, notification_type, target):
        """Payloads of the bus notifications of ``notification_type`` written for ``target`` (a
        record whose channel it is), oldest first."""
        channel = json_dump(channel_with_db(self.env.cr.dbname, target))
        messages = [
            json.loads(row.message)
            for row in self.env["bus.bus"].sudo().search([("channel", "=", channel)], order="id")
        ]
        return [message["payload"] for message in messages if message["type"] == notification_type]

    def frozen_clock(self, start=TUESDAY_10AM):
        return wall_clock_from(start)

    @staticmethod
    def settled(campaign):
        """Nothing left to call and no call in flight."""
        return not campaign.contact_ids.filtered(lambda c: c.state in ("pending", "in_progress"))

    def run_dialer(self, until, scenario=None, clock=None, timeout=30.0, during=None, ami_options=None):
        """Dial until ``until()`` holds (checked on fresh data), then stop; returns the simulator."""
        scenario = scenario or Scenario(seed=7, time_scale=0.01)
        with run_in_thread(scenario) as sim:
            self.server.port = sim.port
            self.env.flush_all()
            store = DialerStore(self.registry, self.server.id, "test@localhost:0")
            runner = DialerRunner(
                store,
                clock=clock or self.frozen_clock(),
                tick=0.02,
                reconcile_grace=timedelta(seconds=3),
                ami_options={"reconnect_delay": 0.02, "reconnect_max_delay": 0.2, **(ami_options or {})},
            )
            self.runner = runner  # what it still holds in memory, for the tests that look (soak)

            async def main():
                task = asyncio.get_running_loop().create_task(runner.run())
                deadline = time.monotonic() + timeout
                try:
                    while time.monotonic() < deadline:
                        await asyncio.sleep(0.05)
                        self.env.invalidate_all()
                        if during is not None:
                            during(sim)
                        if until():
                            return
                        if task.done():
                            break
                    if task.done() and task.exception():
                        raise task.exception()
                    open_calls = [
                        (c.uuid, c.state.value, c.reason, c.dial_status) for c in runner.calls.values()
                    ]
                    states = dict(Counter(self.env["outbound.contact"].search([]).mapped("state")))
                    agents = self.env["outbound.agent"].search([]).mapped(lambda a: (a.channel, a.state))
                    self.fail(
                        f"the dialer did not get there in {timeout} s; calls in flight: {open_calls}; "
                        f"contacts: {states}; agents: {agents}"
                    )
                finally:
                    runner.stop()
                    await task

            asyncio.run(main())
            self.env.invalidate_all()
            return sim
