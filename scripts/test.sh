#!/usr/bin/env bash
# `make test`: a throwaway database with the addon and its demo data installed, then every test
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

throwaway_database outbound_test

echo "== lint"
"$ROOT/scripts/lint.sh"

echo "== tests"
cd "$ROOT"
# --odoo-http: without it pytest-odoo silently skips every browser test (HttpCase).
"$PYTHON" -m pytest -p no:cacheprovider --odoo-config "$CONF" --odoo-database "$DB" --odoo-http \
    tests outbound_campaign/tests "$@"
