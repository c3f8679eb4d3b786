"""Recordings from Asterisk into Odoo: the dialer host copies each recorded call's file
(``oc-record``: ``<uuid>.wav`` in the monitor folder, which the dialer server's *recordings
directory* names as the host sees it) into the filestore and attaches it to the call.

A file not there yet (MixMonitor closes it when the call ends; a mount may lag) is looked for
again on a later turn; one still absent :data:`MISSING_AFTER` the end of the call is marked
missing. A few calls per turn (:data:`BATCH`), each copied into the filestore in chunks
(``ir.attachment._create_from_file``): a large file never sits whole in memory, and recordings
never hold up the dialling.
"""

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from odoo.tools import SQL

_logger = logging.getLogger(__name__)

#: How long after the end of a call its file may still appear.
MISSING_AFTER = timedelta(minutes=10)
#: Calls looked at per turn.
BATCH = 5
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass(frozen=True)
class RecordingsTurn:
    """What a turn did: files attached, calls marked missing."""

    attached: int = 0
    missing: int = 0


def recording_path(directory, uuid):
    """The file ``oc-record`` writes for the call ``uuid``; ``None`` for a uuid that is not one
    (it would name another file)."""
    if not _UUID.fullmatch(uuid or ""):
        return None
    return Path(directory) / f"{uuid}.wav"


def _attach(env, call_id, uuid, path):
    values = {"name": f"{uuid}.wav", "res_model": "outbound.call", "res_id": call_id, "mimetype": "audio/wav"}
    with path.open("rb") as recording:
        attachment = env["ir.attachment"]._create_from_file(values, recording)
    env["outbound.call"].browse(call_id).write({"recording_id": attachment.id, "recording_state": "attached"})


def fetch_recordings(env, server_id, directory, now, batch=BATCH):
    """One turn for the dialer server ``server_id``: attach the files of its recorded calls that
    are there, mark missing those past :data:`MISSING_AFTER`. ``now``: naive UTC."""
    env.cr.execute(
        SQL(
            """SELECT call.id, call.uuid, call.end_at
                 FROM outbound_call call
                 JOIN outbound_campaign campaign ON campaign.id = call.campaign_id
                WHERE campaign.dialer_server_id = %s AND call.recording_state = 'pending'
                  AND call.state = 'ended'
             ORDER BY call.end_at
                LIMIT %s
                  FOR UPDATE OF call SKIP LOCKED""",
            server_id,
            batch,
        )
    )
    attached = missing = 0
    for call_id, uuid, end_at in env.cr.fetchall():
        path = recording_path(directory, uuid) if directory else None
        if path is not None and path.is_file():
            _attach(env, call_id, uuid, path)
            attached += 1
        elif path is None or end_at is None or now - end_at >= MISSING_AFTER:
            env["outbound.call"].browse(call_id).write({"recording_state": "missing"})
            _logger.warning("Recording of call %s not found in %s: marked missing", uuid, directory)
            missing += 1
    return RecordingsTurn(attached, missing)
