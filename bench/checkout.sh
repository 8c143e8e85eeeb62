#!/usr/bin/env bash
# Checkout throughput: builds the checkout benchmark in release and runs it against a
# fresh database on the project's PostgreSQL. Prints orders/s and p50/p99 latency for
# N concurrent buyers on distinct SKUs and on one hot SKU, and an oversell check.
# A measurement, not a test: it never fails on a number.
#   bench/checkout.sh
#   BUYERS=64 SECONDS=20 CONNECTIONS=32 bench/checkout.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
"$ROOT/scripts/services.sh" start
eval "$("$ROOT/scripts/services.sh" env)"
# The same compile-time settings as the release site, so its compiled crates are reused.
leptos_build_env
cargo build --release -p server --example checkout_bench
BENCH_DB=emporium_bench_checkout
psql "$DATABASE_URL" -q -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"
DATABASE_URL="${DATABASE_URL%/*}/$BENCH_DB" RUST_LOG=warn target/release/examples/checkout_bench
