#!/usr/bin/env bash
# wp-down.sh - stop what scripts/wp-up.sh started for one instance (by recorded PID only).
# usage: scripts/wp-down.sh DIR [--db] [--purge]
#   --db     also stop mariadbd, but only if wp-up.sh started it for this DIR (PID recorded)
#   --purge  also drop the instance's database + user and delete DIR
set -euo pipefail
DIR=${1:?usage: wp-down.sh DIR [--db] [--purge]}; shift
STOP_DB=0; PURGE=0
for a in "$@"; do case $a in --db) STOP_DB=1;; --purge) PURGE=1;; *) echo "unknown option $a" >&2; exit 2;; esac; done
[ -d "$DIR" ] || { echo "[wp-down] no such dir $DIR"; exit 0; }
DIR=$(cd "$DIR" && pwd); STATE="$DIR/.wp-up"
log() { printf '[wp-down %s] %s\n' "$(date +%T)" "$*" >&2; }

stop_pid() {  # $1 pid, $2 label, $3 "group" to signal the whole process group led by pid
  local pid=$1 label=$2 target=$1
  [ "${3:-}" = group ] && target="-$1"
  if ! kill -0 "$pid" 2>/dev/null; then log "$label (pid $pid) not running"; return 0; fi
  kill -TERM -- "$target" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { log "stopped $label (pid $pid)"; return 0; }; sleep 0.1; done
  log "$label (pid $pid) still alive after 10 s: SIGKILL"; kill -KILL -- "$target" 2>/dev/null || true
}

if [ -f "$STATE/server.pid" ]; then
  pid=$(cat "$STATE/server.pid")
  # only signal it if it is still our php -S (pid not recycled)
  if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "php -S .*$STATE/router.php"; then
    stop_pid "$pid" "php -S" group
  else
    log "php -S (pid $pid) not running"
  fi
  rm -f "$STATE/server.pid" "$STATE/server.port"
fi

DB_NAME=$(sed -n "s/^define('DB_NAME', '\(.*\)');/\1/p" "$DIR/wp-config.php" 2>/dev/null || true)
DB_USER=$(sed -n "s/^define('DB_USER', '\(.*\)');/\1/p" "$DIR/wp-config.php" 2>/dev/null || true)
if [ $PURGE = 1 ] && [ -n "$DB_NAME" ] && mariadb-admin ping --silent >/dev/null 2>&1; then
  mariadb -e "DROP DATABASE IF EXISTS \`$DB_NAME\`; DROP USER IF EXISTS '$DB_USER'@'localhost'; DROP USER IF EXISTS '$DB_USER'@'127.0.0.1';"
  log "dropped database $DB_NAME and user $DB_USER"
fi

if [ $STOP_DB = 1 ] && [ -f "$STATE/mariadb.started-by-wp-up" ]; then
  pid=$(cat "$STATE/mariadb.started-by-wp-up")
  if [ "$(cat /run/mysqld/mysqld.pid 2>/dev/null)" = "$pid" ]; then stop_pid "$pid" mariadbd; else log "mariadbd pid $pid is gone or not ours"; fi
  rm -f "$STATE/mariadb.started-by-wp-up"
fi

if [ $PURGE = 1 ]; then rm -rf "$DIR"; log "removed $DIR"; fi
