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
		$this->connect_working();
		update_option( 'igny8_two_way_sync_enabled', 1 );
		update_option( 'igny8_last_error', array( 'message' => 'x' ), false );
		igny8_admin()->add_notice( 'info', 'pending' );
		igny8_queue_structure_sync();
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
		$this->assertSame( 'keep', get_option( 'igny8x_not_ours' ) );
		$this->assertSame( 'Kept Blog', get_option( 'blogname' ) );
	}
}
