<?php
/**
 * Connecting from Settings → IGNY8 API: handle_connection() against a fake backend.
 *
 * @package Igny8
 */

class ConnectionTest extends Igny8_TestCase {

	public function test_connect_stores_the_connection_and_pushes_the_structure() {
		$this->backend->working();

		$result = $this->connect();

		$this->assertIsArray( $result, is_wp_error( $result ) ? $result->get_error_message() : '' );
		$this->assertSame(
			array(
				'POST /api/v1/auth/login/',
				'GET /api/v1/auth/sites/',
				'GET /api/v1/integration/integrations/?site=42',
				'POST /api/v1/integration/integrations/',
				'POST /api/v1/integration/integrations/9/changes/receiver/',
				'POST /api/v1/integration/integrations/9/update-structure/',
			),
			$this->backend->routes_called()
		);
		$this->assertSame( Igny8_Fake_Backend::BASE . '/api/v1/auth/login/', $this->backend->requests[0]['url'] );
		$this->assertSame( array( 'email' => 'owner@example.com', 'password' => 'correct horse battery staple' ), $this->backend->requests[0]['body'] );
		$this->assertArrayNotHasKey( 'Authorization', $this->backend->requests[0]['headers'] );
		foreach ( array_slice( $this->backend->requests, 1 ) as $request ) {
			$this->assertSame( 'Bearer igny8_live_abc123secret', $request['headers']['Authorization'], $request['route'] );
			$this->assertGreaterThan( 0, $request['timeout'] );
		}
		$this->assertSame( array( 'site' => 42, 'platform' => 'wordpress' ), $this->backend->requests[3]['body'] );

		$this->assertSame( 42, (int) get_option( 'igny8_site_id' ) );
		$this->assertSame( 'My Blog', get_option( 'igny8_site_name' ) );
		$this->assertSame( 9, (int) get_option( 'igny8_integration_id' ) );
		foreach ( array( 'igny8_access_token', 'igny8_refresh_token', 'igny8_access_expires_at' ) as $name ) {
			$this->assertFalse( get_option( $name ), "$name: the account's sign-in is not kept" );
		}
		$found = (int) $GLOBALS['wpdb']->get_var( "SELECT COUNT(*) FROM {$GLOBALS['wpdb']->options} WHERE option_value LIKE '%access-token-1%' OR option_value LIKE '%refresh-token-1%'" );
		$this->assertSame( 0, $found );
		$this->assertSame( 'igny8_live_abc123secret', get_option( 'igny8_api_key' ) );
		$this->assertSame( Igny8_Fake_Backend::BASE, get_option( 'igny8_api_base' ) );
		$this->assertSame( 'owner@example.com', get_option( 'igny8_email' ) );
		$this->assertEqualsWithDelta( time(), (int) get_option( 'igny8_last_structure_sync' ), 5 );
		$this->assertFalse( get_option( 'igny8_last_error' ) );

		$structure = igny8_get_site_structure();
		$notices   = $this->notices();
		$this->assertSame(
			array(
				sprintf(
					'success: Successfully connected to IGNY8 as site "My Blog" (#42). Site structure sent: %d post types, %d taxonomies.',
					count( $structure['post_types'] ),
					count( $structure['taxonomies'] )
				),
			),
			$notices
		);
	}

	public function test_the_structure_push_carries_the_contract_fields() {
		$this->backend->working();
		update_option( 'igny8_two_way_sync_enabled', 1 );

		$this->connect();

		$push = $this->backend->requests_to( 'POST /api/v1/integration/integrations/9/update-structure/' );
		$this->assertCount( 1, $push );
		$body = $push[0]['body'];
		$this->assertSame( array( 'post_types', 'taxonomies', 'plugin_connection_enabled', 'two_way_sync_enabled', 'timestamp' ), array_keys( $body ) );
		$this->assertSame( igny8_get_site_structure()['post_types'], $body['post_types'] );
		$this->assertSame( igny8_get_site_structure()['taxonomies'], $body['taxonomies'] );
		$this->assertTrue( $body['plugin_connection_enabled'] );
		$this->assertTrue( $body['two_way_sync_enabled'] );
		$this->assertMatchesRegularExpression( '/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/', $body['timestamp'] );
		$this->assertEqualsWithDelta( time(), strtotime( $body['timestamp'] ), 5 );
		$this->assertSame( 'application/json', $push[0]['headers']['Content-Type'] );
	}

	public function test_two_way_sync_is_off_unless_switched_on() {
		$this->backend->working();

		$this->connect();

		$push = $this->backend->requests_to( 'POST /api/v1/integration/integrations/9/update-structure/' );
		$this->assertFalse( $push[0]['body']['two_way_sync_enabled'] );
	}

	public function test_an_existing_integration_is_reused_not_created() {
		$this->backend->working()
			->on( 'GET /api/v1/integration/integrations/?site=42', 200, Igny8_Fake_Backend::ok( array( Igny8_Fake_Backend::integration( 9, 42 ) ) ) );

		$result = $this->connect();

		$this->assertSame( 9, $result['integration_id'] );
		$this->assertCount( 0, $this->backend->requests_to( 'POST /api/v1/integration/integrations/' ) );
	}

	public function test_secrets_and_connection_options_are_not_autoloaded_and_the_password_is_never_stored() {
		global $wpdb;
		$this->backend->working();

		$this->connect();

		foreach ( igny8_connection_option_names() as $name ) {
			if ( in_array( $name, array_merge( array( 'igny8_last_error' ), igny8_account_token_option_names() ), true ) && null === $this->autoload_of( $name ) ) {
				continue;
			}
			$this->assertSame( 'no', $this->autoload_of( $name ), $name );
		}
		foreach ( array( 'igny8_api_key', 'igny8_api_base', 'igny8_email' ) as $name ) {
			$this->assertSame( 'no', $this->autoload_of( $name ), $name );
		}
		$found = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$wpdb->options} WHERE option_value LIKE %s", '%' . $wpdb->esc_like( 'correct horse battery staple' ) . '%' ) );
		$this->assertSame( 0, $found, 'the password must not be stored in any option' );
		$this->assertStringNotContainsString( 'correct horse', $this->log() );
		$this->assertStringNotContainsString( 'igny8_live_abc123secret', $this->log() );
	}

	public function test_secrets_written_over_autoloaded_leftovers_become_not_autoloaded() {
		add_option( 'igny8_api_key', 'old-key', '', 'yes' );
		$this->backend->working();

		$this->connect();

		$this->assertSame( 'no', $this->autoload_of( 'igny8_api_key' ) );
	}

	public function test_an_empty_key_field_reuses_the_stored_key() {
		$this->connect_working();

		$result = $this->connect( array( 'igny8_api_key' => '' ) );

		$this->assertIsArray( $result );
		$this->assertSame( 'Bearer igny8_live_abc123secret', $this->backend->requests_to( 'GET /api/v1/auth/sites/' )[0]['headers']['Authorization'] );
	}

	/**
	 * Each way connecting can fail: the notice a site owner sees, and the backend answer behind it.
	 *
	 * @return array[]
	 */
	public function failures() {
		$login = 'POST /api/v1/auth/login/';
		$sites = 'GET /api/v1/auth/sites/';
		$list  = 'GET /api/v1/integration/integrations/?site=42';
		return array(
			'backend unreachable' => array(
				$login,
				new WP_Error( 'http_request_failed', 'cURL error 7: Failed to connect to igny8.test port 443: Connection refused' ),
				null,
				array(),
				'igny8_unreachable',
				'Could not reach the IGNY8 backend at https://igny8.test (cURL error 7: Failed to connect to igny8.test port 443: Connection refused). Check the backend URL and that the server is running.',
			),
			'wrong password' => array(
				$login,
				401,
				Igny8_Fake_Backend::fail( 'invalid_credentials', 'Invalid email or password.' ),
				array(),
				'invalid_credentials',
				'IGNY8 did not accept this email and password. Check them and try again.',
			),
			'unknown API key' => array(
				$sites,
				401,
				Igny8_Fake_Backend::fail( 'invalid_token', 'Invalid token.' ),
				array(),
				'invalid_token',
				'IGNY8 does not recognise this API key. Copy the key again from the site\'s API keys page in IGNY8.',
			),
			'revoked API key' => array(
				$sites,
				403,
				Igny8_Fake_Backend::fail( 'api_key_revoked', 'This API key has been revoked.' ),
				array(),
				'api_key_revoked',
				'This API key has been revoked in IGNY8. Create a new key for the site in IGNY8 and connect again with it.',
			),
			'inactive site' => array(
				$sites,
				200,
				Igny8_Fake_Backend::ok( array( array( 'id' => 42, 'account_id' => 7, 'name' => 'My Blog', 'url' => 'http://x.test', 'is_active' => false ) ) ),
				array(),
				'igny8_site_inactive',
				'The site "My Blog" is deactivated in IGNY8, so it cannot be connected. Reactivate it in IGNY8, then connect again.',
			),
			'rate limited' => array(
				$login,
				429,
				Igny8_Fake_Backend::fail( 'rate_limited', 'Too many attempts.' ),
				array( 'retry-after' => '120' ),
				'rate_limited',
				'Too many attempts: IGNY8 asks to wait 120 seconds before trying again.',
			),
			'server error' => array(
				$login,
				500,
				Igny8_Fake_Backend::fail( 'internal_error', 'Internal server error.' ),
				array(),
				'internal_error',
				'The IGNY8 backend at https://igny8.test had an internal error (HTTP 500). Try again later.',
			),
			'integration lookup fails' => array(
				$list,
				500,
				Igny8_Fake_Backend::fail( 'internal_error', 'Internal server error.' ),
				array(),
				'internal_error',
				'Could not find or create the site\'s WordPress integration in IGNY8: The IGNY8 backend at https://igny8.test had an internal error (HTTP 500). Try again later.',
			),
			'integration creation refused' => array(
				'POST /api/v1/integration/integrations/',
				403,
				Igny8_Fake_Backend::fail( 'site_inactive', 'The site is inactive.' ),
				array(),
				'site_inactive',
				'Could not find or create the site\'s WordPress integration in IGNY8: This site is deactivated in IGNY8. Reactivate it in IGNY8, then try again.',
			),
			'not an IGNY8 server' => array(
				$login,
				200,
				'<html>Welcome to nginx</html>',
				array(),
				'igny8_bad_answer',
				'The server at https://igny8.test did not answer like an IGNY8 backend (HTTP 200: the answer is not JSON in the IGNY8 format). Check the backend URL.',
			),
			'backend URL redirects' => array(
				$login,
				301,
				'',
				array( 'location' => 'https://igny8.test/api/v1/auth/login/' ),
				'igny8_redirected',
				'The backend URL https://igny8.test redirects to https://igny8.test/api/v1/auth/login/. Enter the address IGNY8 is served at (for example https:// instead of http://).',
			),
			'key of another account' => array(
				$sites,
				200,
				Igny8_Fake_Backend::ok( array( array( 'id' => 42, 'account_id' => 8, 'name' => 'Their Blog', 'url' => 'http://x.test', 'is_active' => true ) ) ),
				array(),
				'igny8_account_mismatch',
				'The API key belongs to the site "Their Blog" of another IGNY8 account than owner@example.com. Use a key of one of your own sites.',
			),
		);
	}

	/**
	 * @dataProvider failures
	 */
	public function test_a_failed_connect_says_why_and_stores_nothing_when_not_connected( $route, $status, $body, $headers, $code, $message ) {
		$this->backend->working()->on( $route, $status, $body, $headers );
		$before = $this->stored_options();

		$result = $this->connect();

		$this->assertWPError( $result, $code );
		$this->assertSame( array( 'error: ' . $message ), $this->notices() );
		$this->assertSame( $before, $this->stored_options() );
		$this->assertFalse( wp_next_scheduled( 'igny8_sync_site_structure' ) );
		$this->assertCount( 0, $this->backend->requests_to( 'POST /api/v1/integration/integrations/9/update-structure/' ) );
	}

	/**
	 * @dataProvider failures
	 */
	public function test_a_failed_reconnect_leaves_the_working_connection_untouched( $route, $status, $body, $headers, $code, $message ) {
		$this->connect_working();
		$scheduled = wp_next_scheduled( 'igny8_sync_site_structure' );
		$before    = $this->stored_options();
		$this->backend->working()->on( $route, $status, $body, $headers );

		$result = $this->connect(
			array(
				'igny8_email'   => 'someone@example.com',
				'igny8_api_key' => 'igny8_live_other',
			)
		);

		$this->assertWPError( $result, $code );
		$this->assertSame( $before, $this->stored_options() );
		$this->assertSame( $scheduled, wp_next_scheduled( 'igny8_sync_site_structure' ) );
		$this->assertTrue( igny8_is_connected() );
	}

	public function test_a_failed_first_push_still_connects_and_says_so() {
		$this->backend->working()->on( 'POST /api/v1/integration/integrations/9/update-structure/', 422, array( 'success' => false, 'error' => 'Invalid structure.', 'code' => 'validation_error', 'errors' => array( 'post_types.x' => array( 'bad' ) ) ) );

		$result = $this->connect();

		$this->assertIsArray( $result );
		$this->assertTrue( igny8_is_connected() );
		$this->assertSame( array( 'warning: Connected to IGNY8 as site "My Blog" (#42), but the first structure sync failed: IGNY8 rejected the data this site sent: Invalid structure.' ), $this->notices() );
		$this->assertSame( 'validation_error', get_option( 'igny8_last_error' )['code'] );
	}

	public function test_a_site_url_that_differs_from_this_site_is_pointed_out() {
		$this->backend->working( array( 'url' => 'https://old-domain.example' ) );

		$this->connect();

		$notices = $this->notices();
		$this->assertCount( 2, $notices );
		$this->assertStringContainsString( 'IGNY8 has this site\'s address as https://old-domain.example, but WordPress runs at ' . home_url(), $notices[1] );
	}

	public function test_connect_is_refused_without_a_nonce() {
		$this->backend->working();
		$before = $this->stored_options();
		$this->submit_form( Igny8_Admin::ACTION_CONNECT, array( 'igny8_email' => 'owner@example.com', 'igny8_password' => 'pw', 'igny8_api_key' => 'k' ), false );

		$result = igny8_admin()->handle_connection();

		$this->assertWPError( $result, 'igny8_bad_nonce' );
		$this->assertSame( array(), $this->backend->requests );
		$this->assertSame( $before, $this->stored_options() );
	}

	public function test_connect_is_refused_with_the_nonce_of_another_action() {
		$this->backend->working();
		$this->submit_form( Igny8_Admin::ACTION_CONNECT, array( 'igny8_email' => 'owner@example.com', 'igny8_password' => 'pw', 'igny8_api_key' => 'k' ), false );
		$_POST['igny8_connect_nonce'] = wp_create_nonce( Igny8_Admin::ACTION_DISCONNECT );

		$this->assertWPError( igny8_admin()->handle_connection(), 'igny8_bad_nonce' );
		$this->assertSame( array(), $this->backend->requests );
	}

	public function test_connect_is_refused_for_a_user_who_cannot_manage_options() {
		$this->backend->working();
		$editor = wp_insert_user( array( 'user_login' => 'igny8_editor', 'user_pass' => 'x', 'role' => 'editor', 'user_email' => 'ed@example.com' ) );
		wp_set_current_user( $editor );
		$before = $this->stored_options();

		$result = $this->connect();

		$this->assertWPError( $result, 'igny8_forbidden' );
		$this->assertSame( array(), $this->backend->requests );
		$this->assertSame( $before, $this->stored_options() );
	}

	public function test_connect_is_refused_on_a_get_request() {
		$this->backend->working();
		$this->submit_form( Igny8_Admin::ACTION_CONNECT, array( 'igny8_email' => 'owner@example.com', 'igny8_password' => 'pw', 'igny8_api_key' => 'k' ) );
		$_SERVER['REQUEST_METHOD'] = 'GET';

		$this->assertWPError( igny8_admin()->handle_connection(), 'igny8_bad_method' );
		$this->assertSame( array(), $this->backend->requests );
	}

	/**
	 * @return array[]
	 */
	public function hostile_backend_urls() {
		return array(
			'javascript'      => array( 'javascript:alert(1)' ),
			'ftp'             => array( 'ftp://igny8.test' ),
			'file'            => array( 'file:///etc/passwd' ),
			'no host'         => array( 'https://' ),
			'bare word'       => array( 'igny8' ),
			'markup'          => array( 'https://igny8.test/"><script>alert(1)</script>' ),
			'credentials'     => array( 'https://user:pass@igny8.test' ),
			'query'           => array( 'https://igny8.test/?next=evil' ),
			'space'           => array( 'https://igny8 .test' ),
			'data'            => array( 'data:text/html,<b>x</b>' ),
		);
	}

	/**
	 * @dataProvider hostile_backend_urls
	 */
	public function test_backend_url_must_be_plain_http_or_https( $url ) {
		$this->backend->working();
		$before = $this->stored_options();

		$result = $this->connect( array( 'igny8_api_base' => $url ) );

		$this->assertWPError( $result, 'igny8_invalid_url' );
		$this->assertSame( array(), $this->backend->requests, 'nothing may be sent to an invalid URL' );
		$this->assertSame( $before, $this->stored_options() );
	}

	public function test_backend_url_accepts_http_https_ports_and_paths() {
		$this->assertSame( 'http://127.0.0.1:8000', igny8_sanitize_api_base( ' http://127.0.0.1:8000/ ' ) );
		$this->assertSame( 'https://igny8.example.com/platform', igny8_sanitize_api_base( 'https://igny8.example.com/platform/' ) );
		$this->assertSame( 'https://app.igny8.com', igny8_sanitize_api_base( '' ), 'empty means the default backend' );
	}

	public function test_plain_http_backends_are_accepted_only_on_local_and_private_hosts() {
		foreach ( array( 'http://127.0.0.1:8000', 'http://localhost:8000', 'http://[::1]:8000', 'http://10.1.2.3', 'http://172.16.0.9:8080', 'http://192.168.1.5', 'http://169.254.1.1', 'http://igny8:8000', 'http://app.localhost', 'http://igny8.internal', 'http://igny8.home.arpa' ) as $url ) {
			$this->assertSame( $url, igny8_sanitize_api_base( $url ), $url );
		}
		foreach ( array( 'http://igny8.example.com', 'http://8.8.8.8', 'http://172.32.0.1', 'http://localhost.example.com' ) as $url ) {
			$this->assertWPError( igny8_sanitize_api_base( $url ), 'igny8_insecure_url' );
			$this->assertSame( 'https://' . substr( $url, 7 ), igny8_sanitize_api_base( 'https://' . substr( $url, 7 ) ) );
		}

		$this->backend->working();
		$result = $this->connect( array( 'igny8_api_base' => 'http://igny8.example.com' ) );
		$this->assertWPError( $result, 'igny8_insecure_url' );
		$this->assertSame( array(), $this->backend->requests, 'the password and key never travel in clear text' );
		$this->assertStringContainsString( 'must start with https://', $this->notices()[0] );

		$this->add_test_filter( 'igny8_allow_insecure_api_base', '__return_true' );
		$this->assertSame( 'http://igny8.example.com', igny8_sanitize_api_base( 'http://igny8.example.com' ) );
	}

	public function test_a_stored_plain_http_backend_on_the_internet_gets_no_request() {
		$this->connect_working();
		update_option( 'igny8_api_base', 'http://igny8.example.com', false ); // Stored by an older version.

		$result = igny8_sync_site_structure_to_backend();

		$this->assertWPError( $result, 'igny8_insecure_url' );
		$this->assertSame( array(), $this->backend->requests );
	}

	public function test_missing_fields_are_named() {
		$this->backend->working();

		$this->assertSame( 'Enter the email address of your IGNY8 account.', $this->connect( array( 'igny8_email' => 'not-an-email' ) )->get_error_message() );
		$this->assertSame( 'Enter the password of your IGNY8 account.', $this->connect( array( 'igny8_password' => '' ) )->get_error_message() );
		$this->assertSame( 'Enter the site\'s API key from IGNY8 (Site → Settings → API keys).', $this->connect( array( 'igny8_api_key' => '' ) )->get_error_message() );
		$this->assertSame( array(), $this->backend->requests );
	}

	public function test_array_fields_are_treated_as_missing() {
		$this->backend->working();
		$this->submit_form( Igny8_Admin::ACTION_CONNECT, array( 'igny8_email' => 'owner@example.com', 'igny8_password' => 'pw', 'igny8_api_key' => 'k' ) );
		$_POST['igny8_email'] = array( 'owner@example.com' );

		$result = igny8_admin()->handle_connection();

		$this->assertSame( 'Enter the email address of your IGNY8 account.', $result->get_error_message() );
		$this->assertSame( array(), $this->backend->requests );
	}

	public function test_a_password_with_special_characters_is_sent_as_typed() {
		$this->backend->working();

		$this->connect( array( 'igny8_password' => 'p@ss "w\'ord" <b>%41\\' ) );

		$this->assertSame( 'p@ss "w\'ord" <b>%41\\', $this->backend->requests[0]['body']['password'] );
	}

	public function test_disconnect_removes_the_connection_and_keeps_url_and_email() {
		$this->connect_working();
		$this->submit_form( Igny8_Admin::ACTION_DISCONNECT );

		$this->assertTrue( igny8_admin()->handle_disconnect() );

		foreach ( igny8_connection_option_names() as $name ) {
			$this->assertFalse( get_option( $name ), $name );
		}
		$this->assertSame( Igny8_Fake_Backend::BASE, get_option( 'igny8_api_base' ) );
		$this->assertSame( 'owner@example.com', get_option( 'igny8_email' ) );
		$this->assertFalse( igny8_is_connected() );
		$told = $this->backend->requests_to( 'POST /api/v1/integration/integrations/9/update-structure/' );
		$this->assertCount( 1, $told, 'IGNY8 is told the plugin connection is off' );
		$this->assertFalse( $told[0]['body']['plugin_connection_enabled'] );
		$this->assertSame( array( 'success: Disconnected from IGNY8 (site "My Blog"). The stored API key was removed and scheduled syncs stopped.' ), $this->notices() );
	}

	public function test_disconnect_works_when_the_backend_is_unreachable() {
		$this->connect_working();
		$this->backend->on( 'POST /api/v1/integration/integrations/9/update-structure/', new WP_Error( 'http_request_failed', 'cURL error 7: refused' ) );
		$this->submit_form( Igny8_Admin::ACTION_DISCONNECT );

		$this->assertTrue( igny8_admin()->handle_disconnect() );
		$this->assertFalse( igny8_is_connected() );
	}

	public function test_disconnect_needs_nonce_and_capability() {
		$this->connect_working();
		$this->submit_form( Igny8_Admin::ACTION_DISCONNECT, array(), false );
		$this->assertWPError( igny8_admin()->handle_disconnect(), 'igny8_bad_nonce' );

		$subscriber = wp_insert_user( array( 'user_login' => 'igny8_sub', 'user_pass' => 'x', 'role' => 'subscriber', 'user_email' => 'sub@example.com' ) );
		wp_set_current_user( $subscriber );
		$this->submit_form( Igny8_Admin::ACTION_DISCONNECT );
		$this->assertWPError( igny8_admin()->handle_disconnect(), 'igny8_forbidden' );

		$this->assertTrue( igny8_is_connected() );
	}

	public function test_sync_now_needs_nonce_and_capability_and_reports_counts() {
		$this->connect_working();
		$this->submit_form( Igny8_Admin::ACTION_SYNC, array(), false );
		$this->assertWPError( igny8_admin()->handle_sync_now(), 'igny8_bad_nonce' );
		$this->assertSame( array(), $this->backend->requests );

		$this->submit_form( Igny8_Admin::ACTION_SYNC );
		$result = igny8_admin()->handle_sync_now();

		$this->assertIsArray( $result );
		$structure = igny8_get_site_structure();
		$this->assertSame( array( sprintf( 'success: Site structure synced: %d post types, %d taxonomies.', count( $structure['post_types'] ), count( $structure['taxonomies'] ) ) ), $this->notices() );
	}

	/**
	 * @param mixed  $actual Value.
	 * @param string $code   Expected error code.
	 */
	private function assertWPError( $actual, $code ) {
		$this->assertInstanceOf( WP_Error::class, $actual, 'expected a WP_Error ' . $code . ', got ' . wp_json_encode( $actual ) );
		$this->assertSame( $code, $actual->get_error_code(), $actual->get_error_message() );
	}
}
