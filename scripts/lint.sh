#!/usr/bin/env bash
# ruff and pylint-odoo, both expected to report nothing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
python3 -m ruff check .
python3 -m ruff format --check --quiet . || { python3 -m ruff format --diff . ; exit 1; }
python3 -m pylint --rcfile=.pylintrc outbound_campaign outbound_campaign_crm
