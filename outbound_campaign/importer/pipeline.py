"""One import run: a table's rows cleaned, their numbers normalised, checked and inserted.

Rows are read, normalised and inserted batch by batch: the phone workers normalise the next
batches while this process inserts the current one. Rejected rows are counted and listed with
their line and reason, in the user's language.
"""

import collections
import dataclasses
import json
from itertools import islice

from odoo.tools import SQL

from .. import do_not_call
from . import contact_insert, partners, phones, rows
from .columns import EXTRA, IMPORTABLE_FIELDS

COPY_CHUNK = 20000
# Batches normalised ahead of the one being inserted: enough to keep the phone workers busy.
LOOKAHEAD = 2
MAX_PHONE_LENGTH = 64


@dataclasses.dataclass
class ImportResult:
    """``tally`` counts the rows handled, skipped, invalid, duplicate and on the do-not-call list;
    ``rejects`` holds ``(line, reason, values)`` sorted by line."""

    ids: list
    tally: collections.Counter
    rejects: list


class ContactImport:
    """Imports ``table`` (a ``reading.Table``) into ``campaign``: ``mapping`` is ``(column index,
    field name or EXTRA)`` for each column used, ``row_count`` the rows expected (for the
    progress) and ``report_progress(percent)`` is called after each batch."""

    def __init__(self, env, campaign, table, mapping, row_count, report_progress):
        self.env = env
        self.campaign = campaign
        self.table = table
        self.mapping = mapping
        self.row_count = row_count
        self.report_progress = report_progress
        self.tally = collections.Counter()
        self.rejects = []
        self.seen = {}  # E.164 number -> the file's line that brought it, None for the campaign's own
        self.ids = []

    def run(self):
        """Import every row; the ``ImportResult``."""
        env = self.env
        env.flush_all()
        cr = env.cr
        contact_insert.lock_contacts(cr, self.campaign.id)
        cr.execute(
            SQL(
                "SELECT phone_e164 FROM outbound_contact WHERE campaign_id = %s AND phone_e164 IS NOT NULL",
                self.campaign.id,
            )
        )
        self.seen = dict.fromkeys(e164 for (e164,) in cr.fetchall())
        country = self.campaign.country_id or self.campaign.company_id.country_id
        copy_format = contact_insert.copy_format(env, self.campaign)
        with phones.PhoneNormaliser(country.code, phones.worker_count(self.row_count)) as normaliser:
            pending = collections.deque()

            def store_oldest():
                self._store_batch(pending.popleft(), normaliser.result(), copy_format)
                self.report_progress(min(99.0, 100.0 * self.tally["handled"] / (self.row_count or 1)))

            for batch in batched(self._candidate_rows(), COPY_CHUNK):
                normaliser.submit([row[1] for row in batch])
                pending.append(batch)
                if len(pending) > LOOKAHEAD:
                    store_oldest()
            while pending:
                store_oldest()
        contact_insert.contacts_inserted(env, self.campaign, self.ids)
        self.rejects.sort(key=lambda reject: reject[0])
        return ImportResult(ids=self.ids, tally=self.tally, rejects=self.rejects)

    def _reject(self, kind, line, reason, values):
        self.tally[kind] += 1
        self.rejects.append((line, reason, values))

    def _candidate_rows(self):
        """``(line, phone, field values, extra json, raw values)`` of each row with a phone that
        may be valid; the others are counted (skipped, invalid) and rejected."""
        header = self.table.header
        field_columns = {name: index for index, name in self.mapping if name != EXTRA}
        extra_columns = [(header[index], index) for index, name in self.mapping if name == EXTRA]
        phone_index = field_columns["phone"]
        # Column of each importable field (None: unmapped), in COPY order.
        field_indexes = [field_columns.get(name) for name in IMPORTABLE_FIELDS]
        used = [*field_columns.values(), *(index for _name, index in extra_columns)]
        for line, values in self.table.rows:
            phone = values[phone_index].strip()
            if not phone:
                if any(values[index].strip() for index in used):
                    self._reject("invalid", line, self.env._("No phone number."), values)
                else:
                    self.tally["skipped"] += 1
                continue
            if rows.CONTROL_CHARACTERS.search(phone):
                self._reject(
                    "invalid", line, self.env._("The phone number holds a control character."), values
                )
                continue
            if len(phone) > MAX_PHONE_LENGTH:
                self._reject("invalid", line, self.env._("The phone number is too long."), values)
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

    def _store_batch(self, batch, normalised, copy_format):
        """Reject a batch's invalid numbers, numbers on a do-not-call list (one query)
        and duplicates; insert the rest."""
        cr = self.env.cr
        numbers = {normalised[phone][0] for _line, phone, *_rest in batch} - {None}
        cr.execute(SQL("%s", do_not_call.listed_numbers(self.campaign.company_id.id, numbers)))
        listed = {e164 for (e164,) in cr.fetchall()}
        to_insert = []
        seen = self.seen
        for line, phone, fields_values, extra, values in batch:
            e164, reason = normalised[phone]
            if not e164:
                self._reject("invalid", line, reason, values)
            elif e164 in listed:
                self._reject("dnc", line, self.env._("%s is on the do-not-call list.", e164), values)
            elif e164 in seen:
                first_line = seen[e164]
                reason = (
                    self.env._("Duplicate: %s is already in the campaign.", e164)
                    if first_line is None
                    else self.env._(
                        "Duplicate: %(number)s is on line %(line)s.", number=e164, line=first_line
                    )
                )
                self._reject("duplicate", line, reason, values)
            else:
                seen[e164] = line
                to_insert.append((fields_values, e164, extra))
        self.tally["handled"] += len(batch)
        partner_ids = self._partners_of(to_insert)
        self.ids.extend(
            contact_insert.insert_contacts(
                self.env,
                copy_format,
                [
                    (*contact, str(partner_id or ""))
                    for contact, partner_id in zip(to_insert, partner_ids, strict=True)
                ],
            )
        )

    def _partners_of(self, contacts):
        """The partner of each contact of a batch (None for none): the company's partner with its
        number (one query), else, if the campaign says so, a new one (created together)."""
        campaign = self.campaign
        if not campaign.link_partners:
            return [None] * len(contacts)
        found = partners.partners_by_number(
            self.env, campaign.company_id.id, [e164 for _f, e164, _x in contacts]
        )
        partner_ids = [found.get(e164) for _f, e164, _x in contacts]
        if campaign.create_partners:
            missing = [index for index, partner_id in enumerate(partner_ids) if partner_id is None]
            names = [partner_name(contacts[index][0]) or contacts[index][1] for index in missing]
            created = partners.create_partners(
                self.env,
                campaign.company_id,
                [(name, contacts[index][1]) for name, index in zip(names, missing, strict=True)],
            )
            for index, partner_id in zip(missing, created, strict=True):
                partner_ids[index] = partner_id
        return partner_ids


def partner_name(fields_values):
    """A new partner's name from a contact's field values (in ``IMPORTABLE_FIELDS`` order)."""
    values = dict(zip(IMPORTABLE_FIELDS, fields_values, strict=True))
    person = " ".join(part for part in (values["firstname"], values["lastname"]) if part)
    return person or values["enterprise"]


def batched(iterable, size):
    """Lists of ``size`` items of ``iterable`` (the last one shorter); itertools.batched is 3.12+."""
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch
