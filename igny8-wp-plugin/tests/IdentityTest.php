<?php
/**
 * Staging copies and moved sites (sync/identity.php): the address connected from is remembered and
 * reported; a copy of the site at another address sends nothing and takes nothing until its owner chooses
 * on the settings page (a staging copy, the site moved, connect as a new site); the platform's own refusal
 * stops it too.
 *
 * @package Igny8
 */

class IdentityTest extends Igny8_TestCase {

	const STAGING  = 'https://staging.example.com';
	const MOVED    = 'POST /api/v1/integration/integrations/9/site-url/';
	const BATCH    = 'POST /api/v1/integration/integrations/9/content/batch/';
	const RECEIVER = 'POST /api/v1/integration/integrations/9/changes/receiver/';

	/**
	 * What the original site's address was (WP_HOME of the test install).
	 *
	 * @var string
	 */
	private $live;

	protected function setUp(): void {
		parent::setUp();
		$this->live = untrailingslashit( (string) get_option( 'home' ) );
	}

	protected function tearDown(): void {
		remove_action( 'shutdown', 'igny8_pull_at_shutdown', 1 );
		parent::tearDown();
	}

	/**
	 * The database now says the site runs at $home (and $siteurl), as after a host's one-click clone.
	 *
	 * @param string      $home    home.
	 * @param string|null $siteurl siteurl (default: $home).
	 */
	private function clone_to( $home, $siteurl = null ) {
		$siteurl = null === $siteurl ? $home : $siteurl;
		$this->add_test_filter( 'option_home', static function () use ( $home ) {
			return $home;
		}, 99 );
		$this->add_test_filter( 'option_siteurl', static function () use ( $siteurl ) {
			return $siteurl;
		}, 99 );
	}

	/**
	 * @return int A published post, queued.
	 */
	private function save_post( $title = 'Saved on the copy' ) {
		return (int) wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => $title ) );
	}

	/**
	 * The routes called that reach an integration (what a copy must never send).
	 *
	 * @return string[]
	 */
	private function integration_requests() {
		return array_values(
			array_filter(
				$this->backend->routes_called(),
				static function ( $route ) {
					return (bool) preg_match( '#/api/v1/integration/integrations/\d+/#', $route );
				}
			)
		);
	}

	/**
	 * The fake platform's answer to "the site moved": the integration with its new address.
	 *
	 * @return $this
	 */
	private function platform_follows_moves() {
		$this->backend->on(
			self::MOVED,
			static function ( array $request ) {
				return array( 200, Igny8_Fake_Backend::ok( array_merge( Igny8_Fake_Backend::integration( 9, 42 ), array( 'site_url' => $request['body']['site_url'] ) ) ) );
			}
		);
		return $this;
	}

	public function test_connecting_remembers_the_address_and_every_keyed_request_reports_it() {
		$this->backend->working();
		$this->connect();

		$identity = get_option( 'igny8_identity' );
		$this->assertSame( igny8_identity_normalize( $this->live ), $identity['home'] );
		$this->assertSame( $this->live, $identity['home_url'] );
		$this->assertSame( 'no', $this->autoload_of( 'igny8_identity' ) );
		$login = $this->backend->requests_to( 'POST /api/v1/auth/login/' )[0];
		$this->assertArrayNotHasKey( 'X-Igny8-Site-Url', $login['headers'], 'the sign-in carries no key and no address' );
		foreach ( $this->backend->requests as $request ) {
			if ( isset( $request['headers']['Authorization'] ) ) {
				$this->assertSame( $this->live, $request['headers']['X-Igny8-Site-Url'], $request['route'] );
			}
		}
		$this->assertSame( 'ok', igny8_identity_state()['status'] );
	}

	public function test_addresses_compare_without_scheme_www_case_default_port_and_trailing_slash() {
		$this->assertSame( 'example.com/blog', igny8_identity_normalize( 'https://WWW.Example.com:443/blog/' ) );
		$this->assertSame( 'example.com/blog', igny8_identity_normalize( 'http://example.com:80/blog' ) );
		$this->assertSame( 'example.com:8080', igny8_identity_normalize( 'http://example.com:8080/' ) );
		$this->assertNotSame( igny8_identity_normalize( 'https://example.com' ), igny8_identity_normalize( 'https://staging.example.com' ) );
		$this->assertNotSame( igny8_identity_normalize( 'https://example.com' ), igny8_identity_normalize( 'https://example.com/staging' ) );

		$this->start_content_sync();
		$parts = wp_parse_url( $this->live );
		$same  = 'https://www.' . $parts['host'] . ( isset( $parts['port'] ) ? ':' . $parts['port'] : '' ) . '/';
		$this->clone_to( strtoupper( $same ) );
		$this->assertSame( 'ok', igny8_identity_state()['status'], 'https, www. and a slash do not make a copy' );
		$this->save_post();
		igny8_send_due_queue( 5 );
		$this->assertCount( 1, $this->backend->requests_to( self::BATCH ) );
	}

	public function test_a_copy_at_another_address_sends_nothing_and_keeps_queuing() {
		$this->start_two_way_sync();
		$this->backend->changes_platform();
		$this->clone_to( self::STAGING );
		$post = $this->save_post();

		$this->assertContains( 'upsert post post #' . $post, $this->queued(), 'the change is kept for a move' );
		$queued = $this->queued();
		$sent = igny8_send_due_queue( 5 );
		$this->assertSame( 0, $sent['sent'] );
		$pending = igny8_send_batch_start( new Igny8_Batch(), null, 5 );
		$this->assertInstanceOf( 'Igny8_Async_Request', $pending );
		$this->assertFalse( $pending->is_async(), 'the background path is refused too' );
		$this->assertSame( 'igny8_site_identity', $pending->wait()->get_error_code() );
		$structure = igny8_sync_site_structure_to_backend();
		$this->assertSame( 'igny8_site_identity', $structure->get_error_code() );
		$this->assertSame( 'igny8_site_identity', igny8_poll_content_status( true )->get_error_code() );
		$this->assertSame( 0, igny8_pull_changes()['pulled'] );
		$this->assertTrue( is_wp_error( igny8_run_verify() ) );
		igny8_maybe_register_receiver();

		$this->assertSame( array(), $this->integration_requests(), 'nothing reached IGNY8' );
		$this->assertSame( $queued, $this->queued() );
		$error = get_option( 'igny8_content_last_error' );
		$this->assertSame( 'igny8_site_identity', $error['code'] );
		$this->assertStringContainsString( self::STAGING, $error['message'] );
		$this->assertStringContainsString( $this->live, $error['message'] );
		$this->assertStringContainsString( 'Settings → IGNY8 API', $error['message'] );
	}

	public function test_a_copy_whose_siteurl_alone_moved_is_a_copy_too() {
		$this->start_content_sync();
		$this->clone_to( $this->live, self::STAGING . '/wp' );

		$this->assertSame( 'mismatch', igny8_identity_state()['status'] );
		$this->save_post();
		igny8_send_due_queue( 5 );
		$this->assertSame( array(), $this->integration_requests() );
	}

	public function test_a_copy_takes_no_nudge() {
		$this->start_two_way_sync();
		$this->clone_to( self::STAGING );
		$raw       = (string) wp_json_encode( array( 'integration_id' => 9, 'nonce' => bin2hex( random_bytes( 16 ) ) ) );
		$timestamp = (string) time();

		$verdict = igny8_verify_nudge( $timestamp, 'sha256=' . hash_hmac( 'sha256', $timestamp . '.' . $raw, igny8_nudge_secret() ), $raw );

		$this->assertInstanceOf( 'WP_Error', $verdict );
		$this->assertSame( 409, $verdict->get_error_data()['status'] );
		$this->assertSame( array(), (array) get_option( 'igny8_nudge_nonces', array() ), 'its nonce is not spent' );
		$forged = igny8_verify_nudge( $timestamp, 'sha256=' . str_repeat( '0', 64 ), $raw );
		$this->assertSame( array( 'igny8_bad_signature', 401 ), array( $forged->get_error_code(), $forged->get_error_data()['status'] ), 'a forged nudge is refused as forged' );
	}

	public function test_the_settings_page_and_other_admin_pages_offer_the_three_choices() {
		$this->start_content_sync();
		$this->clone_to( self::STAGING );

		$html = $this->render_page();

		$this->assertStringContainsString( 'igny8-site-identity-mismatch', $html );
		$this->assertStringContainsString( 'This site runs at another address than the one it was connected from.', $html );
		$this->assertStringContainsString( esc_html( self::STAGING ), $html );
		foreach ( array( Igny8_Admin::ACTION_SITE_STAGING, Igny8_Admin::ACTION_SITE_MOVED, Igny8_Admin::ACTION_SITE_NEW ) as $action ) {
			$this->assertStringContainsString( 'name="action" value="' . $action . '"', $html );
			$this->assertStringContainsString( 'name="' . $action . '_nonce"', $html );
		}
		foreach ( array( 'This is a staging copy', 'The site moved', 'Connect as a new site' ) as $label ) {
			$this->assertStringContainsString( 'value="' . $label . '"', $html );
		}

		ob_start();
		igny8_identity_admin_notice();
		$notice = (string) ob_get_clean();
		$this->assertStringContainsString( 'notice-warning', $notice );
		$this->assertStringContainsString( 'page=igny8-settings', $notice );
		wp_set_current_user( $this->make_user( 'editor' ) );
		ob_start();
		igny8_identity_admin_notice();
		$this->assertSame( '', (string) ob_get_clean(), 'only those who may choose are asked' );
	}

	public function test_an_address_with_markup_is_shown_escaped() {
		$this->start_content_sync();
		$this->clone_to( 'https://staging.example.com/<script>alert(1)</script>' );

		$html = $this->render_page();
		ob_start();
		igny8_identity_admin_notice();
		$html .= (string) ob_get_clean();

		$this->assertStringNotContainsString( '<script>alert(1)', $html );
		$this->assertStringContainsString( '&lt;script&gt;', $html );
		$this->assertSame( '', igny8_identity_header_url(), 'an address that is not plain is not sent as one' );
	}

	public function test_choices_need_the_capability_the_nonce_and_a_post() {
		$this->start_content_sync();
		$this->clone_to( self::STAGING );
		foreach ( array( Igny8_Admin::ACTION_SITE_STAGING, Igny8_Admin::ACTION_SITE_MOVED, Igny8_Admin::ACTION_SITE_NEW ) as $action ) {
			$this->submit_form( $action, array(), false );
			$this->assertSame( 'igny8_bad_nonce', igny8_admin()->handle_site_identity( $action )->get_error_code(), $action );
			wp_set_current_user( $this->make_user( 'editor' ) );
			$this->submit_form( $action );
			$this->assertSame( 'igny8_forbidden', igny8_admin()->handle_site_identity( $action )->get_error_code(), $action );
			wp_set_current_user( $this->admin_id() );
			$this->submit_form( $action );
			$_SERVER['REQUEST_METHOD'] = 'GET';
			$this->assertSame( 'igny8_bad_method', igny8_admin()->handle_site_identity( $action )->get_error_code(), $action );
		}
		$this->submit_form( Igny8_Admin::ACTION_SITE_STAGING );
		$this->assertSame( 'igny8_bad_nonce', igny8_admin()->handle_site_identity( Igny8_Admin::ACTION_SITE_NEW )->get_error_code(), 'one choice\'s nonce is not another\'s' );
		$this->assertSame( 'mismatch', igny8_identity_state()['status'], 'nothing was chosen' );
		$this->assertTrue( igny8_is_connected() );
		$this->assertSame( array(), $this->integration_requests() );
	}

	public function test_a_staging_copy_stays_silent_and_leaves_the_original_untouched() {
		$this->start_content_sync();
		$this->clone_to( self::STAGING );

		$this->submit_form( Igny8_Admin::ACTION_SITE_STAGING );
		$this->assertTrue( igny8_admin()->handle_site_identity( Igny8_Admin::ACTION_SITE_STAGING ) );
		$this->assertStringContainsString( 'success: Noted: this is a staging copy.', implode( "\n", $this->notices() ) );

		$this->assertSame( 'staging', igny8_identity_state()['status'] );
		$this->save_post();
		igny8_send_due_queue( 5 );
		igny8_sync_site_structure_to_backend();
		igny8_disconnect_site();
		$this->assertSame( array(), $this->integration_requests(), 'not even a "disconnected" push reaches the original integration' );
	}

	public function test_a_staging_copy_is_reminded_on_the_settings_page_only() {
		$this->start_content_sync();
		$this->clone_to( self::STAGING );
		$this->submit_form( Igny8_Admin::ACTION_SITE_STAGING );
		igny8_admin()->handle_site_identity( Igny8_Admin::ACTION_SITE_STAGING );
		$html = $this->render_page();
		$this->assertStringContainsString( 'igny8-site-identity-staging', $html );
		$this->assertStringContainsString( 'Staging copy: nothing is synced from here.', $html );
		$this->assertStringNotContainsString( 'value="This is a staging copy"', $html );
		$this->assertStringContainsString( 'value="The site moved"', $html, 'the owner can still change their mind' );
		ob_start();
		igny8_identity_admin_notice();
		$this->assertSame( '', (string) ob_get_clean(), 'a decided copy does not nag on every page' );
	}

	public function test_the_copy_pushed_back_to_the_original_address_syncs_again() {
		$this->start_content_sync();
		$identity            = get_option( 'igny8_identity' );
		$identity['staging'] = array( 'home' => igny8_identity_normalize( self::STAGING ), 'time' => time() );
		update_option( 'igny8_identity', $identity, false );

		$this->assertSame( 'ok', igny8_identity_state()['status'], 'at the address it connected from, the site is itself' );
		$this->save_post();
		igny8_send_due_queue( 5 );
		$this->assertCount( 1, $this->backend->requests_to( self::BATCH ) );
	}

	public function test_the_site_moved_tells_the_platform_and_sends_what_waited() {
		$this->start_two_way_sync();
		$this->platform_follows_moves();
		$this->clone_to( self::STAGING );
		$post = $this->save_post( 'Written while moving' );
		igny8_send_due_queue( 5 );
		$this->assertNotEmpty( get_option( 'igny8_send_backoff' ), 'the refusal paused sending' );

		$this->submit_form( Igny8_Admin::ACTION_SITE_MOVED );
		$result = igny8_admin()->handle_site_identity( Igny8_Admin::ACTION_SITE_MOVED );

		$this->assertIsArray( $result );
		$moved = $this->backend->requests_to( self::MOVED );
		$this->assertCount( 1, $moved );
		$this->assertSame( array( 'site_url' => self::STAGING ), $moved[0]['body'] );
		$this->assertSame( self::STAGING, $moved[0]['headers']['X-Igny8-Site-Url'] );
		$this->assertSame( 'Bearer igny8_live_abc123secret', $moved[0]['headers']['Authorization'] );
		$this->assertStringContainsString( 'success: IGNY8 now knows this site at ' . self::STAGING, implode( "\n", $this->notices() ) );
		$this->assertSame( 'ok', igny8_identity_state()['status'] );
		$this->assertSame( self::STAGING, get_option( 'igny8_identity' )['home_url'] );
		$this->assertFalse( get_option( 'igny8_send_backoff' ) );
		$this->assertSame( rest_url( 'igny8/v1/nudge' ), end( $this->backend->receivers )['url'], 'nudges go to the new address' );
		$this->assertStringStartsWith( self::STAGING, rest_url( 'igny8/v1/nudge' ) );
		$this->assertCount( 1, $this->backend->requests_to( 'POST /api/v1/integration/integrations/9/update-structure/' ) );

		igny8_send_due_queue( 5 );
		$this->assertArrayHasKey( 'post:post:' . $post, $this->backend->held, 'the change made meanwhile arrived' );
		$this->assertSame( array(), $this->queued() );
	}

	public function test_a_move_the_platform_refuses_keeps_the_copy_silent() {
		$this->start_content_sync();
		$this->backend->on( self::MOVED, 403, Igny8_Fake_Backend::fail( 'site_inactive', 'This site is deactivated in IGNY8.' ) );
		$this->clone_to( self::STAGING );

		$this->submit_form( Igny8_Admin::ACTION_SITE_MOVED );
		$result = igny8_admin()->handle_site_identity( Igny8_Admin::ACTION_SITE_MOVED );

		$this->assertSame( 'site_inactive', $result->get_error_code() );
		$this->assertStringContainsString( 'error: IGNY8 was not told that the site moved', implode( "\n", $this->notices() ) );
		$this->assertSame( 'mismatch', igny8_identity_state()['status'] );
		$this->save_post();
		igny8_send_due_queue( 5 );
		$this->assertSame( array( self::MOVED ), $this->integration_requests() );
	}

	public function test_connect_as_a_new_site_forgets_the_connection_here_only() {
		$this->start_content_sync();
		$this->clone_to( self::STAGING );
		$this->save_post();

		$this->submit_form( Igny8_Admin::ACTION_SITE_NEW );
		$this->assertTrue( igny8_admin()->handle_site_identity( Igny8_Admin::ACTION_SITE_NEW ) );

		$this->assertFalse( igny8_is_connected() );
		$this->assertSame( array(), $this->integration_requests(), 'the original site\'s integration was not told anything' );
		$this->assertFalse( get_option( 'igny8_identity' ) );
		$this->assertSame( array(), $this->queued() );
		$this->assertStringContainsString( 'name="igny8_connect_nonce"', $this->render_page() );

		// Connected again, with another site's key: this address is its own.
		$this->backend->working( array( 'id' => 43, 'url' => self::STAGING ) );
		$this->backend->on( 'GET /api/v1/integration/integrations/?site=43', 200, Igny8_Fake_Backend::ok( array() ) );
		$result = $this->connect( array( 'igny8_api_key' => 'igny8_stage_other0key' ) );
		$this->assertIsArray( $result );
		$this->assertSame( 'ok', igny8_identity_state()['status'] );
		$this->assertSame( self::STAGING, get_option( 'igny8_identity' )['home_url'] );
	}

	public function test_the_platforms_refusal_stops_sending_until_the_owner_chooses() {
		$this->start_content_sync();
		$said = 'IGNY8 knows this site at https://live.example.com, but this copy of it reports ' . $this->live . '.';
		$this->backend->on( 'GET /api/v1/integration/integrations/9/content/status/', 409, Igny8_Fake_Backend::fail( 'site_url_mismatch', $said ) );

		$status = igny8_poll_content_status( true );

		$this->assertSame( 'site_url_mismatch', $status->get_error_code() );
		$this->assertStringContainsString( $said, $status->get_error_message() );
		$state = igny8_identity_state();
		$this->assertSame( array( 'mismatch', 'platform', $said ), array( $state['status'], $state['why'], $state['refused'] ) );
		$this->backend->requests = array();
		$this->save_post();
		igny8_send_due_queue( 5 );
		$this->assertSame( array(), $this->integration_requests() );
		$html = $this->render_page();
		$this->assertStringContainsString( esc_html( 'IGNY8 says: ' . $said ), $html );
		$this->assertStringContainsString( 'value="The site moved"', $html );
	}

	public function test_sites_connected_by_an_older_version_take_their_address_as_their_own() {
		$this->start_content_sync();
		delete_option( 'igny8_identity' );

		$this->assertSame( 'ok', igny8_identity_state()['status'] );
		$this->assertSame( $this->live, get_option( 'igny8_identity' )['home_url'] );
	}

	public function test_a_host_can_declare_a_staging_copy_whatever_its_address() {
		$this->start_content_sync();
		$this->add_test_filter( 'igny8_staging_mode', '__return_true' );

		$this->assertSame( 'staging', igny8_identity_state()['status'] );
		$this->save_post();
		igny8_send_due_queue( 5 );
		$this->assertSame( array(), $this->integration_requests() );
		$html = $this->render_page();
		$this->assertStringContainsString( 'IGNY8_STAGING_MODE', $html );
		$this->assertStringNotContainsString( 'value="The site moved"', $html, 'nothing to choose: the host decided' );
	}
}
