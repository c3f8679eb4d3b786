import contextlib
import io
import logging
import os
import threading

from markupsafe import Markup

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..importer import columns, pipeline, reading, rows, spreadsheets
from ..importer.columns import EXTRA, IMPORTABLE_FIELDS

_logger = logging.getLogger(__name__)

SAMPLE_VALUES = 3
PREVIEW_REJECTS = 200
# Advisory lock class of "an import into campaign <id> is running" (a fixed, arbitrary number).
IMPORT_LOCK = 720_331
# Files with more data rows than this are imported in the background by the cron job.
BACKGROUND_ROWS_PARAM = "outbound_campaign.import_background_rows"
BACKGROUND_ROWS_DEFAULT = 10000


class OutboundContactImport(models.TransientModel):
    _name = "outbound.contact.import"
    _description = "Import Contacts to be Called"
    # A queued import waits for the cron job and a big one runs for minutes: as base_import, the
    # wizard outlives the default hour before the transient records are vacuumed.
    _transient_max_hours = 12.0

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
    # The rejected rows' CSV file, written once to the filestore and attached to the campaign's
    # report: the wizard shows that same file (no second copy of a file of megabytes).
    rejects_attachment_id = fields.Many2one("ir.attachment", "Rejected rows file", readonly=True)
    rejects_file = fields.Binary("Rejected rows (CSV)", related="rejects_attachment_id.datas")
    rejects_filename = fields.Char(related="rejects_attachment_id.name")
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
        if not self.with_context(bin_size=True).file:
            raise UserError(self.env._("Choose a file to import first."))
        with self._open_file() as stream:
            table = self._read_table(stream)
            header = table.header
            samples = [[] for _column in header]
            row_count = 0
            for _line, values in table.rows:
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
                "encoding": table.encoding,
                "separator": {"\t": "tab"}.get(table.separator, table.separator),
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

    @contextlib.contextmanager
    def _open_file(self):
        """The uploaded file, open for reading as a binary stream: from the filestore, not
        decoded whole in memory (a million-row CSV is 70 MB)."""
        attachment = (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [("res_model", "=", self._name), ("res_field", "=", "file"), ("res_id", "=", self.id)],
                limit=1,
            )
        )
        if attachment.store_fname:
            with open(attachment._full_path(attachment.store_fname), "rb") as stream:
                yield stream
        else:  # kept in the database
            yield io.BytesIO(attachment.raw or b"")

    def _read_table(self, stream, column_count=None):
        """The file ``stream`` as a ``reading.Table``, its rows guarded: any reading error is a
        UserError."""
        try:
            table = reading.read_table(self.env, stream, self.filename, self._column_name, column_count)
        except rows.FileReadError as error:
            raise self._unreadable(error) from error
        table.rows = self._guard(table.rows)
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
        if isinstance(error, reading.EmptyFile):
            return UserError(self.env._("The file %s is empty: nothing to import.", self.filename or ""))
        if isinstance(error, reading.OdsUnsupported):
            return UserError(
                self.env._("Reading an ODS file needs the Python module odfpy: save the file as XLSX or CSV.")
            )
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
        if isinstance(error, reading.BinaryFile):
            return UserError(
                self.env._(
                    "%s is not a CSV or spreadsheet file (it holds binary data): nothing was imported.",
                    file,
                )
            )
        return UserError(self.env._("%(file)s cannot be read: %(error)s", file=file, error=error))

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
        cr.execute(SQL("SELECT pg_try_advisory_lock(%s, %s)", IMPORT_LOCK, campaign.id))
        if not cr.fetchone()[0]:
            raise UserError(
                self.env._(
                    "Another import into campaign %s is running: try again once it is done.", campaign.name
                )
            )
        try:
            rejects_attachment = self._import_rows(auto_commit)
        finally:
            cr.execute(SQL("SELECT pg_advisory_unlock(%s, %s)", IMPORT_LOCK, campaign.id))
        self._post_report(rejects_attachment)

    def _import_rows(self, auto_commit):
        """Import the file and fill the report; the rejects file's attachment (empty for no reject)."""
        with self._open_file() as stream:
            table = self._read_table(stream, column_count=len(self.mapping_ids))
            with rows.RejectsFile(table.header, PREVIEW_REJECTS) as rejects:
                tally = pipeline.ContactImport(
                    self.env,
                    self.campaign_id,
                    table,
                    [(line.column_index, line.field_name) for line in self.mapping_ids if line.field_name],
                    self.row_count,
                    lambda progress: self._set_progress(progress, auto_commit),
                    rejects,
                ).run()
                attachment = self._attach_rejects(rejects) if rejects.count else self.env["ir.attachment"]
                self.write(
                    {
                        "state": "done",
                        "progress": 100.0,
                        "imported_count": tally["imported"],
                        "duplicate_count": tally["duplicate"],
                        "invalid_count": tally["invalid"],
                        "dnc_count": tally["dnc"],
                        "skipped_count": tally["skipped"],
                        "reject_preview": [
                            [line, reason, values] for line, reason, values in rejects.preview
                        ],
                        "rejects_attachment_id": attachment.id,
                    }
                )
        return attachment

    def _attach_rejects(self, rejects):
        """The rejects file, stored once, on the campaign (where the report is posted)."""
        return self.env["ir.attachment"]._create_from_file(
            {
                "name": f"{os.path.splitext(self.filename or 'contacts')[0]}-rejected.csv",
                "mimetype": "text/csv",
                "res_model": "outbound.campaign",
                "res_id": self.campaign_id.id,
            },
            rejects.binary_file(),
        )

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

    def _post_report(self, rejects_attachment):
        """Post the report on the campaign, with the rejects file's attachment if any."""
        self.campaign_id.message_post(body=self._report_text(), attachment_ids=rejects_attachment.ids)

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
