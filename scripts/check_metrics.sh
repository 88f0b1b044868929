#!/usr/bin/env bash
# Lint GET /metrics with Prometheus's own checker: serve two workers on a throw-away data
# folder (DATABASE_URL as the caller set it, else a SQLite file there), send a few requests,
# scrape, and run `promtool check metrics` (Debian package `prometheus`) on the text.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v promtool >/dev/null || { echo "error: promtool missing; apt-get install prometheus" >&2; exit 2; }
data=$(mktemp -d -t lpp-metrics.XXXX)
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
DATA_DIR="$data" PROMETHEUS_MULTIPROC_DIR="$data/metrics" LOG_LEVEL=WARNING \
  .venv/bin/python -m app serve --port "$port" --workers 2 >"$data/server.log" 2>&1 &
server=$!
stop() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"; }
trap stop EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 90); do curl -sf -o /dev/null "$base/readyz" && break; sleep 1; done
for path in /healthz /readyz /api/v1/rfps /api/v1/rfps/missing /api/v1/preferred-providers /no-such-page; do
  curl -s -o /dev/null "$base$path"
done
curl -sf "$base/metrics" >"$data/metrics.txt"
promtool check metrics <"$data/metrics.txt"
echo "promtool: $(grep -c '^lpp_' "$data/metrics.txt") lpp_ samples, clean"
