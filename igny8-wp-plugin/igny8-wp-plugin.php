<?php
/**
 * Plugin Name:       IGNY8
 * Plugin URI:        https://app.igny8.com/
 * Description:       Connects this WordPress site to the IGNY8 platform and keeps IGNY8 informed about the site's post types, taxonomies and content.
 * Version:           0.1.0
 * Requires at least: 5.6
 * Requires PHP:      7.4
 * Update URI:        https://app.igny8.com/downloads/igny8-wp-plugin.json
 * Author:            IGNY8
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       igny8
 * Domain Path:       /languages
 *
 * Bootstrap: constants, the plugin's files, activation/deactivation hooks. Nothing runs at load time
 * beyond registering hooks.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'IGNY8_VERSION', '0.1.0' );
define( 'IGNY8_PLUGIN_FILE', __FILE__ );
define( 'IGNY8_PLUGIN_DIR', __DIR__ );
if ( ! defined( 'IGNY8_DEFAULT_API_BASE' ) ) {
	define( 'IGNY8_DEFAULT_API_BASE', 'https://app.igny8.com' );
}

require_once IGNY8_PLUGIN_DIR . '/includes/class-api-client.php';
require_once IGNY8_PLUGIN_DIR . '/includes/class-async-request.php';
require_once IGNY8_PLUGIN_DIR . '/includes/functions.php';
require_once IGNY8_PLUGIN_DIR . '/includes/content.php';
require_once IGNY8_PLUGIN_DIR . '/includes/permalinks.php';
require_once IGNY8_PLUGIN_DIR . '/sync/locks.php';
require_once IGNY8_PLUGIN_DIR . '/sync/identity.php';
require_once IGNY8_PLUGIN_DIR . '/includes/merge.php';
require_once IGNY8_PLUGIN_DIR . '/sync/platform.php';
require_once IGNY8_PLUGIN_DIR . '/sync/queue.php';
require_once IGNY8_PLUGIN_DIR . '/sync/full-sync.php';
require_once IGNY8_PLUGIN_DIR . '/sync/verify.php';
require_once IGNY8_PLUGIN_DIR . '/sync/cron.php';
require_once IGNY8_PLUGIN_DIR . '/sync/background.php';
require_once IGNY8_PLUGIN_DIR . '/sync/changes-log.php';
require_once IGNY8_PLUGIN_DIR . '/sync/change-fields.php';
require_once IGNY8_PLUGIN_DIR . '/sync/seo-write.php';
require_once IGNY8_PLUGIN_DIR . '/sync/featured-image.php';
require_once IGNY8_PLUGIN_DIR . '/sync/change-apply-post.php';
require_once IGNY8_PLUGIN_DIR . '/sync/change-apply-term.php';
require_once IGNY8_PLUGIN_DIR . '/sync/change-apply.php';
require_once IGNY8_PLUGIN_DIR . '/sync/changes.php';
require_once IGNY8_PLUGIN_DIR . '/sync/receiver.php';
require_once IGNY8_PLUGIN_DIR . '/sync/nudge.php';
require_once IGNY8_PLUGIN_DIR . '/sync/hooks.php';
require_once IGNY8_PLUGIN_DIR . '/admin/class-admin.php';
require_once IGNY8_PLUGIN_DIR . '/admin/privacy.php';
require_once IGNY8_PLUGIN_DIR . '/includes/updates.php';

register_activation_hook( __FILE__, 'igny8_activate' );
register_deactivation_hook( __FILE__, 'igny8_deactivate' );

add_action( 'init', 'igny8_load_textdomain' );

/**
 * Loads translations from the plugin's languages/ folder (and WordPress's language packs).
 */
function igny8_load_textdomain() {
	load_plugin_textdomain( 'igny8', false, dirname( plugin_basename( IGNY8_PLUGIN_FILE ) ) . '/languages' );
}

if ( is_admin() ) {
	igny8_admin();
}
