#!/usr/bin/env bash
# Search benchmark: builds the search benchmark in release and runs it (no database
# needed: products come from the demo generator). Prints indexing time and query latency.
# A measurement, not a test: it never fails on a number.
#   bench/search.sh
#   PRODUCTS=20000 QUERIES=500 bench/search.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
export SQLX_OFFLINE=true
cargo build --release -p services --example search_bench
RUST_LOG=warn target/release/examples/search_bench
