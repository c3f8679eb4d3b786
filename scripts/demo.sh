#!/usr/bin/env bash
# `make demo`: database outbound_demo with demo data (created, or updated if it exists), then Odoo
# on http://localhost:8069 (admin / admin).
set -euo pipefail
source "$(dirname "$0")/common.sh"

require_odoo
install_python_deps
postgres_up

DB=outbound_demo
CONF="$BUILD/demo.conf"
write_odoo_conf "$CONF" 8069

if psql -qAtc "SELECT 1" "$DB" >/dev/null 2>&1; then
    echo "== updating outbound_campaign in $DB"
    "$PYTHON" -m odoo -c "$CONF" -d "$DB" -u outbound_campaign --stop-after-init --no-http
else
    echo "== creating $DB with demo data"
    "$PYTHON" -m odoo -c "$CONF" -d "$DB" -i outbound_campaign --stop-after-init --no-http
fi
echo "== Odoo on http://localhost:8069 — log in as admin / admin (agents: agent1 / agent1 ... agent5 / agent5)"
exec "$PYTHON" -m odoo -c "$CONF" -d "$DB" --db-filter="^$DB\$"
