#!/usr/bin/env bash
# test-plugin.sh - the WordPress plugin's checks: `php -l` on every file, then its PHPUnit tests
# (Debian's phpunit 9) on a real WordPress brought up by scripts/wp-up.sh with the plugin active.
# Exits non-zero on any failure. Extra arguments go to phpunit (e.g. --filter StructureTest).
#
# env: IGNY8_WP_TEST_DIR  instance dir (default: $CARGO_TARGET_DIR or <repo>/target, + /wp-plugin-tests);
#                         its database is recreated on every run, so no state leaks between runs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PLUGIN="$ROOT/igny8-wp-plugin"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DIR=${IGNY8_WP_TEST_DIR:-$TARGET/wp-plugin-tests}
log() { printf '[test-plugin %s] %s\n' "$(date +%T)" "$*" >&2; }

command -v php >/dev/null || { log "php is missing: run scripts/wp-up.sh once (it installs the packages) or apt-get install php-cli"; }

# 1. Syntax of every PHP file (the plugin must also parse on PHP 7.4: no 8.x-only syntax is used).
if command -v php >/dev/null; then
  lint_failed=0
  while IFS= read -r -d '' f; do
    out=$(php -l "$f" 2>&1) || { echo "$out" >&2; lint_failed=1; }
  done < <(find "$PLUGIN" -name '*.php' -print0)
  [ $lint_failed = 0 ] || { log "php -l failed"; exit 1; }
  log "php -l clean"
fi

# 2. A fresh WordPress with the plugin active (no web server needed: the tests load WordPress in-process).
# The database is always new; the files are reused while they match the installed WordPress package
# (copying and deleting about 3,000 files is the slow part on a busy disk).
if [ -f "$DIR/wp-config.php" ]; then
  if cmp -s "$DIR/wp-includes/version.php" /usr/share/wordpress/wp-includes/version.php; then
    db=$(sed -n "s/^define('DB_NAME', '\(.*\)');/\1/p" "$DIR/wp-config.php")
    [ -n "$db" ] && mariadb -e "DROP DATABASE IF EXISTS \`$db\`" 2>/dev/null || true
    rm -f "$DIR/wp-content/debug.log"
  else
    "$ROOT/scripts/wp-down.sh" "$DIR" --purge >/dev/null 2>&1 || true
  fi
fi
WP_NO_SERVE=1 WP_DISABLE_CRON=1 WP_DEBUG=true WP_PLUGINS="$PLUGIN" \
  "$ROOT/scripts/wp-up.sh" "$DIR" 8089 >/dev/null

# 3. PHPUnit.
log "phpunit on $DIR"
WP_DIR="$DIR" phpunit -c "$PLUGIN/phpunit.xml.dist" "$@"
