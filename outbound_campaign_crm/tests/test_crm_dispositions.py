from datetime import datetime, timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.outbound_campaign.tests.agent_console_common import AgentConsoleCase


@tagged("post_install", "-at_install")
class TestCrmDispositions(AgentConsoleCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.console = cls.agent.with_user(cls.user_agent)
        cls.team = cls.env["crm.team"].create({"name": "Outbound sales"})
        cls.campaign.crm_team_id = cls.team
        cls.contact.write({"firstname": "Ada", "lastname": "Lovelace", "enterprise": "Engines Ltd"})
        ref = cls.env.ref
        cls.interested = ref("outbound_campaign.disposition_interested")
        cls.call_back = ref("outbound_campaign.disposition_call_back")
        cls.not_interested = ref("outbound_campaign.disposition_not_interested")
        cls.new_stage = cls.env["crm.stage"].search([("fold", "=", False)], order="sequence, id", limit=1)

    def dispose(self, disposition, note=None, callback_at=None):
        return self.console.record_disposition(self.call.id, disposition.id, note, callback_at)

    def test_interested_creates_an_opportunity_of_the_agent_in_the_campaign_team(self):
        self.assertEqual(self.interested.crm_action, "opportunity", "Interested: an opportunity by default")
        self.dispose(self.interested, note="Wants the <b>gold</b> plan")
        lead = self.contact.lead_id
        self.assertTrue(lead)
        self.assertEqual(lead.type, "opportunity")
        self.assertEqual(lead.team_id, self.team)
        self.assertEqual(lead.stage_id, self.new_stage)
        self.assertEqual(lead.user_id, self.user_agent)
        self.assertEqual(lead.source_id, self.campaign.source_id)
        self.assertEqual(lead.source_id.name, "Renewals")
        self.assertEqual(lead.contact_name, "Ada Lovelace")
        self.assertEqual(lead.partner_name, "Engines Ltd")
        self.assertEqual(lead.phone, self.contact.phone_e164)
        self.assertIn(
            "Wants the &lt;b&gt;gold&lt;/b&gt; plan", lead.description, "the note is text, not markup"
        )
        self.assertEqual(self.call.lead_id, lead)

    def test_the_disposition_stage_is_used(self):
        stage = self.env["crm.stage"].create({"name": "Hot from the phone", "sequence": 99})
        self.interested.crm_stage_id = stage
        self.dispose(self.interested)
        self.assertEqual(self.contact.lead_id.stage_id, stage)

    def test_interested_updates_the_contact_lead(self):
        other = self.env["res.users"].search([("login", "=", "admin")])
        lead = self.env["crm.lead"].create(
            {"name": "Known lead", "type": "lead", "user_id": other.id, "description": "<p>Met at a fair</p>"}
        )
        self.contact.lead_id = lead
        self.dispose(self.interested, note="Ready to sign")
        self.assertEqual(self.contact.lead_id, lead, "no new lead")
        self.assertEqual(
            self.env["crm.lead"].search_count([("source_id", "=", self.campaign.source_id.id)]), 1
        )
        self.assertEqual(lead.type, "opportunity")
        self.assertEqual(lead.user_id, self.user_agent)
        self.assertEqual(lead.team_id, self.team)
        self.assertEqual(lead.source_id, self.campaign.source_id)
        self.assertIn("Met at a fair", lead.description)
        self.assertIn("Ready to sign", lead.description)

    def test_call_back_schedules_an_activity_for_the_agent_on_the_lead(self):
        self.user_agent.tz = "Europe/Paris"
        lead = self.env["crm.lead"].create({"name": "Known lead", "type": "opportunity"})
        self.contact.lead_id = lead
        callback_at = fields.Datetime.now().replace(hour=12, minute=30, second=0) + timedelta(days=2)
        self.dispose(
            self.call_back, note="After the board meeting", callback_at=fields.Datetime.to_string(callback_at)
        )
        activity = lead.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.activity_type_id, self.env.ref("mail.mail_activity_data_call"))
        self.assertEqual(activity.user_id, self.user_agent)
        self.assertEqual(activity.date_deadline, callback_at.date())
        self.assertIn("13:30", activity.summary, "the call back time, in the agent's time zone")
        self.assertIn("After the board meeting", activity.note)

    def test_call_back_without_a_lead_creates_one(self):
        callback_at = datetime.now() + timedelta(days=1)
        self.dispose(self.call_back, callback_at=fields.Datetime.to_string(callback_at))
        lead = self.contact.lead_id
        self.assertEqual(lead.type, "lead")
        self.assertEqual(lead.source_id, self.campaign.source_id)
        self.assertEqual(lead.activity_ids.user_id, self.user_agent)

    def test_an_activity_needs_a_call_back_time(self):
        self.call_back.action = "none"
        with self.assertRaisesRegex(UserError, "Call back: choose a date"):
            self.dispose(self.call_back)
        self.assertFalse(self.call.disposition_id)

    def test_not_interested_marks_the_lead_lost_with_its_reason(self):
        lead = self.env["crm.lead"].create({"name": "Known lead", "type": "opportunity"})
        self.contact.lead_id = lead
        self.dispose(self.not_interested, note="Has a supplier")
        self.assertFalse(lead.active)
        self.assertEqual(lead.probability, 0)
        self.assertEqual(
            lead.lost_reason_id, self.env.ref("outbound_campaign_crm.lost_reason_not_interested")
        )
        self.assertIn("Has a supplier", lead.message_ids[0].body)

    def test_not_interested_without_a_lead_creates_none(self):
        self.dispose(self.not_interested)
        self.assertFalse(self.contact.lead_id)
        self.assertEqual(self.contact.disposition_id, self.not_interested)

    def test_interested_again_reopens_a_lost_lead(self):
        lead = self.env["crm.lead"].create({"name": "Known lead", "type": "opportunity"})
        lead.action_set_lost(
            lost_reason_id=self.env.ref("outbound_campaign_crm.lost_reason_not_interested").id
        )
        self.contact.lead_id = lead
        self.dispose(self.interested)
        self.assertTrue(lead.active)
        self.assertFalse(lead.lost_reason_id)

    def test_the_console_shows_the_lead(self):
        lead = self.env["crm.lead"].create({"name": "Known lead", "type": "opportunity"})
        self.contact.lead_id = lead
        data = self.console.get_console_data()
        self.assertEqual(data["call"]["contact"]["lead"]["id"], lead.id)
        self.assertEqual(data["call"]["contact"]["lead"]["name"], "Known lead")
