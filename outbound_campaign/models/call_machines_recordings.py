"""Answering machines and recordings, on ``outbound.call``: the agent's request to leave the
message (sent by the dialer host, ``host/leave_message.py``), and the recording: the attachment
the dialer host made of the file ``oc-record`` wrote (``host/recordings.py``), and where it stands."""

from odoo import fields, models


class OutboundCall(models.Model):
    _inherit = "outbound.call"  # pylint: disable=consider-merging-classes-inherited

    recording_id = fields.Many2one(
        "ir.attachment",
        ondelete="set null",
        readonly=True,
        copy=False,
        help="The call as Asterisk recorded it, both sides mixed.",
    )
    recording_state = fields.Selection(
        [
            ("pending", "Waiting for the file"),
            ("attached", "Attached"),
            ("missing", "Missing"),
            ("deleted", "Deleted (retention)"),
        ],
        "Recording status",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Waiting: the call was recorded and the dialer fetches the file; missing: Asterisk's file "
        "never appeared in the dialer server's recordings directory.",
    )
    leave_message_state = fields.Selection(
        [("requested", "Requested"), ("sent", "Sent to Asterisk")],
        "Leave message",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Agent first: the agent heard a machine and had the campaign's message left on it.",
    )
