"""Imported contacts linked to the company's partners with their number, set-based."""

from odoo.tests import tagged

from .test_contact_import import ContactImportCase


@tagged("post_install", "-at_install")
class TestContactPartners(ContactImportCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.company_b = cls.env["res.company"].create(
            {"name": "Company B", "country_id": cls.env.ref("base.uk").id}
        )
        cls.shared, cls.own, cls.mobile, cls.foreign = Partner.create(
            [
                {"name": "Shared Ann", "phone": "+44 20 7946 1501"},
                {"name": "Own Ann", "phone": "020 7946 1501", "company_id": cls.company.id},
                {"name": "Mobile Bob", "phone": "+44 20 7946 1599", "mobile": "+44 7400 100502"},
                {"name": "B's Cid", "phone": "+44 20 7946 1503", "company_id": cls.company_b.id},
            ]
        )

    def test_contacts_are_linked_to_the_companys_partner_with_their_number(self):
        data = b"firstname,phone\nAnn,+44 20 7946 1501\nBob,07400 100502\nCid,020 7946 1503\n"
        wizard = self.import_file(data)
        self.assert_counts(wizard, imported=3)
        ann, bob, cid = self.contacts()
        self.assertEqual(ann.partner_id, self.own, "the company's own partner before a shared one")
        self.assertEqual(bob.partner_id, self.mobile, "a partner's mobile counts")
        self.assertFalse(cid.partner_id, "another company's partner is not linked")

    def test_no_link_when_the_campaign_says_so(self):
        self.uk.link_partners = False
        self.import_file(b"phone\n+44 20 7946 1501\n")
        self.assertFalse(self.contacts().partner_id)

    def test_missing_partners_are_created_when_asked(self):
        self.uk.create_partners = True
        self.import_file(
            b"firstname,lastname,enterprise,phone\nAnn,,,+44 20 7946 1501\nDan,Smith,,020 7946 1504\n,,Acme,020 7946 1505\n"
        )
        ann, dan, acme = self.contacts()
        self.assertEqual(ann.partner_id, self.own)
        self.assertEqual(
            (dan.partner_id.name, dan.partner_id.phone, dan.partner_id.company_id),
            ("Dan Smith", "+442079461504", self.company),
        )
        self.assertEqual(acme.partner_id.name, "Acme")

    def test_the_query_count_does_not_grow_with_the_batch(self):
        def queries(first_number, count):
            self.env["res.partner"].create(
                [
                    {"name": f"P{number}", "phone": f"+44 20 7946 {number}"}
                    for number in range(first_number, first_number + count)
                ]
            )
            data = b"phone\n" + b"".join(
                b"020 7946 %d\n" % number for number in range(first_number, first_number + count)
            )
            before = self.env.cr.sql_log_count
            self.import_file(data, campaign=self.create_campaign(f"Batch of {count}"))
            return self.env.cr.sql_log_count - before

        queries(1800, 2)  # the caches an import fills once
        self.assertEqual(queries(1600, 3), queries(1700, 60))
        self.assertEqual(len(self.env["outbound.contact"].search([("partner_id.name", "=like", "P17%")])), 60)
