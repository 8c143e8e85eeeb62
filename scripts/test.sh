#!/usr/bin/env bash
# `make test`: every check CI runs, in order, against a real PostgreSQL, Redis and Chromium.
# Everything is built once, in the profiles `make run` uses: the release site first (so a
# release-only failure fails fast), then the tests and clippy reuse its compiled
# dependencies (same profile, features and cargo-leptos variables).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
START=$(date +%s)
STEP_START=$START
STEP_NAME=""
TIMES=()
step() {
  local now; now=$(date +%s)
  [ -z "$STEP_NAME" ] || TIMES+=("$(printf '%5ss  %s' $((now - STEP_START)) "$STEP_NAME")")
  STEP_START=$now STEP_NAME="$*"
  say "[$((now - START))s] $*"
}

step "setup"
"$ROOT/scripts/setup.sh" test
"$ROOT/scripts/services.sh" start --ephemeral
eval "$("$ROOT/scripts/services.sh" env)"
# The local Stripe server the payment tests pay against.
"$ROOT/scripts/localstripe.sh" start
eval "$("$ROOT/scripts/localstripe.sh" env)"
# The local S3 server uploaded images are stored in by the storage test.
"$ROOT/scripts/moto.sh" start
eval "$("$ROOT/scripts/moto.sh" env)"
export SQLX_OFFLINE=true

step "rustfmt"
cargo fmt --all --check

step "layout: areas apart, no import circles, services free of web-layer crates"
python3 "$ROOT/scripts/check-layout.py"
# Services take plain values (a user id, an IP): no session, router or server-function
# crate anywhere in their dependency tree, so the REST API and workers can call them.
tree="$(cargo tree -p services -e normal --prefix none | awk '{print $1}' | sort -u)"
grep -qx sqlx <<<"$tree" || die "cargo tree did not list the services' dependencies"
web="$(grep -E '^(tower-sessions.*|axum.*|leptos.*|server_fn.*)$' <<<"$tree" || true)"
[ -z "$web" ] || die "web-layer crates in the services' dependency tree: $(echo "$web" | tr '\n' ' ')"
echo "ok: no tower-sessions, axum, leptos or server_fn crate under services"

step "the wasm bundle's dependencies hold no server crates"
tree="$(cargo tree -p frontend --target wasm32-unknown-unknown -e normal --prefix none | awk '{print $1}' | sort -u)"
grep -qx leptos <<<"$tree" || die "cargo tree did not list the wasm build's dependencies"
forbidden="$(grep -xE 'sqlx|sqlx-core|sqlx-postgres|redis|tokio|mio|services|leptos_axum|axum|tower-sessions|argon2|lettre|tantivy|meilisearch-sdk' <<<"$tree" || true)"
if [ -n "$forbidden" ]; then
  die "server-only crates in the wasm build: $(echo "$forbidden" | tr '\n' ' ')"
fi
echo "ok: no sqlx, redis, tokio, axum, sessions, argon2, lettre, tantivy or meilisearch-sdk in the wasm dependency tree"

step "release build (what make run serves)"
"$ROOT/scripts/build.sh"

# Every later cargo command compiles with what cargo-leptos gave the release build.
leptos_build_env

step "start-up smoke test of the release build"
"$ROOT/scripts/smoke.sh"

step "end-to-end (Playwright, headless Chromium, release build)"
E2E_BUILT=1 "$ROOT/scripts/e2e.sh"

step "unit and integration tests (release profile)"
# Integration tests make one database per test from a migrated, seeded template.
psql "$DATABASE_URL" -qAt -c "SELECT 'DROP DATABASE IF EXISTS \"' || datname || '\";' FROM pg_database WHERE datname LIKE 'emporium_test_%' AND NOT datistemplate" |
  psql "$DATABASE_URL" -q >/dev/null
# Each test app also has its own outbox and search index folder; old ones go first.
rm -rf "${TMPDIR:-/tmp}"/emporium-test-outbox-* "${TMPDIR:-/tmp}"/emporium-test-index-*
# --tests: libraries, binaries and tests/ (examples are left to clippy, which checks them).
cargo nextest run --release --workspace --exclude frontend --tests

step "clippy (ssr)"
cargo clippy --release --workspace --exclude frontend --all-targets -- -D warnings

step "clippy (hydrate, wasm32)"
# In the wasm build's own target folder and profile, so its build scripts and macros are reused.
cargo clippy --target wasm32-unknown-unknown --target-dir target/front --profile wasm-release \
  -p frontend -p app -p domain --features app/hydrate -- -D warnings

step "done"
printf '%s\n' "${TIMES[@]}"
say "all checks passed in $(( $(date +%s) - START ))s"
