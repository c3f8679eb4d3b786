"""Live updates to the browser, as bus notifications.

``bus.bus`` writes a notification when the transaction commits (and not at all when it rolls
back), so a browser never hears of a change it cannot read yet. Payloads carry ids only: the
browser reads the figures back through the ORM, under its user's access rules.

- the dashboard: on the channel of the Manager group, which only its members join;
- an agent's console: on the agent's own partner channel.
"""

from odoo.tools import SQL

DASHBOARD = "outbound_campaign/dashboard"
AGENT = "outbound_campaign/agent"


def notify_dashboard(env, campaign_ids):
    """Tell the managers' dashboards that these campaigns' figures changed."""
    managers = env.ref("outbound_campaign.group_outbound_manager", raise_if_not_found=False)
    if managers and campaign_ids:
        env["bus.bus"]._sendone(managers, DASHBOARD, {"campaign_ids": sorted(set(campaign_ids))})


def notify_agents(env, agent_ids):
    """Tell each agent's console that their state or call changed."""
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
    for agent_id, state, partner_id in env.cr.fetchall():
        env["bus.bus"]._sendone(
            env["res.partner"].browse(partner_id), AGENT, {"agent_id": agent_id, "state": state}
        )
