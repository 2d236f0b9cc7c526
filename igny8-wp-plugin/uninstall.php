<?php
/**
 * Uninstall: removes every igny8_ option (tokens, API key, site, settings, sync state), the plugin's
 * transients, its scheduled events and its tables (queue, changes log), on every site of a network.
 *
 * @package Igny8
 */

if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
	exit;
}

$igny8_uninstall_site = static function () {
	global $wpdb;
	wp_clear_scheduled_hook( 'igny8_sync_site_structure' );
	wp_clear_scheduled_hook( 'igny8_sync_site_structure_soon' );
	wp_clear_scheduled_hook( 'igny8_send_queue' );
	wp_clear_scheduled_hook( 'igny8_full_sync_continue' );
	wp_clear_scheduled_hook( 'igny8_check_status' );
	wp_clear_scheduled_hook( 'igny8_verify' );
	wp_clear_scheduled_hook( 'igny8_pull_changes' );
	$wpdb->query( "DROP TABLE IF EXISTS `{$wpdb->prefix}igny8_queue`" ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery.SchemaChange
	$wpdb->query( "DROP TABLE IF EXISTS `{$wpdb->prefix}igny8_changes_log`" ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery.SchemaChange

	$names = $wpdb->get_col(
		$wpdb->prepare(
			"SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE %s OR option_name LIKE %s OR option_name LIKE %s",
			$wpdb->esc_like( 'igny8_' ) . '%',
			$wpdb->esc_like( '_transient_igny8_' ) . '%',
			$wpdb->esc_like( '_transient_timeout_igny8_' ) . '%'
		)
	);
	foreach ( (array) $names as $name ) {
		delete_option( $name );
	}
};

if ( is_multisite() ) {
	foreach ( get_sites( array( 'fields' => 'ids', 'number' => 0 ) ) as $igny8_blog_id ) {
		switch_to_blog( $igny8_blog_id );
		$igny8_uninstall_site();
		restore_current_blog();
	}
} else {
	$igny8_uninstall_site();
}
