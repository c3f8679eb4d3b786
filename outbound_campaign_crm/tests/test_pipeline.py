from odoo.tests import tagged

from odoo.addons.outbound_campaign.tests.agent_console_common import AgentConsoleCase


@tagged("post_install", "-at_install")
class TestPipeline(AgentConsoleCase):
    def test_each_campaign_has_its_utm_source_renamed_with_it(self):
        source = self.campaign.source_id
        self.assertEqual(source.name, "Renewals")
        twin = self.create_campaign("Renewals")
        self.assertNotEqual(twin.source_id, source, "a source per campaign, even of the same name")
        self.campaign.name = "Spring renewals"
        self.assertEqual(source.name, "Spring renewals")
        copy = self.campaign.copy()
        self.assertTrue(copy.source_id)
        self.assertNotEqual(copy.source_id, source)

    def test_campaigns_made_before_the_addon_get_a_source_at_install(self):
        self.assertTrue(self.env.ref("outbound_campaign.demo_campaign_renewals").source_id)

    def test_the_campaign_counts_its_pipeline_in_one_query(self):
        other = self.create_campaign("Upsell")
        won_stage = self.env["crm.stage"].create({"name": "Signed", "is_won": True, "sequence": 100})
        Lead = self.env["crm.lead"]
        Lead.create(
            [
                {
                    "name": "A",
                    "type": "opportunity",
                    "source_id": self.campaign.source_id.id,
                    "expected_revenue": 100,
                },
                {
                    "name": "B",
                    "type": "opportunity",
                    "source_id": self.campaign.source_id.id,
                    "expected_revenue": 50,
                },
                {
                    "name": "C",
                    "type": "opportunity",
                    "source_id": self.campaign.source_id.id,
                    "expected_revenue": 1000,
                    "stage_id": won_stage.id,
                },
                {"name": "D", "type": "lead", "source_id": self.campaign.source_id.id, "expected_revenue": 7},
                {"name": "E", "type": "opportunity", "source_id": other.source_id.id, "expected_revenue": 20},
            ]
        )
        lost = Lead.create(
            {
                "name": "F",
                "type": "opportunity",
                "source_id": self.campaign.source_id.id,
                "expected_revenue": 9,
            }
        )
        lost.action_set_lost()
        campaigns = self.campaign | other
        self.env.flush_all()
        # The campaigns and stages already read, as on a list or form: the pipeline is one query.
        campaigns.mapped("source_id")
        self.env["crm.stage"].search([]).mapped("is_won")
        campaigns.invalidate_recordset(["opportunity_count", "opportunity_won_count", "expected_revenue"])
        with self.assertQueryCount(1):
            campaigns.mapped("opportunity_count")
        self.assertEqual(campaigns.mapped("opportunity_count"), [4, 1], "opportunities, lost one included")
        self.assertEqual(campaigns.mapped("opportunity_won_count"), [1, 0])
        self.assertEqual(
            campaigns.mapped("expected_revenue"), [1150, 20], "the lost one's revenue is not expected"
        )

    def test_leads_and_partners_count_their_outbound_calls_in_one_query(self):
        partner = self.env["res.partner"].create({"name": "Ada"})
        lead = self.env["crm.lead"].create({"name": "Known lead", "partner_id": partner.id})
        second = self.campaign.contact_ids[1]
        for contact in self.contact | second:
            contact.write({"lead_id": lead.id, "partner_id": partner.id})
        self.take_call(self.other_agent, second)
        other_lead = self.env["crm.lead"].create({"name": "Nobody called"})
        leads = lead | other_lead
        self.env.flush_all()
        leads.invalidate_recordset()
        with self.assertQueryCount(1):
            leads.mapped("outbound_call_count")
        self.assertEqual(leads.mapped("outbound_call_count"), [2, 0])
        partners = partner | self.env["res.partner"].create({"name": "Nobody called"})
        partners.invalidate_recordset()
        with self.assertQueryCount(1):
            partners.mapped("outbound_call_count")
        self.assertEqual(partners.mapped("outbound_call_count"), [2, 0])
        action = lead.action_view_outbound_calls()
        self.assertEqual(self.env["outbound.call"].search(action["domain"]), self.call | second.call_ids)
        action = partner.action_view_outbound_calls()
        self.assertEqual(len(self.env["outbound.call"].search(action["domain"])), 2)

    def test_the_campaign_opens_its_opportunities(self):
        lead = self.env["crm.lead"].create(
            {"name": "A", "type": "opportunity", "source_id": self.campaign.source_id.id}
        )
        action = self.campaign.action_view_opportunities()
        self.assertEqual(self.env["crm.lead"].search(action["domain"]), lead)
