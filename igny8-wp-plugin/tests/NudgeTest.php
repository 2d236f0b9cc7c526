<?php
/**
 * The nudge (sync/receiver.php, sync/nudge.php): the secret and URL registered at connect, registered again
 * when it failed or rest_url() moved, and POST /wp-json/igny8/v1/nudge accepting only signed, fresh,
 * never-seen nudges, which make the site pull.
 *
 * @package Igny8
 */

class NudgeTest extends Igny8_TestCase {

	const RECEIVER = 'POST /api/v1/integration/integrations/9/changes/receiver/';
	const PENDING  = 'GET /api/v1/integration/integrations/9/changes/pending/?limit=50';

	protected function tearDown(): void {
		remove_action( 'shutdown', 'igny8_pull_at_shutdown', 1 );
		remove_filter( 'rest_pre_serve_request', 'igny8_serve_nudge_answer', 10 );
		parent::tearDown();
	}

	/**
	 * Sends a nudge to the route as IGNY8 would, signed with $secret unless given other headers.
	 *
	 * @param array       $body      Body.
	 * @param string|null $secret    Secret (default: the site's).
	 * @param int|null    $timestamp Unix time (default: now).
	 * @param array       $headers   Header overrides.
	 * @return WP_REST_Response
	 */
	private function nudge( array $body = array(), $secret = null, $timestamp = null, array $headers = array() ) {
		$raw       = (string) wp_json_encode( array_merge( array( 'integration_id' => 9, 'nonce' => bin2hex( random_bytes( 16 ) ), 'pending' => 1 ), $body ) );
		$timestamp = (string) ( null === $timestamp ? time() : $timestamp );
		$request   = new WP_REST_Request( 'POST', '/igny8/v1/nudge' );
		$request->set_body( $raw );
		$request->set_header( 'Content-Type', 'application/json' );
		$request->set_header( 'X-IGNY8-Timestamp', $timestamp );
		$request->set_header( 'X-IGNY8-Signature', 'sha256=' . hash_hmac( 'sha256', $timestamp . '.' . $raw, null === $secret ? igny8_nudge_secret() : $secret ) );
		foreach ( $headers as $name => $value ) {
			$request->set_header( $name, $value );
		}
		wp_set_current_user( 0 ); // IGNY8 is not signed in to WordPress.
		return rest_get_server()->dispatch( $request );
	}

	/* --------------------------------------------------------------------------------------------------
	 * The receiver
	 * ----------------------------------------------------------------------------------------------- */

	public function test_connect_registers_a_new_secret_and_the_nudge_url() {
		$this->connect_working();

		$secret = igny8_nudge_secret();
		$this->assertMatchesRegularExpression( '/^[0-9a-f]{64}$/', $secret );
		$this->assertSame( 'no', $this->autoload_of( 'igny8_nudge_secret' ) );
		$this->assertSame( array( array( 'url' => rest_url( 'igny8/v1/nudge' ), 'secret' => $secret ) ), $this->backend->receivers );
		$this->assertStringNotContainsString( $secret, $this->log() );
		$this->assertSame( $this->admin_id(), (int) get_option( 'igny8_publish_as' ), 'the connecting admin publishes by default' );

		$this->connect_working();

		$this->assertNotSame( $secret, igny8_nudge_secret(), 'a reconnect rotates the secret' );
		$this->assertSame( igny8_nudge_secret(), $this->backend->receivers[1]['secret'] );
	}

	public function test_a_failed_registration_does_not_fail_the_connect_and_is_retried_at_the_status_check() {
		$this->backend->working()->on( self::RECEIVER, 500, Igny8_Fake_Backend::fail( 'internal', 'Boom.' ) );

		$result = $this->connect();

		$this->assertIsArray( $result );
		$this->assertTrue( igny8_is_connected() );
		$this->assertCount( 1, $this->backend->requests_to( self::RECEIVER ), 'tried once while connecting' );
		$this->assertStringContainsString( 'Could not register the nudge receiver', $this->log() );
		$secret = igny8_nudge_secret();

		$this->backend->content_platform()->on( self::RECEIVER, array( $this->backend, 'changes_receiver' ) );
		igny8_poll_content_status( true );

		$this->assertSame( array( array( 'url' => rest_url( 'igny8/v1/nudge' ), 'secret' => $secret ) ), $this->backend->receivers, 'the same secret' );
		igny8_poll_content_status( true );
		$this->assertCount( 1, $this->backend->receivers, 'registered once' );
	}

	public function test_a_new_rest_url_is_registered_at_the_next_status_check() {
		$this->start_two_way_sync();
		$moved = static function ( $url ) {
			return str_replace( home_url(), 'https://moved.example', $url );
		};
		$this->add_test_filter( 'rest_url', $moved );

		igny8_poll_content_status( true );

		$this->assertCount( 2, $this->backend->receivers );
		$this->assertSame( 'https://moved.example/' . ( get_option( 'permalink_structure' ) ? 'wp-json/' : '?rest_route=/' ) . 'igny8/v1/nudge', $this->backend->receivers[1]['url'] );
	}

	public function test_without_pretty_permalinks_the_url_is_the_rest_route_form() {
		global $wp_rewrite;
		$structure = get_option( 'permalink_structure' );
		$wp_rewrite->set_permalink_structure( '' );
		try {
			$this->connect_working();
			$this->assertStringContainsString( '?rest_route=/igny8/v1/nudge', $this->backend->receivers[0]['url'] );
		} finally {
			$wp_rewrite->set_permalink_structure( $structure );
		}
	}

	public function test_disconnect_forgets_the_secret() {
		$this->connect_working();
		$this->submit_form( Igny8_Admin::ACTION_DISCONNECT );

		igny8_admin()->handle_disconnect();

		$this->assertSame( '', igny8_nudge_secret() );
		$this->assertFalse( get_option( 'igny8_receiver' ) );
	}

	/* --------------------------------------------------------------------------------------------------
	 * The route
	 * ----------------------------------------------------------------------------------------------- */

	public function test_the_route_is_registered_for_post_only() {
		$routes = rest_get_server()->get_routes( 'igny8/v1' );

		$this->assertArrayHasKey( '/igny8/v1/nudge', $routes );
		$this->assertSame( array( 'POST' => true ), $routes['/igny8/v1/nudge'][0]['methods'] );
	}

	public function test_a_valid_nudge_is_accepted_and_the_site_pulls_after_answering() {
		$this->start_two_way_sync();
		$post = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Before' ) );
		$this->backend->queue_change( array( 'wp_id' => $post, 'fields' => array( 'title' => 'Nudged' ), 'base' => array( 'title' => 'Before' ) ) );

		$response = $this->nudge();

		$this->assertSame( 202, $response->get_status() );
		$this->assertSame( array( 'accepted' => true ), $response->get_data() );
		$this->assertCount( 0, $this->backend->requests_to( self::PENDING ), 'nothing is pulled before the answer is sent' );
		$this->assertSame( 1, has_action( 'shutdown', 'igny8_pull_at_shutdown' ), 'before the queue\'s own shutdown send' );

		wp_set_current_user( $this->admin_id() );
		igny8_pull_at_shutdown();

		$this->assertCount( 1, $this->backend->requests_to( self::PENDING ) );
		$this->assertSame( 'Nudged', get_post( $post )->post_title );
		$this->assertContains( "upsert post post #$post", $this->queued(), 'the echo is queued, for the shutdown send that follows' );
	}

	/**
	 * @return array[] [how the nudge is wrong, the error code]
	 */
	public function bad_nudges() {
		return array(
			'wrong secret'          => array( array( 'secret' => str_repeat( 'ab', 32 ) ), 'igny8_bad_signature' ),
			'no signature'          => array( array( 'headers' => array( 'X-IGNY8-Signature' => '' ) ), 'igny8_bad_signature' ),
			'signature not hex'     => array( array( 'headers' => array( 'X-IGNY8-Signature' => 'sha256=' . str_repeat( 'zz', 32 ) ) ), 'igny8_bad_signature' ),
			'another algorithm'     => array( array( 'headers' => array( 'X-IGNY8-Signature' => 'sha1=' . str_repeat( 'ab', 20 ) ) ), 'igny8_bad_signature' ),
			'no timestamp'          => array( array( 'headers' => array( 'X-IGNY8-Timestamp' => '' ) ), 'igny8_bad_signature' ),
			'timestamp not a number' => array( array( 'headers' => array( 'X-IGNY8-Timestamp' => 'now' ) ), 'igny8_bad_signature' ),
			'six minutes old'       => array( array( 'timestamp' => time() - 360 ), 'igny8_stale_timestamp' ),
			'six minutes ahead'     => array( array( 'timestamp' => time() + 360 ), 'igny8_stale_timestamp' ),
			'no nonce'              => array( array( 'body' => array( 'nonce' => null ) ), 'igny8_bad_nonce' ),
			'nonce not hex'         => array( array( 'body' => array( 'nonce' => "x'; DROP TABLE wp_options;--" ) ), 'igny8_bad_nonce' ),
			'another integration'   => array( array( 'body' => array( 'integration_id' => 10 ) ), 'igny8_wrong_integration' ),
		);
	}

	/**
	 * @dataProvider bad_nudges
	 */
	public function test_a_bad_nudge_is_401_and_pulls_nothing( array $how, $code ) {
		$this->start_two_way_sync();
		$this->backend->queue_change( array( 'wp_id' => 1, 'fields' => array( 'title' => 'x' ) ) );

		$response = $this->nudge( isset( $how['body'] ) ? $how['body'] : array(), isset( $how['secret'] ) ? $how['secret'] : null, isset( $how['timestamp'] ) ? $how['timestamp'] : null, isset( $how['headers'] ) ? $how['headers'] : array() );

		$this->assertSame( 401, $response->get_status() );
		$this->assertSame( $code, $response->get_data()['code'] );
		$this->assertFalse( has_action( 'shutdown', 'igny8_pull_at_shutdown' ) );
		$this->assertFalse( igny8_changes_pull_again() );
		$this->assertSame( array(), $this->backend->requests );
	}

	public function test_a_replayed_nonce_is_401() {
		$this->start_two_way_sync();
		$nonce = bin2hex( random_bytes( 16 ) );

		$first = $this->nudge( array( 'nonce' => $nonce ) );
		remove_action( 'shutdown', 'igny8_pull_at_shutdown', 1 );
		igny8_changes_pull_again( false );
		$again = $this->nudge( array( 'nonce' => $nonce ), null, time() + 1 );

		$this->assertSame( 202, $first->get_status() );
		$this->assertSame( 401, $again->get_status() );
		$this->assertSame( 'igny8_replayed_nonce', $again->get_data()['code'] );
		$this->assertFalse( has_action( 'shutdown', 'igny8_pull_at_shutdown' ) );
		$this->assertFalse( igny8_changes_pull_again() );
	}

	public function test_a_nudge_on_a_disconnected_site_is_401() {
		$response = $this->nudge( array(), str_repeat( 'ab', 32 ) );

		$this->assertSame( 401, $response->get_status() );
		$this->assertSame( 'igny8_not_connected', $response->get_data()['code'] );
	}

	public function test_nonces_are_remembered_ten_minutes_and_pruned_on_write() {
		$this->start_two_way_sync();
		$now = time();

		$this->assertTrue( igny8_remember_nudge_nonce( str_repeat( 'a', 32 ), $now ) );
		$this->assertFalse( igny8_remember_nudge_nonce( str_repeat( 'a', 32 ), $now + 599 ) );
		$this->assertTrue( igny8_remember_nudge_nonce( str_repeat( 'b', 32 ), $now + 601 ) );

		$this->assertSame( array( str_repeat( 'b', 32 ) ), array_keys( get_option( 'igny8_nudge_nonces' ) ), 'the expired nonce is gone' );
		$this->assertSame( 'no', $this->autoload_of( 'igny8_nudge_nonces' ) );
	}

	public function test_the_answer_is_sent_with_its_length_so_the_platform_need_not_wait_for_the_pull() {
		$this->start_two_way_sync();
		$response = $this->nudge();
		$request  = new WP_REST_Request( 'POST', '/igny8/v1/nudge' );

		ob_start();
		$served = igny8_serve_nudge_answer( false, $response, $request, rest_get_server() );
		$body   = ob_get_clean();

		$this->assertTrue( $served );
		$this->assertSame( '{"accepted":true}', $body );
		$this->assertFalse( igny8_serve_nudge_answer( false, $response, new WP_REST_Request( 'GET', '/wp/v2/posts' ), rest_get_server() ), 'other routes are served by WordPress' );
	}
}
