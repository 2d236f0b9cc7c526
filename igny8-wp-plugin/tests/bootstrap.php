<?php
/**
 * Boots the plugin's tests on an installed WordPress (scripts/test-plugin.sh sets WP_DIR): no
 * wordpress-develop test library, the real WordPress with the plugin active, every test in a
 * transaction rolled back afterwards.
 *
 * @package Igny8
 */

$igny8_wp_dir = getenv( 'WP_DIR' );
if ( ! $igny8_wp_dir || ! is_file( $igny8_wp_dir . '/wp-load.php' ) ) {
	fwrite( STDERR, "WP_DIR must point to an installed WordPress (run scripts/test-plugin.sh)\n" );
	exit( 1 );
}
$_SERVER['HTTP_HOST']      = $_SERVER['HTTP_HOST'] ?? '127.0.0.1';
$_SERVER['SERVER_NAME']    = '127.0.0.1';
$_SERVER['REQUEST_URI']    = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
require $igny8_wp_dir . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/admin.php'; // The settings page uses admin template functions.

if ( ! function_exists( 'igny8_get_site_structure' ) || ! is_plugin_active( plugin_basename( IGNY8_PLUGIN_FILE ) ) ) {
	fwrite( STDERR, "the igny8-wp-plugin is not active in $igny8_wp_dir\n" );
	exit( 1 );
}

// The queue table exists before any test: CREATE TABLE inside a test's transaction would commit it.
igny8_install_schema();
// Tests send the queue themselves; nothing leaves at the end of the PHPUnit process.
remove_action( 'shutdown', 'igny8_send_queue_at_shutdown', 100 );

require __DIR__ . '/includes/class-igny8-fake-backend.php';
require __DIR__ . '/includes/class-igny8-testcase.php';
