from odoo import fields, models


class OutboundDisposition(models.Model):
    _name = "outbound.disposition"
    _description = "Call Disposition"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    action = fields.Selection(
        [
            ("none", "Record only"),
            ("callback", "Call back"),
            ("wrong_number", "Wrong number"),
            ("do_not_call", "Do not call"),
        ],
        default="none",
        required=True,
        help="Call back: the agent picks a date, the contact is called again then, by the same agent.\n"
        "Wrong number: the contact is not called again.\n"
        "Do not call: the number goes on the company's do-not-call list; no campaign calls it again.",
    )
