"""The agent's flow into the CRM in a real browser (headless Chromium): the call already ended,
awaiting its disposition, as the dialer leaves it."""

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.outbound_campaign.tests.agent_console_common import take_call


@tagged("post_install", "-at_install")
class TestCrmTours(HttpCase):
    def test_agent_records_interested_and_opens_the_opportunity_in_the_pipeline(self):
        user = new_test_user(
            self.env,
            login="oc_crm_tour_agent",
            name="Tour CRM Agent",
            groups="outbound_campaign.group_outbound_agent,sales_team.group_sale_salesman",
        )
        agent = self.env["outbound.agent"].create({"user_id": user.id, "channel": "PJSIP/2951"})
        team = self.env["crm.team"].create({"name": "Phone sales"})
        campaign = self.env["outbound.campaign"].create(
            {
                "name": "Tour gold plan",
                "caller_id_number": "+442079460999",
                "country_id": self.env.ref("base.uk").id,
                "crm_team_id": team.id,
                "agent_ids": [Command.link(agent.id)],
                "contact_ids": [
                    Command.create({"firstname": "Big", "lastname": "Ben", "phone": "+44 20 7946 0958"})
                ],
            }
        )
        contact = campaign.contact_ids
        take_call(self.env, agent, contact, wrap_up=600)
        self.start_tour(
            "/odoo/action-outbound_campaign.outbound_agent_console_action",
            "outbound_campaign_crm_agent_tour",
            login=user.login,
        )
        lead = contact.lead_id
        self.assertEqual(lead.type, "opportunity")
        self.assertEqual(lead.user_id, user)
        self.assertEqual(lead.team_id, team)
        self.assertEqual(lead.source_id, campaign.source_id)
        self.assertIn("Wants the gold plan", lead.description)
