from odoo import fields, models


class CrmLead(models.Model):
    _name = "crm.lead"
    _inherit = ["crm.lead", "outbound.call.counted"]
    _outbound_call_field = "lead_id"

    outbound_contact_ids = fields.One2many("outbound.contact", "lead_id", string="Outbound contacts")
