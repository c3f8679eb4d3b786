"""Issue 11 in a real browser: a manager enables detection and recording, a call is recorded (the
dialer host's own code attaches its file), the manager plays it from the call's form."""

import io
import struct
import tempfile
import uuid as uuids
import wave
from datetime import datetime, timedelta, timezone
from pathlib import Path

from odoo.tests import HttpCase, new_test_user, tagged

from ..host.recordings import fetch_recordings


def two_seconds_of_tone():
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"".join(struct.pack("<h", 8000 if (n // 10) % 2 else -8000) for n in range(16000)))
    return buffer.getvalue()


@tagged("post_install", "-at_install")
class TestRecordingsTour(HttpCase):
    def test_manager_enables_recording_and_plays_a_recorded_call(self):
        manager = new_test_user(
            self.env,
            login="oc_rec_manager",
            groups="base.group_user,outbound_campaign.group_outbound_manager",
        )
        folder = Path(tempfile.mkdtemp(prefix="oc-tour-recordings-"))
        server = self.env["outbound.dialer.server"].create(
            {
                "name": "Recordings PBX",
                "username": "dialer",
                "secret": "dialer-secret",
                "customer_dial_template": "PJSIP/{number}@trunk",
                "recordings_directory": str(folder),
            }
        )
        campaign = self.env["outbound.campaign"].create(
            {
                "name": "Recorded campaign",
                "dialer_server_id": server.id,
                "caller_id_number": "+442079460999",
                "contact_ids": [(0, 0, {"phone": "+442079460001"})],
            }
        )
        self.start_tour(
            f"/odoo/action-outbound_campaign.outbound_campaign_action/{campaign.id}",
            "outbound_campaign_enable_machines_recordings_tour",
            login=manager.login,
        )
        self.assertEqual(
            (campaign.amd_enabled, campaign.record_calls, campaign.recording_retention_days), (True, True, 30)
        )
        # A call of the campaign was recorded: Asterisk wrote <uuid>.wav, the dialer host attaches it.
        end = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        call = self.env["outbound.call"].create(
            {
                "uuid": str(uuids.uuid4()),
                "campaign_id": campaign.id,
                "contact_id": campaign.contact_ids.id,
                "state": "ended",
                "outcome": "answered",
                "connect_at": end - timedelta(seconds=2),
                "end_at": end,
                "recording_state": "pending",
            }
        )
        (folder / f"{call.uuid}.wav").write_bytes(two_seconds_of_tone())
        self.assertEqual(fetch_recordings(self.env, server.id, str(folder), end).attached, 1)
        self.start_tour(
            f"/odoo/action-outbound_campaign.outbound_call_action/{call.id}",
            "outbound_campaign_play_recording_tour",
            login=manager.login,
        )
