#!/usr/bin/env bash
# Storefront throughput: release build, demo catalog, wrk against the category and product
# pages. Prints requests/s and p50/p99 latency. A measurement, not a test: it never fails
# on a number.
#   bench/run.sh                 # 15 s per row, 64 connections
#   DURATION=30 CONNECTIONS=128 bench/run.sh
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"

DURATION="${DURATION:-15}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-1}"
PORT="${BENCH_PORT:-3200}"

"$ROOT/scripts/setup.sh" bench
"$ROOT/scripts/services.sh" start
eval "$("$ROOT/scripts/services.sh" env)"
"$ROOT/scripts/build.sh"

own_site bench "$PORT"

# Served as `make run` serves it (scripts/serve.sh: its own copy of the build, seeded).
start_server() { # $1 = PAGE_CACHE on|off
  stop_release_server
  export PAGE_CACHE="$1"
  start_release_server "$ROOT/target/bench-server.log"
}
trap stop_release_server EXIT
start_server on

BASE="http://127.0.0.1:$PORT"
PRODUCT="$(curl -fs "$BASE/c/t-shirts" | grep -o 'href="/p/[^"]*"' | head -n 1 | sed 's/href="//; s/"$//')"
[ -n "$PRODUCT" ] || die "no product link found on /c/t-shirts"

rows=(
  "category page|/c/clothing|"
  "category, sorted + filtered, page 2|/c/clothing?sort=price-asc&in_stock=1&page=2|"
  "product page|$PRODUCT|"
  "home page|/|"
  "category page, gzip|/c/clothing|Accept-Encoding: gzip"
  "product page, gzip|$PRODUCT|Accept-Encoding: gzip"
)

measure() { # rows...
  for row in "$@"; do
    IFS='|' read -r name path header <<<"$row"
    args=(-t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency)
    [ -n "$header" ] && args+=(-H "$header")
    # Warm the caches, then measure.
    wrk -t1 -c4 -d1s "$BASE$path" >/dev/null 2>&1 || true
    out="$(wrk "${args[@]}" "$BASE$path")"
    rps="$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    errs="$(awk '/Non-2xx|Socket errors/ {e = e $0 " "} END {print (e == "" ? "0" : e)}' <<<"$out")"
    printf '| %-44s | %10s | %9s | %9s | %8s |\n' "$name" "$rps" "$p50" "$p99" "$errs"
  done
}

printf '\nwrk: %s thread(s), %s connections, %ss per row, on %s cores (server and wrk share them)\n\n' \
  "$THREADS" "$CONNECTIONS" "$DURATION" "$(nproc)"
printf '| %-44s | %10s | %9s | %9s | %8s |\n' "page" "req/s" "p50" "p99" "errors"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "------------" "-----------" "-----------" "----------"
measure "${rows[@]}"
start_server off
measure "category page, page cache off|/c/clothing|" "product page, page cache off|$PRODUCT|"
echo
