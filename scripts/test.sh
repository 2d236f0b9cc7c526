#!/usr/bin/env bash
# The whole test suite, from a clean clone on a fresh machine: installs what the tests need
# (Debian packages, as root), starts the services they use, then runs the plugin's PHPUnit
# tests and every Rust test (API over real HTTP, both stores, real WordPress, real Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[test %s] %s\n' "$(date +%T)" "$*" >&2; }

# ---------------------------------------------------------------- packages
PKGS="wordpress wordpress-theme-twentytwentythree php-cli php-mysql php-curl php-xml php-mbstring
      mariadb-server mariadb-client phpunit curl chromium chromium-driver postgresql haproxy"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  log "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# ---------------------------------------------------------------- services
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  log "starting PostgreSQL"
  cluster=$(ls /etc/postgresql | sort -V | tail -1)
  pg_lsclusters -h | grep -q "^$cluster main" || pg_createcluster "$cluster" main >/dev/null
  pg_ctlcluster --skip-systemctl-redirect "$cluster" main start
  for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
# Tests connect as postgres over TCP without a password, as on the machines we run on.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  log "allowing local trust auth for PostgreSQL tests"
  hba=$(su postgres -c "psql -Atc 'show hba_file'")
  sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
  su postgres -c "psql -Atc 'select pg_reload_conf()'" >/dev/null
fi
export IGNY8_TEST_POSTGRES_URL=${IGNY8_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
# MariaDB is started by scripts/wp-up.sh when WordPress needs it.

# ---------------------------------------------------------------- build and style
log "building"
cargo build --workspace --all-targets --locked
if cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then
  log "style: rustfmt --check and clippy -D warnings (STYLE.md)"
  cargo fmt --all --check
  cargo clippy --workspace --all-targets --locked -- -D warnings
else
  log "WARNING: this toolchain has no rustfmt/clippy component; style checks skipped"
fi
export IGNY8_BIN="$PWD/target/debug/igny8"

# ---------------------------------------------------------------- tests
log "plugin: php -l and PHPUnit on a real WordPress"
scripts/test-plugin.sh

log "Rust: unit, API, conformance (SQLite + PostgreSQL), WordPress end-to-end, browser"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
