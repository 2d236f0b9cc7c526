#!/usr/bin/env bash
# wp-save-bench.sh - does saving a post wait on IGNY8? REST saves of one post (as the block editor makes them:
# POST /wp-json/wp/v2/posts/ID with an application password) on a real WordPress (`php -S`, scripts/wp-up.sh)
# in four cases, each SAVES saves:
#   inactive   the plugin deactivated (the baseline)
#   up         the plugin connected to IGNY8 that answers (bench/igny8-stub.py; the saved titles are checked
#              to arrive there)
#   down       IGNY8 gone away: a port that accepts connections and never answers; the first save is the
#              first after it went away
#   down-fresh the same, with the plugin's backoff forgotten before every save, so that each save is a
#              "first after IGNY8 went away" as far as the plugin knows
# and prints each case's slowest and median save and the difference to the baseline's slowest (issue #13
# §2's target: within 50 ms). The cases run in rounds (ROUNDS, default 3) so the machine's load moves all of
# them alike. `php -S` has no fastcgi_finish_request(): this measures the loopback hand-off.
# A benchmark run by hand, never by CI: `bench/wp-save-bench.sh [SAVES] [DIR]` (SAVES per case and round,
# default 10). Results: bench/README.md. The site is kept in DIR (default /tmp/igny8-wp-save-bench); remove
# it with `scripts/wp-down.sh DIR --purge`.
# env: WP_PORT (8099), STUB_PORT (8100), HOLE_PORT (8101), ROUNDS (3), PAUSE (seconds between saves, 0.5).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SAVES=${1:-10}
DIR=${2:-/tmp/igny8-wp-save-bench}
WP_PORT=${WP_PORT:-8099}
STUB_PORT=${STUB_PORT:-8100}
HOLE_PORT=${HOLE_PORT:-8101}
ROUNDS=${ROUNDS:-3}
PAUSE=${PAUSE:-0.5}
PHP_HELPER="$ROOT/bench/wp-save-bench.php"
log() { printf '[save-bench %s] %s\n' "$(date +%T)" "$*" >&2; }

# ------------------------------------------------------------------ WordPress, the stub, the black hole
# WordPress installed by wp-up.sh, served here by `php -S` with OPcache on, as production PHP runs (without
# it every request compiles every file again, which weighs on any plugin's requests and hides nothing).
"$ROOT/scripts/wp-down.sh" "$DIR" >/dev/null 2>&1 || true
eval "$(WP_DEBUG=false WP_DISABLE_CRON=1 WP_ALLOW_LOCAL_HTTP=1 WP_NO_SERVE=1 WP_PLUGINS="$ROOT/igny8-wp-plugin" \
  "$ROOT/scripts/wp-up.sh" "$DIR" "$WP_PORT" | grep -E '^WP_(DB_NAME|DIR)=')"
WP_URL="http://127.0.0.1:$WP_PORT"
helper() { php "$PHP_HELPER" "$DIR" "$@"; }
STATE="$DIR/.save-bench"; mkdir -p "$STATE"; : > "$STATE/received.jsonl"
PHP_CLI_SERVER_WORKERS=4 setsid php -d opcache.enable_cli=1 -S "127.0.0.1:$WP_PORT" -t "$DIR" "$DIR/.wp-up/router.php" \
  >>"$STATE/server.log" 2>&1 </dev/null &
WP_PID=$!
python3 "$ROOT/bench/igny8-stub.py" serve "$STUB_PORT" "$STATE/received.jsonl" &
STUB_PID=$!
python3 "$ROOT/bench/igny8-stub.py" blackhole "$HOLE_PORT" &
HOLE_PID=$!
trap 'kill $STUB_PID $HOLE_PID 2>/dev/null || true; kill -- -$WP_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$STUB_PORT/" && curl -s -o /dev/null "$WP_URL/wp-json/" && break; sleep 0.1; done
UP="http://127.0.0.1:$STUB_PORT"
DOWN="http://127.0.0.1:$HOLE_PORT"

helper plugin on
helper connect "$UP" >/dev/null
POST=$(helper post)
APP=$(helper app-password)
save() { # save TITLE -> seconds the request took
  curl -sf -o /dev/null -w '%{time_total}\n' -u "admin:$APP" -H 'Content-Type: application/json' \
    -d "{\"title\": \"$1\"}" "$WP_URL/wp-json/wp/v2/posts/$POST"
}
for i in 1 2 3; do save "warm-up $i" >/dev/null; sleep "$PAUSE"; done

# ------------------------------------------------------------------ the cases
declare -A TIMES FIRST
run_case() { # run_case NAME ROUND
  local name=$1 round=$2 t
  for i in $(seq 1 "$SAVES"); do
    [ "$name" = down-fresh ] && helper no-backoff
    t=$(save "$name r$round s$i $(date +%s%N)")
    TIMES[$name]+="$t "
    [ "$i" = 1 ] && [ "$name" = down ] && FIRST[$round]=$t
    sleep "$PAUSE"
  done
}
for round in $(seq 1 "$ROUNDS"); do
  log "round $round: inactive"
  helper plugin off; run_case inactive "$round"
  log "round $round: up"
  helper plugin on; helper base "$UP"; run_case up "$round"
  last="up r$round s$SAVES"
  for _ in $(seq 1 50); do grep -q "\"$last " "$STATE/received.jsonl" && break; sleep 0.1; done
  log "round $round: down (IGNY8 accepts and never answers)"
  helper base "$DOWN"; run_case down "$round"
  run_case down-fresh "$round"
  log "state after the down saves: $(helper state)"
  for name in inactive up down down-fresh; do log "  $name: ${TIMES[$name]}"; done
done
helper base "$UP"

# ------------------------------------------------------------------ report
stats() { # stats "t1 t2 …" -> "max p90 median" in ms
  printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 * 1000 } END { p = int((NR * 9 + 9) / 10); printf "%.0f %.0f %.0f", v[NR], v[p], (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
read -r BASE_MAX BASE_P90 BASE_MED <<<"$(stats "${TIMES[inactive]}")"
ARRIVED=$(grep -c '"up r' "$STATE/received.jsonl" || true)
log "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
echo "| case | saves | slowest ms | p90 ms | median ms | slowest − inactive's slowest | median − inactive's median |"
echo "|---|---|---|---|---|---|---|"
for name in inactive up down down-fresh; do
  read -r max p90 med <<<"$(stats "${TIMES[$name]}")"
  echo "| $name | $(wc -w <<<"${TIMES[$name]}") | $max | $p90 | $med | $((max - BASE_MAX)) ms | $((med - BASE_MED)) ms |"
done
echo
echo "first save after IGNY8 went away, per round: $(for r in $(seq 1 "$ROUNDS"); do printf '%.0f ms ' "$(echo "${FIRST[$r]} * 1000" | bc)"; done)"
echo "saves of case up that reached the stub: $ARRIVED of $((SAVES * ROUNDS)) (each save sends the post's current state; a later save can carry an earlier one's change)"
