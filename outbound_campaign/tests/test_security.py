from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import OutboundCampaignCase


@tagged("post_install", "-at_install")
class TestSecurity(OutboundCampaignCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_campaign = cls.create_campaign(
            "Other team", agents=cls.other_agent, phones=("020 7946 0101",)
        )
        Call = cls.env["outbound.call"]
        cls.call = Call.create(
            {
                "campaign_id": cls.campaign.id,
                "contact_id": cls.campaign.contact_ids[0].id,
                "agent_id": cls.agent.id,
            }
        )
        # A call of the agent's own campaign, taken by someone else.
        cls.colleague_call = Call.create(
            {
                "campaign_id": cls.campaign.id,
                "contact_id": cls.campaign.contact_ids[1].id,
                "agent_id": cls.other_agent.id,
            }
        )
        cls.other_call = Call.create(
            {"campaign_id": cls.other_campaign.id, "contact_id": cls.other_campaign.contact_ids.id}
        )
        cls.company_b = cls.env["res.company"].create(
            {"name": "Company B", "country_id": cls.env.ref("base.fr").id}
        )
        cls.manager_b = cls.env["res.users"].create(
            {
                "name": "Manager B",
                "login": "oc_manager_b",
                "company_id": cls.company_b.id,
                "company_ids": [Command.set(cls.company_b.ids)],
                "groups_id": [Command.set(cls.env.ref("outbound_campaign.group_outbound_manager").ids)],
            }
        )

    # Agents
    def test_agent_reads_only_their_campaigns(self):
        campaigns = self.env["outbound.campaign"].with_user(self.user_agent).search([])
        self.assertEqual(campaigns, self.campaign)
        with self.assertRaises(AccessError):
            self.other_campaign.with_user(self.user_agent).read(["name"])

    def test_agent_reads_their_campaigns_contacts_and_their_own_calls(self):
        contacts = self.env["outbound.contact"].with_user(self.user_agent).search([])
        self.assertEqual(contacts, self.campaign.contact_ids)
        calls = self.env["outbound.call"].with_user(self.user_agent).search([])
        self.assertEqual(calls, self.call, "not the calls a colleague took, even in the agent's campaign")
        with self.assertRaises(AccessError):
            self.other_campaign.contact_ids.with_user(self.user_agent).read(["phone"])
        for call in (self.other_call, self.colleague_call):
            with self.subTest(call=call.id), self.assertRaises(AccessError):
                call.with_user(self.user_agent).read(["outcome"])

    def test_agent_acts_only_on_their_own_console(self):
        reason = self.env.ref("outbound_campaign.pause_reason_break")
        self.agent.with_user(self.user_agent).action_pause(reason.id)
        self.assertEqual(self.agent.state, "paused")
        with self.assertRaises(AccessError):
            self.other_agent.with_user(self.user_agent).action_pause(reason.id)
        with self.assertRaises(AccessError):
            self.agent.with_user(self.user_agent).write({"state": "ready"})
        data = self.env["outbound.agent"].with_user(self.user_other_agent).get_console_data()
        self.assertEqual(data["agent_id"], self.other_agent.id)

    def test_do_not_call_list_is_for_managers(self):
        entry = (
            self.env["outbound.do.not.call"].with_user(self.manager).create({"phone_e164": "+442079460555"})
        )
        entry.with_user(self.manager).write({"reason": "Asked by letter"})
        with self.assertRaises(AccessError):
            self.env["outbound.do.not.call"].with_user(self.user_agent).search([])
        with self.assertRaises(AccessError):
            entry.with_user(self.manager_b).read(["phone_e164"])
        entry.with_user(self.manager).unlink()

    def test_configuration_menus_are_for_managers_and_the_console_for_agents(self):
        def visible(user):
            # The menus the web client shows: reachable from the root through visible parents.
            return set(self.env["ir.ui.menu"].with_user(user).load_menus(debug=False)) - {"root"}

        console = self.env.ref("outbound_campaign.outbound_campaign_menu_agent_console")
        configuration = [
            self.env.ref(f"outbound_campaign.outbound_campaign_menu_{name}")
            for name in ("pause_reason", "disposition", "do_not_call")
        ]
        self.assertIn(console.id, visible(self.user_agent))
        for menu in configuration:
            with self.subTest(menu=menu.name):
                self.assertNotIn(menu.id, visible(self.user_agent))
                self.assertIn(menu.id, visible(self.manager))
        self.assertNotIn(console.id, visible(self.user_plain))

    def test_agents_read_but_do_not_edit_pause_reasons_and_dispositions(self):
        for model in ("outbound.pause.reason", "outbound.disposition"):
            with self.subTest(model=model):
                records = self.env[model].with_user(self.user_agent).search([])
                self.assertTrue(records)
                with self.assertRaises(AccessError):
                    records[0].write({"name": "Mine"})
                self.env[model].with_user(self.manager).create({"name": "By manager"})

    def test_agent_edits_no_campaign_configuration(self):
        campaign = self.campaign.with_user(self.user_agent)
        with self.assertRaises(AccessError):
            campaign.write({"name": "Hijacked"})
        with self.assertRaises(AccessError):
            campaign.contact_ids[0].write({"phone": "020 7946 0999"})
        with self.assertRaises(AccessError):
            self.env["outbound.campaign"].with_user(self.user_agent).create({"name": "Mine"})
        with self.assertRaises(AccessError):
            campaign.unlink()
        with self.assertRaises(AccessError):
            self.server.with_user(self.user_agent).write({"max_channels": 500})

    def test_agent_cannot_run_a_campaign(self):
        with self.assertRaises(AccessError):
            self.campaign.with_user(self.user_agent).action_run_now()

    def test_user_without_group_sees_nothing(self):
        for model in (
            "outbound.campaign",
            "outbound.contact",
            "outbound.call",
            "outbound.agent",
            "outbound.do.not.call",
        ):
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(self.user_plain).search([])

    # Managers
    def test_manager_has_full_access_in_their_company(self):
        Campaign = self.env["outbound.campaign"].with_user(self.manager)
        self.assertEqual(
            Campaign.search([]) & (self.campaign | self.other_campaign), self.campaign | self.other_campaign
        )
        campaign = Campaign.create(
            {
                "name": "By manager",
                "caller_id_number": "+442079460999",
                "contact_ids": [Command.create({"phone": "020 7946 0102"})],
            }
        )
        campaign.write({"agent_ids": [Command.link(self.agent.id)], "dialer_server_id": self.server.id})
        campaign.action_run_now()
        self.assertEqual(campaign.state, "running")
        self.other_call.with_user(self.manager).read(["outcome"])
        campaign.contact_ids.unlink()
        self.env["outbound.agent"].with_user(self.manager).create(
            {"user_id": self.user_plain.id, "channel": "PJSIP/2003"}
        )

    def test_manager_of_another_company_sees_nothing_of_ours(self):
        for record in (self.campaign, self.campaign.contact_ids[0], self.call, self.agent):
            with self.subTest(model=record._name), self.assertRaises(AccessError):
                record.with_user(self.manager_b).read(["display_name"])
        self.assertFalse(self.env["outbound.campaign"].with_user(self.manager_b).search([]))
        own = self.env["outbound.campaign"].with_user(self.manager_b).create({"name": "B campaign"})
        self.assertEqual(own.company_id, self.company_b)

    def test_server_without_company_is_shared(self):
        self.server.company_id = False
        self.server.with_user(self.manager_b).read(["name"])

    # The AMI secret
    def test_secret_readable_by_system_administrators_only(self):
        self.assertEqual(self.server.with_user(self.admin).secret, "s3cret")
        for user in (self.manager, self.user_agent):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.server.with_user(user).read(["secret"])
            self.assertNotIn("secret", self.server.with_user(user).fields_get())

    def test_manager_cannot_write_the_secret(self):
        with self.assertRaises(AccessError):
            self.server.with_user(self.manager).write({"secret": "mine"})

    def test_defect_h_manager_cannot_redirect_the_secret(self):
        """Host, port and user decide where the dialer sends the AMI secret: system administrators
        only. Managers still read them and change the rest."""
        as_manager = self.server.with_user(self.manager)
        for values in ({"host": "attacker.example.net"}, {"port": 5039}, {"username": "other"}):
            with self.subTest(values=values), self.assertRaises(AccessError):
                as_manager.write(values)
        self.assertEqual(as_manager.read(["host", "port", "username"])[0]["host"], self.server.host)
        as_manager.write({"host": self.server.host, "max_channels": 12})  # unchanged host: allowed
        self.assertEqual(self.server.max_channels, 12)
        self.server.with_user(self.admin).write(
            {"host": "pbx.example.net", "port": 5039, "username": "dialer2"}
        )
        self.assertEqual(self.server.host, "pbx.example.net")
