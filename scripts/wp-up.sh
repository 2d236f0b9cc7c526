#!/usr/bin/env bash
# wp-up.sh - bring up a real, headless WordPress (Debian's package) served by `php -S`, for the plugin's
# tests and the end-to-end tests. Idempotent: every step checks what is already there. Needs root
# (apt-get, MariaDB as root over its unix socket). Works whether or not mariadbd is already running.
#
# usage: scripts/wp-up.sh DIR PORT
#   DIR   WordPress instance root (created: a private copy of /usr/share/wordpress + .wp-up/ state)
#   PORT  port on 127.0.0.1 for `php -S` (also baked into the site URL)
# env (all optional):
#   WP_DB_NAME          database name   (default: wp_<basename of DIR>_<hash of DIR>, so instances never share a DB)
#   WP_DB_USER          database user   (default: same as WP_DB_NAME)
#   WP_DB_PASS          database password (default: wp-up-pass)
#   WP_TITLE            site title (default: WP Test)
#   WP_ADMIN_USER / WP_ADMIN_PASS / WP_ADMIN_EMAIL   (default: admin / admin / admin@example.com)
#   WP_PLUGINS          space-separated plugin dirs/files to symlink into wp-content/plugins and activate
#   WP_WORKERS          PHP_CLI_SERVER_WORKERS for php -S (default 4; one worker stalls on the first cron run)
#   WP_DEBUG            true|false (default true; logs to DIR/wp-content/debug.log, never displayed)
#   WP_DISABLE_CRON     1 = DISABLE_WP_CRON (no cron spawn on page loads; call DIR/wp-cron.php yourself)
#   WP_BLOCK_EXTERNAL   1 (default) = WP_HTTP_BLOCK_EXTERNAL: only localhost/the site itself are reachable
#   WP_ALLOW_LOCAL_HTTP 1 = mu-plugin letting wp_safe_remote_*() reach 127.0.0.1/localhost on any port
#   WP_NO_SERVE         1 = install only, do not start php -S (in-process PHPUnit needs no server)
#   WP_FRESH_DB         1 = drop the instance's database first: a new install on the existing files
#   WP_SKIP_APT         1 = never run apt-get (fail if a package is missing)
# prints WP_URL=, WP_DIR=, WP_DB_NAME=, WP_SERVER_PID= lines on stdout; logs go to stderr.
set -euo pipefail

DIR=${1:?usage: wp-up.sh DIR PORT}
PORT=${2:?usage: wp-up.sh DIR PORT}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
STATE="$DIR/.wp-up"
base=$(basename "$DIR" | tr -c 'A-Za-z0-9_\n' '_' | cut -c1-40)
hash=$(printf '%s' "$DIR" | md5sum | cut -c1-8)
DB_NAME=${WP_DB_NAME:-wp_${base}_${hash}}
DB_USER=${WP_DB_USER:-$DB_NAME}; DB_USER=${DB_USER:0:80}
DB_PASS=${WP_DB_PASS:-wp-up-pass}
TITLE=${WP_TITLE:-WP Test}
ADMIN_USER=${WP_ADMIN_USER:-admin}; ADMIN_PASS=${WP_ADMIN_PASS:-admin}; ADMIN_EMAIL=${WP_ADMIN_EMAIL:-admin@example.com}
WORKERS=${WP_WORKERS:-4}
WP_DEBUG=${WP_DEBUG:-true}
URL="http://127.0.0.1:$PORT"
SRC=/usr/share/wordpress
LOCK=${WP_UP_LOCK:-/tmp/igny8-wp-up.lock}

log() { printf '[wp-up %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (apt-get, MariaDB root over unix socket)"
case $PORT in ''|*[!0-9]*) die "PORT must be a number, got '$PORT'";; esac

# Packages and mariadbd are machine-wide: serialise those steps between concurrent wp-up.sh runs.
exec 9>"$LOCK"
flock 9

# ---------------------------------------------------------------- 1. packages
PKGS="wordpress wordpress-theme-twentytwentythree php-cli php-mysql php-curl php-xml php-mbstring mariadb-server mariadb-client phpunit curl"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  [ "${WP_SKIP_APT:-0}" = 1 ] && die "missing packages:$missing"
  log "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# ---------------------------------------------------------------- 2. MariaDB
mkdir -p "$STATE"
if ! mariadb-admin ping --silent >/dev/null 2>&1; then
  [ -d /var/lib/mysql/mysql ] || { log "initialising /var/lib/mysql"; mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null; }
  install -d -o mysql -g mysql /run/mysqld
  log "starting mariadbd"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  for _ in $(seq 1 150); do mariadb-admin ping --silent >/dev/null 2>&1 && break; sleep 0.2; done
  mariadb-admin ping --silent >/dev/null 2>&1 || die "mariadbd did not come up"
  cat /run/mysqld/mysqld.pid > "$STATE/mariadb.started-by-wp-up"   # wp-down.sh --db stops only this PID
else
  log "mariadb already running"
fi
flock -u 9

# ---------------------------------------------------------------- 3. database + user
if [ "${WP_FRESH_DB:-0}" = 1 ]; then
  log "dropping database $DB_NAME (WP_FRESH_DB=1)"
  mariadb -e "DROP DATABASE IF EXISTS \`$DB_NAME\`"
fi
mariadb <<SQL
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'localhost';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL

# ---------------------------------------------------------------- 4. file layout
# A private copy of the Debian tree (about 60 MB, under a second). Debian's own wp-config.php is replaced:
# it picks /etc/wordpress/config-<HTTP_HOST>.php and points WP_CONTENT_DIR at /var/lib/wordpress/wp-content.
if [ ! -f "$DIR/wp-settings.php" ]; then
  log "copying $SRC -> $DIR"
  cp -a "$SRC/." "$DIR/"
  rm -f "$DIR/wp-config.php" "$DIR/.htaccess"
fi
mkdir -p "$DIR/wp-content/uploads" "$DIR/wp-content/mu-plugins" "$DIR/wp-content/upgrade"

if [ ! -f "$STATE/salts.php" ]; then
  { echo '<?php'
    for k in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
      printf "define('%s', '%s');\n" "$k" "$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')"
    done; } > "$STATE/salts.php"
fi

tmp=$(mktemp)
cat > "$tmp" <<PHP
<?php
// Generated by scripts/wp-up.sh - edits are overwritten. Put extra settings in .wp-up/extra-config.php.
define('DB_NAME', '$DB_NAME');
define('DB_USER', '$DB_USER');
define('DB_PASSWORD', '$DB_PASS');
define('DB_HOST', 'localhost');              // unix socket /run/mysqld/mysqld.sock
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
\$table_prefix = 'wp_';
define('WP_HOME', '$URL');
define('WP_SITEURL', '$URL');
define('WP_ENVIRONMENT_TYPE', 'local');
define('WP_DEBUG', $WP_DEBUG);
define('WP_DEBUG_LOG', true);
define('WP_DEBUG_DISPLAY', false);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('FS_METHOD', 'direct');
PHP
[ "${WP_BLOCK_EXTERNAL:-1}" = 1 ] && echo "define('WP_HTTP_BLOCK_EXTERNAL', true);" >> "$tmp"
[ "${WP_DISABLE_CRON:-0}" = 1 ] && echo "define('DISABLE_WP_CRON', true);" >> "$tmp"
cat >> "$tmp" <<'PHP'
require __DIR__ . '/.wp-up/salts.php';
if (file_exists(__DIR__ . '/.wp-up/extra-config.php')) require __DIR__ . '/.wp-up/extra-config.php';
if (!defined('ABSPATH')) define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
PHP
if ! cmp -s "$tmp" "$DIR/wp-config.php"; then mv "$tmp" "$DIR/wp-config.php"; log "wrote wp-config.php"; else rm -f "$tmp"; fi

if [ "${WP_ALLOW_LOCAL_HTTP:-0}" = 1 ]; then
  cat > "$DIR/wp-content/mu-plugins/wp-up-local-http.php" <<'PHP'
<?php
// scripts/wp-up.sh: let wp_safe_remote_*() / wp_http_validate_url() reach local test backends on any port.
add_filter('http_request_host_is_external', function ($ext, $host) {
    return $ext || in_array(strtolower($host), ['127.0.0.1', 'localhost', '::1'], true);
}, 10, 2);
add_filter('http_allowed_safe_ports', function ($ports, $host, $url) {
    if (in_array(strtolower($host), ['127.0.0.1', 'localhost'], true) && ($p = parse_url($url, PHP_URL_PORT))) { $ports[] = $p; }
    return $ports;
}, 10, 3);
PHP
else
  rm -f "$DIR/wp-content/mu-plugins/wp-up-local-http.php"
fi

# router for php -S: real files as-is, everything else to index.php (pretty permalinks, /wp-json/)
cat > "$STATE/router.php" <<'PHP'
<?php
$root = rtrim($_SERVER['DOCUMENT_ROOT'], '/');
$path = urldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');
if (strpos($path, '/.wp-up') === 0 || strpos($path, '/..') !== false) { http_response_code(403); return true; }
$target = $root . $path;
if ($path !== '/' && is_file($target)) return false;                 // static file or real .php script
if ($path !== '/' && is_dir($target) && is_file(rtrim($target, '/') . '/index.php')) {
    if (substr($path, -1) !== '/') { header('Location: ' . $path . '/', true, 301); return true; }
    return false;                                                     // e.g. /wp-admin/
}
$_SERVER['SCRIPT_NAME'] = $_SERVER['PHP_SELF'] = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $root . '/index.php';
chdir($root);
require $root . '/index.php';
PHP

# ---------------------------------------------------------------- 5. install (no wp-cli)
cat > "$STATE/install.php" <<'PHP'
<?php
// usage: php install.php DIR TITLE USER PASS EMAIL
[$_, $dir, $title, $user, $pass, $email] = $argv;
$_SERVER['HTTP_HOST'] = parse_url(getenv('WP_UP_URL'), PHP_URL_HOST) . ':' . parse_url(getenv('WP_UP_URL'), PHP_URL_PORT);
$_SERVER['SERVER_NAME'] = '127.0.0.1'; $_SERVER['REQUEST_URI'] = '/'; $_SERVER['REQUEST_METHOD'] = 'GET';
define('WP_INSTALLING', true);
require $dir . '/wp-load.php';
function wp_new_blog_notification() {}   // pluggable: skip the "new site" mail (no sendmail here)
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
if (is_blog_installed()) {
    if ((int) get_option('db_version') < (int) $GLOBALS['wp_db_version']) { wp_upgrade(); echo "upgraded db\n"; }
    echo "already installed\n";
} else {
    $r = wp_install($title, $user, $email, true, '', wp_slash($pass));
    echo "installed, admin user id {$r['user_id']}\n";
}
if (get_option('permalink_structure') !== '/%postname%/') {
    $GLOBALS['wp_rewrite']->set_permalink_structure('/%postname%/');
    delete_option('rewrite_rules');        // rebuilt lazily on the next request, with all plugins loaded
    echo "permalinks set\n";
}
PHP
WP_UP_URL=$URL php "$STATE/install.php" "$DIR" "$TITLE" "$ADMIN_USER" "$ADMIN_PASS" "$ADMIN_EMAIL" | sed 's/^/[wp-up install] /' >&2

# ---------------------------------------------------------------- 6. plugins (optional)
if [ -n "${WP_PLUGINS:-}" ]; then
  names=()
  for src in $WP_PLUGINS; do
    [ -e "$src" ] || die "plugin not found: $src"
    src=$(readlink -f "$src"); name=$(basename "$src")
    ln -sfn "$src" "$DIR/wp-content/plugins/$name"
    names+=("$name")
  done
  cat > "$STATE/activate.php" <<'PHP'
<?php
// usage: php activate.php DIR plugin-dir-or-file...   (activation runs in its own process: init has not fired for it)
$dir = $argv[1];
$_SERVER['HTTP_HOST'] = '127.0.0.1'; $_SERVER['SERVER_NAME'] = '127.0.0.1'; $_SERVER['REQUEST_URI'] = '/';
require $dir . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
$all = get_plugins(); $rc = 0;
foreach (array_slice($argv, 2) as $name) {
    $file = null;
    foreach (array_keys($all) as $f) { if ($f === $name || strpos($f, $name . '/') === 0) { $file = $f; break; } }
    if (!$file) { fwrite(STDERR, "plugin not found: $name\n"); $rc = 1; continue; }
    if (is_plugin_active($file)) { echo "already active: $file\n"; continue; }
    $r = activate_plugin($file);
    if (is_wp_error($r)) { fwrite(STDERR, "activate $file: " . $r->get_error_message() . "\n"); $rc = 1; }
    else { echo "activated: $file\n"; delete_option('rewrite_rules'); }
}
exit($rc);
PHP
  php "$STATE/activate.php" "$DIR" "${names[@]}" | sed 's/^/[wp-up plugins] /' >&2
fi

# ---------------------------------------------------------------- 7. serve
if [ "${WP_NO_SERVE:-0}" != 1 ]; then
  alive() { [ -f "$STATE/server.pid" ] && kill -0 "$(cat "$STATE/server.pid")" 2>/dev/null; }
  running_port=$(cat "$STATE/server.port" 2>/dev/null || true)
  if alive && [ "$running_port" = "$PORT" ]; then
    log "php -S already running (pid $(cat "$STATE/server.pid")) on $URL"
  else
    if alive; then log "port changed ($running_port -> $PORT): restarting"; kill -- "-$(cat "$STATE/server.pid")" 2>/dev/null || true; sleep 0.5; fi
    if curl -s -o /dev/null --max-time 2 "$URL/"; then die "something else already answers on $URL"; fi
    log "starting php -S on $URL (workers: $WORKERS)"
    # setsid: own process group (PGID = PID), so wp-down.sh can stop the server and its workers by that PID
    PHP_CLI_SERVER_WORKERS=$WORKERS setsid php -S "127.0.0.1:$PORT" -t "$DIR" "$STATE/router.php" \
        >>"$STATE/server.log" 2>&1 </dev/null &
    echo $! > "$STATE/server.pid"; echo "$PORT" > "$STATE/server.port"
  fi
  for _ in $(seq 1 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/wp-json/" || true)
    [ "$code" = 200 ] && break; sleep 0.1
  done

  # -------------------------------------------------------------- 8. health check
  fail=0
  for p in / /wp-json/wp/v2/types /wp-login.php; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$URL$p" || true)
    log "GET $p -> $code"; [ "$code" = 200 ] || fail=1
  done
  [ $fail = 0 ] || die "health check failed (see $STATE/server.log, $DIR/wp-content/debug.log)"
fi
echo "WP_URL=$URL"
echo "WP_DIR=$DIR"
echo "WP_DB_NAME=$DB_NAME"
echo "WP_SERVER_PID=$(cat "$STATE/server.pid" 2>/dev/null || true)"
