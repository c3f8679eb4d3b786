from odoo import models


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "outbound.call.counted"]
    _outbound_call_field = "contact_partner_id"
