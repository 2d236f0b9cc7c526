<?php
/**
 * A plugin users can get and that tells them what it does: WordPress offers the release the IGNY8 backend
 * serves (Update URI, update_plugins_{host}), the privacy policy guide gets the plugin's text, and the
 * readme names the external service, what is sent and when, and the WordPress the tests run.
 *
 * @package Igny8
 */

class ReleaseTest extends Igny8_TestCase {

	const RELEASE = 'GET /downloads/igny8-wp-plugin.json';

	protected function setUp(): void {
		parent::setUp();
		// WordPress asks WordPress.org first; it knows nothing of this plugin.
		$this->backend->on( 'POST /plugins/update-check/1.1/', 200, array( 'plugins' => array(), 'translations' => array(), 'no_update' => array() ) );
		delete_site_transient( 'update_plugins' );
		delete_transient( 'igny8_release_check_failed' );
	}

	/**
	 * WordPress's own update check, as WP-Cron or the Plugins screen runs it.
	 *
	 * @return object The update_plugins site transient.
	 */
	private function check_for_updates() {
		delete_site_transient( 'update_plugins' );
		wp_update_plugins();
		return get_site_transient( 'update_plugins' );
	}

	/**
	 * @param array $release The backend's answer.
	 */
	private function serve_release( array $release ) {
		$this->backend->on( self::RELEASE, 200, $release );
	}

	public function test_the_plugin_names_igny8_as_where_its_updates_come_from() {
		$header = get_plugin_data( IGNY8_PLUGIN_FILE, false, false );
		$this->assertSame( IGNY8_UPDATE_URI, $header['UpdateURI'] );
		$this->assertNotFalse( has_filter( 'update_plugins_app.igny8.com', 'igny8_plugin_update' ) );
	}

	public function test_wordpress_offers_a_newer_release_the_backend_serves() {
		$this->serve_release(
			array(
				'version'      => '9.1.0',
				'requires'     => '5.6',
				'requires_php' => '7.4',
				'tested'       => '6.4',
				'package'      => Igny8_Fake_Backend::BASE . '/downloads/igny8-wp-plugin-9.1.0.zip',
			)
		);

		$updates = $this->check_for_updates();

		$file = plugin_basename( IGNY8_PLUGIN_FILE );
		$this->assertArrayHasKey( $file, $updates->response );
		$offer = $updates->response[ $file ];
		$this->assertSame( '9.1.0', $offer->new_version );
		$this->assertSame( Igny8_Fake_Backend::BASE . '/downloads/igny8-wp-plugin-9.1.0.zip', $offer->package );
		$this->assertSame( '6.4', $offer->tested );
		$this->assertSame( '7.4', $offer->requires_php );
		$this->assertSame( IGNY8_UPDATE_URI, $offer->id );
		$request = $this->backend->requests_to( self::RELEASE )[0];
		$this->assertSame( Igny8_Fake_Backend::BASE . '/downloads/igny8-wp-plugin.json', $request['url'], 'the configured backend, self-hosted or not' );
		$this->assertArrayNotHasKey( 'Authorization', $request['headers'], 'the release is public: no key is sent' );
	}

	public function test_the_same_version_is_no_update() {
		$this->serve_release( array( 'version' => IGNY8_VERSION, 'package' => Igny8_Fake_Backend::BASE . '/downloads/igny8-wp-plugin.zip' ) );

		$updates = $this->check_for_updates();

		$this->assertArrayNotHasKey( plugin_basename( IGNY8_PLUGIN_FILE ), $updates->response );
		$this->assertArrayHasKey( plugin_basename( IGNY8_PLUGIN_FILE ), $updates->no_update );
	}

	public function test_a_release_served_from_elsewhere_or_without_a_version_is_not_offered() {
		foreach ( array(
			array( 'version' => '9.1.0', 'package' => 'https://evil.example.com/igny8-wp-plugin.zip' ),
			array( 'version' => '9.1.0', 'package' => 'http://igny8.test/downloads/igny8-wp-plugin.zip' ),
			array( 'version' => '<script>', 'package' => Igny8_Fake_Backend::BASE . '/downloads/igny8-wp-plugin.zip' ),
		) as $release ) {
			delete_transient( 'igny8_release_check_failed' );
			$this->serve_release( $release );

			$updates = $this->check_for_updates();

			$this->assertArrayNotHasKey( plugin_basename( IGNY8_PLUGIN_FILE ), $updates->response, wp_json_encode( $release ) );
		}
	}

	public function test_a_backend_that_is_down_is_asked_again_an_hour_later_not_on_every_check() {
		$this->backend->on( self::RELEASE, new WP_Error( 'http_request_failed', 'cURL error 28: Operation timed out' ) );

		$this->check_for_updates();
		$this->check_for_updates();

		$this->assertCount( 1, $this->backend->requests_to( self::RELEASE ) );
		$this->assertNotFalse( get_transient( 'igny8_release_check_failed' ) );
	}

	public function test_the_privacy_policy_guide_gets_what_is_sent_and_igny8s_policy() {
		global $wp_current_filter;
		set_current_screen( 'options-privacy' ); // In wp-admin, during admin_init, as WordPress asks.
		$wp_current_filter[] = 'admin_init';
		try {
			igny8_add_privacy_policy_content();
		} finally {
			array_pop( $wp_current_filter );
			unset( $GLOBALS['current_screen'] );
		}

		$texts = wp_list_pluck( WP_Privacy_Policy_Content::get_suggested_policy_text(), 'policy_text', 'plugin_name' );
		$this->assertArrayHasKey( 'IGNY8', $texts );
		$this->assertStringContainsString( 'display names of its authors', $texts['IGNY8'] );
		$this->assertStringContainsString( 'Comments and the data of visitors are not sent', $texts['IGNY8'] );
		$this->assertStringContainsString( 'href="' . IGNY8_PRIVACY_URL . '"', $texts['IGNY8'] );
		$this->assertNotFalse( has_action( 'admin_init', 'igny8_add_privacy_policy_content' ) );
	}

	public function test_the_readme_describes_the_external_service_and_the_wordpress_tested() {
		$readme = (string) file_get_contents( IGNY8_PLUGIN_DIR . '/readme.txt' );
		preg_match( '/^== External services ==\n(.*?)(?=^== )/ms', $readme, $section );
		$this->assertNotEmpty( $section, 'an External services section' );
		foreach ( array( IGNY8_TERMS_URL, IGNY8_PRIVACY_URL, IGNY8_DEFAULT_API_BASE, '/downloads/igny8-wp-plugin.json', 'update-structure', 'content/batch', 'API key' ) as $named ) {
			$this->assertStringContainsString( $named, $section[1] );
		}
		list( $major, $minor ) = explode( '.', get_bloginfo( 'version' ) );
		$this->assertStringContainsString( "Tested up to: $major.$minor\n", $readme, 'the WordPress the tests run' );
	}
}
