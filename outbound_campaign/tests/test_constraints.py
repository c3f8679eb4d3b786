from datetime import date

from psycopg2 import IntegrityError

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import OutboundCampaignCase


@tagged("post_install", "-at_install")
class TestCampaignConstraints(OutboundCampaignCase):
    def test_end_date_after_start_date(self):
        with self.assertRaisesRegex(ValidationError, "end date"):
            self.campaign.write({"date_start": date(2026, 5, 10), "date_end": date(2026, 5, 9)})
        self.campaign.write({"date_start": date(2026, 5, 10), "date_end": date(2026, 5, 10)})

    def test_dates_are_optional(self):
        self.campaign.write({"date_start": False, "date_end": False})
        self.campaign.action_run_now()
        self.assertEqual(self.campaign.state, "running")

    def test_window_end_after_start(self):
        with self.assertRaisesRegex(ValidationError, "end time"):
            self.campaign.write({"use_time_window": True, "time_start": 15.0, "time_end": 10.0})
        with self.assertRaisesRegex(ValidationError, "between 00:00 and 24:00"):
            self.campaign.write({"use_time_window": True, "time_start": -1.0, "time_end": 10.0})
        self.campaign.write({"use_time_window": True, "time_start": 10.0, "time_end": 15.0})

    def test_window_not_checked_when_off(self):
        self.campaign.write({"use_time_window": False, "time_start": 15.0, "time_end": 10.0})

    def test_at_least_one_weekday(self):
        with self.assertRaisesRegex(ValidationError, "at least one weekday"):
            self.campaign.write(dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), False))

    @mute_logger("odoo.sql_db")
    def test_dial_timeout_at_least_15_seconds(self):
        self.assertEqual(self.campaign.dial_timeout, 25)
        with self.assertRaises(IntegrityError):
            self.campaign.dial_timeout = 14
            self.campaign.flush_recordset()

    @mute_logger("odoo.sql_db")
    def test_abandon_cap_is_a_percentage(self):
        self.assertEqual(self.campaign.abandon_rate_cap, 3.0)
        with self.assertRaises(IntegrityError):
            self.campaign.abandon_rate_cap = 101
            self.campaign.flush_recordset()

    @mute_logger("odoo.sql_db")
    def test_max_attempts_positive(self):
        with self.assertRaises(IntegrityError):
            self.campaign.max_attempts = 0
            self.campaign.flush_recordset()


@tagged("post_install", "-at_install")
class TestContactConstraints(OutboundCampaignCase):
    def test_national_number_normalised_in_campaign_country(self):
        contact = self.campaign.contact_ids[0]
        self.assertEqual(contact.phone, "020 7946 0001")
        self.assertEqual(contact.phone_e164, "+442079460001")

    def test_country_of_campaign_wins_over_company(self):
        french = self.create_campaign("FR", country_id=self.env.ref("base.fr").id, phones=("01 99 00 10 10",))
        self.assertEqual(french.contact_ids.phone_e164, "+33199001010")

    def test_invalid_number_refused(self):
        with self.assertRaisesRegex(ValidationError, "not a valid phone number"):
            self.env["outbound.contact"].create({"campaign_id": self.campaign.id, "phone": "12"})

    @mute_logger("odoo.sql_db")
    def test_a_record_enrolled_once_in_a_campaign(self):
        Contact = self.env["outbound.contact"]
        partner = self.env["res.partner"].create({"name": "Enrolled", "phone": "020 7946 0999"})
        enrolled = {"campaign_id": self.campaign.id, "phone": "020 7946 0999"}
        enrolled.update(list_model="res.partner", list_res_id=partner.id)
        Contact.create(enrolled)
        # The contacts of no list are left out of the unique index: as many as the campaign has.
        Contact.create(
            [
                {"campaign_id": self.campaign.id, "phone": phone}
                for phone in ("020 7946 0997", "020 7946 0998")
            ]
        )
        with self.assertRaises(IntegrityError), self.cr.savepoint():
            Contact.create(enrolled)
        other = self.create_campaign("Other", phones=())
        Contact.create({**enrolled, "campaign_id": other.id})

    def test_control_characters_refused(self):
        Contact = self.env["outbound.contact"]
        for field_name, value in (
            ("lastname", "Smith\r\nAction: Originate"),
            ("firstname", "Bob\x00"),
            ("enterprise", "ACME\n"),
        ):
            with self.subTest(field=field_name), self.assertRaisesRegex(ValidationError, "control character"):
                Contact.create({"campaign_id": self.campaign.id, "phone": "020 7946 0005", field_name: value})

    def test_display_name(self):
        contact = self.env["outbound.contact"].create(
            {"campaign_id": self.campaign.id, "phone": "020 7946 0006", "firstname": "Big", "lastname": "Ben"}
        )
        self.assertEqual(contact.display_name, "Big Ben")
        self.assertEqual(self.campaign.contact_ids[0].display_name, "020 7946 0001")


@tagged("post_install", "-at_install")
class TestAgentAndServerConstraints(OutboundCampaignCase):
    @mute_logger("odoo.sql_db")
    def test_one_agent_per_user(self):
        with self.assertRaises(IntegrityError):
            self.env["outbound.agent"].create({"user_id": self.user_agent.id, "channel": "PJSIP/2009"})

    def test_agent_channel_shape(self):
        # The dial-string rule of dialer/rules.py, as for a customer's dial string.
        for channel in (
            "PJSIP/2001\r\nAction: Command",
            "2001",
            "PJSIP/",
            "PJSIP/20 01",
            "PJSIP/1,2",
            "PJSIP/1&SIP/2",
        ):
            with (
                self.subTest(channel=channel),
                self.assertRaisesRegex(ValidationError, "not an Asterisk channel"),
            ):
                self.agent.channel = channel
        for channel in ("Local/1001@agents", "PJSIP/agent-7", "PJSIP/sip:1001@pbx.example.net:5060"):
            self.agent.channel = channel

    def test_dial_template_placeholders(self):
        for template in ("PJSIP/{number}@trunk", "SIP/{digits}@provider", "DAHDI/g1/{national}"):
            self.server.customer_dial_template = template
        for template, message in (
            ("PJSIP/{phone}@trunk", "is not a placeholder"),
            ("PJSIP/0123@trunk", "holds no placeholder"),
            ("PJSIP/{number}@trunk,30", "cannot be dialled as it is"),
            ("PJSIP/{number}@trunk\r\nAction: Command", "cannot be dialled as it is"),
        ):
            with self.subTest(template=template), self.assertRaisesRegex(ValidationError, message):
                self.server.customer_dial_template = template

    def test_server_host_and_user_tokens(self):
        with self.assertRaises(ValidationError):
            self.server.username = "dialer\r\nAction: Command"
        with self.assertRaises(ValidationError):
            self.server.host = "pbx example"
