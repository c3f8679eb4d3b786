"""Contact import benchmark: a 200,000-row CSV through the wizard, against its limit and load().

Run by ``make bench`` (scripts/bench.sh) against a throwaway database:
``python3 benchmarks/bench_import.py -c ODOO_CONF -d DATABASE``. It prints, from one run:
- rows/s of the wizard's import (``action_import``, run synchronously) of a 200,000-row file;
- the ratio to the limit measured in the same run: a PostgreSQL COPY of the same prepared rows into
  the same table, plus a bare one-core loop normalising the file's numbers with phonenumbers
  (no cache) — goal: at most 1.5x;
- the ratio to Odoo's generic ``load()`` on a 20,000-row sample — goal: at least 25x faster;
- the peak memory of the process (goal: under 1 GB).
Nothing is committed: the transaction is rolled back at the end.
"""

import argparse
import base64
import csv
import io
import random
import resource
import time

import phonenumbers

import odoo
from odoo.tools import config

FIRSTNAMES = ["Ann", "Bob", "Chloé", "David", "Émile", "Fatima", "George", "Hélène", "Ian", "Jade"]
LASTNAMES = ["Smith", "Jones", "Taylor", "Brown", "Dupont", "Martin", "Wilson", "Evans", "Moreau", "Khan"]


def make_rows(count, seed=20251127):
    """Realistic rows: UK numbers in several notations, ~4% repeated (in another notation), ~1% invalid."""
    rng = random.Random(seed)
    rows = []
    issued = []
    for index in range(count):
        draw = rng.random()
        if draw < 0.04 and issued:
            national = rng.choice(issued)
            phone = "+44 " + national[1:]
        elif draw < 0.05:
            phone = rng.choice(["12", "0000", "n/a", "020 7946"])
        else:
            kind = rng.random()
            if kind < 0.5:
                national = f"07{rng.choice('4589')}{rng.randrange(10**7, 10**8)}"
                phone = f"{national[:5]} {national[5:]}"
            elif kind < 0.8:
                national = f"020{rng.choice('378')}{rng.randrange(10**6, 10**7)}"
                phone = f"({national[:3]}) {national[3:7]} {national[7:]}"
            else:
                national = f"0161{rng.randrange(2, 9)}{rng.randrange(10**5, 10**6)}"
                phone = f"{national[:4]} {national[4:7]} {national[7:]}"
            issued.append(national)
        rows.append(
            [
                rng.choice(FIRSTNAMES),
                rng.choice(LASTNAMES),
                f"Company {index % 5000}",
                phone,
                f"{rng.randrange(1, 300)} High Street, Town {index % 700}, UK",
            ]
        )
    return rows


def to_csv(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["firstname", "lastname", "enterprise", "phone", "address"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def bare_normalisation(numbers, region):
    """The limit's normalisation: one core, no cache, plain phonenumbers."""
    e164 = phonenumbers.PhoneNumberFormat.E164
    start = time.perf_counter()
    for number in numbers:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            phonenumbers.format_number(parsed, e164)
    return time.perf_counter() - start


def peak_memory_mb():
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def bench(env, row_count, load_count):
    from odoo.addons.outbound_campaign.importer import sql_copy  # the addons path is set in main()

    env["ir.config_parameter"].sudo().set_param("outbound_campaign.import_background_rows", row_count * 2)
    manager = env.ref("base.user_admin")
    uk = env.ref("base.uk")
    Campaign = env["outbound.campaign"].with_user(manager)
    campaign = Campaign.create({"name": "Bench import", "country_id": uk.id})
    rows = make_rows(row_count)
    data = to_csv(rows)
    print(f"import: {row_count} rows, {len(data) / 1e6:.1f} MB CSV")

    wizard = (
        env["outbound.contact.import"]
        .with_user(manager)
        .create({"campaign_id": campaign.id, "file": base64.b64encode(data), "filename": "bench.csv"})
    )
    start = time.perf_counter()
    wizard.action_parse()
    parse_time = time.perf_counter() - start
    start = time.perf_counter()
    wizard.action_import()
    import_time = time.perf_counter() - start
    rate = row_count / import_time
    print(
        f"import: {import_time:.2f} s = {rate:,.0f} rows/s (+ {parse_time:.2f} s for the mapping step): "
        f"{wizard.imported_count} imported, {wizard.duplicate_count} duplicates, "
        f"{wizard.invalid_count} invalid, {wizard.skipped_count} skipped"
    )

    # The limit: COPY of the same prepared rows into the same table + a bare normalisation loop.
    cr = env.cr
    columns = [
        "campaign_id",
        "company_id",
        "firstname",
        "lastname",
        "enterprise",
        "phone",
        "phone_e164",
        "address",
        "state",
        "attempt_count",
        "create_uid",
        "create_date",
        "write_uid",
        "write_date",
    ]
    limit_campaign = Campaign.create({"name": "Bench limit", "country_id": uk.id})
    cr.execute(
        f"SELECT {', '.join(columns)} FROM outbound_contact WHERE campaign_id = %s",
        (campaign.id,),
    )
    prepared = [(limit_campaign.id, *row[1:]) for row in cr.fetchall()]
    start = time.perf_counter()
    sql_copy.copy_rows(cr, "outbound_contact", columns, prepared)
    copy_time = time.perf_counter() - start
    del prepared
    loop_time = bare_normalisation([row[3] for row in rows], "GB")
    limit = copy_time + loop_time
    print(
        f"limit: COPY {copy_time:.2f} s + bare phonenumbers loop {loop_time:.2f} s (one core) "
        f"= {limit:.2f} s; "
        f"import / limit = {import_time / limit:.2f}x (goal <= 1.5x)"
    )

    # Odoo's generic load() on a sample.
    load_campaign = Campaign.create({"name": "Bench load", "country_id": uk.id})
    sample = [[str(load_campaign.id), *row] for row in rows[:load_count]]
    fields_list = ["campaign_id/.id", "firstname", "lastname", "enterprise", "phone", "address"]
    start = time.perf_counter()
    result = env["outbound.contact"].with_user(manager).load(fields_list, sample)
    load_time = time.perf_counter() - start
    load_rate = load_count / load_time
    errors = sum(1 for message in result["messages"] if message.get("type") == "error")
    print(
        f"load(): {load_count} rows in {load_time:.2f} s = {load_rate:,.0f} rows/s "
        f"({errors} error messages); "
        f"import is {rate / load_rate:.1f}x faster (goal >= 25x)"
    )
    own, children = peak_memory_mb()
    print(f"peak memory: {own:.0f} MB (this process), {children:.0f} MB (largest worker); goal < 1024 MB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--load-rows", type=int, default=20_000)
    args = parser.parse_args()
    config.parse_config(["-c", args.config, "-d", args.database])
    odoo.modules.module.initialize_sys_path()
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        try:
            bench(env, args.rows, args.load_rows)
        finally:
            cr.rollback()


if __name__ == "__main__":
    main()
