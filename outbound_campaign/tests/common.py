from odoo import Command
from odoo.tests import TransactionCase, new_test_user


class OutboundCampaignCase(TransactionCase):
    """A company with a manager, two agents, a dialer server and a ready-to-run campaign."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True, mail_create_nolog=True))
        cls.company = cls.env.company
        cls.company.country_id = cls.env.ref("base.uk")
        cls.manager = new_test_user(
            cls.env, login="oc_manager", groups="base.group_user,outbound_campaign.group_outbound_manager"
        )
        cls.user_agent = new_test_user(
            cls.env, login="oc_agent", groups="base.group_user,outbound_campaign.group_outbound_agent"
        )
        cls.user_other_agent = new_test_user(
            cls.env, login="oc_other_agent", groups="base.group_user,outbound_campaign.group_outbound_agent"
        )
        cls.user_plain = new_test_user(cls.env, login="oc_plain", groups="base.group_user")
        cls.admin = new_test_user(
            cls.env, login="oc_admin", groups="base.group_system,outbound_campaign.group_outbound_manager"
        )
        Agent = cls.env["outbound.agent"]
        cls.agent = Agent.create({"user_id": cls.user_agent.id, "channel": "PJSIP/2001"})
        cls.other_agent = Agent.create({"user_id": cls.user_other_agent.id, "channel": "PJSIP/2002"})
        cls.server = cls.env["outbound.dialer.server"].create(
            {
                "name": "Test PBX",
                "host": "127.0.0.1",
                "port": 5038,
                "username": "dialer",
                "secret": "s3cret",
                "customer_dial_template": "PJSIP/{number}@trunk",
            }
        )
        cls.campaign = cls.create_campaign(
            "Renewals", agents=cls.agent, phones=("020 7946 0001", "020 7946 0002")
        )

    @classmethod
    def create_campaign(cls, name, agents=None, phones=(), server=True, **values):
        return cls.env["outbound.campaign"].create(
            {
                "name": name,
                "dialer_server_id": cls.server.id if server else False,
                "caller_id_number": "+442079460999",
                "agent_ids": [Command.set(agents.ids)] if agents else [],
                "contact_ids": [Command.create({"phone": phone}) for phone in phones],
                **values,
            }
        )
