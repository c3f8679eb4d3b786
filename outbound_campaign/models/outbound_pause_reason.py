from odoo import api, fields, models
from odoo.exceptions import UserError


class OutboundPauseReason(models.Model):
    _name = "outbound.pause.reason"
    _description = "Agent Pause Reason"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    is_system = fields.Boolean(
        "Set by the dialer",
        readonly=True,
        help="Set by the dialer itself (e.g. an agent who did not answer): agents cannot choose it.",
    )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_system(self):
        if any(reason.is_system for reason in self):
            raise UserError(self.env._("The dialer sets this pause reason itself: it cannot be deleted."))
