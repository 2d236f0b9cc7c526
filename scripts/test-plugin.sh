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

# 1. A fresh WordPress with the plugin active (no web server needed: the tests load WordPress in-process).
# wp-up.sh installs the Debian packages and starts MariaDB when missing. The database is always new;
# the files are reused while they match the installed WordPress package (copying and deleting about
# 3,000 files is the slow part on a busy disk).
if [ -f "$DIR/wp-includes/version.php" ] && ! cmp -s "$DIR/wp-includes/version.php" /usr/share/wordpress/wp-includes/version.php; then
  "$ROOT/scripts/wp-down.sh" "$DIR" --purge >/dev/null 2>&1 || rm -rf "$DIR"
fi
rm -f "$DIR/wp-content/debug.log"
WP_FRESH_DB=1 WP_NO_SERVE=1 WP_DISABLE_CRON=1 WP_DEBUG=true WP_PLUGINS="$PLUGIN" \
  "$ROOT/scripts/wp-up.sh" "$DIR" 8089 >/dev/null

# 2. Syntax of every PHP file.
lint_failed=0
while IFS= read -r -d '' f; do
  out=$(php -l "$f" 2>&1) || { echo "$out" >&2; lint_failed=1; }
done < <(find "$PLUGIN" -name '*.php' -print0)
[ $lint_failed = 0 ] || { log "php -l failed"; exit 1; }
log "php -l clean"

# 3. PHPUnit.
log "phpunit on $DIR"
WP_DIR="$DIR" phpunit -c "$PLUGIN/phpunit.xml.dist" "$@"
