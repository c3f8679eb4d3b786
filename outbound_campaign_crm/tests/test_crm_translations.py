import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools import file_path
from odoo.tools.translate import TranslationModuleReader

from odoo.addons.outbound_campaign.tests import test_translations as core

MODULE = "outbound_campaign_crm"
TEMPLATE = f"{MODULE}/i18n/{MODULE}.pot"
FRENCH = f"{MODULE}/i18n/fr.po"


@tagged("post_install", "-at_install")
class TestCrmTranslations(TransactionCase):
    def test_template_and_french_hold_every_term(self):
        reader = TranslationModuleReader(self.env.cr, modules=[MODULE])
        exported = {row[4] for row in reader if row[0] == MODULE}
        template = {entry.msgid for entry in polib.pofile(file_path(TEMPLATE))}
        self.assertEqual(exported, template, f"{TEMPLATE} is not the module's export: export it again")
        french = polib.pofile(file_path(FRENCH))
        translated = {entry.msgid for entry in french if entry.msgstr.strip() and not entry.obsolete}
        self.assertFalse(sorted(template - translated), f"Terms with no French translation in {FRENCH}")
        self.assertFalse(sorted(entry.msgid for entry in french if not core.keeps_form(entry)))

    def test_french_loads_and_shows(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms([MODULE], ["fr_FR"], overwrite=True)
        french = self.env(context={"lang": "fr_FR"})
        selection = dict(french["outbound.disposition"].fields_get(["crm_action"])["crm_action"]["selection"])
        self.assertEqual(selection["opportunity"], "Créer ou mettre à jour une opportunité")
