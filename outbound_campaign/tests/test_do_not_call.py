from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .. import live
from .agent_console_common import AgentConsoleCase


@tagged("post_install", "-at_install")
class TestDoNotCall(AgentConsoleCase):
    def test_a_managers_entry_stops_the_contacts_still_to_call(self):
        pending, other = self.campaign.contact_ids.sorted("id")
        pending.state = "pending"
        entry = (
            self.env["outbound.do.not.call"].with_user(self.manager).create({"phone_e164": "020 7946 0001"})
        )
        self.assertEqual(entry.phone_e164, "+442079460001", "typed as people write it, stored in E.164")
        self.assertEqual((entry.company_id, entry.source), (self.company, "manual"))
        self.assertEqual(pending.state, "dnc")
        self.assertEqual(other.state, "pending")
        dashboard = self.bus_payloads(
            self.env.ref("outbound_campaign.group_outbound_manager"), live.DASHBOARD
        )
        self.assertIn({"campaign_ids": self.campaign.ids}, dashboard)

    def test_changing_the_number_stops_the_new_one(self):
        entry = self.env["outbound.do.not.call"].create({"phone_e164": "+442079460777"})
        other = self.campaign.contact_ids[1]
        entry.write({"phone_e164": "020 7946 0002"})
        self.assertEqual(entry.phone_e164, "+442079460002")
        self.assertEqual(other.state, "dnc")

    def test_an_unreadable_number_is_refused(self):
        with self.assertRaises(ValidationError):
            self.env["outbound.do.not.call"].create({"phone_e164": "call me maybe"})

    def test_agents_have_no_direct_access(self):
        entry = self.env["outbound.do.not.call"].create({"phone_e164": "+442079460777"})
        DoNotCall = self.env["outbound.do.not.call"].with_user(self.user_agent)
        with self.assertRaises(AccessError):
            DoNotCall.search([])
        with self.assertRaises(AccessError):
            entry.with_user(self.user_agent).read(["phone_e164"])
        with self.assertRaises(AccessError):
            DoNotCall.create({"phone_e164": "+442079460778"})
