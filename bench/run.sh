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

# A shopper with a guest cart, and a signed-in shopper with items in the cart: their
# session cookies, from the forms a browser would post.
SKU="$(curl -fs "$BASE$PRODUCT" | grep -o 'name="sku" value="[^"]*"' | head -n 1 | sed 's/.*value="//; s/"$//')"
[ -n "$SKU" ] || die "no SKU found on $PRODUCT"
session_cookie() { # jar
  sed -n 's/.*\temporium_session\t\(.*\)$/emporium_session=\1/p' "$1" | tail -n 1
}
JARS="$(mktemp -d)"
trap 'stop_release_server; rm -rf "$JARS"' EXIT
post() { # jar path data...
  local jar="$1" path="$2"
  shift 2
  curl -fs -o /dev/null -b "$jar" -c "$jar" -H "Origin: $BASE" -H "Accept: text/html" "$@" "$BASE$path"
}
post "$JARS/guest" /api/cart_add --data-urlencode "sku=$SKU" -d quantity=2
email="bench-$(date +%s)-$$@example.com"
post "$JARS/user" /api/register --data-urlencode "email=$email" -d password=bench-password-1234 -d name=Bench
post "$JARS/user" /api/cart_add --data-urlencode "sku=$SKU" -d quantity=1
GUEST="$(session_cookie "$JARS/guest")"
MEMBER="$(session_cookie "$JARS/user")"
[ -n "$GUEST" ] && [ -n "$MEMBER" ] || die "could not get session cookies (cart add / register failed)"
page="$(curl -fs -H "Cookie: $GUEST" "$BASE/c/clothing")"
grep -q 'data-testid="cart-count"[^>]*>2<' <<<"$page" || die "the guest shopper's page does not show their cart"
page="$(curl -fs -H "Cookie: $MEMBER" "$BASE/c/clothing")"
grep -q 'Hi, Bench' <<<"$page" || die "the signed-in shopper's page does not greet them"

# First-time searches: each request asks for a page no one asked for before (the `n`
# parameter is new every time), so each is searched and rendered in full.
cat >"$JARS/first-time.lua" <<'LUA'
local words = {"everyday", "linen", "shirt", "blue", "wool", "cotton", "mug", "lamp", "jacket", "oak", "ceramic", "bag"}
local n, id = 0, 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
request = function()
  n = n + 1
  return wrk.format("GET", "/search?q=" .. words[(n % #words) + 1] .. "&t=" .. id .. "&n=" .. n)
end
LUA

rows=(
  "category page|/c/clothing|"
  "category page, shopper with a cart (session)|/c/clothing|Cookie: $GUEST"
  "category page, signed-in shopper|/c/clothing|Cookie: $MEMBER"
  "category, sorted + filtered, page 2|/c/clothing?sort=price-asc&in_stock=1&page=2|"
  "product page|$PRODUCT|"
  "home page|/|"
  "search results, repeated query|/search?q=everyday|"
  "category page, gzip|/c/clothing|Accept-Encoding: gzip"
  "category, shopper with a cart, gzip|/c/clothing|Accept-Encoding: gzip, br;Cookie: $GUEST"
  "product page, gzip|$PRODUCT|Accept-Encoding: gzip"
)

measure() { # rows...
  for row in "$@"; do
    IFS='|' read -r name path header <<<"$row"
    args=(-t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --latency)
    # Several headers are separated by ";" (none of these values holds one).
    if [ -n "$header" ]; then
      IFS=';' read -ra headers <<<"$header"
      for h in "${headers[@]}"; do args+=(-H "$h"); done
    fi
    if [ "$path" = first-time ]; then
      args+=(-s "$JARS/first-time.lua")
      path=/
    fi
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
measure "search results, first-time queries|first-time|"

# Server time of a first-time search page (the page cache's render timing), 200 queries.
for i in $(seq 1 200); do
  curl -fs -o /dev/null -D - "$BASE/search?q=linen&timing=$i" | tr -d '\r' |
    sed -n 's/^server-timing: render;dur=//p'
done | sort -n | awk '{ v[NR] = $1 } END {
  printf "\nfirst-time search page, server time over %d queries: p50 %.2f ms, p90 %.2f ms, max %.2f ms\n",
    NR, v[int(NR * 0.5)], v[int(NR * 0.9)], v[NR] }'
echo

start_server off
measure "category page, page cache off|/c/clothing|" "product page, page cache off|$PRODUCT|" \
  "search results, page cache off|/search?q=everyday|" \
  "category, shopper with a cart, page cache off|/c/clothing|Cookie: $GUEST"
echo
