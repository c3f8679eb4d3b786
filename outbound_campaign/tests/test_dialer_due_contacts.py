"""The due contacts of every running campaign in one statement (``DialerStore.due_contacts``) and
when each campaign's next contact falls due (``DialerStore.next_due``)."""

from datetime import datetime, timedelta, timezone

from odoo.tests import tagged

from ..host.store import DialerStore
from .common import OutboundCampaignCase

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=timezone.utc)


def naive(moment):
    return moment.replace(tzinfo=None)


@tagged("post_install", "-at_install")
class TestDialerDueContacts(OutboundCampaignCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.store = DialerStore(cls.registry, cls.server.id, "test@localhost:0")
        cls.first = cls.create_campaign(
            "First", agents=cls.agent, phones=[f"+4420794606{n:02d}" for n in range(6)]
        )
        cls.second = cls.create_campaign(
            "Second", agents=cls.agent, phones=[f"+4420794607{n:02d}" for n in range(3)]
        )
        cls.idle = cls.create_campaign("Idle", agents=cls.agent, phones=["+442079460800"])
        a, b, c, d, e, f = cls.first.contact_ids.sorted("id")
        # a: due long ago; b: never tried (due first); c: due later; d: reserved for an agent;
        # e: on the do-not-call list; f: due a minute ago.
        a.next_attempt_at = naive(NOW - timedelta(hours=2))
        c.next_attempt_at = naive(NOW + timedelta(minutes=30))
        d.assigned_agent_id = cls.agent
        f.next_attempt_at = naive(NOW - timedelta(minutes=1))
        # Listed behind the model's back (the model would mark it at once): the selection finds it.
        cls.env.flush_all()
        cls.env.cr.execute(
            "INSERT INTO outbound_do_not_call (company_id, phone_e164, source) VALUES (%s, %s, 'manual')",
            (cls.company.id, e.phone_e164),
        )
        cls.contacts = {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}
        later = cls.second.contact_ids.sorted("id")
        later[0].next_attempt_at = naive(NOW + timedelta(minutes=5))
        later[1].next_attempt_at = naive(NOW + timedelta(minutes=2))
        later[2].next_attempt_at = naive(NOW + timedelta(minutes=2))
        cls.env.flush_all()

    def test_each_campaign_up_to_its_limit_oldest_due_first(self):
        k = self.contacts
        due = self.store.due_contacts(self.env, {self.first.id: 10, self.second.id: 3, self.idle.id: 0}, NOW)
        self.assertEqual(set(due), {self.first.id, self.second.id}, "a campaign with no room is not read")
        self.assertEqual(
            [contact.id for contact in due[self.first.id]],
            [k["b"].id, k["a"].id, k["f"].id],
            "never tried first, then by due time; not the reserved, the later nor the listed one",
        )
        self.assertEqual(due[self.second.id], [], "nothing due yet")
        self.assertTrue(all(contact.campaign_id == self.first.id for contact in due[self.first.id]))
        k["e"].invalidate_recordset(["state"])
        self.assertEqual(k["e"].state, "dnc", "a listed number is marked, never offered")
        self.assertEqual(k["c"].state, "pending")
        limited = self.store.due_contacts(self.env, {self.first.id: 2}, NOW)
        self.assertEqual([contact.id for contact in limited[self.first.id]], [k["b"].id, k["a"].id])

    def test_next_due_per_campaign(self):
        self.assertEqual(
            self.store.next_due(self.env, [self.first.id, self.second.id, self.idle.id], NOW),
            {
                self.first.id: NOW + timedelta(minutes=30),
                self.second.id: NOW + timedelta(minutes=2),
            },
            "the idle campaign has nothing due later: left out",
        )
