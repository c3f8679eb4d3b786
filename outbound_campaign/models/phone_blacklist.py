from odoo import api, models

from .. import live


class PhoneBlacklist(models.Model):
    """Odoo's phone blacklist stops every company's campaigns: the contacts still to call of a number
    blacklisted (or blacklisted again) are marked 'do not call' at once; the dialer checks the list
    again at dial time (do_not_call.py)."""

    _inherit = "phone.blacklist"

    @api.model_create_multi
    def create(self, vals_list):
        entries = super().create(vals_list)
        entries._mark_outbound_contacts()
        return entries

    def write(self, vals):
        result = super().write(vals)
        if vals.get("number") or vals.get("active"):
            self._mark_outbound_contacts()
        return result

    def _mark_outbound_contacts(self):
        numbers = self.filtered("active").mapped("number")
        if not numbers:
            return
        # sudo: whoever blacklists a number stops every campaign calling it, theirs or not.
        contacts = (
            self.env["outbound.contact"]
            .sudo()
            .search([("state", "=", "pending"), ("phone_e164", "in", numbers)])
        )
        contacts.write({"state": "dnc"})
        live.notify_dashboard(self.env, contacts.campaign_id.ids)
