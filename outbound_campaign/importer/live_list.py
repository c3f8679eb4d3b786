"""A campaign's list from a filter: the records matching a domain enrolled as contacts, set-based.

One refresh, in one transaction, under the campaign's contact lock (``contact_insert.lock_contacts``):

1. contacts from the list that are still untouched (to call, never called, reserved for nobody) and
   whose record stopped matching are withdrawn;
2. the numbers of the matching records not enrolled yet are read (distinct), normalised by the
   import's own rule (``phones.normalise_many``: one parse per notation, worker processes for big
   lists), and the valid ones enrolled with one ``INSERT … SELECT`` joined to them. A number already in
   the campaign, on the company's do-not-call list or on Odoo's phone blacklist is not enrolled;
   a record is enrolled once (``outbound_contact_list_record_uniq``).
"""

import dataclasses

from odoo.tools import SQL

from .. import do_not_call
from . import contact_insert, phones

#: After inserting this many contacts the table's statistics are refreshed: with the planner still
#: believing the campaign small, the next refresh's anti-joins ran as nested loops (220–400 s
#: instead of seconds for 100,000 contacts).
ANALYZE_MIN_ROWS = 10000


def _address(r):
    return SQL(
        "NULLIF(concat_ws(', ', NULLIF(%s, ''), NULLIF(%s, ''), NULLIF(%s, '')), '')",
        SQL.identifier(r, "street"),
        SQL.identifier(r, "zip"),
        SQL.identifier(r, "city"),
    )


def _partner_columns(r):
    return {
        "lastname": SQL.identifier(r, "name"),
        "enterprise": SQL(
            "COALESCE((SELECT p.name FROM res_partner p WHERE p.id = %s), NULLIF(%s, ''))",
            SQL.identifier(r, "parent_id"),
            SQL.identifier(r, "company_name"),
        ),
        "address": _address(r),
        "partner_id": SQL.identifier(r, "id"),
    }


def _lead_columns(r):
    return {
        "lastname": SQL(
            "COALESCE(NULLIF(%s, ''), NULLIF(%s, ''), %s)",
            SQL.identifier(r, "contact_name"),
            SQL.identifier(r, "partner_name"),
            SQL.identifier(r, "name"),
        ),
        "enterprise": SQL("NULLIF(%s, '')", SQL.identifier(r, "partner_name")),
        "address": _address(r),
        "partner_id": SQL.identifier(r, "partner_id"),
    }


#: Per list model: the contact's columns read from a record, given the record's alias.
SOURCES = {"res.partner": _partner_columns, "crm.lead": _lead_columns}
#: The columns a refresh writes; every other stored column gets its default, as with the import.
WRITTEN_COLUMNS = (
    "campaign_id",
    "company_id",
    "state",
    "attempt_count",
    "create_uid",
    "create_date",
    "write_uid",
    "write_date",
    "list_model",
    "list_res_id",
    "partner_id",
    "lastname",
    "enterprise",
    "address",
    "phone",
    "phone_e164",
    "phone_sanitized",
)


@dataclasses.dataclass(frozen=True)
class ListRefresh:
    """What a refresh did: contacts enrolled and withdrawn, numbers that cannot be dialled."""

    enrolled: int
    withdrawn: int
    invalid: int


def refresh(env, campaign, domain):
    """Bring ``campaign``'s contacts from its list in line with the records of
    ``campaign.list_model`` matching ``domain`` in the campaign's company; a ``ListRefresh``."""
    env.flush_all()
    contact_insert.lock_contacts(env.cr, campaign.id)
    withdrawn = _withdraw(env, campaign, matching_query(env, campaign, domain))
    enrolled, invalid = _enrol(env, campaign, matching_query(env, campaign, domain))
    return ListRefresh(enrolled=enrolled, withdrawn=withdrawn, invalid=invalid)


def matching_query(env, campaign, domain):
    """The ``Query`` of the list model's records matching ``domain`` (active ones) in the campaign's
    company. As superuser: the list is the campaign's, not its last editor's."""
    Model = env[campaign.list_model].sudo().with_company(campaign.company_id)
    if "company_id" in Model._fields:
        domain = [*domain, ("company_id", "in", [campaign.company_id.id, False])]
    return Model._search(domain)


def _withdraw(env, campaign, query):
    """Withdraw the untouched contacts of the list whose record no longer matches (or of a list
    model the campaign no longer uses); how many."""
    env.cr.execute(
        SQL(
            """SELECT c.id FROM outbound_contact c
                WHERE c.campaign_id = %(campaign)s AND c.list_model IS NOT NULL
                  AND c.state = 'pending' AND c.attempt_count = 0 AND c.assigned_agent_id IS NULL
                  AND NOT EXISTS (SELECT 1 FROM outbound_call k WHERE k.contact_id = c.id)
                  AND (c.list_model <> %(model)s OR c.list_res_id NOT IN (%(matching)s))""",
            campaign=campaign.id,
            model=campaign.list_model,
            matching=query.subselect(SQL.identifier(query.table, "id")),
        )
    )
    ids = [contact_id for (contact_id,) in env.cr.fetchall()]
    # Through the ORM: their followers, messages and activities go with them (few rows, and rare).
    env["outbound.contact"].sudo().browse(ids).unlink()
    return len(ids)


def _enrol(env, campaign, query):
    """Enrol the matching records not enrolled yet; ``(contacts enrolled, invalid numbers)``."""
    cr = env.cr
    record = query.table
    phone = SQL.identifier(record, campaign.list_phone_field)
    query.add_where(SQL("%s IS NOT NULL AND %s <> ''", phone, phone))
    query.add_where(
        SQL(
            """NOT EXISTS (SELECT 1 FROM outbound_contact c WHERE c.campaign_id = %s AND c.list_model = %s
                                                            AND c.list_res_id = %s)""",
            campaign.id,
            campaign.list_model,
            SQL.identifier(record, "id"),
        )
    )
    cr.execute(SQL("SELECT DISTINCT %s FROM %s WHERE %s", phone, query.from_clause, query.where_clause))
    numbers = [number for (number,) in cr.fetchall()]
    if not numbers:
        return 0, 0
    country = campaign.country_id or campaign.company_id.country_id
    normalised = phones.normalise_many(numbers, country.code)
    valid = [(number, e164) for number, (e164, _reason) in normalised.items() if e164]
    columns = SOURCES[campaign.list_model](record)
    defaults = {
        name: value
        for name, value in contact_insert.column_defaults(env).items()
        if name not in WRITTEN_COLUMNS
    }
    now = cr.now()
    cr.execute(
        SQL(
            """INSERT INTO outbound_contact (%(columns)s)
               SELECT %(values)s FROM (
                    SELECT DISTINCT ON (n.e164) %(id)s AS res_id, n.raw, n.e164, %(lastname)s AS lastname,
                           %(enterprise)s AS enterprise, %(address)s AS address, %(partner)s AS partner_id
                      FROM %(from)s
                      JOIN unnest(%(raws)s::text[], %(e164s)s::text[]) AS n(raw, e164) ON n.raw = %(phone)s
                     WHERE %(where)s
                  ORDER BY n.e164, %(id)s
               ) l
               WHERE NOT EXISTS (SELECT 1 FROM outbound_contact c
                                  WHERE c.campaign_id = %(campaign)s AND c.phone_e164 = l.e164)
                 AND %(callable)s
               ON CONFLICT DO NOTHING
               RETURNING id""",
            columns=SQL(", ").join(SQL.identifier(name) for name in (*WRITTEN_COLUMNS, *defaults)),
            values=SQL(", ").join(
                [
                    SQL("%s, %s, 'pending', 0", campaign.id, campaign.company_id.id),
                    SQL("%s, %s, %s, %s", env.uid, now, env.uid, now),
                    SQL("%s, l.res_id, l.partner_id", campaign.list_model),
                    SQL("l.lastname, l.enterprise, l.address, l.raw, l.e164, l.e164"),
                    *(SQL("%s", value) for value in defaults.values()),
                ]
            ),
            id=SQL.identifier(record, "id"),
            lastname=columns["lastname"],
            enterprise=columns["enterprise"],
            address=columns["address"],
            partner=columns["partner_id"],
            raws=[number for number, _e164 in valid],
            e164s=[e164 for _number, e164 in valid],
            phone=phone,
            campaign=campaign.id,
            callable=do_not_call.not_listed(campaign.company_id.id, SQL("l.e164")),
            **{"from": query.from_clause, "where": query.where_clause},
        )
    )
    ids = [contact_id for (contact_id,) in cr.fetchall()]
    if len(ids) >= ANALYZE_MIN_ROWS:
        cr.execute(SQL("ANALYZE outbound_contact"))
    contact_insert.contacts_inserted(env, campaign, ids)
    return len(ids), len(normalised) - len(valid)
