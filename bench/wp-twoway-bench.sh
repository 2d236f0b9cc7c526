#!/usr/bin/env bash
# wp-twoway-bench.sh - two-way sync (platform → WordPress) on a generated site of N posts (default 5,000)
# against a real `igny8 serve` (release build, fresh SQLite), each figure beside its baseline:
#   - edit → live: from `POST …/changes/` until WordPress's stored value is the new one, EDITS edits
#     (default 50) with the nudge, and EDITS_SLOW (default 10) with the nudge unreachable, the site
#     checking its status every POLL_INTERVAL seconds (default 5; the plugin's real interval is longer);
#   - drain: DRAIN (default 5,000) queued title + SEO description updates applied by the plugin, against
#     the same kind of update sent one by one through WordPress's REST API (`POST /wp-json/wp/v2/posts/{id}`
#     with an application password, what a plugin-less tool does; REST cannot write SEO plugins' private
#     meta, so it sends title + excerpt). REST_SAMPLE (default 1,000) requests are timed and the rate
#     extrapolated to DRAIN, so a run takes minutes, not an hour;
#   - the PHP peak memory of the draining process.
# A benchmark run by hand, never by CI: `bench/wp-twoway-bench.sh [N] [DIR]`. Results: bench/README.md.
# env: IGNY8_BIN (default target/release/igny8, built when missing), WP_PORT (8099), IGNY8_PORT (8098).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-5000}
DIR=${2:-/tmp/igny8-wp-twoway-bench-$N}
WP_PORT=${WP_PORT:-8099}
IGNY8_PORT=${IGNY8_PORT:-8098}
EDITS=${EDITS:-50}
EDITS_SLOW=${EDITS_SLOW:-10}
POLL_INTERVAL=${POLL_INTERVAL:-5}
DRAIN=${DRAIN:-5000}
REST_SAMPLE=${REST_SAMPLE:-1000}
BENCH_PHP="$ROOT/bench/wp-content-bench.php"
log() { printf '[twoway-bench %s] %s\n' "$(date +%T)" "$*" >&2; }
. "$ROOT/bench/wp-bench-lib.sh"
pct() { printf '%s\n' "${@:2}" | sort -g | sed -n "$(( ($# - 1) * $1 / 100 + ( ($# - 1) * $1 % 100 > 0 ) ))p"; }

IGNY8_BIN=${IGNY8_BIN:-$ROOT/target/release/igny8}
if [ ! -x "$IGNY8_BIN" ]; then log "building igny8 (release)"; (cd "$ROOT" && cargo build --release -p igny8 >&2); fi
[ "$DRAIN" -le "$N" ] || { log "DRAIN ($DRAIN) must not exceed N ($N)"; exit 2; }

# ------------------------------------------------------------------ WordPress and the platform, connected
bench_wordpress
mariadb "$DB" -e "INSERT INTO wp_options (option_name, option_value, autoload) VALUES ('igny8_two_way_sync_enabled', '1', 'no')"
# The REST baseline needs application passwords over http on this local site.
mkdir -p "$DIR/wp-content/mu-plugins"
echo "<?php add_filter('wp_is_application_passwords_available', '__return_true');" > "$DIR/wp-content/mu-plugins/igny8-bench-app-passwords.php"
POLLER_PID=
SERVE_ENV=IGNY8_ALLOW_PRIVATE_TARGETS=1 bench_platform .twoway-bench
log "full sync of $N posts"
php -d memory_limit=512M "$BENCH_PHP" "$DIR" full-sync >/dev/null
change() { curl -sf -H "Authorization: Bearer $JWT" -H 'Content-Type: application/json' -d "$1" "$API/changes/" >/dev/null; }
meta() { mariadb -N "$DB" -e "SELECT meta_value FROM wp_postmeta WHERE post_id = $1 AND meta_key = '_yoast_wpseo_metadesc' ORDER BY meta_id DESC LIMIT 1"; }
IDS=($(mariadb -N "$DB" -e "SELECT ID FROM wp_posts WHERE post_type = 'post' AND post_status = 'publish' ORDER BY ID"))

# ------------------------------------------------------------------ edit → live
edit_to_live() { # $1 = how many; prints one latency per line
  for i in $(seq 1 "$1"); do
    id=${IDS[$((RANDOM % ${#IDS[@]}))]}
    desc="Edited $i $(date +%s%N)"
    t0=$(now)
    change "{\"op\": \"update\", \"type\": \"post\", \"wp_id\": $id, \"fields\": {\"seo\": {\"description\": \"$desc\"}}}"
    while [ "$(meta "$id")" != "$desc" ]; do
      sleep 0.01
      [ "$(secs "$t0" "$(now)" | cut -d. -f1)" -lt 120 ] || { log "post $id never changed"; exit 1; }
    done
    secs "$t0" "$(now)"
  done
}
log "edit → live with the nudge, $EDITS edits"
NUDGED=($(edit_to_live "$EDITS"))
log "edit → live without the nudge (status checks every $POLL_INTERVAL s), $EDITS_SLOW edits"
curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d "{\"url\": \"http://127.0.0.1:9/unreachable\", \"secret\": \"$(printf 'ab%.0s' $(seq 1 32))\"}" "$API/changes/receiver/" >/dev/null
( while :; do sleep "$POLL_INTERVAL"; php "$BENCH_PHP" "$DIR" status-check >/dev/null 2>&1 || true; done ) &
POLLER_PID=$!
PULLED=($(edit_to_live "$EDITS_SLOW"))
kill "$POLLER_PID"; POLLER_PID=

# ------------------------------------------------------------------ drain
# Values no earlier run on this site wrote, so every change really writes.
RUN=$(date +%s)
log "queueing $DRAIN title + SEO description updates"
for i in $(seq 0 $((DRAIN - 1))); do
  id=${IDS[$((i % ${#IDS[@]}))]}
  change "{\"op\": \"update\", \"type\": \"post\", \"wp_id\": $id, \"fields\": {\"title\": \"Drained $RUN title $id\", \"seo\": {\"description\": \"Drained $RUN description $id\"}}}"
done
log "draining"
DRAINED=$(php -d memory_limit=512M "$BENCH_PHP" "$DIR" drain)
DRAIN_S=$(echo "$DRAINED" | json seconds)
APPLIED=$(curl -s -H "Authorization: Bearer $JWT" "$API/changes/?status=applied&page_size=1" | json data.count)
CHANGED=$(mariadb -N "$DB" -e "SELECT COUNT(*) FROM wp_posts WHERE post_type = 'post' AND post_title LIKE 'Drained $RUN title %'")
log "drained in $DRAIN_S s: $APPLIED changes applied in all, $CHANGED posts carry the new title ($DRAINED)"

log "REST baseline: $REST_SAMPLE updates, one request each"
APP=$(php "$BENCH_PHP" "$DIR" app-password)
REST_START=$(now)
for i in $(seq 0 $((REST_SAMPLE - 1))); do
  id=${IDS[$(( (i + DRAIN) % ${#IDS[@]} ))]}
  curl -sf -u "admin:$APP" -H 'Content-Type: application/json' \
    -d "{\"title\": \"REST title $id\", \"excerpt\": \"REST excerpt $id\"}" "$WP_URL/wp-json/wp/v2/posts/$id" >/dev/null
done
REST_SAMPLE_S=$(secs "$REST_START" "$(now)")
REST_S=$(echo "$REST_SAMPLE_S * $DRAIN / $REST_SAMPLE" | bc -l)

# ------------------------------------------------------------------ report
r() { printf '%.2f' "$1"; }
log "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
cat <<EOF
| Site | edit → live, nudged p50 / p95 | without nudge (checks every ${POLL_INTERVAL} s) p50 / p95 | drain of $DRAIN | REST, same count | REST / drain | drain per change | PHP peak (real) |
|---|---|---|---|---|---|---|---|
| $N posts | $(r "$(pct 50 "${NUDGED[@]}")") s / $(r "$(pct 95 "${NUDGED[@]}")") s | $(r "$(pct 50 "${PULLED[@]}")") s / $(r "$(pct 95 "${PULLED[@]}")") s | $(r "$DRAIN_S") s | $(r "$REST_S") s ($REST_SAMPLE timed: $(r "$REST_SAMPLE_S") s) | $(printf '%.1f' "$(echo "$REST_S / $DRAIN_S" | bc -l)")× | $(printf '%.1f' "$(echo "$DRAIN_S * 1000 / $DRAIN" | bc -l)") ms | $(echo "$DRAINED" | json peak_mb) MB ($(echo "$DRAINED" | json peak_real_mb) MB) |
EOF
