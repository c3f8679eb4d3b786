from . import outbound_disposition
from . import outbound_campaign
from . import outbound_contact
from . import outbound_call
from . import outbound_call_counted
from . import crm_lead
from . import res_partner
from . import agent_console
