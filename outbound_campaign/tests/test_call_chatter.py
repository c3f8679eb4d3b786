"""A call a customer answered leaves one note on the partner's chatter, written by the dialer with
the result and completed by the disposition."""

from odoo.tests import tagged

from .dialer_common import DialerCase

LINKED, UNLINKED = "+442079460551", "+442079460552"


@tagged("post_install", "-at_install")
class TestCallChatter(DialerCase):
    def test_one_note_per_answered_call_on_the_partner(self):
        partner = self.env["res.partner"].create({"name": "Chatty Ann", "phone": LINKED})
        campaign = self.create_campaign("Chatter", agents=self.agent, phones=[LINKED, UNLINKED])
        linked = campaign.contact_ids.filtered(lambda c: c.phone_e164 == LINKED)
        linked.partner_id = partner
        campaign.action_run_now()
        self.run_dialer(lambda: self.settled(campaign))
        self.assertEqual(set(campaign.call_ids.mapped("outcome")), {"answered"})
        call = linked.call_ids
        notes = self.env["mail.message"].search(
            [("model", "=", "res.partner"), ("res_id", "=", partner.id), ("body", "ilike", "Outbound call")]
        )
        self.assertEqual(notes, call.partner_message_id)
        self.assertEqual(len(notes), 1)
        self.assertEqual((notes.message_type, notes.subtype_id), ("comment", self.env.ref("mail.mt_note")))
        self.assertEqual(notes.author_id, self.agent.user_id.partner_id)
        self.assertIn("Chatter", notes.body)
        self.assertIn("Answered", notes.body)
        self.assertIn(self.agent.name, notes.body)
        self.assertFalse(
            (campaign.call_ids - call).partner_message_id, "a contact of no partner leaves no note"
        )
        self.assertIn(notes, partner.message_ids)

        call.write(
            {
                "disposition_id": self.env.ref("outbound_campaign.disposition_interested").id,
                "note": "<b>Keen</b>",
            }
        )
        self.assertIn("Interested", notes.body)
        self.assertIn("&lt;b&gt;Keen&lt;/b&gt;", notes.body, "the agent's note is text, never markup")
