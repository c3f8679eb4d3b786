from odoo import fields, models


class OutboundCall(models.Model):
    _inherit = "outbound.call"

    # Not stored: the dialer host writes calls in SQL; these follow the contact for grouping and search.
    lead_id = fields.Many2one(related="contact_id.lead_id", string="Lead")
    contact_partner_id = fields.Many2one(related="contact_id.partner_id", string="Partner")
