#!/usr/bin/env bash
# Serves the release build as `make run` does: from a copy of its own under target/serve/
# (so a later build, `make test` or a benchmark never changes the files under a running
# shop), after migrating and loading the demo catalog. Needs scripts/build.sh first.
# Settings come from the environment (DATABASE_URL, REDIS_URL, BIND_ADDR, ...).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

[ -x target/release/server ] && [ -f target/release/hash.txt ] && [ -d target/site/pkg ] ||
  die "no release build here: run scripts/build.sh (or make run) first"

# Copy first, then name the copy by what it holds: a build running meanwhile can change
# target/, never a snapshot. The server reads hash.txt next to itself on every page.
mkdir -p target/serve
tmp="$(mktemp -d target/serve/.new.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT
cp target/release/server target/release/hash.txt "$tmp/"
cp -r target/site "$tmp/site"
while IFS=: read -r ext hash; do
  hash="${hash// /}"
  [ -z "$ext" ] || [ -f "$tmp/site/pkg/emporium.$hash.$ext" ] ||
    die "the build is incomplete (no pkg/emporium.$hash.$ext): was it being rebuilt? Run scripts/build.sh again"
done <"$tmp/hash.txt"
id="$( (cd "$tmp" && find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-12)"
SNAPSHOT="$ROOT/target/serve/$id"
# A snapshot, once there, is never changed: the same build started twice shares one.
mv -T "$tmp" "$SNAPSHOT" 2>/dev/null || rm -rf "$tmp"
trap - EXIT
touch "$SNAPSHOT"

# Keep the three most recently started builds, and any that a running server uses.
in_use() { # dir: does a running process execute dir/server?
  local exe
  for exe in /proc/[0-9]*/exe; do
    [ "$(readlink "$exe" 2>/dev/null)" = "$1/server" ] && return 0
  done
  return 1
}
mapfile -t old < <(ls -1dt target/serve/*/ 2>/dev/null | tail -n +4)
for dir in "${old[@]}"; do
  dir="$ROOT/${dir%/}"
  in_use "$dir" || rm -rf -- "$dir"
done

export LEPTOS_SITE_ROOT="$SNAPSHOT/site" LEPTOS_ENV=PROD
export BIND_ADDR="${BIND_ADDR:-127.0.0.1:3000}"
say "migrating and loading the demo catalog"
# In the background, so that stopping this script stops the seed too.
"$SNAPSHOT/server" seed &
seed=$!
trap 'kill -TERM $seed 2>/dev/null; exit 143' TERM INT
wait $seed
trap - TERM INT
say "starting Emporium at http://${BIND_ADDR} (build $id)"
exec "$SNAPSHOT/server" serve
