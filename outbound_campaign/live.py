"""Live updates to the browser, as bus notifications.

``bus.bus`` writes a notification when the transaction commits (and not at all when it rolls
back), so a browser never hears of a change it cannot read yet. Payloads carry ids only: the
browser reads the figures back through the ORM, under its user's access rules.

- the dashboard: on the channel of the Manager group, which only its members join;
- an agent's console: on the agent's own partner channel.
"""

DASHBOARD = "outbound_campaign/dashboard"
AGENT = "outbound_campaign/agent"


def notify_dashboard(env, campaign_ids):
    """Tell the managers' dashboards that these campaigns' figures changed."""
    managers = env.ref("outbound_campaign.group_outbound_manager", raise_if_not_found=False)
    if managers and campaign_ids:
        env["bus.bus"]._sendone(managers, DASHBOARD, {"campaign_ids": sorted(set(campaign_ids))})


def notify_agents(env, agent_ids):
    """Tell each agent's console that their state or call changed."""
    # sudo: the dialer host and the console notify agents that the current user need not read.
    for agent in env["outbound.agent"].sudo().browse(sorted(set(agent_ids))).exists():
        env["bus.bus"]._sendone(agent.user_id.partner_id, AGENT, {"agent_id": agent.id, "state": agent.state})
