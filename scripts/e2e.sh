#!/usr/bin/env bash
# Runs the Playwright suite against the release build that `make run` serves (built by
# scripts/build.sh when it is out of date), started the same way, on a fresh, seeded
# database of its own.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
eval "$("$ROOT/scripts/services.sh" env)"

# `make test` has just built the site; `make e2e` on its own builds it here.
[ "${E2E_BUILT:-}" = 1 ] || "$ROOT/scripts/build.sh"

E2E_PORT="${E2E_PORT:-3100}"
E2E_DB="emporium_e2e"
psql "$DATABASE_URL" -q -c "DROP DATABASE IF EXISTS $E2E_DB WITH (FORCE)" -c "CREATE DATABASE $E2E_DB"

export DATABASE_URL="${DATABASE_URL%/*}/$E2E_DB"
export BIND_ADDR="127.0.0.1:$E2E_PORT" PUBLIC_URL="http://127.0.0.1:$E2E_PORT"
# E-mail goes to a fresh outbox the tests read; Redis keys are this run's own.
export MAIL_OUTBOX="$ROOT/target/e2e-outbox" E2E_OUTBOX="$ROOT/target/e2e-outbox"
export REDIS_KEY_PREFIX="emporium-e2e:$$:"
# Card payments against localstripe, the local Stripe server (its Stripe.js too), with
# its webhooks delivered to this server.
"$ROOT/scripts/localstripe.sh" start
eval "$("$ROOT/scripts/localstripe.sh" env)"
export STRIPE_SECRET_KEY=sk_test_e2e STRIPE_PUBLISHABLE_KEY=pk_test_e2e STRIPE_WEBHOOK_SECRET="whsec_e2e_$$"
export STRIPE_API_URL="$LOCALSTRIPE_URL" STRIPE_JS_URL="$LOCALSTRIPE_URL/js.stripe.com/v3/"
curl -fsS -X POST "$LOCALSTRIPE_URL/_config/webhooks/e2e" \
  -d "url=$PUBLIC_URL/webhooks/stripe" -d "secret=$STRIPE_WEBHOOK_SECRET" >/dev/null
# The search index belongs to this run's fresh database.
export SEARCH_INDEX_DIR="$ROOT/target/e2e-search-index"
unset MEILI_URL MEILI_API_KEY
rm -rf "$MAIL_OUTBOX" "$SEARCH_INDEX_DIR"

trap stop_release_server EXIT
start_release_server "$ROOT/target/e2e-server.log"
# The staff test makes its first owner with the command line, as a new shop does.
export E2E_SERVER_BIN="$ROOT/target/release/server"
say "Playwright runs against the release build ($(grep -o 'build [0-9a-f]*' "$ROOT/target/e2e-server.log" | head -n 1): server profile release, wasm profile wasm-release, hashed assets)"

E2E_BASE_URL="http://$BIND_ADDR" npx playwright test --config end2end/playwright.config.ts "$@"
# Everything the browser did to stock (orders, cancellations, adjustments) left movements
# that add up to each variant's figure.
"$E2E_SERVER_BIN" check-stock
