from odoo.tests import tagged

from odoo.addons.outbound_campaign.tests.agent_console_common import AgentConsoleCase, take_call

# The manager tour's filter: leads in stage New without an activity.
NEW_WITHOUT_ACTIVITY = (
    "[('stage_id.name', '=', 'New'), ('activity_ids', '=', False), ('name', '=like', 'Live %')]"
)


@tagged("post_install", "-at_install")
class TestCrmLiveList(AgentConsoleCase):
    """A campaign from a CRM filter: its contacts are the leads', which their dispositions update."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Lead = cls.env["crm.lead"]
        new = cls.env["crm.stage"].search([("name", "=", "New")], limit=1)
        later = cls.env["crm.stage"].search([("name", "!=", "New")], limit=1)
        cls.ada, cls.bob, cls.chloe = Lead.create(
            [
                {"name": "Live Ada", "contact_name": "Ada", "phone": "+442079460301", "stage_id": new.id},
                {"name": "Live Bob", "contact_name": "Bob", "phone": "+442079460302", "stage_id": new.id},
                {
                    "name": "Live Chloe",
                    "contact_name": "Chloe",
                    "phone": "+442079460303",
                    "stage_id": later.id,
                },
            ]
        )
        cls.bob.activity_schedule("mail.mail_activity_data_call", user_id=cls.user_agent.id)
        cls.listed = cls.create_campaign(
            "New leads", agents=cls.agent, list_model="crm.lead", list_domain=NEW_WITHOUT_ACTIVITY
        )

    def test_contacts_enrolled_from_leads_are_linked_to_them(self):
        self.listed._refresh_list()
        contact = self.listed.contact_ids
        self.assertEqual(
            contact.mapped("lead_id"), self.ada, "only the lead in stage New without an activity"
        )
        self.assertEqual(contact.list_res_id, self.ada.id)

    def test_the_disposition_updates_the_enrolled_lead(self):
        self.listed._refresh_list()
        contact = self.listed.contact_ids
        call = take_call(self.env, self.other_agent, contact)
        self.listed.agent_ids |= self.other_agent
        self.other_agent.with_user(self.user_other_agent).record_disposition(
            call.id, self.env.ref("outbound_campaign.disposition_interested").id, "Wants a demo", None
        )
        self.assertEqual(contact.lead_id, self.ada, "the lead itself, no new one")
        self.assertEqual(self.ada.type, "opportunity")
        self.assertEqual(self.ada.user_id, self.user_other_agent)
        self.assertIn("Wants a demo", self.ada.description)
