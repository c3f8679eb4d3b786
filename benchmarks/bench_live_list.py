"""Live list benchmark: 100,000 partners enrolled into a campaign from a filter.

Run by ``make bench`` (scripts/bench.sh) against a throwaway database:
``python3 benchmarks/bench_live_list.py -c ODOO_CONF -d DATABASE``. It prints, from one run:
- the seconds of the first refresh of a campaign whose filter matches 100,000 partners (each with a
  UK mobile number written as people write it), and its ratio to the limit measured in the same
  run: a bare ``INSERT … SELECT`` of the same partners into another campaign (numbers copied as they
  are, nothing normalised or checked);
- the seconds of the refresh right after (nothing to enrol or withdraw): what the cron pays every
  five minutes for a live list of that size.
Nothing is committed: the transaction is rolled back at the end.
"""

import time

from odoo_database import argument_parser, open_registry

import odoo
from odoo.tools import SQL

PREFIX = "Bench live "


def make_partners(env, count):
    """``count`` partners named ``PREFIX…`` with distinct valid UK mobile numbers, set-based."""
    env.cr.execute(
        SQL(
            """INSERT INTO res_partner (name, complete_name, phone, active, type, is_company,
                                        create_uid, create_date, write_uid, write_date)
               SELECT %(prefix)s || i, %(prefix)s || i, '07400 ' || (100000 + i), true, 'contact', false,
                      1, now(), 1, now()
                 FROM generate_series(1, %(count)s) i""",
            prefix=PREFIX,
            count=count,
        )
    )
    env.cr.execute(SQL("UPDATE res_partner SET commercial_partner_id = id WHERE name LIKE %s", f"{PREFIX}%"))
    env.cr.execute(SQL("ANALYZE res_partner"))
    env.invalidate_all()


def timed_limit(env, campaign):
    """Seconds of a bare ``INSERT … SELECT`` of the benchmark's partners into ``campaign``."""
    start = time.perf_counter()
    env.cr.execute(
        SQL(
            """INSERT INTO outbound_contact (campaign_id, company_id, state, attempt_count, lastname, phone,
                                             phone_e164, list_model, list_res_id, partner_id,
                                             create_uid, create_date, write_uid, write_date)
               SELECT %s, %s, 'pending', 0, p.name, p.phone, p.phone, 'res.partner', p.id, p.id,
                      1, now(), 1, now()
                 FROM res_partner p WHERE p.name LIKE %s AND p.active""",
            campaign.id,
            campaign.company_id.id,
            f"{PREFIX}%",
        )
    )
    return time.perf_counter() - start


def bench(env, count):
    make_partners(env, count)
    uk = env.ref("base.uk")
    Campaign = env["outbound.campaign"]
    values = {
        "country_id": uk.id,
        "list_model": "res.partner",
        "list_domain": f"[('name', '=like', '{PREFIX}%')]",
    }
    campaign = Campaign.create({"name": "Bench live list", **values})
    start = time.perf_counter()
    result = campaign._refresh_list()[campaign.id]
    enrol_time = time.perf_counter() - start
    start = time.perf_counter()
    again = campaign._refresh_list()[campaign.id]
    again_time = time.perf_counter() - start
    limit_campaign = Campaign.create({"name": "Bench live list limit", "country_id": uk.id})
    limit = timed_limit(env, limit_campaign)
    print(
        f"live list: {result.enrolled} of {count} partners enrolled in {enrol_time:.2f} s "
        f"({result.invalid} invalid numbers)"
    )
    print(f"limit: bare INSERT … SELECT {limit:.2f} s; refresh / limit = {enrol_time / limit:.2f}x")
    print(
        f"next refresh: {again_time:.2f} s ({again.enrolled} enrolled, {again.withdrawn} withdrawn): "
        "what the cron pays every 5 minutes"
    )


def main():
    parser = argument_parser(__doc__)
    parser.add_argument("--partners", type=int, default=100_000)
    args = parser.parse_args()
    registry = open_registry(args)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        try:
            bench(env, args.partners)
        finally:
            cr.rollback()


if __name__ == "__main__":
    main()
