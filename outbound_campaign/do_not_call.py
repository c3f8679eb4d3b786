"""Which numbers are never called, in SQL: the one rule the import, the list refresh and the dialer
apply (and ``outbound.contact`` reads through the phone mixin's ``phone_sanitized_blacklisted``).

A number is not called when it is on the contact's company's do-not-call list
(``outbound.do.not.call``: per company, with who asked and why) or active on Odoo's phone blacklist
(``phone.blacklist``: every company, shared with SMS marketing and every ``mail.thread.phone``
model). Both lists hold E.164 numbers, as ``outbound_contact.phone_e164``.
"""

from odoo.tools import SQL


def listed_join(contact):
    """A ``LEFT JOIN LATERAL`` giving ``dnc.listed`` (true, or NULL) for the contacts aliased
    ``contact``. LATERAL with LIMIT 1: one probe of each list's unique index per contact read (a
    plain EXISTS may be planned as a hash of a whole list)."""
    company = SQL.identifier(contact, "company_id")
    number = SQL.identifier(contact, "phone_e164")
    return SQL(
        """LEFT JOIN LATERAL (SELECT true AS listed FROM outbound_do_not_call d
                               WHERE d.company_id = %(company)s AND d.phone_e164 = %(number)s
                           UNION ALL
                              SELECT true FROM phone_blacklist b WHERE b.number = %(number)s AND b.active
                               LIMIT 1) dnc ON true""",
        company=company,
        number=number,
    )


def not_listed(company_id, number):
    """A condition true when ``number`` (an SQL expression) may be called by ``company_id``."""
    return SQL(
        """NOT EXISTS (SELECT 1 FROM outbound_do_not_call d WHERE d.company_id = %(company)s
                                                               AND d.phone_e164 = %(number)s)
           AND NOT EXISTS (SELECT 1 FROM phone_blacklist b WHERE b.number = %(number)s AND b.active)""",
        company=company_id,
        number=number,
    )


def listed_numbers(company_id, numbers):
    """A query of the numbers of ``numbers`` (E.164) that ``company_id`` may not call. They are
    given as one text parameter rather than an array of 20,000: a fraction of the parsing."""
    wanted = SQL("string_to_array(%s, ' ')", " ".join(numbers))
    return SQL(
        """SELECT phone_e164 FROM outbound_do_not_call WHERE company_id = %s AND phone_e164 = ANY(%s)
           UNION
           SELECT number FROM phone_blacklist WHERE active AND number = ANY(%s)""",
        company_id,
        wanted,
        wanted,
    )
