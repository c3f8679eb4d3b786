from . import test_crm_dispositions
from . import test_pipeline
from . import test_crm_security
from . import test_crm_tours
from . import test_crm_translations
from . import test_crm_live_list
