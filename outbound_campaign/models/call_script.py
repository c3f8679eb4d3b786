from markupsafe import Markup

from odoo import fields, models

from ..dialer import call_script
from ..importer.columns import IMPORTABLE_FIELDS

#: The contact's fields a script's placeholders may name, beside the imported extra columns.
SCRIPT_FIELDS = (*IMPORTABLE_FIELDS, "phone_e164")


# A feature of its own, on the campaign (docs/architecture.md, "Files of models/").
class OutboundCampaign(models.Model):
    """The campaign's call script, shown to the agent during the call with the contact's values."""

    _inherit = "outbound.campaign"  # pylint: disable=consider-merging-classes-inherited

    call_script = fields.Html(
        "Call script",
        help="What the agent says, shown during the call. Placeholders such as {{ firstname }}, "
        "{{ lastname }}, {{ enterprise }}, {{ phone }}, {{ address }} or {{ the header of an imported "
        "column }} are replaced by the contact's values, always as text.",
    )

    def _call_script_for(self, contact):
        """The script with ``contact``'s values (its fields, then its imported columns)."""
        self.ensure_one()
        if not self.call_script:
            return ""
        values = {str(key): value for key, value in (contact.extra_data or {}).items()}
        values.update({name: contact[name] for name in SCRIPT_FIELDS})
        # The script is the manager's sanitised HTML; the values are escaped by the rendering.
        return Markup(call_script.render(str(self.call_script), values))
