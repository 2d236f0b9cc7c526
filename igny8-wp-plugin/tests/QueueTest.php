<?php
/**
 * Incremental sync (sync/queue.php, sync/hooks.php): what is queued, one row per object, sent in bounded
 * batches, removed only when acknowledged, backoff after failures, overflow.
 *
 * @package Igny8
 */

class QueueTest extends Igny8_TestCase {

	const BATCH = 'POST /api/v1/integration/integrations/9/content/batch/';

	protected function setUp(): void {
		parent::setUp();
		$this->register_test_post_type( 'igny8_book', array( 'label' => 'Books' ) );
		$this->register_test_taxonomy( 'igny8_genre', 'igny8_book', array( 'label' => 'Genres', 'hierarchical' => true ) );
		$this->start_content_sync( array( 'post' => 100, 'igny8_book' => 100 ), array( 'category' => 100, 'igny8_genre' => 100 ) );
	}

	private function post( array $args = array() ) {
		return wp_insert_post( array_merge( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'A post' ), $args ) );
	}

	/**
	 * The queue's post rows only.
	 *
	 * @return string[]
	 */
	private function queued_posts() {
		return array_values(
			array_filter(
				$this->queued(),
				static function ( $row ) {
					return false !== strpos( $row, ' post ' );
				}
			)
		);
	}

	public function test_the_queue_table_has_the_protocol_columns_and_one_row_per_object() {
		global $wpdb;
		$columns = $wpdb->get_col( 'SHOW COLUMNS FROM ' . igny8_queue_table() );
		foreach ( array( 'kind', 'type', 'wp_id', 'op', 'queued_at', 'attempts', 'next_attempt_at' ) as $column ) {
			$this->assertContains( $column, $columns );
		}
		$unique = $wpdb->get_col( $wpdb->prepare( 'SHOW INDEX FROM ' . igny8_queue_table() . ' WHERE Key_name = %s', 'object' ), 4 );
		$this->assertSame( array( 'kind', 'type', 'wp_id' ), $unique );
		$this->assertSame( 'no', $this->autoload_of( 'igny8_db_version' ) );
	}

	public function test_saving_a_post_queues_one_row_however_many_hooks_fire() {
		$id = $this->post( array( 'tags_input' => array( 'x' ) ) );
		update_post_meta( $id, '_yoast_wpseo_title', 'SEO title' );
		wp_update_post( array( 'ID' => $id, 'post_title' => 'Edited' ) );
		wp_update_post( array( 'ID' => $id, 'post_title' => 'Edited again' ) );

		$this->assertSame( array( "upsert post post #$id" ), $this->queued_posts() );
		$this->assertTrue( igny8_queue_touched(), 'the request will send at shutdown' );
	}

	public function test_revisions_autosaves_stubs_and_types_not_synced_are_not_queued() {
		$id = $this->post();
		igny8_queue_clear();
		wp_save_post_revision( $id );
		_wp_put_post_revision( array( 'ID' => $id, 'post_title' => 'Autosave', 'post_type' => 'post', 'post_content' => 'x', 'post_excerpt' => '', 'post_author' => 1, 'post_status' => 'publish' ), true );
		$this->post( array( 'post_status' => 'auto-draft' ) );
		$this->post( array( 'post_type' => 'page' ) );
		wp_insert_term( 'Not synced', 'post_tag' );

		$this->assertSame( array(), $this->queued() );
	}

	public function test_nothing_is_queued_while_disconnected() {
		igny8_disconnect_site();

		$this->post();

		$this->assertSame( array(), $this->queued() );
	}

	public function test_trash_restore_and_delete_are_queued_with_the_current_op() {
		$id = $this->post();
		igny8_queue_clear();

		wp_trash_post( $id );
		$this->assertSame( array( "upsert post post #$id" ), $this->queued_posts() );
		igny8_send_queue_batch();
		$this->assertSame( 'trash', $this->backend->held[ "post:post:$id" ]['data']['status'] );

		wp_untrash_post( $id );
		igny8_send_queue_batch();
		$this->assertSame( 'draft', $this->backend->held[ "post:post:$id" ]['data']['status'], 'restored as WordPress restores: a draft' );

		wp_delete_post( $id, true );
		$this->assertSame( array( "delete post post #$id" ), $this->queued_posts() );
		igny8_send_queue_batch();
		$this->assertArrayNotHasKey( "post:post:$id", $this->backend->held );
		$this->assertSame( array(), $this->queued() );
	}

	public function test_term_create_edit_reparent_and_delete_are_queued() {
		$parent = wp_insert_term( 'Fiction', 'igny8_genre' );
		$child  = wp_insert_term( 'Crime', 'igny8_genre', array( 'parent' => $parent['term_id'] ) );
		igny8_send_queue_batch();
		$this->assertSame( (int) $parent['term_id'], $this->backend->held[ "term:igny8_genre:{$child['term_id']}" ]['data']['parent'] );

		wp_update_term( $child['term_id'], 'igny8_genre', array( 'parent' => 0, 'name' => 'Crime novels' ) );
		$this->assertSame( array( "upsert term igny8_genre #{$child['term_id']}" ), $this->queued() );
		igny8_send_queue_batch();
		$this->assertSame( array( 0, 'Crime novels' ), array( $this->backend->held[ "term:igny8_genre:{$child['term_id']}" ]['data']['parent'], $this->backend->held[ "term:igny8_genre:{$child['term_id']}" ]['data']['name'] ) );

		wp_update_term( $child['term_id'], 'igny8_genre', array( 'parent' => $parent['term_id'] ) );
		igny8_send_queue_batch();
		wp_delete_term( $parent['term_id'], 'igny8_genre' );
		$this->assertContains( "delete term igny8_genre #{$parent['term_id']}", $this->queued() );
		$this->assertContains( "upsert term igny8_genre #{$child['term_id']}", $this->queued(), 'the orphaned child moved to the root' );
		igny8_send_queue_batch();
		$this->assertArrayNotHasKey( "term:igny8_genre:{$parent['term_id']}", $this->backend->held );
		$this->assertSame( 0, $this->backend->held[ "term:igny8_genre:{$child['term_id']}" ]['data']['parent'] );
	}

	public function test_term_counts_follow_post_assignments() {
		$genre = wp_insert_term( 'Poetry', 'igny8_genre' );
		igny8_send_queue_batch();
		$book = $this->post( array( 'post_type' => 'igny8_book' ) );
		wp_set_object_terms( $book, array( (int) $genre['term_id'] ), 'igny8_genre' );

		$this->assertContains( "upsert term igny8_genre #{$genre['term_id']}", $this->queued() );
		$this->assertContains( "upsert post igny8_book #$book", $this->queued() );
		igny8_send_queue_batch();
		$this->assertSame( 1, $this->backend->held[ "term:igny8_genre:{$genre['term_id']}" ]['data']['count'] );
		$this->assertSame( array( (int) $genre['term_id'] ), $this->backend->held[ "post:igny8_book:$book" ]['data']['terms']['igny8_genre'] );
	}

	public function test_seo_meta_changes_queue_the_post_and_other_meta_does_not() {
		$id = $this->post();
		igny8_send_queue_batch();

		update_post_meta( $id, 'some_plugin_counter', 5 );
		$this->assertSame( array(), $this->queued() );

		update_post_meta( $id, 'rank_math_description', 'New description' );
		$this->assertSame( array( "upsert post post #$id" ), $this->queued() );
		igny8_send_queue_batch();
		$this->assertSame( 'New description', $this->backend->held[ "post:post:$id" ]['data']['seo']['description'] );

		delete_post_meta( $id, 'rank_math_description' );
		$this->assertSame( array( "upsert post post #$id" ), $this->queued() );
	}

	public function test_the_item_is_read_when_the_batch_is_built() {
		$id = $this->post( array( 'post_title' => 'First' ) );
		global $wpdb;
		$wpdb->update( $wpdb->posts, array( 'post_title' => 'Changed behind the hooks' ), array( 'ID' => $id ) );
		clean_post_cache( $id );

		igny8_send_queue_batch();

		$this->assertSame( 'Changed behind the hooks', $this->backend->held[ "post:post:$id" ]['data']['title'] );
	}

	public function test_a_change_during_the_send_keeps_its_row() {
		$id = $this->post( array( 'post_title' => 'v1' ) );
		$this->backend->on(
			self::BATCH,
			function ( $request ) use ( $id ) {
				wp_update_post( array( 'ID' => $id, 'post_title' => 'v2' ) ); // Saved while the batch travels.
				return $this->backend->content_batch( $request );
			}
		);

		igny8_send_queue_batch();

		$this->assertSame( 'v1', $this->backend->held[ "post:post:$id" ]['data']['title'] );
		$this->assertSame( array( "upsert post post #$id" ), $this->queued_posts(), 'the acknowledgement of v1 does not remove v2' );
		$this->backend->content_platform();
		igny8_send_queue_batch();
		$this->assertSame( 'v2', $this->backend->held[ "post:post:$id" ]['data']['title'] );
	}

	public function test_rejected_items_leave_the_queue_and_are_logged_and_shown() {
		$good = $this->post( array( 'post_title' => 'Good' ) );
		$bad  = $this->post( array( 'post_title' => '<b>Bad</b>' ) );
		$this->backend->reject = static function ( $item ) {
			return isset( $item['data']['title'] ) && '<b>Bad</b>' === $item['data']['title'] ? 'data.title: <script>no</script>' : null;
		};

		$sent = igny8_send_queue_batch();

		$this->assertSame( 1, $sent['rejected'] );
		$this->assertSame( array(), $this->queued_posts() );
		$this->assertArrayHasKey( "post:post:$good", $this->backend->held );
		$rejected = get_option( 'igny8_rejected_items' );
		$this->assertSame( array( 'post', 'post', $bad, 'data.title: <script>no</script>' ), array( $rejected[0]['kind'], $rejected[0]['type'], $rejected[0]['wp_id'], $rejected[0]['reason'] ) );
		$this->assertSame( 'no', $this->autoload_of( 'igny8_rejected_items' ) );
		$this->assertStringContainsString( "IGNY8: IGNY8 rejected post post #$bad: data.title: <script>no</script>", $this->log() );
		$page = $this->render_page();
		$this->assertStringContainsString( "Posts #$bad: data.title: &lt;script&gt;no&lt;/script&gt;", $page );
		$this->assertStringNotContainsString( '<script>no', $page );
	}

	public function test_items_the_answer_does_not_list_stay_queued() {
		$first  = $this->post();
		$second = $this->post();
		igny8_queue_clear();
		wp_update_post( array( 'ID' => $first, 'post_title' => 'x' ) );
		wp_update_post( array( 'ID' => $second, 'post_title' => 'y' ) );
		$this->backend->on( self::BATCH, 200, Igny8_Fake_Backend::ok( array( 'results' => array( array( 'index' => 0, 'status' => 'applied' ) ), 'applied' => 1, 'stale' => 0, 'rejected' => 0 ) ) );

		igny8_send_queue_batch();

		$this->assertSame( array( "upsert post post #$second" ), $this->queued_posts() );
	}

	public function test_stale_items_are_acknowledged() {
		$id = $this->post();
		igny8_queue_clear();
		wp_update_post( array( 'ID' => $id, 'post_title' => 'x' ) );
		$this->backend->on( self::BATCH, 200, Igny8_Fake_Backend::ok( array( 'results' => array( array( 'index' => 0, 'status' => 'stale' ) ), 'applied' => 0, 'stale' => 1, 'rejected' => 0 ) ) );

		$this->assertSame( 1, igny8_send_queue_batch()['stale'] );
		$this->assertSame( array(), $this->queued_posts() );
	}

	public function backoffs() {
		return array(
			'retry-after seconds'           => array( 429, array( 'retry-after' => '30' ), 30 ),
			'retry-after http date'         => array( 503, array( 'retry-after' => 'HTTP-DATE+90' ), 90 ),
			'unparsable retry-after'        => array( 429, array( 'retry-after' => 'soon' ), 180 ),
			'429 without retry-after'       => array( 429, array(), 180 ),
			'503 without retry-after'       => array( 503, array(), 180 ),
			'other failures start at 60 s'  => array( 500, array(), 60 ),
		);
	}

	/**
	 * @dataProvider backoffs
	 */
	public function test_a_failed_send_acknowledges_nothing_and_backs_off( $status, array $headers, $delay ) {
		$id = $this->post();
		if ( isset( $headers['retry-after'] ) && 'HTTP-DATE+90' === $headers['retry-after'] ) {
			$headers['retry-after'] = gmdate( 'D, d M Y H:i:s', time() + 90 ) . ' GMT';
		}
		$this->backend->on( self::BATCH, $status, Igny8_Fake_Backend::fail( 'unavailable', 'Later.' ), $headers );

		$result = igny8_send_queue_batch();

		$this->assertInstanceOf( WP_Error::class, $result );
		$this->assertContains( "upsert post post #$id", $this->queued() );
		$this->assertWaitBetween( $delay, igny8_backoff_until() - time() );
		$this->assertSame( 0, igny8_run_send_queue()['batches'], 'nothing is sent while backing off' );
		$error = get_option( 'igny8_content_last_error' );
		$this->assertSame( 'unavailable', $error['code'] );
	}

	/**
	 * A wait is the expected one plus its jitter (at most a fifth more).
	 *
	 * @param int    $expected Seconds without jitter.
	 * @param int    $actual   Seconds measured.
	 * @param string $message  Message.
	 */
	private function assertWaitBetween( $expected, $actual, $message = '' ) {
		$this->assertGreaterThanOrEqual( $expected - 2, $actual, $message );
		$this->assertLessThanOrEqual( (int) ( $expected * 1.2 ) + 2, $actual, $message );
	}

	public function test_waits_after_failures_are_spread_so_sites_do_not_retry_in_step() {
		$this->post();
		$this->backend->on( self::BATCH, 500, Igny8_Fake_Backend::fail( 'internal_error', 'Oops.' ) );
		$waits = array();
		for ( $site = 0; $site < 40; $site++ ) { // Forty sites failing in the same second.
			delete_option( 'igny8_send_backoff' );
			$this->wait_out_backoff();
			igny8_send_queue_batch();
			$waits[] = igny8_backoff_until() - time();
		}
		$this->assertGreaterThanOrEqual( 60, min( $waits ) );
		$this->assertLessThanOrEqual( 72, max( $waits ) );
		$this->assertGreaterThan( 5, count( array_unique( $waits ) ), 'spread over the window: ' . implode( ',', $waits ) );
	}

	/**
	 * Time passes until the backoff is over: the backoff and the deferred rows are due now.
	 */
	private function wait_out_backoff() {
		global $wpdb;
		$state = get_option( 'igny8_send_backoff', array() );
		if ( $state ) {
			$state['until'] = 0;
			update_option( 'igny8_send_backoff', $state, false );
		}
		$wpdb->query( 'UPDATE ' . igny8_queue_table() . " SET next_attempt_at = '2000-01-01 00:00:00'" );
	}

	public function test_failed_rows_wait_for_the_backoff() {
		$id = $this->post();
		$this->backend->on( self::BATCH, 500, Igny8_Fake_Backend::fail( 'internal_error', 'Oops.' ) );
		igny8_send_queue_batch();
		update_option( 'igny8_send_backoff', array_merge( get_option( 'igny8_send_backoff' ), array( 'until' => 0 ) ), false );

		$this->assertNull( igny8_send_queue_batch(), 'the rows themselves wait until the backoff they got' );
		$this->assertContains( "upsert post post #$id", $this->queued() );
	}

	public function test_failures_in_a_row_double_the_wait_up_to_an_hour_and_success_resets_it() {
		$this->post();
		$this->backend->on( self::BATCH, 500, Igny8_Fake_Backend::fail( 'internal_error', 'Oops.' ) );
		$waits = array();
		for ( $i = 0; $i < 8; $i++ ) {
			$this->wait_out_backoff();
			igny8_send_queue_batch();
			$waits[] = igny8_backoff_until() - time();
		}
		foreach ( array( 60, 120, 240, 480, 960, 1920, 3600, 3600 ) as $i => $expected ) {
			$this->assertWaitBetween( $expected, $waits[ $i ], "failure $i" );
		}

		$this->wait_out_backoff();
		$this->backend->content_platform();
		$this->assertSame( 1, igny8_run_send_queue()['batches'] );
		$this->assertFalse( get_option( 'igny8_send_backoff' ) );
		$this->assertSame( array(), $this->queued() );
	}

	public function test_an_unreachable_platform_backs_off_too() {
		$this->post();
		$this->backend->on( self::BATCH, new WP_Error( 'http_request_failed', 'cURL error 28: Operation timed out' ) );

		igny8_send_queue_batch();

		$this->assertWaitBetween( 60, igny8_backoff_until() - time() );
		$this->assertSame( 1, count( $this->queued_posts() ) );
	}

	public function test_too_large_answers_halve_the_batch_bytes() {
		$this->post();
		$this->backend->on( self::BATCH, 413, Igny8_Fake_Backend::fail( 'payload_too_large', 'Too large.' ) );

		igny8_send_queue_batch();

		$this->assertSame( IGNY8_BATCH_MAX_BYTES / 2, igny8_batch_max_bytes() );
		$this->assertFalse( igny8_backoff_active(), 'a smaller batch may go at once' );
	}

	public function test_batches_are_bounded_by_500_rows() {
		global $wpdb;
		$table = igny8_queue_table();
		$now   = gmdate( 'Y-m-d H:i:s' );
		$ids   = array();
		for ( $i = 0; $i < 620; $i++ ) {
			$ids[] = $this->post( array( 'post_title' => "P $i" ) );
		}

		$first = igny8_send_queue_batch();
		$this->assertSame( 500, $first['sent'] );
		$this->assertSame( 500, count( $this->backend->batches[0][0]['items'] ) );
		igny8_run_send_queue();
		$this->assertSame( array(), $this->queued() );
		foreach ( $ids as $id ) {
			$this->assertArrayHasKey( "post:post:$id", $this->backend->held );
		}
	}

	public function test_batches_are_bounded_by_8_mib_and_large_posts_wait_for_the_next_batch() {
		$body = str_repeat( 'x', 3 * 1048576 );
		$ids  = array();
		for ( $i = 0; $i < 5; $i++ ) {
			$ids[] = $this->post( array( 'post_content' => $body . $i ) );
		}

		igny8_run_send_queue();

		$this->assertGreaterThanOrEqual( 3, count( $this->backend->batches ) );
		foreach ( $this->backend->batches as list( $batch, $bytes ) ) {
			$this->assertLessThanOrEqual( IGNY8_BATCH_MAX_BYTES, $bytes );
		}
		foreach ( $ids as $i => $id ) {
			$this->assertSame( $body . $i, $this->backend->held[ "post:post:$id" ]['data']['content'] );
		}
		$this->assertSame( array(), $this->queued() );
	}

	public function test_rows_of_a_type_no_longer_synced_leave_without_being_sent() {
		$book = $this->post( array( 'post_type' => 'igny8_book' ) );
		$this->set_synced_types( array( 'post' => 100 ), array( 'category' => 100 ) );

		$sent = igny8_send_queue_batch();

		$this->assertSame( 0, $sent['sent'] );
		$this->assertSame( array(), $this->queued() );
		$this->assertArrayNotHasKey( "post:igny8_book:$book", $this->backend->held );
	}

	public function test_many_objects_are_queued_in_one_statement_per_500_and_within_the_limit() {
		global $wpdb;
		$existing = $this->post( array( 'post_type' => 'igny8_book' ) );
		$rev      = (int) $wpdb->get_var( $wpdb->prepare( 'SELECT rev FROM ' . igny8_queue_table() . ' WHERE wp_id = %d', $existing ) );
		$ids      = range( 100000, 100999 );
		$before   = $wpdb->num_queries;

		$queued = igny8_queue_add_many( 'post', 'igny8_book', array_merge( $ids, array( $existing, $existing, 0, -3, 'x' ) ), 'upsert' );

		$this->assertSame( 1001, $queued, 'distinct positive ids' );
		$this->assertLessThanOrEqual( 4, $wpdb->num_queries - $before, 'a count, then one statement per 500 rows' );
		$this->assertCount( 1001, $this->queued() );
		$this->assertSame( $rev + 1, (int) $wpdb->get_var( $wpdb->prepare( 'SELECT rev FROM ' . igny8_queue_table() . ' WHERE wp_id = %d', $existing ) ), 'a queued row moves on' );

		$this->add_test_filter( 'igny8_queue_limit', static function () {
			return 1500;
		} );
		$this->assertSame( 0, igny8_queue_add_many( 'post', 'igny8_book', range( 200000, 200999 ), 'upsert' ) );
		$this->assertCount( 1001, $this->queued(), 'past the limit nothing is queued' );
		$this->assertNotFalse( get_option( 'igny8_queue_overflowed' ), 'and a full sync is asked for instead' );
	}

	public function test_the_queue_overflows_into_a_full_sync_request() {
		$limit = 3;
		$this->add_test_filter( 'igny8_queue_limit', static function () use ( &$limit ) {
			return $limit;
		} );
		$ids = array();
		for ( $i = 0; $i < 3; $i++ ) {
			$ids[] = $this->post( array( 'post_type' => 'igny8_book' ) );
		}
		$this->assertCount( 3, $this->queued() );

		$this->post( array( 'post_type' => 'igny8_book' ) );
		wp_update_post( array( 'ID' => $ids[0], 'post_title' => 'Still not queued again' ) );

		$this->assertCount( 3, $this->queued(), 'a full queue takes no new rows' );
		$overflow = get_option( 'igny8_queue_overflowed' );
		$this->assertFalse( $overflow['requested'] );
		$this->assertSame( 'no', $this->autoload_of( 'igny8_queue_overflowed' ) );
		$this->assertStringContainsString( 'The sync queue is full', $this->log() );

		igny8_send_queue_at_shutdown();

		$requests = $this->backend->requests_to( 'POST /api/v1/integration/integrations/9/content/resync-request/' );
		$this->assertCount( 1, $requests );
		$this->assertSame( array( 'reason' => 'queue_overflow' ), $requests[0]['body'] );
		$this->assertTrue( get_option( 'igny8_queue_overflowed' )['requested'] );
		$this->assertTrue( igny8_full_sync_in_progress(), 'the platform asked for a full sync: it is requested' );
		$this->assertStringContainsString( 'Queue full', $this->render_page() );

		$limit = IGNY8_QUEUE_LIMIT;
		$this->run_full_sync();

		$this->assertFalse( get_option( 'igny8_queue_overflowed' ) );
		igny8_run_send_queue(); // Posts modified in the second a batch was read are sent once more.
		$this->assertSame( array(), $this->queued() );
		$this->assertCount( 4, $this->backend->held_of( 'post', 'igny8_book' ), 'the full sync brought the book that was not queued' );
		$this->post( array( 'post_type' => 'igny8_book' ) );
		$this->assertCount( 1, $this->queued_posts(), 'queuing resumes after the full sync' );
	}

	public function test_cron_and_command_line_requests_send_at_shutdown_in_their_own_process() {
		$id = $this->post();

		$sent = igny8_send_queue_at_shutdown(); // PHPUnit runs as the command line does.

		$this->assertSame( 'inline', $sent['via'] );
		$this->assertSame( 1, $sent['sent']['batches'] );
		$requests = $this->backend->requests_to( self::BATCH );
		$this->assertCount( 1, $requests );
		$this->assertSame( 5, $requests[0]['timeout'] );
		$this->assertArrayHasKey( "post:post:$id", $this->backend->held );
		$this->assertNull( igny8_send_queue_at_shutdown(), 'nothing more was queued' );
	}

	public function test_shutdown_sends_nothing_when_the_request_queued_nothing() {
		$this->assertNull( igny8_send_queue_at_shutdown() );
		$this->assertSame( array(), $this->backend->requests );
	}

	public function test_another_process_holding_the_send_lock_is_left_alone() {
		global $wpdb;
		$this->post();
		$other = new wpdb( DB_USER, DB_PASSWORD, DB_NAME, DB_HOST );
		$this->assertSame( '1', (string) $other->get_var( $other->prepare( 'SELECT GET_LOCK(%s, 0)', igny8_lock_name( 'queue' ) ) ) );

		$this->assertSame( 0, igny8_run_send_queue()['batches'] );
		$this->assertSame( 0, igny8_send_queue_at_shutdown()['sent']['batches'] );

		$other->close(); // A process that dies loses its lock (the server frees it as it notices).
		for ( $i = 0; $i < 100 && '1' !== (string) $wpdb->get_var( $wpdb->prepare( 'SELECT IS_FREE_LOCK(%s)', igny8_lock_name( 'queue' ) ) ); $i++ ) {
			usleep( 20000 );
		}
		$this->assertSame( 1, igny8_run_send_queue()['batches'] );
	}

	public function test_the_queue_has_a_cron_event_only_while_something_in_it_is_due() {
		$this->assertFalse( wp_next_scheduled( 'igny8_send_queue' ), 'connected, nothing queued: no event' );
		$this->assertArrayNotHasKey( 'igny8_every_minute', wp_get_schedules() );

		$this->post();
		$when = wp_next_scheduled( 'igny8_send_queue' );
		$this->assertEqualsWithDelta( time() + 60, $when, 2, 'the fallback of the send after the request' );
		$this->assertFalse( wp_get_schedule( 'igny8_send_queue' ), 'a single event, not a recurring one' );
		$this->post();
		$this->assertSame( $when, wp_next_scheduled( 'igny8_send_queue' ), 'one event for many changes' );

		wp_clear_scheduled_hook( 'igny8_send_queue' ); // WP-Cron takes the event off and runs it.
		$this->assertSame( 1, igny8_run_send_queue()['batches'] );
		$this->assertFalse( wp_next_scheduled( 'igny8_send_queue' ), 'the queue is empty: no event' );

		// A failed send: the event comes back when the backoff ends, not every minute meanwhile.
		$this->post();
		$this->backend->on( self::BATCH, 503, Igny8_Fake_Backend::fail( 'unavailable', 'Later.' ), array( 'retry-after' => '600' ) );
		wp_clear_scheduled_hook( 'igny8_send_queue' );
		igny8_run_send_queue();
		$this->assertSame( igny8_backoff_until(), wp_next_scheduled( 'igny8_send_queue' ) );
		$this->assertGreaterThanOrEqual( time() + 600, wp_next_scheduled( 'igny8_send_queue' ) );

		igny8_disconnect_site();
		foreach ( array( 'igny8_send_queue', 'igny8_check_status', 'igny8_verify', 'igny8_full_sync_continue' ) as $hook ) {
			$this->assertFalse( wp_next_scheduled( $hook ), $hook );
		}
		$this->assertSame( array(), $this->queued() );
	}

	public function test_the_every_minute_event_of_older_versions_is_removed() {
		wp_schedule_event( time() + 60, 'hourly', 'igny8_send_queue' ); // As 0.1.0 left it (every minute).

		igny8_run_send_queue(); // Its next run.

		$this->assertFalse( wp_get_schedule( 'igny8_send_queue' ) );
		$this->assertFalse( wp_next_scheduled( 'igny8_send_queue' ), 'nothing queued: no event' );
	}

	public function test_deactivation_clears_the_events_and_keeps_the_queue() {
		$id = $this->post();

		igny8_deactivate();

		$this->assertFalse( wp_next_scheduled( 'igny8_send_queue' ) );
		$this->assertContains( "upsert post post #$id", $this->queued() );
		igny8_activate();
		$this->assertNotFalse( wp_next_scheduled( 'igny8_send_queue' ) );
	}

	public function test_the_status_is_read_every_5_minutes_while_anything_happens_and_less_often_while_nothing_does() {
		$status = 'GET /api/v1/integration/integrations/9/content/status/';
		$next   = function () {
			$when = wp_next_scheduled( 'igny8_check_status' );
			$this->assertFalse( wp_get_schedule( 'igny8_check_status' ), 'a single event' );
			return $when - time();
		};
		$this->assertWaitBetween( 300, $next(), 'connected: first check in 5 minutes' );

		$waits = array();
		for ( $i = 0; $i < 5; $i++ ) {
			igny8_run_status_check();
			$waits[] = $next();
		}
		$this->assertCount( 5, $this->backend->requests_to( $status ) );
		foreach ( array( 600, 1200, 1800, 1800, 1800 ) as $i => $expected ) {
			$this->assertWaitBetween( $expected, $waits[ $i ], "idle check $i" );
		}

		// Something under way (here: the platform asks for a full sync): back to every 5 minutes.
		$this->backend->content_status['full_sync_requested'] = true;
		igny8_run_status_check();
		$this->assertSame( 'platform', igny8_full_sync_state()['reason'] );
		$this->assertWaitBetween( 300, $next() );
		$this->backend->content_status['full_sync_requested'] = false;
		igny8_run_status_check();
		$this->assertWaitBetween( 300, $next(), 'the full sync runs' );

		// A platform that cannot be read is asked less and less often, whatever waits here.
		$this->backend->on( $status, new WP_Error( 'http_request_failed', 'cURL error 7: Connection refused' ) );
		igny8_run_status_check();
		$this->assertWaitBetween( 600, $next(), 'unreachable' );
		// While the content sends back off, no check comes before the backoff ends.
		update_option( 'igny8_send_backoff', array( 'until' => time() + 3000, 'failures' => 3, 'code' => 'x' ), false );
		$requests = count( $this->backend->requests_to( $status ) );
		igny8_run_status_check();
		$this->assertCount( $requests, $this->backend->requests_to( $status ), 'not read while backing off' );
		$this->assertGreaterThanOrEqual( time() + 3000, wp_next_scheduled( 'igny8_check_status' ) );
	}

	public function test_a_verification_asked_for_in_an_answer_already_received_runs_without_waiting_for_the_status() {
		$this->backend->content_platform();
		igny8_act_on_platform_requests( array( 'verify_requested' => true ) ); // E.g. an update-structure answer.
		$this->assertNotFalse( wp_next_scheduled( 'igny8_verify' ) );

		igny8_run_requested_verification();

		$this->assertSame( 'done', end( $this->backend->verify_requests )['action'] );
		$this->assertFalse( get_option( 'igny8_verify_due' ) );
		$this->assertNull( igny8_run_requested_verification(), 'done: nothing more is due' );
	}
}
