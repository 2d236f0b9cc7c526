#!/usr/bin/env bash
# wp-verify-bench.sh - verification (docs/sync-protocol.md, "Integrity") on a generated site of N posts (default
# 100,000; made by SQL with categories and Yoast / Rank Math fields) against a real `igny8 serve` (release
# build, fresh SQLite):
#   - the bucket sums of every synced type with the plugin's checksum over every synced field, beside the
#     same query with the old checksum (id, modified time, status), alternating, median of RUNS;
#   - a whole verification with nothing to repair: its time and the part spent waiting for the platform;
#   - then K posts edited behind WordPress's hooks (an SQL search-replace of a Yoast field, post_modified_gmt
#     untouched) for K in EDITS: verification time, what it sent again, and that a second one finds
#     nothing left.
# A benchmark run by hand, never by CI: `bench/wp-verify-bench.sh [N] [DIR]`. Results: bench/README.md.
# env: IGNY8_BIN (default target/release/igny8, built when missing), WP_PORT (8097), IGNY8_PORT (8096),
#      RUNS (5), EDITS ("1 100 1000").
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-100000}
DIR=${2:-/tmp/igny8-wp-content-bench-$N}
WP_PORT=${WP_PORT:-8097}
IGNY8_PORT=${IGNY8_PORT:-8096}
RUNS=${RUNS:-5}
EDITS=${EDITS:-1 100 1000}
BENCH_PHP="$ROOT/bench/wp-content-bench.php"
log() { printf '[verify-bench %s] %s\n' "$(date +%T)" "$*" >&2; }
. "$ROOT/bench/wp-bench-lib.sh"

IGNY8_BIN=${IGNY8_BIN:-$ROOT/target/release/igny8}
if [ ! -x "$IGNY8_BIN" ]; then log "building igny8 (release)"; (cd "$ROOT" && cargo build --release -p igny8 >&2); fi

bench_wordpress
POSTS=$(mariadb -N "$DB" -e "SELECT COUNT(*) FROM wp_posts WHERE post_type = 'post' AND post_status NOT IN ('auto-draft', 'inherit')")
log "site: $POSTS posts"
bench_platform .verify-bench
log "full sync"
SYNC_S=$(php -d memory_limit=512M "$BENCH_PHP" "$DIR" full-sync | json seconds)
log "full sync: $SYNC_S s"

log "bucket sums, old and new checksum, $RUNS runs each"
SUMS=$(php "$BENCH_PHP" "$DIR" checksums "$RUNS")
OLD_S=$(echo "$SUMS" | json old_seconds); NEW_S=$(echo "$SUMS" | json new_seconds)
log "bucket sums of $(echo "$SUMS" | json items) items in $(echo "$SUMS" | json types) types: old $OLD_S s, new $NEW_S s"

verify() {
  curl -sf -X POST -H "Authorization: Bearer $JWT" -H 'Content-Type: application/json' -d '{"action": "request"}' "$API/content/verify/" >/dev/null
  php -d memory_limit=512M "$BENCH_PHP" "$DIR" verify
}
ROWS=()
V=$(verify)
[ "$(echo "$V" | json result)" = in_sync ] || { log "a fresh full sync should verify in sync: $V"; exit 1; }
ROWS+=("| 0 | $(echo "$V" | json seconds) s | $(echo "$V" | json http_seconds) s | $(echo "$V" | json differing) | $(echo "$V" | json resend) | $(echo "$V" | json peak_mb) MB |")
log "nothing to repair: $V"

for K in $EDITS; do
  STAMP=$(date +%s%N)
  # K posts with a Yoast description, edited as a search-replace would: meta only, no hook, no modified time.
  mariadb "$DB" -e "UPDATE wp_postmeta pm JOIN (SELECT ID FROM wp_posts WHERE post_name LIKE 'bench-%' AND ID MOD 3 = 0 ORDER BY RAND() LIMIT $K) e ON e.ID = pm.post_id
    SET pm.meta_value = CONCAT('Replaced $STAMP ', pm.post_id) WHERE pm.meta_key = '_yoast_wpseo_metadesc';"
  V=$(verify)
  # The repairs were sent as the verification's process ended (the CLI sends in process); whatever is left goes now.
  php "$BENCH_PHP" "$DIR" send-queue >/dev/null
  AGAIN=$(verify)
  [ "$(echo "$V" | json resend)" = "$K" ] && [ "$(echo "$AGAIN" | json resend)" = 0 ] || { log "K=$K: found $V, then $AGAIN"; exit 1; }
  SAMPLE=$(mariadb -N "$DB" -e "SELECT post_id FROM wp_postmeta WHERE meta_value LIKE 'Replaced $STAMP %' LIMIT 1")
  [ "$(curl -s -H "Authorization: Bearer $JWT" "$API/content/post/$SAMPLE/" | json data.seo.description)" = "Replaced $STAMP $SAMPLE" ] || { log "post $SAMPLE not repaired"; exit 1; }
  ROWS+=("| $K | $(echo "$V" | json seconds) s | $(echo "$V" | json http_seconds) s | $(echo "$V" | json differing) | $(echo "$V" | json resend) | $(echo "$V" | json peak_mb) MB |")
  log "K=$K: $V; then $(echo "$AGAIN" | json result)"
done

log "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
cat <<EOF
Bucket sums of every synced type ($(echo "$SUMS" | json items) items): plugin's checksum $NEW_S s, old checksum $OLD_S s ($(printf '%.1f' "$(echo "$NEW_S / $OLD_S" | bc -l)")× its time).

| Posts edited behind the hooks | Verification | of which waiting for igny8 | differing buckets | sent again | PHP peak |
|---|---|---|---|---|---|
$(printf '%s\n' "${ROWS[@]}")
EOF
