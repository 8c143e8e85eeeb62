# Shared settings for the project's scripts. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA_DIR="${EMPORIUM_DATA_DIR:-$ROOT/.data}"
PG_PORT="${EMPORIUM_PG_PORT:-54329}"
REDIS_PORT="${EMPORIUM_REDIS_PORT:-63799}"
LOCAL_DATABASE_URL="postgres://emporium@127.0.0.1:${PG_PORT}/emporium"
LOCAL_REDIS_URL="redis://127.0.0.1:${REDIS_PORT}/0"

export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found: install $* with your package manager"
  if [ "$APT_UPDATED" -eq 0 ]; then
    say "apt-get update"
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The newest installed PostgreSQL server's bin folder, or nothing (never fails).
pg_bindir() {
  local d found=""
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && found="$d"; done
  [ -z "$found" ] || printf '%s\n' "$found"
  return 0
}

# --- The release site ------------------------------------------------------------------
# `make run`, `make test` and the benchmarks all build and serve the same release site:
# the server in the `release` profile and the wasm in `wasm-release`, assets with hashed
# names (`hash-files` in Cargo.toml), built by scripts/build.sh.

# cargo-leptos hands these to cargo when it builds the site (values from Cargo.toml's
# [[workspace.metadata.leptos]]). Leptos's crates read some of them while compiling, so
# the other cargo commands of a test run (tests, clippy) get the same ones: with
# different ones they would compile those crates and all that depends on them again.
LEPTOS_BUILD_ENV=(
  LEPTOS_OUTPUT_NAME=emporium LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg
  LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=frontend
  LEPTOS_BIN_DIR=server LEPTOS_JS_MINIFY=true LEPTOS_HASH_FILES=true
  LEPTOS_HASH_FILE_NAME=hash.txt
)
leptos_build_env() {
  export "${LEPTOS_BUILD_ENV[@]}" SQLX_OFFLINE=true
}

# Starts the release server in the background the way `make run` does (scripts/serve.sh:
# its own copy of the build, migrate, seed, serve) and waits until /readyz answers.
# Uses BIND_ADDR and DATABASE_URL from the environment; sets SERVER_PID.
#   start_release_server LOG_FILE
SERVER_PID=""
# A fresh site of its own for a benchmark or an audit: an empty database emporium_NAME
# (seeded when the server starts), a cleared search index and the server on PORT.
own_site() { # NAME PORT
  local db="emporium_$1"
  psql "$DATABASE_URL" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  export DATABASE_URL="${DATABASE_URL%/*}/$db"
  export BIND_ADDR="127.0.0.1:$2" PUBLIC_URL="http://127.0.0.1:$2"
  export RUST_LOG=warn
  export SEARCH_INDEX_DIR="$ROOT/target/$1-search-index"
  rm -rf "$SEARCH_INDEX_DIR"
}
start_release_server() {
  local log="$1" addr="${BIND_ADDR:?BIND_ADDR must be set}"
  # Another server already there would answer for this one and be tested in its place.
  if curl -fs "http://$addr/readyz" >/dev/null; then die "something already answers on $addr: stop it first"; fi
  "$ROOT/scripts/serve.sh" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    curl -fs "http://$addr/readyz" >/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 40 "$log" >&2; die "the server exited before it was ready (log: $log)"; }
    sleep 0.2
  done
  tail -n 40 "$log" >&2
  die "the server was not ready after 60 s (log: $log)"
}
stop_release_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

# A test server from PyPI in a virtualenv of its own: installs PACKAGE==VERSION (with
# SPEC's extras) once; quick when that version is there.  pip_tool VENV PACKAGE VERSION [SPEC]
pip_tool() {
  local venv="$1" package="$2" version="$3" spec="${4:-$2}"
  if [ -x "$venv/bin/python" ] &&
     [ "$("$venv/bin/pip" show "$package" 2>/dev/null | awk '/^Version:/ {print $2}')" = "$version" ]; then
    return
  fi
  python3 -m venv --help >/dev/null 2>&1 && python3 -c "import ensurepip" 2>/dev/null || apt_install python3-venv
  say "installing $package $version from PyPI into $venv (once)"
  mkdir -p "$DATA_DIR"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$spec==$version"
}

# Starts a local server in the background (its PID in PID_FILE, output in LOG) and waits
# up to 20 s for CHECK_URL to answer.  start_local NAME CHECK_URL PID_FILE LOG CMD...
start_local() {
  local name="$1" check="$2" pid_file="$3" log="$4"
  shift 4
  say "starting $name"
  nohup "$@" >"$log" 2>&1 &
  echo $! >"$pid_file"
  for _ in $(seq 1 100); do
    curl -fs "$check" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  tail -n 20 "$log" >&2
  die "$name did not start (log above)"
}

# Stops what start_local started.  stop_local PID_FILE
stop_local() {
  if [ -f "$1" ]; then
    kill "$(cat "$1")" 2>/dev/null || true
    rm -f "$1"
  fi
}
