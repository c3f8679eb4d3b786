"""The importer's pure modules load without Odoo, in an interpreter of their own (this session may
hold Odoo's tests too), mounted as the conftest mounts them."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PURE_MODULES = ("columns", "e164", "rows", "spreadsheets", "sql_copy")

CHECK = f"""
import importlib, sys, types
addon = types.ModuleType("outbound_campaign")
addon.__path__ = [{str(ROOT / "outbound_campaign")!r}]
sys.modules["outbound_campaign"] = addon
for name in {PURE_MODULES!r}:
    importlib.import_module("outbound_campaign.importer." + name)
loaded = sorted(module for module in sys.modules if module == "odoo" or module.startswith("odoo."))
print(loaded)
sys.exit(1 if loaded else 0)
"""


def test_pure_modules_import_no_odoo():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
