#!/usr/bin/env bash
# The one command that runs every test: type-check, then jest (unit, integration and end-to-end
# tests on real PostgreSQL and Redis, with the project's ComfyUI simulator as the only double).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh
bash scripts/ensure-node-deps.sh
echo "[test] type-check"
pnpm -s typecheck
if command -v docker-compose >/dev/null 2>&1; then
  echo "[test] docker-compose.yml"
  docker-compose -f docker-compose.yml config -q
fi
echo "[test] jest"
pnpm -s test:jest "$@"
