<?php
/**
 * Full sync (sync/full-sync.php): start with totals, walk by id in bounded batches with range markers,
 * finish with max ids; cursor resume after failures and killed processes; time box; fetch limits; who
 * starts one.
 *
 * @package Igny8
 */

class FullSyncTest extends Igny8_TestCase {

	const BATCH     = 'POST /api/v1/integration/integrations/9/content/batch/';
	const FULL_SYNC = 'POST /api/v1/integration/integrations/9/content/full-sync/';

	protected function setUp(): void {
		parent::setUp();
		$this->register_test_post_type( 'igny8_book', array( 'label' => 'Books', 'hierarchical' => true ) );
		$this->register_test_taxonomy( 'igny8_genre', 'igny8_book', array( 'label' => 'Genres', 'hierarchical' => true ) );
		$this->start_content_sync( array( 'post' => 1000, 'page' => 1000, 'igny8_book' => 1000 ), array( 'category' => 100, 'igny8_genre' => 100 ) );
	}

	private function synced_types() {
		return array( array( 'post', 'page', 'igny8_book' ), array( 'category', 'igny8_genre' ) );
	}

	/**
	 * A small site: posts in categories, pages, books with genres (a parent genre no book uses), a draft,
	 * a trashed post, an editor stub and a revision.
	 */
	private function make_site( $books = 12 ) {
		$fiction = wp_insert_term( 'Fiction', 'igny8_genre' );
		$crime   = wp_insert_term( 'Crime', 'igny8_genre', array( 'parent' => $fiction['term_id'] ) );
		$news    = wp_insert_term( 'News', 'category' );
		for ( $i = 0; $i < $books; $i++ ) {
			$book = wp_insert_post( array( 'post_type' => 'igny8_book', 'post_status' => 'publish', 'post_title' => "Book $i" ) );
			wp_set_object_terms( $book, array( (int) $crime['term_id'] ), 'igny8_genre' );
		}
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'News post', 'post_category' => array( $news['term_id'] ) ) );
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'draft', 'post_title' => 'Draft' ) );
		$trashed = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Trashed' ) );
		wp_trash_post( $trashed );
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'auto-draft', 'post_title' => 'Stub' ) );
		$page = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'About' ) );
		wp_update_post( array( 'ID' => $page, 'post_content' => 'Revised' ) );
		igny8_queue_clear();
		return array(
			'fiction' => (int) $fiction['term_id'],
			'crime'   => (int) $crime['term_id'],
		);
	}

	public function test_a_full_sync_brings_the_platform_exactly_what_wordpress_holds() {
		$terms = $this->make_site();
		list( $post_types, $taxonomies ) = $this->synced_types();
		$this->backend->held['post:post:999999'] = array( 'kind' => 'post', 'type' => 'post', 'wp_id' => 999999, 'modified_gmt' => '2020-01-01 00:00:00', 'data' => array( 'status' => 'publish' ) );
		$this->backend->held['post:product:5']   = array( 'kind' => 'post', 'type' => 'product', 'wp_id' => 5, 'modified_gmt' => '2020-01-01 00:00:00', 'data' => array( 'status' => 'publish' ) );

		$this->run_full_sync();

		$this->assertSame( $this->wordpress_content( $post_types, $taxonomies ), $this->platform_content(), 'no item missing, none left over (a deleted id, a type no longer synced)' );
		$start = $this->backend->requests_to( self::FULL_SYNC )[0]['body'];
		$this->assertSame( 'start', $start['action'] );
		$expected_totals = array();
		foreach ( $this->wordpress_content( $post_types, $taxonomies ) as $key => $unused ) {
			list( $kind, $type ) = explode( ':', $key );
			$expected_totals[ "$kind:$type" ] = ( isset( $expected_totals[ "$kind:$type" ] ) ? $expected_totals[ "$kind:$type" ] : 0 ) + 1;
		}
		ksort( $expected_totals );
		ksort( $start['totals'] );
		$this->assertSame( $expected_totals, $start['totals'] );
		$this->assertSame( 'trash', $this->backend->held[ 'post:post:' . $this->id_of( 'Trashed' ) ]['data']['status'] );
		$this->assertSame( $terms['fiction'], $this->backend->held[ "term:igny8_genre:{$terms['crime']}" ]['data']['parent'] );
		$this->assertArrayHasKey( "term:igny8_genre:{$terms['fiction']}", $this->backend->held, 'a parent no book uses is sent too' );

		$kinds = array();
		foreach ( $this->backend->batches as list( $batch ) ) {
			$kinds[] = $batch['full_sync']['kind'];
		}
		$this->assertSame( 'term', $kinds[0], 'terms first: posts refer to terms the platform holds' );
		$state = igny8_full_sync_state();
		$this->assertSame( 'done', $state['status'] );
		$this->assertSame( 'no', $this->autoload_of( 'igny8_full_sync' ) );
		$finish = $this->backend->requests_to( self::FULL_SYNC )[1]['body'];
		$this->assertSame( 'finish', $finish['action'] );
		$this->assertSame( $start['run_id'], $finish['run_id'] );
		$this->assertFalse( wp_next_scheduled( 'igny8_full_sync_continue' ) );
	}

	private function id_of( $title ) {
		global $wpdb;
		return (int) $wpdb->get_var( $wpdb->prepare( "SELECT ID FROM {$wpdb->posts} WHERE post_title = %s AND post_type <> 'revision'", $title ) );
	}

	public function test_range_markers_cover_every_id_from_1_to_max_id_without_gaps() {
		$this->make_site( 23 );
		$this->add_test_filter( 'igny8_batch_max_items', static function () {
			return 5;
		} );

		$this->run_full_sync();

		$next = array();
		$last = array();
		foreach ( $this->backend->batches as list( $batch ) ) {
			$marker = $batch['full_sync'];
			$key    = $marker['kind'] . ':' . $marker['type'];
			$this->assertSame( isset( $next[ $key ] ) ? $next[ $key ] : 1, $marker['from_id'], "$key: contiguous" );
			$this->assertLessThanOrEqual( 5, count( $batch['items'] ) );
			foreach ( $batch['items'] as $item ) {
				$this->assertGreaterThanOrEqual( $marker['from_id'], $item['wp_id'] );
				$this->assertLessThanOrEqual( $marker['to_id'], $item['wp_id'] );
			}
			$next[ $key ] = $marker['to_id'] + 1;
			$last[ $key ] = $marker['to_id'];
		}
		$this->assertGreaterThanOrEqual( 5, count( $this->backend->requests_to( self::BATCH ) ) );
		$finish = $this->backend->requests_to( self::FULL_SYNC )[1]['body'];
		foreach ( $last as $key => $to_id ) {
			$this->assertSame( $to_id, $finish['max_ids'][ $key ], "$key: max_id is the last range's end" );
		}
		$this->assertSame( 0, $finish['max_ids']['post:page'] > 0 ? 0 : 1, 'pages were walked' );
	}

	public function test_batches_stay_under_8_mib_and_a_5_mb_post_does_not_blow_memory() {
		$huge  = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Huge', 'post_content' => str_repeat( "<p>\"5 MB\" of é</p>\n", 270000 ) ) );
		$large = array();
		for ( $i = 0; $i < 6; $i++ ) {
			$large[] = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => "Large $i", 'post_content' => str_repeat( 'y', 2 * 1048576 ) ) );
		}
		igny8_queue_clear();
		wp_cache_flush();
		$before = memory_get_usage();
		memory_reset_peak_usage();

		$this->run_full_sync();

		$peak = memory_get_peak_usage() - $before;
		foreach ( $this->backend->batches as list( $batch, $bytes ) ) {
			$this->assertLessThanOrEqual( IGNY8_BATCH_MAX_BYTES, $bytes );
		}
		$this->assertLessThan( 64 * 1048576, $peak, sprintf( 'peak memory grew by %.1f MB (the fake platform holds copies too)', $peak / 1048576 ) );
		$item = $this->backend->held[ "post:post:$huge" ];
		$this->assertTrue( $item['data']['content_truncated'] );
		$this->assertLessThanOrEqual( IGNY8_MAX_CONTENT_BYTES, strlen( $item['data']['content'] ) );
		$this->assertStringStartsWith( "<p>\"5 MB\" of é</p>\n", $item['data']['content'] );
		foreach ( $large as $id ) {
			$this->assertSame( 2 * 1048576, strlen( $this->backend->held[ "post:post:$id" ]['data']['content'] ) );
		}
	}

	public function test_a_failed_batch_is_retried_from_the_stored_cursor_after_the_backoff() {
		$this->make_site( 14 );
		$this->add_test_filter( 'igny8_batch_max_items', static function () {
			return 4;
		} );
		$calls = 0;
		$this->backend->on(
			self::BATCH,
			function ( $request ) use ( &$calls ) {
				++$calls;
				return 4 === $calls ? array( 503, Igny8_Fake_Backend::fail( 'unavailable', 'Restarting.' ), array( 'retry-after' => '7' ) ) : $this->backend->content_batch( $request );
			}
		);
		igny8_request_full_sync( 'admin' );

		$result = igny8_full_sync_step( 600 );

		$this->assertInstanceOf( WP_Error::class, $result );
		$state = igny8_full_sync_state();
		$this->assertSame( 'running', $state['status'] );
		$this->assertSame( 3, $state['batches'], 'three batches acknowledged, their cursor stored' );
		$this->assertEqualsWithDelta( time() + 7, wp_next_scheduled( 'igny8_full_sync_continue' ), 2, 'continues when Retry-After says' );
		$this->assertNull( igny8_full_sync_step( 600 ), 'nothing is sent before then' );

		update_option( 'igny8_send_backoff', array( 'until' => 0, 'failures' => 1 ), false );
		$this->run_full_sync();

		list( $post_types, $taxonomies ) = $this->synced_types();
		$this->assertSame( $this->wordpress_content( $post_types, $taxonomies ), $this->platform_content() );
		$retried = $this->backend->batches[3][0]['full_sync'];
		$failed  = json_decode( $this->backend->requests_to( self::BATCH )[3]['raw'], true )['full_sync'];
		$this->assertSame( array( $failed['kind'], $failed['type'], $failed['from_id'] ), array( $retried['kind'], $retried['type'], $retried['from_id'] ), 'the failed range is sent again' );
	}

	public function test_a_process_killed_after_the_platform_applied_a_batch_resumes_without_losing_or_duplicating() {
		$this->make_site( 10 );
		$this->add_test_filter( 'igny8_batch_max_items', static function () {
			return 3;
		} );
		$calls = 0;
		$this->backend->on(
			self::BATCH,
			function ( $request ) use ( &$calls ) {
				$answer = $this->backend->content_batch( $request );
				if ( 3 === ++$calls ) {
					throw new RuntimeException( 'PHP killed after the platform applied the batch' );
				}
				return $answer;
			}
		);
		$this->full_sync_step_dies();
		wp_clear_scheduled_hook( 'igny8_full_sync_continue' ); // WP-Cron took the event off before running it.
		$this->backend->content_platform();

		igny8_run_status_check(); // The status check notices the stalled run.
		$this->assertNotFalse( wp_next_scheduled( 'igny8_full_sync_continue' ) );
		$this->run_full_sync();

		list( $post_types, $taxonomies ) = $this->synced_types();
		$this->assertSame( $this->wordpress_content( $post_types, $taxonomies ), $this->platform_content() );
		$this->assertSame( 1, count( $this->backend->runs ), 'the same run went on' );
		$this->assertSame( $this->backend->batches[2][0]['full_sync']['from_id'], $this->backend->batches[3][0]['full_sync']['from_id'], 'the unacknowledged range is sent again' );
	}

	public function test_a_process_killed_between_cursor_stores_resumes_from_the_stored_cursor_and_converges() {
		$this->make_site( 16 );
		$this->add_test_filter( 'igny8_batch_max_items', static function () {
			return 3;
		} );
		$this->add_test_filter( 'igny8_full_sync_cursor_interval', static function () {
			return 3600; // No store by time: only after a type's first batch and at its end.
		} );
		$books = 0;
		$this->backend->on(
			self::BATCH,
			function ( $request ) use ( &$books ) {
				$answer = $this->backend->content_batch( $request );
				if ( 'igny8_book' === $request['body']['full_sync']['type'] && 4 === ++$books ) {
					throw new RuntimeException( 'PHP killed after the platform applied the 4th batch of books' );
				}
				return $answer;
			}
		);
		$this->full_sync_step_dies();
		$sent = array_values(
			array_filter(
				array_column( $this->backend->batches, 0 ),
				static function ( $batch ) {
					return 'igny8_book' === $batch['full_sync']['type'];
				}
			)
		);
		$this->assertCount( 4, $sent );
		$stored = null;
		foreach ( igny8_full_sync_state()['types'] as $entry ) {
			if ( 'igny8_book' === $entry['type'] ) {
				$stored = $entry;
			}
		}
		$this->assertSame( $sent[0]['full_sync']['to_id'], $stored['last_id'], 'batches 2 and 3 were acknowledged, their cursor not stored yet' );
		$this->assertSame( 3, $stored['done'] );

		// While no process runs: a book of an acknowledged but unstored range is deleted, another edited;
		// their queue rows are gone (the re-walk alone must bring the platform in line).
		$deleted = (int) $sent[1]['items'][1]['wp_id'];
		$edited  = (int) $sent[2]['items'][0]['wp_id'];
		wp_delete_post( $deleted, true );
		wp_update_post( array( 'ID' => $edited, 'post_title' => 'Edited after the kill' ) );
		igny8_queue_clear();
		$this->assertArrayHasKey( "post:igny8_book:$deleted", $this->backend->held );
		$this->backend->content_platform();
		$before = count( $this->backend->batches );

		$this->run_full_sync();

		list( $post_types, $taxonomies ) = $this->synced_types();
		$this->assertSame( $this->wordpress_content( $post_types, $taxonomies ), $this->platform_content(), 'nothing missing, nothing left over' );
		$this->assertSame( 'Edited after the kill', $this->backend->held[ "post:igny8_book:$edited" ]['data']['title'] );
		$this->assertSame( 1, count( $this->backend->runs ), 'the same run went on' );
		$resumed = array_values(
			array_filter(
				array_column( array_slice( $this->backend->batches, $before ), 0 ),
				static function ( $batch ) {
					return 'igny8_book' === $batch['full_sync']['type'];
				}
			)
		);
		$this->assertSame( $sent[1]['full_sync']['from_id'], $resumed[0]['full_sync']['from_id'], 'the walk resumed after the stored cursor, re-sending the acknowledged ranges' );
		foreach ( igny8_full_sync_state()['types'] as $entry ) {
			if ( 'igny8_book' === $entry['type'] ) {
				$this->assertSame( 15, $entry['done'], 'each book counted once' );
			}
		}
	}

	public function test_each_request_works_for_a_bounded_time_and_hands_over_to_cron() {
		$this->make_site( 3 );
		igny8_request_full_sync( 'admin' );

		igny8_full_sync_step( 0 );

		$this->assertSame( 'running', igny8_full_sync_state()['status'] );
		$this->assertCount( 0, $this->backend->requests_to( self::BATCH ) );
		$this->assertLessThanOrEqual( time(), wp_next_scheduled( 'igny8_full_sync_continue' ) );

		do_action( 'igny8_full_sync_continue' );
		$this->assertSame( 'done', igny8_full_sync_state()['status'] );
	}

	public function test_a_short_max_execution_time_is_raised_for_the_time_box_and_unlimited_stays_unlimited() {
		$this->assertSame( '0', ini_get( 'max_execution_time' ) );
		igny8_allow_seconds( 80 );
		$this->assertSame( '0', ini_get( 'max_execution_time' ), 'the CLI has no limit: none is set' );

		ini_set( 'max_execution_time', '30' ); // phpcs:ignore WordPress.PHP.IniSet.Risky
		try {
			igny8_allow_seconds( 80 );
			$this->assertSame( '80', ini_get( 'max_execution_time' ) );
			igny8_allow_seconds( 20 );
			$this->assertSame( '80', ini_get( 'max_execution_time' ), 'never lowered' );
		} finally {
			set_time_limit( 0 );
		}
	}

	public function test_the_fetch_limit_sends_the_most_recently_modified_items_and_drops_the_rest() {
		global $wpdb;
		$ids = array();
		for ( $i = 0; $i < 6; $i++ ) {
			$ids[ $i ] = wp_insert_post( array( 'post_type' => 'igny8_book', 'post_status' => 'publish', 'post_title' => "Book $i" ) );
			$wpdb->update( $wpdb->posts, array( 'post_modified_gmt' => sprintf( '2025-01-0%d 00:00:00', 6 - $i ) ), array( 'ID' => $ids[ $i ] ) );
		}
		$this->run_full_sync();
		$this->assertCount( 6, $this->backend->held_of( 'post', 'igny8_book' ) );

		$this->set_synced_types( array( 'post' => 1000, 'page' => 1000, 'igny8_book' => 3 ), array( 'category' => 100, 'igny8_genre' => 100 ) );
		$this->run_full_sync();

		$this->assertSame( array( $ids[0], $ids[1], $ids[2] ), array_keys( $this->backend->held_of( 'post', 'igny8_book' ) ), 'the three newest (Book 0 is the newest)' );
		$start = $this->backend->requests_to( self::FULL_SYNC )[2]['body'];
		$this->assertSame( 3, $start['totals']['post:igny8_book'] );
	}

	public function test_changes_made_while_a_batch_travels_are_queued_after_its_acknowledgement() {
		$this->make_site( 4 );
		$books   = array_keys( $this->backend->held_of( 'post', 'igny8_book' ) );
		$first   = $this->id_of( 'Book 0' );
		$second  = $this->id_of( 'Book 1' );
		$handled = false;
		$this->backend->on(
			self::BATCH,
			function ( $request ) use ( &$handled, $first, $second ) {
				if ( ! $handled && 'igny8_book' === $request['body']['full_sync']['type'] ) {
					$handled = true;
					wp_delete_post( $first, true );      // Deleted after the batch was read …
					wp_update_post( array( 'ID' => $second, 'post_title' => 'Renamed' ) ); // … and edited.
					igny8_queue_clear();                 // As if their own rows had already gone out.
				}
				return $this->backend->content_batch( $request );
			}
		);

		$this->run_full_sync();

		$this->assertContains( "delete post igny8_book #$first", $this->queued() );
		$this->assertContains( "upsert post igny8_book #$second", $this->queued() );
		$this->backend->content_platform();
		igny8_run_send_queue();
		$this->assertArrayNotHasKey( "post:igny8_book:$first", $this->backend->held );
		$this->assertSame( 'Renamed', $this->backend->held[ "post:igny8_book:$second" ]['data']['title'] );
	}

	public function test_a_status_changed_without_a_new_modified_time_while_a_batch_travels_is_queued() {
		global $wpdb;
		$this->make_site( 4 );
		$first   = $this->id_of( 'Book 0' );
		$handled = false;
		$this->backend->on(
			self::BATCH,
			function ( $request ) use ( &$handled, $first, $wpdb ) {
				if ( ! $handled && 'igny8_book' === $request['body']['full_sync']['type'] ) {
					$handled = true;
					// As wp_publish_post() does: the status alone, post_modified_gmt as it was.
					$wpdb->update( $wpdb->posts, array( 'post_status' => 'private' ), array( 'ID' => $first ) );
					clean_post_cache( $first );
					igny8_queue_clear();
				}
				return $this->backend->content_batch( $request );
			}
		);

		$this->run_full_sync();

		$this->assertContains( "upsert post igny8_book #$first", $this->queued() ); // With any modified in the second of the read.
	}

	public function test_changes_in_acknowledged_ranges_whose_cursor_is_not_stored_yet_are_queued_before_it_is() {
		global $wpdb;
		$this->make_site( 12 );
		$this->add_test_filter( 'igny8_batch_max_items', static function () {
			return 3;
		} );
		$this->add_test_filter( 'igny8_full_sync_cursor_interval', static function () {
			return 3600; // Books' batches 2 to 4 are re-checked together, at the type's end.
		} );
		$books   = 0;
		$changed = array();
		$this->backend->on(
			self::BATCH,
			function ( $request ) use ( &$books, &$changed, $wpdb ) {
				if ( 'igny8_book' === $request['body']['full_sync']['type'] && 3 === ++$books ) {
					// While the 3rd batch travels, in the range of the 2nd (acknowledged, cursor not stored):
					// one book deleted, one made private without a new modified time.
					$second  = $this->backend->batches[ count( $this->backend->batches ) - 1 ][0]['items'];
					$changed = array( (int) $second[0]['wp_id'], (int) $second[1]['wp_id'] );
					wp_delete_post( $changed[0], true );
					$wpdb->update( $wpdb->posts, array( 'post_status' => 'private' ), array( 'ID' => $changed[1] ) );
					clean_post_cache( $changed[1] );
					igny8_queue_clear();
				}
				return $this->backend->content_batch( $request );
			}
		);

		$this->run_full_sync();

		$this->assertContains( "delete post igny8_book #{$changed[0]}", $this->queued() );
		$this->assertContains( "upsert post igny8_book #{$changed[1]}", $this->queued() );
		$this->backend->content_platform();
		igny8_run_send_queue();
		list( $post_types, $taxonomies ) = $this->synced_types();
		$this->assertSame( $this->wordpress_content( $post_types, $taxonomies ), $this->platform_content() );
	}

	public function test_a_full_sync_requested_while_a_step_runs_is_not_lost() {
		$this->make_site( 4 );
		igny8_request_full_sync( 'connect' );
		$asked = 0;
		$this->backend->on(
			self::BATCH,
			function ( $request ) use ( &$asked ) {
				if ( 1 === ++$asked ) {
					igny8_request_full_sync( 'admin' ); // "Full sync now", clicked while the step runs.
				}
				return $this->backend->content_batch( $request );
			}
		);
		add_filter( 'igny8_full_sync_cursor_interval', '__return_zero' ); // Every acknowledged batch is stored.

		igny8_full_sync_step( 600 );

		$state = igny8_full_sync_state();
		$this->assertSame( 'pending', $state['status'], 'the step did not write its progress over the request' );
		$this->assertSame( 'admin', $state['reason'] );
		$this->assertNotFalse( wp_next_scheduled( IGNY8_FULL_SYNC_HOOK ), 'the requested run starts at the next step' );

		$this->run_full_sync();
		list( $post_types, $taxonomies ) = $this->synced_types();
		$this->assertSame( $this->wordpress_content( $post_types, $taxonomies ), $this->platform_content() );
		$this->assertSame( 'done', igny8_full_sync_state()['status'] );
		$this->assertSame( 'admin', igny8_full_sync_state()['reason'], 'the run that finished is the requested one' );
	}

	public function test_starting_empties_the_queue_and_clears_an_overflow() {
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Queued' ) );
		update_option( 'igny8_queue_overflowed', array( 'time' => time(), 'requested' => true ), false );
		$this->assertNotSame( array(), $this->queued() );

		igny8_request_full_sync( 'overflow' );
		igny8_full_sync_step( 0 );

		$this->assertSame( array(), $this->queued() );
		$this->assertFalse( get_option( 'igny8_queue_overflowed' ) );
	}

	public function test_a_run_the_platform_no_longer_knows_starts_again() {
		$this->make_site( 2 );
		igny8_request_full_sync( 'admin' );
		igny8_full_sync_step( 0 );
		$this->backend->runs = array(); // The platform lost the run.

		$this->run_full_sync();

		$actions = array();
		foreach ( $this->backend->requests_to( self::FULL_SYNC ) as $request ) {
			$actions[] = $request['body']['action'];
		}
		$this->assertSame( array( 'start', 'finish', 'start', 'finish' ), $actions, 'the unknown run is started again' );
		$this->assertSame( 'done', igny8_full_sync_state()['status'] );
		list( $post_types, $taxonomies ) = $this->synced_types();
		$this->assertSame( $this->wordpress_content( $post_types, $taxonomies ), $this->platform_content() );
	}

	public function test_without_the_platform_settings_no_run_tells_the_platform_to_drop_everything() {
		delete_option( 'igny8_effective_settings' );
		$this->backend->on( 'POST /api/v1/integration/integrations/9/update-structure/', 500, Igny8_Fake_Backend::fail( 'internal_error', 'Down.' ) );
		igny8_request_full_sync( 'admin' );

		igny8_full_sync_step( 600 );

		$this->assertSame( 'pending', igny8_full_sync_state()['status'] );
		$this->assertCount( 0, $this->backend->requests_to( self::FULL_SYNC ) );
	}

	public function test_connecting_starts_a_full_sync_after_the_structure_push() {
		$this->backend->working();
		$this->connect();

		$this->assertSame( 'connect', igny8_full_sync_state()['reason'] );
		$this->assertSame( 'pending', igny8_full_sync_state()['status'] );
		$this->assertLessThanOrEqual( time(), wp_next_scheduled( 'igny8_full_sync_continue' ) );
		$this->assertSame( 'POST /api/v1/integration/integrations/9/update-structure/', end( $this->backend->requests )['route'], 'nothing else is sent while connecting' );
	}

	public function test_the_full_sync_now_button_needs_the_capability_and_the_nonce() {
		$this->submit_form( Igny8_Admin::ACTION_FULL_SYNC, array(), false );
		$this->assertSame( 'igny8_bad_nonce', igny8_admin()->handle_full_sync_now()->get_error_code() );
		$this->assertFalse( igny8_full_sync_in_progress() );

		wp_set_current_user( wp_insert_user( array( 'user_login' => 'ed', 'user_pass' => 'long-password-x', 'role' => 'editor' ) ) );
		$this->submit_form( Igny8_Admin::ACTION_FULL_SYNC );
		$this->assertSame( 'igny8_forbidden', igny8_admin()->handle_full_sync_now()->get_error_code() );
		$this->assertFalse( igny8_full_sync_in_progress() );

		wp_set_current_user( $this->admin_id() );
		$this->submit_form( Igny8_Admin::ACTION_FULL_SYNC );
		$this->assertTrue( igny8_admin()->handle_full_sync_now() );
		$this->assertSame( 'admin', igny8_full_sync_state()['reason'] );
		$this->assertSame( array( 'success: A full content sync has started. Its progress is shown below.' ), $this->notices() );
	}

	public function test_the_settings_page_shows_progress_per_type() {
		$this->make_site( 7 );
		$this->add_test_filter( 'igny8_batch_max_items', static function () {
			return 5;
		} );
		igny8_request_full_sync( 'admin' );
		$this->assertStringContainsString( 'Full sync: waiting to start', $this->render_page() );
		igny8_full_sync_step( 0 );
		igny8_full_sync_advance_until( 'igny8_book', 5 );

		$page = $this->render_page();

		$this->assertStringContainsString( 'Full sync: running, started', $page );
		$this->assertMatchesRegularExpression( '#igny8-progress-post-igny8_book">\s*<td>Books</td>\s*<td>5</td>\s*<td>7</td>#', $page );
		$this->assertStringContainsString( 'name="igny8_full_sync_now_nonce"', $page );
		$this->run_full_sync();
		$this->assertStringContainsString( 'Full sync: done', $this->render_page() );
	}

	public function test_the_platform_asks_for_a_full_sync_through_status_and_structure_answers() {
		$this->backend->content_status['full_sync_requested'] = true;
		igny8_poll_content_status( true );
		$this->assertSame( 'platform', igny8_full_sync_state()['reason'] );

		delete_option( 'igny8_full_sync' );
		$this->backend->on(
			'POST /api/v1/integration/integrations/9/update-structure/',
			function ( $request ) {
				$answer                             = $this->backend->update_structure( $request );
				$answer[1]['data']['full_sync_requested'] = true;
				return $answer;
			}
		);
		igny8_sync_site_structure_to_backend();
		$this->assertSame( 'platform', igny8_full_sync_state()['reason'] );
	}

	public function test_a_change_of_the_platform_settings_starts_a_full_sync() {
		$this->run_full_sync();
		$this->backend->on(
			'POST /api/v1/integration/integrations/9/update-structure/',
			function ( $request ) {
				$answer = $this->backend->update_structure( $request );
				$types  = &$answer[1]['data']['content_types'];
				$types['post_types']['post']['enabled']    = true;
				$types['post_types']['page']['enabled']    = true;
				$types['post_types']['igny8_book']['enabled'] = false; // Disabled in the dashboard.
				$types['taxonomies']['category']['enabled'] = true;
				return $answer;
			}
		);

		igny8_sync_site_structure_to_backend();

		$this->assertSame( 'settings', igny8_full_sync_state()['reason'] );
		$this->run_full_sync();
		$this->assertSame( array(), $this->backend->held_of( 'post', 'igny8_book' ), 'the finish drops a type no longer synced' );
		igny8_sync_site_structure_to_backend();
		$this->assertSame( 'done', igny8_full_sync_state()['status'], 'the same settings again start nothing' );
	}
}

/**
 * Sends batches of the running full sync until $done items of $type went (as a cron run cut short would).
 *
 * @param string $type Type.
 * @param int    $done Items of it sent.
 */
function igny8_full_sync_advance_until( $type, $done ) {
	$state = igny8_full_sync_state();
	for ( $i = 0; $i < 50; $i++ ) {
		foreach ( $state['types'] as $entry ) {
			if ( $entry['type'] === $type && $entry['done'] >= $done ) {
				return;
			}
		}
		igny8_full_sync_advance( $state );
	}
}
