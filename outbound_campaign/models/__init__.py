from . import outbound_dialer_server
from . import outbound_agent
from . import outbound_campaign
from . import outbound_contact
from . import outbound_call
from . import outbound_pause_reason
from . import outbound_disposition
from . import outbound_do_not_call
