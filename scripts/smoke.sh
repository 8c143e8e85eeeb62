#!/usr/bin/env bash
# Start-up smoke test of the release build: starts it exactly as `make run` does
# (scripts/serve.sh) on its own port and database, then opens what a shopper opens first:
# the home page, a category page, a product page, a search page and the cart, and the
# stylesheet, script and wasm those pages load; and no page's wasm is over the budget. Needs scripts/build.sh and scripts/services.sh first.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
eval "$("$ROOT/scripts/services.sh" env)"

PORT="${SMOKE_PORT:-3300}"
DB=emporium_smoke
psql "$DATABASE_URL" -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export DATABASE_URL="${DATABASE_URL%/*}/$DB"
export BIND_ADDR="127.0.0.1:$PORT" PUBLIC_URL="http://127.0.0.1:$PORT"
export SEARCH_INDEX_DIR="$ROOT/target/smoke-search-index" MAIL_OUTBOX="$ROOT/target/smoke-outbox"
export REDIS_KEY_PREFIX="emporium-smoke:$$:"
unset MEILI_URL MEILI_API_KEY
rm -rf "$SEARCH_INDEX_DIR" "$MAIL_OUTBOX"

LOG="$ROOT/target/smoke-server.log"
trap stop_release_server EXIT
start_release_server "$LOG"
BASE="http://$BIND_ADDR"

# fetch PATH EXPECTED_TEXT: the page answers 200 and shows EXPECTED_TEXT; prints the body.
fetch() {
  local body status
  body="$(curl -s -w '\n%{http_code}' "$BASE$1")" || die "GET $1: no answer (log: $LOG)"
  status="${body##*$'\n'}"
  body="${body%$'\n'*}"
  [ "$status" = 200 ] || die "GET $1 answered $status (log: $LOG)"
  grep -qF -- "$2" <<<"$body" || die "GET $1 does not show '$2'"
  printf '%s' "$body"
}
first_link() { { grep -o "href=\"$1[^\"?#]*\"" || true; } | head -n 1 | sed 's/^href="//; s/"$//'; }

home="$(fetch / '<title>')"
category="$(first_link /c/ <<<"$home")"
[ -n "$category" ] || die "the home page links to no category"
category_page="$(fetch "$category" 'href="/p/')"
product="$(first_link /p/ <<<"$category_page")"
[ -n "$product" ] || die "$category links to no product"
product_page="$(fetch "$product" 'data-testid="product-name"')"
# Its name's words, as a shopper would type them (from the slug: plain words, no markup).
words="$(tr -s '-' '\n' <<<"${product#/p/}" | grep -vx '[0-9]*' | paste -sd+ || true)"
[ -n "$words" ] || die "no words in the product's address $product"
search_page="$(fetch "/search?q=$words" 'data-testid="search-hit"')"
grep -qF "href=\"$product\"" <<<"$search_page" || die "searching '$words' does not list $product"

# The hashed assets that the pages name are served (a page without them loses its styles
# and never hydrates); noted is what a browser that accepts brotli is sent for each.
grep -qE '/pkg/[^"]+\.css' <<<"$home" || die "the home page names no stylesheet"
grep -qE '/pkg/[^"]+\.js' <<<"$home" || die "the home page names no hydration script"
served=""
for asset in $(grep -oE '/pkg/[^"]+\.(css|js|wasm)' <<<"$home$product_page" | sort -u); do
  size="$(curl -fsS -H 'Accept-Encoding: br' -o /dev/null -w '%{size_download} %header{content-encoding}' "$BASE$asset")" ||
    die "the page names $asset, which does not load"
  served+=" ${asset##*.} $(( ${size%% *} / 1024 )) KB (${size#* })"
done
echo "served to a browser:$served"

# The wasm budget: what each storefront page makes a browser download to become
# interactive, as sent with brotli. A page over the budget fails the build, by name.
# 310 KB holds today's 298 KB; the target is 250 KB (README, "Rendering: islands").
WASM_BUDGET_KB="${WASM_BUDGET_KB:-310}"
cart_page="$(fetch /cart 'Your cart')"
over=""
report=""
for entry in "home|$home" "category $category|$category_page" "product $product|$product_page" "search|$search_page" "cart|$cart_page"; do
  name="${entry%%|*}" html="${entry#*|}"
  bytes=0
  for asset in $(grep -oE '/pkg/[^"]+\.wasm' <<<"$html" | sort -u); do
    size="$(curl -fsS -H 'Accept-Encoding: br' -o /dev/null -w '%{size_download}' "$BASE$asset")" ||
      die "$name names $asset, which does not load"
    bytes=$((bytes + size))
  done
  kb=$(( (bytes + 1023) / 1024 ))
  report+=" ${name%% *} ${kb} KB;"
  [ "$kb" -le "$WASM_BUDGET_KB" ] || over+=" ${name}: ${kb} KB;"
done
echo "wasm per page (brotli, budget $WASM_BUDGET_KB KB):$report"
[ -z "$over" ] || die "over the wasm budget of $WASM_BUDGET_KB KB (brotli):$over"

echo "ok: home, $category, $product, /search?q=$words, /cart and their assets answer as a shopper sees them"
