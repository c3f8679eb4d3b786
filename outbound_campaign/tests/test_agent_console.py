from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .agent_console_common import AgentConsoleCase


@tagged("post_install", "-at_install")
class TestAgentConsole(AgentConsoleCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.contact.write(
            {
                "firstname": "Ben",
                "lastname": "Big",
                "enterprise": "The Tower",
                "address": "Westminster, London SW1A 0AA, UK",
                "extra_data": {"Account": "A-1001", "Plan": "Gold"},
            }
        )
        # An earlier attempt by another agent, which the agent's own record rules hide.
        cls.earlier = cls.env["outbound.call"].create(
            {
                "campaign_id": cls.campaign.id,
                "contact_id": cls.contact.id,
                "agent_id": cls.other_agent.id,
                "state": "ended",
                "outcome": "no_answer",
                "start_at": fields.Datetime.to_datetime("2024-03-01 10:00:00"),
                "note": "Rang out",
            }
        )
        cls.contact.with_user(cls.manager).message_post(
            body="Prefers mornings", message_type="comment", subtype_xmlid="mail.mt_note"
        )
        cls.console = cls.agent.with_user(cls.user_agent)
        cls.break_reason = cls.env.ref("outbound_campaign.pause_reason_break")
        cls.no_answer = cls.env.ref("outbound_campaign.pause_reason_no_answer")

    def console_data(self):
        return self.env["outbound.agent"].with_user(self.user_agent).get_console_data()

    def test_pop_shows_the_contact_everything_imported_attempts_and_notes(self):
        data = self.console_data()
        self.assertEqual(data["agent_id"], self.agent.id)
        self.assertEqual(data["state"], "wrap_up")
        self.assertTrue(25 <= data["wrap_up_seconds_left"] <= 30, data["wrap_up_seconds_left"])
        call = data["call"]
        self.assertEqual(call["id"], self.call.id)
        self.assertTrue(call["ended"])
        self.assertEqual(call["campaign"], {"id": self.campaign.id, "name": "Renewals"})
        contact = call["contact"]
        self.assertEqual(contact["name"], "Ben Big")
        values = {field["name"]: field["value"] for field in contact["fields"]}
        self.assertEqual(
            values,
            {
                "firstname": "Ben",
                "lastname": "Big",
                "enterprise": "The Tower",
                "phone": "020 7946 0001",
                "phone_e164": "+442079460001",
                "address": "Westminster, London SW1A 0AA, UK",
            },
        )
        self.assertCountEqual(contact["extra_data"], [["Account", "A-1001"], ["Plan", "Gold"]])
        self.assertEqual(len(contact["attempts"]), 1, "the call on the line is not an earlier attempt")
        attempt = contact["attempts"][0]
        self.assertEqual(
            (attempt["id"], attempt["outcome"], attempt["agent"], attempt["note"]),
            (self.earlier.id, "No answer", self.other_agent.name, "Rang out"),
        )
        self.assertEqual([note["body"] for note in contact["notes"]], ["<p>Prefers mornings</p>"])
        self.assertEqual(
            [d["name"] for d in call["dispositions"]],
            ["Interested", "Not interested", "Call back", "Wrong number", "Do not call"],
        )

    def test_the_contact_pops_as_soon_as_the_agent_is_rung(self):
        ringing = self.env["outbound.call"].create(
            {
                "campaign_id": self.campaign.id,
                "contact_id": self.campaign.contact_ids[1].id,
                "agent_id": self.agent.id,
                "state": "ringing",
            }
        )
        self.agent.write({"state": "ringing", "current_call_id": ringing.id, "wrap_up_until": False})
        call = self.console_data()["call"]
        self.assertEqual((call["id"], call["ended"]), (ringing.id, False))
        self.assertEqual(call["contact"]["id"], self.campaign.contact_ids[1].id)
        self.assertEqual(
            [attempt["id"] for attempt in call["contact"]["attempts"]], [], "no earlier attempt for this one"
        )

    def test_pause_reasons_offered_exclude_the_dialers_own(self):
        reasons = [reason["id"] for reason in self.console_data()["pause_reasons"]]
        self.assertIn(self.break_reason.id, reasons)
        self.assertNotIn(self.no_answer.id, reasons)

    def test_no_call_shown_once_disposed_and_ready(self):
        self.call.disposition_id = self.env.ref("outbound_campaign.disposition_interested")
        self.agent.write({"state": "ready"})
        self.assertFalse(self.console_data()["call"])

    def test_a_user_who_is_no_agent_gets_an_empty_console(self):
        self.assertEqual(
            self.env["outbound.agent"].with_user(self.manager).get_console_data(), {"agent_id": False}
        )

    def test_ready_ends_the_pause_and_notifies(self):
        self.agent.write({"state": "paused", "pause_reason_id": self.no_answer.id, "missed_call_count": 2})
        self.console.action_ready()
        self.assertEqual(self.agent.state, "ready")
        self.assertFalse(self.agent.pause_reason_id)
        self.assertEqual(self.agent.missed_call_count, 0)
        self.assertNotified(self.agent, self.campaign)

    def test_pause_with_a_reason(self):
        self.console.action_pause(self.break_reason.id)
        self.assertEqual(self.agent.state, "paused")
        self.assertEqual(self.agent.pause_reason_id, self.break_reason)
        self.assertFalse(self.agent.wrap_up_until)
        self.assertNotified(self.agent, self.campaign)

    def test_pause_refuses_the_dialers_reason_and_unknown_ids(self):
        for reason_id in (self.no_answer.id, 999999):
            with self.subTest(reason_id=reason_id), self.assertRaises(UserError):
                self.console.action_pause(reason_id)
        self.assertEqual(self.agent.state, "wrap_up")

    def test_no_pause_or_ready_while_on_a_call(self):
        self.agent.write({"state": "on_call"})
        with self.assertRaises(UserError):
            self.console.action_pause(self.break_reason.id)
        with self.assertRaises(UserError):
            self.console.action_ready()
        self.assertEqual(self.agent.state, "on_call")

    def test_an_agent_cannot_drive_another_agents_console(self):
        other = self.other_agent.with_user(self.user_agent)
        with self.assertRaises(AccessError):
            other.action_ready()
        with self.assertRaises(AccessError):
            other.action_pause(self.break_reason.id)
        with self.assertRaises(AccessError):
            other.preview_next()
        self.assertEqual(self.other_agent.state, "offline")

    def test_agents_cannot_write_their_record_directly(self):
        with self.assertRaises(AccessError):
            self.console.write({"state": "ready"})
