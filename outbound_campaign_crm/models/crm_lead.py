from odoo import fields, models


class CrmLead(models.Model):
    _inherit = "crm.lead"

    outbound_contact_ids = fields.One2many("outbound.contact", "lead_id", string="Outbound contacts")
    outbound_call_count = fields.Integer(
        "Outbound calls",
        compute="_compute_outbound_call_count",
        groups="outbound_campaign.group_outbound_agent",
    )

    def _compute_outbound_call_count(self):
        counts = dict(
            self.env["outbound.call"]._read_group([("lead_id", "in", self.ids)], ["lead_id"], ["__count"])
        )
        for lead in self:
            lead.outbound_call_count = counts.get(lead, 0)

    def action_view_outbound_calls(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("outbound_campaign.outbound_call_action")
        action["domain"] = [("lead_id", "=", self.id)]
        action["context"] = {}
        return action
