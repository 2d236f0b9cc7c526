<?php
/**
 * Two-way sync in WordPress (sync/changes.php, sync/change-apply.php): pulled changes are applied field by
 * field against the live post as the Publish as user, once, in seq order, and each outcome is reported as
 * docs/sync-protocol.md says.
 *
 * @package Igny8
 */

class ChangesTest extends Igny8_TestCase {

	const PENDING = 'GET /api/v1/integration/integrations/9/changes/pending/?limit=50';
	const RESULTS = 'POST /api/v1/integration/integrations/9/changes/results/';

	/**
	 * @var int[] Attachments made by the test (their files are removed afterwards).
	 */
	private $attachments = array();

	protected function setUp(): void {
		parent::setUp();
		$this->add_test_filter(
			'add_attachment',
			function ( $id ) {
				$this->attachments[] = (int) $id;
			}
		);
	}

	protected function tearDown(): void {
		foreach ( $this->attachments as $id ) {
			wp_delete_attachment( $id, true );
		}
		parent::tearDown();
	}

	/**
	 * A post as WordPress saved it, by the given author.
	 *
	 * @param array $fields wp_insert_post() fields.
	 * @return WP_Post
	 */
	private function post( array $fields = array() ) {
		$id = wp_insert_post( array_merge( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Old title', 'post_content' => 'Old content', 'post_author' => $this->admin_id() ), $fields ), true );
		$this->assertIsInt( $id );
		return get_post( $id );
	}

	/**
	 * The outcomes the plugin reported, by change id.
	 *
	 * @return array<int, array>
	 */
	private function reported() {
		$out = array();
		foreach ( $this->backend->outcomes as $outcome ) {
			$out[ $outcome['id'] ] = $outcome;
		}
		return $out;
	}

	/**
	 * @return string A small PNG.
	 */
	private function png() {
		$image = imagecreatetruecolor( 4, 4 );
		ob_start();
		imagepng( $image );
		return (string) ob_get_clean();
	}

	/**
	 * Counts saves of posts while a callable runs.
	 *
	 * @param callable $run What to run.
	 * @return int
	 */
	private function saves_during( callable $run ) {
		$saves   = 0;
		$counter = static function () use ( &$saves ) {
			++$saves;
		};
		add_action( 'save_post', $counter );
		try {
			$run();
		} finally {
			remove_action( 'save_post', $counter );
		}
		return $saves;
	}

	/* --------------------------------------------------------------------------------------------------
	 * Delivery and the outcome's shape
	 * ----------------------------------------------------------------------------------------------- */

	public function test_a_pulled_update_is_applied_and_reported_as_the_contract_says() {
		$this->start_two_way_sync();
		$post   = $this->post();
		$change = $this->backend->queue_change(
			array(
				'wp_id'  => $post->ID,
				'fields' => array( 'title' => 'New title', 'seo' => array( 'description' => 'New description' ) ),
				'base'   => array( 'title' => 'Old title', 'seo' => array( 'description' => null ) ),
			)
		);

		$totals = igny8_pull_changes();

		$this->assertSame( 'New title', get_post( $post->ID )->post_title );
		$this->assertSame( 'New description', get_post_meta( $post->ID, '_yoast_wpseo_metadesc', true ), 'no SEO plugin active: Yoast\'s keys' );
		$this->assertSame( array( self::PENDING, self::RESULTS ), $this->backend->routes_called() );
		$results = $this->backend->requests_to( self::RESULTS );
		$this->assertSame(
			array(
				'results' => array(
					array(
						'id'           => $change['id'],
						'status'       => 'applied',
						'wp_id'        => $post->ID,
						'modified_gmt' => get_post( $post->ID )->post_modified_gmt,
						'overwritten'  => array(),
						'dropped'      => array(),
					),
				),
			),
			$results[0]['body']
		);
		$this->assertStringContainsString( '"overwritten":{},"dropped":{}', $results[0]['raw'], 'empty maps are JSON objects' );
		$this->assertSame( 'Bearer igny8_live_abc123secret', $results[0]['headers']['Authorization'] );
		$this->assertSame( 1, $totals['applied'] );
		$this->assertSame( array(), $this->backend->pending_changes() );
	}

	public function test_two_changes_of_one_post_in_one_pull_apply_in_seq_order() {
		$this->start_two_way_sync();
		$post   = $this->post( array( 'post_title' => 'A' ) );
		$first  = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'seq' => 1, 'fields' => array( 'title' => 'B' ), 'base' => array( 'title' => 'A' ) ) );
		$second = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'seq' => 2, 'fields' => array( 'title' => 'C' ), 'base' => array( 'title' => 'B' ) ) );
		// The platform answers in seq order; this one lists them backwards: the plugin orders them itself.
		$this->backend->on(
			self::PENDING,
			function () use ( $first, $second ) {
				return array( 200, Igny8_Fake_Backend::ok( array( 'changes' => array( $second, $first ), 'more' => false ) ) );
			}
		);

		igny8_pull_changes();

		$this->assertSame( 'C', get_post( $post->ID )->post_title );
		$this->assertSame( array( $first['id'], $second['id'] ), array_column( $this->backend->outcomes, 'id' ) );
		$this->assertSame( array( 'applied', 'applied' ), array_column( $this->backend->outcomes, 'status' ) );
	}

	public function test_a_backlog_drains_page_after_page_and_a_time_box_leaves_the_rest_for_the_next_run() {
		$this->start_two_way_sync();
		$post = $this->post( array( 'menu_order' => 0 ) );
		for ( $i = 1; $i <= 120; $i++ ) {
			$this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'menu_order' => $i ), 'base' => array( 'menu_order' => $i - 1 ) ) );
		}

		$short = igny8_pull_changes( 0 );

		$this->assertSame( 1, $short['applied'], 'a run out of time stops after the change it is on' );
		$this->assertSame( 1, (int) get_post( $post->ID )->menu_order );
		$this->assertNotFalse( wp_next_scheduled( IGNY8_CHANGES_HOOK ), 'the rest is pulled by the next run' );

		$this->backend->requests = array();
		$long                    = igny8_pull_changes( 600 );

		$this->assertSame( 119, $long['applied'] );
		$this->assertCount( 3, $this->backend->requests_to( self::PENDING ) );
		$this->assertSame( 120, (int) get_post( $post->ID )->menu_order );
		$this->assertSame( array(), $this->backend->pending_changes() );
	}

	public function test_an_empty_page_ends_the_run_whatever_more_says() {
		$this->start_two_way_sync();
		$this->backend->on( self::PENDING, 200, Igny8_Fake_Backend::ok( array( 'changes' => array(), 'more' => true ) ) );

		igny8_pull_changes( 2 );

		$this->assertCount( 1, $this->backend->requests_to( self::PENDING ) );
	}

	public function test_changes_are_pulled_when_the_status_says_some_are_pending() {
		$this->start_two_way_sync();
		$post = $this->post();
		$this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'title' => 'Pulled' ), 'base' => array( 'title' => 'Old title' ) ) );

		igny8_poll_content_status( true );

		$this->assertSame( 'Pulled', get_post( $post->ID )->post_title );
	}

	public function test_a_page_request_schedules_the_pull_instead_of_waiting_for_it() {
		$this->start_two_way_sync();
		$this->add_test_filter( 'igny8_pull_changes_now', '__return_false' );
		$this->backend->on(
			'POST /api/v1/integration/integrations/9/update-structure/',
			function ( $request ) {
				$answer                            = $this->backend->update_structure( $request );
				$answer[1]['data']['changes_pending'] = 2;
				return $answer;
			}
		);

		igny8_sync_site_structure_to_backend();

		$this->assertNotFalse( wp_next_scheduled( IGNY8_CHANGES_HOOK ) );
		$this->assertCount( 0, $this->backend->requests_to( self::PENDING ), 'an admin request does not wait for the pull' );
	}

	public function test_no_pending_changes_means_no_pull() {
		$this->start_two_way_sync();

		igny8_poll_content_status( true );

		$this->assertCount( 0, $this->backend->requests_to( self::PENDING ) );
		$this->assertFalse( wp_next_scheduled( IGNY8_CHANGES_HOOK ) );
	}

	public function test_a_pull_that_cannot_take_the_lock_asks_its_holder_to_pull_again() {
		global $wpdb;
		$this->start_two_way_sync();
		$other = new wpdb( DB_USER, DB_PASSWORD, DB_NAME, DB_HOST );
		$this->assertSame( '1', (string) $other->get_var( $other->prepare( 'SELECT GET_LOCK(%s, 0)', igny8_lock_name( 'changes' ) ) ) );

		igny8_pull_changes();

		$other->query( $other->prepare( 'SELECT RELEASE_LOCK(%s)', igny8_lock_name( 'changes' ) ) );
		$other->close();
		$this->assertCount( 0, $this->backend->requests_to( self::PENDING ) );
		$this->assertTrue( igny8_changes_pull_again() );
		$this->assertNotNull( $wpdb );
	}

	public function test_a_failed_report_leaves_the_change_pending_and_the_next_pull_answers_the_kept_outcome_without_writing() {
		$this->start_two_way_sync();
		$post   = $this->post();
		$change = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'title' => 'Once' ), 'base' => array( 'title' => 'Old title' ) ) );
		$this->backend->on( self::RESULTS, 503, Igny8_Fake_Backend::fail( 'unavailable', 'Down.' ) );

		igny8_pull_changes();

		$this->assertSame( 'Once', get_post( $post->ID )->post_title );
		$this->assertCount( 1, $this->backend->pending_changes() );
		$this->assertNotFalse( get_option( 'igny8_changes_last_error' ) );
		$this->assertFalse( igny8_backoff_active(), 'a failed pull does not pause content sync' );

		$this->backend->changes_platform();
		wp_update_post( array( 'ID' => $post->ID, 'post_title' => 'Edited after' ) );
		$saves = $this->saves_during( 'igny8_pull_changes' );

		$this->assertSame( 0, $saves, 'the re-delivered change is not applied again' );
		$this->assertSame( 'Edited after', get_post( $post->ID )->post_title );
		$reported = $this->reported();
		$this->assertSame( 'applied', $reported[ $change['id'] ]['status'] );
		$this->assertSame( array(), $this->backend->pending_changes() );
		$this->assertFalse( get_option( 'igny8_changes_last_error' ) );
	}

	public function test_outcomes_older_than_thirty_days_are_pruned() {
		global $wpdb;
		$this->start_two_way_sync();
		igny8_changes_log_record( array( 'kind' => 'post', 'type' => 'post' ), array( 'id' => 7001, 'status' => 'applied', 'wp_id' => 1 ) );
		igny8_changes_log_record( array( 'kind' => 'post', 'type' => 'post' ), array( 'id' => 7002, 'status' => 'applied', 'wp_id' => 1 ) );
		$wpdb->update( igny8_changes_log_table(), array( 'logged_at' => gmdate( 'Y-m-d H:i:s', time() - 31 * DAY_IN_SECONDS ) ), array( 'change_id' => 7001 ) );
		delete_transient( 'igny8_changes_log_pruned' );

		igny8_pull_changes();

		$this->assertNull( igny8_changes_log_find( array( 'id' => 7001 ) ) );
		$this->assertNotNull( igny8_changes_log_find( array( 'id' => 7002 ) ) );
	}

	/* --------------------------------------------------------------------------------------------------
	 * Creating, idempotently
	 * ----------------------------------------------------------------------------------------------- */

	public function test_a_create_makes_one_post_and_a_redelivery_answers_the_same_outcome() {
		$this->start_two_way_sync();
		$cat    = wp_insert_term( 'Rust', 'category' );
		$change = $this->backend->queue_change(
			array(
				'op'     => 'create',
				'fields' => array( 'title' => 'Made in IGNY8', 'content' => '<p>Body</p>', 'status' => 'publish', 'terms' => array( 'category' => array( $cat['term_id'], 'Brand new' ) ), 'seo' => array( 'title' => 'SEO title' ) ),
			)
		);

		igny8_pull_changes();

		$first = $this->reported()[ $change['id'] ];
		$this->assertSame( 'applied', $first['status'] );
		$post = get_post( $first['wp_id'] );
		$this->assertSame( 'Made in IGNY8', $post->post_title );
		$this->assertSame( 'publish', $post->post_status );
		$this->assertSame( (int) $this->admin_id(), (int) $post->post_author, 'made as the Publish as user' );
		$this->assertSame( $change['id'] . '@' . $change['created_at'], get_post_meta( $post->ID, '_igny8_change_id', true ), 'the change id, and when it was queued' );
		$this->assertSame( 'SEO title', get_post_meta( $post->ID, '_yoast_wpseo_title', true ) );
		$names = wp_get_object_terms( $post->ID, 'category', array( 'fields' => 'names' ) );
		sort( $names );
		$this->assertSame( array( 'Brand new', 'Rust' ), $names );

		// The report was lost: the platform delivers the change again.
		$this->backend->changes[ $change['id'] ]['status'] = 'pending';
		$saves = $this->saves_during( 'igny8_pull_changes' );

		$this->assertSame( 0, $saves );
		$this->assertSame( $first, $this->reported()[ $change['id'] ] );
		$this->assertCount( 1, get_posts( array( 'title' => 'Made in IGNY8', 'post_type' => 'post', 'post_status' => 'any', 'fields' => 'ids' ) ) );
	}

	public function test_a_create_redelivered_after_a_killed_run_completes_the_post_it_made() {
		$this->start_two_way_sync();
		$cat    = wp_insert_term( 'Completed', 'category' );
		$change = $this->backend->queue_change(
			array(
				'op'     => 'create',
				'fields' => array( 'title' => 'Half made', 'status' => 'draft', 'terms' => array( 'category' => array( $cat['term_id'] ) ), 'seo' => array( 'description' => 'Written after the kill' ) ),
			)
		);
		// The killed run got as far as wp_insert_post() (which sets the change id): no terms, no SEO, no outcome kept.
		$made = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'draft', 'post_title' => 'Half made', 'meta_input' => array( '_igny8_change_id' => igny8_change_marker( $change ) ) ) );

		igny8_pull_changes();

		$outcome = $this->reported()[ $change['id'] ];
		$this->assertSame( 'applied', $outcome['status'] );
		$this->assertSame( $made, $outcome['wp_id'] );
		$this->assertSame( array(), $outcome['overwritten'] );
		$this->assertSame( array( (int) $cat['term_id'] ), wp_get_object_terms( $made, 'category', array( 'fields' => 'ids' ) ) );
		$this->assertSame( 'Written after the kill', get_post_meta( $made, '_yoast_wpseo_metadesc', true ) );
		$this->assertCount( 1, get_posts( array( 'title' => 'Half made', 'post_type' => 'post', 'post_status' => 'any', 'fields' => 'ids' ) ) );
	}

	public function test_a_platform_whose_change_ids_started_again_is_not_answered_with_another_change() {
		$this->start_two_way_sync();
		$post   = $this->post();
		$create = $this->backend->queue_change( array( 'op' => 'create', 'fields' => array( 'title' => 'From the old database' ), 'created_at' => '2025-01-01T00:00:00.000001Z' ) );
		$update = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'title' => 'Old database title' ), 'base' => array( 'title' => 'Old title' ), 'created_at' => '2025-01-01T00:00:00.000002Z' ) );
		igny8_pull_changes();
		$old_post = $this->reported()[ $create['id'] ]['wp_id'];

		// The platform starts on a new database (or the site moved to another platform): ids start again.
		$this->backend->changes  = array();
		$this->backend->outcomes = array();
		$again_create            = $this->backend->queue_change( array( 'op' => 'create', 'fields' => array( 'title' => 'From the new database' ) ) );
		$again_update            = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'title' => 'New database title' ), 'base' => array( 'title' => 'Old database title' ) ) );
		$this->assertSame( array( $create['id'], $update['id'] ), array( $again_create['id'], $again_update['id'] ) );
		igny8_pull_changes();

		$new_post = $this->reported()[ $again_create['id'] ]['wp_id'];
		$this->assertNotSame( $old_post, $new_post, 'a new post, not the one an older change made' );
		$this->assertSame( 'From the old database', get_post( $old_post )->post_title );
		$this->assertSame( 'From the new database', get_post( $new_post )->post_title );
		$this->assertSame( 'New database title', get_post( $post->ID )->post_title, 'applied, not answered with the older change\'s outcome' );
	}

	public function test_a_term_create_is_found_again_by_its_change_id() {
		$this->start_two_way_sync();
		$change = $this->backend->queue_change( array( 'op' => 'create', 'kind' => 'term', 'type' => 'category', 'fields' => array( 'name' => 'From IGNY8', 'description' => 'Made there' ) ) );

		igny8_pull_changes();
		$outcome = $this->reported()[ $change['id'] ];
		global $wpdb;
		$wpdb->delete( igny8_changes_log_table(), array( 'change_id' => $change['id'] ) ); // As if the run was killed before keeping it.
		$this->backend->changes[ $change['id'] ]['status'] = 'pending';
		igny8_pull_changes();

		$this->assertSame( 'applied', $outcome['status'] );
		$this->assertNull( $outcome['modified_gmt'], 'terms have no modification time' );
		$this->assertSame( 'From IGNY8', get_term( $outcome['wp_id'] )->name );
		$this->assertSame( $outcome['wp_id'], $this->reported()[ $change['id'] ]['wp_id'] );
		$this->assertCount( 1, get_terms( array( 'taxonomy' => 'category', 'name' => 'From IGNY8', 'hide_empty' => false ) ) );
	}

	/* --------------------------------------------------------------------------------------------------
	 * The Publish as user: capabilities and kses
	 * ----------------------------------------------------------------------------------------------- */

	public function test_an_author_gets_script_stripped_by_kses() {
		$this->start_two_way_sync();
		$author = $this->make_user( 'author' );
		update_option( 'igny8_publish_as', $author, false );
		$post = $this->post( array( 'post_author' => $author ) );
		$this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'content' => '<p>Hi</p><script>alert(1)</script><img src="x" onerror="alert(2)">' ), 'base' => array( 'content' => 'Old content' ) ) );

		igny8_pull_changes();

		$content = get_post( $post->ID )->post_content;
		$this->assertStringContainsString( '<p>Hi</p>', $content );
		$this->assertStringNotContainsString( '<script', $content );
		$this->assertStringNotContainsString( 'onerror', $content );
		$this->assertSame( $this->admin_id(), get_current_user_id(), 'the previous user is back' );
	}

	public function test_an_administrator_keeps_script_on_a_single_site() {
		if ( is_multisite() ) {
			$this->markTestSkipped( 'only super admins post unfiltered HTML on a network' );
		}
		$this->start_two_way_sync();
		update_option( 'igny8_publish_as', $this->admin_id(), false );
		$post = $this->post();
		$this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'content' => '<p>Hi</p><script>track()</script>' ), 'base' => array( 'content' => 'Old content' ) ) );
		wp_set_current_user( 0 ); // As in cron: nobody is signed in.

		igny8_pull_changes();

		$this->assertSame( '<p>Hi</p><script>track()</script>', get_post( $post->ID )->post_content );
		$this->assertSame( 0, get_current_user_id() );
	}

	public function test_the_change_is_saved_by_the_publish_as_user() {
		$this->start_two_way_sync();
		$editor = $this->make_user( 'editor' );
		update_option( 'igny8_publish_as', $editor, false );
		$post  = $this->post();
		$saver = null;
		$this->add_test_filter(
			'save_post',
			static function ( $id ) use ( &$saver ) {
				$saver = get_current_user_id();
			}
		);
		$this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'title' => 'By the editor' ), 'base' => array( 'title' => 'Old title' ) ) );

		igny8_pull_changes();

		$this->assertSame( $editor, $saver );
		$this->assertSame( 'By the editor', get_post( $post->ID )->post_title );
	}

	/**
	 * @return array[] [role, fields, the reason's start]
	 */
	public function refusals_by_capability() {
		return array(
			'contributor publishing'       => array( 'contributor', array( 'title' => 'Mine', 'status' => 'publish' ), 'the Publish as user may not edit post' ),
			'author editing another post'  => array( 'author', array( 'title' => 'Not mine' ), 'the Publish as user may not edit post' ),
			'editor demoted to subscriber' => array( 'subscriber', array( 'title' => 'Nope' ), 'the Publish as user may not edit post' ),
			'author creating a category'   => array( 'author-own', array( 'terms' => array( 'category' => array( 'Invented' ) ) ), 'terms.category: the Publish as user may not create category terms' ),
		);
	}

	/**
	 * @dataProvider refusals_by_capability
	 */
	public function test_what_the_publish_as_user_may_not_do_is_rejected_and_nothing_is_written( $role, $fields, $reason ) {
		$this->start_two_way_sync();
		$user = $this->make_user( in_array( $role, array( 'author-own', 'subscriber' ), true ) ? 'author' : $role );
		update_option( 'igny8_publish_as', $user, false );
		if ( 'subscriber' === $role ) {
			( new WP_User( $user ) )->set_role( 'subscriber' ); // Chosen while an author, demoted since.
		}
		$post   = $this->post( array( 'post_author' => 'author-own' === $role ? $user : $this->admin_id(), 'post_status' => 'publish' ) );
		$change = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => $fields, 'base' => array( 'title' => 'Old title', 'status' => 'publish', 'terms' => array( 'category' => array( 1 ) ) ) ) );

		igny8_pull_changes();

		$outcome = $this->reported()[ $change['id'] ];
		$this->assertSame( 'rejected', $outcome['status'] );
		$this->assertStringStartsWith( $reason, $outcome['reason'] );
		$this->assertSame( 'Old title', get_post( $post->ID )->post_title );
		$this->assertSame( $post->post_modified_gmt, get_post( $post->ID )->post_modified_gmt );
		$this->assertFalse( get_term_by( 'name', 'Invented', 'category' ) );
	}

	public function test_a_contributor_may_not_publish_its_own_draft() {
		$this->start_two_way_sync();
		$contributor = $this->make_user( 'contributor' );
		update_option( 'igny8_publish_as', $contributor, false );
		$post   = $this->post( array( 'post_author' => $contributor, 'post_status' => 'draft' ) );
		$change = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'title' => 'Published?', 'status' => 'publish' ), 'base' => array( 'title' => 'Old title', 'status' => 'draft' ) ) );

		igny8_pull_changes();

		$this->assertSame( 'status: the Publish as user may not publish post items', $this->reported()[ $change['id'] ]['reason'] );
		$this->assertSame( 'draft', get_post( $post->ID )->post_status );
		$this->assertSame( 'Old title', get_post( $post->ID )->post_title );
	}

	public function test_a_publish_as_user_that_no_longer_exists_refuses_changes() {
		$this->start_two_way_sync();
		$post = $this->post();
		$gone = $this->make_user( 'editor' );
		update_option( 'igny8_publish_as', $gone, false );
		require_once ABSPATH . 'wp-admin/includes/user.php';
		wp_delete_user( $gone );
		$change = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'title' => 'No one' ), 'base' => array( 'title' => 'Old title' ) ) );

		igny8_pull_changes();

		$this->assertSame( array( 'id' => $change['id'], 'status' => 'refused', 'reason' => 'publish_as_user_missing' ), $this->reported()[ $change['id'] ] );
		$this->assertSame( 'Old title', get_post( $post->ID )->post_title );
	}

	public function test_with_two_way_sync_off_every_change_is_refused() {
		$this->start_two_way_sync();
		update_option( 'igny8_two_way_sync_enabled', 0 );
		$post = $this->post();
		$a    = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'title' => 'Refused' ), 'base' => array( 'title' => 'Old title' ) ) );
		$b    = $this->backend->queue_change( array( 'op' => 'create', 'fields' => array( 'title' => 'Never made' ) ) );

		igny8_pull_changes();

		$this->assertSame(
			array(
				array( 'id' => $a['id'], 'status' => 'refused', 'reason' => 'two_way_sync_disabled' ),
				array( 'id' => $b['id'], 'status' => 'refused', 'reason' => 'two_way_sync_disabled' ),
			),
			$this->backend->outcomes
		);
		$this->assertSame( 'Old title', get_post( $post->ID )->post_title );
		$this->assertSame( array(), get_posts( array( 'title' => 'Never made', 'post_status' => 'any' ) ) );

		// Switched on before the platform heard back: the change is applied when it comes again.
		update_option( 'igny8_two_way_sync_enabled', 1 );
		$this->backend->changes[ $a['id'] ]['status'] = 'pending';
		igny8_pull_changes();

		$this->assertSame( 'Refused', get_post( $post->ID )->post_title );
	}

	/* --------------------------------------------------------------------------------------------------
	 * Three-way per field and the policies
	 * ----------------------------------------------------------------------------------------------- */

	public function test_a_manual_conflict_reports_wordpress_values_and_writes_nothing() {
		$this->start_two_way_sync();
		$post = $this->post();
		wp_update_post( array( 'ID' => $post->ID, 'post_content' => 'Edited in WordPress' ) );
		$before = get_post( $post->ID );
		$change = $this->backend->queue_change(
			array(
				'wp_id'  => $post->ID,
				'fields' => array( 'title' => 'New title', 'content' => 'New content' ),
				'base'   => array( 'title' => 'Old title', 'content' => 'Old content' ),
			)
		);

		igny8_pull_changes();

		$this->assertSame(
			array(
				'id'           => $change['id'],
				'status'       => 'conflict',
				'wp_id'        => $post->ID,
				'modified_gmt' => $before->post_modified_gmt,
				'conflicts'    => array( 'content' => array( 'wordpress' => 'Edited in WordPress' ) ),
				'applied'      => array(),
			),
			$this->reported()[ $change['id'] ]
		);
		$this->assertSame( 'Old title', get_post( $post->ID )->post_title );
		$this->assertSame( 'Edited in WordPress', get_post( $post->ID )->post_content );
	}

	public function test_merge_applies_the_other_fields_and_reports_the_conflict() {
		$this->start_two_way_sync();
		$post = $this->post();
		wp_update_post( array( 'ID' => $post->ID, 'post_content' => 'Edited in WordPress' ) );
		$change = $this->backend->queue_change(
			array(
				'wp_id'  => $post->ID,
				'policy' => 'merge',
				'fields' => array( 'title' => 'New title', 'content' => 'New content', 'seo' => array( 'title' => 'SEO' ) ),
				'base'   => array( 'title' => 'Old title', 'content' => 'Old content', 'seo' => array( 'title' => null ) ),
			)
		);

		igny8_pull_changes();

		$outcome = $this->reported()[ $change['id'] ];
		$this->assertSame( 'conflict', $outcome['status'] );
		$this->assertSame( array( 'content' => array( 'wordpress' => 'Edited in WordPress' ) ), $outcome['conflicts'] );
		$this->assertSame( array( 'title', 'seo.title' ), $outcome['applied'] );
		$this->assertSame( get_post( $post->ID )->post_modified_gmt, $outcome['modified_gmt'] );
		$this->assertSame( 'New title', get_post( $post->ID )->post_title );
		$this->assertSame( 'Edited in WordPress', get_post( $post->ID )->post_content );
		$this->assertSame( 'SEO', get_post_meta( $post->ID, '_yoast_wpseo_title', true ) );
	}

	public function test_platform_wins_overwrites_and_keeps_the_wordpress_value_in_result_and_revisions() {
		$this->start_two_way_sync();
		$post = $this->post();
		global $wpdb;
		// A direct edit, as another plugin or an import would make it: no revision holds it.
		$wpdb->update( $wpdb->posts, array( 'post_content' => 'Edited in WordPress' ), array( 'ID' => $post->ID ) );
		clean_post_cache( $post->ID );
		$change = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'policy' => 'platform_wins', 'fields' => array( 'content' => 'Platform content' ), 'base' => array( 'content' => 'Old content' ) ) );

		igny8_pull_changes();

		$outcome = $this->reported()[ $change['id'] ];
		$this->assertSame( 'applied', $outcome['status'] );
		$this->assertSame( array( 'content' => 'Edited in WordPress' ), $outcome['overwritten'] );
		$this->assertSame( 'Platform content', get_post( $post->ID )->post_content );
		$this->assertContains( 'Edited in WordPress', array_column( wp_get_post_revisions( $post->ID ), 'post_content' ) );
	}

	public function test_wordpress_wins_keeps_the_wordpress_value_and_reports_the_dropped_one() {
		$this->start_two_way_sync();
		$post = $this->post();
		wp_update_post( array( 'ID' => $post->ID, 'post_title' => 'Edited in WordPress' ) );
		$change = $this->backend->queue_change(
			array(
				'wp_id'  => $post->ID,
				'policy' => 'wordpress_wins',
				'fields' => array( 'title' => 'Platform title', 'excerpt' => 'Platform excerpt' ),
				'base'   => array( 'title' => 'Old title', 'excerpt' => '' ),
			)
		);

		igny8_pull_changes();

		$outcome = $this->reported()[ $change['id'] ];
		$this->assertSame( 'applied', $outcome['status'] );
		$this->assertSame( array( 'title' => 'Platform title' ), $outcome['dropped'] );
		$this->assertSame( 'Edited in WordPress', get_post( $post->ID )->post_title );
		$this->assertSame( 'Platform excerpt', get_post( $post->ID )->post_excerpt );
	}

	public function test_fields_the_change_does_not_name_are_never_touched() {
		$this->start_two_way_sync();
		$post = $this->post( array( 'post_excerpt' => 'Kept excerpt', 'menu_order' => 4 ) );
		update_post_meta( $post->ID, '_yoast_wpseo_metadesc', 'Kept description' );
		wp_update_post( array( 'ID' => $post->ID, 'post_content' => 'Edited in WordPress' ) );
		$this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'seo' => array( 'title' => 'Only SEO' ) ), 'base' => array( 'seo' => array( 'title' => null ) ) ) );

		igny8_pull_changes();

		$after = get_post( $post->ID );
		$this->assertSame( 'Edited in WordPress', $after->post_content );
		$this->assertSame( 'Kept excerpt', $after->post_excerpt );
		$this->assertSame( 4, (int) $after->menu_order );
		$this->assertSame( 'Kept description', get_post_meta( $post->ID, '_yoast_wpseo_metadesc', true ) );
		$this->assertSame( 'Only SEO', get_post_meta( $post->ID, '_yoast_wpseo_title', true ) );
	}

	public function test_terms_compare_as_sets_and_names_are_created() {
		$this->start_two_way_sync();
		$a    = wp_insert_term( 'Alpha', 'category' );
		$b    = wp_insert_term( 'Beta', 'category' );
		$post = $this->post( array( 'post_category' => array( $b['term_id'], $a['term_id'] ) ) );
		$tags = $this->backend->queue_change(
			array(
				'wp_id'  => $post->ID,
				'fields' => array( 'terms' => array( 'category' => array( 'Alpha', 'Gamma' ), 'post_tag' => array( 'fresh' ) ) ),
				'base'   => array( 'terms' => array( 'category' => array( $a['term_id'], $b['term_id'] ), 'post_tag' => array() ) ),
			)
		);

		igny8_pull_changes();

		$this->assertSame( 'applied', $this->reported()[ $tags['id'] ]['status'] );
		$names = wp_get_object_terms( $post->ID, 'category', array( 'fields' => 'names', 'orderby' => 'name' ) );
		$this->assertSame( array( 'Alpha', 'Gamma' ), $names );
		$this->assertSame( array( 'fresh' ), wp_get_object_terms( $post->ID, 'post_tag', array( 'fields' => 'names' ) ) );
	}

	public function test_a_status_date_parent_and_menu_order_change_is_applied() {
		$this->start_two_way_sync();
		$page   = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Parent' ) );
		$child  = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'draft', 'post_title' => 'Child' ) );
		$future = gmdate( 'Y-m-d H:i:s', time() + DAY_IN_SECONDS );
		$change = $this->backend->queue_change(
			array(
				'type'   => 'page',
				'wp_id'  => $child,
				'fields' => array( 'status' => 'future', 'date_gmt' => $future, 'parent' => $page, 'menu_order' => 3, 'slug' => 'new-child' ),
				'base'   => array( 'status' => 'draft', 'date_gmt' => null, 'parent' => 0, 'menu_order' => 0, 'slug' => '' ),
			)
		);

		igny8_pull_changes();

		$this->assertSame( 'applied', $this->reported()[ $change['id'] ]['status'], wp_json_encode( $this->reported() ) );
		$after = get_post( $child );
		$this->assertSame( 'future', $after->post_status );
		$this->assertSame( $future, $after->post_date_gmt );
		$this->assertSame( $page, (int) $after->post_parent );
		$this->assertSame( 3, (int) $after->menu_order );
		$this->assertSame( 'new-child', $after->post_name );
	}

	public function test_trash_moves_the_post_to_the_trash_and_a_status_brings_it_back() {
		$this->start_two_way_sync();
		$post  = $this->post();
		$trash = $this->backend->queue_change( array( 'op' => 'trash', 'wp_id' => $post->ID ) );

		igny8_pull_changes();

		$this->assertSame( 'applied', $this->reported()[ $trash['id'] ]['status'] );
		$this->assertSame( 'trash', get_post( $post->ID )->post_status );

		$restore = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'status' => 'draft' ), 'base' => array( 'status' => 'trash' ) ) );
		igny8_pull_changes();

		$this->assertSame( 'applied', $this->reported()[ $restore['id'] ]['status'] );
		$this->assertSame( 'draft', get_post( $post->ID )->post_status );
	}

	public function test_moving_to_or_from_the_trash_needs_the_right_to_delete() {
		$this->start_two_way_sync();
		add_role( 'igny8_no_delete', 'No delete', array( 'read' => true, 'edit_posts' => true, 'edit_others_posts' => true, 'edit_published_posts' => true, 'publish_posts' => true ) );
		try {
			update_option( 'igny8_publish_as', $this->make_user( 'igny8_no_delete' ), false );
			$live    = $this->post();
			$trashed = $this->post( array( 'post_title' => 'In the trash' ) );
			wp_trash_post( $trashed->ID );
			$trash   = $this->backend->queue_change( array( 'op' => 'trash', 'wp_id' => $live->ID ) );
			$status  = $this->backend->queue_change( array( 'wp_id' => $live->ID, 'fields' => array( 'status' => 'trash' ), 'base' => array( 'status' => 'publish' ) ) );
			$restore = $this->backend->queue_change( array( 'wp_id' => $trashed->ID, 'fields' => array( 'status' => 'draft' ), 'base' => array( 'status' => 'trash' ) ) );

			igny8_pull_changes();

			$reported = $this->reported();
			$this->assertSame( 'the Publish as user may not trash post #' . $live->ID, $reported[ $trash['id'] ]['reason'] );
			$this->assertSame( 'status: the Publish as user may not trash this post', $reported[ $status['id'] ]['reason'] );
			$this->assertSame( 'status: the Publish as user may not restore this post', $reported[ $restore['id'] ]['reason'] );
			$this->assertSame( 'publish', get_post_status( $live->ID ) );
			$this->assertSame( 'trash', get_post_status( $trashed->ID ) );
		} finally {
			remove_role( 'igny8_no_delete' );
		}
	}

	public function test_a_term_change_updates_its_fields_and_conflicts_like_a_post() {
		$this->start_two_way_sync();
		$parent = wp_insert_term( 'Parent', 'category' );
		$term   = wp_insert_term( 'Child', 'category', array( 'description' => 'Old' ) );
		$ok     = $this->backend->queue_change(
			array(
				'kind'   => 'term',
				'type'   => 'category',
				'wp_id'  => $term['term_id'],
				'fields' => array( 'name' => 'Renamed', 'parent' => $parent['term_id'], 'description' => 'New' ),
				'base'   => array( 'name' => 'Child', 'parent' => 0, 'description' => 'Old' ),
			)
		);
		$stale  = $this->backend->queue_change(
			array(
				'kind'   => 'term',
				'type'   => 'category',
				'wp_id'  => $term['term_id'],
				'fields' => array( 'name' => 'Stale rename' ),
				'base'   => array( 'name' => 'Child' ),
			)
		);
		$loop   = $this->backend->queue_change( array( 'kind' => 'term', 'type' => 'category', 'wp_id' => $parent['term_id'], 'fields' => array( 'parent' => $term['term_id'] ), 'base' => array( 'parent' => 0 ) ) );

		igny8_pull_changes();

		$reported = $this->reported();
		$this->assertSame( 'applied', $reported[ $ok['id'] ]['status'] );
		$this->assertNull( $reported[ $ok['id'] ]['modified_gmt'] );
		$this->assertSame( array( 'name' => array( 'wordpress' => 'Renamed' ) ), $reported[ $stale['id'] ]['conflicts'] );
		$this->assertSame( 'parent: a term cannot be under itself', $reported[ $loop['id'] ]['reason'] );
		$after = get_term( $term['term_id'] );
		$this->assertSame( 'Renamed', $after->name );
		$this->assertSame( (int) $parent['term_id'], (int) $after->parent );
		$this->assertSame( 'New', $after->description );
		$this->assertSame( 0, (int) get_term( $parent['term_id'] )->parent );
	}

	/* --------------------------------------------------------------------------------------------------
	 * Validation before any write
	 * ----------------------------------------------------------------------------------------------- */

	public function test_a_term_id_that_does_not_exist_rejects_the_whole_change() {
		$this->start_two_way_sync();
		$post   = $this->post();
		$change = $this->backend->queue_change(
			array(
				'wp_id'  => $post->ID,
				'fields' => array( 'title' => 'Not written', 'terms' => array( 'category' => array( 999999 ) ) ),
				'base'   => array( 'title' => 'Old title', 'terms' => array( 'category' => array( 1 ) ) ),
			)
		);

		igny8_pull_changes();

		$this->assertSame( array( 'id' => $change['id'], 'status' => 'rejected', 'reason' => 'terms.category: term 999999 does not exist' ), $this->reported()[ $change['id'] ] );
		$this->assertSame( 'Old title', get_post( $post->ID )->post_title );
		$this->assertSame( $post->post_modified_gmt, get_post( $post->ID )->post_modified_gmt );
	}

	public function test_a_featured_image_url_that_answers_no_image_rejects_the_whole_change() {
		$this->start_two_way_sync();
		$post = $this->post();
		$this->backend->on( 'GET /landing/cover.png', 200, '<!doctype html><title>Not an image</title>', array( 'content-type' => 'text/html' ) );
		$change = $this->backend->queue_change(
			array(
				'wp_id'  => $post->ID,
				'fields' => array( 'title' => 'Not written', 'featured_image' => 'https://cdn.example.test/landing/cover.png' ),
				'base'   => array( 'title' => 'Old title', 'featured_image' => null ),
			)
		);

		igny8_pull_changes();

		$outcome = $this->reported()[ $change['id'] ];
		$this->assertSame( 'rejected', $outcome['status'] );
		$this->assertSame( 'featured_image: https://cdn.example.test/landing/cover.png did not answer with an image (JPEG, PNG, GIF or WebP)', $outcome['reason'] );
		$this->assertSame( 'Old title', get_post( $post->ID )->post_title );
		$this->assertSame( array(), $this->attachments );
		$this->assertSame( 0, (int) get_post_thumbnail_id( $post->ID ) );
	}

	public function test_a_featured_image_is_sideloaded_once_and_counts_as_the_url_it_came_from() {
		$this->start_two_way_sync();
		$post = $this->post();
		$this->backend->on( 'GET /img/cover.png', 200, $this->png(), array( 'content-type' => 'image/png' ) );
		$url   = 'https://cdn.example.test/img/cover.png';
		$first = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'featured_image' => $url ), 'base' => array( 'featured_image' => null ) ) );

		igny8_pull_changes();

		$this->assertSame( 'applied', $this->reported()[ $first['id'] ]['status'], wp_json_encode( $this->reported() ) );
		$thumbnail = (int) get_post_thumbnail_id( $post->ID );
		$this->assertSame( array( $thumbnail ), $this->attachments );
		$this->assertSame( 'image/png', get_post_mime_type( $thumbnail ) );
		$this->assertSame( $url, get_post_meta( $thumbnail, '_igny8_source_url', true ) );

		// Another post gets the same URL; this one is asked for it again: nothing is downloaded twice.
		$other  = $this->post( array( 'post_title' => 'Other' ) );
		$again  = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'featured_image' => $url ), 'base' => array( 'featured_image' => null ) ) );
		$reused = $this->backend->queue_change( array( 'wp_id' => $other->ID, 'fields' => array( 'featured_image' => $url ), 'base' => array( 'featured_image' => null ) ) );
		igny8_pull_changes();

		$this->assertSame( 'applied', $this->reported()[ $again['id'] ]['status'], 'the URL it came from is the current image' );
		$this->assertSame( $thumbnail, (int) get_post_thumbnail_id( $other->ID ) );
		$this->assertCount( 1, $this->backend->requests_to( 'GET /img/cover.png' ) );

		$remove = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'featured_image' => null ), 'base' => array( 'featured_image' => wp_get_attachment_url( $thumbnail ) ) ) );
		igny8_pull_changes();

		$this->assertSame( 'applied', $this->reported()[ $remove['id'] ]['status'] );
		$this->assertSame( 0, (int) get_post_thumbnail_id( $post->ID ) );
	}

	public function test_a_featured_image_on_a_private_address_is_refused_by_wordpress() {
		$this->start_two_way_sync();
		$post = $this->post();
		$this->backend->detach(); // The real HTTP API decides: no request leaves for a private address.
		wp_set_current_user( $this->admin_id() );

		$outcome = igny8_apply_change(
			array(
				'id'     => 99,
				'op'     => 'update',
				'kind'   => 'post',
				'type'   => 'post',
				'wp_id'  => $post->ID,
				'fields' => array( 'featured_image' => 'http://169.254.169.254/latest/meta-data/image.png' ),
				'base'   => array( 'featured_image' => null ),
			)
		);

		$this->assertSame( 'rejected', $outcome['status'] );
		$this->assertStringStartsWith( 'featured_image: could not download', $outcome['reason'] );
		$this->assertSame( 0, (int) get_post_thumbnail_id( $post->ID ) );
	}

	/**
	 * Changes that are malformed or hostile: [change overrides, the reason].
	 *
	 * @return array[]
	 */
	public function malformed_changes() {
		return array(
			'title not a string'        => array( array( 'fields' => array( 'title' => 123 ) ), 'title: must be a string' ),
			'title too long'            => array( array( 'fields' => array( 'title' => str_repeat( 'x', 65537 ) ) ), 'title: longer than 65536 bytes' ),
			'content too long'          => array( array( 'fields' => array( 'content' => str_repeat( 'x', 4194305 ) ) ), 'content: longer than 4194304 bytes' ),
			'NUL in a title'            => array( array( 'fields' => array( 'title' => "a\0b" ) ), 'title: must not contain NUL' ),
			'slug too long'             => array( array( 'fields' => array( 'slug' => str_repeat( 'é', 201 ) ) ), 'slug: longer than 200 characters' ),
			'unknown status'            => array( array( 'fields' => array( 'status' => 'inherit' ) ), 'status: must be one of draft, pending, publish, future, private, trash' ),
			'bad date'                  => array( array( 'fields' => array( 'date_gmt' => '2025-02-30 10:00:00' ) ), 'date_gmt: must be a date, YYYY-MM-DD HH:MM:SS' ),
			'parent as a string'        => array( array( 'fields' => array( 'parent' => '5' ) ), 'parent: must be an integer ≥ 0' ),
			'negative menu order'       => array( array( 'fields' => array( 'menu_order' => -1 ) ), 'menu_order: must be an integer ≥ 0' ),
			'parent that does not exist' => array( array( 'fields' => array( 'parent' => 99999999 ) ), 'parent: post 99999999 does not exist' ),
			'unknown field'             => array( array( 'fields' => array( 'post_author' => 1 ) ), 'post_author: not a field IGNY8 may write' ),
			'fields as a list'          => array( array( 'fields' => array( 'a', 'b' ) ), 'fields: must be an object' ),
			'terms as a string'         => array( array( 'fields' => array( 'terms' => 'category' ) ), 'terms: must be an object of taxonomy => terms' ),
			'terms of a bad taxonomy'   => array( array( 'fields' => array( 'terms' => array( "cat'; DROP TABLE wp_terms;--" => array( 1 ) ) ) ), 'terms: not a taxonomy name: catdroptablewp_terms--' ),
			'terms of another taxonomy' => array( array( 'fields' => array( 'terms' => array( 'nav_menu' => array( 1 ) ) ) ), 'terms.nav_menu: taxonomy "nav_menu" is not used by post' ),
			'a term that is an object'  => array( array( 'fields' => array( 'terms' => array( 'category' => array( array( 'id' => 1 ) ) ) ) ), 'terms.category: must be a string' ),
			'unknown seo field'         => array( array( 'fields' => array( 'seo' => array( 'og_title' => 'x' ) ) ), 'seo.og_title: not an SEO field IGNY8 may write' ),
			'robots as a list'          => array( array( 'fields' => array( 'seo' => array( 'robots' => array( 'noindex' ) ) ) ), 'seo.robots: must be a string' ),
			'unknown robots directive'  => array( array( 'fields' => array( 'seo' => array( 'robots' => 'noindex, <script>' ) ) ), 'seo.robots: unknown directive "" (known: index, noindex, follow, nofollow, noarchive, nosnippet, noimageindex)' ),
			'contradicting robots'      => array( array( 'fields' => array( 'seo' => array( 'robots' => 'index, noindex' ) ) ), 'seo.robots: contradicting directives' ),
			'javascript canonical'      => array( array( 'fields' => array( 'seo' => array( 'canonical' => 'javascript:alert(1)' ) ) ), 'seo.canonical: must be an http(s) URL' ),
			'file image'                => array( array( 'fields' => array( 'featured_image' => 'file:///etc/passwd' ) ), 'featured_image: must be an http(s) URL' ),
			'relative image path'       => array( array( 'fields' => array( 'featured_image' => '../../wp-config.php' ) ), 'featured_image: must be an http(s) URL' ),
			'unknown op'                => array( array( 'op' => 'delete' ), 'op: must be create, update or trash' ),
			'unknown kind'              => array( array( 'kind' => 'user' ), 'kind: must be post or term' ),
			'hostile type'              => array( array( 'type' => "post'; DROP TABLE wp_posts;--" ), 'type: must be a post type or taxonomy name' ),
			'type not synced'           => array( array( 'type' => 'attachment' ), 'type: post type "attachment" is not synced on this site' ),
			'wp_id as a string'         => array( array( 'wp_id' => '12' ), 'wp_id: must be a positive integer' ),
			'wp_id of another type'     => array( array( 'type' => 'page' ), 'wp_id: no page #%d on this site' ),
			'unknown policy'            => array( array( 'policy' => 'newest_wins' ), 'policy: must be manual, merge, platform_wins or wordpress_wins' ),
			'a created post in trash'   => array( array( 'op' => 'create', 'fields' => array( 'status' => 'trash' ) ), 'status: a new post cannot be created in the trash' ),
		);
	}

	/**
	 * @dataProvider malformed_changes
	 */
	public function test_a_malformed_or_hostile_change_is_rejected_with_its_path_and_writes_nothing( array $overrides, $reason ) {
		$this->start_two_way_sync();
		$post   = $this->post();
		$change = $this->backend->queue_change( array_merge( array( 'wp_id' => $post->ID, 'base' => array() ), $overrides ) );
		$posts  = (int) wp_count_posts()->publish;

		igny8_pull_changes();

		$this->assertSame( array( 'id' => $change['id'], 'status' => 'rejected', 'reason' => sprintf( $reason, $post->ID ) ), $this->reported()[ $change['id'] ] );
		$after = get_post( $post->ID );
		$this->assertSame( 'Old title', $after->post_title );
		$this->assertSame( $post->post_modified_gmt, $after->post_modified_gmt );
		$this->assertSame( $posts, (int) wp_count_posts()->publish );
	}

	public function test_invalid_utf8_is_rejected_by_path() {
		// JSON cannot carry it (the answer would not decode); a change built in PHP can.
		$change = igny8_parse_change( array( 'id' => 1, 'op' => 'update', 'type' => 'post', 'wp_id' => 1, 'fields' => array( 'excerpt' => "caf\xE9" ) ) );

		$this->assertSame( 'excerpt: not valid UTF-8', $change->get_error_message() );
	}

	public function test_markup_and_sql_in_values_are_stored_as_text_and_kses_cleans_what_it_must() {
		$this->start_two_way_sync();
		$author = $this->make_user( 'author' );
		update_option( 'igny8_publish_as', $author, false );
		$post  = $this->post( array( 'post_author' => $author ) );
		$sql   = "Robert'); DROP TABLE wp_posts;-- \\ \" %s";
		$title = '<img src=x onerror=alert(1)>Title';
		$this->backend->queue_change(
			array(
				'wp_id'  => $post->ID,
				'fields' => array( 'title' => $title, 'excerpt' => $sql, 'slug' => "../../etc/passwd'; --", 'seo' => array( 'title' => '<script>x</script>SEO %%title%% %da' ) ),
				'base'   => array( 'title' => 'Old title', 'excerpt' => '', 'slug' => $post->post_name, 'seo' => array( 'title' => null ) ),
			)
		);

		igny8_pull_changes();

		$after = get_post( $post->ID );
		$this->assertSame( 'Title', wp_strip_all_tags( $after->post_title ) );
		$this->assertStringNotContainsString( 'onerror', $after->post_title );
		$this->assertSame( $sql, $after->post_excerpt, 'SQL is just text' );
		$this->assertSame( 'etc-passwd', $after->post_name );
		$this->assertSame( 'SEO %%title%% %da', get_post_meta( $post->ID, '_yoast_wpseo_title', true ), 'tags go, template variables stay' );
		$this->assertNotNull( get_post( $post->ID ), 'the posts table is still there' );
	}

	public function test_changes_without_an_id_are_skipped_and_the_rest_applied() {
		$this->start_two_way_sync();
		$post = $this->post();
		$good = $this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'title' => 'Good' ), 'base' => array( 'title' => 'Old title' ) ) );
		$this->backend->on(
			self::PENDING,
			function () use ( $good ) {
				return array( 200, Igny8_Fake_Backend::ok( array( 'changes' => array( 'not a change', array( 'id' => 'x' ), array( 'id' => -3 ), $good ), 'more' => false ) ) );
			}
		);

		igny8_pull_changes();

		$this->assertSame( array( $good['id'] ), array_column( $this->backend->outcomes, 'id' ) );
		$this->assertSame( 'Good', get_post( $post->ID )->post_title );
	}

	public function test_the_settings_page_lists_the_last_outcomes_escaped() {
		$this->start_two_way_sync();
		$post = $this->post();
		$this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'title' => 'Shown' ), 'base' => array( 'title' => 'Old title' ) ) );
		$this->backend->queue_change( array( 'wp_id' => $post->ID, 'fields' => array( 'terms' => array( 'category' => array( 424242 ) ) ), 'base' => array() ) );
		igny8_changes_log_record( array( 'kind' => 'post', 'type' => 'post' ), array( 'id' => 5, 'status' => 'rejected', 'reason' => '<script>alert(1)</script>' ) );
		igny8_changes_log_record( array( 'kind' => 'post', 'type' => 'post' ), array( 'id' => 6, 'status' => 'refused', 'reason' => 'two_way_sync_disabled' ) );
		igny8_pull_changes();

		$html = $this->render_page();

		$this->assertStringContainsString( 'Last changes from IGNY8', $html );
		$this->assertStringContainsString( 'rejected: terms.category: term 424242 does not exist', $html );
		$this->assertStringContainsString( 'refused: Two-way sync is off', $html );
		$this->assertMatchesRegularExpression( '/igny8-change-applied.*Posts #' . $post->ID . '/s', $html );
		$this->assertStringNotContainsString( '<script>alert(1)</script>', $html );
		$this->assertStringContainsString( '&lt;script&gt;alert(1)&lt;/script&gt;', $html );
	}
}
