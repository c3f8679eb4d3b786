from datetime import datetime

from odoo.tests import tagged

from .common import OutboundCampaignCase


@tagged("post_install", "-at_install")
class TestReports(OutboundCampaignCase):
    """The calls and contacts reports group as a manager reads them, on figures counted by hand."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.london = cls.create_campaign(
            "London",
            agents=cls.agent | cls.other_agent,
            phones=("020 7946 0801", "020 7946 0802"),
            tz="Europe/London",
        )
        cls.paris = cls.create_campaign(
            "Paris", agents=cls.agent, phones=("020 7946 0803",), tz="Europe/Paris"
        )
        Call = cls.env["outbound.call"]
        rows = [
            # campaign, agent, start (UTC, winter: London = UTC, Paris = UTC+1), outcome, ring, talk
            (cls.london, cls.agent, datetime(2025, 1, 6, 9, 5), "answered", 10, 120),
            (cls.london, cls.agent, datetime(2025, 1, 6, 9, 40), "busy", 4, 0),
            (cls.london, cls.other_agent, datetime(2025, 1, 6, 10, 15), "answered", 6, 300),
            (cls.london, cls.other_agent, datetime(2025, 1, 7, 10, 59), "no_answer", 25, 0),
            (cls.paris, cls.agent, datetime(2025, 1, 6, 9, 30), "answered", 8, 60),
            (cls.paris, False, datetime(2025, 1, 6, 8, 59), "no_answer", 25, 0),
        ]
        Call.create(
            [
                {
                    "campaign_id": campaign.id,
                    "contact_id": campaign.contact_ids[0].id,
                    "agent_id": agent.id if agent else False,
                    "start_at": start,
                    "end_at": start,
                    "state": "ended",
                    "outcome": outcome,
                    "ring_duration": ring,
                    "talk_duration": talk,
                }
                for campaign, agent, start, outcome, ring, talk in rows
            ]
        )
        cls.calls = Call.with_user(cls.manager)
        cls.domain = [("campaign_id", "in", (cls.london | cls.paris).ids)]

    def test_hour_of_day_on_the_campaign_s_clock(self):
        # London 09:05, 09:40, 10:15, 10:59; Paris 10:30 and 09:59 (UTC+1)
        groups = self.calls._read_group(self.domain, ["start_hour"], ["__count", "talk_duration:sum"])
        self.assertEqual(groups, [(9, 3, 120), (10, 3, 360)])
        # read on each record too: Paris 09:59, London 09:05, Paris 10:30, London 09:40, 10:15, 10:59
        calls = self.calls.search(self.domain, order="start_at")
        self.assertEqual(calls.mapped("start_hour"), [9, 9, 10, 9, 10, 10])

    def test_hour_of_day_is_groupable_not_a_measure(self):
        description = self.calls.fields_get(["start_hour"], ["groupable", "aggregator", "store"])[
            "start_hour"
        ]
        self.assertTrue(description["groupable"])
        self.assertFalse(description.get("aggregator"))
        self.assertFalse(
            description["store"], "the dialer inserts calls in SQL: nothing to compute on insert"
        )

    def test_web_client_read_group_by_hour_and_outcome(self):
        groups = self.calls.read_group(
            self.domain, ["ring_duration:avg", "talk_duration:sum"], ["start_hour", "outcome"], lazy=False
        )
        found = {
            (g["start_hour"], g["outcome"]): (g["__count"], g["ring_duration"], g["talk_duration"])
            for g in groups
        }
        self.assertEqual(
            found,
            {
                (9, "answered"): (1, 10, 120),
                (9, "busy"): (1, 4, 0),
                (9, "no_answer"): (1, 25, 0),
                (10, "answered"): (2, 7, 360),
                (10, "no_answer"): (1, 25, 0),
            },
        )

    def test_by_outcome(self):
        groups = self.calls._read_group(
            self.domain, ["outcome"], ["__count", "talk_duration:sum", "ring_duration:avg"]
        )
        self.assertEqual(groups, [("answered", 3, 480, 8.0), ("busy", 1, 0, 4.0), ("no_answer", 2, 0, 25.0)])

    def test_by_agent_and_campaign(self):
        by_agent = self.calls._read_group(self.domain, ["agent_id"], ["__count", "talk_duration:sum"])
        self.assertEqual(
            by_agent, [(self.agent, 3, 180), (self.other_agent, 2, 300), (self.env["outbound.agent"], 1, 0)]
        )
        by_campaign = self.calls._read_group(self.domain, ["campaign_id", "outcome"], ["__count"])
        self.assertEqual(
            by_campaign,
            [
                (self.london, "answered", 2),
                (self.london, "busy", 1),
                (self.london, "no_answer", 1),
                (self.paris, "answered", 1),
                (self.paris, "no_answer", 1),
            ],
        )

    def test_contacts_by_campaign_and_last_outcome_or_disposition(self):
        contacts = self.london.contact_ids | self.paris.contact_ids
        interested = self.env.ref("outbound_campaign.disposition_interested")
        contacts[0].write({"last_outcome": "answered", "disposition_id": interested.id, "state": "done"})
        contacts[1].write({"last_outcome": "busy"})
        contacts[2].write({"last_outcome": "answered", "disposition_id": interested.id, "state": "done"})
        Contact = self.env["outbound.contact"].with_user(self.manager)
        domain = [("id", "in", contacts.ids)]
        self.assertEqual(
            Contact._read_group(domain, ["campaign_id", "last_outcome"], ["__count"]),
            [(self.london, "answered", 1), (self.london, "busy", 1), (self.paris, "answered", 1)],
        )
        self.assertEqual(
            Contact._read_group(domain, ["campaign_id", "disposition_id"], ["__count"]),
            [
                (self.london, interested, 1),
                (self.london, self.env["outbound.disposition"], 1),
                (self.paris, interested, 1),
            ],
        )

    def test_lists_export(self):
        # What the web client's Export (CSV or XLSX) calls on the selected rows. Export is for users
        # of "Access to export feature", which users created in Settings get by default.
        self.manager.groups_id += self.env.ref("base.group_allow_export")
        calls = self.calls.search(self.domain, order="start_at")
        exported = calls.export_data(
            ["campaign_id/name", "agent_id/name", "outcome", "start_hour", "talk_duration"]
        )
        self.assertEqual(exported["datas"][0], ["Paris", "", "No answer", 9, 0])
        self.assertEqual(len(exported["datas"]), 6)
        contacts = (
            self.env["outbound.contact"].with_user(self.manager).search([("campaign_id", "=", self.paris.id)])
        )
        exported = contacts.export_data(["campaign_id/name", "phone_e164", "state", "last_outcome"])
        self.assertEqual(exported["datas"], [["Paris", "+442079460803", "To call", ""]])

    def test_reports_menu_is_for_managers(self):
        menu = self.env.ref("outbound_campaign.outbound_campaign_menu_reports")
        for user, visible in ((self.manager, True), (self.user_agent, False)):
            with self.subTest(user=user.login):
                menus = self.env["ir.ui.menu"].with_user(user)._visible_menu_ids()
                self.assertEqual(menu.id in menus, visible)
