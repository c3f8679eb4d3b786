from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..dialer.engine import E164


class OutboundDoNotCall(models.Model):
    _name = "outbound.do.not.call"
    _description = "Do-Not-Call Number"
    _order = "create_date desc, id desc"
    _rec_name = "phone_e164"

    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    phone_e164 = fields.Char("Phone (E.164)", required=True, help="International E.164 form, e.g. +442079460958.")
    reason = fields.Char()
    source = fields.Selection(
        [("manual", "Entered by a manager"), ("agent", "Asked during a call"), ("import", "Imported")],
        default="manual",
        required=True,
    )
    contact_id = fields.Many2one("outbound.contact", string="Asked by", ondelete="set null")

    _sql_constraints = [
        (
            "company_phone_uniq",
            "UNIQUE(company_id, phone_e164)",
            "This number already is on the company's do-not-call list.",
        ),
    ]

    @api.constrains("phone_e164")
    def _check_phone_e164(self):
        for entry in self:
            if not E164.match(entry.phone_e164 or ""):
                raise ValidationError(
                    self.env._("%s is not an E.164 number, e.g. +442079460958.", entry.phone_e164)
                )
