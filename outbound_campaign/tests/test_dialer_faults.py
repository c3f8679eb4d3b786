from collections import Counter

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from pbxsim import Scenario

from .common import OutboundCampaignCase
from .dialer_common import DialerCase

# What the simulator decided for a customer → the outcome the dialer must store.
SIMULATED = {
    "answer": "answered",
    "busy": "busy",
    "no_answer": "no_answer",
    "invalid": "invalid_number",
    "congestion": "congestion",
}
MIX = {"answer": 0.5, "busy": 0.15, "no_answer": 0.15, "invalid": 0.1, "congestion": 0.1}


@tagged("post_install", "-at_install")
class TestDialerFaults(DialerCase):
    def running_campaign(self, count, **values):
        campaign = self.create_campaign(
            "Faults",
            agents=self.agent | self.other_agent,
            phones=[f"+4420794603{n:02d}" for n in range(count)],
            max_attempts=1,
            retry_delay_failed=0,  # an Originate lost with the link is dialled again at once
            **values,
        )
        campaign.action_run_now()
        return campaign

    @staticmethod
    def true_outcome(campaign, simulated):
        """What the simulated Asterisk really did with the call, in our outcome names."""
        if campaign.campaign_type == "agent_first":
            return SIMULATED[simulated.dial_outcome]
        return "abandoned" if simulated.abandoned else SIMULATED[simulated.outcome]

    def assert_true_outcomes(self, campaign, sim):
        """Every call has the outcome the simulator decided; each contact reached once per attempt.

        An Originate that could not be written (the link was down at that instant) leaves a call
        row ended ``failed`` with its error, one lost with the link ends ``unknown`` after the
        grace period; neither charges an attempt: the contact is dialled again.
        """
        calls = campaign.call_ids
        self.assertFalse(calls.filtered(lambda c: c.state != "ended"), "no call left open")
        self.assertFalse(campaign.contact_ids.filtered(lambda c: c.state == "in_progress"))
        simulated = {call.uuid: call for call in sim.calls}
        for call in calls:
            with self.subTest(call=call.uuid):
                if call.uuid not in simulated:  # never reached Asterisk: nothing was rung
                    self.assertIn(call.outcome, ("failed", "unknown"))
                    continue
                self.assertEqual(call.outcome, self.true_outcome(campaign, simulated[call.uuid]))
        reached = Counter(call.contact_id.id for call in calls if call.uuid in simulated)
        self.assertEqual(
            reached, Counter(dict.fromkeys(campaign.contact_ids.ids, 1)), "each contact dialled once"
        )
        charged = {
            c.phone_e164: (c.attempt_count, c.call_ids.mapped("outcome")) for c in campaign.contact_ids
        }
        self.assertEqual({attempts for attempts, _outcomes in charged.values()}, {1}, charged)
        originated = Counter(o.get("ChannelId") for o in sim.actions("Originate"))
        self.assertEqual(set(originated.values()), {1}, "no Originate was sent twice")

    def test_connection_cut_20_times(self):
        campaign = self.running_campaign(40)
        scenario = Scenario(seed=11, time_scale=0.02, mix=MIX)
        cuts = []

        def cut(sim):
            if len(cuts) < 20 and len(sim.calls) > len(cuts):
                sim.drop_connections()
                cuts.append(len(sim.calls))

        sim = self.run_dialer(
            lambda: len(cuts) == 20 and self.settled(campaign), scenario=scenario, during=cut, timeout=60
        )
        self.assertEqual(len(cuts), 20)
        self.assert_true_outcomes(campaign, sim)

    def test_connection_cut_client_first(self):
        campaign = self.running_campaign(24, campaign_type="client_first", max_wait=30)
        scenario = Scenario(seed=5, time_scale=0.02, mix=MIX)
        cuts = []

        def cut(sim):
            if len(cuts) < 10 and len(sim.calls) >= 3 * len(cuts) + 2:
                sim.drop_connections()
                cuts.append(len(sim.calls))

        sim = self.run_dialer(
            lambda: len(cuts) == 10 and self.settled(campaign), scenario=scenario, during=cut, timeout=60
        )
        self.assert_true_outcomes(campaign, sim)

    def test_asterisk_shutdown_and_restart(self):
        campaign = self.running_campaign(10)
        scenario = Scenario(seed=2, time_scale=0.02, mix={"answer": 1.0}, talk_time=(20.0, 40.0))
        shutdowns = []

        def shutdown(sim):
            if not shutdowns and len(sim.calls) >= 2:
                sim.run(sim.shutdown(restart=True))
                shutdowns.append(True)

        sim = self.run_dialer(
            lambda: (
                shutdowns
                and not campaign.contact_ids.filtered(lambda c: c.state in ("pending", "in_progress"))
            ),
            scenario=scenario,
            during=shutdown,
        )
        calls = campaign.call_ids
        self.assertFalse(calls.filtered(lambda c: c.state != "ended"))
        # Calls hung up by the shutdown after the agent answered: their outcome comes from AstDB.
        # Calls still ringing the agent never reached the customer: the contact is dialled again.
        self.assertEqual(set(campaign.contact_ids.mapped("state")), {"done"})
        answered = calls.filtered(lambda c: c.outcome == "answered")
        self.assertEqual(sorted(answered.contact_id.ids), sorted(campaign.contact_ids.ids))
        self.assertLessEqual(set((calls - answered).mapped("outcome")), {"agent_no_answer"})
        charged = {
            c.phone_e164: (c.attempt_count, c.call_ids.mapped("outcome")) for c in campaign.contact_ids
        }
        self.assertEqual({attempts for attempts, _outcomes in charged.values()}, {1}, charged)
        originated = Counter(o.get("ChannelId") for o in sim.actions("Originate"))
        self.assertEqual(set(originated.values()), {1}, "no Originate was sent twice")
        self.assertEqual(len(originated), len(calls))


@tagged("post_install", "-at_install")
class TestDialerInjection(DialerCase):
    """Every value a user controls that reaches an AMI header: refused where it is entered, and
    — should one get into the database some other way — refused again before anything is sent."""

    INJECTION = "1\r\nAction: Command\r\nCommand: core stop now\r\n"

    def test_refused_where_entered(self):
        campaign = self.create_campaign("Safe", agents=self.agent, phones=("020 7946 0400",))
        attempts = [
            (campaign, "caller_id_number", "+44207946" + self.INJECTION),
            (campaign, "caller_id_name", "ACME" + self.INJECTION),
            (campaign, "hold_message", "hold" + self.INJECTION),
            (campaign, "abandon_message", "../../etc/passwd"),
            (self.agent, "channel", "PJSIP/1001" + self.INJECTION),
            (self.server, "customer_dial_template", "PJSIP/{number}@trunk" + self.INJECTION),
            (self.server, "username", "dialer" + self.INJECTION),
        ]
        for record, field_name, value in attempts:
            with self.subTest(field=field_name), self.assertRaises(ValidationError):
                record.write({field_name: value})
        with self.assertRaises(ValidationError):
            self.env["outbound.contact"].create(
                {"campaign_id": campaign.id, "phone": "+4420794604" + self.INJECTION}
            )
        with self.assertRaises(ValidationError):
            campaign.write({"name": "Campaign" + self.INJECTION})

    def test_refused_before_sending(self):
        """Values written straight into the tables (no ORM check) never reach the wire."""
        campaign = self.create_campaign(
            "Bypassed", agents=self.agent | self.other_agent, phones=("020 7946 0401", "020 7946 0402")
        )
        campaign.action_run_now()
        first, second = campaign.contact_ids
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(
            "UPDATE outbound_contact SET phone_e164 = %s WHERE id = %s", ("+44" + self.INJECTION, first.id)
        )
        cr.execute(
            "UPDATE outbound_agent SET channel = %s WHERE id = %s",
            ("PJSIP/2001" + self.INJECTION, self.agent.id),
        )
        self.env.invalidate_all()
        sim = self.run_dialer(lambda: first.state == "failed" and second.state == "done", timeout=20)
        self.assertEqual(
            {logged.name for logged in sim.actions_log} - {"Login", "Logoff", "Ping", "DeviceStateList"},
            {"Originate"},
        )
        self.assertFalse([logged for logged in sim.actions_log if "Command" in str(logged.headers)])
        self.assertEqual(
            [o.get("Channel") for o in sim.actions("Originate")], ["PJSIP/2002"], "the safe agent only"
        )
        self.assertEqual(first.last_outcome, "invalid_number")
        self.assertFalse(first.call_ids, "nothing was dialled for the unsafe number")


@tagged("post_install", "-at_install")
class TestDefectEBadRows(DialerCase):
    """A row that cannot be stored as it was never stops a dialer server."""

    def running_campaign(self, name):
        campaign = self.create_campaign(
            name,
            agents=self.agent | self.other_agent,
            phones=[f"+4420794605{n:02d}" for n in range(6)],
            max_attempts=1,
        )
        campaign.action_run_now()
        return campaign

    def test_defect_e_agent_deleted_during_its_call(self):
        campaign = self.running_campaign("Deleted agent")
        scenario = Scenario(seed=3, time_scale=0.02, mix={"answer": 1.0}, talk_time=(20.0, 40.0))
        agent_id, cr, deleted_during = self.agent.id, self.env.cr, []

        def delete_agent_on_call(_sim):
            if deleted_during:
                return
            cr.execute(
                "SELECT current_call_id FROM outbound_agent WHERE id = %s AND state = 'on_call'", [agent_id]
            )
            row = cr.fetchone()
            if row:  # behind the ORM's back, as a script or another module might
                cr.execute("DELETE FROM outbound_agent WHERE id = %s", [agent_id])
                deleted_during.append(row[0])

        self.run_dialer(
            lambda: deleted_during and self.settled(campaign), scenario=scenario, during=delete_agent_on_call
        )
        call = self.env["outbound.call"].browse(deleted_during[0])
        self.assertEqual((call.state, call.outcome), ("ended", "answered"), "its result is stored")
        self.assertFalse(call.agent_id)
        self.assertEqual(call.contact_id.state, "done")
        self.assertEqual(set(campaign.contact_ids.mapped("state")), {"done"}, "later turns dialled the rest")
        self.assertEqual(len(campaign.call_ids), 6)

    def test_defect_e_contact_deleted_during_its_call(self):
        campaign = self.running_campaign("Deleted contact")
        scenario = Scenario(seed=3, time_scale=0.02, mix={"answer": 1.0}, talk_time=(20.0, 40.0))
        cr, deleted = self.env.cr, []

        def delete_contact_on_call(_sim):
            cr.execute(
                "SELECT contact_id, agent_id FROM outbound_call WHERE campaign_id = %s AND state = 'connected'",
                [campaign.id],
            )
            row = cr.fetchone()
            if not deleted and row:  # its calls go with it (ondelete cascade)
                cr.execute("DELETE FROM outbound_contact WHERE id = %s", [row[0]])
                deleted.append(row)

        agents = self.agent | self.other_agent
        self.run_dialer(
            lambda: (
                deleted
                and set(campaign.contact_ids.mapped("state")) == {"done"}
                and set(agents.mapped("state")) == {"ready"}
            ),
            scenario=scenario,
            during=delete_contact_on_call,
        )
        self.assertEqual(len(campaign.contact_ids), 5)
        self.assertEqual(len(campaign.call_ids), 5, "the others dialled once each")

    def test_defect_e_a_row_that_cannot_be_stored_is_set_aside(self):
        campaign = self.running_campaign("Refused row")
        refused = campaign.contact_ids[0]
        # A stand-in for any row PostgreSQL refuses: the end of the first contact's call.
        self.env.cr.execute(
            """CREATE FUNCTION outbound_test_refuse() RETURNS trigger LANGUAGE plpgsql
                   AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
               CREATE TRIGGER outbound_test_refuse BEFORE UPDATE ON outbound_call FOR EACH ROW
                 WHEN (NEW.state = 'ended' AND NEW.contact_id = %s) EXECUTE FUNCTION outbound_test_refuse()""",
            [refused.id],
        )
        agents = self.agent | self.other_agent
        with self.assertLogs("odoo.addons.outbound_campaign.host.store", "ERROR") as logs:
            self.run_dialer(
                lambda: (
                    set((campaign.contact_ids - refused).mapped("state")) == {"done"}
                    and set(agents.mapped("state")) == {"ready"}
                )
            )
        self.assertEqual(len(refused.call_ids), 1)
        self.assertNotEqual(refused.call_ids.state, "ended", "the refused row was not stored")
        self.assertIn(refused.call_ids.uuid, "\n".join(logs.output), "logged with its call's uuid")
        self.assertEqual(len(campaign.call_ids), 6, "no contact dialled twice")


@tagged("post_install", "-at_install")
class TestDefectEAgentOnACall(OutboundCampaignCase):
    def test_defect_e_agent_on_a_call_cannot_be_deleted_or_archived(self):
        for state in ("ringing", "on_call"):
            self.agent.state = state
            with self.subTest(state=state), self.assertRaisesRegex(UserError, "is on a call"):
                self.agent.unlink()
            with self.subTest(state=state), self.assertRaisesRegex(UserError, "is on a call"):
                self.agent.action_archive()
        self.agent.state = "wrap_up"
        self.agent.action_archive()
        self.assertFalse(self.agent.active)
        self.agent.unlink()
        self.assertFalse(self.agent.exists())
