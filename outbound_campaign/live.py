"""Live updates to the browser, as bus notifications.

``bus.bus`` writes a notification when the transaction commits (and not at all when it rolls
back), so a browser never hears of a change it cannot read yet. Payloads carry ids only: the
browser reads the figures back through the ORM, under its user's access rules.

- the dashboard: on the channel of the Manager group, which only its members join;
- an agent's console: on the agent's own partner channel.
"""

from odoo.tools import SQL

from odoo.addons.bus.models.bus import channel_with_db, json_dump

DASHBOARD = "outbound_campaign/dashboard"
AGENT = "outbound_campaign/agent"


def notify_dashboard(env, campaign_ids):
    """Tell the managers' dashboards that these campaigns' figures changed."""
    managers = env.ref("outbound_campaign.group_outbound_manager", raise_if_not_found=False)
    if managers and campaign_ids:
        env["bus.bus"]._sendone(managers, DASHBOARD, {"campaign_ids": sorted(set(campaign_ids))})


def notify_agents(env, agent_ids):
    """Tell each agent's console that their state or call changed.

    One bus row per agent, all written in one INSERT, and the bus woken by its own hook once the
    transaction commits, as ``bus.bus._sendone`` does: its ORM create cost a busy dialer host more than
    storing the calls themselves (hundreds of agents' rows several times a second)."""
    if not agent_ids:
        return
    env["outbound.agent"].flush_model(["state", "user_id"])
    # One query, no record rule: the dialer host and the console notify agents that the current
    # user need not read, and this runs at every turn of the dialer.
    env.cr.execute(
        SQL(
            """SELECT agent.id, agent.state, users.partner_id
                 FROM outbound_agent agent JOIN res_users users ON users.id = agent.user_id
                WHERE agent.id = ANY(%s)""",
            sorted(set(agent_ids)),
        )
    )
    rows = env.cr.fetchall()
    if not rows:
        return
    channels = [
        channel_with_db(env.cr.dbname, env["res.partner"].browse(partner_id))
        for _agent, _state, partner_id in rows
    ]
    env.cr.execute(
        SQL(
            "INSERT INTO bus_bus (channel, message, create_uid, write_uid, create_date, write_date) VALUES %s",
            SQL(", ").join(
                SQL(
                    "(%s, %s, %s, %s, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')",
                    json_dump(channel),
                    json_dump({"type": AGENT, "payload": {"agent_id": agent_id, "state": state}}),
                    env.uid,
                    env.uid,
                )
                for channel, (agent_id, state, _partner) in zip(channels, rows, strict=True)
            ),
        )
    )
    # The bus's own after-commit NOTIFY, one for this transaction's channels and any _sendone's.
    env["bus.bus"]._ensure_hooks()
    env.cr.postcommit.data["bus.bus.channels"].update(channels)
