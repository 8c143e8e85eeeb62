#!/usr/bin/env bash
# Installs whatever is missing to build and run Emporium; quick when nothing is.
#   scripts/setup.sh          # build + run tools
#   scripts/setup.sh test     # also Chromium for the end-to-end tests
#   scripts/setup.sh bench    # also wrk for the benchmarks
source "$(dirname "$0")/lib.sh"

CARGO_LEPTOS_VERSION=0.3.11
MODE="${1:-run}"

# --- Distribution packages -------------------------------------------------------------
pkgs=()
command -v cc >/dev/null || pkgs+=(build-essential)
command -v curl >/dev/null || pkgs+=(curl)
command -v python3 >/dev/null || pkgs+=(python3)
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)
[ -n "$(pg_bindir)" ] || pkgs+=(postgresql)
command -v psql >/dev/null || pkgs+=(postgresql-client)
command -v redis-server >/dev/null || pkgs+=(redis-server)
if [ "$MODE" = test ]; then
  [ -x /usr/bin/chromium ] || pkgs+=(chromium)
fi
if [ "$MODE" = bench ]; then
  command -v wrk >/dev/null || pkgs+=(wrk)
fi
if [ "${#pkgs[@]}" -gt 0 ]; then apt_install "${pkgs[@]}"; fi

# Tailwind 4 and Playwright need Node.js 20 or newer (Debian 12's own package is 18).
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$NODE_MAJOR" -lt 20 ]; then
  die "Node.js $(node --version 2>/dev/null || echo 'is missing'); Emporium's build tools need Node.js 20 or newer. Install it from your distribution (Debian 13, Ubuntu 24.04) or NodeSource, then run this again."
fi

# --- Rust toolchain pieces -------------------------------------------------------------
command -v rustup >/dev/null || die "rustup not found: install Rust with rustup first (https://rustup.rs)"
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
  say "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 9 minutes on 2 cores, once)"
  # --ignore-rust-version: one locked dependency asks for a newer rustc than stable has.
  CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --ignore-rust-version \
    --features no_downloads
fi

# wasm-bindgen-cli must be exactly the wasm-bindgen version in Cargo.lock; cargo-leptos
# uses whichever one is on PATH without checking.
WB_VERSION="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' "$ROOT/Cargo.lock")"
[ -n "$WB_VERSION" ] || die "wasm-bindgen not found in Cargo.lock"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  say "installing wasm-bindgen-cli $WB_VERSION (about 2 minutes, once)"
  cargo install wasm-bindgen-cli --version "=$WB_VERSION"
fi

if [ "$MODE" = test ] && ! cargo nextest --version >/dev/null 2>&1; then
  say "installing cargo-nextest (a few minutes, once)"
  cargo install cargo-nextest --locked
fi

# --- Node packages (Tailwind, wasm-opt, Playwright) -------------------------------------
if [ ! -f "$ROOT/node_modules/.package-lock.json" ] ||
   [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
  say "installing node packages"
  # Playwright drives Debian's Chromium; it must never download a browser of its own.
  (cd "$ROOT" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
