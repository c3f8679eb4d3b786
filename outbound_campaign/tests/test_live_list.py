from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import OutboundCampaignCase


@tagged("post_install", "-at_install")
class TestLiveList(OutboundCampaignCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.acme = Partner.create({"name": "Acme Ltd", "is_company": True})
        cls.ann, cls.bob, cls.chloe = Partner.create(
            [
                {"name": "Live Ann", "phone": "020 7946 0101", "parent_id": cls.acme.id, "city": "London"},
                {"name": "Live Bob", "phone": "+44 20 7946 0102", "mobile": "07400 123456"},
                {"name": "Live Chloé", "phone": "not a number"},
            ]
        )
        cls.listed = cls.create_campaign(
            "From a filter",
            agents=cls.agent,
            list_model="res.partner",
            list_domain="[('name', '=like', 'Live %')]",
            list_live=True,
        )

    def contacts(self, campaign=None):
        return (campaign or self.listed).contact_ids.sorted("phone_e164")

    def test_matching_partners_are_enrolled_with_their_record(self):
        self.assertEqual(self.listed.contact_source, "filter")
        result = self.listed._refresh_list()[self.listed.id]
        self.assertEqual((result.enrolled, result.withdrawn, result.invalid), (2, 0, 1))
        ann, bob = self.contacts()
        self.assertEqual(
            [ann.phone, ann.phone_e164, ann.lastname, ann.enterprise, ann.address],
            ["020 7946 0101", "+442079460101", "Live Ann", "Acme Ltd", "London"],
        )
        self.assertEqual(
            (ann.list_model, ann.list_res_id, ann.partner_id), ("res.partner", self.ann.id, self.ann)
        )
        self.assertEqual((bob.partner_id, bob.state, bob.company_id), (self.bob, "pending", self.company))
        self.assertTrue(self.listed.list_refreshed_at)

    def test_the_number_dialled_is_the_field_chosen(self):
        self.listed.list_phone_field = "mobile"
        self.listed._refresh_list()
        self.assertEqual(self.contacts().mapped("phone_e164"), ["+447400123456"])

    def test_a_number_is_never_enrolled_twice(self):
        # Same number as the campaign's file contact, and as another matching partner.
        self.env["res.partner"].create({"name": "Live Dan", "phone": "+442079460101"})
        self.listed.write({"contact_ids": [(0, 0, {"phone": "020 7946 0102"})]})
        self.assertEqual(self.listed.contact_source, "both")
        self.listed._refresh_list()
        self.assertEqual(self.contacts().mapped("phone_e164"), ["+442079460101", "+442079460102"])
        self.assertEqual(self.contacts()[0].partner_id, self.ann, "the first record of a number")
        result = self.listed._refresh_list()[self.listed.id]
        self.assertEqual((result.enrolled, result.withdrawn), (0, 0))
        self.assertEqual(len(self.listed.contact_ids), 2)

    def test_records_that_stop_matching_are_withdrawn_unless_called(self):
        self.listed._refresh_list()
        ann, bob = self.contacts()
        bob.attempt_count = 1
        (self.ann | self.bob).name = "Gone"
        result = self.listed._refresh_list()[self.listed.id]
        self.assertEqual(result.withdrawn, 1)
        self.assertFalse(ann.exists())
        self.assertTrue(bob.exists(), "a contact already called stays")
        self.ann.name = "Live Ann again"
        self.listed._refresh_list()
        self.assertEqual(self.contacts().mapped("partner_id"), self.ann | self.bob)

    def test_numbers_on_a_do_not_call_list_are_not_enrolled(self):
        self.env["phone.blacklist"].create({"number": "+442079460101"})
        self.env["outbound.do.not.call"].create({"phone_e164": "+442079460102"})
        self.listed._refresh_list()
        self.assertFalse(self.listed.contact_ids)

    def test_run_now_and_the_cron_refresh_the_list(self):
        self.listed.action_run_now()
        self.assertEqual(len(self.listed.contact_ids), 2)
        self.env["res.partner"].create({"name": "Live Eve", "phone": "020 7946 0105"})
        not_live = self.create_campaign(
            "Not live",
            agents=self.agent,
            phones=("020 7946 0001",),
            list_model="res.partner",
            list_domain="[('name', '=like', 'Live %')]",
        )
        not_live.action_run_now()
        self.env["res.partner"].create({"name": "Live Fay", "phone": "020 7946 0106"})
        self.env["outbound.campaign"]._cron_refresh_live_lists()
        self.assertEqual(len(self.listed.contact_ids), 4)
        self.assertEqual(len(not_live.contact_ids), 4, "enrolled at Run now, not since")

    def test_a_broken_filter_spoils_only_its_own_refresh(self):
        broken = self.create_campaign("Broken", agents=self.agent, phones=("020 7946 0001",), list_live=True)
        (broken | self.listed).action_run_now()
        broken.flush_recordset()
        # As a filter left behind by a field since removed: stored, but no longer valid.
        self.env.cr.execute(
            "UPDATE outbound_campaign SET list_model = 'res.partner', list_domain = %s WHERE id = %s",
            ("[('no_such_field', '=', 1)]", broken.id),
        )
        broken.invalidate_recordset()
        self.env["res.partner"].create({"name": "Live Gus", "phone": "020 7946 0107"})
        with self.assertLogs("odoo.addons.outbound_campaign.models.live_list", "ERROR"):
            self.env["outbound.campaign"]._cron_refresh_live_lists()
        self.assertEqual(len(self.listed.contact_ids), 3)
        self.assertEqual(len(broken.contact_ids), 1)

    def test_an_invalid_filter_is_refused(self):
        with self.assertRaises(ValidationError):
            self.listed.list_domain = "[('no_such_field', '=', 1)]"
        with self.assertRaises(ValidationError):
            self.listed.list_domain = "not a domain"
