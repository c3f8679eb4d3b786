#!/usr/bin/env bash
# `make test`: a throwaway database with the addons and their demo data installed, then every test
# (plain pytest for the dialer and the simulator, Odoo tests through pytest-odoo), then lint.
set -euo pipefail
source "$(dirname "$0")/common.sh"

require_odoo
install_python_deps
postgres_up
require_node
build_assets
require_chromium
require_asterisk_sounds

# outbound_campaign installs on its own, without crm (install only, no tests); the tests run with the
# CRM addon, which installs outbound_campaign and crm with it.
throwaway_database outbound_alone
throwaway_database outbound_test -i outbound_campaign_crm

echo "== lint"
"$ROOT/scripts/lint.sh"

echo "== tests"
cd "$ROOT"
# --odoo-http: without it pytest-odoo silently skips every browser test (HttpCase).
"$PYTHON" -m pytest -p no:cacheprovider --odoo-config "$CONF" --odoo-database "$DB" --odoo-http \
    tests outbound_campaign/tests outbound_campaign_crm/tests "$@"
