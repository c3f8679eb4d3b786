from odoo import models


class ResPartner(models.Model):
    """Partners get the phone mixin (as the sms module gives them): their stored ``phone_sanitized``
    is what an imported contact's number is matched with (importer/partners.py)."""

    _name = "res.partner"
    _inherit = ["mail.thread.phone", "res.partner"]
