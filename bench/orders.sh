#!/usr/bin/env bash
# Admin order list: builds the benchmark in release and runs it against a fresh database
# on the project's PostgreSQL with 1,000,000 orders; prints server time (p50/p95/p99/max)
# of the list filtered and sorted at page 100, and the CSV export's rows per second. A
# measurement, not a test: it never fails on a number.
#   bench/orders.sh
#   ORDERS=100000 RUNS=100 bench/orders.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
"$ROOT/scripts/services.sh" start
eval "$("$ROOT/scripts/services.sh" env)"
leptos_build_env
cargo build --release -p services --example orders_bench
BENCH_DB=emporium_bench_orders
psql "$DATABASE_URL" -q -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"
DATABASE_URL="${DATABASE_URL%/*}/$BENCH_DB" RUST_LOG=warn target/release/examples/orders_bench
