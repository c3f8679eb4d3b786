"""What every benchmark starts with: its ``-c``/``-d`` arguments (as ``scripts/bench.sh`` passes
them) and the Odoo registry of that database."""

import argparse

import odoo


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
