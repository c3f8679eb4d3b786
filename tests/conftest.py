"""Plain pytest suites for the parts that need no Odoo: ``outbound_campaign.dialer``, the pure
modules of ``outbound_campaign.importer``, the host's pending writes and ``pbxsim``.

``outbound_campaign/__init__.py`` imports the Odoo models, so the addon's packages are mounted
here under a bare ``outbound_campaign`` package whose ``__init__`` is not run: importing them then
proves that nothing under ``dialer/`` (nor the importer modules these tests import) needs Odoo.
"""

import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if "outbound_campaign" not in sys.modules:
    _addon = types.ModuleType("outbound_campaign")
    _addon.__path__ = [str(ROOT / "outbound_campaign")]
    sys.modules["outbound_campaign"] = _addon
