import json
from datetime import datetime, timedelta, timezone

from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.bus.models.bus import channel_with_db, json_dump

from .common import OutboundCampaignCase

# Monday 2025-01-06 12:00 UTC: London (the campaigns' zone) reads 12:00, the manager's Paris 13:00.
NOW = datetime(2025, 1, 6, 12, 0, tzinfo=timezone.utc)


def at(minutes):
    """NOW shifted by ``minutes``, as Odoo stores it (naive UTC)."""
    return (NOW + timedelta(minutes=minutes)).replace(tzinfo=None)


@tagged("post_install", "-at_install")
class TestDashboard(OutboundCampaignCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager.tz = "Europe/Paris"
        cls.campaign_manager = (
            cls.env["outbound.campaign"].with_user(cls.manager).with_context(tz="Europe/Paris")
        )
        Agent = cls.env["outbound.agent"]
        agents = {}
        for name, state in (
            ("ready1", "ready"),
            ("ready2", "ready"),
            ("ringing", "ringing"),
            ("talking", "on_call"),
            ("wrapping", "wrap_up"),
            ("no_answer", "paused"),
            ("lunch", "paused"),
            ("gone", "offline"),
            ("archived", "ready"),
        ):
            user = new_test_user(
                cls.env, login=f"oc_dash_{name}", groups="outbound_campaign.group_outbound_agent"
            )
            agents[name] = Agent.create({"user_id": user.id, "channel": f"PJSIP/{name}", "state": state})
        agents["no_answer"].pause_reason_id = cls.env.ref("outbound_campaign.pause_reason_no_answer")
        agents["lunch"].pause_reason_id = cls.env.ref("outbound_campaign.pause_reason_lunch")
        agents["archived"].active = False
        cls.agents = agents
        cls.client_first = cls.create_campaign(
            "Survey",
            agents=Agent.with_context(active_test=False).browse([agent.id for agent in agents.values()]),
            phones=[f"020 7946 {n:04d}" for n in range(300, 310)],
            campaign_type="client_first",
            abandon_rate_cap=3.0,
            tz="Europe/London",
        )
        cls.client_first.state = "running"
        contacts = cls.client_first.contact_ids
        # 10 contacts: 3 done, 2 failed, 1 on the do-not-call list (6 closed); 1 in progress, 3 to call
        for contact, state in zip(
            contacts,
            (
                "done",
                "done",
                "done",
                "failed",
                "failed",
                "dnc",
                "in_progress",
                "pending",
                "pending",
                "pending",
            ),
            strict=True,
        ):
            contact.state = state
        cls.contacts = contacts
        calls = []

        def call(contact, state="ended", outcome=None, ended=-120):
            calls.append(
                {
                    "campaign_id": cls.client_first.id,
                    "contact_id": contact.id,
                    "state": state,
                    "outcome": outcome,
                    "start_at": at(ended - 1),
                    "end_at": at(ended) if state == "ended" else False,
                }
            )

        # in flight: one ringing for the contact in progress, one queued
        call(contacts[6], state="ringing")
        call(contacts[7], state="queued")
        # ended within the dialer's pacing window (30 whole UTC days, today included: from
        # 2024-12-08 00:00): 7 customer calls, 4 live answers
        # (3 answered + 1 abandoned), 1 abandon; the agent's and unknown ones are not customer calls
        for contact, outcome in zip(
            contacts[:7],
            ("answered", "answered", "answered", "abandoned", "busy", "busy", "no_answer"),
            strict=True,
        ):
            call(contact, outcome=outcome)
        call(contacts[8], outcome="agent_no_answer")
        call(contacts[9], outcome="unknown")
        # out of the pacing window: 31 days ago, and 2024-12-07 13:00, less than 30 days ago but on
        # the day before the window's first
        call(contacts[0], outcome="answered", ended=-31 * 24 * 60)
        call(contacts[0], outcome="abandoned", ended=-30 * 24 * 60 + 60)
        # over the last 30 minutes: 2 contacts closed since (one of them with two calls), and a
        # contact still to call, which closes nothing
        call(contacts[1], outcome="busy", ended=-25)
        call(contacts[1], outcome="answered", ended=-10)
        call(contacts[3], outcome="no_answer", ended=-5)
        call(contacts[8], outcome="busy", ended=-3)
        cls.env["outbound.call"].create(calls)
        cls.server.write({"last_heartbeat": at(-0.25), "connection_state": "connected"})
        cls.client_first.write(
            {"dialing_status": "dialing", "dialing_status_at": at(-0.1), "dial_ratio": 1.5}
        )

    def card(self, campaign=None):
        campaign = campaign or self.client_first
        cards = self.campaign_manager.browse(campaign.id)._dashboard_cards(NOW)
        self.assertEqual(len(cards), 1)
        return cards[0]

    def test_card_figures(self):
        card = self.card()
        self.assertEqual(card["id"], self.client_first.id)
        self.assertEqual(card["name"], "Survey")
        self.assertEqual((card["state"], card["campaign_type"]), ("running", "client_first"))
        self.assertEqual(
            (card["contact_count"], card["contact_done_count"], card["contacts_left"]), (10, 6, 4)
        )
        self.assertAlmostEqual(card["progress"], 60.0)
        self.assertEqual(card["calls_in_flight"], 2)
        # the archived agent is not counted
        self.assertEqual(card["agents_ready"], 2)
        self.assertEqual(
            (card["agents_ringing"], card["agents_talking"], card["agents_wrap_up"], card["agents_on_call"]),
            (1, 1, 1, 3),
        )
        self.assertEqual((card["agents_paused"], card["agents_offline"]), (2, 1))
        self.assertCountEqual(
            card["pause_reasons"], [{"name": "No answer", "count": 1}, {"name": "Lunch", "count": 1}]
        )
        # over the pacing window: 11 customer calls (7 + the 4 of the last 30 minutes), 5
        # live answers (3 + 1 abandoned + 1), 1 abandon
        self.assertAlmostEqual(card["answer_rate"], 100.0 * 5 / 11)
        self.assertAlmostEqual(card["abandon_rate"], 20.0)
        self.assertEqual(card["abandon_rate_cap"], 3.0)
        self.assertTrue(card["abandon_over_cap"])
        self.assertEqual(card["dial_ratio"], 1.5)
        # 2 contacts closed over the last 30 minutes, all callable: 4 an hour; 4 left: 1 hour,
        # 13:00 UTC, 14:00 on the manager's Paris clock
        self.assertEqual(card["closed_recently"], 2)
        self.assertEqual(card["exhausts_at"], "2025-01-06 13:00:00")
        self.assertEqual(card["forecast"], "14:00")
        self.assertEqual((card["dialing_status_text"], card["dialing_status_level"]), ("Dialing", "success"))

    def test_agent_first_has_no_abandon_rate(self):
        self.client_first.campaign_type = "agent_first"
        card = self.card()
        self.assertIsNone(card["abandon_rate"])
        self.assertIsNone(card["abandon_rate_cap"])
        self.assertFalse(card["abandon_over_cap"])
        self.assertAlmostEqual(card["answer_rate"], 100.0 * 5 / 11)

    def test_no_pace_no_calls_no_rates(self):
        campaign = self.create_campaign("Fresh", agents=self.agent, phones=("020 7946 0401",))
        campaign.state = "running"
        card = self.card(campaign)
        self.assertEqual((card["contact_count"], card["contacts_left"], card["calls_in_flight"]), (1, 1, 0))
        self.assertIsNone(card["answer_rate"])
        self.assertIsNone(card["abandon_rate"])
        self.assertEqual(card["forecast"], "—")
        self.assertFalse(card["exhausts_at"])
        self.assertEqual(card["dialing_status_text"], "Waiting for the dialer")

    def test_forecast_within_the_calling_window(self):
        # window 10:00–12:30 in London: 30 minutes today, the other 30 from 10:00 tomorrow,
        # ending at 10:30 London, 11:30 in Paris
        self.client_first.write({"use_time_window": True, "time_start": 10.0, "time_end": 12.5})
        card = self.card()
        self.assertEqual(card["exhausts_at"], "2025-01-07 10:30:00")
        self.assertEqual(card["forecast"], "Tue 7 Jan 11:30")

    def test_forecast_past_the_end_date(self):
        self.client_first.write(
            {"date_end": "2025-01-06", "use_time_window": True, "time_start": 9, "time_end": 12.5}
        )
        self.assertEqual(self.card()["forecast"], "Not before the end date")

    def test_dialing_status_sentences(self):
        cases = [
            ("dialing", None, "Dialing", "success"),
            ("abandon_cap", None, "Abandon cap reached — pacing at 1:1", "danger"),
            ("paced", None, "Paced: enough calls in flight for the ready agents", "warning"),
            ("no_agent_ready", None, "No agent ready", "warning"),
            ("no_contact_due", at(150), "No contact due before 15:30", "warning"),
            ("no_contact_due", None, "No contact due", "warning"),
            ("server_full", None, "Dialer server at its limit (channels or calls per second)", "warning"),
            ("outside_hours", at(21 * 60), "Outside calling window until Tue 7 Jan 10:00", "warning"),
            ("outside_hours", at(60), "Outside calling window until 14:00", "warning"),
            (
                "closed_day",
                at(5 * 24 * 60 - 3 * 60),
                "No calls today: next calling window Sat 11 Jan 10:00",
                "warning",
            ),
            ("not_started", at(24 * 60), "Not started: first calls Tue 7 Jan 13:00", "warning"),
            ("ended", None, "Past its end date", "danger"),
            ("never", None, "Its calling window never opens", "danger"),
        ]
        for reason, until, sentence, level in cases:
            with self.subTest(reason=reason, until=until):
                self.client_first.write({"dialing_status": reason, "dialing_status_until": until or False})
                card = self.card()
                self.assertEqual(card["dialing_status"], reason)
                self.assertEqual(
                    (card["dialing_status_text"], card["dialing_status_level"]), (sentence, level)
                )

    def test_defect_c_the_card_says_the_trunk_refuses_calls(self):
        Call = self.env["outbound.call"]

        def call(outcome, minutes, **values):
            return Call.create(
                {
                    "campaign_id": self.client_first.id,
                    "contact_id": self.contacts[7].id,
                    "state": "ended",
                    "outcome": outcome,
                    "start_at": at(minutes - 0.5),
                    "end_at": at(minutes),
                    **values,
                }
            )

        def refused(minutes):
            return call(
                "trunk_refused", minutes, dial_status="CHANUNAVAIL", hangup_cause="3", originate_reason="4"
            )

        for minutes in (-2.0, -1.8, -1.6, -1.4):
            refused(minutes)
        self.assertEqual(self.card()["dialing_status_text"], "Dialing", "four may be a passing fault")
        call("agent_no_answer", -1.2)  # says nothing of the trunk
        refused(-1.0)
        card = self.card()
        self.assertEqual(
            (card["dialing_status_text"], card["dialing_status_level"]),
            (
                "Trunk refuses calls: the last 5 were refused (CHANUNAVAIL, cause 3), the latest at 12:59",
                "danger",
            ),
        )
        call("busy", -0.5)  # the trunk placed a call again
        self.assertEqual(self.card()["dialing_status_text"], "Dialing")

    def test_paused_campaign(self):
        self.client_first.state = "paused"
        card = self.card()
        self.assertEqual((card["state"], card["dialing_status_text"]), ("paused", "Paused"))

    def test_dialer_offline_since(self):
        # silent for 10 minutes, no lease: offline since 11:50 UTC, 12:50 in Paris
        self.server.write(
            {"last_heartbeat": at(-10), "lease_until": False, "connection_state": "disconnected"}
        )
        self.assertEqual(self.card()["dialing_status_text"], "Dialer offline since 12:50")
        self.assertEqual(self.card()["dialing_status_level"], "danger")
        # a cron burst just ended: its lease is released, but it was heard 60 s ago: not offline
        self.server.write({"last_heartbeat": at(-1)})
        self.assertEqual(self.card()["dialing_status_text"], "Dialing")
        # a dedicated host holding a live lease is not offline, whenever it last wrote
        self.server.write({"last_heartbeat": at(-10), "lease_until": at(0.5)})
        self.assertEqual(self.card()["dialing_status_text"], "Dialing")
        self.server.write({"last_heartbeat": False, "lease_until": False})
        self.assertEqual(self.card()["dialing_status_text"], "Dialer offline")

    def test_dialer_cannot_reach_asterisk(self):
        self.server.write({"connection_state": "error", "connection_error": "Connection refused"})
        self.assertEqual(
            self.card()["dialing_status_text"], "Dialer cannot reach Asterisk: Connection refused"
        )

    def test_cards_of_running_and_paused_campaigns_only(self):
        paused = self.create_campaign("Paused one", agents=self.agent, phones=("020 7946 0501",))
        paused.state = "paused"
        cards = self.campaign_manager.get_dashboard_cards()
        ids = [card["id"] for card in cards]
        self.assertIn(self.client_first.id, ids)
        self.assertIn(paused.id, ids)
        self.assertNotIn(self.campaign.id, ids, "a draft campaign has no card")
        self.assertLess(ids.index(self.client_first.id), ids.index(paused.id), "running first")

    def test_fixed_number_of_queries(self):
        extra = self.env["outbound.campaign"]
        for n in range(5):
            campaign = self.create_campaign(
                f"Extra {n}", agents=self.agent, phones=(f"020 7946 06{n:02d}",), campaign_type="client_first"
            )
            campaign.state = "running"
            extra |= campaign
        Campaign = self.campaign_manager
        # warm the caches of rules and translations
        Campaign.browse(self.client_first.id)._dashboard_cards(NOW)
        self.env.invalidate_all()
        # the answering machines' counts come with the pacing counts, in the same query
        with self.assertQueryCount(11):
            Campaign.browse(self.client_first.id)._dashboard_cards(NOW)
        self.env.invalidate_all()
        with self.assertQueryCount(11):
            Campaign.browse([self.client_first.id, *extra.ids])._dashboard_cards(NOW)

    def test_agents_are_refused(self):
        with self.assertRaises(AccessError):
            self.env["outbound.campaign"].with_user(self.user_agent).get_dashboard_cards()
        with self.assertRaises(AccessError):
            self.env["outbound.campaign"].with_user(self.user_plain).get_dashboard_cards()


@tagged("post_install", "-at_install")
class TestDashboardLiveUpdates(OutboundCampaignCase):
    """Managers' actions on a campaign notify the dashboards, on the Manager group's channel."""

    def dashboard_notifications(self):
        # bus.bus rows are written at commit: run the commit hooks the test transaction skips
        self.env.cr.precommit.run()
        managers = self.env.ref("outbound_campaign.group_outbound_manager")
        channel = json_dump(channel_with_db(self.env.cr.dbname, managers))
        rows = self.env["bus.bus"].sudo().search([("channel", "=", channel)], order="id")
        return [json.loads(row.message) for row in rows]

    def test_run_pause_resume_end_notify(self):
        self.env["bus.bus"].sudo().search([]).unlink()
        campaign = self.campaign.with_user(self.manager)
        expected = {"type": "outbound_campaign/dashboard", "payload": {"campaign_ids": [self.campaign.id]}}
        for action in ("action_run_now", "action_pause", "action_resume", "action_done"):
            with self.subTest(action=action):
                getattr(campaign, action)()
                self.assertEqual(self.dashboard_notifications(), [expected])
                self.env["bus.bus"].sudo().search([]).unlink()

    def test_refused_action_sends_nothing(self):
        self.env["bus.bus"].sudo().search([]).unlink()
        campaign = self.create_campaign("No agent", phones=("020 7946 0701",))
        with self.assertRaises(UserError):
            campaign.with_user(self.manager).action_run_now()
        self.assertEqual(self.dashboard_notifications(), [])

    def test_agents_channel_is_not_the_dashboard_s(self):
        self.campaign.with_user(self.manager).action_run_now()
        self.env.cr.precommit.run()
        agent_partner_channel = json_dump(channel_with_db(self.env.cr.dbname, self.user_agent.partner_id))
        rows = self.env["bus.bus"].sudo().search([("channel", "=", agent_partner_channel)])
        self.assertFalse(
            [row for row in rows if json.loads(row.message)["type"] == "outbound_campaign/dashboard"],
            "an agent's own channel never carries the dashboard",
        )
        self.assertNotIn(self.env.ref("outbound_campaign.group_outbound_manager"), self.user_agent.groups_id)
