#!/usr/bin/env bash
# CSV import: makes a Shopify product CSV of 10,000 rows (2,500 products, 4 variants each,
# in 50 categories) and runs `server import` on it against a fresh database: the dry run,
# the apply (one transaction), the same file again (everything already imported), then a
# file changing every price (dry run and apply).
# Prints rows per second of each. A measurement, not a test: it never fails on a number.
#   bench/import.sh
#   PRODUCTS=5000 bench/import.sh      # 20,000 rows: batches of 1,000
source "$(dirname "$0")/../scripts/lib.sh"
cd "$ROOT"
"$ROOT/scripts/services.sh" start
eval "$("$ROOT/scripts/services.sh" env)"
leptos_build_env
cargo build --release -p server --bin server
PRODUCTS="${PRODUCTS:-2500}"
FILE="$(mktemp --suffix .csv)"
CHANGED="$(mktemp --suffix .csv)"
trap 'rm -f "$FILE" "$CHANGED"' EXIT
make_file() { python3 - "$PRODUCTS" "$1" <<'PY'
import csv, sys
n, bump = int(sys.argv[1]), int(sys.argv[2])
w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Published",
            "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Variant SKU",
            "Variant Grams", "Variant Inventory Qty", "Variant Price", "Variant Compare At Price",
            "SEO Title", "Status"])
for p in range(n):
    for i, (size, colour) in enumerate([("S", "Sand"), ("S", "Navy"), ("M", "Sand"), ("M", "Navy")]):
        first = i == 0
        w.writerow([
            f"bench-import-{p}", f"Bench import {p}" if first else "",
            f"<p>Product {p}, <strong>linen</strong>.</p>" if first else "",
            "Bench Mills" if first else "", f"Bench > Group {p % 50}" if first else "",
            "bench, linen" if first else "", "TRUE" if first else "",
            "Size" if first else "", size, "Colour" if first else "", colour,
            f"BENCH-IMP-{p}-{size}-{colour.upper()}", "250", str((p + i) % 40),
            f"{19 + bump + p % 30}.90", "", f"Bench import {p}" if first else "", "active" if first else "",
        ])
PY
}
make_file 0 > "$FILE"
# The same catalog with every price one more: 2,500 products changed.
make_file 1 > "$CHANGED"
BENCH_DB=emporium_bench_import
psql "$DATABASE_URL" -q -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" -c "CREATE DATABASE $BENCH_DB"
export DATABASE_URL="${DATABASE_URL%/*}/$BENCH_DB" RUST_LOG=warn
target/release/server migrate
echo "== dry run";            target/release/server import "$FILE" | tail -2
echo "== apply";              target/release/server import "$FILE" --apply | tail -2
echo "== the same file again"; target/release/server import "$FILE" --apply | tail -2
echo "== dry run of a file changing every price"; target/release/server import "$CHANGED" | tail -2
echo "== apply it";           target/release/server import "$CHANGED" --apply | tail -2
