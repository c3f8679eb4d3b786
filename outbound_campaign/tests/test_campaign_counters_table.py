from datetime import date, datetime, timezone

from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import SQL

from ..dialer.pacing import PacingStats
from ..importer.sql_copy import copy_rows
from .common import OutboundCampaignCase

# Monday 2025-01-06 12:00 UTC: the pacing window holds 2024-12-08 to 2025-01-06, 30 days.
NOW = datetime(2025, 1, 6, 12, 0, tzinfo=timezone.utc)


@tagged("post_install", "-at_install")
class TestCampaignCountersTable(OutboundCampaignCase):
    """The counters equal a full recount of the contacts and calls whatever wrote them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.survey = cls.create_campaign(
            "Survey", agents=cls.agent, phones=[f"020 7946 {n:04d}" for n in range(100, 110)]
        )

    def recount(self):
        """Every campaign's counts, from the contacts and the calls themselves."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT campaign_id, 'contact:' || state, NULL::date, count(*) FROM outbound_contact
                 GROUP BY 1, 2, 3
                 UNION ALL
                   SELECT campaign_id, 'call:' || outcome, end_at::date, count(*) FROM outbound_call
                    WHERE state = 'ended' AND outcome IS NOT NULL AND end_at IS NOT NULL
                 GROUP BY 1, 2, 3"""
            )
        )
        return {(campaign, kind, day): count for campaign, kind, day, count in self.env.cr.fetchall()}

    def counters(self):
        """Every campaign's counts, summed from the counters' rows (keys summing to zero left out)."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """SELECT campaign_id, kind, day, sum(count) FROM outbound_campaign_counter
                 GROUP BY 1, 2, 3 HAVING sum(count) <> 0"""
            )
        )
        return {(campaign, kind, day): count for campaign, kind, day, count in self.env.cr.fetchall()}

    def assertCountersExact(self):
        self.assertEqual(self.counters(), self.recount())

    def counter_rows(self):
        self.env.cr.execute(SQL("SELECT count(*) FROM outbound_campaign_counter"))
        return self.env.cr.fetchone()[0]

    def call_values(self, contact, outcome=None, ended=None, state="ended"):
        return {
            "campaign_id": contact.campaign_id.id,
            "contact_id": contact.id,
            "state": state,
            "outcome": outcome,
            "end_at": ended or False,
        }

    def test_orm_creates_writes_unlinks(self):
        self.assertCountersExact()
        self.assertEqual(
            self.counters()[(self.survey.id, "contact:pending", None)], 10, "created with their campaign"
        )
        contacts = self.survey.contact_ids
        contacts[:3].write({"state": "done"})
        contacts[3].state = "failed"
        self.assertCountersExact()
        contacts[4:6].unlink()
        self.assertCountersExact()
        Call = self.env["outbound.call"]
        calls = Call.create(
            [
                self.call_values(contacts[0], "answered", datetime(2025, 1, 5, 23, 59)),
                self.call_values(contacts[1], "busy", datetime(2025, 1, 6, 0, 1)),
                self.call_values(contacts[2], state="ringing"),
                self.call_values(contacts[3], ended=datetime(2025, 1, 6, 9, 0)),  # no outcome: not counted
            ]
        )
        self.assertCountersExact()
        self.assertEqual(self.counters()[(self.survey.id, "call:answered", date(2025, 1, 5))], 1)
        calls[2].write({"state": "ended", "outcome": "abandoned", "end_at": datetime(2025, 1, 6, 10, 0)})
        calls[0].outcome = "machine"
        calls[1].end_at = datetime(2025, 1, 4, 12, 0)
        self.assertCountersExact()
        calls[1].unlink()
        self.assertCountersExact()

    def test_writes_that_move_no_count_append_nothing(self):
        before = self.counter_rows()
        self.survey.contact_ids.write({"firstname": "Ada", "next_attempt_at": datetime(2025, 1, 6, 14, 0)})
        call = self.env["outbound.call"].create(self.call_values(self.survey.contact_ids[0], state="queued"))
        call.state = "ringing"
        self.env.flush_all()
        self.assertEqual(self.counter_rows(), before)

    def test_dialer_set_based_sql(self):
        cr = self.env.cr
        contacts = self.survey.contact_ids
        self.env.flush_all()
        # the dialer's claim, call rows inserted set-based, and a turn's results stored
        cr.execute(
            SQL("UPDATE outbound_contact SET state = 'in_progress' WHERE id = ANY(%s)", contacts[:4].ids)
        )
        cr.execute(
            SQL(
                """INSERT INTO outbound_call (uuid, campaign_id, company_id, contact_id, state, start_at)
                   SELECT gen_random_uuid()::text, campaign_id, company_id, id, 'originating', now()
                     FROM outbound_contact WHERE id = ANY(%s)""",
                contacts[:4].ids,
            )
        )
        self.assertCountersExact()
        cr.execute(
            SQL(
                """UPDATE outbound_call c SET state = 'ended', outcome = v.outcome, end_at = v.end_at
                     FROM (VALUES %s) AS v(contact_id, outcome, end_at)
                    WHERE c.contact_id = v.contact_id""",
                SQL(", ").join(
                    SQL("(%s::int, %s, %s::timestamp)", contact.id, outcome, datetime(2025, 1, 6, 11, n))
                    for n, (contact, outcome) in enumerate(
                        zip(contacts[:4], ("answered", "abandoned", "busy", "agent_no_answer"), strict=True)
                    )
                ),
            )
        )
        cr.execute(
            SQL(
                """UPDATE outbound_contact k SET state = v.state FROM (VALUES %s) AS v(id, state)
                    WHERE k.id = v.id""",
                SQL(", ").join(
                    SQL("(%s::int, %s)", contact.id, state)
                    for contact, state in zip(
                        contacts[:4], ("done", "failed", "pending", "pending"), strict=True
                    )
                ),
            )
        )
        self.assertCountersExact()
        self.assertEqual(
            self.env["outbound.campaign.counter"]._pacing_stats([self.survey.id], NOW)[self.survey.id],
            # the missed agent leg is no customer call; an abandon is a live answer
            PacingStats(dialed=3, answered=2, abandoned=1),
        )

    def test_copy_bulk_insert(self):
        self.env.flush_all()
        copy_rows(
            self.env.cr,
            "outbound_contact",
            ["campaign_id", "company_id", "phone", "phone_e164", "state"],
            [
                (self.survey.id, self.company.id, f"+44207946{n:04d}", f"+44207946{n:04d}", state)
                for n, state in enumerate(["pending"] * 500 + ["dnc"] * 20)
            ],
        )
        self.assertCountersExact()
        self.assertEqual(self.counters()[(self.survey.id, "contact:pending", None)], 510)

    def test_campaign_deletion(self):
        contact = self.survey.contact_ids[0]
        self.env["outbound.call"].create(self.call_values(contact, "answered", datetime(2025, 1, 6, 9, 0)))
        self.assertIn(self.survey.id, {key[0] for key in self.counters()})
        survey_id, campaign_id = self.survey.id, self.campaign.id
        self.survey.unlink()
        self.assertCountersExact()
        # a deletion in SQL cascades the same way
        self.env.cr.execute(SQL("DELETE FROM outbound_campaign WHERE id = %s", campaign_id))
        self.env.invalidate_all()
        self.assertCountersExact()
        self.env.cr.execute(
            SQL(
                "SELECT count(*) FROM outbound_campaign_counter WHERE campaign_id = ANY(%s)",
                [survey_id, campaign_id],
            )
        )
        self.assertEqual(self.env.cr.fetchone()[0], 0)

    def test_compaction_folds_into_one_row_per_key(self):
        contacts = self.survey.contact_ids
        for state in ("in_progress", "pending", "in_progress", "done"):
            contacts[:5].write({"state": state})
            self.env.flush_all()
        contacts[5].state = "in_progress"
        contacts[5].state = "pending"  # a key whose deltas sum to zero once flushed alone
        self.env.flush_all()
        self.env["outbound.call"].create(
            [self.call_values(contact, "busy", datetime(2025, 1, 6, 9, 0)) for contact in contacts[:3]]
        )
        self.env.flush_all()
        sums = self.counters()
        self.env.cr.execute(
            SQL("SELECT count(*) FROM outbound_campaign_counter WHERE campaign_id = %s", self.survey.id)
        )
        self.assertGreater(self.env.cr.fetchone()[0], 3)
        self.env["outbound.campaign.counter"]._cron_compact()
        self.assertEqual(self.counters(), sums)
        self.assertCountersExact()
        self.env.cr.execute(
            SQL(
                """SELECT kind, day, count(*), min(count) FROM outbound_campaign_counter
                 GROUP BY campaign_id, kind, day HAVING count(*) > 1 OR min(count) = 0"""
            )
        )
        self.assertEqual(self.env.cr.fetchall(), [], "one non-zero row per key")

    def test_install_rebuilds_from_the_tables(self):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """DELETE FROM outbound_campaign_counter WHERE kind = 'contact:pending';
                   INSERT INTO outbound_campaign_counter (campaign_id, kind, count) VALUES (%s, 'contact:done', 7)""",
                self.survey.id,
            )
        )
        self.assertNotEqual(self.counters(), self.recount())
        self.env["outbound.campaign.counter"].init()
        self.assertCountersExact()

    def test_pacing_window_is_whole_days(self):
        contacts = self.survey.contact_ids
        self.env["outbound.call"].create(
            [
                # 2024-12-08 is the window's first day, from its midnight (UTC)
                self.call_values(contacts[0], "answered", datetime(2024, 12, 8, 0, 0)),
                self.call_values(contacts[1], "abandoned", datetime(2024, 12, 7, 23, 59)),
                self.call_values(contacts[2], "no_answer", datetime(2025, 1, 6, 11, 59)),
                self.call_values(contacts[3], "unknown", datetime(2025, 1, 6, 11, 0)),
            ]
        )
        stats = self.env["outbound.campaign.counter"]._pacing_stats([self.survey.id, self.campaign.id], NOW)
        self.assertEqual(list(stats), [self.survey.id], "a campaign without calls has no counts")
        self.assertEqual(
            (stats[self.survey.id].dialed, stats[self.survey.id].answered, stats[self.survey.id].abandoned),
            (2, 1, 0),
        )

    def test_dashboard_reads_the_counters(self):
        self.survey.state = "running"
        self.env.flush_all()
        # all closed by the dialer, in SQL
        self.env.cr.execute(
            SQL("UPDATE outbound_contact SET state = 'done' WHERE campaign_id = %s", self.survey.id)
        )
        self.env.invalidate_all()
        card = self.survey._dashboard_cards(NOW)[0]
        self.assertEqual((card["contact_count"], card["contacts_left"], card["progress"]), (10, 0, 100.0))
        self.survey.contact_ids[:4].write({"state": "pending"})
        card = self.survey._dashboard_cards(NOW)[0]
        self.assertEqual((card["contact_count"], card["contacts_left"], card["progress"]), (10, 4, 60.0))

    def test_managers_read_only(self):
        Counter = self.env["outbound.campaign.counter"]
        self.assertTrue(Counter.with_user(self.manager).search([("campaign_id", "=", self.survey.id)]))
        with self.assertRaises(AccessError):
            Counter.with_user(self.manager).create({"campaign_id": self.survey.id, "kind": "contact:done"})
        with self.assertRaises(AccessError):
            Counter.with_user(self.user_agent).search([])
