"""Plain pytest suites for the parts that need no Odoo: ``outbound_campaign.dialer`` and ``pbxsim``.

``outbound_campaign/__init__.py`` imports the Odoo models, so the dialer package is mounted here
under a bare ``outbound_campaign`` package whose ``__init__`` is not run: importing it then proves
that nothing under ``dialer/`` needs Odoo.
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
