"""Two of the contacts' indexes that every imported contact and every change of state maintained:
the state's own (served by the (campaign_id, state) and due indexes) is dropped, and the unique
constraint enrolling a record once in a campaign is dropped here and recreated by the model's
init() as a partial unique index, without the contacts of no list."""

from odoo.tools import SQL


def migrate(cr, version):
    cr.execute(SQL("DROP INDEX IF EXISTS outbound_contact__state_index"))
    cr.execute(
        SQL("ALTER TABLE outbound_contact DROP CONSTRAINT IF EXISTS outbound_contact_list_record_uniq")
    )
