#!/usr/bin/env bash
# localstripe, the local Stripe server the tests pay against (PyPI localstripe, in a
# virtualenv under .data/, on 127.0.0.1 only).
#   scripts/localstripe.sh start   # installs it the first time; quick afterwards
#   scripts/localstripe.sh stop
#   scripts/localstripe.sh env     # prints `export LOCALSTRIPE_URL=…`
source "$(dirname "$0")/lib.sh"

LOCALSTRIPE_VERSION=1.15.10
PORT="${LOCALSTRIPE_PORT:-8421}"
VENV="$DATA_DIR/venv"
PID_FILE="$DATA_DIR/localstripe.pid"
URL="http://127.0.0.1:$PORT"

start() {
  if curl -fs "$URL/js.stripe.com/v3/" >/dev/null 2>&1; then return; fi
  pip_tool "$VENV" localstripe "$LOCALSTRIPE_VERSION"
  start_local "localstripe on $URL" "$URL/js.stripe.com/v3/" "$PID_FILE" "$DATA_DIR/localstripe.log" \
    "$VENV/bin/python" "$ROOT/scripts/localstripe_server.py" "$PORT"
}

case "${1:-}" in
  start) start ;;
  stop) stop_local "$PID_FILE" ;;
  env) echo "export LOCALSTRIPE_URL=$URL" ;;
  *) die "usage: $0 start|stop|env" ;;
esac
