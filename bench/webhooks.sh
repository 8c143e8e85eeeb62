#!/usr/bin/env bash
# Stripe webhook ingestion: builds the webhook benchmark in release and runs it against a
# fresh database on the project's PostgreSQL (signed events over HTTP to the real
# endpoint, 10 % duplicates, processed by the real event worker). Prints events/s.
# A measurement, not a test: it never fails on a number.
#   bench/webhooks.sh
#   EVENTS=20000 CONCURRENCY=64 bench/webhooks.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
"$ROOT/scripts/services.sh" start
eval "$("$ROOT/scripts/services.sh" env)"
leptos_build_env
cargo build --release -p server --example webhook_bench
BENCH_DB=emporium_bench_webhooks
psql "$DATABASE_URL" -q -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"
DATABASE_URL="${DATABASE_URL%/*}/$BENCH_DB" RUST_LOG=warn REDIS_KEY_PREFIX="emporium-bench-webhooks:$$:" \
  SEARCH_INDEX_DIR="$ROOT/target/bench-webhooks-index" target/release/examples/webhook_bench
