#!/usr/bin/env bash
# `make bench`: a throwaway database with the addon installed (no demo data), then every benchmark
# in benchmarks/ (each prints its figures as ratios against a baseline measured in the same run).
set -euo pipefail
source "$(dirname "$0")/common.sh"

require_odoo
install_python_deps
postgres_up

throwaway_database outbound_bench --without-demo=all

cd "$ROOT"
failed=()
for bench in benchmarks/bench_*.py; do
    echo "== $bench"
    # Each benchmark gets the Odoo configuration and the database; one failing does not hide the others.
    PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" "$bench" -c "$CONF" -d "$DB" || failed+=("$bench")
done
[ ${#failed[@]} -eq 0 ] || die "benchmarks failed: ${failed[*]}"
