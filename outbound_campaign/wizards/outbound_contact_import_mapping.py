from odoo import api, fields, models

from ..importer.columns import EXTRA


class OutboundContactImportMapping(models.TransientModel):
    _name = "outbound.contact.import.mapping"
    _description = "Contact Import: File Column"
    _order = "column_index"
    # As long as its wizard (whose import may wait for the cron job): see outbound.contact.import.
    _transient_max_hours = 12.0

    wizard_id = fields.Many2one("outbound.contact.import", required=True, ondelete="cascade", index=True)
    column_index = fields.Integer(required=True, readonly=True)
    column_name = fields.Char("Column", readonly=True)
    sample = fields.Char("Sample values", readonly=True)
    field_name = fields.Selection(
        selection="_selection_field_name",
        string="Campaign field",
        help="The contact field this column fills. Keep as extra data: stored with the contact and "
        "shown to the agent. Empty: the column is ignored.",
    )

    @api.model
    def _selection_field_name(self):
        return [
            ("firstname", self.env._("First name")),
            ("lastname", self.env._("Last name")),
            ("enterprise", self.env._("Enterprise")),
            ("phone", self.env._("Phone")),
            ("address", self.env._("Address")),
            (EXTRA, self.env._("Keep as extra data")),
        ]
