"""Contacts inserted with COPY, and what the ORM's ``create()`` would have done around it.

COPY bypasses the ORM: the import writes the company, the state and the audit columns itself,
gives every other stored column its default as the ORM would, then replays what ``create()``
does after its INSERT (caches invalidated, stored computes and what depends on the new contacts
recomputed).
"""

import dataclasses

from odoo.tools import SQL, clean_context

from . import sql_copy
from .columns import IMPORTABLE_FIELDS

# Values the import writes itself, in COPY order: those of each row, then those of the whole import.
# Every other stored column gets its default, as the ORM would.
WRITTEN_COLUMNS = (
    "id",
    *IMPORTABLE_FIELDS,
    "phone_e164",
    "phone_sanitized",
    "extra_data",
    "partner_id",
    "campaign_id",
    "company_id",
    "state",
    "attempt_count",
    "create_uid",
    "create_date",
    "write_uid",
    "write_date",
)


#: First key of the campaign contact locks (the second is the campaign's id).
CONTACT_LOCK = 0x6F63  # "oc"


def lock_contacts(cr, campaign_id):
    """Make this transaction the only writer of new contacts into the campaign until it ends: the
    import and a list refresh each check for numbers already in the campaign before inserting, and
    would both insert a number neither saw."""
    cr.execute(SQL("SELECT pg_advisory_xact_lock(%s, %s)", CONTACT_LOCK, campaign_id))


@dataclasses.dataclass(frozen=True)
class CopyFormat:
    """The contact columns the import fills, the COPY text of those with one value for the whole
    import (ending each line), and the sequence of the contacts' ids."""

    columns: list
    suffix: str
    sequence: str


def copy_format(env, campaign):
    """The ``CopyFormat`` of contacts imported into ``campaign`` by ``env``'s user, now."""
    cr = env.cr
    defaults = column_defaults(env)
    now = cr.now()
    constants = (campaign.id, campaign.company_id.id, "pending", 0, env.uid, now, env.uid, now)
    # Looked up once: inside a query, pg_get_serial_sequence() would run once per id.
    cr.execute(SQL("SELECT pg_get_serial_sequence(%s, 'id')", env["outbound.contact"]._table))
    return CopyFormat(
        columns=[*WRITTEN_COLUMNS, *defaults],
        suffix=sql_copy.copy_line([*constants, *defaults.values()]),
        sequence=cr.fetchone()[0],
    )


def column_defaults(env):
    """``{column: value}`` for the contact's other stored columns that have a simple default."""
    Contact = env["outbound.contact"]
    names = [
        name
        for name, field in Contact._fields.items()
        if field.store and field.column_type and not field.compute and name not in WRITTEN_COLUMNS
    ]
    # Without the wizard's ``default_*`` context keys, meant for the wizard, not the contacts.
    defaults = Contact.with_env(env(context=clean_context(env.context))).default_get(names)
    return {
        name: Contact._fields[name].convert_to_column_insert(value, Contact)
        for name, value in defaults.items()
        if isinstance(value, (str, int, float, bool)) and value is not False
    }


def insert_contacts(env, copy_format, contacts):
    """Insert ``contacts`` (``(field values in IMPORTABLE_FIELDS order, cleaned, "" for none;
    E.164 number; extra data as JSON text or ""; partner id as text or "")``) with one COPY; their new ids."""
    if not contacts:
        return []
    cr = env.cr
    cr.execute(
        SQL("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", copy_format.sequence, len(contacts))
    )
    ids = [contact_id for (contact_id,) in cr.fetchall()]
    copy_clean_fields = sql_copy.copy_clean_fields
    suffix = copy_format.suffix
    sql_copy.copy_lines(
        cr,
        env["outbound.contact"]._table,
        copy_format.columns,
        (
            f"{copy_clean_fields((str(contact_id), *fields_values, e164, e164, extra, partner))}\t{suffix}"
            for contact_id, (fields_values, e164, extra, partner) in zip(ids, contacts, strict=True)
        ),
    )
    return ids


def contacts_inserted(env, campaign, ids):
    """What create() does after its INSERT: caches invalidated, stored computed fields the
    import did not write computed (none today), what depends on the new contacts recomputed."""
    Contact = env["outbound.contact"]
    Contact.invalidate_model()
    campaign.invalidate_recordset()
    if not ids:
        return
    contacts = Contact.browse(ids)
    for field in Contact._fields.values():
        if field.store and field.compute and field.name not in WRITTEN_COLUMNS:
            env.add_to_compute(field, contacts)
    # Except the computed values the import wrote itself (phone_e164, phone_sanitized, company_id).
    written = [Contact._fields[name] for name in WRITTEN_COLUMNS if Contact._fields[name].compute]
    with env.protecting(written, contacts):
        contacts.modified(["campaign_id", "state", *IMPORTABLE_FIELDS, "phone_e164"], create=True)
    env.flush_all()
