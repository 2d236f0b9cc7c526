# wp-bench-lib.sh - what the WordPress benchmarks share (sourced, not run): a WordPress of N generated
# posts with the plugin, and a fresh `igny8 serve` with the site connected.
# The caller sets ROOT, N, DIR, WP_PORT, IGNY8_PORT, IGNY8_BIN, BENCH_PHP and defines log().

now() { date +%s.%N; }
# Seconds from $1 to $2, with a leading zero (bc prints ".5", which `[ -lt ]` cannot read).
secs() { printf '%.6f\n' "$(echo "$2 - $1" | bc -l)"; }
# A field of a JSON document on stdin, by dotted path.
json() { php -r '$d = json_decode(stream_get_contents(STDIN), true); foreach (explode(".", $argv[1]) as $k) { $d = $d[$k]; } echo is_scalar($d) ? $d : json_encode($d);' "$1"; }

# WordPress with N posts made by SQL (categories and Yoast / Rank Math fields), reused while it has them,
# and no igny8 state from an earlier run. Sets WP_URL, WP_DB_NAME and DB.
bench_wordpress() {
  eval "$(WP_DEBUG=false WP_DISABLE_CRON=1 WP_ALLOW_LOCAL_HTTP=1 WP_PLUGINS="$ROOT/igny8-wp-plugin" \
    "$ROOT/scripts/wp-up.sh" "$DIR" "$WP_PORT" | grep -E '^WP_(DB_NAME|URL)=')"
  DB=$WP_DB_NAME
  local have
  have=$(mariadb -N "$DB" -e "SELECT COUNT(*) FROM wp_posts WHERE post_name LIKE 'bench-%'")
  if [ "$have" != "$N" ]; then
    log "generating $N posts, $((N / 50)) categories and SEO fields by SQL"
    mariadb "$DB" -e "DELETE p, tr, pm FROM wp_posts p LEFT JOIN wp_term_relationships tr ON tr.object_id = p.ID LEFT JOIN wp_postmeta pm ON pm.post_id = p.ID WHERE p.post_name LIKE 'bench-%';
      DELETE t, tt FROM wp_terms t JOIN wp_term_taxonomy tt ON tt.term_id = t.term_id WHERE t.slug LIKE 'bench-term-%';"
    mariadb "$DB" -e "SET @n=$N, @nt=$((N / 50)), @ptype='post', @tax='category'; SOURCE $ROOT/bench/wp-gen-posts.sql; SOURCE $ROOT/bench/wp-content-gen.sql;
      DELETE FROM wp_options WHERE option_name = 'category_children';"
  fi
  # A fresh connection for every run: no queue, no earlier run.
  mariadb "$DB" -e "DELETE FROM wp_options WHERE option_name LIKE 'igny8\_%' AND option_name NOT IN ('igny8_db_version'); TRUNCATE wp_igny8_queue;"
}

# A fresh `igny8 serve` (SQLite in DIR/STATE_NAME, env of the caller's SERVE_ENV words) with a user, the
# site and its key, the plugin connected, `post` enabled up to 2N and `page` off, the structure pushed.
# Sets STATE, DATABASE, IGNY8_URL, IGNY8_PID, KEY, INTEGRATION, JWT, API and cli(); kills the server on exit.
bench_platform() {
  STATE="$DIR/$1"; mkdir -p "$STATE"; rm -f "$STATE"/igny8.db*
  DATABASE="sqlite://$STATE/igny8.db"
  IGNY8_URL="http://127.0.0.1:$IGNY8_PORT"
  env ${SERVE_ENV:-} IGNY8_JWT_SECRET=bench-secret-0123456789abcdef-0123456789 \
    "$IGNY8_BIN" serve --addr "127.0.0.1:$IGNY8_PORT" --database "$DATABASE" >"$STATE/igny8.log" 2>&1 &
  IGNY8_PID=$!
  trap 'kill $IGNY8_PID ${POLLER_PID:-} 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$IGNY8_URL/api/v1/auth/sites/")" = 401 ] && break; sleep 0.1; done
  cli() { "$IGNY8_BIN" --database "$DATABASE" --json "$@"; }
  echo 'bench password 123' | cli user create --email bench@example.com --password-stdin >/dev/null
  local site
  site=$(cli site create --owner bench@example.com --name "Bench $N" --url "$WP_URL" | json id)
  KEY=$(cli site key create --site "$site" | json key)
  INTEGRATION=$(php "$BENCH_PHP" "$DIR" connect "$IGNY8_URL" bench@example.com 'bench password 123' "$KEY")
  JWT=$(curl -s -H 'Content-Type: application/json' -d '{"email":"bench@example.com","password":"bench password 123"}' "$IGNY8_URL/api/v1/auth/login/" | json data.access)
  API="$IGNY8_URL/api/v1/integration/integrations/$INTEGRATION"
  curl -sf -X PATCH -H "Authorization: Bearer $JWT" -H 'Content-Type: application/json' \
    -d "{\"post_types\": {\"post\": {\"enabled\": true, \"fetch_limit\": $((N * 2))}, \"page\": {\"enabled\": false}}, \"taxonomies\": {\"category\": {\"enabled\": true}, \"post_tag\": {\"enabled\": true}}}" \
    "$API/content-types/" >/dev/null
  php "$BENCH_PHP" "$DIR" structure >/dev/null
}
