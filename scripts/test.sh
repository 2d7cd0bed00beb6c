#!/usr/bin/env bash
# The one command that runs every test: type-check, then jest (unit, integration and end-to-end
# tests on real PostgreSQL and Redis, with the project's ComfyUI simulator as the only double).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh
bash scripts/ensure-node-deps.sh
echo "[test] type-check"
pnpm -s typecheck
echo "[test] jest"
pnpm -s test:jest "$@"
