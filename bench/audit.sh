#!/usr/bin/env bash
# `make audit`: Lighthouse 12 (mobile emulation, simulated slow 4G and 4x CPU) on the five
# storefront pages of the release build, in Debian's headless Chromium. Prints the four
# category scores, LCP, total blocking time and the wasm each page loaded. A measurement,
# not a test: it never fails on a number. JSON reports stay in bench/results/audit/.
#   bench/audit.sh
#   AUDIT_RUNS=3 bench/audit.sh     # median of three runs per page
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"

PORT="${AUDIT_PORT:-3400}"
RUNS="${AUDIT_RUNS:-1}"
OUT="$ROOT/bench/results/audit"

"$ROOT/scripts/setup.sh" test
if [ ! -x "$ROOT/bench/audit/node_modules/.bin/lighthouse" ]; then
  say "installing Lighthouse 12.2.3 (npm)"
  (cd "$ROOT/bench/audit" && npm ci --no-audit --no-fund --loglevel=error)
fi
"$ROOT/scripts/services.sh" start
eval "$("$ROOT/scripts/services.sh" env)"
"$ROOT/scripts/build.sh"

own_site audit "$PORT"
trap stop_release_server EXIT
start_release_server "$ROOT/target/audit-server.log"

BASE="http://127.0.0.1:$PORT"
first_link() { # page, prefix
  curl -fs "$BASE$1" | grep -o "href=\"$2[^\"?]*\"" | head -n 1 | sed 's/href="//; s/"$//'
}
CATEGORY="$(first_link / /c/)"
[ -n "$CATEGORY" ] || die "no category link on the home page"
PRODUCT="$(first_link "$CATEGORY" /p/)"
[ -n "$PRODUCT" ] || die "no product link on $CATEGORY"
WORD="$(sed 's#^/p/##; s/-.*//' <<<"$PRODUCT")"

pages=(
  "home|/"
  "category|$CATEGORY"
  "product|$PRODUCT"
  "search|/search?q=$WORD"
  "cart|/cart"
)

mkdir -p "$OUT"
rm -f "$OUT"/*.json
export CHROME_PATH=/usr/bin/chromium
FLAGS="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync"
for entry in "${pages[@]}"; do
  IFS='|' read -r name path <<<"$entry"
  for run in $(seq 1 "$RUNS"); do
    say "Lighthouse: $name ($path), run $run of $RUNS"
    "$ROOT/bench/audit/node_modules/.bin/lighthouse" "$BASE$path" --quiet \
      --only-categories=performance,accessibility,best-practices,seo \
      --chrome-flags="$FLAGS" --output=json --output-path="$OUT/$name-$run.json" ||
      die "Lighthouse failed on $path"
  done
done

node "$ROOT/bench/audit/summary.mjs" "$OUT" "${pages[@]}"
