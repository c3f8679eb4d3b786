from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import OutboundCampaignCase


@tagged("post_install", "-at_install")
class TestBrowserPhone(OutboundCampaignCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.websocket_url = "wss://pbx.example.com:8089/ws"
        cls.agent.write({"phone_kind": "browser", "sip_login": "2001", "phone_server_id": cls.server.id})

    def test_a_browser_agent_is_rung_at_its_endpoint_with_a_secret_of_its_own(self):
        self.assertEqual(self.agent.channel, "PJSIP/2001")
        secret = self.agent.sudo().sip_secret
        self.assertGreaterEqual(len(secret), 24)
        self.agent.sip_login = "agent.smith"
        self.assertEqual(self.agent.channel, "PJSIP/agent.smith")
        self.assertEqual(self.agent.sudo().sip_secret, secret, "a new login keeps the secret")

    def test_the_sip_secret_is_for_system_administrators_only(self):
        for user in (self.user_agent, self.manager):
            with self.assertRaises(AccessError):
                self.agent.with_user(user).read(["sip_secret"])
        self.assertTrue(self.agent.with_user(self.admin).read(["sip_secret"])[0]["sip_secret"])

    def test_a_login_outside_the_rule_is_refused_with_a_clear_message(self):
        for login in ("a/b", "10 01", "x;y", "-1"):
            with self.assertRaises(ValidationError) as error, self.cr.savepoint():
                self.agent.sip_login = login
            self.assertIn("letters, digits and . _ -", str(error.exception))

    def test_a_browser_phone_needs_its_server(self):
        with self.assertRaises(ValidationError):
            self.other_agent.write({"phone_kind": "browser", "sip_login": "2002"})

    def test_an_own_phone_keeps_its_channel(self):
        self.assertEqual(self.other_agent.channel, "PJSIP/2002")
        self.other_agent.channel = "SIP/desk-7"
        self.assertEqual(self.other_agent.channel, "SIP/desk-7")

    def test_the_websocket_url_is_checked(self):
        for url in ("http://pbx/ws", "wss://pbx:8089/ws x", "wss://pb\nx/ws"):
            with self.assertRaises(ValidationError), self.cr.savepoint():
                self.server.websocket_url = url

    def test_the_export_gives_system_administrators_the_wizard_entries(self):
        action = self.server.with_user(self.admin).action_export_browser_phones()
        attachment = self.env["ir.attachment"].browse(int(action["url"].split("/")[3].split("?")[0]))
        text = attachment.raw.decode()
        self.assertIn("[2001](oc-webrtc-agent)\ninbound_auth/username = 2001\n", text)
        self.assertIn(f"inbound_auth/password = {self.agent.sudo().sip_secret}\n", text)
        self.assertNotIn("2002", text, "an agent with their own phone has no entry")
        with self.assertRaises(AccessError):
            self.server.with_user(self.manager).action_export_browser_phones()

    def test_the_export_says_when_there_is_nothing_to_export(self):
        self.agent.phone_kind = "own"
        with self.assertRaises(UserError):
            self.server.with_user(self.admin).action_export_browser_phones()


@tagged("post_install", "-at_install")
class TestBrowserPhoneConsole(OutboundCampaignCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.websocket_url = "wss://pbx.example.com:8089/ws"
        cls.agent.write({"phone_kind": "browser", "sip_login": "2001", "phone_server_id": cls.server.id})

    def test_the_agents_own_console_gets_their_credentials_to_register(self):
        Agent = self.env["outbound.agent"]
        phone = Agent.with_user(self.user_agent).get_browser_phone()
        self.assertEqual(
            phone,
            {
                "websocket_url": "wss://pbx.example.com:8089/ws",
                "domain": "pbx.example.com",
                "login": "2001",
                "secret": self.agent.sudo().sip_secret,
            },
        )
        self.assertFalse(Agent.with_user(self.user_other_agent).get_browser_phone(), "own phone: nothing")
        self.assertTrue(Agent.with_user(self.user_agent).get_console_data()["browser_phone"])

    def test_a_phone_that_cannot_take_calls_pauses_the_agent(self):
        Agent = self.env["outbound.agent"].with_user(self.user_agent)
        self.agent.with_user(self.user_agent).action_ready()
        self.assertTrue(Agent.action_phone_unavailable("microphone refused"))
        self.assertEqual(self.agent.state, "paused")
        self.assertEqual(
            self.agent.pause_reason_id, self.env.ref("outbound_campaign.pause_reason_phone_unavailable")
        )
        reasons = [reason["id"] for reason in Agent.get_console_data()["pause_reasons"]]
        self.assertNotIn(self.agent.pause_reason_id.id, reasons, "agents never choose it")

    def test_an_agent_on_a_call_stays_on_it(self):
        self.agent.sudo().state = "on_call"
        self.assertFalse(
            self.env["outbound.agent"].with_user(self.user_agent).action_phone_unavailable("lost")
        )
        self.assertEqual(self.agent.state, "on_call")


@tagged("post_install", "-at_install")
class TestSupervision(OutboundCampaignCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["outbound.agent"].create({"user_id": cls.manager.id, "channel": "PJSIP/boss"})
        contact = cls.campaign.contact_ids[0]
        cls.call = cls.env["outbound.call"].create(
            {
                "campaign_id": cls.campaign.id,
                "contact_id": contact.id,
                "agent_id": cls.agent.id,
                "state": "connected",
            }
        )

    def test_a_manager_listens_in_and_it_is_logged_on_the_call(self):
        self.call.with_user(self.manager).action_whisper()
        supervision = self.call.supervision_ids
        self.assertRecordValues(
            supervision,
            [
                {
                    "user_id": self.manager.id,
                    "mode": "whisper",
                    "supervisor_channel": "PJSIP/boss",
                    "agent_channel": "PJSIP/2001",
                    "state": "pending",
                }
            ],
        )
        self.assertTrue(supervision.create_date)

    def test_the_dialer_takes_each_supervision_once(self):
        from ..host.store import DialerStore

        self.call.with_user(self.manager).action_listen()
        store = DialerStore(self.env.registry, self.server.id, "test")
        taken = store.take_supervisions(self.env)
        self.assertEqual([row[1:] for row in taken], [("PJSIP/boss", "PJSIP/2001", "listen")])
        self.assertEqual(store.take_supervisions(self.env), [])
        self.call.supervision_ids.invalidate_recordset()
        self.assertEqual(self.call.supervision_ids.state, "sent")

    def test_agents_never_listen_in(self):
        for action in ("action_listen", "action_whisper", "action_barge"):
            with self.assertRaises(AccessError):
                getattr(self.call.with_user(self.user_agent), action)()
        with self.assertRaises(AccessError):
            self.env["outbound.call.supervision"].with_user(self.user_agent).search([])

    def test_only_a_call_in_progress_and_a_manager_with_a_phone(self):
        self.call.state = "ended"
        with self.assertRaises(UserError):
            self.call.with_user(self.manager).action_listen()
        self.call.state = "connected"
        with self.assertRaises(UserError):
            self.call.with_user(self.admin).action_listen()
