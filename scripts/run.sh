#!/usr/bin/env bash
# `make run`: set up, start PostgreSQL and Redis, build the release site, migrate, load
# the demo catalog and serve the shop at http://127.0.0.1:3000.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/setup.sh" run
"$ROOT/scripts/services.sh" start
eval "$("$ROOT/scripts/services.sh" env)"
"$ROOT/scripts/build.sh"
say "to use /admin: target/release/server create-admin --email you@example.com (prints a password once)"
exec "$ROOT/scripts/serve.sh"
