"""What every benchmark starts with: its ``-c``/``-d`` arguments (as ``scripts/bench.sh`` passes
them) and the Odoo registry of that database."""

import argparse
import gc

import psycopg2.errors

import odoo
from odoo.tools import SQL


def argument_parser(doc):
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("-c", "--config", required=True)
    parser.add_argument("-d", "--database", required=True)
    return parser


def open_registry(args, *options):
    """The registry of ``args.database`` under ``args.config`` (plus Odoo ``options``)."""
    odoo.tools.config.parse_config(["-c", args.config, "-d", args.database, *options])
    odoo.modules.module.initialize_sys_path()
    return odoo.modules.registry.Registry(args.database)


def vacuum(registry, options, *tables):
    """VACUUM ``tables`` (every table of the database if none) with ``options`` (their SQL text, ""
    for none), outside a transaction."""
    with registry.cursor() as cr:
        cr._cnx.autocommit = True  # VACUUM refuses to run in a transaction block
        cr.execute(
            SQL(
                "VACUUM %s %s",
                SQL("(%s)", SQL(options)) if options else SQL(""),
                SQL(", ").join(map(SQL.identifier, tables)),
            )
        )


def settle(registry, *tables):
    """The same start for every measured step: ``tables`` (every table if none) vacuumed and
    analysed, and the writes checkpointed, here rather than by autovacuum and the checkpointer
    during the step. What the previous step or benchmark rolled back or deleted (hundreds of
    thousands of rows) is otherwise vacuumed while the next one is measured."""
    vacuum(registry, "ANALYZE", *tables)
    with registry.cursor() as cr:
        try:
            cr.execute(SQL("CHECKPOINT"))
        except psycopg2.errors.InsufficientPrivilege:
            print("  (no CHECKPOINT before the step: the role is neither a superuser nor in pg_checkpoint)")


#: Young collections between two full ones in the benchmark's process (Python's default: 10).
FULL_COLLECTION_THRESHOLD = 100_000


def freeze_heap():
    """The PBX simulator runs in the benchmark's process and stands in for Asterisk, which has no
    garbage collector: full collections of Odoo's registry and of the simulator's growing record
    of actions stopped it for 100-200 ms every few seconds, at random moments of the dialer's runs
    and of the bare client's alike. What this process holds now is put out of the collector's
    reach, as the dialer does, and full collections all but stop (young ones go on)."""
    gc.collect()
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)
