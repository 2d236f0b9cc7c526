<?php
/**
 * WP-Cron: the daily structure push is scheduled while connected, and only then.
 *
 * @package Igny8
 */

class CronTest extends Igny8_TestCase {

	const DAILY = 'igny8_sync_site_structure';
	const SOON  = 'igny8_sync_site_structure_soon';

	public function test_connect_schedules_the_daily_sync() {
		$this->assertFalse( wp_next_scheduled( self::DAILY ) );

		$this->connect_working();

		$next = wp_next_scheduled( self::DAILY );
		$this->assertNotFalse( $next );
		$this->assertEqualsWithDelta( time() + DAY_IN_SECONDS, $next, 10 );
		$this->assertSame( 'daily', wp_get_schedule( self::DAILY ) );
	}

	public function test_a_failed_connect_schedules_nothing() {
		$this->backend->working()->on( 'POST /api/v1/auth/login/', 401, Igny8_Fake_Backend::fail( 'invalid_credentials', 'No.' ) );

		$this->connect();

		$this->assertFalse( wp_next_scheduled( self::DAILY ) );
	}

	public function test_reconnecting_keeps_a_single_daily_event() {
		$this->connect_working();
		$this->backend->working();
		$this->connect();

		$events = 0;
		foreach ( _get_cron_array() as $hooks ) {
			$events += isset( $hooks[ self::DAILY ] ) ? count( $hooks[ self::DAILY ] ) : 0;
		}
		$this->assertSame( 1, $events );
	}

	public function test_disconnect_clears_every_scheduled_sync() {
		$this->connect_working();
		igny8_queue_structure_sync();
		$this->assertNotFalse( wp_next_scheduled( self::SOON ) );
		$this->submit_form( Igny8_Admin::ACTION_DISCONNECT );

		igny8_admin()->handle_disconnect();

		$this->assertFalse( wp_next_scheduled( self::DAILY ) );
		$this->assertFalse( wp_next_scheduled( self::SOON ) );
	}

	public function test_activation_schedules_only_when_connected() {
		igny8_activate();
		$this->assertFalse( wp_next_scheduled( self::DAILY ), 'not connected: nothing to push' );

		$this->connect_working();
		wp_clear_scheduled_hook( self::DAILY );
		igny8_activate();

		$next = wp_next_scheduled( self::DAILY );
		$this->assertNotFalse( $next );
		$this->assertLessThanOrEqual( time(), $next, 'after activation the first push is due at once' );
	}

	public function test_reactivating_a_connected_site_verifies_and_repairs_what_changed_while_the_plugin_was_off() {
		global $wpdb;
		$this->start_content_sync( array( 'post' => 100, 'page' => 100 ), array( 'category' => 100 ) );
		$kept    = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Kept' ) );
		$edited  = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Before' ) );
		$deleted = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Deleted while off' ) );
		$this->run_full_sync();
		igny8_run_send_queue(); // What the full sync's last checks queued.
		$this->assertSame( array(), $this->queued() );
		igny8_deactivate();

		// While the plugin is off its hooks do not run: these edits never reach the queue.
		$wpdb->update( $wpdb->posts, array( 'post_title' => 'Edited while off', 'post_modified_gmt' => gmdate( 'Y-m-d H:i:s', time() + 5 ) ), array( 'ID' => $edited ) );
		$wpdb->delete( $wpdb->posts, array( 'ID' => $deleted ) );
		clean_post_cache( $edited );
		$this->assertSame( array(), $this->queued() );

		igny8_activate();

		$this->assertNotFalse( wp_next_scheduled( 'igny8_verify' ), 'a verification runs from cron, not in the activation request' );
		$this->assertSame( 'reactivated', get_option( 'igny8_verify_due' )['reason'] );
		$this->assertSame( array(), $this->backend->verify_requests );

		igny8_run_requested_verification();
		igny8_run_send_queue();

		$this->assertSame( 'Edited while off', $this->backend->held[ "post:post:$edited" ]['data']['title'] );
		$this->assertArrayNotHasKey( "post:page:$deleted", $this->backend->held );
		$this->assertArrayHasKey( "post:post:$kept", $this->backend->held );
		$this->assertFalse( get_option( 'igny8_verify_due' ) );
	}

	public function test_activation_of_a_site_whose_full_sync_is_pending_needs_no_verification() {
		$this->connect_working(); // Connecting requested a full sync, which brings everything.

		igny8_activate();

		$this->assertFalse( wp_next_scheduled( 'igny8_verify' ) );
	}

	public function test_deactivation_clears_the_schedule_and_keeps_the_connection() {
		$this->connect_working();
		igny8_queue_structure_sync();

		igny8_deactivate();

		$this->assertFalse( wp_next_scheduled( self::DAILY ) );
		$this->assertFalse( wp_next_scheduled( self::SOON ) );
		$this->assertTrue( igny8_is_connected() );
	}

	public function test_plugin_activation_hooks_are_the_plugin_functions() {
		$file = plugin_basename( IGNY8_PLUGIN_FILE );
		$this->assertNotFalse( has_action( 'activate_' . $file, 'igny8_activate' ) );
		$this->assertNotFalse( has_action( 'deactivate_' . $file, 'igny8_deactivate' ) );
	}

	public function test_the_cron_event_pushes_the_current_structure() {
		$this->connect_working();
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Fresh' ) );

		do_action( self::DAILY );

		$push = $this->backend->requests_to( 'POST /api/v1/integration/integrations/9/update-structure/' );
		$this->assertCount( 1, $push );
		$this->assertSame( (int) wp_count_posts( 'post' )->publish, $push[0]['body']['post_types']['post']['count'] );
	}

	public function test_a_leftover_event_on_a_disconnected_site_removes_itself() {
		wp_schedule_event( time(), 'daily', self::DAILY );

		do_action( self::DAILY );

		$this->assertSame( array(), $this->backend->requests );
		$this->assertFalse( wp_next_scheduled( self::DAILY ) );
	}

	public function test_publishing_queues_one_push_soon_when_connected() {
		$this->connect_working();
		$this->assertFalse( wp_next_scheduled( self::SOON ) );

		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'A' ) );
		$first = wp_next_scheduled( self::SOON );
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'B' ) );

		$this->assertNotFalse( $first );
		$this->assertEqualsWithDelta( time() + 300, $first, 10 );
		$this->assertSame( $first, wp_next_scheduled( self::SOON ), 'a second change does not add another push' );
	}

	public function test_drafts_and_attachments_do_not_queue_a_push() {
		$this->connect_working();

		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'draft', 'post_title' => 'Draft' ) );
		wp_insert_attachment( array( 'post_title' => 'File', 'post_mime_type' => 'image/png', 'post_status' => 'inherit' ) );

		$this->assertFalse( wp_next_scheduled( self::SOON ) );
	}

	public function test_new_terms_queue_a_push_only_when_connected() {
		wp_insert_term( 'Before connecting', 'category' );
		$this->assertFalse( wp_next_scheduled( self::SOON ) );

		$this->connect_working();
		wp_insert_term( 'After connecting', 'category' );

		$this->assertNotFalse( wp_next_scheduled( self::SOON ) );
	}

	public function test_a_site_connected_before_content_sync_gets_its_cron_and_a_first_full_sync_on_upgrade() {
		$this->connect_working();
		delete_option( 'igny8_full_sync' );
		wp_clear_scheduled_hook( 'igny8_check_status' );
		wp_clear_scheduled_hook( 'igny8_full_sync_continue' );
		delete_option( 'igny8_db_version' ); // As a version without the queue table left it.

		$this->assertNotFalse( has_action( 'admin_init', 'igny8_maybe_upgrade_schema' ) );
		igny8_maybe_upgrade_schema();

		$this->assertSame( (string) IGNY8_DB_VERSION, (string) get_option( 'igny8_db_version' ) );
		$this->assertNotFalse( wp_next_scheduled( 'igny8_check_status' ) );
		$this->assertSame( 'upgrade', igny8_full_sync_state()['reason'] );
		$this->assertNotFalse( wp_next_scheduled( 'igny8_full_sync_continue' ) );
	}

	public function test_the_daily_push_puts_back_a_lost_status_check() {
		$this->connect_working();
		wp_clear_scheduled_hook( 'igny8_check_status' );

		do_action( self::DAILY );

		$this->assertNotFalse( wp_next_scheduled( 'igny8_check_status' ) );
	}

	public function test_switching_two_way_sync_queues_a_push() {
		$this->connect_working();

		update_option( 'igny8_two_way_sync_enabled', 1 );

		$this->assertNotFalse( wp_next_scheduled( self::SOON ) );
	}
}
