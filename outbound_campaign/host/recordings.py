"""Recordings from Asterisk into Odoo: the dialer host copies each recorded call's file
(``oc-record``: ``<uuid>.wav`` in the monitor folder, which the dialer server's *recordings
directory* names as the host sees it) into the filestore and attaches it to the call.

A file not there yet (MixMonitor closes it when the call ends; a mount may lag) is looked for
again on a later turn; one still absent :data:`MISSING_AFTER` the end of the call is marked
missing. A few calls per turn (:data:`BATCH`), each copied in chunks (:data:`CHUNK`): a large file
never sits whole in memory, and recordings never hold up the dialling.
"""

import hashlib
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from odoo.tools import SQL

_logger = logging.getLogger(__name__)

#: How long after the end of a call its file may still appear.
MISSING_AFTER = timedelta(minutes=10)
#: Calls looked at per turn.
BATCH = 5
#: Bytes read and written at a time.
CHUNK = 1 << 20
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


def copy_to_filestore(attachments, source):
    """Copy ``source`` into the filestore in chunks: ``(store_fname, checksum, size)``. The
    filestore's folder is made when absent (a new database has none until its first file)."""
    filestore = attachments._filestore()
    os.makedirs(filestore, exist_ok=True)
    digest, size = hashlib.sha1(), 0
    with open(source, "rb") as reading, tempfile.NamedTemporaryFile(dir=filestore, delete=False) as writing:
        try:
            while chunk := reading.read(CHUNK):
                digest.update(chunk)
                writing.write(chunk)
                size += len(chunk)
        except BaseException:
            os.unlink(writing.name)
            raise
    checksum = digest.hexdigest()
    fname = f"{checksum[:2]}/{checksum}"
    full_path = attachments._full_path(fname)
    os.makedirs(os.path.dirname(full_path), exist_ok=True)
    if os.path.exists(full_path):  # the same content (same SHA-1) is there already
        os.unlink(writing.name)
    else:
        os.replace(writing.name, full_path)
        attachments._mark_for_gc(fname)  # collected if this transaction rolls back
    return fname, checksum, size


def _attach(env, call_id, uuid, path):
    attachments = env["ir.attachment"]
    values = {"name": f"{uuid}.wav", "res_model": "outbound.call", "res_id": call_id, "mimetype": "audio/wav"}
    if attachments._storage() != "file":  # attachments stored in the database: Odoo needs the bytes
        attachment = attachments.create(values | {"raw": path.read_bytes()})
    else:
        fname, checksum, size = copy_to_filestore(attachments, path)
        attachment = attachments.create(values)
        # create() computes these from the bytes it is given, which it is not: set as copied
        env.cr.execute(
            SQL(
                "UPDATE ir_attachment SET store_fname = %s, checksum = %s, file_size = %s WHERE id = %s",
                fname,
                checksum,
                size,
                attachment.id,
            )
        )
        attachment.invalidate_recordset(["store_fname", "checksum", "file_size", "raw", "datas"])
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
