from odoo import fields, models


class OutboundCallSupervision(models.Model):
    """A supervisor listening in on a live call: who, when, how. The dialer host that holds the
    call's server rings the supervisor's phone into the dialplan's ``[oc-supervise]`` (ChanSpy)."""

    _name = "outbound.call.supervision"
    _description = "Call Supervision"
    _order = "id desc"

    call_id = fields.Many2one("outbound.call", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="call_id.company_id", store=True, index=True)
    user_id = fields.Many2one(
        "res.users", "Supervisor", required=True, default=lambda self: self.env.user, ondelete="restrict"
    )
    mode = fields.Selection(
        [("listen", "Listen"), ("whisper", "Whisper"), ("barge", "Barge in")],
        required=True,
        help="Listen: silent. Whisper: the agent hears the supervisor, the customer does not. "
        "Barge in: both hear them.",
    )
    supervisor_channel = fields.Char(required=True, help="The phone the dialer rings for the supervisor.")
    agent_channel = fields.Char(required=True, help="The agent's phone, spied on.")
    state = fields.Selection(
        [("pending", "Waiting for the dialer"), ("sent", "Supervisor's phone rung")],
        default="pending",
        required=True,
        index=True,
    )
