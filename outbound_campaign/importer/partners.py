"""The company's partners of imported numbers: one query per batch, whatever its size.

A contact is linked to the partner whose phone or mobile is its number: the partner's
``phone_sanitized`` (the phone mixin's, the mobile first), or its phone or mobile written in
international form with any punctuation (as Odoo's forms write them), compared as
``mail.thread.phone`` strips them. Partners of the campaign's company or of no company; the
company's own first, then the oldest.
"""

from odoo.tools import SQL

from odoo.addons.phone_validation.models.mail_thread_phone import PHONE_REGEX_PATTERN


def partners_by_number(env, company_id, numbers):
    """``{E.164 number: partner id}`` for the numbers of ``numbers`` a partner has."""
    if not numbers:
        return {}
    # Joined to the numbers, not "= ANY(array)": one hash of the batch, each partner probed once.
    wanted = SQL("unnest(string_to_array(%s, ' ')) AS n(number)", " ".join(numbers))
    candidates = SQL(" UNION ALL ").join(
        SQL(
            """SELECT p.id, p.company_id, n.number FROM res_partner p JOIN %(wanted)s ON n.number = %(number)s
                WHERE p.active AND (p.company_id = %(company)s OR p.company_id IS NULL)""",
            number=number,
            company=company_id,
            wanted=wanted,
        )
        for number in (
            SQL("p.phone_sanitized"),
            SQL("regexp_replace(p.phone, %s, '', 'g')", PHONE_REGEX_PATTERN),
            SQL("regexp_replace(p.mobile, %s, '', 'g')", PHONE_REGEX_PATTERN),
        )
    )
    # The planner overestimates these joins on an expression by orders of magnitude, and would spend
    # seconds compiling the query (JIT) that then runs in a fraction of that: 1.7 s against 0.34 s
    # for 20,000 numbers and 300,000 partners. Off for this query only.
    env.cr.execute(SQL("SET LOCAL jit = off"))
    env.cr.execute(
        SQL(
            "SELECT DISTINCT ON (number) number, id FROM (%s) found ORDER BY number, company_id IS NULL, id",
            candidates,
        )
    )
    found = dict(env.cr.fetchall())
    env.cr.execute(SQL("SET LOCAL jit TO DEFAULT"))
    return found


def create_partners(env, company, contacts):
    """Partners for ``contacts`` (``(name, E.164 number)``), in the company; their ids, in order."""
    partners = (
        env["res.partner"]
        .sudo()
        .with_context(mail_create_nolog=True, tracking_disable=True)
        .create([{"name": name, "phone": number, "company_id": company.id} for name, number in contacts])
    )
    return partners.ids
