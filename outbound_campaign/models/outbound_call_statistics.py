from zoneinfo import ZoneInfo

from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import create_index

from ..dialer.schedule import utc


class OutboundCall(models.Model):
    """What the reports and the live dashboard read of calls."""

    _inherit = "outbound.call"

    # Not stored: the dialer inserts calls in SQL, where no compute runs. Grouping by it is
    # computed in SQL (see _field_to_sql); the web client's date groupings stop at the day.
    start_hour = fields.Integer(
        "Hour of day",
        compute="_compute_start_hour",
        aggregator=None,
        help="The hour the call started, on the campaign's clock.",
    )

    def init(self):
        result = super().init()
        # The live dashboard's calls in flight, and the calls ended over a span per campaign (the
        # dialer's pacing counts, the contacts closed lately): the key holds what those read, so
        # that they are read from the index alone.
        create_index(
            self.env.cr,
            "outbound_call_in_flight_index",
            self._table,
            ["campaign_id"],
            where="state <> 'ended'",
        )
        create_index(
            self.env.cr,
            "outbound_call_ended_index",
            self._table,
            ["campaign_id", "end_at", "outcome", "contact_id"],
            where="state = 'ended'",
        )
        return result

    @api.depends("start_at", "campaign_id.tz")
    def _compute_start_hour(self):
        for call in self:
            start = utc(call.start_at)
            call.start_hour = (
                start.astimezone(ZoneInfo(call.campaign_id.tz or "UTC")).hour if start else False
            )

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        if fname == "start_hour":
            start_at = super()._field_to_sql(alias, "start_at", query, flush)
            campaign_tz = SQL(
                "(SELECT COALESCE(tz, 'UTC') FROM outbound_campaign WHERE id = %s)",
                super()._field_to_sql(alias, "campaign_id", query, flush),
            )
            return SQL("date_part('hour', timezone(%s, timezone('UTC', %s)))::int", campaign_tz, start_at)
        return super()._field_to_sql(alias, fname, query, flush)
