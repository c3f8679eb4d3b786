from odoo import fields, models


# A feature of its own, on the campaign (docs/architecture.md, "Files of models/").
class OutboundCampaign(models.Model):
    """Imported contacts linked to the company's partners with their number (importer/partners.py)."""

    _inherit = "outbound.campaign"  # pylint: disable=consider-merging-classes-inherited

    link_partners = fields.Boolean(
        "Link contacts to partners",
        default=True,
        help="At import, each contact is linked to the company's partner with the same phone or mobile.",
    )
    create_partners = fields.Boolean(
        "Create missing partners",
        help="At import, a partner is created for each contact no partner has the number of.",
    )
