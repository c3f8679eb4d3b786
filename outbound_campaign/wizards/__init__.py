from . import outbound_contact_import
from . import outbound_contact_import_mapping
