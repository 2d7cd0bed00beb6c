#!/usr/bin/env bash
# One command from a fresh clone: PostgreSQL and Redis (installed/started if needed), pnpm and
# the dependencies, the compiled programs (pnpm build), migrations, the demo character (imported from the legacy fixture), then the
# main job: the four services (+ the ComfyUI simulator unless COMFYUI_URLS is set) generate
# Kai Nakamura and the path of the organized file is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh
bash scripts/ensure-node-deps.sh
export DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/anime_production}
export LIBRARY_DIR=${LIBRARY_DIR:-$PWD/.data/library}
mkdir -p "$LIBRARY_DIR"
echo "[setup] building"
pnpm -s build
echo "[setup] migrating $DATABASE_URL"
pnpm -s db:migrate
echo "[setup] seeding the demo character from the legacy fixture"
pnpm -s db:seed
echo "[setup] running the main job"
pnpm -s demo
echo "[setup] done. Start the stack with: pnpm start"
