#!/usr/bin/env bash
# pnpm and the workspace's dependencies, installed from the npm registry only.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pnpm >/dev/null 2>&1; then
  echo "[deps] installing pnpm"
  npm install -g pnpm@12 >/dev/null 2>&1 || npm install -g pnpm
fi
if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.pnpm/lock.yaml ]; then
  echo "[deps] pnpm install"
  pnpm install --frozen-lockfile
fi
