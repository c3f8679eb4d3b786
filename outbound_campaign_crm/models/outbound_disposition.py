from odoo import fields, models


class OutboundDisposition(models.Model):
    _inherit = "outbound.disposition"

    crm_action = fields.Selection(
        [
            ("none", "Nothing"),
            ("opportunity", "Create or update an opportunity"),
            ("activity", "Schedule a call back activity"),
            ("lost", "Mark the lead lost"),
        ],
        string="In the CRM",
        default="none",
        required=True,
        help="Opportunity: the contact's lead becomes an opportunity of the campaign's sales team, "
        "assigned to the agent, with the call's note; a new one is created when the contact has none.\n"
        "Call back activity: a call activity on the contact's lead, for the agent, at the call back time.\n"
        "Lost: the contact's lead is marked lost with the lost reason.",
    )
    crm_stage_id = fields.Many2one(
        "crm.stage",
        string="Opportunity stage",
        ondelete="set null",
        help="Empty: the first stage of the campaign's sales team.",
    )
    crm_lost_reason_id = fields.Many2one("crm.lost.reason", string="Lost reason", ondelete="set null")
