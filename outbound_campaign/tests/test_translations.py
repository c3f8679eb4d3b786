import re
from collections import Counter

import polib

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import file_path
from odoo.tools.translate import TranslationModuleReader, code_translations

MODULE = "outbound_campaign"
TEMPLATE = f"{MODULE}/i18n/{MODULE}.pot"
FRENCH = f"{MODULE}/i18n/fr.po"

# What a translation must carry over unchanged: Python and format placeholders, dial template
# placeholders ({number}), and the HTML tags of view terms (their attributes may be translated).
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|%[sdr]|\{\w*\}")
TAG = re.compile(r"</?\s*([a-zA-Z][\w-]*)")


def keeps_form(entry):
    """Whether the translation has the placeholders, tags and line breaks of its source."""
    for pattern in (PLACEHOLDER, TAG):
        if Counter(pattern.findall(entry.msgstr)) != Counter(pattern.findall(entry.msgid)):
            return False
    # Line breaks are layout only inside view terms; elsewhere they are shown as such.
    in_views = any(name.startswith("model_terms:") for name, _line in entry.occurrences)
    return in_views or entry.msgstr.count("\n") == entry.msgid.count("\n")


@tagged("post_install", "-at_install")
class TestTranslations(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.template = polib.pofile(file_path(TEMPLATE))
        cls.french = polib.pofile(file_path(FRENCH))

    def test_template_holds_every_term_of_the_module(self):
        # The same reader as `odoo-bin --i18n-export --modules=outbound_campaign`.
        reader = TranslationModuleReader(self.env.cr, modules=[MODULE])
        # A module installed later may add fields to the module's models through a mixin (calendar's
        # "Next Activity Calendar Event" once crm brings it): the export names them after the module,
        # but their terms belong to a module it does not depend on.
        own = self.env["ir.module.module"].search([("name", "=", MODULE)])
        known = set((own | own.upstream_dependencies(exclude_states=("uninstallable",))).mapped("name"))

        def own_term(name, res_id):
            if not name.startswith("ir.model.fields,"):
                return True
            field = self.env.ref(res_id)
            return bool(known.intersection(self.env[field.model]._fields[field.name]._modules))

        exported = {
            source
            for module, _type, name, res_id, source, _value, _comments in reader
            if module == MODULE and own_term(name, res_id)
        }
        committed = {entry.msgid for entry in self.template}
        self.assertFalse(
            sorted(exported - committed),
            f"Terms missing from {TEMPLATE}: export it again (README, Translations)",
        )
        self.assertFalse(
            sorted(committed - exported),
            f"Terms of {TEMPLATE} the module no longer has: export it again (README, Translations)",
        )

    def test_french_translates_every_term(self):
        translated = {entry.msgid for entry in self.french if entry.msgstr.strip() and not entry.obsolete}
        untranslated = sorted(entry.msgid for entry in self.template if entry.msgid not in translated)
        self.assertFalse(untranslated, f"Terms of {TEMPLATE} with no French translation in {FRENCH}")
        self.assertEqual(self.french.metadata.get("Language"), "fr")
        self.assertIn("nplurals=3", self.french.metadata.get("Plural-Forms", ""))

    def test_french_keeps_placeholders_and_tags(self):
        altered = sorted(entry.msgid for entry in self.french if not keeps_form(entry))
        self.assertFalse(
            altered, "French translations that lose or change a placeholder, a tag or a line break"
        )

    def test_french_loads_and_shows(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms([MODULE], ["fr_FR"], overwrite=True)
        french = self.env(context={"lang": "fr_FR"})

        # Menus and actions (model terms).
        self.assertEqual(
            french.ref("outbound_campaign.outbound_campaign_menu_dashboard_active").name,
            "Campagnes sortantes actives",
        )
        self.assertEqual(
            french.ref("outbound_campaign.outbound_contact_import_action").name, "Importer depuis un CSV"
        )
        # Field labels and selection values, as the web client receives them.
        description = french["outbound.campaign"].fields_get(["campaign_type", "state"])
        self.assertEqual(description["campaign_type"]["string"], "Type de campagne")
        self.assertEqual(
            dict(description["campaign_type"]["selection"]),
            {"agent_first": "Appeler l'agent d'abord", "client_first": "Appeler le client d'abord"},
        )
        self.assertEqual(dict(description["state"]["selection"])["draft"], "Brouillon")
        # Records shipped as data (default dispositions).
        self.assertEqual(french.ref("outbound_campaign.disposition_do_not_call").name, "Ne pas appeler")
        # View terms, HTML included.
        form = french["outbound.campaign"].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn("Lancer maintenant", form)
        wizard = french["outbound.contact.import"].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn("Télécharger un exemple", wizard)
        # Terms of the web client (agent console, dashboard), as /web/webclient/translations serves them.
        web = {
            message["id"]: message["string"]
            for message in code_translations.get_web_translations(MODULE, "fr_FR")["messages"]
        }
        self.assertEqual(web.get("Skip"), "Passer")
        self.assertEqual(web.get("Contacts left"), "Contacts restants")
        self.assertEqual(web.get("Reading the file..."), "Lecture du fichier...")
        # Messages raised by the code.
        campaign = french["outbound.campaign"].create({"name": "Relances"})
        with self.assertRaisesRegex(UserError, "Seules les campagnes en cours peuvent être mises en pause"):
            campaign.action_pause()
