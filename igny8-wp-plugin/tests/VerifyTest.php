<?php
/**
 * Integrity (sync/verify.php): bucket sums in one query per type, drill-down into differing buckets,
 * repair by re-queuing what the platform lacks, then done.
 *
 * @package Igny8
 */

class VerifyTest extends Igny8_TestCase {

	const VERIFY = 'POST /api/v1/integration/integrations/9/content/verify/';

	protected function setUp(): void {
		parent::setUp();
		$this->start_content_sync( array( 'post' => 1000, 'page' => 1000 ), array( 'category' => 100 ) );
	}

	public function test_bucket_sums_match_the_protocol_checksums_with_one_query_per_type() {
		global $wpdb;
		$ids = array();
		for ( $i = 0; $i < 5; $i++ ) {
			$ids[] = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 0 === $i ? 'draft' : 'publish', 'post_title' => "P $i" ) );
		}
		$expected = array();
		foreach ( $wpdb->get_col( "SELECT ID FROM {$wpdb->posts} WHERE post_type = 'post' AND post_status NOT IN ('auto-draft', 'inherit')" ) as $id ) {
			$start                         = intdiv( (int) $id, 10000 ) * 10000;
			$expected[ $start ]['start']   = $start;
			$expected[ $start ]['count']   = ( isset( $expected[ $start ]['count'] ) ? $expected[ $start ]['count'] : 0 ) + 1;
			$expected[ $start ]['sum']     = ( isset( $expected[ $start ]['sum'] ) ? $expected[ $start ]['sum'] : 0 ) + $this->documented_post_checksum( (int) $id );
		}
		$before = $wpdb->num_queries;

		$buckets = igny8_verify_buckets( 'post', 'post' );

		$this->assertSame( 1, $wpdb->num_queries - $before );
		$this->assertSame( array_values( $expected ), $buckets );
		$this->assertSame( array( array( 'start' => 0, 'count' => 1, 'sum' => $this->documented_term_checksum( 1, 'category' ) ) ), igny8_verify_buckets( 'term', 'category' ) );
	}

	public function test_a_synced_site_verifies_in_sync() {
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'One' ) );
		$this->run_full_sync();

		$result = igny8_run_verify();

		$this->assertSame( array( 'types' => 3, 'buckets' => 3, 'differing' => 0, 'resend' => 0, 'deleted' => 0, 'result' => 'in_sync' ), $result );
		$actions = array_column( $this->backend->verify_requests, 'action' );
		$this->assertSame( array( 'buckets', 'buckets', 'buckets', 'done' ), $actions );
		$this->assertSame( 10000, $this->backend->verify_requests[0]['bucket_size'] );
		$this->assertStringContainsString( '0 of 3 id ranges differed; 0 items sent again.', $this->render_page() );
	}

	public function test_differences_are_found_per_item_and_repaired() {
		global $wpdb;
		$kept    = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Kept' ) );
		$lost    = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Lost by the platform' ) );
		$changed = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Changed behind the hooks' ) );
		$this->run_full_sync();
		unset( $this->backend->held[ "post:post:$lost" ] );
		$this->backend->held['post:post:424242'] = array( 'kind' => 'post', 'type' => 'post', 'wp_id' => 424242, 'modified_gmt' => '2020-01-01 00:00:00', 'data' => array( 'status' => 'publish' ) );
		$wpdb->update( $wpdb->posts, array( 'post_status' => 'private' ), array( 'ID' => $changed ) );
		igny8_queue_clear();

		$result = igny8_run_verify();

		$this->assertSame( 3, $result['differing'], 'posts 0-9999, posts 420000-429999 (only the platform has one), pages' );
		$this->assertSame( 2, $result['resend'] );
		$this->assertSame( 1, $result['deleted'] );
		$this->assertEqualsCanonicalizing( array( "upsert post post #$lost", "upsert post page #$changed" ), $this->queued() );
		$items = array_values( array_filter( $this->backend->verify_requests, static function ( $r ) {
			return 'items' === $r['action'] && 'post' === $r['type'];
		} ) );
		$this->assertSame( 0, $items[0]['start'] );
		$this->assertContains( array( 'wp_id' => $kept, 'checksum' => $this->documented_post_checksum( $kept ) ), $items[0]['items'] );
		$this->assertSame( array( 'action' => 'items', 'kind' => 'post', 'type' => 'post', 'bucket_size' => 10000, 'start' => 420000, 'items' => array() ), $items[1], 'a bucket only the platform has: no items, its start says which' );

		igny8_run_send_queue();
		$this->backend->verify_requests = array();
		$this->assertSame( 0, igny8_run_verify()['differing'], 'repaired: a second check finds nothing' );
		list( $types, $taxonomies ) = array( array( 'post', 'page' ), array( 'category' ) );
		$this->assertSame( $this->wordpress_content( $types, $taxonomies ), $this->platform_content() );
	}

	public function test_the_platform_asks_for_a_verification_through_the_status() {
		$this->run_full_sync();
		$this->backend->content_status['verify_requested'] = true;

		igny8_poll_content_status( true );

		$this->assertSame( 'done', end( $this->backend->verify_requests )['action'] );
		$this->assertFalse( $this->backend->content_status['verify_requested'] );
		$this->assertSame( 'no', $this->autoload_of( 'igny8_last_verify' ) );
	}

	public function test_a_failed_verification_is_recorded() {
		$this->backend->on( self::VERIFY, 500, Igny8_Fake_Backend::fail( 'internal_error', 'Oops.' ) );

		$result = igny8_run_verify();

		$this->assertInstanceOf( WP_Error::class, $result );
		$this->assertStringContainsString( 'had an internal error', get_option( 'igny8_last_verify' )['error'] );
		$this->assertStringContainsString( 'failed: ', $this->render_page() );
	}

	public function test_differing_bucket_answers_are_read_in_either_shape() {
		$this->assertSame( array( 0, 10000 ), igny8_differing_buckets( array( 'differ' => array( array( 'start' => 0, 'count' => 1, 'sum' => 5 ), array( 'start' => 10000, 'count' => 0, 'sum' => 0 ) ) ) ) );
		$this->assertSame( array( 20000 ), igny8_differing_buckets( array( 'differing' => array( 20000, 'x' ) ) ) );
		$this->assertSame( array(), igny8_differing_buckets( array() ) );
	}
}
