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
        known = self.env["crm.lead"].create({"name": "Big Ben renewal", "type": "lead"})
        contact.lead_id = known
        take_call(self.env, agent, contact, wrap_up=600)
        self.start_tour(
            "/odoo/action-outbound_campaign.outbound_agent_console_action",
            "outbound_campaign_crm_agent_tour",
            login=user.login,
        )
        lead = contact.lead_id
        self.assertEqual(lead, known, "the lead shown in the console is the one updated")
        self.assertEqual(lead.type, "opportunity")
        self.assertEqual(lead.user_id, user)
        self.assertEqual(lead.team_id, team)
        self.assertEqual(lead.source_id, campaign.source_id)
        self.assertIn("Wants the gold plan", lead.description)

    def test_manager_builds_a_campaign_from_a_crm_filter_and_runs_it(self):
        manager = new_test_user(
            self.env,
            login="oc_crm_tour_manager",
            groups="outbound_campaign.group_outbound_manager,sales_team.group_sale_salesman",
        )
        user = new_test_user(self.env, login="oc_crm_tour_agent", name="Tour CRM Agent")
        self.env["outbound.agent"].create({"user_id": user.id, "channel": "PJSIP/2952"})
        self.env["outbound.dialer.server"].create(
            {
                "name": "Tour CRM PBX",
                "host": "127.0.0.1",
                "username": "dialer",
                "secret": "dialer-secret",
                "customer_dial_template": "PJSIP/{number}@trunk",
            }
        )
        new = self.env["crm.stage"].search([("name", "=", "New")], limit=1)
        later = self.env["crm.stage"].search([("name", "!=", "New")], limit=1)
        ada, bob, chloe = self.env["crm.lead"].create(
            [
                {
                    "name": "Tour Ada",
                    "contact_name": "Tour Ada",
                    "phone": "+442079460401",
                    "stage_id": new.id,
                },
                {
                    "name": "Tour Bob",
                    "contact_name": "Tour Bob",
                    "phone": "+442079460402",
                    "stage_id": new.id,
                },
                {
                    "name": "Tour Chloe",
                    "contact_name": "Tour Chloe",
                    "phone": "+442079460403",
                    "stage_id": later.id,
                },
            ]
        )
        bob.activity_schedule("mail.mail_activity_data_call", user_id=manager.id)
        self.start_tour(
            "/odoo/action-outbound_campaign.outbound_campaign_action?debug=1",
            "outbound_campaign_crm_manager_tour",
            login=manager.login,
        )
        campaign = self.env["outbound.campaign"].search([("name", "=", "Tour new leads")])
        self.assertEqual(campaign.state, "running")
        leads = campaign.contact_ids.lead_id
        self.assertIn(ada, leads)
        self.assertNotIn(bob, leads, "a lead with an activity is not enrolled")
        self.assertNotIn(chloe, leads, "a lead past stage New is not enrolled")
        for contact in campaign.contact_ids:
            self.assertEqual(contact.lead_id.id, contact.list_res_id, "each contact linked to its lead")
