import logging
import tempfile
import uuid as uuids
from datetime import datetime, timedelta, timezone
from pathlib import Path

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from ..dialer.amd import AmdSettings
from ..dialer.views import RetryDelays
from ..host.leave_message import take_requests
from ..host.recordings import MISSING_AFTER, fetch_recordings
from .common import OutboundCampaignCase


@tagged("post_install", "-at_install")
class TestAnsweringMachines(OutboundCampaignCase):
    """The campaign's detection settings, as the manager sets them and as the engine reads them."""

    def test_defaults_are_asterisks_and_off(self):
        view = self.campaign._dialer_view(self.server.id)
        self.assertEqual(view.amd, AmdSettings())
        self.assertEqual(
            (view.retry_delays.machine, view.retry_delays.machine_message_left),
            (RetryDelays.machine, RetryDelays.machine_message_left),
        )

    def test_settings_reach_the_engine(self):
        self.campaign.write(
            {
                "amd_enabled": True,
                "amd_greeting": 1200,
                "machine_action": "message",
                "machine_message": "outbound/drop",
                "retry_delay_machine": 30,
            }
        )
        view = self.campaign._dialer_view(self.server.id)
        self.assertEqual(
            (view.amd.enabled, view.amd.greeting, view.amd.message), (True, 1200, "outbound/drop")
        )
        self.assertEqual(view.retry_delays.machine, timedelta(minutes=30))

    def test_bad_settings_are_refused_with_a_clear_message(self):
        with self.assertRaisesRegex(ValidationError, "within their bounds"):
            self.create_campaign("Too long", amd_greeting=60000)
        with self.assertRaisesRegex(ValidationError, "not an Asterisk sound name"):
            self.create_campaign("Bad sound", machine_message="drop,now")
        with self.assertRaisesRegex(ValidationError, "choose the message"):
            self.create_campaign("No message", amd_enabled=True, machine_action="message")
        with self.assertRaisesRegex(ValidationError, "not an Asterisk sound name"):
            self.create_campaign("Bad announcement", record_calls=True, record_announcement="a b")

    def test_the_dashboard_counts_machines_apart_from_answers(self):
        self.campaign.amd_enabled = True
        now = datetime.now(timezone.utc).replace(microsecond=0)
        end = fields.Datetime.to_string(now.replace(tzinfo=None) - timedelta(minutes=1))
        contact = self.campaign.contact_ids[0]
        self.env["outbound.call"].create(
            [
                {
                    "campaign_id": self.campaign.id,
                    "contact_id": contact.id,
                    "state": "ended",
                    "outcome": outcome,
                    "end_at": end,
                }
                for outcome in ("machine", "machine", "machine_message_left", "answered")
            ]
        )
        (card,) = self.campaign._dashboard_cards(now)
        self.assertEqual((card["machine_count"], card["machine_message_left_count"]), (2, 1))
        self.assertEqual(card["answer_rate"], 25.0, "a machine is no live answer")


@tagged("post_install", "-at_install")
class TestRecordings(OutboundCampaignCase):
    """The dialer host attaches each recorded call's file; who may play it; the retention cron."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.campaign.record_calls = True
        cls.folder = Path(tempfile.mkdtemp(prefix="oc-recordings-"))
        cls.server.recordings_directory = str(cls.folder)

    def ended_call(self, minutes_ago=1, agent=None, **values):
        end = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0) - timedelta(minutes=minutes_ago)
        return self.env["outbound.call"].create(
            {
                "uuid": str(uuids.uuid4()),
                "campaign_id": self.campaign.id,
                "contact_id": self.campaign.contact_ids[0].id,
                "agent_id": (agent or self.agent).id,
                "state": "ended",
                "outcome": "answered",
                "connect_at": end - timedelta(seconds=30),
                "end_at": end,
                "recording_state": "pending",
                **values,
            }
        )

    def fetch(self):
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        return fetch_recordings(self.env, self.server.id, str(self.folder), now)

    def test_the_file_is_attached_to_its_call_and_a_late_one_on_a_later_turn(self):
        call, late = self.ended_call(), self.ended_call()
        audio = b"RIFF" + bytes(range(256)) * 8000  # 2 MB: copied in two chunks
        (self.folder / f"{call.uuid}.wav").write_bytes(audio)
        turn = self.fetch()
        self.assertEqual((turn.attached, turn.missing), (1, 0))
        self.assertEqual(call.recording_state, "attached")
        self.assertEqual(call.recording_id.raw, audio)
        self.assertEqual((call.recording_id.res_model, call.recording_id.res_id), ("outbound.call", call.id))
        self.assertEqual(late.recording_state, "pending", "not there yet: looked for again later")
        (self.folder / f"{late.uuid}.wav").write_bytes(b"RIFF late")
        self.fetch()
        self.assertEqual(late.recording_id.raw, b"RIFF late")

    def test_a_file_that_never_appears_is_marked_missing(self):
        call = self.ended_call(minutes_ago=MISSING_AFTER.total_seconds() / 60 + 1)
        with self.assertLogs("odoo.addons.outbound_campaign.host.recordings", logging.WARNING):
            turn = self.fetch()
        self.assertEqual((turn.attached, turn.missing, call.recording_state), (0, 1, "missing"))

    def test_the_filestore_folder_is_made_when_absent(self):
        attachments = self.env["ir.attachment"]
        call = self.ended_call()
        (self.folder / f"{call.uuid}.wav").write_bytes(b"RIFF fresh")
        store = Path(tempfile.mkdtemp(prefix="oc-filestore-")) / "absent"
        original = type(attachments)._filestore
        try:
            type(attachments)._filestore = lambda self: str(store)
            self.fetch()
            self.assertTrue((store / call.recording_id.store_fname).is_file())
        finally:
            type(attachments)._filestore = original

    def test_managers_play_every_recording_agents_only_their_calls(self):
        mine, theirs = self.ended_call(), self.ended_call(agent=self.other_agent)
        for call in (mine, theirs):
            (self.folder / f"{call.uuid}.wav").write_bytes(b"RIFF " + call.uuid.encode())
        self.fetch()
        self.assertEqual(mine.recording_id.with_user(self.user_agent).raw, b"RIFF " + mine.uuid.encode())
        with self.assertRaises(AccessError):
            theirs.recording_id.with_user(self.user_agent).raw  # noqa: B018
        self.assertTrue(theirs.recording_id.with_user(self.manager).raw)

    def test_retention_deletes_old_recordings_and_says_how_many(self):
        old, recent = self.ended_call(minutes_ago=60 * 24 * 91), self.ended_call()
        for call in (old, recent):
            (self.folder / f"{call.uuid}.wav").write_bytes(b"RIFF")
        old.recording_state = recent.recording_state = "pending"
        self.fetch()
        attachment = old.recording_id
        with self.assertLogs(
            "odoo.addons.outbound_campaign.models.campaign_machines_recordings", logging.INFO
        ) as logs:
            self.assertEqual(self.env["outbound.campaign"]._cron_delete_old_recordings(), 1)
        self.assertIn("1 deleted", logs.output[0])
        self.assertFalse(attachment.exists())
        self.assertEqual((old.recording_state, recent.recording_state), ("deleted", "attached"))


@tagged("post_install", "-at_install")
class TestLeaveMessage(OutboundCampaignCase):
    """Agent first: the agent's Leave message is a request the dialer host turns into a Redirect."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.campaign.machine_message = "outbound/drop"
        cls.call = cls.env["outbound.call"].create(
            {
                "uuid": str(uuids.uuid4()),
                "campaign_id": cls.campaign.id,
                "contact_id": cls.campaign.contact_ids[0].id,
                "agent_id": cls.agent.id,
                "dial_mode": "agent_first",
                "state": "connected",
            }
        )
        cls.agent.write({"state": "on_call", "current_call_id": cls.call.id})

    def test_the_console_offers_it_and_the_host_takes_the_request_once(self):
        console = self.env["outbound.agent"].with_user(self.user_agent)
        self.assertTrue(console.get_console_data()["call"]["can_leave_message"])
        self.agent.with_user(self.user_agent).action_leave_message()
        self.assertEqual(self.call.leave_message_state, "requested")
        self.assertFalse(console.get_console_data()["call"]["can_leave_message"], "asked once")
        self.env.flush_all()
        self.assertEqual(take_requests(self.env, self.server.id), [self.call.uuid])
        self.assertEqual(take_requests(self.env, self.server.id), [])
        self.call.invalidate_recordset()
        self.assertEqual(self.call.leave_message_state, "sent")

    def test_no_disposition_is_asked_for_a_machine(self):
        self.call.write(
            {"state": "ended", "outcome": "machine_message_left", "connect_at": fields.Datetime.now()}
        )
        self.agent.state = "ready"
        self.assertFalse(self.env["outbound.agent"].with_user(self.user_agent).get_console_data()["call"])

    def test_refused_without_a_message_or_for_another_agent(self):
        with self.assertRaises(AccessError):
            self.agent.with_user(self.user_other_agent).action_leave_message()
        self.campaign.machine_message = False
        with self.assertRaisesRegex(UserError, "agent-first call whose campaign has a machine message"):
            self.agent.with_user(self.user_agent).action_leave_message()

    def test_the_pop_plays_the_recordings_of_the_agents_own_attempts(self):
        contact = self.campaign.contact_ids[0]
        recorded = {}
        for agent in (self.agent, self.other_agent):
            call = self.env["outbound.call"].create(
                {
                    "campaign_id": self.campaign.id,
                    "contact_id": contact.id,
                    "agent_id": agent.id,
                    "state": "ended",
                }
            )
            call.recording_id = self.env["ir.attachment"].create(
                {"name": "r.wav", "raw": b"RIFF", "res_model": "outbound.call", "res_id": call.id}
            )
            recorded[agent] = call
        attempts = {
            attempt["id"]: attempt["recording_id"]
            for attempt in self.agent.with_user(self.user_agent)._console_contact_data(contact, self.call)[
                "attempts"
            ]
        }
        self.assertEqual(attempts[recorded[self.agent].id], recorded[self.agent].recording_id.id)
        self.assertFalse(attempts[recorded[self.other_agent].id], "not the agent's call")
