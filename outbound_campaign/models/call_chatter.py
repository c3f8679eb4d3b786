from odoo import fields, models

from .. import call_note


class OutboundCall(models.Model):
    """A call a customer answered leaves a note on the partner's chatter (written by the dialer
    host with the result); the disposition and the agent's note complete it."""

    _inherit = "outbound.call"

    partner_message_id = fields.Many2one(
        "mail.message", string="Note on the partner", readonly=True, copy=False, ondelete="set null"
    )

    def write(self, vals):
        result = super().write(vals)
        if "disposition_id" in vals or "note" in vals:
            self.filtered("partner_message_id")._log_disposition_on_partner()
        return result

    def _log_disposition_on_partner(self):
        for call in self:
            # sudo: the agent completes a note on a partner they may not be allowed to write.
            call.partner_message_id.sudo().body = call_note.body(
                self.env,
                call.campaign_id.name,
                call.talk_duration,
                call.agent_id.name,
                call.disposition_id.name,
                call.note,
            )
