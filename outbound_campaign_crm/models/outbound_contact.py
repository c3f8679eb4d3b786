from odoo import fields, models


class OutboundContact(models.Model):
    _inherit = "outbound.contact"

    lead_id = fields.Many2one(
        "crm.lead",
        ondelete="set null",
        index="btree_not_null",
        help="The lead or opportunity of this contact, updated by the dispositions of its calls.",
    )
