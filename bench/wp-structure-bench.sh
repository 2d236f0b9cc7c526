#!/usr/bin/env bash
# wp-structure-bench.sh - measures igny8_get_site_structure() on a generated site of N posts (default
# 100,000, made by SQL), and prints time and extra memory against the targets (<= 50 ms, <= 8 MB).
# A benchmark run by hand, never by CI: `bench/wp-structure-bench.sh [N] [DIR]`.
# The site is kept in DIR (default /tmp/igny8-wp-bench) and reused while it has N generated posts;
# remove it with `scripts/wp-down.sh DIR --purge`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-100000}
DIR=${2:-/tmp/igny8-wp-bench}
log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }

eval "$(WP_NO_SERVE=1 WP_DEBUG=false WP_DISABLE_CRON=1 WP_PLUGINS="$ROOT/igny8-wp-plugin" "$ROOT/scripts/wp-up.sh" "$DIR" 8099 | grep '^WP_DB_NAME=')"

have=$(mariadb -N "$WP_DB_NAME" -e "SELECT COUNT(*) FROM wp_posts WHERE post_name LIKE 'bench-%'")
if [ "$have" != "$N" ]; then
  log "generating $N posts and $((N / 50)) categories by SQL"
  mariadb "$WP_DB_NAME" -e "DELETE p, tr FROM wp_posts p LEFT JOIN wp_term_relationships tr ON tr.object_id = p.ID WHERE p.post_name LIKE 'bench-%';
    DELETE t, tt FROM wp_terms t JOIN wp_term_taxonomy tt ON tt.term_id = t.term_id WHERE t.slug LIKE 'bench-term-%';"
  start=$(date +%s.%N)
  mariadb "$WP_DB_NAME" -e "SET @n=$N, @nt=$((N / 50)), @ptype='post', @tax='category'; SOURCE $ROOT/bench/wp-gen-posts.sql;
    DELETE FROM wp_options WHERE option_name = 'category_children';"
  log "generated in $(echo "$(date +%s.%N) - $start" | bc) s"
fi
php "$ROOT/bench/wp-structure-bench.php" "$DIR" 20
