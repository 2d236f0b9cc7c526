#!/usr/bin/env bash
# wp-content-bench.sh - the plugin's content sync on a generated site of N posts (default 20,000; made by
# SQL, with categories and Yoast / Rank Math fields) against a real `igny8 serve` (release build, fresh
# SQLite), next to the baselines:
#   - full sync until the platform holds everything, vs paging /wp-json/wp/v2/posts?per_page=100 (and the
#     categories endpoint) over the same site, and vs a raw SELECT of the same rows;
#   - PHP peak memory of the process running the full sync;
#   - time from saving a post (REST, as the block editor does) to seeing it in the platform, p50/p95 of 20.
# A benchmark run by hand, never by CI: `bench/wp-content-bench.sh [N] [DIR]`. Results: bench/WP-CONTENT.md.
# The site is kept in DIR (default /tmp/igny8-wp-content-bench-N) and reused while it has N generated posts;
# remove it with `scripts/wp-down.sh DIR --purge`.
# env: IGNY8_BIN (default target/release/igny8, built when missing), WP_PORT (8097), IGNY8_PORT (8096),
#      SAVES (20), SKIP_REST=1 (no REST baseline: it takes about 2 minutes per 100,000 posts).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-20000}
DIR=${2:-/tmp/igny8-wp-content-bench-$N}
WP_PORT=${WP_PORT:-8097}
IGNY8_PORT=${IGNY8_PORT:-8096}
SAVES=${SAVES:-20}
BENCH_PHP="$ROOT/bench/wp-content-bench.php"
log() { printf '[content-bench %s] %s\n' "$(date +%T)" "$*" >&2; }
. "$ROOT/bench/wp-bench-lib.sh"

IGNY8_BIN=${IGNY8_BIN:-$ROOT/target/release/igny8}
if [ ! -x "$IGNY8_BIN" ]; then log "building igny8 (release)"; (cd "$ROOT" && cargo build --release -p igny8 >&2); fi

# ------------------------------------------------------------------ WordPress with N generated posts
bench_wordpress
POSTS=$(mariadb -N "$DB" -e "SELECT COUNT(*) FROM wp_posts WHERE post_type = 'post' AND post_status NOT IN ('auto-draft', 'inherit')")
PUBLISHED=$(mariadb -N "$DB" -e "SELECT COUNT(*) FROM wp_posts WHERE post_type = 'post' AND post_status = 'publish'")
TERMS=$(mariadb -N "$DB" -e "SELECT COUNT(*) FROM wp_term_taxonomy WHERE taxonomy IN ('category', 'post_tag')")
log "site: $POSTS posts ($PUBLISHED published), $TERMS terms"

# ------------------------------------------------------------------ the platform
bench_platform .content-bench

# ------------------------------------------------------------------ full sync
log "full sync"
cpu_of() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat" 2>/dev/null || echo 0; }
MARIADB_PID=$(pgrep -o -x mariadbd || true)
IGNY8_CPU0=$(cpu_of "$IGNY8_PID"); MARIADB_CPU0=$(cpu_of "${MARIADB_PID:-0}")
SYNC=$(php -d memory_limit=512M "$BENCH_PHP" "$DIR" full-sync)
# CPU the platform and MariaDB used meanwhile (MariaDB's includes whatever else used it at the time).
IGNY8_CPU=$(echo "$(cpu_of "$IGNY8_PID") - $IGNY8_CPU0" | bc); MARIADB_CPU=$(echo "$(cpu_of "${MARIADB_PID:-0}") - $MARIADB_CPU0" | bc)
SYNC_S=$(echo "$SYNC" | json seconds)
HELD=$(curl -s -H "Authorization: Bearer $JWT" "$API/content/?type=post&page_size=1" | json data.count)
HELD_TERMS=$(( $(curl -s -H "Authorization: Bearer $JWT" "$API/terms/?taxonomy=category" | php -r 'echo count(json_decode(stream_get_contents(STDIN), true)["data"]);') \
             + $(curl -s -H "Authorization: Bearer $JWT" "$API/terms/?taxonomy=post_tag" | php -r 'echo count(json_decode(stream_get_contents(STDIN), true)["data"]);') ))
[ "$HELD" = "$POSTS" ] && [ "$HELD_TERMS" = "$TERMS" ] || { log "the platform holds $HELD posts and $HELD_TERMS terms, WordPress $POSTS and $TERMS"; exit 1; }
log "full sync: $SYNC_S s (gc runs: $(echo "$SYNC" | json gc_runs), queries: $(echo "$SYNC" | json queries), $(echo "$SYNC" | json http_seconds) s waiting for the platform: $(echo "$SYNC" | json http_split), $(echo "$SYNC" | json cpu_seconds) s PHP CPU, $IGNY8_CPU s igny8 CPU, $MARIADB_CPU s MariaDB CPU, background sends: $(echo "$SYNC" | json async), fast permalinks: $(echo "$SYNC" | json fast_permalinks)), platform holds $HELD posts and $HELD_TERMS terms"

# ------------------------------------------------------------------ baselines
RAW_START=$(now)
mariadb -N "$DB" -e "SELECT * FROM wp_posts WHERE post_type = 'post' AND post_status NOT IN ('auto-draft', 'inherit'); SELECT * FROM wp_term_relationships; SELECT * FROM wp_terms t JOIN wp_term_taxonomy tt ON tt.term_id = t.term_id; SELECT * FROM wp_postmeta WHERE meta_key LIKE '\_yoast%' OR meta_key LIKE 'rank\_math%';" >/dev/null
RAW_S=$(secs "$RAW_START" "$(now)")
log "raw SELECT of the same rows: $RAW_S s"

REST_S=skipped
if [ "${SKIP_REST:-0}" != 1 ]; then
  log "REST paging (per_page=100), sequential"
  REST_START=$(now); page=1; rest_items=0
  while :; do
    got=$(curl -s "$WP_URL/wp-json/wp/v2/posts?per_page=100&page=$page" | php -r '$d = json_decode(stream_get_contents(STDIN), true); echo is_array($d) && isset($d[0]) ? count($d) : 0;')
    rest_items=$((rest_items + got)); [ "$got" -lt 100 ] && break; page=$((page + 1))
  done
  for tax in categories tags; do
    page=1
    while :; do
      got=$(curl -s "$WP_URL/wp-json/wp/v2/$tax?per_page=100&page=$page" | php -r '$d = json_decode(stream_get_contents(STDIN), true); echo is_array($d) && isset($d[0]) ? count($d) : 0;')
      [ "$got" -lt 100 ] && break; page=$((page + 1))
    done
  done
  REST_S=$(secs "$REST_START" "$(now)")
  log "REST paging: $REST_S s for $rest_items published posts"
fi

# ------------------------------------------------------------------ save → visible
log "save → visible, $SAVES saves through the REST API"
APP=$(php "$BENCH_PHP" "$DIR" app-password)
IDS=$(mariadb -N "$DB" -e "SELECT ID FROM wp_posts WHERE post_type = 'post' AND post_status = 'publish' ORDER BY RAND() LIMIT $SAVES")
LAT=()
for id in $IDS; do
  title="Saved $id at $(date +%s%N)"
  t0=$(now)
  curl -sf -u "admin:$APP" -H 'Content-Type: application/json' -d "{\"title\": \"$title\"}" "$WP_URL/wp-json/wp/v2/posts/$id" >/dev/null
  while [ "$(curl -s -H "Authorization: Bearer $JWT" "$API/content/post/$id/" | json data.title)" != "$title" ]; do
    sleep 0.02
    [ "$(secs "$t0" "$(now)" | cut -d. -f1)" -lt 120 ] || { log "post $id never arrived"; exit 1; }
  done
  LAT+=("$(secs "$t0" "$(now)")")
done
SORTED=$(printf '%s\n' "${LAT[@]}" | sort -g)
P50=$(echo "$SORTED" | sed -n "$(( (SAVES + 1) / 2 ))p")
P95=$(echo "$SORTED" | sed -n "$(( (SAVES * 95 + 99) / 100 ))p")
QUEUE=$(mariadb -N "$DB" -e "SELECT COUNT(*) FROM wp_igny8_queue")

# ------------------------------------------------------------------ report
ratio() { [ "$2" = skipped ] && echo '-' || printf '%.1f' "$(echo "$2 / $1" | bc -l)"; }
round() { [ "$1" = skipped ] && echo "$1" || printf '%.2f' "$1"; }
SYNC_S=$(round "$SYNC_S"); REST_S=$(round "$REST_S"); RAW_S=$(round "$RAW_S"); P50=$(round "$P50"); P95=$(round "$P95")
log "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
cat <<EOF
| Site | Full sync (plugin → platform) | REST paging | Raw SELECT | REST / sync | sync / raw | PHP peak (real) | batches | queries | save → visible p50 / p95 | queue after |
|---|---|---|---|---|---|---|---|---|---|---|
| $POSTS posts, $TERMS terms | $SYNC_S s ($(echo "$SYNC" | json http_seconds) s waiting for igny8) | $REST_S s | $RAW_S s | $(ratio "$SYNC_S" "$REST_S")× | $(ratio "$RAW_S" "$SYNC_S")× | $(echo "$SYNC" | json peak_mb) MB ($(echo "$SYNC" | json peak_real_mb) MB) | $(echo "$SYNC" | json batches) | $(echo "$SYNC" | json queries) | ${P50} s / ${P95} s | $QUEUE |
EOF
