<?php
/**
 * uninstall.php: nothing of the plugin stays behind.
 *
 * @package Igny8
 */

class UninstallTest extends Igny8_TestCase {

	private function uninstall() {
		if ( ! defined( 'WP_UNINSTALL_PLUGIN' ) ) {
			define( 'WP_UNINSTALL_PLUGIN', plugin_basename( IGNY8_PLUGIN_FILE ) );
		}
		include IGNY8_PLUGIN_DIR . '/uninstall.php';
	}

	public function test_uninstall_removes_every_option_transient_and_event() {
		global $wpdb;
		// DROP TABLE would commit the test's transaction: a temporary table shadows the queue, and the
		// uninstaller's DROP is pointed at it (DROP TEMPORARY TABLE does not commit).
		$table = igny8_queue_table();
		$log   = igny8_changes_log_table();
		$wpdb->query( "CREATE TEMPORARY TABLE $table LIKE $table" );
		$wpdb->query( "CREATE TEMPORARY TABLE $log LIKE $log" );
		$wpdb->query( "INSERT INTO $table (kind, type, wp_id, op, queued_at, next_attempt_at) VALUES ('post', 'post', 424242, 'upsert', NOW(), NOW())" );
		$dropped = array();
		$this->add_test_filter(
			'query',
			static function ( $query ) use ( &$dropped ) {
				if ( preg_match( '/^\s*DROP TABLE /i', $query ) ) {
					$dropped[] = $query;
					return preg_replace( '/^\s*DROP TABLE /i', 'DROP TEMPORARY TABLE ', $query );
				}
				return $query;
			}
		);
		$this->connect_working();
		$this->backend->content_platform();
		igny8_request_full_sync( 'admin' );
		update_option( 'igny8_rejected_items', array(), false );
		update_option( 'igny8_two_way_sync_enabled', 1 );
		update_option( 'igny8_last_error', array( 'message' => 'x' ), false );
		igny8_admin()->add_notice( 'info', 'pending' );
		igny8_queue_structure_sync();
		igny8_request_verification( 'reactivated' );
		igny8_schedule_queue_send( time() + 60 );
		igny8_schedule_changes_pull();
		update_option( 'igny8x_not_ours', 'keep' );
		update_option( 'blogname', 'Kept Blog' );
		$this->assertGreaterThan( 10, count( $this->stored_options() ) );

		$this->uninstall();
		wp_cache_flush();

		$this->assertSame( array(), $this->stored_options() );
		$left = $wpdb->get_col( $wpdb->prepare( "SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE %s", '%' . $wpdb->esc_like( 'igny8_' ) . '%' ) );
		$this->assertSame( array(), $left );
		$this->assertFalse( wp_next_scheduled( 'igny8_sync_site_structure' ) );
		$this->assertFalse( wp_next_scheduled( 'igny8_sync_site_structure_soon' ) );
		$this->assertFalse( wp_next_scheduled( 'igny8_send_queue' ) );
		$this->assertFalse( wp_next_scheduled( 'igny8_full_sync_continue' ) );
		$this->assertFalse( wp_next_scheduled( 'igny8_check_status' ) );
		$this->assertFalse( wp_next_scheduled( 'igny8_verify' ) );
				$this->assertFalse( wp_next_scheduled( 'igny8_pull_changes' ) );
		$this->assertSame( array( "DROP TABLE IF EXISTS `$table`", "DROP TABLE IF EXISTS `$log`" ), $dropped );
		$this->assertSame( '0', $wpdb->get_var( "SELECT COUNT(*) FROM $table WHERE wp_id = 424242" ), 'the statement dropped the (shadow) table' );
		$this->assertSame( 'keep', get_option( 'igny8x_not_ours' ) );
		$this->assertSame( 'Kept Blog', get_option( 'blogname' ) );
	}
}
