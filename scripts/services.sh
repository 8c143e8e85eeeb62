#!/usr/bin/env bash
# Starts (or stops) a project-local PostgreSQL and Redis under .data/, on non-default
# ports, unless DATABASE_URL / REDIS_URL point at running servers.
#   scripts/services.sh start [--ephemeral]   # --ephemeral: Redis without persistence
#   scripts/services.sh stop
#   scripts/services.sh env                   # prints export lines for the URLs
source "$(dirname "$0")/lib.sh"

PG_DATA="$DATA_DIR/pg"
# Set when the checkout's folder is closed to the postgres user (see start_postgres).
if [ -f "$DATA_DIR/pg-location" ]; then PG_DATA="$(cat "$DATA_DIR/pg-location")"; fi
REDIS_DIR="$DATA_DIR/redis"

pg_run() {
  # PostgreSQL refuses to run as root: use the postgres user then.
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  if [ -n "${DATABASE_URL:-}" ]; then
    say "using DATABASE_URL from the environment"
    return
  fi
  local bin; bin="$(pg_bindir)"
  if [ -z "$bin" ]; then apt_install postgresql; bin="$(pg_bindir)"; fi
  [ -n "$bin" ] || die "PostgreSQL server binaries not found after install"
  if pg_run "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then return; fi
  mkdir -p "$PG_DATA"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres:postgres "$PG_DATA"
    if ! runuser -u postgres -- test -w "$PG_DATA"; then
      # A parent folder (e.g. /root) is closed to the postgres user: keep this checkout's
      # database in a folder of its own that the postgres user can reach.
      PG_DATA="/var/tmp/emporium-pg-$(printf '%s' "$ROOT" | md5sum | cut -c1-12)"
      warn "the postgres user cannot reach $DATA_DIR; keeping PostgreSQL data in $PG_DATA"
      mkdir -p "$PG_DATA" && chown postgres:postgres "$PG_DATA" && chmod 700 "$PG_DATA"
      echo "$PG_DATA" >"$DATA_DIR/pg-location"
    fi
  fi
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    say "initialising PostgreSQL in $PG_DATA"
    pg_run "$bin/initdb" -D "$PG_DATA" -U emporium --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  say "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  pg_run "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 60 start \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DATA -c max_connections=300 -c shared_buffers=256MB" >/dev/null ||
    { tail -n 20 "$PG_DATA/server.log" >&2; die "PostgreSQL did not start (log above)"; }
  if ! pg_run "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U emporium -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'emporium'" | grep -q 1; then
    pg_run "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U emporium emporium
  fi
}

start_redis() {
  if [ -n "${REDIS_URL:-}" ]; then
    say "using REDIS_URL from the environment"
    return
  fi
  command -v redis-server >/dev/null || apt_install redis-server
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then return; fi
  mkdir -p "$REDIS_DIR"
  local persist=(--appendonly yes --save "60 1")
  [ "${1:-}" = "--ephemeral" ] && persist=(--appendonly no --save "")
  say "starting Redis on 127.0.0.1:$REDIS_PORT"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --dir "$REDIS_DIR" \
    --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" "${persist[@]}"
  for _ in $(seq 1 50); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  die "Redis did not start (see $REDIS_DIR/redis.log)"
}

case "${1:-start}" in
  start)
    start_postgres
    start_redis "${2:-}"
    ;;
  stop)
    bin="$(pg_bindir)"
    if [ -n "$bin" ] && [ -f "$PG_DATA/postmaster.pid" ]; then
      pg_run "$bin/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null && say "PostgreSQL stopped"
    fi
    if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
      redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
      say "Redis stopped"
    fi
    ;;
  env)
    printf 'export DATABASE_URL=%q\n' "${DATABASE_URL:-$LOCAL_DATABASE_URL}"
    printf 'export REDIS_URL=%q\n' "${REDIS_URL:-$LOCAL_REDIS_URL}"
    ;;
  *) die "usage: $0 start|stop|env" ;;
esac
