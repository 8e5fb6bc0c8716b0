#!/usr/bin/env bash
# scaleout.sh — the scale-out measurement of BENCHMARKS.md: the load test against one
# worker and one console, then against two workers and two consoles, all on one
# Temporal server and one PostgreSQL database.
#
#   scripts/scaleout.sh [loadgen flags…]     (default: -c 16 -d 60s)
#
# `dimos dev --memory` provides the Temporal server, the simulators (mail, SMS,
# protocol registry), and the first worker and console; `dimos worker` and
# `dimos console` are the second ones. Ports are off the defaults (18080, 17233) so
# that a `make run` elsewhere on the machine is left alone.
set -euo pipefail
BIN=${BIN:-bin/dimos}
FLAGS=("$@")
[ ${#FLAGS[@]} -gt 0 ] || FLAGS=(-c 16 -d 60s)
LOGS=$(mktemp -d)
DB=dimos_scaleout_$$
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export DIMOS_IVR_SECRET=scaleout-secret-scaleout-secret-0123456789
export DIMOS_LOG_LEVEL=warn DIMOS_PUBLIC_URL=http://127.0.0.1:18080
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres || true
  echo "logs in $LOGS"
}
trap cleanup EXIT

DIMOS_HTTP_ADDR=127.0.0.1:18080 DIMOS_TEMPORAL_PORT=17233 DIMOS_TEMPORAL_UI_PORT=-1 \
  DIMOS_DATA_DIR="$LOGS/data" "$BIN" dev --memory >"$LOGS/dev.out" 2>"$LOGS/dev.err" &
PIDS+=($!)
for _ in $(seq 1 300); do grep -q 'protocol ' "$LOGS/dev.out" 2>/dev/null && break; sleep 1; done
SMTP=$(sed -n 's|.*mail sink    smtp://\([^ ]*\).*|\1|p' "$LOGS/dev.out")
SMS=$(sed -n 's|.*SMS gateway  \([^ ]*\).*|\1|p' "$LOGS/dev.out")
PROTO=$(sed -n 's|.*protocol     \([^ ]*\).*|\1|p' "$LOGS/dev.out")
[ -n "$PROTO" ] || { echo "dev did not start"; cat "$LOGS/dev.err"; exit 1; }
export TEMPORAL_ADDRESS=127.0.0.1:17233 DIMOS_SMTP_ADDR=$SMTP DIMOS_SMTP_STARTTLS=never
export DIMOS_SMS_URL=$SMS/sms DIMOS_PROTOCOL_URL=$PROTO

echo "== one worker, one console"
"$BIN" loadgen -url http://127.0.0.1:18080 "${FLAGS[@]}"

"$BIN" worker >"$LOGS/worker2.out" 2>"$LOGS/worker2.err" &
PIDS+=($!)
DIMOS_HTTP_ADDR=127.0.0.1:18081 "$BIN" console >"$LOGS/console2.out" 2>"$LOGS/console2.err" &
PIDS+=($!)
for _ in $(seq 1 60); do curl -sf http://127.0.0.1:18081/healthz >/dev/null && break; sleep 1; done

echo "== two workers, two consoles"
"$BIN" loadgen -url http://127.0.0.1:18080,http://127.0.0.1:18081 "${FLAGS[@]}"
