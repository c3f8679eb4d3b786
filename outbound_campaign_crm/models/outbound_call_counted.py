from odoo import fields, models


class OutboundCallCounted(models.AbstractModel):
    """The "Outbound calls" smart button of a record that calls point at (a lead, a partner): how
    many, and the list. An inheriting model names the call's field that points at it in
    ``_outbound_call_field``."""

    _name = "outbound.call.counted"
    _description = "Record with outbound calls"
    _outbound_call_field = None

    outbound_call_count = fields.Integer(
        "Outbound calls",
        compute="_compute_outbound_call_count",
        groups="outbound_campaign.group_outbound_agent",
    )

    def _compute_outbound_call_count(self):
        field = self._outbound_call_field
        counts = dict(self.env["outbound.call"]._read_group([(field, "in", self.ids)], [field], ["__count"]))
        for record in self:
            record.outbound_call_count = counts.get(record, 0)

    def action_view_outbound_calls(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("outbound_campaign.outbound_call_action")
        action["domain"] = [(self._outbound_call_field, "=", self.id)]
        action["context"] = {}
        return action
