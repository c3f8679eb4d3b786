#!/usr/bin/env bash
# `make bench`: a throwaway database with the addon installed (no demo data), then every benchmark
# in benchmarks/ (each prints its figures as ratios against a baseline measured in the same run).
set -euo pipefail
source "$(dirname "$0")/common.sh"

require_odoo
install_python_deps
postgres_up

DB="outbound_bench_$$"
CONF="$BUILD/bench-$$.conf"
INSTALL_LOG="$BUILD/bench-$$-install.log"
write_odoo_conf "$CONF" 0
cleanup() {
    dropdb --if-exists "$DB" >/dev/null 2>&1 || true
    rm -rf "$BUILD/data/filestore/$DB" "$CONF" "$INSTALL_LOG"
}
trap cleanup EXIT

echo "== installing outbound_campaign into $DB"
"$PYTHON" -m odoo -c "$CONF" -d "$DB" -i outbound_campaign --without-demo=all --stop-after-init --no-http \
    --log-level=warn --logfile="$INSTALL_LOG" || { tail -50 "$INSTALL_LOG"; die "installation failed"; }

cd "$ROOT"
failed=()
for bench in benchmarks/bench_*.py; do
    echo "== $bench"
    # Each benchmark gets the Odoo configuration and the database; one failing does not hide the others.
    PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" "$bench" -c "$CONF" -d "$DB" || failed+=("$bench")
done
[ ${#failed[@]} -eq 0 ] || die "benchmarks failed: ${failed[*]}"
