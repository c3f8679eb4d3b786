"""Issue 9, defect a, as it was met on a real Asterisk: three agents shared by an agent-first and
a client-first campaign, nine contacts each, five of every nine customers answering.

Whatever the PBX (the simulator here, a real Asterisk in the real-PBX suite), the scenario is the
same: :func:`shared_agents_campaigns` sets it up on a dialer server given the PBX's connection
details, the agents' channels and the customers' numbers (the PBX decides who answers), the
dialer runs until :meth:`SharedAgents.settled`, then :meth:`SharedAgents.check` counts the
client-first customers abandoned against the abandon cap of the agent pool.
"""

from dataclasses import dataclass

from odoo import Command

#: Contacts per campaign, and how many of them answer (the real run: 5 of 9).
CONTACTS = 9
ANSWERING = 5
#: The campaigns' abandon cap, in percent (the FTC's and Ofcom's).
ABANDON_CAP = 3.0


@dataclass
class SharedAgents:
    """The two campaigns of the scenario and the agents they share."""

    agents: object
    agent_first: object
    client_first: object

    @property
    def campaigns(self):
        return self.agent_first | self.client_first

    def settled(self):
        """Every contact called (one attempt each) and no call in flight."""
        contacts = self.campaigns.contact_ids
        return not contacts.filtered(lambda c: c.state in ("pending", "in_progress"))

    def outcomes(self, campaign):
        """``{outcome: number of calls}`` of one of the campaigns."""
        outcomes = {}
        for call in campaign.call_ids:
            outcomes[call.outcome] = outcomes.get(call.outcome, 0) + 1
        return outcomes

    def check(self, case):
        """Every answered customer had an agent: the abandon rate of the client-first campaign (the
        regulators' ratio, abandons per live answer) is within its cap, and the customers who
        answered are all counted."""
        client_first = self.outcomes(self.client_first)
        abandoned = client_first.get("abandoned", 0)
        live = client_first.get("answered", 0) + abandoned
        case.assertEqual(live, ANSWERING, client_first)
        case.assertLessEqual(abandoned / live, ABANDON_CAP / 100, client_first)
        case.assertEqual(self.outcomes(self.agent_first).get("answered", 0), ANSWERING)
        case.assertEqual(self.agents.mapped("state"), ["ready"] * len(self.agents))


def shared_agents_campaigns(
    env, server, link, agent_channels, agent_first_phones, client_first_phones, **campaign_values
):
    """Set up and run the scenario on ``server``: ``link`` its PBX's connection (``host``, ``port``,
    ``username``, ``secret``, written on the server when given), ``agent_channels`` the three
    agents' phones, ``*_phones`` the nine customers of each campaign (E.164; the PBX makes five
    of each nine answer), ``campaign_values`` what else both campaigns are given (``max_wait``,
    ``dial_timeout``…). One attempt per contact, no wrap-up: the run ends when each number has
    been called once."""
    if link:
        server.write({key: link[key] for key in ("host", "port", "username", "secret")})
    users = env["res.users"].create(
        [{"name": f"Shared agent {n}", "login": f"shared_agent_{n}"} for n in range(len(agent_channels))]
    )
    agents = env["outbound.agent"].create(
        [
            {"user_id": user.id, "channel": channel, "state": "ready"}
            for user, channel in zip(users, agent_channels, strict=True)
        ]
    )
    common = {
        "dialer_server_id": server.id,
        "caller_id_number": "+442079460999",
        "agent_ids": [Command.set(agents.ids)],
        "max_attempts": 1,
        "wrap_up_time": 0,
        "abandon_rate_cap": ABANDON_CAP,
        **campaign_values,
    }
    agent_first = env["outbound.campaign"].create(
        {
            "name": "Shared agents, agent first",
            "campaign_type": "agent_first",
            "contact_ids": [Command.create({"phone": phone}) for phone in agent_first_phones],
            **common,
        }
    )
    client_first = env["outbound.campaign"].create(
        {
            "name": "Shared agents, client first",
            "campaign_type": "client_first",
            "contact_ids": [Command.create({"phone": phone}) for phone in client_first_phones],
            **common,
        }
    )
    (agent_first | client_first).action_run_now()
    return SharedAgents(agents, agent_first, client_first)
