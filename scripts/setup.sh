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
# The demo API key lives in a file only this user can read (0600 in a 0700 directory), never on a
# command line: kept while it still verifies, else the old "demo" key is revoked and a new one minted.
API_KEY_FILE=${ANIME_API_KEY_FILE:-${XDG_CONFIG_HOME:-$HOME/.config}/anime/api-key}
echo "[setup] demo API key"
node packages/api-keys/dist/apikey-ensure-file.js --name demo --scopes read,generate,characters:write --file "$API_KEY_FILE"
echo "[setup] running the main job"
pnpm -s demo
echo "[setup] done. Start the stack with: pnpm start"
echo "[setup] your API key is in $API_KEY_FILE; use it as: curl -H \"Authorization: Bearer \$(cat $API_KEY_FILE)\" localhost:${PORT:-8080}/api/v1/characters"
