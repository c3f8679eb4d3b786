from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    outbound_call_count = fields.Integer(
        "Outbound calls",
        compute="_compute_outbound_call_count",
        groups="outbound_campaign.group_outbound_agent",
    )

    def _compute_outbound_call_count(self):
        counts = dict(
            self.env["outbound.call"]._read_group(
                [("contact_partner_id", "in", self.ids)], ["contact_partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.outbound_call_count = counts.get(partner, 0)

    def action_view_outbound_calls(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("outbound_campaign.outbound_call_action")
        action["domain"] = [("contact_partner_id", "=", self.id)]
        action["context"] = {}
        return action
