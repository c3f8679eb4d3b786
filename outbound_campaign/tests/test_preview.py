from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .agent_console_common import AgentConsoleCase


@tagged("post_install", "-at_install")
class TestPreview(AgentConsoleCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.preview_campaign = cls.create_campaign(
            "Preview",
            agents=cls.agent | cls.other_agent,
            phones=("020 7946 0201", "020 7946 0202", "020 7946 0203"),
            preview=True,
        )
        cls.preview_campaign.action_run_now()
        cls.first, cls.second, cls.third = cls.preview_campaign.contact_ids.sorted("id")
        cls.agent.write({"state": "ready", "current_call_id": False, "wrap_up_until": False})
        cls.other_agent.write({"state": "ready"})
        cls.console = cls.agent.with_user(cls.user_agent)
        cls.other_console = cls.other_agent.with_user(cls.user_other_agent)

    def test_preview_only_for_agent_first_campaigns(self):
        with self.assertRaises(ValidationError):
            self.preview_campaign.campaign_type = "client_first"

    def test_ready_shows_the_next_due_contact(self):
        self.first.next_attempt_at = fields.Datetime.now() + timedelta(hours=1)
        self.console.action_ready()
        self.assertEqual(self.agent.preview_contact_id, self.second, "the first is not due yet")
        data = self.env["outbound.agent"].with_user(self.user_agent).get_console_data()
        self.assertEqual(data["preview"]["id"], self.second.id)
        self.assertEqual(data["preview"]["campaign"], "Preview")
        self.assertTrue(data["has_preview_campaigns"])

    def test_two_agents_never_preview_the_same_contact(self):
        self.console.preview_next()
        self.other_console.preview_next()
        self.assertEqual(self.agent.preview_contact_id, self.first)
        self.assertEqual(self.other_agent.preview_contact_id, self.second)
        self.console.preview_call()
        self.console.preview_next()
        self.assertEqual(
            self.agent.preview_contact_id, self.third, "a contact reserved to call is not shown again"
        )
        self.other_console.preview_skip()
        self.assertFalse(self.other_agent.preview_contact_id, "nothing else is due")

    def test_call_reserves_the_contact_for_the_agent_now(self):
        self.console.preview_next()
        before = fields.Datetime.now()
        self.console.preview_call()
        self.assertEqual(self.first.assigned_agent_id, self.agent)
        self.assertGreaterEqual(self.first.next_attempt_at, before - timedelta(seconds=1))
        self.assertLessEqual(self.first.next_attempt_at, fields.Datetime.now())
        self.assertEqual(self.first.state, "pending")
        self.assertFalse(self.agent.preview_contact_id)
        self.assertNotified(self.agent, self.preview_campaign)

    def test_skip_pushes_the_contact_back_without_charging_an_attempt(self):
        self.preview_campaign.retry_delay_no_answer = 45
        self.console.preview_next()
        self.console.preview_skip()
        self.assertEqual(self.first.attempt_count, 0)
        self.assertFalse(self.first.assigned_agent_id)
        expected = fields.Datetime.now() + timedelta(minutes=45)
        self.assertAlmostEqual(self.first.next_attempt_at, expected, delta=timedelta(seconds=5))
        self.assertEqual(self.agent.preview_contact_id, self.second, "the next one is shown")

    def test_nothing_to_preview_outside_running_preview_campaigns(self):
        self.preview_campaign.action_pause()
        self.console.preview_next()
        self.assertFalse(self.agent.preview_contact_id)
        self.preview_campaign.action_resume()
        self.agent.state = "paused"
        self.console.preview_next()
        self.assertFalse(self.agent.preview_contact_id, "only a ready agent previews")

    def test_pausing_releases_the_preview(self):
        self.console.preview_next()
        self.console.action_pause(self.env.ref("outbound_campaign.pause_reason_break").id)
        self.assertFalse(self.agent.preview_contact_id)
        self.other_console.preview_next()
        self.assertEqual(self.other_agent.preview_contact_id, self.first)

    def test_call_or_skip_needs_a_previewed_contact(self):
        with self.assertRaises(UserError):
            self.console.preview_call()
        with self.assertRaises(UserError):
            self.console.preview_skip()

    def test_an_agent_not_of_the_campaign_previews_nothing(self):
        self.preview_campaign.agent_ids = [Command.unlink(self.other_agent.id)]
        self.other_console.preview_next()
        self.assertFalse(self.other_agent.preview_contact_id)
