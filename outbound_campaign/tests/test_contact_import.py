import base64
import csv
import gc
import hashlib
import io
import json
import tracemalloc
import zipfile

import openpyxl
import phonenumbers
import xlsxwriter
import xlwt

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL, file_open

from odoo.addons.phone_validation.tools import phone_validation

from ..importer import e164, phones, pipeline
from ..models import ir_attachment
from .common import OutboundCampaignCase

# The seed's example, verbatim (its 5-column header, 7-field rows, spaces after commas, and the
# mis-encoded "Elysées" it carries).
SEED_EXAMPLE = (
    "firstname, lastname, enterprise, phone, address\n"
    "Big, Ben, The Tower, 0101010101, Westminster, London SW1A 0AA, UK\n"
    "Jean, Pierre, The Startup, 0102020202, Avenue Des Champs-ElysÃ©es, Paris 08, FR\n"
)


# Drives the wizard from the campaign's "Import from csv" button: a file dropped on the drop zone,
# then another chosen through its file input (as the browser's file dialog does), Next, Import.
UPLOAD_THROUGH_THE_DROP_ZONE = """
const wait = (selector, test = () => true, timeout = 30000) => new Promise((resolve, reject) => {
    const started = Date.now();
    (function poll() {
        const found = document.querySelector(selector);
        if (found && test(found)) { return resolve(found); }
        if (Date.now() - started > timeout) { return reject(new Error("not rendered: " + selector)); }
        setTimeout(poll, 100);
    })();
});
const files = (name, content) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([content], name, { type: "text/csv" }));
    return transfer;
};
(async () => {
    await wait(".o_form_view .o_notebook", () => true, 60000);
    document.querySelector(".o_notebook .nav-link[name='contacts']").click();
    (await wait(".o_outbound_import_open")).click();
    const zone = await wait(".o_outbound_import_dropzone");
    const drop = new Event("drop", { bubbles: true, cancelable: true });
    Object.defineProperty(drop, "dataTransfer", { value: files("first.csv", "phone\\n020 7946 0001\\n") });
    zone.dispatchEvent(drop);
    await wait(".o_outbound_import_dropzone_filename", (el) => el.textContent === "first.csv");
    const input = document.querySelector(".o_outbound_import_dropzone_input");
    input.files = files("seed.csv", %(content)s).files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
    await wait(".o_outbound_import_dropzone_filename", (el) => el.textContent === "seed.csv");
    document.querySelector(".o_outbound_import_next").click();
    await wait(".o_outbound_import_mapping .o_data_row");
    document.querySelector(".o_outbound_import_import").click();
    await wait(".o_outbound_import_imported", (el) => el.textContent.trim() === "2");
    console.log("test successful");
})().catch((error) => console.error(error.message));
"""


class ContactImportCase(OutboundCampaignCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.france = cls.create_campaign("Relances", agents=cls.agent, country_id=cls.env.ref("base.fr").id)
        cls.uk = cls.create_campaign("Winback", agents=cls.agent)

    def make_wizard(self, content, filename="contacts.csv", campaign=None, user=None):
        return (
            self.env["outbound.contact.import"]
            .with_user(user or self.manager)
            .create(
                {
                    "campaign_id": (campaign or self.uk).id,
                    "file": base64.b64encode(content),
                    "filename": filename,
                }
            )
        )

    def import_file(self, content, filename="contacts.csv", campaign=None, mapping=None):
        wizard = self.make_wizard(content, filename, campaign)
        wizard.action_parse()
        for line in wizard.mapping_ids:
            if mapping and line.column_name in mapping:
                line.field_name = mapping[line.column_name]
        wizard.action_import()
        return wizard

    def contacts(self, campaign=None):
        return self.env["outbound.contact"].search(
            [("campaign_id", "=", (campaign or self.uk).id)], order="id"
        )

    def assert_counts(self, wizard, imported=0, duplicates=0, invalid=0, skipped=0):
        self.assertEqual(
            (wizard.imported_count, wizard.duplicate_count, wizard.invalid_count, wizard.skipped_count),
            (imported, duplicates, invalid, skipped),
        )

    def rejects(self, wizard):
        content = base64.b64decode(wizard.rejects_file).decode("utf-8-sig")
        return list(csv.reader(io.StringIO(content)))


class TestContactImportFiles(ContactImportCase):
    def test_seed_example_verbatim(self):
        wizard = self.import_file(SEED_EXAMPLE.encode("utf-8"), campaign=self.france)
        self.assert_counts(wizard, imported=2)
        big, jean = self.contacts(self.france)
        self.assertEqual(
            (big.firstname, big.lastname, big.enterprise, big.phone, big.phone_e164, big.address),
            ("Big", "Ben", "The Tower", "0101010101", "+33101010101", "Westminster, London SW1A 0AA, UK"),
        )
        self.assertEqual(jean.phone_e164, "+33102020202")
        self.assertEqual(jean.address, "Avenue Des Champs-ElysÃ©es, Paris 08, FR")
        self.assertEqual(big.state, "pending")
        self.assertEqual(big.attempt_count, 0)
        self.assertEqual(big.company_id, self.france.company_id)
        self.assertEqual(big.create_uid, self.manager)
        self.assertFalse(big.extra_data)

    def test_example_download_file_is_valid(self):
        with file_open("outbound_campaign/data/outbound_contact_example.csv", "rb") as example:
            content = example.read()
        wizard = self.import_file(content)
        self.assert_counts(wizard, imported=2)
        self.assertEqual(
            self.contacts().mapped("address"),
            ["Westminster, London SW1A 0AA, UK", "Avenue Des Champs-Elysées, Paris 08, FR"],
        )

    def test_encodings(self):
        text = "Prénom;Nom;Téléphone;Société\nJérôme;Dupré;020 7946 0101;Café “Noël” €\n"
        for index, (encoding, data) in enumerate(
            [
                ("utf-8", text.encode("utf-8")),
                ("utf-8 with BOM", b"\xef\xbb\xbf" + text.encode("utf-8")),
                ("cp1252", text.encode("cp1252")),
                ("latin-1", text.replace("“", '"').replace("”", '"').replace(" €", "").encode("latin-1")),
            ]
        ):
            with self.subTest(encoding=encoding):
                campaign = self.create_campaign(f"Encoding {index}")
                wizard = self.import_file(data, campaign=campaign)
                self.assertEqual(
                    wizard.mapping_ids.mapped("field_name"), ["firstname", "lastname", "phone", "enterprise"]
                )
                self.assert_counts(wizard, imported=1)
                contact = self.contacts(campaign)
                self.assertEqual((contact.firstname, contact.lastname), ("Jérôme", "Dupré"))
                self.assertTrue(contact.enterprise.startswith("Café"))
                self.assertEqual(contact.phone_e164, "+442079460101")

    def test_separators(self):
        for index, separator in enumerate([",", ";", "\t", "|"]):
            with self.subTest(separator=separator):
                campaign = self.create_campaign(f"Separator {index}")
                rows = [
                    ["firstname", "phone", "enterprise"],
                    ["Ann", "020 7946 0201", "Acme"],
                    ["Bob", "020 7946 0202", "Beta"],
                ]
                data = "\n".join(separator.join(row) for row in rows).encode()
                wizard = self.import_file(data, campaign=campaign)
                self.assert_counts(wizard, imported=2)
                self.assertEqual(self.contacts(campaign).mapped("enterprise"), ["Acme", "Beta"])

    def test_quotes_crlf_blank_lines(self):
        data = (
            b"firstname,phone,address\r\n"
            b'"Doe, John",020 7946 0301,"1 High Street\r\nLondon"\r\n'
            b"\r\n"
            b",,\r\n"
            b'Ann,"020 7946 0302","Flat 2; ""Rose"" House"\r\n'
        )
        wizard = self.import_file(data)
        self.assert_counts(wizard, imported=2, skipped=2)
        john, ann = self.contacts()
        self.assertEqual((john.firstname, john.address), ("Doe, John", "1 High Street London"))
        self.assertEqual(ann.address, 'Flat 2; "Rose" House')

    def test_short_row_imports_what_it_has(self):
        wizard = self.import_file(b"phone,firstname,lastname,address\n020 7946 0401,Ann\n")
        self.assert_counts(wizard, imported=1)
        contact = self.contacts()
        self.assertEqual((contact.firstname, contact.lastname, contact.address), ("Ann", False, False))

    def test_xlsx(self):
        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer)
        sheet = book.add_worksheet()
        for row, values in enumerate(
            [
                ["First name", "Last name", "Mobile", "Company"],
                ["Ann", "Lee", "07911 123456", "Acme"],
                ["Bob", "Ray", 447911123457, "Beta"],
            ]
        ):
            sheet.write_row(row, 0, values)
        book.close()
        wizard = self.import_file(buffer.getvalue(), filename="contacts.xlsx")
        self.assert_counts(wizard, imported=2)
        self.assertEqual(self.contacts().mapped("phone_e164"), ["+447911123456", "+447911123457"])
        self.assertEqual(self.contacts().mapped("enterprise"), ["Acme", "Beta"])

    def test_xls(self):
        book = xlwt.Workbook()
        sheet = book.add_sheet("Contacts")
        for row, values in enumerate(
            [["Prénom", "Téléphone"], ["Zoé", "020 7946 0501"], ["Léa", "+44 20 7946 0502"]]
        ):
            for column, value in enumerate(values):
                sheet.write(row, column, value)
        buffer = io.BytesIO()
        book.save(buffer)
        wizard = self.import_file(buffer.getvalue(), filename="contacts.xls")
        self.assert_counts(wizard, imported=2)
        self.assertEqual(self.contacts().mapped("firstname"), ["Zoé", "Léa"])

    def test_unreadable_files_change_nothing(self):
        messages = len(self.uk.message_ids)
        cases = {
            "empty": (b"", "empty.csv"),
            "blank": (b"\r\n \n", "blank.csv"),
            "header only": (b"firstname,phone\n", "header.csv"),
            "binary": (bytes(range(256)) * 16, "picture.csv"),
            "broken spreadsheet": (b"PK\x03\x04 not really a zip", "broken.xlsx"),
        }
        for case, (data, filename) in cases.items():
            with self.subTest(case=case):
                wizard = self.make_wizard(data, filename)
                with self.assertRaises(UserError) as caught:
                    wizard.action_parse()
                self.assertTrue(str(caught.exception))
        self.assertFalse(self.contacts())
        self.assertEqual(len(self.uk.message_ids), messages)
        self.assertEqual(self.uk.contact_count, 0)


def far_cell_workbook(far_value=None, rows=None):
    """A 5 kB XLSX: a few contacts, and cell ALL20000 (column 1000, row 20000) formatted, holding
    ``far_value``: the sheet then declares the range A1:ALL20000, 20 million cells."""
    book = openpyxl.Workbook()
    sheet = book.active
    for values in rows or [
        ["First name", "Mobile", "Company"],
        ["Ann", "07911 123456", "Acme"],
        ["Bob", "+44 7911 123457", "Beta"],
    ]:
        sheet.append(values)
    sheet["ALL20000"].font = openpyxl.styles.Font(bold=True)
    sheet["ALL20000"].value = far_value
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class TestDefectIFarCell(ContactImportCase):
    """A spreadsheet is read as far as its data, not as far as the range it declares."""

    # Far below the 4.5 GB base_import's reading of the whole declared range takes for that file.
    PARSE_MEMORY_BOUND = 64 * 1024 * 1024

    def test_defect_i_formatted_far_cell_imports_in_bounded_memory(self):
        data = far_cell_workbook()
        self.assertIn(b'<dimension ref="A1:ALL20000"/>', self._sheet_xml(data))
        wizard = self.make_wizard(data, filename="contacts.xlsx")
        tracemalloc.start()
        try:
            wizard.action_parse()
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak, self.PARSE_MEMORY_BOUND)
        self.assertEqual(wizard.mapping_ids.mapped("column_name"), ["First name", "Mobile", "Company"])
        self.assertEqual(wizard.row_count, 2)
        wizard.action_import()
        self.assert_counts(wizard, imported=2)
        self.assertEqual(self.contacts().mapped("phone_e164"), ["+447911123456", "+447911123457"])

    def test_defect_i_value_in_a_far_cell_is_refused_naming_the_cell(self):
        wizard = self.make_wizard(far_cell_workbook(far_value="x"), filename="contacts.xlsx")
        with self.assertRaisesRegex(UserError, "ALL20000"):
            wizard.action_parse()
        self.assertFalse(self.contacts())

    def test_values_right_of_the_header_are_kept_as_extra_data(self):
        data = far_cell_workbook(
            rows=[["Mobile", "Company"], ["07911 123456", "Acme", None, "VIP"], ["07911 123457", "Beta"]]
        )
        wizard = self.make_wizard(data, filename="contacts.xlsx")
        wizard.action_parse()
        self.assertEqual(
            wizard.mapping_ids.mapped("column_name"), ["Mobile", "Company", "Column 3", "Column 4"]
        )
        self.assertEqual(wizard.mapping_ids.mapped("field_name"), ["phone", "enterprise", "extra", "extra"])
        wizard.action_import()
        self.assert_counts(wizard, imported=2)
        self.assertEqual(self.contacts().mapped("extra_data"), [{"Column 4": "VIP"}, False])

    def test_report_lines_are_the_sheets_rows(self):
        data = far_cell_workbook(rows=[["Mobile"], ["07911 123456"], [], ["12"]])
        wizard = self.import_file(data, filename="contacts.xlsx")
        self.assert_counts(wizard, imported=1, invalid=1)
        self.assertEqual(self.rejects(wizard)[1][0], "4")

    def test_error_cell_is_refused_naming_the_cell(self):
        data = far_cell_workbook(rows=[["Mobile", "Score"], ["07911 123456", "#DIV/0!"]])
        wizard = self.make_wizard(data, filename="contacts.xlsx")
        with self.assertRaisesRegex(UserError, "B2"):
            wizard.action_parse()

    @staticmethod
    def _sheet_xml(data):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read("xl/worksheets/sheet1.xml")


class TestContactImportMapping(ContactImportCase):
    def test_synonyms(self):
        wizard = self.make_wizard(
            "Prénom,NOM,first name?,Téléphone,Entreprise,Adresse postale,E-mail\n"
            "Ann,Lee,x,020 7946 0601,Acme,1 High St,ann@example.com\n".encode()
        )
        wizard.action_parse()
        self.assertEqual(
            wizard.mapping_ids.mapped("field_name"),
            ["firstname", "lastname", "extra", "phone", "enterprise", "address", "extra"],
        )
        self.assertEqual(wizard.mapping_ids[0].sample, "Ann")
        self.assertIn("Every field is mapped", wizard.unmapped_fields)
        wizard.mapping_ids[2].field_name = False  # ignored
        wizard.action_import()
        contact = self.contacts()
        self.assertEqual(contact.extra_data, {"E-mail": "ann@example.com"})
        self.assertEqual(contact.address, "1 High St")

    def test_more_synonyms(self):
        for header, field in {
            "tel": "phone",
            "Phone Number": "phone",
            "MOBILE": "phone",
            "First Name": "firstname",
            "company": "enterprise",
            "Société": "enterprise",
            "surname": "lastname",
        }.items():
            with self.subTest(header=header):
                wizard = self.make_wizard(f"{header},other\nx,y\n".encode())
                wizard.action_parse()
                self.assertEqual(wizard.mapping_ids[0].field_name, field)

    def test_phone_is_required(self):
        wizard = self.make_wizard(b"firstname,lastname\nAnn,Lee\n")
        wizard.action_parse()
        self.assertIn("Phone", wizard.unmapped_fields)
        self.assertIn("required", wizard.unmapped_fields)
        with self.assertRaisesRegex(UserError, "Phone"):
            wizard.action_import()
        self.assertFalse(self.contacts())

    def test_field_mapped_twice(self):
        wizard = self.make_wizard(b"phone,tel\n020 7946 0701,020 7946 0702\n")
        wizard.action_parse()
        wizard.mapping_ids[1].field_name = "phone"
        with self.assertRaisesRegex(UserError, "more than once"):
            wizard.action_import()


class TestContactImportReport(ContactImportCase):
    def test_duplicates_in_file_and_campaign(self):
        data = (
            b"firstname,phone\n"
            b"Ann,+44 20 7946 0958\n"
            b"Bob,(020) 7946 0958\n"
            b"Cid,020 7946 0001\n"  # already in the Renewals campaign
            b"Dan,020 7946 0959\n"
        )
        wizard = self.import_file(data, campaign=self.campaign)
        self.assert_counts(wizard, imported=2, duplicates=2)
        self.assertEqual(self.campaign.contact_count, 4)
        rejects = self.rejects(wizard)
        self.assertEqual(rejects[0], ["line", "reason", "firstname", "phone"])
        self.assertEqual([row[0] for row in rejects[1:]], ["3", "4"])
        self.assertIn("line 2", rejects[1][1])
        self.assertIn("already in the campaign", rejects[2][1])
        # The other direction: importing again adds nothing.
        again = self.import_file(data, campaign=self.campaign)
        self.assert_counts(again, duplicates=4)
        self.assertEqual(self.campaign.contact_count, 4)

    def test_duplicates_found_across_batches(self):
        """Numbers seen in an earlier batch, or already in the campaign, are duplicates with the line
        that brought them; the rejects file lists every batch's rows in line order."""
        self.patch(pipeline, "COPY_CHUNK", 2)
        data = (
            b"firstname,phone\n"
            b"Ann,+44 20 7946 0958\n"
            b"Bob,020 7946 0001\n"  # already in the Renewals campaign
            b"Cid,020 7946 0960\n"
            b"Dan,(020) 7946 0958\n"
            b"Eve,n/a\n"
            b"Fay,020-7946-0960\n"
        )
        wizard = self.import_file(data, campaign=self.campaign)
        self.assert_counts(wizard, imported=2, duplicates=3, invalid=1)
        self.assertEqual(self.contacts(self.campaign).mapped("firstname")[-2:], ["Ann", "Cid"])
        rejects = self.rejects(wizard)
        self.assertEqual(
            [(row[0], row[2]) for row in rejects[1:]],
            [("3", "Bob"), ("5", "Dan"), ("6", "Eve"), ("7", "Fay")],
        )
        self.assertIn("already in the campaign", rejects[1][1])
        self.assertIn("+442079460958 is on line 2", rejects[2][1])
        self.assertIn("+442079460960 is on line 4", rejects[4][1])
        self.assertEqual([row[0] for row in wizard.reject_preview], [3, 5, 6, 7])

    def test_an_invalid_number_leaves_no_cycle_for_the_collector(self):
        # Such a cycle holds the frames that called the parse, an import's batch among their
        # locals, until a full collection.
        gc.collect()
        self.assertEqual(phones.to_e164("12345", "GB")[0], None)
        self.assertEqual(gc.collect(), 0)

    def test_invalid_numbers_and_control_characters(self):
        data = (
            b"firstname,phone,lastname\n"
            b"Ann,12,Lee\n"
            b"Bob,not a number,Ray\n"
            b'Cid,"020 7946\n0801",Fox\n'
            b"Dee\tDee,020 7946 0802,O\x00Neil\n"
            b"Eve,,Noe\n"
            b",,\n"
        )
        wizard = self.import_file(data)
        self.assert_counts(wizard, imported=1, invalid=4, skipped=1)
        contact = self.contacts()
        self.assertEqual((contact.firstname, contact.lastname), ("Dee Dee", "O Neil"))
        reasons = {row[0]: row[1] for row in self.rejects(wizard)[1:]}
        # Cid's quoted number spans lines 4 and 5: Eve is on line 7.
        self.assertEqual(set(reasons), {"2", "3", "4", "7"})
        self.assertIn("control character", reasons["4"])
        self.assertIn("No phone", reasons["7"])
        self.assertIn("12", reasons["2"])
        self.assertIn("Line", wizard.reject_html)
        self.assertIn("not a number", wizard.reject_html)

    def test_rejects_file_neutralises_formulas(self):
        data = (
            b"firstname,phone,lastname\n"
            b'=HYPERLINK("http://evil.example"),=1+2,@SUM(A1)\n'
            b"-3+3,+cmd|' /C calc'!A0,Lee\n"
        )
        wizard = self.import_file(data)
        self.assert_counts(wizard, invalid=2)
        rows = self.rejects(wizard)
        self.assertEqual(rows[1][2:], ['\'=HYPERLINK("http://evil.example")', "'=1+2", "'@SUM(A1)"])
        self.assertEqual(rows[2][2:4], ["'-3+3", "'+cmd|' /C calc'!A0"])
        for row in rows:
            for cell in row:
                self.assertFalse(cell.startswith(("=", "+", "-", "@")), cell)

    def test_report_posted_on_campaign(self):
        wizard = self.import_file(b"phone\n020 7946 0901\n12\n")
        self.assertEqual(wizard.state, "done")
        message = self.uk.message_ids[0]
        self.assertIn("1 contacts imported", message.body)
        self.assertEqual(message.attachment_ids.name, "contacts-rejected.csv")
        # one file in the filestore: the one the wizard offers
        self.assertEqual(message.attachment_ids, wizard.rejects_attachment_id)
        self.assertEqual(self.rejects(wizard)[1][:2], ["3", wizard.reject_preview[0][1]])

    def expected_rejects(self, wizard, header):
        """The rejects CSV the wizard's preview says it wrote (UTF-8 with BOM, CRLF)."""
        out = io.StringIO()
        out.write("\ufeff")
        csv.writer(out, lineterminator="\r\n").writerows(
            [
                ["line", "reason", *header],
                *([str(line), reason, *values] for line, reason, values in wizard.reject_preview),
            ]
        )
        return out.getvalue().encode("utf-8")

    def test_rejects_file_copied_to_the_filestore_in_chunks(self):
        self.patch(ir_attachment, "CHUNK", 7)
        data = b"firstname,phone\nAnn,12\nBob,n/a\n"  # rejected both times
        first, second = self.import_file(data), self.import_file(data)
        attachment = first.rejects_attachment_id
        expected = self.expected_rejects(first, ["firstname", "phone"])
        self.assertEqual(attachment.raw, expected)
        self.assertTrue(attachment.store_fname)
        self.assertFalse(attachment.db_datas)
        self.assertEqual(
            (attachment.checksum, attachment.file_size, attachment.index_content),
            (hashlib.sha1(expected).hexdigest(), len(expected), "text"),
        )
        # the same rejects again: the file already stored is the second attachment's too
        self.assertEqual(second.rejects_attachment_id.store_fname, attachment.store_fname)
        self.assertEqual(second.rejects_attachment_id.raw, expected)

    def test_rejects_file_kept_in_the_database_when_attachments_are(self):
        self.env["ir.config_parameter"].sudo().set_param("ir_attachment.location", "db")
        wizard = self.import_file(b"phone\n020 7946 0931\n12\n")
        attachment = wizard.rejects_attachment_id
        expected = self.expected_rejects(wizard, ["phone"])
        self.assertFalse(attachment.store_fname)
        self.assertEqual(attachment.db_datas, expected)
        self.assertEqual(attachment.checksum, hashlib.sha1(expected).hexdigest())

    def test_orm_sees_the_imported_contacts(self):
        self.assertEqual(self.uk.contact_count, 0)
        self.import_file(b"phone\n020 7946 0911\n020 7946 0912\n")
        self.assertEqual(self.uk.contact_count, 2)
        self.assertEqual(len(self.uk.contact_ids), 2)
        self.assertEqual(self.uk.contact_ids.mapped("display_name"), ["020 7946 0911", "020 7946 0912"])


class TestContactImportDoNotCall(ContactImportCase):
    def test_numbers_on_the_companys_list_are_counted_listed_not_imported(self):
        other_company = self.env["res.company"].create(
            {"name": "Other Ltd", "country_id": self.env.ref("base.uk").id}
        )
        DoNotCall = self.env["outbound.do.not.call"]
        DoNotCall.create({"company_id": self.company.id, "phone_e164": "+442079461201"})
        DoNotCall.create({"company_id": other_company.id, "phone_e164": "+442079461203"})
        data = (
            b"firstname,phone\n"
            b"Ann,020 7946 1201\n"  # on the list
            b"Bob,+44 20 7946 1201\n"  # the same number, another notation
            b"Cid,020 7946 1202\n"
            b"Dan,020 7946 1203\n"  # on another company's list only
            b"Eve,020 7946 1202\n"  # duplicate of Cid
        )
        wizard = self.import_file(data)
        self.assert_counts(wizard, imported=2, duplicates=1)
        self.assertEqual(wizard.dnc_count, 2)
        self.assertEqual(self.contacts().mapped("firstname"), ["Cid", "Dan"])
        self.assertEqual(self.contacts().mapped("phone_e164"), ["+442079461202", "+442079461203"])
        rejects = self.rejects(wizard)
        self.assertEqual([row[0] for row in rejects[1:]], ["2", "3", "6"])
        for row in rejects[1:3]:
            self.assertIn("on the do-not-call list", row[1])
        self.assertEqual([row[2] for row in rejects[1:3]], ["Ann", "Bob"])
        self.assertIn("on the do-not-call list", wizard.reject_html)
        self.assertIn("2 on the do-not-call list", self.uk.message_ids[0].body)

    def test_list_checked_in_every_batch_of_a_big_file(self):
        self.patch(pipeline, "COPY_CHUNK", 3)
        self.env["outbound.do.not.call"].create(
            [{"phone_e164": f"+4420794613{number:02d}"} for number in (1, 5, 9)]
        )
        data = b"phone\n" + b"".join(b"020 7946 13%02d\n" % number for number in range(10))
        wizard = self.import_file(data)
        self.assert_counts(wizard, imported=7)
        self.assertEqual(wizard.dnc_count, 3)
        self.assertNotIn("+442079461305", self.contacts().mapped("phone_e164"))


class TestContactImportAccess(ContactImportCase):
    def test_agents_cannot_import(self):
        for user in (self.user_agent, self.user_plain):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.make_wizard(b"phone\n020 7946 1001\n", user=user)

    def test_agent_cannot_run_a_managers_wizard(self):
        wizard = self.make_wizard(b"phone\n020 7946 1002\n")
        wizard.action_parse()
        with self.assertRaises(AccessError):
            wizard.with_user(self.user_agent).action_import()
        self.assertFalse(self.contacts())


class TestContactImportBackground(ContactImportCase):
    def test_big_file_runs_in_background(self):
        self.env["ir.config_parameter"].sudo().set_param("outbound_campaign.import_background_rows", 2)
        cron = self.env.ref("outbound_campaign.ir_cron_outbound_contact_import")
        triggers = self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])
        data = b"phone\n" + b"".join(b"020 7946 %04d\n" % number for number in range(1100, 1110))
        wizard = self.import_file(data)
        self.assertEqual(wizard.state, "queued")
        self.assertEqual(wizard.progress, 0.0)
        self.assertFalse(self.contacts())
        self.assertEqual(self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]), triggers + 1)

        self.env["outbound.contact.import"]._cron_import_contacts()
        self.assertEqual(wizard.state, "done")
        self.assertEqual(wizard.progress, 100.0)
        self.assert_counts(wizard, imported=10)
        self.assertEqual(len(self.contacts()), 10)
        self.assertEqual(self.contacts().create_uid, self.manager)
        self.env.cr.precommit.run()  # the bus notifications are written when the transaction commits
        notification = self.env["bus.bus"].search(
            [("channel", "like", f'"res.partner",{self.manager.partner_id.id}]')]
        )
        self.assertTrue(notification)
        self.assertIn("simple_notification", notification[-1].message)
        self.assertIn("10 contacts imported", self.uk.message_ids[0].body)

    def test_progress_moves_from_the_first_batch(self):
        """The background import reports its progress (committed, outside tests) once each batch
        is inserted, the first one included, from the row count the parse step found."""
        self.patch(pipeline, "COPY_CHUNK", 3)
        self.env["ir.config_parameter"].sudo().set_param("outbound_campaign.import_background_rows", 2)
        data = b"phone\n" + b"".join(b"020 7946 %04d\n" % number for number in range(1120, 1130))
        wizard = self.import_file(data)
        reports = []
        Wizard = type(wizard)
        set_progress = Wizard._set_progress

        def recorded(record, progress, auto_commit):
            set_progress(record, progress, auto_commit)
            reports.append((record.progress, len(self.contacts())))

        self.patch(Wizard, "_set_progress", recorded)
        self.env["outbound.contact.import"]._cron_import_contacts()
        self.assertEqual(reports, [(30.0, 3), (60.0, 6), (90.0, 9), (99.0, 10)])
        self.assertEqual(wizard.progress, 100.0)

    def test_queued_import_outlives_the_transient_vacuum(self):
        """A queued import waits for the cron job: its wizard and mapping are not vacuumed after
        the default hour (as base_import's wizard)."""
        self.env["ir.config_parameter"].sudo().set_param("outbound_campaign.import_background_rows", 2)
        data = b"phone\n" + b"".join(b"020 7946 %04d\n" % number for number in range(1110, 1115))
        wizard = self.import_file(data)
        self.assertEqual(wizard.state, "queued")
        self.env.flush_all()
        for table in ("outbound_contact_import", "outbound_contact_import_mapping"):
            self.env.cr.execute(
                SQL("UPDATE %s SET write_date = now() - interval '3 hours'", SQL.identifier(table))
            )
        self.env.invalidate_all()
        wizard.mapping_ids._transient_vacuum()
        wizard._transient_vacuum()
        self.assertTrue(wizard.exists())
        self.assertEqual(len(wizard.mapping_ids.exists()), 1)


@tagged("post_install", "-at_install")
class TestContactImportInBrowser(HttpCase):
    def test_drop_zone_upload_mapping_import(self):
        campaign = self.env["outbound.campaign"].create(
            {"name": "Browser import", "country_id": self.env.ref("base.fr").id}
        )
        code = UPLOAD_THROUGH_THE_DROP_ZONE % {"content": json.dumps(SEED_EXAMPLE)}
        self.browser_js(
            f"/odoo/action-outbound_campaign.outbound_campaign_action/{campaign.id}",
            code,
            login="admin",
            timeout=90,
        )
        contacts = campaign.contact_ids.sorted("id")
        self.assertEqual(contacts.mapped("phone_e164"), ["+33101010101", "+33102020202"])
        self.assertEqual(contacts[0].address, "Westminster, London SW1A 0AA, UK")


@tagged("post_install", "-at_install")
class TestPhoneNotations(OutboundCampaignCase):
    def test_notations_parsed_once_with_each_rows_own_wording(self):
        numbers = ["(020) 7946 0958", "020-7946-0958", "020.7946.0958", "0044 20 7946 0958", "12", "(01) 2"]
        self.assertEqual(len({phones.notation_key(number) for number in numbers[:3]}), 1)
        self.assertNotEqual(phones.notation_key("0044 20 7946 0958"), phones.notation_key("44 20 7946 0958"))
        self.assertEqual(phones.notation_key("020 7946 0958 ext 12"), "020 7946 0958 ext 12")
        result = phones.normalise_many(numbers, "GB", workers=0)
        for number in numbers[:4]:
            self.assertEqual(result[number], ("+442079460958", None))
        for number in numbers[4:]:
            e164_number, reason = result[number]
            self.assertIsNone(e164_number)
            self.assertIn(number, reason, "the reason quotes the row's own notation")

    def test_one_parse_gives_what_phone_parse_gives(self):
        """Every number one parse settles gets Odoo's E.164 form; Brazil and Mexico, whose
        international formats Odoo patches to add or drop a digit, are left to phone_parse."""
        settled = 0
        for region in sorted(phonenumbers.SUPPORTED_REGIONS):
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
            for kind in ("fixed_line", "mobile", "toll_free"):
                example = getattr(metadata, kind) and getattr(metadata, kind).example_number
                if not example:
                    continue
                for number in (
                    example,
                    f"{metadata.national_prefix or ''}{example}",
                    f"+{metadata.country_code} {example}",
                ):
                    once = e164.parse_once(number, region)
                    if once is None:
                        continue
                    settled += 1
                    expected = phonenumbers.format_number(
                        phone_validation.phone_parse(number, region), phonenumbers.PhoneNumberFormat.E164
                    )
                    self.assertEqual(once, expected, f"{number} in {region}")
        self.assertGreater(settled, 500)
        # Old Brazilian mobile numbers gain their ninth digit through phone_parse only.
        self.assertIsNone(e164.parse_once("+55 11 8765 4321", "BR"))
        self.assertEqual(
            phones.normalise_many(["+55 11 8765 4321"], "BR", workers=0)["+55 11 8765 4321"],
            ("+5511987654321", None),
        )

    def test_workers_give_what_this_process_gives(self):
        numbers = [f"020 7946 {number:04d}" for number in range(3000)] + ["12", "+55 11 8765 4321", "n/a"]
        alone = phones.normalise_many(numbers, "GB", workers=0)
        self.assertEqual(phones.normalise_many(numbers, "GB", workers=2), alone)
        self.assertEqual(alone["+55 11 8765 4321"], ("+5511987654321", None))

    def test_a_failed_worker_leaves_its_share_to_this_process(self):
        self.patch(phones, "WORKER", "/nonexistent/phone_worker.py")
        numbers = [f"020 7946 {number:04d}" for number in range(2500)]
        with self.assertLogs(phones._logger.name, "WARNING"):
            result = phones.normalise_many(numbers, "GB", workers=1)
        self.assertEqual(result, phones.normalise_many(numbers, "GB", workers=0))
