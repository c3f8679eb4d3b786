from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.osv import expression

from .. import live
from ..dialer import rules
from ..importer.phones import to_e164


class OutboundDoNotCall(models.Model):
    _name = "outbound.do.not.call"
    _description = "Do-Not-Call Number"
    _order = "create_date desc, id desc"
    _rec_name = "phone_e164"

    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    phone_e164 = fields.Char(
        "Phone (E.164)", required=True, help="International E.164 form, e.g. +442079460958."
    )
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
            if not rules.is_e164(entry.phone_e164):
                raise ValidationError(
                    self.env._("%s is not an E.164 number, e.g. +442079460958.", entry.phone_e164)
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            company = self.env["res.company"].browse(vals.get("company_id")) or self.env.company
            self._normalise_phone(vals, company)
        entries = super().create(vals_list)
        entries._mark_contacts()
        return entries

    def write(self, vals):
        if vals.get("phone_e164"):
            company = self.env["res.company"].browse(vals.get("company_id")) or self.company_id[:1]
            self._normalise_phone(vals, company)
        result = super().write(vals)
        if "phone_e164" in vals or "company_id" in vals:
            self._mark_contacts()
        return result

    @api.model
    def _normalise_phone(self, vals, company):
        """A number typed as people write it (020 7946 0958, +44 20...) is stored in E.164, read in the
        company's country; anything unreadable is left for the E.164 check to refuse."""
        number = vals.get("phone_e164")
        if not number or rules.is_e164(number):
            return
        e164, _reason = to_e164(number, company.country_id.code)
        if e164:
            vals["phone_e164"] = e164

    def _mark_contacts(self):
        """Mark 'do not call' the contacts still to call of these numbers, in every campaign of their
        company; returns them. The dialer checks the list again at dial time."""
        Contact = self.env["outbound.contact"]
        if not self:
            return Contact
        # sudo: an agent's "Do not call" reaches campaigns they are not an agent of.
        numbers = expression.OR(
            [
                [("company_id", "=", entry.company_id.id), ("phone_e164", "=", entry.phone_e164)]
                for entry in self
            ]
        )
        contacts = Contact.sudo().search(expression.AND([[("state", "=", "pending")], numbers]))
        contacts.write({"state": "dnc"})
        live.notify_dashboard(self.env, contacts.campaign_id.ids)
        return contacts
