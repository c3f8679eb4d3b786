"""The main flows in a real browser (headless Chromium), with the PBX simulator answering and a
dialer host dialling behind the web client, as in production."""

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from pbxsim import Scenario

from .browser_dialer import bus_delivered, dialer_running
from .dialer_common import TUESDAY_10AM, wall_clock_from


@tagged("post_install", "-at_install")
class TestTours(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(
            cls.env,
            login="oc_tour_manager",
            groups="base.group_user,outbound_campaign.group_outbound_manager",
            tz="Europe/Paris",
        )
        cls.user_agent = new_test_user(
            cls.env, login="oc_tour_agent", name="Tour Agent", groups="outbound_campaign.group_outbound_agent"
        )
        cls.agent = cls.env["outbound.agent"].create(
            {"user_id": cls.user_agent.id, "channel": "PJSIP/2901", "state": "paused"}
        )
        cls.server = cls.env["outbound.dialer.server"].create(
            {
                "name": "Tour PBX",
                "host": "127.0.0.1",
                "username": "dialer",
                "secret": "dialer-secret",
                "customer_dial_template": "PJSIP/{number}@trunk",
            }
        )

    def scenario(self):
        # Rings and calls of a few seconds, so that the screens can be seen moving.
        return Scenario(seed=11, time_scale=0.1, ring_time=(2.0, 4.0), talk_time=(20.0, 30.0))

    def test_manager_builds_runs_and_watches_a_campaign(self):
        login = self.manager.login
        with (
            bus_delivered(),
            dialer_running(self, self.server, self.scenario(), wall_clock_from(TUESDAY_10AM)),
        ):
            self.start_tour(
                "/odoo/action-outbound_campaign.outbound_campaign_action",
                "outbound_campaign_manager_tour",
                login=login,
                timeout=180,
            )
        campaign = self.env["outbound.campaign"].search([("name", "=", "Tour seed campaign")])
        contacts = campaign.contact_ids.sorted("id")
        self.assertEqual(
            contacts.mapped(lambda c: (c.firstname, c.lastname, c.enterprise, c.phone_e164, c.address)),
            [
                ("Big", "Ben", "The Tower", "+33101010101", "Westminster, London SW1A 0AA, UK"),
                ("Jean", "Pierre", "The Startup", "+33102020202", "Avenue Des Champs-ElysÃ©es, Paris 08, FR"),
            ],
        )
        self.assertEqual(set(contacts.mapped("state")), {"done"})
        self.assertEqual(set(campaign.call_ids.mapped("outcome")), {"answered"})
        self.assertEqual(campaign.call_ids.agent_id, self.agent)

    def test_agent_goes_ready_gets_the_pop_and_records_a_disposition(self):
        campaign = self.env["outbound.campaign"].create(
            {
                "name": "Tour renewals",
                "dialer_server_id": self.server.id,
                "caller_id_number": "+442079460999",
                "country_id": self.env.ref("base.uk").id,
                "wrap_up_time": 120,
                "agent_ids": [Command.link(self.agent.id)],
                "contact_ids": [
                    Command.create(
                        {
                            "firstname": "Big",
                            "lastname": "Ben",
                            "enterprise": "The Tower",
                            "phone": "+44 20 7946 0958",
                            "extra_data": {"Plan": "Gold"},
                        }
                    )
                ],
            }
        )
        campaign.action_run_now()
        login = self.user_agent.login
        with (
            bus_delivered(),
            dialer_running(self, self.server, self.scenario(), wall_clock_from(TUESDAY_10AM)),
        ):
            self.start_tour(
                "/odoo/action-outbound_campaign.outbound_agent_console_action",
                "outbound_campaign_agent_tour",
                login=login,
                timeout=180,
            )
        call = campaign.call_ids
        self.assertEqual(len(call), 1)
        self.assertEqual(call.outcome, "answered")
        self.assertEqual(call.disposition_id, self.env.ref("outbound_campaign.disposition_interested"))
        self.assertEqual(call.note, "Wants the gold plan")
        self.assertEqual(self.agent.state, "ready")
