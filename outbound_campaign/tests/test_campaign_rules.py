"""Defects b and f of issue 9: what the dialer cannot dial is refused at save, with the reason, and
the calls in flight of a campaign that can no longer dial are still stored."""

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from pbxsim import Scenario

from ..host.store import DialerStore
from .common import OutboundCampaignCase
from .dialer_common import DialerCase


@tagged("post_install", "-at_install")
class TestDefectBDialTemplate(OutboundCampaignCase):
    def test_defect_b_real_trunk_names_are_accepted(self):
        for template in (
            "PJSIP/{number}@my-trunk",
            "PJSIP/{digits}@sip.example.net",
            "SIP/provider/{digits}",
            "DAHDI/g1/{national}",
            "PJSIP/my_trunk/sip:{number}@sip.example.net:5060",
        ):
            self.server.customer_dial_template = template
            self.assertEqual(self.server.customer_dial_template, template)

    def test_defect_b_what_cannot_be_dialled_as_it_is_is_refused_with_the_reason(self):
        for template, reason in (
            ("PJSIP/{number}@trunk&PJSIP/1001", "'&' cannot be dialled as it is"),
            ("PJSIP/{number}@trunk,30,D(1)", "',' cannot be dialled as it is"),
            ("PJSIP/{number}@my trunk", "' ' cannot be dialled as it is"),
            ("PJSIP/1001@trunk", "holds no placeholder"),
            ("{number}@trunk", "a technology, a slash"),
        ):
            with self.subTest(template=template), self.assertRaises(ValidationError) as refused:
                self.server.customer_dial_template = template
            message = str(refused.exception)
            self.assertIn(reason, message)
            self.assertIn("letters, digits and + / @ . _ : - only", message)
            self.assertIn("PJSIP/{number}@my-trunk", message)


@tagged("post_install", "-at_install")
class TestDefectFRunningCampaign(OutboundCampaignCase):
    """A running campaign is one the engine dials: it refuses at save whatever would make the dialer
    skip it."""

    def test_defect_f_running_campaign_keeps_its_caller_id(self):
        self.campaign.action_run_now()
        with self.assertRaisesRegex(ValidationError, "needs a caller ID number"):
            self.campaign.caller_id_number = False
        self.campaign.action_pause()
        self.campaign.caller_id_number = False  # a paused campaign may be edited freely
        with self.assertRaises(UserError):
            self.campaign.action_resume()

    def test_defect_f_running_client_first_campaign_keeps_its_messages(self):
        self.campaign.campaign_type = "client_first"
        self.campaign.action_run_now()
        for field_name in ("hold_message", "abandon_message"):
            with self.subTest(field=field_name), self.assertRaisesRegex(ValidationError, "hold message"):
                self.campaign[field_name] = False

    def test_defect_f_run_now_refuses_what_the_engine_would_skip(self):
        self.campaign.write({"campaign_type": "client_first", "hold_message": False})
        with self.assertRaisesRegex(ValidationError, "hold message"):
            self.campaign.action_run_now()

    def test_defect_f_every_shape_the_engine_refuses_is_refused(self):
        """The last net: the engine's own view of the campaign is built and checked at save."""
        self.campaign.action_run_now()
        with self.assertRaisesRegex(ValidationError, "cannot dial it as it is"):
            self.campaign.abandon_rate_cap = 100


@tagged("post_install", "-at_install")
class TestDefectFCallsInFlight(DialerCase):
    def test_defect_f_calls_in_flight_of_a_campaign_that_can_no_longer_dial_are_stored(self):
        """The caller ID is cleared behind the model's back while a call is up: the dialer stops
        dialling the campaign, and the call's end is still stored (call, contact, agent)."""
        campaign = self.create_campaign("Cleared", agents=self.agent, phones=("020 7946 0500",))
        campaign.action_run_now()
        contact = campaign.contact_ids
        # Customers talk until the test hangs them up.
        scenario = Scenario(seed=3, time_scale=0.01, mix={"answer": 1.0}, talk_time=(100000.0, 100000.0))
        load_campaigns = DialerStore.load_campaigns
        dialled = []  # the campaigns each load for dialling returned

        def recording_load_campaigns(store, now, ids=None):
            views = load_campaigns(store, now, ids)
            if ids is None:
                dialled.append({view.id for view in views})
            return views

        self.patch(DialerStore, "load_campaigns", recording_load_campaigns)
        cleared = []

        def clear_then_hang_up(sim):
            if not cleared and campaign.call_ids.filtered(
                lambda call: call.state in ("answered", "connected")
            ):
                self.env.cr.execute(
                    "UPDATE outbound_campaign SET caller_id_number = NULL WHERE id = %s", [campaign.id]
                )
                cleared.append(len(dialled))
            elif cleared and any(campaign.id not in ids for ids in dialled[cleared[0] :]):
                # The dialer reloaded the campaign and left it out of dialling: end the call now.
                sim.run(sim.pbx.hangup_all())

        self.run_dialer(
            lambda: cleared and contact.state != "in_progress" and campaign.call_ids.state == "ended",
            scenario=scenario,
            during=clear_then_hang_up,
            timeout=30,
        )
        call = campaign.call_ids
        self.assertEqual((call.state, call.outcome), ("ended", "answered"))
        self.assertEqual(contact.state, "done")
        self.assertNotIn(self.agent.state, ("on_call", "ringing"))
        self.assertFalse(self.agent.current_call_id)
