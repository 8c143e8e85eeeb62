#!/usr/bin/env bash
# Serves the release build as `make run` does: from a copy of its own under target/serve/
# (so a later build, `make test` or a benchmark never changes the files under a running
# shop), after migrating and loading the demo catalog. Needs scripts/build.sh first.
# Settings come from the environment (DATABASE_URL, REDIS_URL, BIND_ADDR, ...).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

[ -x target/release/server ] && [ -f target/release/hash.txt ] && [ -d target/site/pkg ] ||
  die "no release build here: run scripts/build.sh (or make run) first"

# One folder per build, named by what it holds; the server finds hash.txt next to itself.
id="$(cat target/release/hash.txt target/release/server | sha256sum | cut -c1-12)"
SNAPSHOT="$ROOT/target/serve/$id"
if [ ! -f "$SNAPSHOT/ready" ]; then
  rm -rf "$SNAPSHOT.tmp" && mkdir -p "$SNAPSHOT.tmp"
  cp target/release/server target/release/hash.txt "$SNAPSHOT.tmp/"
  cp -r target/site "$SNAPSHOT.tmp/site"
  touch "$SNAPSHOT.tmp/ready"
  rm -rf "$SNAPSHOT" && mv "$SNAPSHOT.tmp" "$SNAPSHOT"
fi
touch "$SNAPSHOT"
# Keep the three most recently served builds; a shop still running an older one keeps its
# binary but would lose its assets, so older ones go only after three newer builds.
ls -1dt "$ROOT"/target/serve/*/ 2>/dev/null | tail -n +4 | xargs -r rm -rf

export LEPTOS_SITE_ROOT="$SNAPSHOT/site" LEPTOS_ENV=PROD
export BIND_ADDR="${BIND_ADDR:-127.0.0.1:3000}"
say "migrating and loading the demo catalog"
"$SNAPSHOT/server" seed
say "starting Emporium at http://${BIND_ADDR} (build $id)"
exec "$SNAPSHOT/server" serve
