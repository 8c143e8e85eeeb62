#!/usr/bin/env bash
# Admin product list: builds the benchmark in release and runs it against a fresh database
# on the project's PostgreSQL with 100,000 products; prints server time (p50/p95/p99/max)
# of the list filtered and sorted at page 50. A measurement, not a test: it never fails on
# a number.
#   bench/admin-products.sh
#   PRODUCTS=20000 RUNS=100 bench/admin-products.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
"$ROOT/scripts/services.sh" start
eval "$("$ROOT/scripts/services.sh" env)"
leptos_build_env
cargo build --release -p services --example admin_products_bench
BENCH_DB=emporium_bench_admin_products
psql "$DATABASE_URL" -q -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"
DATABASE_URL="${DATABASE_URL%/*}/$BENCH_DB" RUST_LOG=warn target/release/examples/admin_products_bench
