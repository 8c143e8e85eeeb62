#!/usr/bin/env bash
# moto, the local S3-compatible server the image-storage tests write to (PyPI moto in
# server mode, in a virtualenv under .data/, on 127.0.0.1 only).
#   scripts/moto.sh start   # installs it the first time; quick afterwards
#   scripts/moto.sh stop
#   scripts/moto.sh env     # prints `export MOTO_URL=…`
source "$(dirname "$0")/lib.sh"

MOTO_VERSION=5.2.5
PORT="${MOTO_PORT:-5055}"
VENV="$DATA_DIR/venv-moto"
PID_FILE="$DATA_DIR/moto.pid"
URL="http://127.0.0.1:$PORT"

start() {
  if curl -fs "$URL/moto-api/" >/dev/null 2>&1; then return; fi
  pip_tool "$VENV" moto "$MOTO_VERSION" "moto[server]"
  start_local "moto (S3) on $URL" "$URL/moto-api/" "$PID_FILE" "$DATA_DIR/moto.log" \
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT"
}

case "${1:-}" in
  start) start ;;
  stop) stop_local "$PID_FILE" ;;
  env) echo "export MOTO_URL=$URL" ;;
  *) die "usage: $0 start|stop|env" ;;
esac
