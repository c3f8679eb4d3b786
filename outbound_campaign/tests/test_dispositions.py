from datetime import date, datetime, timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .agent_console_common import AgentConsoleCase


@tagged("post_install", "-at_install")
class TestDispositions(AgentConsoleCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.console = cls.agent.with_user(cls.user_agent)
        ref = cls.env.ref
        cls.interested = ref("outbound_campaign.disposition_interested")
        cls.call_back = ref("outbound_campaign.disposition_call_back")
        cls.wrong_number = ref("outbound_campaign.disposition_wrong_number")
        cls.do_not_call = ref("outbound_campaign.disposition_do_not_call")

    def dispose(self, disposition, note=None, callback_at=None, call=None):
        return self.console.record_disposition((call or self.call).id, disposition.id, note, callback_at)

    def test_record_only(self):
        self.dispose(self.interested, note="Wants the brochure")
        self.assertEqual(self.call.disposition_id, self.interested)
        self.assertTrue(self.call.disposition_at)
        self.assertEqual(self.call.note, "Wants the brochure")
        self.assertEqual(self.contact.disposition_id, self.interested)
        self.assertEqual(self.contact.state, "done", "recording only changes nothing of the contact")

    def test_wrap_up_ends_with_the_disposition(self):
        self.dispose(self.interested)
        self.assertEqual(self.agent.state, "ready")
        self.assertFalse(self.agent.wrap_up_until)
        self.assertNotified(self.agent, self.campaign)

    def test_a_paused_agent_stays_paused(self):
        self.agent.write(
            {"state": "paused", "pause_reason_id": self.env.ref("outbound_campaign.pause_reason_break").id}
        )
        self.dispose(self.interested)
        self.assertEqual(self.agent.state, "paused")

    def test_call_back_reschedules_to_the_same_agent_with_an_activity(self):
        self.user_agent.tz = "Pacific/Auckland"
        # 20:00 UTC on 15 January is 09:00 on 16 January in Auckland (UTC+13 in summer).
        callback_at = datetime(2030, 1, 15, 20, 0)
        self.dispose(
            self.call_back, note="After the board meeting", callback_at=fields.Datetime.to_string(callback_at)
        )
        self.assertEqual(self.call.disposition_id, self.call_back)
        self.assertEqual(self.contact.state, "pending")
        self.assertEqual(self.contact.next_attempt_at, callback_at)
        self.assertEqual(self.contact.assigned_agent_id, self.agent)
        activity = self.contact.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.activity_type_id, self.env.ref("mail.mail_activity_data_call"))
        self.assertEqual(activity.user_id, self.user_agent)
        self.assertEqual(activity.date_deadline, date(2030, 1, 16))
        self.assertEqual(activity.summary, "Call back at 09:00")
        on_agenda = (
            self.env["mail.activity"]
            .with_user(self.user_agent)
            .search([("user_id", "=", self.user_agent.id)])
        )
        self.assertIn(activity, on_agenda)

    def test_call_back_needs_a_date_in_the_future(self):
        past = fields.Datetime.to_string(fields.Datetime.now() - timedelta(minutes=1))
        for callback_at in (None, past):
            with self.subTest(callback_at=callback_at), self.assertRaisesRegex(UserError, "in the future"):
                self.dispose(self.call_back, callback_at=callback_at)
        self.assertFalse(self.call.disposition_id)
        self.assertEqual(self.contact.state, "done")

    def test_wrong_number_fails_the_contact(self):
        self.dispose(self.wrong_number)
        self.assertEqual(self.contact.state, "failed")

    def test_do_not_call_lists_the_number_and_stops_every_campaign_of_the_company(self):
        other_campaign = self.create_campaign(
            "Other team", agents=self.other_agent, phones=("+44 20 7946 0001", "020 7946 0003")
        )
        same_number, other_number = other_campaign.contact_ids
        done_elsewhere = self.create_campaign("Last year", phones=("020 7946 0001",)).contact_ids
        done_elsewhere.state = "done"
        company_b = self.env["res.company"].create(
            {"name": "Company B", "country_id": self.env.ref("base.uk").id}
        )
        foreign = self.create_campaign(
            "B campaign", company_id=company_b.id, phones=("020 7946 0001",)
        ).contact_ids

        self.dispose(self.do_not_call, note="Asked firmly")

        entry = self.env["outbound.do.not.call"].search([("phone_e164", "=", "+442079460001")])
        self.assertEqual(len(entry), 1)
        self.assertEqual(
            (entry.company_id, entry.source, entry.contact_id), (self.company, "agent", self.contact)
        )
        self.assertEqual(self.contact.state, "dnc")
        self.assertEqual(same_number.state, "dnc")
        self.assertEqual(other_number.state, "pending")
        self.assertEqual(done_elsewhere.state, "done", "only contacts still to call change")
        self.assertEqual(self.env["phone.blacklist"].search([("number", "=", "+442079460001")]).active, True)
        self.assertEqual(foreign.state, "dnc", "Odoo's phone blacklist is every company's")
        self.assertNotified(self.agent, self.campaign | other_campaign)

    def test_do_not_call_twice_keeps_one_entry(self):
        self.env["outbound.do.not.call"].create({"phone_e164": "+442079460001", "source": "manual"})
        self.dispose(self.do_not_call)
        entries = self.env["outbound.do.not.call"].search([("phone_e164", "=", "+442079460001")])
        self.assertEqual(entries.source, "manual")
        self.assertEqual(self.contact.state, "dnc")

    def test_refused_on_someone_elses_call(self):
        other_contact = self.create_campaign(
            "Other team", agents=self.other_agent, phones=("020 7946 0101",)
        ).contact_ids
        other_call = self.take_call(self.other_agent, other_contact)
        with self.assertRaises(AccessError):
            self.dispose(self.interested, call=other_call)
        with self.assertRaises(AccessError):
            self.other_agent.with_user(self.user_agent).record_disposition(other_call.id, self.interested.id)
        self.assertFalse(other_call.disposition_id)

    def test_refused_on_an_older_call(self):
        older = self.call
        self.call.agent_id.state = "ready"
        newer = self.take_call(self.agent, self.campaign.contact_ids[1])
        self.dispose(self.interested, call=newer)
        with self.assertRaises(AccessError):
            self.dispose(self.interested, call=older)

    def test_only_the_campaigns_dispositions(self):
        self.campaign.disposition_ids = [Command.set(self.interested.ids)]
        with self.assertRaises(UserError):
            self.dispose(self.wrong_number)
        self.assertEqual(self.contact.state, "done")

    def test_not_before_the_call_ends_nor_twice(self):
        self.call.state = "connected"
        with self.assertRaises(UserError):
            self.dispose(self.interested)
        self.call.state = "ended"
        self.dispose(self.interested)
        with self.assertRaises(UserError):
            self.dispose(self.wrong_number)
        self.assertEqual(self.contact.state, "done")
