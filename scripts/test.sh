#!/usr/bin/env bash
# `make test`: a throwaway database with the addon and its demo data installed, then every test
# (plain pytest for the dialer and the simulator, Odoo tests through pytest-odoo), then lint.
set -euo pipefail
source "$(dirname "$0")/common.sh"

require_odoo
install_python_deps
postgres_up
require_chromium

DB="outbound_test_$$"
CONF="$BUILD/test-$$.conf"
INSTALL_LOG="$BUILD/test-$$-install.log"
write_odoo_conf "$CONF" 0
cleanup() {
    dropdb --if-exists "$DB" >/dev/null 2>&1 || true
    rm -rf "$BUILD/data/filestore/$DB" "$CONF" "$INSTALL_LOG"
}
trap cleanup EXIT

echo "== installing outbound_campaign (with demo data) into $DB"
"$PYTHON" -m odoo -c "$CONF" -d "$DB" -i outbound_campaign --stop-after-init --no-http \
    --log-level=info --logfile="$INSTALL_LOG" || { tail -50 "$INSTALL_LOG"; die "installation failed"; }
if grep -E "^[0-9-]+ [0-9:,]+ [0-9]+ (WARNING|ERROR|CRITICAL) " "$INSTALL_LOG"; then
    die "installation logged the warnings or errors above"
fi

echo "== lint"
"$ROOT/scripts/lint.sh"

echo "== tests"
cd "$ROOT"
# --odoo-http: without it pytest-odoo silently skips every browser test (HttpCase).
"$PYTHON" -m pytest -p no:cacheprovider --odoo-config "$CONF" --odoo-database "$DB" --odoo-http \
    tests outbound_campaign/tests "$@"
