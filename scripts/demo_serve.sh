#!/usr/bin/env bash
# The end of `make run`: start `recsys serve` on the champion with API keys required, wait
# until its health says SERVING, print a few suggestions through the gRPC client, start the
# web console beside it, print how to sign in, then keep serving until Ctrl-C.
#
# The demo's keys (channel, marketing, admin) are created once and kept in $KEYS_FILE
# (var/demo-keys.env, readable by its owner only); delete it to get new ones.
#
# Environment: PORT (gRPC, default 50051), METRICS_PORT (Prometheus, default 9100),
# CONSOLE_PORT (the web console, default 8080), KEYS_FILE (default var/demo-keys.env),
# BIN (the virtual environment's bin folder, default .venv/bin), DEMO_SHOW (customers to ask
# for, default "C00000001 C00000002 NEW-CUSTOMER"), READY_TIMEOUT_S (default 60).
set -euo pipefail

CONSOLE_PORT="${CONSOLE_PORT:-8080}"
KEYS_FILE="${KEYS_FILE:-var/demo-keys.env}"
PORT="${PORT:-50051}"
METRICS_PORT="${METRICS_PORT:-9100}"
BIN="${BIN:-.venv/bin}"
DEMO_SHOW="${DEMO_SHOW:-C00000001 C00000002 NEW-CUSTOMER}"
READY_TIMEOUT_S="${READY_TIMEOUT_S:-60}"
TARGET="localhost:${PORT}"

# `recsys keys create` prints the key as the last word of its last line
new_key() {
  "$BIN/recsys" keys create --name "demo-$1-$(date +%Y%m%d%H%M%S)" --role "$1" | tail -n 1 | awk '{print $NF}'
}
if [[ ! -s "$KEYS_FILE" ]]; then
  mkdir -p "$(dirname "$KEYS_FILE")"
  (
    umask 077
    {
      echo "DEMO_CHANNEL_KEY=$(new_key channel)"
      echo "DEMO_MARKETING_KEY=$(new_key marketing)"
      echo "DEMO_ADMIN_KEY=$(new_key admin)"
    } >"$KEYS_FILE"
  )
fi
# shellcheck disable=SC1090
source "$KEYS_FILE"

RECSYS_AUTH_REQUIRED=true "$BIN/recsys" serve --port "$PORT" --metrics-port "$METRICS_PORT" &
server=$!
console=""

stop_server() {
  trap - INT TERM EXIT
  for pid in $console $server; do
    if kill -0 "$pid" 2>/dev/null; then
      echo "stopping pid $pid..."
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
}
trap 'stop_server; exit 130' INT
trap 'stop_server; exit 143' TERM
trap stop_server EXIT

# SERVING only once a model is loaded (NOT_SERVING while it loads); exit 0 = serving.
health_check() {
  "$BIN/python" - "$TARGET" <<'PY'
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

with grpc.insecure_channel(sys.argv[1]) as channel:
    try:
        reply = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="recsys.v1.RecommendationService"), timeout=2
        )
    except grpc.RpcError:
        sys.exit(1)
sys.exit(0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1)
PY
}

echo "waiting for the server on $TARGET to load the model (up to ${READY_TIMEOUT_S} s)..."
deadline=$((SECONDS + READY_TIMEOUT_S))
until health_check; do
  if ! kill -0 "$server" 2>/dev/null; then
    wait "$server" && status=0 || status=$?
    echo "error: the server exited (status $status) before it was ready" >&2
    trap - EXIT
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    echo "error: the server on $TARGET was not SERVING within ${READY_TIMEOUT_S} s" >&2
    exit 1
  fi
  sleep 1
done

read -r -a customers <<<"$DEMO_SHOW"
export RECSYS_API_KEY="$DEMO_CHANNEL_KEY"  # the channel app's key, for `recsys recommend`
"$BIN/recsys" recommend "${customers[@]}" --channel mobile --server "$TARGET"
"$BIN/recsys" recommend "${customers[0]}" --channel atm --server "$TARGET"
unset RECSYS_API_KEY

"$BIN/recsys" console --port "$CONSOLE_PORT" --server "$TARGET" &
console=$!

echo "server running on $TARGET (pid $server); metrics on :$METRICS_PORT"
echo "web console on http://127.0.0.1:$CONSOLE_PORT/ (pid $console): sign in with an API key"
echo "  marketing: $DEMO_MARKETING_KEY"
echo "  admin:     $DEMO_ADMIN_KEY"
echo "  channel:   $DEMO_CHANNEL_KEY (for the channel apps; the console refuses it)"
echo "(the keys are kept in $KEYS_FILE)  Ctrl-C to stop"
wait -n "$server" "$console"
