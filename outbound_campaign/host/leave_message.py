"""The agents' **Leave message** requests, taken by the dialer host that holds the server: each
becomes one AMI Redirect (``dialer/orders.py`` ``LeaveMessageOrder``), sent after the commit."""

from odoo.tools import SQL


def take_requests(env, server_id):
    """The uuids of the server's calls whose agent asked to leave the message, marked sent."""
    env.cr.execute(
        SQL(
            """UPDATE outbound_call call
                  SET leave_message_state = 'sent'
                 FROM outbound_campaign campaign
                WHERE campaign.id = call.campaign_id AND campaign.dialer_server_id = %s
                  AND call.leave_message_state = 'requested' AND call.state != 'ended'
            RETURNING call.uuid""",
            server_id,
        )
    )
    return [uuid for (uuid,) in env.cr.fetchall()]
