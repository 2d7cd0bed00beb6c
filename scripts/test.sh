#!/usr/bin/env bash
# The one command that runs every test: type-check, build, the compose file, then jest (unit,
# integration and end-to-end tests on real PostgreSQL and Redis, with the project's ComfyUI
# simulator as the only double; the end-to-end stack runs the compiled programs, as production does).
set -euo pipefail
# `pnpm test -- --help` (the npm habit) hands the script its `--` too: the flag is the one after it.
first_arg="${1:-}"
if [ "$first_arg" = "--" ]; then first_arg="${2:-}"; fi
case "$first_arg" in
  -h|--help)
    cat <<'USAGE'
usage: pnpm test [JEST ARGUMENTS...]   (or: bash scripts/test.sh ...)

Runs every test: makes sure PostgreSQL and Redis answer (installing or starting them when missing),
type-checks, builds, validates docker-compose.yml and the Kubernetes overlays, then runs jest
(unit, integration and end-to-end tests). Arguments are handed to jest (a file, -t "name").
Exits non-zero when any step or test fails.

  -h, --help   this help
USAGE
    exit 0
    ;;
esac
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh
bash scripts/ensure-node-deps.sh
echo "[test] type-check"
pnpm -s typecheck
echo "[test] build"
pnpm -s build
# No Docker engine is needed to validate the compose file: Debian's docker-compose (v1) parses it.
if ! command -v docker-compose >/dev/null 2>&1; then
  echo "[test] installing docker-compose with apt (to validate docker-compose.yml)"
  SUDO=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  # No `|| true`: a compose file that cannot be checked is a failed test run, not a skipped one.
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker-compose >/dev/null
fi
# promtool (Debian's prometheus package) checks every service's /metrics in test/e2e/operations-metrics.test.ts.
if ! command -v promtool >/dev/null 2>&1; then
  echo "[test] installing prometheus with apt (promtool, to check the services' /metrics)"
  SUDO=""
  if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
echo "[test] docker-compose.yml"
# .env.example holds every variable the file requires (the database password has no default).
docker-compose --env-file .env.example -f docker-compose.yml config -q
echo "[test] infra/k8s"
# Each overlay builds, and each built resource validates against the Kubernetes (and KEDA) API schemas.
for overlay in infra/k8s/overlays/*/; do kubectl kustomize "$overlay" >/dev/null; done
node scripts/validate-k8s.mjs infra/k8s/overlays/*/
echo "[test] jest"
pnpm -s test:jest "$@"
