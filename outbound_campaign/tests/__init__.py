from . import test_campaign_lifecycle
from . import test_campaign_counters
from . import test_constraints
from . import test_security
from . import test_dialer_e2e
from . import test_contact_import
from . import test_dialer_faults
