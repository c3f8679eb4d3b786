from odoo.exceptions import AccessError
from odoo.tests import tagged

from odoo.addons.outbound_campaign.tests.agent_console_common import AgentConsoleCase


@tagged("post_install", "-at_install")
class TestCrmSecurity(AgentConsoleCase):
    """An agent who is no salesman reaches the leads of the contacts they called, and no other."""

    def test_an_agent_reads_and_writes_the_leads_of_their_calls_only(self):
        Lead = self.env["crm.lead"]
        called = Lead.create({"name": "Called", "type": "opportunity"})
        other = Lead.create({"name": "Not called", "type": "opportunity"})
        self.contact.lead_id = called
        self.campaign.contact_ids[1].lead_id = other  # a contact the agent never called
        as_agent = Lead.with_user(self.user_agent)
        self.assertEqual(as_agent.search([("id", "in", (called | other).ids)]), called)
        as_agent.browse(called.id).write({"expected_revenue": 500})
        self.assertEqual(called.expected_revenue, 500)
        with self.assertRaises(AccessError):
            as_agent.browse(other.id).write({"expected_revenue": 1})
        with self.assertRaises(AccessError):
            as_agent.create({"name": "Mine"})
        self.assertEqual(
            self.env["outbound.campaign"]
            .with_user(self.user_agent)
            .browse(self.campaign.id)
            .opportunity_count,
            0,
        )

    def test_a_plain_user_sees_no_outbound_call_count(self):
        partner = self.env["res.partner"].create({"name": "Someone"}).with_user(self.user_plain)
        self.assertEqual(partner.read(["name"])[0]["name"], "Someone")
        self.assertNotIn("outbound_call_count", partner.fields_get())
        form = partner.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn("action_view_outbound_calls", form)
