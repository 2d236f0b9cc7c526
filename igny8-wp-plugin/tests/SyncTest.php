<?php
/**
 * igny8_sync_site_structure_to_backend(): the structure push and what it stores.
 *
 * @package Igny8
 */

class SyncTest extends Igny8_TestCase {

	const PUSH = 'POST /api/v1/integration/integrations/9/update-structure/';

	public function test_sync_without_a_site_id_is_an_error_and_is_logged() {
		$result = igny8_sync_site_structure_to_backend();

		$this->assertInstanceOf( WP_Error::class, $result );
		$this->assertSame( 'igny8_not_connected', $result->get_error_code() );
		$this->assertSame( array(), $this->backend->requests );
		$this->assertStringContainsString( 'IGNY8: Site structure sync skipped: no IGNY8 site id or API key is stored.', $this->log() );
	}

	public function test_sync_pushes_with_the_api_key_and_records_success() {
		$this->connect_working();
		update_option( 'igny8_last_error', array( 'message' => 'old problem', 'code' => 'x', 'time' => 1 ), false );
		update_option( 'igny8_last_structure_sync', 1, false );

		$result = igny8_sync_site_structure_to_backend();

		$this->assertIsArray( $result );
		$this->assertSame( array( self::PUSH ), $this->backend->routes_called() );
		$this->assertSame( 'Bearer igny8_live_abc123secret', $this->backend->requests[0]['headers']['Authorization'] );
		$this->assertEqualsWithDelta( time(), (int) get_option( 'igny8_last_structure_sync' ), 5 );
		$this->assertFalse( get_option( 'igny8_last_error' ), 'a successful sync clears the last error' );
		$this->assertStringContainsString( "IGNY8: Site structure synced successfully.\n", $this->log() );
		$this->assertStringNotContainsString( 'igny8_live_abc123secret', $this->log() );
	}

	public function test_sync_stores_the_platform_effective_settings_and_applies_them() {
		$this->connect_working();
		$this->backend->on(
			self::PUSH,
			200,
			Igny8_Fake_Backend::ok(
				array(
					'message'              => 'Site structure updated successfully',
					'post_types_count'     => 2,
					'taxonomies_count'     => 2,
					'last_structure_fetch' => '2025-11-22T10:00:00Z',
					'content_types'        => array(
						'post_types' => array(
							'post' => array( 'label' => 'Posts', 'count' => 1, 'enabled' => false, 'fetch_limit' => 10 ),
							'page' => array( 'label' => 'Pages', 'count' => 1, 'enabled' => true, 'fetch_limit' => 250 ),
						),
						'taxonomies' => array(
							'category' => array( 'label' => 'Categories', 'count' => 1, 'enabled' => true, 'fetch_limit' => 7 ),
						),
					),
				)
			)
		);

		igny8_sync_site_structure_to_backend();

		$this->assertSame( 'no', $this->autoload_of( 'igny8_effective_settings' ) );
		$structure = igny8_get_site_structure();
		$this->assertFalse( $structure['post_types']['post']['enabled'] );
		$this->assertSame( 10, $structure['post_types']['post']['fetch_limit'] );
		$this->assertSame( 250, $structure['post_types']['page']['fetch_limit'] );
		$this->assertSame( 7, $structure['taxonomies']['category']['fetch_limit'] );
		$this->assertSame( 100, $structure['taxonomies']['post_tag']['fetch_limit'] );

		// The next push reports the platform's settings back, not the plugin's defaults.
		$this->backend->requests = array();
		igny8_sync_site_structure_to_backend();
		$this->assertFalse( $this->backend->requests[0]['body']['post_types']['post']['enabled'] );
		$this->assertSame( 10, $this->backend->requests[0]['body']['post_types']['post']['fetch_limit'] );
	}

	public function test_sync_finds_the_integration_again_when_its_id_is_missing() {
		$this->connect_working();
		delete_option( 'igny8_integration_id' );
		$this->backend->on( 'GET /api/v1/integration/integrations/?site=42', 200, Igny8_Fake_Backend::ok( array( Igny8_Fake_Backend::integration( 9, 42 ) ) ) );

		$result = igny8_sync_site_structure_to_backend();

		$this->assertIsArray( $result );
		$this->assertSame( array( 'GET /api/v1/integration/integrations/?site=42', self::PUSH ), $this->backend->routes_called() );
		$this->assertSame( 9, (int) get_option( 'igny8_integration_id' ) );
		$this->assertSame( 'no', $this->autoload_of( 'igny8_integration_id' ) );
	}

	public function test_sync_finds_the_integration_again_when_the_platform_no_longer_knows_the_stored_id() {
		$this->connect_working();
		update_option( 'igny8_integration_id', 5, false );
		$this->backend->on( 'GET /api/v1/integration/integrations/?site=42', 200, Igny8_Fake_Backend::ok( array( Igny8_Fake_Backend::integration( 9, 42 ) ) ) );

		$result = igny8_sync_site_structure_to_backend();

		$this->assertIsArray( $result );
		$this->assertSame(
			array( 'POST /api/v1/integration/integrations/5/update-structure/', 'GET /api/v1/integration/integrations/?site=42', self::PUSH ),
			$this->backend->routes_called()
		);
		$this->assertSame( 9, (int) get_option( 'igny8_integration_id' ) );
	}

	/**
	 * @return array[]
	 */
	public function push_failures() {
		return array(
			'unreachable'    => array( new WP_Error( 'http_request_failed', 'cURL error 7: Connection refused' ), null, 'igny8_unreachable', 'Could not reach the IGNY8 backend at https://igny8.test' ),
			'site inactive'  => array( 403, Igny8_Fake_Backend::fail( 'site_inactive', 'Site is inactive.' ), 'site_inactive', 'This site is deactivated in IGNY8. Reactivate it in IGNY8, then try again.' ),
			'key revoked'    => array( 403, Igny8_Fake_Backend::fail( 'api_key_revoked', 'Revoked.' ), 'api_key_revoked', 'This API key has been revoked in IGNY8.' ),
			'server error'   => array( 500, Igny8_Fake_Backend::fail( 'internal_error', 'Internal server error.' ), 'internal_error', 'had an internal error (HTTP 500)' ),
		);
	}

	/**
	 * @dataProvider push_failures
	 */
	public function test_a_failed_sync_records_the_error_in_plain_words_and_keeps_what_it_had( $status, $body, $code, $words ) {
		$this->connect_working();
		$last_sync = (int) get_option( 'igny8_last_structure_sync' );
		$effective = get_option( 'igny8_effective_settings' );
		$this->backend->on( self::PUSH, $status, $body );

		$result = igny8_sync_site_structure_to_backend();

		$this->assertSame( $code, $result->get_error_code() );
		$error = get_option( 'igny8_last_error' );
		$this->assertSame( $code, $error['code'] );
		$this->assertStringContainsString( $words, $error['message'] );
		$this->assertSame( 'no', $this->autoload_of( 'igny8_last_error' ) );
		$this->assertSame( $last_sync, (int) get_option( 'igny8_last_structure_sync' ) );
		$this->assertSame( $effective, get_option( 'igny8_effective_settings' ) );
		$this->assertTrue( igny8_is_connected(), 'a failed sync does not disconnect' );
		$this->assertStringContainsString( 'IGNY8: Site structure sync failed: ', $this->log() );
	}

	public function test_a_transient_server_failure_is_retried_once() {
		$this->connect_working();
		$calls = 0;
		$this->backend->on(
			self::PUSH,
			function ( $request ) use ( &$calls ) {
				$calls++;
				return 1 === $calls ? array( 503, Igny8_Fake_Backend::fail( 'unavailable', 'Try later.' ) ) : $this->backend->update_structure( $request );
			}
		);

		$result = igny8_sync_site_structure_to_backend();

		$this->assertIsArray( $result );
		$this->assertSame( 2, $calls );
	}

	public function test_the_login_is_never_retried() {
		$this->backend->working()->on( 'POST /api/v1/auth/login/', 503, Igny8_Fake_Backend::fail( 'unavailable', 'Try later.' ) );

		$this->connect();

		$this->assertCount( 1, $this->backend->requests_to( 'POST /api/v1/auth/login/' ) );
	}

	public function test_an_empty_structure_is_sent_as_json_objects() {
		$this->connect_working();
		$this->add_test_filter( 'igny8_site_structure', static function () {
			return array( 'post_types' => array(), 'taxonomies' => array() );
		} );

		igny8_sync_site_structure_to_backend();

		$this->assertStringContainsString( '"post_types":{},"taxonomies":{}', $this->backend->requests[0]['raw'] );
	}

	public function test_account_tokens_kept_by_older_versions_are_removed_by_the_daily_push() {
		$this->connect_working();
		update_option( 'igny8_access_token', 'access-token-old', false );
		update_option( 'igny8_refresh_token', 'refresh-token-old', false );
		update_option( 'igny8_access_expires_at', '2030-01-01T00:00:00Z', false );

		igny8_run_scheduled_structure_sync();

		foreach ( igny8_account_token_option_names() as $name ) {
			$this->assertFalse( get_option( $name ), $name );
		}
		$push = $this->backend->requests_to( self::PUSH );
		$this->assertSame( 'Bearer igny8_live_abc123secret', $push[0]['headers']['Authorization'], 'the site key is all it needs' );
	}

	public function test_api_key_calls_do_not_try_a_jwt_refresh() {
		$this->connect_working();
		$this->backend->on( self::PUSH, 401, Igny8_Fake_Backend::fail( 'token_expired', 'Token expired.' ) );

		igny8_sync_site_structure_to_backend();

		$this->assertCount( 0, $this->backend->requests_to( 'POST /api/v1/auth/refresh/' ) );
	}

	public function test_requests_go_to_the_stored_backend_with_timeouts() {
		$this->connect_working();
		update_option( 'igny8_api_base', 'https://self-hosted.example/igny8', false );

		igny8_sync_site_structure_to_backend();

		$this->assertSame( 'https://self-hosted.example/igny8/api/v1/integration/integrations/9/update-structure/', $this->backend->requests[0]['url'] );
		$this->assertSame( 30, $this->backend->requests[0]['timeout'] );
	}
}
