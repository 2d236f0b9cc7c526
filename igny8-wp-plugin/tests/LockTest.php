<?php
/**
 * The locks (sync/locks.php) hold where the database is not one server: on HyperDB / LudicrousDB they are
 * taken on the primary, and the option-row fallback (Galera, or by filter) excludes, expires and is
 * released only by its holder.
 *
 * @package Igny8
 */

class LockTest extends Igny8_TestCase {

	/**
	 * The stored row of an option-row lock, or null.
	 *
	 * @param string $name Lock name.
	 * @return string|null
	 */
	private function lock_row( $name ) {
		global $wpdb;
		return $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", 'igny8_lock_' . $name ) );
	}

	private function use_option_locks() {
		$this->add_test_filter(
			'igny8_lock_method',
			static function () {
				return 'option';
			}
		);
	}

	public function test_named_locks_are_the_default_on_a_single_server() {
		$this->assertSame( 'named', igny8_lock_method() );
		$this->assertTrue( igny8_acquire_lock( 'queue' ) );
		igny8_release_lock( 'queue' );
		$this->assertNull( $this->lock_row( 'queue' ), 'no option row' );
	}

	public function test_on_a_replica_routing_database_the_named_lock_is_taken_on_the_primary() {
		global $wpdb;
		// HyperDB and LudicrousDB send every SELECT to a replica unless told to read from the primary.
		$routing = new class( DB_USER, DB_PASSWORD, DB_NAME, DB_HOST ) extends wpdb {
			/** @var bool */
			public $srtm = false;
			/** @var string[] */
			public $on_replica = array();
			public function send_reads_to_masters() {
				$this->srtm = true;
			}
			public function query( $query ) {
				if ( ! $this->srtm && preg_match( '/^\s*SELECT\s/i', $query ) ) {
					$this->on_replica[] = $query;
				}
				return parent::query( $query );
			}
		};
		$routing->set_prefix( $wpdb->prefix );
		$original = $wpdb;
		$wpdb     = $routing; // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited
		try {
			$this->assertTrue( igny8_acquire_lock( 'queue' ) );
			igny8_release_lock( 'queue' );
		} finally {
			$wpdb = $original; // phpcs:ignore WordPress.WP.GlobalVariablesOverride.Prohibited
			$routing->close();
		}
		$this->assertTrue( $routing->srtm );
		$this->assertSame( array(), preg_grep( '/GET_LOCK|RELEASE_LOCK/', $routing->on_replica ) );
	}

	public function test_the_option_lock_excludes_another_holder_until_released() {
		$this->use_option_locks();
		$this->assertTrue( igny8_acquire_lock( 'queue' ) );
		$this->assertMatchesRegularExpression( '/^\d{10}\|\w{20}$/', $this->lock_row( 'queue' ) );
		$this->assertSame( 'no', $this->autoload_of( 'igny8_lock_queue' ) );

		$this->assertFalse( igny8_acquire_lock( 'queue' ), 'held' );
		$this->assertTrue( igny8_acquire_lock( 'full_sync' ), 'another name is another lock' );

		igny8_release_lock( 'queue' );
		igny8_release_lock( 'full_sync' );
		$this->assertNull( $this->lock_row( 'queue' ) );
		$this->assertTrue( igny8_acquire_lock( 'queue' ) );
		igny8_release_lock( 'queue' );
	}

	public function test_an_expired_option_lock_is_taken_over_and_its_old_holder_cannot_release_the_new_one() {
		global $wpdb;
		$this->use_option_locks();
		$this->assertTrue( igny8_acquire_lock( 'verify' ) );
		// The holder died; its lock expired. Another process takes it over.
		$wpdb->update( $wpdb->options, array( 'option_value' => sprintf( '%010d|%s', time() - 1, 'deadholder0000000000' ) ), array( 'option_name' => 'igny8_lock_verify' ) );
		$other = sprintf( '%010d|%s', time() + 600, 'otherholder000000000' );
		$this->assertSame( 1, $wpdb->query( $wpdb->prepare( "UPDATE {$wpdb->options} SET option_value = %s WHERE option_name = %s AND option_value < %s", $other, 'igny8_lock_verify', sprintf( '%010d|', time() ) ) ) );

		igny8_release_lock( 'verify' ); // The old holder's release.
		$this->assertSame( $other, $this->lock_row( 'verify' ), 'the new holder keeps it' );
		$this->assertFalse( igny8_acquire_lock( 'verify' ) );

		$wpdb->update( $wpdb->options, array( 'option_value' => sprintf( '%010d|%s', time() - 1, 'otherholder000000000' ) ), array( 'option_name' => 'igny8_lock_verify' ) );
		$this->assertTrue( igny8_acquire_lock( 'verify' ), 'expired: taken over' );
		igny8_release_lock( 'verify' );
		$this->assertNull( $this->lock_row( 'verify' ) );
	}

	public function test_the_queue_sender_respects_an_option_lock_held_by_another_process() {
		global $wpdb;
		$this->use_option_locks();
		$this->start_content_sync();
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Locked out' ) );
		$wpdb->insert( $wpdb->options, array( 'option_name' => 'igny8_lock_queue', 'option_value' => sprintf( '%010d|%s', time() + 600, 'otherholder000000000' ), 'autoload' => 'no' ) );

		$this->assertSame( 0, igny8_run_send_queue()['batches'] );

		$wpdb->update( $wpdb->options, array( 'option_value' => sprintf( '%010d|%s', time() - 1, 'otherholder000000000' ) ), array( 'option_name' => 'igny8_lock_queue' ) );
		$this->assertSame( 1, igny8_run_send_queue()['batches'] );
		$this->assertNull( $this->lock_row( 'queue' ), 'released after the send' );
	}
}
