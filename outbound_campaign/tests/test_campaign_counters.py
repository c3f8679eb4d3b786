from odoo.tests import tagged

from .common import OutboundCampaignCase


@tagged("post_install", "-at_install")
class TestCampaignCounters(OutboundCampaignCase):
    def test_counters_by_state(self):
        campaign = self.create_campaign(
            "Counted", phones=[f"020 7946 {n:04d}" for n in range(100, 110)], agents=self.agent
        )
        contacts = campaign.contact_ids
        contacts[0:3].write({"state": "done"})
        contacts[3:5].write({"state": "failed"})
        contacts[5:6].write({"state": "in_progress"})
        contacts[6:7].write({"state": "dnc"})
        self.assertEqual(campaign.contact_count, 10)
        self.assertEqual(campaign.contact_todo_count, 3)
        self.assertEqual(campaign.contact_in_progress_count, 1)
        self.assertEqual(campaign.contact_done_count, 3)
        self.assertEqual(campaign.contact_failed_count, 2)
        # done + failed + dnc = 6 of 10 no longer to call
        self.assertAlmostEqual(campaign.progress, 60.0)

    def test_counters_of_many_campaigns_in_one_query(self):
        first = self.create_campaign("A", phones=("020 7946 0201", "020 7946 0202"))
        second = self.create_campaign("B", phones=("020 7946 0203",))
        empty = self.create_campaign("C")
        campaigns = first | second | empty
        campaigns.invalidate_recordset()
        with self.assertQueryCount(1):
            counts = [(c.contact_count, c.contact_todo_count) for c in campaigns]
        self.assertEqual(counts, [(2, 2), (1, 1), (0, 0)])
        self.assertEqual(empty.progress, 0.0)

    def test_call_count(self):
        self.env["outbound.call"].create(
            [{"campaign_id": self.campaign.id, "contact_id": self.campaign.contact_ids[0].id}] * 2
        )
        self.assertEqual(self.campaign.call_count, 2)
        action = self.campaign.action_view_calls()
        self.assertEqual(action["domain"], [("campaign_id", "=", self.campaign.id)])
