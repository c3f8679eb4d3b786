"""Indexes the fields no longer declare, each served by another index (a unique constraint's, a
composite or partial one) or useless on a table of a few hundred rows: dropped, so that the
dialer's writes stop maintaining them (Odoo keeps an index a field stopped declaring)."""

from odoo.tools import SQL

DROPPED = (
    "outbound_call__uuid_index",
    "outbound_call__state_index",
    "outbound_agent__user_id_index",
    "outbound_agent__state_index",
    "outbound_contact__campaign_id_index",
)


def migrate(cr, version):
    for index in DROPPED:
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(index)))
