#!/usr/bin/env bash
# `make test`: every check CI runs, in order, against a real PostgreSQL, Redis and Chromium.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
START=$(date +%s)
step() { say "[$(( $(date +%s) - START ))s] $*"; }

step "setup"
"$ROOT/scripts/setup.sh" test
"$ROOT/scripts/services.sh" start --ephemeral
eval "$("$ROOT/scripts/services.sh" env)"
export SQLX_OFFLINE=true

step "rustfmt"
cargo fmt --all --check

step "clippy (ssr)"
cargo clippy --workspace --exclude frontend --all-targets -- -D warnings

step "clippy (hydrate, wasm32)"
cargo clippy --target wasm32-unknown-unknown -p frontend -p app -p domain --features app/hydrate -- -D warnings

step "the wasm bundle's dependencies hold no server crates"
tree="$(cargo tree -p frontend --target wasm32-unknown-unknown -e normal --prefix none | awk '{print $1}' | sort -u)"
grep -qx leptos <<<"$tree" || die "cargo tree did not list the wasm build's dependencies"
forbidden="$(grep -xE 'sqlx|sqlx-core|sqlx-postgres|redis|tokio|mio|services|leptos_axum|axum|tower-sessions|argon2|lettre|tantivy|meilisearch-sdk' <<<"$tree" || true)"
if [ -n "$forbidden" ]; then
  die "server-only crates in the wasm build: $(echo "$forbidden" | tr '\n' ' ')"
fi
echo "ok: no sqlx, redis, tokio, axum, sessions, argon2, lettre, tantivy or meilisearch-sdk in the wasm dependency tree"

step "unit and integration tests"
# Integration tests make one database per test from a migrated, seeded template.
psql "$DATABASE_URL" -qAt -c "SELECT 'DROP DATABASE IF EXISTS \"' || datname || '\";' FROM pg_database WHERE datname LIKE 'emporium_test_%' AND NOT datistemplate" |
  psql "$DATABASE_URL" -q >/dev/null
# Each test app also has its own outbox and search index folder; old ones go first.
rm -rf "${TMPDIR:-/tmp}"/emporium-test-outbox-* "${TMPDIR:-/tmp}"/emporium-test-index-*
cargo nextest run --workspace --exclude frontend

step "end-to-end (Playwright, headless Chromium)"
"$ROOT/scripts/e2e.sh"

step "all checks passed"
