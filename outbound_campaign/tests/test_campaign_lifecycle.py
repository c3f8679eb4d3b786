from datetime import date, timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import OutboundCampaignCase


@tagged("post_install", "-at_install")
class TestCampaignLifecycle(OutboundCampaignCase):
    def test_run_now_moves_draft_to_running(self):
        self.assertEqual(self.campaign.state, "draft")
        self.campaign.action_run_now()
        self.assertEqual(self.campaign.state, "running")

    def test_run_now_lists_everything_missing(self):
        empty = self.create_campaign("Empty", server=False)
        with self.assertRaises(UserError) as caught:
            empty.action_run_now()
        message = str(caught.exception)
        self.assertIn("at least one contact to be called", message)
        self.assertIn("at least one agent", message)
        self.assertIn("a dialer server", message)
        self.assertEqual(empty.state, "draft")

    def test_run_now_names_only_what_is_missing(self):
        no_agent = self.create_campaign("No agent", phones=("020 7946 0003",))
        with self.assertRaises(UserError) as caught:
            no_agent.action_run_now()
        message = str(caught.exception)
        self.assertIn("at least one agent", message)
        self.assertNotIn("contact", message)
        self.assertNotIn("dialer server", message)

    def test_contacts_all_called_do_not_count_as_to_call(self):
        self.campaign.contact_ids.write({"state": "done"})
        with self.assertRaisesRegex(UserError, "at least one contact to be called"):
            self.campaign.action_run_now()

    def test_run_now_refuses_past_end_date(self):
        self.campaign.write(
            {"date_start": date.today() - timedelta(days=10), "date_end": date.today() - timedelta(days=1)}
        )
        with self.assertRaisesRegex(UserError, "end date"):
            self.campaign.action_run_now()

    def test_pause_and_resume(self):
        self.campaign.action_run_now()
        self.campaign.action_pause()
        self.assertEqual(self.campaign.state, "paused")
        self.campaign.action_resume()
        self.assertEqual(self.campaign.state, "running")

    def test_pause_only_running(self):
        with self.assertRaises(UserError):
            self.campaign.action_pause()
        with self.assertRaises(UserError):
            self.campaign.action_resume()

    def test_resume_checks_what_run_now_checks(self):
        self.campaign.action_run_now()
        self.campaign.action_pause()
        self.campaign.agent_ids = False
        with self.assertRaisesRegex(UserError, "at least one agent"):
            self.campaign.action_resume()
        self.assertEqual(self.campaign.state, "paused")

    def test_done_by_hand_and_cannot_run_again(self):
        self.campaign.action_run_now()
        self.campaign.action_done()
        self.assertEqual(self.campaign.state, "done")
        with self.assertRaises(UserError):
            self.campaign.action_run_now()

    def test_cron_closes_campaign_with_nothing_left_to_call(self):
        self.campaign.action_run_now()
        still_running = self.create_campaign("Still calling", agents=self.agent, phones=("020 7946 0009",))
        still_running.action_run_now()
        self.campaign.contact_ids[0].state = "done"
        self.campaign.contact_ids[1].state = "in_progress"
        self.env["outbound.campaign"]._cron_close_finished_campaigns()
        self.assertEqual(self.campaign.state, "running", "a contact still in a call keeps the campaign alive")
        self.campaign.contact_ids[1].state = "failed"
        self.env["outbound.campaign"]._cron_close_finished_campaigns()
        self.assertEqual(self.campaign.state, "done")
        self.assertEqual(still_running.state, "running")

    def test_cron_closes_campaign_past_end_date(self):
        # The day as the campaign counts it, in the user's time zone: late in the evening UTC, the
        # system's date.today() is already yesterday in a zone east of it (the test user's).
        today = fields.Date.context_today(self.campaign)
        self.campaign.write({"date_start": today - timedelta(days=3), "date_end": today})
        self.campaign.action_run_now()
        self.campaign.action_pause()
        self.env["outbound.campaign"]._cron_close_finished_campaigns()
        self.assertEqual(self.campaign.state, "paused", "the end date is the last calling day")
        self.campaign.date_end = today - timedelta(days=1)
        self.env["outbound.campaign"]._cron_close_finished_campaigns()
        self.assertEqual(self.campaign.state, "done")

    def test_cron_leaves_drafts_alone(self):
        self.campaign.contact_ids.write({"state": "done"})
        self.env["outbound.campaign"]._cron_close_finished_campaigns()
        self.assertEqual(self.campaign.state, "draft")

    def test_dashboard_card_opens_the_campaign(self):
        action = self.campaign.action_open_campaign()
        self.assertEqual((action["res_model"], action["res_id"]), ("outbound.campaign", self.campaign.id))
