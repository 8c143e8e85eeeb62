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

install() {
  if "$VENV/bin/python" -c "import localstripe" 2>/dev/null &&
     [ "$("$VENV/bin/pip" show localstripe 2>/dev/null | awk '/^Version:/ {print $2}')" = "$LOCALSTRIPE_VERSION" ]; then
    return
  fi
  python3 -m venv --help >/dev/null 2>&1 && python3 -c "import ensurepip" 2>/dev/null || apt_install python3-venv
  say "installing localstripe $LOCALSTRIPE_VERSION from PyPI into $VENV (once)"
  mkdir -p "$DATA_DIR"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "localstripe==$LOCALSTRIPE_VERSION"
}

start() {
  if curl -fs "$URL/js.stripe.com/v3/" >/dev/null 2>&1; then return; fi
  install
  say "starting localstripe on $URL"
  nohup "$VENV/bin/python" "$ROOT/scripts/localstripe_server.py" "$PORT" \
    >"$DATA_DIR/localstripe.log" 2>&1 &
  echo $! >"$PID_FILE"
  for _ in $(seq 1 50); do
    curl -fs "$URL/js.stripe.com/v3/" >/dev/null 2>&1 && return
    sleep 0.2
  done
  tail -n 20 "$DATA_DIR/localstripe.log" >&2
  die "localstripe did not start (log above)"
}

stop() {
  if [ -f "$PID_FILE" ]; then
    kill "$(cat "$PID_FILE")" 2>/dev/null || true
    rm -f "$PID_FILE"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) echo "export LOCALSTRIPE_URL=$URL" ;;
  *) die "usage: $0 start|stop|env" ;;
esac
