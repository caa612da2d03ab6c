#!/usr/bin/env bash
# The end of `make run`: start `recsys serve` on the champion, wait until its health says
# SERVING, print a few suggestions through the gRPC client, then keep serving until Ctrl-C.
#
# Environment: PORT (gRPC, default 50051), METRICS_PORT (Prometheus, default 9100),
# BIN (the virtual environment's bin folder, default .venv/bin), DEMO_SHOW (customers to ask
# for, default "C00000001 C00000002 NEW-CUSTOMER"), READY_TIMEOUT_S (default 60).
set -euo pipefail

PORT="${PORT:-50051}"
METRICS_PORT="${METRICS_PORT:-9100}"
BIN="${BIN:-.venv/bin}"
DEMO_SHOW="${DEMO_SHOW:-C00000001 C00000002 NEW-CUSTOMER}"
READY_TIMEOUT_S="${READY_TIMEOUT_S:-60}"
TARGET="localhost:${PORT}"

"$BIN/recsys" serve --port "$PORT" --metrics-port "$METRICS_PORT" &
server=$!

stop_server() {
  trap - INT TERM EXIT
  if kill -0 "$server" 2>/dev/null; then
    echo "stopping the server (pid $server)..."
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
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
"$BIN/recsys" recommend "${customers[@]}" --channel mobile --server "$TARGET"
"$BIN/recsys" recommend "${customers[0]}" --channel atm --server "$TARGET"

echo "server running on $TARGET (pid $server); metrics on :$METRICS_PORT; Ctrl-C to stop"
wait "$server"
