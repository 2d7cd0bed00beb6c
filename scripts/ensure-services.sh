#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer on this machine: installs them with apt on a fresh
# Debian/Ubuntu machine, starts them when they are installed but not running. Idempotent.
set -euo pipefail

PG_HOST=${PGHOST:-127.0.0.1}
PG_PORT=${PGPORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

log() { printf '[services] %s\n' "$*"; }

redis_up() { redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
pg_up() { pg_isready -h "$PG_HOST" -p "$PG_PORT" -q 2>/dev/null; }

apt_install() {
  log "installing $* with apt"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if ! command -v redis-server >/dev/null 2>&1; then apt_install redis-server; fi
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /etc/postgresql >/dev/null 2>&1; then apt_install postgresql; fi

if ! redis_up; then
  log "starting redis on port $REDIS_PORT"
  $SUDO mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --proto-max-bulk-len 4mb --dir /tmp --logfile /tmp/anime-redis.log
  for _ in $(seq 1 50); do redis_up && break; sleep 0.1; done
fi
redis_up || { log "redis did not start"; exit 1; }

if ! pg_up; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "starting postgresql $version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || $SUDO pg_ctlcluster "$version" main start
  for _ in $(seq 1 100); do pg_up && break; sleep 0.1; done
fi
pg_up || { log "postgresql did not start"; exit 1; }

# Tests and the demo connect as postgres over TCP without a password (trust), as on CI.
if ! psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  log "allowing trust auth for local TCP connections"
  hba=$($SUDO -u postgres psql -Atc 'show hba_file' 2>/dev/null || su postgres -c "psql -Atc 'show hba_file'")
  $SUDO sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload 2>/dev/null || $SUDO pg_ctlcluster "$version" main reload
fi
log "postgresql and redis are up"
