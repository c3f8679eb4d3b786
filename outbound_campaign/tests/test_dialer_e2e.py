from collections import Counter
from datetime import date, datetime, timedelta, timezone

from odoo.tests import tagged

from pbxsim import Scenario

from .dialer_common import DialerCase

# Numbers of the UK drama range (Ofcom): fictional, valid for phonenumbers.
ANSWER, BUSY, NO_ANSWER, INVALID, CONGESTION = (f"+4420794600{n}" for n in (11, 12, 13, 14, 15))


@tagged("post_install", "-at_install")
class TestDialerEndToEnd(DialerCase):
    def campaign_with(self, numbers, **values):
        campaign = self.create_campaign(
            "Dialled",
            agents=self.agent | self.other_agent,
            phones=numbers,
            max_attempts=2,
            retry_delay_busy=0,
            retry_delay_failed=0,
            retry_delay_no_answer=0,
            **values,
        )
        campaign.action_run_now()
        return campaign

    def outcome_of(self, campaign, number):
        return campaign.contact_ids.filtered(lambda c: c.phone_e164 == number)

    def test_agent_first_from_run_now_to_done(self):
        numbers = [f"+4420794601{n:02d}" for n in range(8)]
        campaign = self.campaign_with(numbers)
        sim = self.run_dialer(lambda: self.settled(campaign))
        self.assertEqual(set(campaign.contact_ids.mapped("state")), {"done"})
        self.assertEqual(set(campaign.call_ids.mapped("outcome")), {"answered"})
        self.assertEqual(len(campaign.call_ids), 8, "one call per contact, none dialled twice")
        self.assertTrue(all(call.talk_duration >= 0 and call.end_at for call in campaign.call_ids))
        originates = sim.actions("Originate")
        self.assertEqual(len(originates), 8)
        self.assertEqual({o.get("Context") for o in originates}, {"oc-agent-first"})
        self.assertEqual({o.get("Channel") for o in originates}, {"PJSIP/2001", "PJSIP/2002"})
        self.assertEqual(set(self.agent.mapped("state")), {"ready"}, "agents are free again")
        self.env["outbound.campaign"]._cron_close_finished_campaigns()
        self.assertEqual(campaign.state, "done")

    def test_outcomes_retries_and_max_attempts(self):
        scenario = Scenario(
            seed=3,
            time_scale=0.01,
            overrides={
                ANSWER: "answer",
                BUSY: "busy",
                NO_ANSWER: "no_answer",
                INVALID: "invalid",
                CONGESTION: "congestion",
            },
        )
        campaign = self.campaign_with([ANSWER, BUSY, NO_ANSWER, INVALID, CONGESTION])
        self.run_dialer(lambda: self.settled(campaign), scenario=scenario)
        expected = {
            ANSWER: ("done", 1, "answered"),
            BUSY: ("failed", 2, "busy"),
            NO_ANSWER: ("failed", 2, "no_answer"),
            INVALID: ("failed", 1, "invalid_number"),
            CONGESTION: ("failed", 2, "congestion"),
        }
        for number, (state, attempts, outcome) in expected.items():
            contact = self.outcome_of(campaign, number)
            with self.subTest(number=number):
                self.assertEqual(
                    (contact.state, contact.attempt_count, contact.last_outcome), (state, attempts, outcome)
                )
                self.assertEqual(len(contact.call_ids), attempts)
                self.assertEqual(set(contact.call_ids.mapped("outcome")), {outcome})
        busy_calls = self.outcome_of(campaign, BUSY).call_ids
        self.assertEqual(set(busy_calls.mapped("hangup_cause")) & {"17"}, {"17"})

    def test_retry_delay_per_outcome(self):
        scenario = Scenario(seed=3, time_scale=0.01, overrides={BUSY: "busy", NO_ANSWER: "no_answer"})
        campaign = self.campaign_with([BUSY, NO_ANSWER])
        campaign.write({"retry_delay_busy": 15, "retry_delay_no_answer": 60, "max_attempts": 3})
        self.run_dialer(
            lambda: len(campaign.call_ids.filtered(lambda c: c.state == "ended")) == 2, scenario=scenario
        )
        for number, minutes in ((BUSY, 15), (NO_ANSWER, 60)):
            contact = self.outcome_of(campaign, number)
            ended = contact.call_ids.end_at
            with self.subTest(number=number):
                self.assertEqual(contact.state, "pending")
                self.assertEqual(contact.attempt_count, 1)
                delay = contact.next_attempt_at - ended
                self.assertGreaterEqual(delay, timedelta(minutes=minutes))
                self.assertLess(delay, timedelta(minutes=minutes, seconds=5))

    def test_client_first_from_run_now_to_done(self):
        numbers = [f"+4420794602{n:02d}" for n in range(6)]
        campaign = self.campaign_with(numbers, campaign_type="client_first", max_wait=30)
        sim = self.run_dialer(lambda: self.settled(campaign))
        self.assertEqual(set(campaign.contact_ids.mapped("state")), {"done"})
        self.assertEqual(set(campaign.call_ids.mapped("outcome")), {"answered"})
        self.assertTrue(all(call.agent_id and call.connect_at for call in campaign.call_ids))
        contexts = Counter(o.get("Context") for o in sim.actions("Originate"))
        self.assertEqual(contexts, {"oc-client-first": 6, "oc-agent-bridge": 6}, "one agent leg per call")

    def test_client_first_abandon_when_no_agent(self):
        campaign = self.campaign_with([ANSWER], campaign_type="client_first", max_wait=2)
        scenario = Scenario(
            seed=3,
            time_scale=0.01,
            overrides={ANSWER: "answer"},
            agent_overrides={"PJSIP/2001": "no_answer", "PJSIP/2002": "no_answer"},
        )
        self.run_dialer(
            lambda: campaign.call_ids and campaign.call_ids[0].state == "ended", scenario=scenario
        )
        self.assertEqual(campaign.call_ids[0].outcome, "abandoned")
        contact = campaign.contact_ids
        self.assertGreaterEqual(contact.next_attempt_at - campaign.call_ids[0].end_at, timedelta(hours=72))

    def test_calling_window_is_respected(self):
        campaign = self.campaign_with(
            [ANSWER], use_time_window=True, time_start=9.0, time_end=18.0, tz="Europe/London"
        )
        early = datetime(2026, 3, 10, 7, 0, tzinfo=timezone.utc)  # 07:00 in London (GMT in March)
        sim = self.run_dialer(lambda: campaign.contact_ids.next_attempt_at, clock=self.frozen_clock(early))
        self.assertFalse(sim.actions("Originate"), "nothing is dialled before the window opens")
        self.assertEqual(campaign.contact_ids.next_attempt_at, datetime(2026, 3, 10, 9, 0))
        self.assertEqual(campaign.contact_ids.state, "pending")

    def test_end_date_stops_dialling(self):
        campaign = self.campaign_with([ANSWER, BUSY])
        campaign.date_end = date(2026, 3, 9)  # the day before the dialer's clock
        sim = self.run_dialer(lambda: set(campaign.contact_ids.mapped("state")) == {"cancelled"})
        self.assertFalse(sim.actions("Originate"))
        self.env["outbound.campaign"].with_context(tz="Europe/London")._cron_close_finished_campaigns()
        self.assertEqual(campaign.state, "done")
