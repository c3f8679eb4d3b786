"""Odoo's phone blacklist: refused at import, marked at once, never dialled; the contact's phone
mixin reads the same number."""

from odoo.tests import tagged

from .dialer_common import DialerCase
from .test_contact_import import ContactImportCase

BANNED, ALLOWED = "+442079460541", "+442079460542"


@tagged("post_install", "-at_install")
class TestBlacklistAtImport(ContactImportCase):
    def test_blacklisted_numbers_are_refused_as_do_not_call(self):
        self.env["phone.blacklist"].create(
            [{"number": "+442079461401"}, {"number": "+442079461402", "active": False}]
        )
        data = b"firstname,phone\nAnn,020 7946 1401\nBob,020 7946 1402\n"
        wizard = self.import_file(data)
        self.assert_counts(wizard, imported=1)
        self.assertEqual(wizard.dnc_count, 1)
        self.assertIn("on the do-not-call list", self.rejects(wizard)[1][1])
        bob = self.contacts()
        self.assertEqual(bob.firstname, "Bob", "an entry taken off the blacklist no longer counts")
        self.assertEqual(bob.phone_sanitized, "+442079461402", "written by the import itself")
        self.assertFalse(bob.phone_sanitized_blacklisted)

    def test_blacklisting_stops_the_contacts_of_every_company(self):
        company_b = self.env["res.company"].create(
            {"name": "Company B", "country_id": self.env.ref("base.uk").id}
        )
        other = self.create_campaign("B", company_id=company_b.id, phones=("020 7946 0001",)).contact_ids
        first = self.campaign.contact_ids.sorted("id")[0]
        self.assertEqual(first.phone_sanitized, "+442079460001")
        self.env["phone.blacklist"]._add(["+442079460001"])
        self.assertEqual((first.state, other.state), ("dnc", "dnc"))
        self.assertTrue(first.phone_sanitized_blacklisted)


@tagged("post_install", "-at_install")
class TestBlacklistAtDialTime(DialerCase):
    def test_a_blacklisted_number_is_never_dialled(self):
        campaign = self.create_campaign("Blacklist", agents=self.agent, phones=[BANNED, ALLOWED])
        campaign.action_run_now()
        # Blacklisted behind the ORM's back (as SMS marketing's process would): only the dialer's
        # check stops it.
        self.env.flush_all()
        self.env.cr.execute("INSERT INTO phone_blacklist (number, active) VALUES (%s, true)", (BANNED,))
        banned = campaign.contact_ids.filtered(lambda c: c.phone_e164 == BANNED)
        sim = self.run_dialer(lambda: self.settled(campaign))
        self.assertEqual(banned.state, "dnc")
        self.assertFalse(banned.call_ids)
        dialled = [o.get("Variable") for o in sim.actions("Originate")]
        self.assertEqual(len(dialled), 1)
        self.assertNotIn(BANNED, dialled[0])
        self.assertIn(ALLOWED, dialled[0])
