import asyncio
import subprocess
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from types import SimpleNamespace
from unittest.mock import patch

from psycopg2 import errors as pg_errors

from odoo.tests import tagged

from pbxsim import Scenario, run_in_thread

from ..dialer.outcomes import CampaignType
from ..dialer.views import CallState, CallView, ContactView
from ..host import store as store_module
from ..host.runner import DialerRunner
from ..host.store import DialerStore, LeaseLost, host_identity
from .dialer_common import DialerCase


def dead_pid():
    """The pid of a process of this machine that has ended."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@tagged("post_install", "-at_install")
class TestDefectGLease(DialerCase):
    """The lease fences its holder: one identity per process, no write once the lease is lost."""

    def store(self, holder=None):
        return DialerStore(self.registry, self.server.id, holder or host_identity("test"))

    def give_lease_to(self, holder, minutes=60):
        self.env.flush_all()
        self.env.cr.execute(
            """UPDATE outbound_dialer_server
                  SET holder = %s, lease_until = (now() AT TIME ZONE 'UTC') + %s * interval '1 minute'
                WHERE id = %s""",
            [holder, minutes, self.server.id],
        )
        self.env.invalidate_all()

    def test_defect_g_same_hostname_and_pid_distinct_identities(self):
        # Two containers running the dialer as PID 1 under one hostname.
        with (
            patch.object(store_module.os, "getpid", return_value=1),
            patch.object(store_module.socket, "gethostname", return_value="dialer"),
        ):
            first, second = host_identity("outbound_dialer"), host_identity("outbound_dialer")
        self.assertNotEqual(first, second)
        self.assertTrue(first.startswith("outbound_dialer@dialer:1/"), "hostname and pid still shown")
        store = self.store(first)
        self.assertTrue(store.acquire_lease(30))
        self.assertFalse(self.store(second).acquire_lease(30), "the other one waits")

    def test_defect_g_other_pid_namespace_never_declared_dead(self):
        mine = host_identity("outbound_dialer")
        pid = dead_pid()
        head, _slash, tail = mine.partition("/")
        host = head.rpartition(":")[0]
        # A live process of another container: its pid means nothing here.
        self.give_lease_to(f"{host}:{pid}/0123456789ab.{tail.rpartition('.')[2]}")
        self.assertFalse(self.store(mine).acquire_lease(30))
        # The same dead pid in this machine's namespace: taken over at once.
        self.give_lease_to(f"{host}:{pid}/{tail}")
        self.assertTrue(self.store(mine).acquire_lease(30))

    def test_defect_g_lapsed_lease_cannot_claim_or_store(self):
        campaign = self.create_campaign("Fenced", agents=self.agent, phones=("020 7946 0500",))
        campaign.action_run_now()
        contact = campaign.contact_ids
        store = self.store()
        self.assertTrue(store.acquire_lease(30))
        now = self.frozen_clock()()
        view = ContactView(contact.id, campaign.id, contact.phone_e164, 0, None)

        def order():
            call = CallView(
                str(uuid.uuid4()),
                campaign.id,
                contact.id,
                self.server.id,
                CampaignType.AGENT_FIRST,
                self.agent.id,
                queued_at=now,
            )
            return SimpleNamespace(call=call)

        held = order()
        with store.env() as env:
            claimed = store.claim(env, [held], {contact.id: view})
        self.assertEqual(claimed, [held], "claims while it holds the lease")
        self.env.invalidate_all()
        self.assertEqual(contact.state, "in_progress")
        moved = replace(held.call, state=CallState.RINGING)
        for lapse in ("taken by another host", "expired"):
            with self.subTest(lapse=lapse):
                if lapse == "expired":
                    self.give_lease_to(store.holder, minutes=-1)
                else:
                    self.give_lease_to(host_identity("other"))
                with self.assertRaises(LeaseLost), store.env() as env:
                    store.record_batch(env, [moved], [])
                self.env.cr.execute(
                    "UPDATE outbound_contact SET state = 'pending' WHERE id = %s", [contact.id]
                )
                with self.assertRaises(LeaseLost), store.env() as env:
                    store.claim(env, [order()], {contact.id: view})
                self.env.invalidate_all()
                self.assertEqual(contact.state, "pending", "not claimed")
                self.assertEqual(len(contact.call_ids), 1, "no call row written")
                self.assertEqual(contact.call_ids.state, "queued", "its progress not stored")

    def test_defect_g_host_that_lost_its_lease_stops_dialling(self):
        campaign = self.create_campaign(
            "Taken over",
            agents=self.agent | self.other_agent,
            phones=[f"+4420794606{n:02d}" for n in range(10)],
            max_attempts=1,
        )
        campaign.action_run_now()
        scenario = Scenario(seed=3, time_scale=0.02, mix={"answer": 1.0}, talk_time=(5.0, 10.0))
        with run_in_thread(scenario) as sim:
            self.server.port = sim.port
            self.env.flush_all()
            runner = DialerRunner(
                self.store(),
                clock=self.frozen_clock(),
                tick=0.02,
                lease_ttl=30.0,
                reconcile_grace=timedelta(seconds=3),
                ami_options={"reconnect_delay": 0.02, "reconnect_max_delay": 0.2},
            )
            claimed_before = []

            async def main():
                task = asyncio.get_running_loop().create_task(runner.run())
                deadline = time.monotonic() + 30
                while not task.done() and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                    if not claimed_before and sim.actions("Originate"):
                        self.give_lease_to(host_identity("other"))
                        self.env.cr.execute(
                            "SELECT count(*) FROM outbound_call WHERE campaign_id = %s", [campaign.id]
                        )
                        claimed_before.append(self.env.cr.fetchone()[0])
                runner.stop()
                await task

            asyncio.run(main())
            self.assertTrue(claimed_before, "the lease was taken while the host dialled")
            self.env.invalidate_all()
            self.assertEqual(
                len(campaign.call_ids), claimed_before[0], "nothing claimed once the lease is lost"
            )
            self.assertEqual(len(sim.actions("Originate")), claimed_before[0], "nor dialled")
        self.assertTrue(self.server.holder.startswith("other@"), "the new holder keeps the server")

    def test_defect_g_renewal_retried_on_serialization_failure(self):
        store = self.store()
        self.assertTrue(store.acquire_lease(30))
        real = DialerStore._dead_local_holders
        failures = [pg_errors.SerializationFailure("injected: could not serialize access")]

        def once_then_real(self_, env):
            if failures:
                raise failures.pop()
            return real(self_, env)

        with patch.object(DialerStore, "_dead_local_holders", once_then_real):
            self.assertTrue(store.acquire_lease(30), "a serialization failure is no lost lease")
        self.assertFalse(failures)
        self.env.invalidate_all()
        self.assertEqual(self.server.holder, store.holder)
