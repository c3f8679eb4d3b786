from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import create_index

from ..dialer.pacing import stats_of_outcomes, window_first_day

#: Prefixes of the counters' kinds: ``contact:<state>`` (no day) and ``call:<outcome>`` (per day).
CONTACT = "contact:"
CALL = "call:"

#: What each counted table contributes per row (the ``%s`` are the delta, 1 or -1, and the rows'
#: source, a transition table or the table itself): its campaign, the kind and the day it counts
#: under, and which rows count at all. A call counts once ended with an outcome, on its UTC day.
COUNTED = {
    "outbound_contact": "SELECT campaign_id, 'contact:' || state AS kind, NULL::date AS day, %s AS delta FROM %s",
    "outbound_call": "SELECT campaign_id, 'call:' || outcome AS kind, end_at::date AS day, %s AS delta FROM %s"
    " WHERE state = 'ended' AND outcome IS NOT NULL AND end_at IS NOT NULL",
}


class OutboundCampaignCounter(models.Model):
    """Per-campaign counts of contacts by state and of ended calls by outcome and day, kept exact by
    PostgreSQL itself whatever writes the contacts and calls: the ORM, the dialer host's set-based
    SQL, the importer's COPY, deletions and their cascades.

    Statement-level triggers append one delta row per campaign and kind a statement changed (never
    an update of a shared row: concurrent dialer transactions do not wait on each other); readers
    sum the rows of a key, and :meth:`_cron_compact` folds them into one row per key. The live
    dashboard and the dialer's pacing read these sums instead of counting a million contacts and
    the calls of 30 days.
    """

    _name = "outbound.campaign.counter"
    _description = "Outbound Campaign Counter"
    _log_access = False

    campaign_id = fields.Many2one("outbound.campaign", required=True, readonly=True, ondelete="cascade")
    kind = fields.Char(
        required=True, readonly=True, help="contact:<state> for contacts, call:<outcome> for ended calls."
    )
    day = fields.Date(readonly=True, help="The day (UTC) the calls ended; empty for contacts.")
    count = fields.Integer(readonly=True)

    def init(self):
        cr = self.env.cr
        create_index(cr, "outbound_campaign_counter_campaign_day_index", self._table, ["campaign_id", "day"])
        for table, counted in COUNTED.items():
            self._create_triggers(table, counted)
        # From the tables themselves, in one statement (one snapshot): rows written by concurrent
        # transactions are in neither the deleted deltas nor the counts, and their own deltas stay.
        cr.execute(
            SQL(
                """
                WITH stale AS (DELETE FROM outbound_campaign_counter)
                INSERT INTO outbound_campaign_counter (campaign_id, kind, day, count)
                SELECT campaign_id, kind, day, sum(delta) FROM (%s UNION ALL %s) counted
              GROUP BY campaign_id, kind, day
                """,
                *(SQL(counted % ("1", SQL.identifier(table).code)) for table, counted in COUNTED.items()),
            )
        )

    def _drop_triggers(self):
        """At uninstall: the trigger functions outlive the module otherwise (CASCADE: their triggers)."""
        for table in COUNTED:
            self.env.cr.execute(SQL(f"DROP FUNCTION IF EXISTS outbound_campaign_counter_{table}() CASCADE"))

    def _create_triggers(self, table, counted):
        """Triggers on ``table`` appending the deltas of each statement from its transition tables
        (PostgreSQL takes one event per trigger with transition tables, and no column list)."""
        deltas = {
            "INSERT": counted % ("1", "new_rows"),
            "DELETE": counted % ("-1", "old_rows"),
            "UPDATE": f"{counted % ('1', 'new_rows')} UNION ALL {counted % ('-1', 'old_rows')}",
        }
        # A deleted campaign takes its counters with it: the deltas of its cascaded contacts and
        # calls are not written (they would refer to a campaign that is gone).
        append = """
            INSERT INTO outbound_campaign_counter (campaign_id, kind, day, count)
            SELECT d.campaign_id, d.kind, d.day, sum(d.delta) FROM ({deltas}) d
             WHERE EXISTS (SELECT FROM outbound_campaign c WHERE c.id = d.campaign_id)
          GROUP BY d.campaign_id, d.kind, d.day
            HAVING sum(d.delta) <> 0;
        """
        function = f"outbound_campaign_counter_{table}"
        self.env.cr.execute(
            SQL(
                f"""
                CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$
                BEGIN
                    IF TG_OP = 'INSERT' THEN {append.format(deltas=deltas["INSERT"])}
                    ELSIF TG_OP = 'DELETE' THEN {append.format(deltas=deltas["DELETE"])}
                    ELSE {append.format(deltas=deltas["UPDATE"])}
                    END IF;
                    RETURN NULL;
                END
                $body$
                """
            )
        )
        for event, referencing in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            trigger = f"{function}_{event.lower()}"
            self.env.cr.execute(
                SQL(
                    f"""
                    DROP TRIGGER IF EXISTS {trigger} ON {table};
                    CREATE TRIGGER {trigger} AFTER {event} ON {table} REFERENCING {referencing}
                       FOR EACH STATEMENT EXECUTE FUNCTION {function}()
                    """
                )
            )

    @api.model
    def _call_counts(self, campaign_ids, first_day):
        """``{campaign_id: {outcome: count}}`` of the campaigns' calls ended (with an outcome) on
        ``first_day`` or later, in UTC days."""
        self.env["outbound.call"].flush_model(["campaign_id", "state", "outcome", "end_at"])
        self.env.cr.execute(
            SQL(
                """SELECT campaign_id, kind, sum(count) FROM outbound_campaign_counter
                    WHERE campaign_id = ANY(%s) AND day >= %s
                 GROUP BY campaign_id, kind""",
                list(campaign_ids),
                first_day,
            )
        )
        counts = {}
        for campaign_id, kind, count in self.env.cr.fetchall():
            if count:
                counts.setdefault(campaign_id, {})[kind.removeprefix(CALL)] = count
        return counts

    @api.model
    def _pacing_stats(self, campaign_ids, now, counts=None):
        """Per campaign, the pacing counts of its calls ended over the pacing window at ``now``
        (``pacing.window_first_day``), counted by ``pacing.stats_of_outcomes``: the dialer paces on
        them and the live dashboard shows them. ``counts``: :meth:`_call_counts` over that window,
        when the caller has read them for other counts too (the dashboard's machines)."""
        if not campaign_ids:
            return {}
        if counts is None:
            counts = self._call_counts(campaign_ids, window_first_day(now))
        return {campaign_id: stats_of_outcomes(outcomes) for campaign_id, outcomes in counts.items()}

    @api.model
    def _cron_compact(self):
        """Fold the deltas of every key that has several into one row (none if they sum to zero).

        One statement: it deletes only the rows its snapshot sees and inserts their sums, so deltas
        that concurrent transactions append meanwhile stay as they are, and readers see either the
        deltas or their sum, never both."""
        self.env.cr.execute(
            SQL(
                """
                WITH folded AS (
                    DELETE FROM outbound_campaign_counter
                     WHERE id IN (SELECT id FROM (SELECT id, count(*) OVER (PARTITION BY campaign_id, kind, day) AS rows
                                                   FROM outbound_campaign_counter) keyed
                                   WHERE rows > 1)
                 RETURNING campaign_id, kind, day, count
                )
                INSERT INTO outbound_campaign_counter (campaign_id, kind, day, count)
                SELECT campaign_id, kind, day, sum(count) FROM folded
              GROUP BY campaign_id, kind, day
                HAVING sum(count) <> 0
                """
            )
        )
