#!/usr/bin/env bash
# `make run`: set up, start PostgreSQL and Redis, build, migrate, load the demo catalog
# and serve the shop at http://127.0.0.1:3000.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/setup.sh" run
"$ROOT/scripts/services.sh" start
eval "$("$ROOT/scripts/services.sh" env)"

say "building (release)"
SQLX_OFFLINE=true cargo leptos build --release

export LEPTOS_SITE_ROOT="$ROOT/target/site" LEPTOS_ENV=PROD LEPTOS_HASH_FILES=true
export BIND_ADDR="${BIND_ADDR:-127.0.0.1:3000}"
say "migrating and loading the demo catalog"
target/release/server seed
say "starting Emporium at http://${BIND_ADDR}"
say "to use /admin: target/release/server create-admin --email you@example.com (prints a password once)"
exec target/release/server serve
