"""When a contact may be called, and what a call charges: the trunk refusing calls (defect c),
the contact's own clock (defect d), the 72 h after an abandoned call, per number (defect j)."""

from datetime import timedelta

from odoo.exceptions import ValidationError
from odoo.tests import tagged

from pbxsim import Scenario

from .dialer_common import TUESDAY_10AM, DialerCase

NUMBERS = [f"+4420794607{n:02d}" for n in range(10, 15)]
#: A Russian mobile number rings in 16 zones, from Bucharest (UTC+2) to Anadyr (UTC+12).
RUSSIAN_MOBILE = "+79161234567"


def naive(moment):
    return moment.replace(tzinfo=None)


@tagged("post_install", "-at_install")
class TestDialerAttempts(DialerCase):
    def ended_calls(self, campaign):
        return campaign.call_ids.filtered(lambda call: call.state == "ended")

    # -- defect c -------------------------------------------------------------------------------

    def test_defect_c_a_trunk_refusing_calls_charges_no_attempt_in_either_flow(self):
        """The customer dial template names a channel driver this Asterisk lacks: every Dial()
        ends CHANUNAVAIL before any channel exists."""
        self.server.customer_dial_template = "IAX2/{digits}"
        scenario = Scenario(seed=5, time_scale=0.01, technologies=frozenset({"PJSIP", "Local"}))
        for campaign_type in ("agent_first", "client_first"):
            with self.subTest(campaign_type=campaign_type):
                campaign = self.create_campaign(
                    f"Refused {campaign_type}",
                    agents=self.agent | self.other_agent,
                    phones=NUMBERS,
                    campaign_type=campaign_type,
                    max_attempts=1,
                    retry_delay_failed=0,
                )
                campaign.action_run_now()
                contacts = campaign.contact_ids
                self.run_dialer(
                    lambda campaign=campaign, contacts=contacts: (
                        len(self.ended_calls(campaign)) >= len(NUMBERS)
                        and "in_progress" not in contacts.mapped("state")
                    ),
                    scenario=scenario,
                )
                campaign.action_pause()
                calls = self.ended_calls(campaign)
                self.assertEqual(set(calls.mapped("outcome")), {"trunk_refused"})
                self.assertEqual(len(calls), len(NUMBERS), "no contact dialled again at once")
                for contact in contacts:
                    self.assertEqual(
                        (contact.state, contact.attempt_count, contact.last_outcome),
                        ("pending", 0, "trunk_refused"),
                    )
                    # no failure delay: the floor alone holds the contact back
                    self.assertGreaterEqual(
                        contact.next_attempt_at - contact.call_ids.end_at, timedelta(minutes=5)
                    )
                self.assertIn(campaign.id, campaign._dashboard_trunk_refusals(), "the card says so")

    # -- defect d -------------------------------------------------------------------------------

    def test_defect_d_an_unknown_time_zone_is_refused_at_save(self):
        contact = self.campaign.contact_ids[0]
        with self.assertRaisesRegex(ValidationError, "Mars/Olympus_Mons is not a known time zone"):
            contact.write({"tz": "Mars/Olympus_Mons"})
        contact.write({"tz": "America/Los_Angeles"})
        self.assertEqual(contact.tz, "America/Los_Angeles")

    def test_defect_d_zones_that_never_share_calling_hours_cancel_the_contact_with_the_reason(self):
        campaign = self.create_campaign(
            "Office hours",
            agents=self.agent,
            phones=(RUSSIAN_MOBILE,),
            use_time_window=True,
            time_start=9.0,
            time_end=17.0,
            tz="Europe/London",
        )
        campaign.action_run_now()
        contact = campaign.contact_ids
        sim = self.run_dialer(lambda: contact.state != "pending")
        self.assertFalse(sim.actions("Originate"))
        self.assertEqual(contact.state, "cancelled")
        self.assertIn("Asia/Anadyr", contact.message_ids[0].body)
        self.assertIn("Set the contact", contact.message_ids[0].body)

    # -- defect j -------------------------------------------------------------------------------

    def test_defect_j_no_client_first_call_to_a_number_abandoned_within_72_hours(self):
        """An abandoned call to a number an hour ago: no other client-first campaign of the company
        calls it, nor a duplicate contact; an agent-first campaign may (its agent is on the line)."""
        number = NUMBERS[0]
        first = self.create_campaign(
            "Abandoned", agents=self.agent, phones=(number, number), campaign_type="client_first"
        )
        abandoned, duplicate = first.contact_ids
        abandoned_at = TUESDAY_10AM - timedelta(hours=1)
        self.env["outbound.call"].create(
            {
                "campaign_id": first.id,
                "contact_id": abandoned.id,
                "phone_e164": number,
                "state": "ended",
                "outcome": "abandoned",
                "start_at": naive(abandoned_at - timedelta(minutes=1)),
                "end_at": naive(abandoned_at),
            }
        )
        # as the dialer left it: not before 72 h
        abandoned.write(
            {
                "attempt_count": 1,
                "last_outcome": "abandoned",
                "next_attempt_at": naive(abandoned_at + timedelta(hours=72)),
            }
        )
        other = self.create_campaign(
            "Other client first",
            agents=self.agent,
            phones=(number,),
            campaign_type="client_first",
            max_wait=30,
        )
        agent_first = self.create_campaign("Agent first", agents=self.other_agent, phones=(number,))
        for campaign in (first, other, agent_first):
            campaign.action_run_now()
        held = duplicate | other.contact_ids
        sim = self.run_dialer(
            lambda: all(held.mapped("next_attempt_at")) and self.settled(agent_first),
        )
        self.assertEqual(agent_first.contact_ids.state, "done", "an agent-first call may")
        self.assertEqual(len(sim.actions("Originate")), 1)
        for contact in held:
            with self.subTest(campaign=contact.campaign_id.name):
                self.assertFalse(contact.call_ids)
                self.assertEqual((contact.state, contact.attempt_count), ("pending", 0))
                self.assertEqual(contact.next_attempt_at, naive(abandoned_at + timedelta(hours=72)))
