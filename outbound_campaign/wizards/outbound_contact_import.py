import base64
import collections
import io
import json
import logging
import os
import threading
from itertools import islice

from markupsafe import Markup

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import clean_context
from odoo.tools.mimetypes import guess_mimetype

from odoo.addons.base_import.models.base_import import FILE_TYPE_DICT, odf_ods_reader

from ..importer import columns, phones, rows, spreadsheets, sql_copy
from .outbound_contact_import_mapping import EXTRA, IMPORTABLE_FIELDS

_logger = logging.getLogger(__name__)

SPREADSHEET_MIMETYPES = {
    mimetype for mimetype, (ext, _handler, _req) in FILE_TYPE_DICT.items() if ext != "csv"
}
SPREADSHEET_EXTENSIONS = {".xls", ".xlsx", ".ods"}
SAMPLE_VALUES = 3
PREVIEW_REJECTS = 200
COPY_CHUNK = 20000
# Batches normalised ahead of the one being inserted: enough to keep the phone workers busy.
LOOKAHEAD = 2
MAX_PHONE_LENGTH = 64
# Advisory lock class of "an import into campaign <id> is running" (a fixed, arbitrary number).
IMPORT_LOCK = 720_331
# Files with more data rows than this are imported in the background by the cron job.
BACKGROUND_ROWS_PARAM = "outbound_campaign.import_background_rows"
BACKGROUND_ROWS_DEFAULT = 10000
# Values the import writes itself, in COPY order: those of each row, then those of the whole import.
# Every other stored column gets its default, as the ORM would.
WRITTEN_COLUMNS = (
    "id",
    *IMPORTABLE_FIELDS,
    "phone_e164",
    "extra_data",
    "campaign_id",
    "company_id",
    "state",
    "attempt_count",
    "create_uid",
    "create_date",
    "write_uid",
    "write_date",
)


CopyFormat = collections.namedtuple("CopyFormat", ["columns", "suffix", "sequence"])


class OutboundContactImport(models.TransientModel):
    _name = "outbound.contact.import"
    _description = "Import Contacts to be Called"

    campaign_id = fields.Many2one("outbound.campaign", required=True, ondelete="cascade", index=True)
    file = fields.Binary(
        help="CSV (any separator and encoding), XLS, XLSX or ODS; the first row names the columns."
    )
    filename = fields.Char()
    state = fields.Selection(
        [
            ("upload", "Upload"),
            ("mapping", "Map the fields"),
            ("queued", "Waiting"),
            ("running", "Importing"),
            ("done", "Done"),
        ],
        default="upload",
        required=True,
    )
    encoding = fields.Char(readonly=True)
    separator = fields.Char(readonly=True)
    row_count = fields.Integer("Rows in the file", readonly=True)
    mapping_ids = fields.One2many("outbound.contact.import.mapping", "wizard_id", string="Columns")
    unmapped_fields = fields.Html("Fields not yet mapped", compute="_compute_unmapped_fields")
    progress = fields.Float(readonly=True)
    imported_count = fields.Integer("Imported", readonly=True)
    duplicate_count = fields.Integer("Duplicates", readonly=True)
    invalid_count = fields.Integer("Invalid", readonly=True)
    skipped_count = fields.Integer("Empty rows skipped", readonly=True)
    dnc_count = fields.Integer(
        "On the do-not-call list",
        readonly=True,
        help="Rows not imported because their number is on the company's do-not-call list.",
    )
    reject_preview = fields.Json(readonly=True)
    reject_html = fields.Html("Rejected rows", compute="_compute_reject_html", sanitize=False)
    rejects_file = fields.Binary("Rejected rows (CSV)", readonly=True)
    rejects_filename = fields.Char(readonly=True)
    error_message = fields.Text(readonly=True)

    @api.depends("mapping_ids.field_name")
    def _compute_unmapped_fields(self):
        labels = dict(self.env["outbound.contact.import.mapping"]._selection_field_name())
        for wizard in self:
            mapped = set(wizard.mapping_ids.mapped("field_name"))
            items = [
                Markup("<li>%s%s</li>")
                % (
                    labels[name],
                    Markup(" <strong>(%s)</strong>") % self.env._("required") if name == "phone" else "",
                )
                for name in IMPORTABLE_FIELDS
                if name not in mapped
            ]
            wizard.unmapped_fields = (
                Markup("<ul>%s</ul>") % Markup().join(items)
                if items
                else Markup("<p>%s</p>") % self.env._("Every field is mapped.")
            )

    @api.depends("reject_preview", "invalid_count", "duplicate_count", "dnc_count")
    def _compute_reject_html(self):
        for wizard in self:
            preview = wizard.reject_preview or []
            if not preview:
                wizard.reject_html = False
                continue
            body = Markup().join(
                Markup("<tr><td>%s</td><td>%s</td><td>%s</td></tr>") % (line, reason, " | ".join(values))
                for line, reason, values in preview
            )
            rejected = wizard.invalid_count + wizard.duplicate_count + wizard.dnc_count
            more = (
                Markup("<p class='text-muted'>%s</p>")
                % self.env._("... and %s more rows in the CSV file.", rejected - len(preview))
                if rejected > len(preview)
                else ""
            )
            wizard.reject_html = Markup(
                "<table class='table table-sm o_outbound_import_rejects'><thead><tr><th>%s</th><th>%s</th>"
                "<th>%s</th></tr></thead><tbody>%s</tbody></table>%s"
            ) % (self.env._("Line"), self.env._("Reason"), self.env._("Values"), body, more)

    # ------------------------------------------------------------------ actions

    def action_parse(self):
        """Step 1 -> 2: read the file, one mapping line per column, pre-mapped by name."""
        self.ensure_one()
        self._check_can_import()
        if not self.file:
            raise UserError(self.env._("Choose a file to import first."))
        table = self._read_table()
        header = table["header"]
        samples = [[] for _column in header]
        row_count = 0
        for _line, values in table["rows"]:
            if not any(value.strip() for value in values):
                continue
            row_count += 1
            # A spreadsheet's row may run right of its header: one more column each.
            samples += [[] for _column in range(len(samples), len(values))]
            if row_count <= 20:
                for index, value in enumerate(values):
                    value = rows.clean_text(value)
                    if value and len(samples[index]) < SAMPLE_VALUES:
                        samples[index].append(value)
        if not row_count:
            raise UserError(
                self.env._(
                    "%s holds a header line but no contact: nothing to import.",
                    self.filename or self.env._("The file"),
                )
            )
        header += [self._column_name(index) for index in range(len(header), len(samples))]
        guessed = columns.match_columns(header)
        self.write(
            {
                "state": "mapping",
                "encoding": table["encoding"],
                "separator": {"\t": "tab"}.get(table["separator"], table["separator"]),
                "row_count": row_count,
                "error_message": False,
                "mapping_ids": [Command.clear()]
                + [
                    Command.create(
                        {
                            "column_index": index,
                            "column_name": name,
                            "sample": " · ".join(samples[index])[:200],
                            "field_name": guessed[index] or EXTRA,
                        }
                    )
                    for index, name in enumerate(header)
                ],
            }
        )
        return self._action_reopen()

    def action_back(self):
        self.ensure_one()
        self.write({"state": "upload", "mapping_ids": [Command.clear()], "error_message": False})
        return self._action_reopen()

    def action_import(self):
        """Step 2 -> 3: import now, or in the background for a big file."""
        self.ensure_one()
        self._check_can_import()
        self._check_mapping()
        threshold = int(
            self.env["ir.config_parameter"].sudo().get_param(BACKGROUND_ROWS_PARAM, BACKGROUND_ROWS_DEFAULT)
        )
        if self.row_count > threshold:
            self.write({"state": "queued", "progress": 0.0, "error_message": False})
            self.env.ref("outbound_campaign.ir_cron_outbound_contact_import")._trigger()
        else:
            self._run_import()
        return self._action_reopen()

    def action_refresh(self):
        self.ensure_one()
        return self._action_reopen()

    def _action_reopen(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Import contacts to be called"),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "new",
        }

    # ------------------------------------------------------------------ checks

    def _check_can_import(self):
        """The user's own rights: creating contacts and writing the campaign (record rules included)."""
        self.env["outbound.contact"].check_access("create")
        self.campaign_id.check_access("write")

    def _check_mapping(self):
        mapped = [
            line.field_name for line in self.mapping_ids if line.field_name and line.field_name != EXTRA
        ]
        if "phone" not in mapped:
            raise UserError(
                self.env._(
                    "Map a column to Phone: it is the only field required to import contacts to be called."
                )
            )
        twice = {name for name in mapped if mapped.count(name) > 1}
        if twice:
            labels = dict(self.env["outbound.contact.import.mapping"]._selection_field_name())
            raise UserError(
                self.env._(
                    "Each field can be filled by one column only: %s is mapped more than once.",
                    ", ".join(labels[name] for name in sorted(twice)),
                )
            )

    # ------------------------------------------------------------------ reading

    def _read_table(self, column_count=None):
        """``{"header", "rows" (an iterator of (line, values)), "encoding", "separator"}``. A CSV's
        rows are as wide as its header (fields beyond it belong to the last column: the seed's
        unquoted addresses). A spreadsheet may hold values right of its header: its rows are as
        wide as ``column_count`` (the parse step's count, the header then completed to it), or at
        least as wide as the header when it is None (the parse step counts them)."""
        data = base64.b64decode(self.with_context(bin_size=False).file or b"")
        if not data.strip():
            raise UserError(self.env._("The file %s is empty: nothing to import.", self.filename or ""))
        mimetype = guess_mimetype(data)
        extension = os.path.splitext(self.filename or "")[1].lower()
        spreadsheet = mimetype in SPREADSHEET_MIMETYPES or extension in SPREADSHEET_EXTENSIONS
        table = self._read_spreadsheet(data, mimetype, extension) if spreadsheet else self._read_csv(data)
        records = self._guard(table["rows"])
        header = next((values for _line, values in records if any(value.strip() for value in values)), None)
        if header is None:
            raise UserError(self.env._("The file %s is empty: nothing to import.", self.filename or ""))
        header = [rows.clean_text(name) or self._column_name(index) for index, name in enumerate(header)]
        header += [self._column_name(index) for index in range(len(header), column_count or 0)]
        width = len(header)
        separator = table["separator"]
        table["header"] = header
        if spreadsheet and column_count is None:
            table["rows"] = (
                (line, rows.fit_row(values, max(width, len(values)), separator)) for line, values in records
            )
        else:
            table["rows"] = ((line, rows.fit_row(values, width, separator)) for line, values in records)
        return table

    def _column_name(self, index):
        """The name of a column whose header cell is empty."""
        return self.env._("Column %s", index + 1)

    def _guard(self, records):
        try:
            yield from records
        except rows.FileReadError as error:
            raise self._unreadable(error) from error

    def _unreadable(self, error):
        file = self.filename or self.env._("The file")
        if isinstance(error, spreadsheets.TooManyColumns):
            return UserError(
                self.env._(
                    "%(file)s has a value in cell %(cell)s, beyond the %(limit)s columns a contact file "
                    "may have: nothing was imported. Delete that value (or move it left) and import again.",
                    file=file,
                    cell=error.cell,
                    limit=spreadsheets.MAX_COLUMNS,
                )
            )
        if isinstance(error, spreadsheets.CellError):
            return UserError(
                self.env._(
                    "Cell %(cell)s of %(file)s holds the error %(value)s: nothing was imported. "
                    "Correct or clear that cell and import again.",
                    file=file,
                    cell=error.cell,
                    value=error.value,
                )
            )
        if str(error) == "binary":
            return UserError(
                self.env._(
                    "%s is not a CSV or spreadsheet file (it holds binary data): nothing was imported.",
                    file,
                )
            )
        return UserError(self.env._("%(file)s cannot be read: %(error)s", file=file, error=error))

    def _base_import(self, data, mimetype):
        return self.env["base_import.import"].new(
            {"res_model": "outbound.contact", "file": data, "file_name": self.filename, "file_type": mimetype}
        )

    def _read_spreadsheet(self, data, mimetype, extension):
        """The first sheet, streamed where its format allows (``importer.spreadsheets``); line
        numbers are the sheet's row numbers (for ODS, counted among the rows its reader gives)."""
        kind = FILE_TYPE_DICT.get(mimetype, (extension.lstrip("."),))[0]
        if kind not in ("xls", "xlsx", "ods"):
            kind = extension.lstrip(".")
        if kind == "xlsx":
            records = spreadsheets.xlsx_rows(data)
        elif kind == "xls":
            records = spreadsheets.xls_rows(data)
        else:
            records = self._read_ods(data)
        return {"rows": records, "encoding": False, "separator": ","}

    def _read_ods(self, data):
        """base_import's own ODS reader (odfpy): an ODS file is read whole, as base_import does,
        but empty cells are repeated at most up to the last one of each row."""
        if odf_ods_reader is None:
            raise UserError(
                self.env._("Reading an ODS file needs the Python module odfpy: save the file as XLSX or CSV.")
            )
        try:
            sheet = odf_ods_reader.ODSReader(file=io.BytesIO(data)).getFirstSheet()
        except Exception as error:  # odfpy fails on a broken file in many ways
            raise self._unreadable(rows.FileReadError(str(error))) from error
        return spreadsheets.text_rows(enumerate(sheet, 1))

    def _read_csv(self, data):
        try:
            encoding = rows.detect_encoding(data)
        except rows.FileReadError as error:
            raise self._unreadable(error) from error
        text = data.decode(encoding)
        sample = rows.text_sample(text)
        if rows.looks_binary(sample):
            raise self._unreadable(rows.FileReadError("binary"))
        # base_import's sniffing (every row as wide as the header), on a sample: chardet is skipped
        # since the encoding is known, and a 200,000-row file need not be parsed once per candidate.
        options = {"quoting": '"', "separator": "", "encoding": "utf-8"}
        try:
            self._base_import(sample.encode("utf-8"), "text/csv")._read_csv(options)
        except Exception:
            options["separator"] = ""
        separator = options.get("separator")
        if not separator or separator == " ":
            # Rows wider than the header (the seed's unquoted addresses) defeat base_import's sniffing.
            separator = rows.guess_separator(sample)
        return {"rows": rows.csv_rows(text, separator), "encoding": encoding, "separator": separator}

    # ------------------------------------------------------------------ import

    def _set_progress(self, progress, auto_commit):
        self.progress = progress
        if auto_commit:
            # Commit so that the wizard shows the progress while the import goes on.
            self.env.cr.commit()  # pylint: disable=invalid-commit

    def _run_import(self, auto_commit=False):
        """Read, clean, normalise, deduplicate and insert; fill the report. ``auto_commit`` (the
        background job) commits the inserted contacts chunk by chunk."""
        self.ensure_one()
        self._check_can_import()
        self._check_mapping()
        campaign = self.campaign_id
        cr = self.env.cr
        cr.execute("SELECT pg_try_advisory_lock(%s, %s)", (IMPORT_LOCK, campaign.id))
        if not cr.fetchone()[0]:
            raise UserError(
                self.env._(
                    "Another import into campaign %s is running: try again once it is done.", campaign.name
                )
            )
        try:
            self._import_rows(auto_commit)
        finally:
            cr.execute("SELECT pg_advisory_unlock(%s, %s)", (IMPORT_LOCK, campaign.id))
        self._post_report()

    def _import_rows(self, auto_commit):
        """Rows are read, normalised and inserted batch by batch: the phone workers normalise the
        next batches while this process inserts the current one."""
        campaign = self.campaign_id
        table = self._read_table(column_count=len(self.mapping_ids))
        tally = collections.Counter()
        rejects = []
        self.env.flush_all()
        cr = self.env.cr
        cr.execute(
            "SELECT phone_e164 FROM outbound_contact WHERE campaign_id = %s AND phone_e164 IS NOT NULL",
            (campaign.id,),
        )
        # E.164 number -> the file's line that brought it, None for the campaign's own contacts.
        seen = dict.fromkeys(e164 for (e164,) in cr.fetchall())
        country = campaign.country_id or campaign.company_id.country_id
        copy_format = self._copy_format()
        ids = []
        with phones.PhoneNormaliser(country.code, phones.worker_count(self.row_count)) as normaliser:
            pending = collections.deque()

            def store_oldest():
                batch = pending.popleft()
                ids.extend(self._store_batch(batch, normaliser.result(), seen, tally, rejects, copy_format))
                self._set_progress(min(99.0, 100.0 * tally["handled"] / (self.row_count or 1)), auto_commit)

            for batch in _batched(self._candidate_rows(table, tally, rejects), COPY_CHUNK):
                normaliser.submit([row[1] for row in batch])
                pending.append(batch)
                if len(pending) > LOOKAHEAD:
                    store_oldest()
            while pending:
                store_oldest()
        self._contacts_inserted(ids)
        rejects.sort(key=lambda reject: reject[0])
        header = table["header"]
        self.write(
            {
                "state": "done",
                "progress": 100.0,
                "imported_count": len(ids),
                "duplicate_count": tally["duplicate"],
                "invalid_count": tally["invalid"],
                "dnc_count": tally["dnc"],
                "skipped_count": tally["skipped"],
                "reject_preview": [
                    [line, reason, values] for line, reason, values in rejects[:PREVIEW_REJECTS]
                ],
                "rejects_file": base64.b64encode(rows.rejects_csv(header, rejects)) if rejects else False,
                "rejects_filename": f"{os.path.splitext(self.filename or 'contacts')[0]}-rejected.csv"
                if rejects
                else False,
            }
        )

    def _candidate_rows(self, table, tally, rejects):
        """``(line, phone, field values, extra json, raw values)`` of each row with a phone that
        may be valid; the others are counted in ``tally`` (skipped, invalid) and ``rejects``."""
        header = table["header"]
        field_columns = {line.field_name: line.column_index for line in self.mapping_ids if line.field_name}
        field_columns.pop(EXTRA, None)
        extra_columns = [
            (header[line.column_index], line.column_index)
            for line in self.mapping_ids
            if line.field_name == EXTRA
        ]
        phone_index = field_columns["phone"]
        # Column of each importable field (None: unmapped), in COPY order.
        field_indexes = [field_columns.get(name) for name in IMPORTABLE_FIELDS]
        used = [*field_columns.values(), *(index for _name, index in extra_columns)]
        for line, values in table["rows"]:
            phone = values[phone_index].strip()
            if not phone:
                if any(values[index].strip() for index in used):
                    tally["invalid"] += 1
                    rejects.append((line, self.env._("No phone number."), values))
                else:
                    tally["skipped"] += 1
                continue
            if rows.CONTROL_CHARACTERS.search(phone):
                tally["invalid"] += 1
                rejects.append((line, self.env._("The phone number holds a control character."), values))
                continue
            if len(phone) > MAX_PHONE_LENGTH:
                tally["invalid"] += 1
                rejects.append((line, self.env._("The phone number is too long."), values))
                continue
            # Cleaned: free of control characters ("" for none), as sql_copy.copy_clean_fields needs.
            # The phone, stripped and free of them, is stored as written.
            fields_values = [
                rows.clean_text(values[index]) if index is not None else "" for index in field_indexes
            ]
            extra = {
                name: rows.clean_text(values[index]) for name, index in extra_columns if values[index].strip()
            }
            yield line, phone, fields_values, json.dumps(extra, ensure_ascii=False) if extra else "", values

    def _store_batch(self, batch, normalised, seen, tally, rejects, copy_format):
        """Reject a batch's invalid numbers, numbers on the company's do-not-call list (one query)
        and duplicates; insert the rest. Returns the ids of the contacts inserted."""
        cr = self.env.cr
        numbers = {normalised[phone][0] for _line, phone, *_rest in batch} - {None}
        # One text parameter rather than an array of 20,000: a fraction of the parsing.
        cr.execute(
            "SELECT phone_e164 FROM outbound_do_not_call"
            " WHERE company_id = %s AND phone_e164 = ANY(string_to_array(%s, ' '))",
            (self.campaign_id.company_id.id, " ".join(numbers)),
        )
        do_not_call = {e164 for (e164,) in cr.fetchall()}
        to_insert = []
        for line, phone, fields_values, extra, values in batch:
            e164, reason = normalised[phone]
            if not e164:
                tally["invalid"] += 1
                rejects.append((line, reason, values))
            elif e164 in do_not_call:
                tally["dnc"] += 1
                rejects.append((line, self.env._("%s is on the do-not-call list.", e164), values))
            elif e164 in seen:
                tally["duplicate"] += 1
                first_line = seen[e164]
                reason = (
                    self.env._("Duplicate: %s is already in the campaign.", e164)
                    if first_line is None
                    else self.env._(
                        "Duplicate: %(number)s is on line %(line)s.", number=e164, line=first_line
                    )
                )
                rejects.append((line, reason, values))
            else:
                seen[e164] = line
                to_insert.append((fields_values, e164, extra))
        tally["handled"] += len(batch)
        if not to_insert:
            return []
        cr.execute(
            "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", (copy_format.sequence, len(to_insert))
        )
        ids = [contact_id for (contact_id,) in cr.fetchall()]
        copy_clean_fields = sql_copy.copy_clean_fields
        suffix = copy_format.suffix
        sql_copy.copy_lines(
            cr,
            self.env["outbound.contact"]._table,
            copy_format.columns,
            (
                f"{copy_clean_fields((str(contact_id), *fields_values, e164, extra))}\t{suffix}"
                for contact_id, (fields_values, e164, extra) in zip(ids, to_insert, strict=True)
            ),
        )
        return ids

    def _copy_format(self):
        """The contact columns the import fills, the COPY text of those with one value for the
        whole import (ending each line), and the sequence of the contacts' ids."""
        campaign = self.campaign_id
        cr = self.env.cr
        defaults = self._column_defaults()
        now = cr.now()
        constants = (campaign.id, campaign.company_id.id, "pending", 0, self.env.uid, now, self.env.uid, now)
        # Looked up once: inside a query, pg_get_serial_sequence() would run once per id.
        cr.execute("SELECT pg_get_serial_sequence(%s, 'id')", (self.env["outbound.contact"]._table,))
        return CopyFormat(
            columns=[*WRITTEN_COLUMNS, *defaults],
            suffix=sql_copy.copy_line([*constants, *defaults.values()]),
            sequence=cr.fetchone()[0],
        )

    def _contacts_inserted(self, ids):
        """What create() does after its INSERT: caches invalidated, stored computed fields the
        import did not write computed (none today), what depends on the new contacts recomputed."""
        Contact = self.env["outbound.contact"]
        Contact.invalidate_model()
        self.campaign_id.invalidate_recordset()
        if not ids:
            return
        contacts = Contact.browse(ids)
        for field in Contact._fields.values():
            if field.store and field.compute and field.name not in WRITTEN_COLUMNS:
                self.env.add_to_compute(field, contacts)
        # Except the computed values the import wrote itself (phone_e164, company_id).
        written = [Contact._fields[name] for name in WRITTEN_COLUMNS if Contact._fields[name].compute]
        with self.env.protecting(written, contacts):
            contacts.modified(["campaign_id", "state", *IMPORTABLE_FIELDS, "phone_e164"], create=True)
        self.env.flush_all()

    def _column_defaults(self):
        """``{column: value}`` for the contact's other stored columns that have a simple default."""
        Contact = self.env["outbound.contact"]
        names = [
            name
            for name, field in Contact._fields.items()
            if field.store and field.column_type and not field.compute and name not in WRITTEN_COLUMNS
        ]
        # Without the wizard's ``default_*`` context keys, meant for the wizard, not the contacts.
        defaults = Contact.with_env(self.env(context=clean_context(self.env.context))).default_get(names)
        return {
            name: Contact._fields[name].convert_to_column_insert(value, Contact)
            for name, value in defaults.items()
            if isinstance(value, (str, int, float, bool)) and value is not False
        }

    # ------------------------------------------------------------------ report

    def _report_text(self):
        return self.env._(
            "Import of %(file)s: %(imported)s contacts imported, %(duplicates)s duplicates, "
            "%(invalid)s invalid, %(dnc)s on the do-not-call list, %(skipped)s empty rows skipped.",
            file=self.filename or "",
            imported=self.imported_count,
            duplicates=self.duplicate_count,
            invalid=self.invalid_count,
            dnc=self.dnc_count,
            skipped=self.skipped_count,
        )

    def _post_report(self):
        attachments = []
        if self.rejects_file:
            attachments = [(self.rejects_filename, base64.b64decode(self.rejects_file))]
        self.campaign_id.message_post(body=self._report_text(), attachments=attachments)

    # ------------------------------------------------------------------ background

    def _notify_user(self, message, notification_type):
        self.create_uid.partner_id._bus_send(
            "simple_notification",
            {
                "title": self.env._("Contact import"),
                "message": message,
                "type": notification_type,
                "sticky": True,
            },
        )

    @api.model
    def _cron_import_contacts(self):
        """Run the queued imports, each with the rights of the user who started it."""
        auto_commit = not getattr(threading.current_thread(), "testing", False)
        queued = self.search([("state", "=", "queued")], order="id")
        for done, wizard in enumerate(queued, 1):
            user_wizard = wizard.with_user(wizard.create_uid).with_company(wizard.campaign_id.company_id)
            user_wizard.state = "running"
            if auto_commit:
                # Commit so that the wizard shows the import has started.
                self.env.cr.commit()  # pylint: disable=invalid-commit
            try:
                user_wizard._run_import(auto_commit=auto_commit)
            except Exception as error:
                if not auto_commit:
                    raise
                _logger.exception("Background import of contacts %s failed", wizard.id)
                self.env.cr.rollback()
                message = self.env._(
                    "The import of %(file)s into %(campaign)s stopped: %(error)s. Contacts already "
                    "imported stay; importing the file again skips them as duplicates.",
                    file=wizard.filename or "",
                    campaign=wizard.campaign_id.name,
                    error=error,
                )
                wizard.write({"state": "mapping", "progress": 0.0, "error_message": message})
                wizard._notify_user(message, "danger")
            else:
                wizard._notify_user(user_wizard._report_text(), "success")
            self.env["ir.cron"]._notify_progress(done=done, remaining=len(queued) - done)
            if auto_commit:
                # Each import is its own unit of work: done, reported and committed.
                self.env.cr.commit()  # pylint: disable=invalid-commit


def _batched(iterable, size):
    """Lists of ``size`` items of ``iterable`` (the last one shorter); itertools.batched is 3.12+."""
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch
