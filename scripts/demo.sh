#!/usr/bin/env bash
# `make demo`: database outbound_demo with demo data (created, or updated if it exists), the PBX
# simulator on 127.0.0.1:5038 (the demo's "Demo PBX"), the dedicated dialer, and Odoo on
# http://localhost:8069 (admin / admin). Ctrl-C stops all three.
set -euo pipefail
source "$(dirname "$0")/common.sh"

require_odoo
install_python_deps
postgres_up
require_node
build_assets

DB=outbound_demo
CONF="$BUILD/demo.conf"
write_odoo_conf "$CONF" 8069
ADDONS_PATH=$(odoo_addons_path)

if psql -qAtc "SELECT 1" "$DB" >/dev/null 2>&1; then
    echo "== updating outbound_campaign in $DB"
    "$PYTHON" -m odoo -c "$CONF" -d "$DB" -u outbound_campaign --stop-after-init --no-http
else
    echo "== creating $DB with demo data"
    "$PYTHON" -m odoo -c "$CONF" -d "$DB" -i outbound_campaign --stop-after-init --no-http
fi

children=()
cleanup() { for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done; wait; }
trap cleanup EXIT INT TERM

echo "== PBX simulator on 127.0.0.1:5038 (log: $BUILD/pbxsim.log)"
(cd "$ROOT" && exec "$PYTHON" -m pbxsim --port 5038 --seed 7 \
    --mix answer=0.45,busy=0.2,no_answer=0.2,invalid=0.05,congestion=0.1 \
    --ring-time 2:8 --talk-time 8:40 >"$BUILD/pbxsim.log" 2>&1) &
children+=($!)

echo "== dialer: odoo-bin outbound_dialer (log: $BUILD/dialer.log)"
(cd "$ROOT" && exec "$PYTHON" -m odoo --addons-path="$ADDONS_PATH" outbound_dialer -c "$CONF" -d "$DB" \
    --logfile="$BUILD/dialer.log") &
children+=($!)

echo "== Odoo on http://localhost:8069 — log in as admin / admin (agents: agent1 / agent1 ... agent5 / agent5)"
"$PYTHON" -m odoo -c "$CONF" -d "$DB" --db-filter="^$DB\$"
