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
