"""What the dialer host tells: the do-not-call list at dial time, the campaigns' dialing status,
the live notifications of the managers' dashboards."""

import asyncio
import time
from datetime import datetime, timedelta, timezone

from odoo.tests import tagged

from ..dialer.campaign_status import DIALING, NO_AGENT_READY, CampaignStatus
from ..dialer.outcomes import Outcome
from ..dialer.pacing import TokenBucket
from ..host.pending import PendingWrites
from ..host.runner import DialerRunner
from ..host.store import DialerStore
from .dialer_common import TUESDAY_10AM, DialerCase

BANNED, ALLOWED = "+442079460531", "+442079460532"


@tagged("post_install", "-at_install")
class TestDialerStatus(DialerCase):
    def test_a_do_not_call_number_is_never_dialled(self):
        campaign = self.create_campaign("DNC", agents=self.agent, phones=[BANNED, ALLOWED])
        campaign.action_run_now()
        # Listed behind the ORM's back (as another process would): only the dialer's check stops it.
        self.env.flush_all()
        self.env.cr.execute(
            "INSERT INTO outbound_do_not_call (company_id, phone_e164, source) VALUES (%s, %s, 'manual')",
            (self.company.id, BANNED),
        )
        banned = campaign.contact_ids.filtered(lambda c: c.phone_e164 == BANNED)
        sim = self.run_dialer(lambda: self.settled(campaign))
        self.assertEqual(banned.state, "dnc")
        self.assertFalse(banned.call_ids)
        dialled = [o.get("Variable") for o in sim.actions("Originate")]
        self.assertEqual(len(dialled), 1)
        self.assertNotIn(BANNED, dialled[0])
        self.assertIn(ALLOWED, dialled[0])

    def test_dialing_statuses_are_written(self):
        later = TUESDAY_10AM + timedelta(minutes=30)
        waiting = self.create_campaign("Later", agents=self.agent, phones=[ALLOWED])
        waiting.contact_ids.next_attempt_at = later.replace(tzinfo=None)
        Agent = self.env["outbound.agent"]
        away = Agent.create({"user_id": self.manager.id, "channel": "PJSIP/2099", "state": "paused"})
        unstaffed = self.create_campaign("Unstaffed", agents=away, phones=[BANNED])
        (waiting | unstaffed).action_run_now()
        self.run_dialer(lambda: waiting.dialing_status and unstaffed.dialing_status)
        self.assertEqual(
            (waiting.dialing_status, waiting.dialing_status_until),
            ("no_contact_due", later.replace(tzinfo=None)),
        )
        self.assertEqual(
            (unstaffed.dialing_status, unstaffed.dialing_status_until), ("no_agent_ready", False)
        )
        self.assertEqual(unstaffed.dial_ratio, 1.0)
        self.assertTrue(unstaffed.dialing_status_at)

    def test_a_status_written_keeps_the_campaigns_view_a_settings_change_builds_it_again(self):
        """The host rebuilds a running campaign's view when the campaign changed, whoever wrote
        it, but not for the dialing status it writes itself (every few calls)."""
        campaign = self.create_campaign("Kept", agents=self.agent, phones=[ALLOWED])
        campaign.action_run_now()
        self.env.flush_all()
        built = []
        dialer_view = type(campaign)._dialer_view

        def counting_dialer_view(record, *args, **kwargs):
            built.append(record.id)
            return dialer_view(record, *args, **kwargs)

        self.patch(type(campaign), "_dialer_view", counting_dialer_view)
        store = DialerStore(self.registry, self.server.id, "test@localhost:0")
        store.load_campaigns(TUESDAY_10AM)
        with store.env() as env:
            status = CampaignStatus(campaign.id, "no_agent_ready", dial_ratio=1.5)
            store.write_statuses(env, {campaign.id: (status, None)}, TUESDAY_10AM)
        store.load_campaigns(TUESDAY_10AM)
        self.assertEqual(built, [campaign.id])
        # Behind the ORM's back, as an administrator's SQL would: built again all the same.
        self.env.cr.execute(
            "UPDATE outbound_campaign SET caller_id_name = 'Renamed' WHERE id = %s", [campaign.id]
        )
        (view,) = store.load_campaigns(TUESDAY_10AM)
        self.assertEqual(built, [campaign.id, campaign.id])
        self.assertEqual(view.caller_id_name, "Renamed")

    def test_a_campaigns_status_changes_are_written_at_most_every_refresh(self):
        campaign = self.create_campaign("Flipping", agents=self.agent, phones=[ALLOWED])
        campaign.action_run_now()
        self.env.flush_all()
        store = DialerStore(self.registry, self.server.id, "test@localhost:0")
        runner = DialerRunner(store, clock=self.frozen_clock(), refresh=3600.0)

        def plan_says(reason):
            clock = time.monotonic()
            with store.env() as env:
                due = runner._statuses_due([campaign.id], clock)
                keys = runner._write_statuses(env, {cid: CampaignStatus(cid, reason) for cid in due})
            runner._statuses_stored(keys, clock, reviewed=bool(due))
            campaign.invalidate_recordset()
            return campaign.dialing_status

        self.assertEqual(plan_says(NO_AGENT_READY), NO_AGENT_READY)  # its first status: at once
        self.assertEqual(plan_says(DIALING), NO_AGENT_READY)  # a change within the refresh waits
        runner.refresh = 0.0
        self.assertEqual(plan_says(DIALING), DIALING)  # and is written at the next plan after it

    def test_a_campaign_without_a_ready_agent_is_read_only_when_its_status_may_be_written(self):
        """Its due contacts tell "no agent ready" from "no contact due", nothing else: at 50
        campaigns, looking them up at every turn was most of the due contacts' statement. A
        campaign with a ready agent is looked up at every turn. A refresh that changes no status
        counts all the same: the next is a refresh later."""
        away = self.env["outbound.agent"].create(
            {"user_id": self.manager.id, "channel": "PJSIP/2099", "state": "paused"}
        )
        unstaffed = self.create_campaign("Unstaffed", agents=away, phones=[ALLOWED])
        staffed = self.create_campaign("Staffed", agents=self.agent, phones=[BANNED])
        staffed.contact_ids.next_attempt_at = (TUESDAY_10AM + timedelta(hours=1)).replace(tzinfo=None)
        (unstaffed | staffed).action_run_now()
        self.env.flush_all()
        store = DialerStore(self.registry, self.server.id, "test@localhost:0")
        runner = DialerRunner(store, clock=self.frozen_clock(), refresh=3600.0)
        self.assertTrue(store.acquire_lease(30))
        runner._server, _link = store.load_server()
        runner._bucket = TokenBucket(runner._server.max_calls_per_second)
        looked_up = []
        due_contacts = DialerStore.due_contacts

        def recording_due_contacts(store, env, limits, now):
            looked_up.append(set(limits))
            return due_contacts(store, env, limits, now)

        self.patch(DialerStore, "due_contacts", recording_due_contacts)
        campaigns = store.load_campaigns(TUESDAY_10AM)

        def turn(clock):
            writable = runner._statuses_due((campaign.id for campaign in campaigns), clock)
            *_plan, statuses = runner._store_and_plan(
                PendingWrites().take(), campaigns, writable, False, TUESDAY_10AM, [], {}
            )
            runner._statuses_stored(statuses, clock, reviewed=len(writable) == len(campaigns))

        turn(10.0)  # the first statuses: at once
        turn(20.0)  # within the refresh
        turn(3700.0)  # the refresh is over: no status changes
        turn(3710.0)  # so the next refresh is an hour after that one
        turn(7300.0)
        both = {unstaffed.id, staffed.id}
        self.assertEqual(looked_up, [both, {staffed.id}, both, {staffed.id}, both])
        (unstaffed | staffed).invalidate_recordset()
        self.assertEqual(unstaffed.dialing_status, NO_AGENT_READY)
        self.assertEqual(staffed.dialing_status, "no_contact_due")

    def test_dialing_status_outside_the_window_says_when_it_opens(self):
        campaign = self.create_campaign(
            "Window",
            agents=self.agent,
            phones=[ALLOWED],
            use_time_window=True,
            time_start=9.0,
            time_end=18.0,
            tz="Europe/London",
        )
        campaign.action_run_now()
        early = datetime(2026, 3, 10, 7, 0, tzinfo=timezone.utc)
        self.run_dialer(lambda: campaign.dialing_status, clock=self.frozen_clock(early))
        self.assertEqual(campaign.dialing_status, "outside_hours")
        self.assertEqual(campaign.dialing_status_until, datetime(2026, 3, 10, 9, 0))

    def test_a_turn_notifies_the_managers_and_the_agents(self):
        campaign = self.create_campaign(
            "Live", agents=self.agent | self.other_agent, phones=[BANNED, ALLOWED]
        )
        campaign.action_run_now()
        self.env["bus.bus"].sudo().search([]).unlink()  # only what the dialer host sends
        self.run_dialer(lambda: self.settled(campaign) and campaign.dialing_status == "no_contact_due")
        self.assertFalse(campaign.dialing_status_until, "nothing left to call")
        managers = self.env.ref("outbound_campaign.group_outbound_manager")
        notices = self.bus_payloads("outbound_campaign/dashboard", managers)
        self.assertTrue(notices)
        self.assertTrue(all(campaign.id in notice["campaign_ids"] for notice in notices))
        self.assertIn(
            {"agent_id": self.agent.id, "state": "ringing"},
            self.bus_payloads("outbound_campaign/agent", self.agent.user_id.partner_id),
        )

    def test_a_call_ended_while_the_campaigns_reload_counts_in_the_pacing_after_it(self):
        """The reload runs beside the turns: an abandon it may not have read still counts."""
        campaign = self.create_campaign("Reloaded", agents=self.agent, phones=[ALLOWED])
        campaign.action_run_now()
        self.env.flush_all()
        store = DialerStore(self.registry, self.server.id, "test@localhost:0")
        runner = DialerRunner(store, clock=self.frozen_clock(), refresh=0.0)

        async def ended_while_reloading():
            runner._reload_campaigns_if_due()  # the first load, awaited
            runner._reload_campaigns_if_due()  # the next, on another thread (a task here)
            runner._count_ended(campaign.id, Outcome.ABANDONED)
            await asyncio.gather(*runner._tasks)
            return runner._load_campaigns()

        (view,) = asyncio.run(ended_while_reloading())
        self.assertEqual((view.stats.answered, view.stats.abandoned), (1, 1))
