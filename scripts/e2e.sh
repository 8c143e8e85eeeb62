#!/usr/bin/env bash
# Builds the site, serves it against a fresh, seeded database, and runs Playwright.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
eval "$("$ROOT/scripts/services.sh" env)"
export SQLX_OFFLINE=true

cargo leptos build

E2E_PORT="${E2E_PORT:-3100}"
E2E_DB="emporium_e2e"
BASE_DB_URL="${DATABASE_URL%/*}"
psql "$DATABASE_URL" -q -c "DROP DATABASE IF EXISTS $E2E_DB WITH (FORCE)" -c "CREATE DATABASE $E2E_DB"

export DATABASE_URL="$BASE_DB_URL/$E2E_DB"
export BIND_ADDR="127.0.0.1:$E2E_PORT" PUBLIC_URL="http://127.0.0.1:$E2E_PORT"
export LEPTOS_SITE_ROOT="$ROOT/target/site" LEPTOS_ENV=PROD
# E-mail goes to a fresh outbox the tests read; Redis keys are this run's own.
export MAIL_OUTBOX="$ROOT/target/e2e-outbox" E2E_OUTBOX="$ROOT/target/e2e-outbox"
export REDIS_KEY_PREFIX="emporium-e2e:$$:"
# The search index belongs to this run's fresh database.
export SEARCH_INDEX_DIR="$ROOT/target/e2e-search-index"
unset MEILI_URL MEILI_API_KEY
rm -rf "$MAIL_OUTBOX" "$SEARCH_INDEX_DIR"
target/debug/server seed >/dev/null

LOG="$ROOT/target/e2e-server.log"
target/debug/server serve >"$LOG" 2>&1 &
SERVER_PID=$!
trap 'kill -TERM $SERVER_PID 2>/dev/null; wait $SERVER_PID 2>/dev/null || true' EXIT
ready=0
for _ in $(seq 1 150); do
  curl -fs "http://127.0.0.1:$E2E_PORT/readyz" >/dev/null && { ready=1; break; }
  kill -0 $SERVER_PID 2>/dev/null || { cat "$LOG"; die "the server exited before it was ready"; }
  sleep 0.2
done
[ "$ready" -eq 1 ] || { cat "$LOG"; die "the server was not ready after 30 s"; }

E2E_BASE_URL="http://127.0.0.1:$E2E_PORT" npx playwright test --config end2end/playwright.config.ts "$@"
