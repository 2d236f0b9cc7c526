<?php
/**
 * Hosts that keep secrets out of the database define IGNY8_API_KEY / IGNY8_API_BASE in wp-config.php: the
 * plugin uses them, never stores them, and the settings page shows them read-only. Constants cannot be
 * undefined, so each test runs in its own PHP process.
 *
 * @package Igny8
 */

class ConfigConstantsTest extends Igny8_TestCase {

	/**
	 * @runInSeparateProcess
	 * @preserveGlobalState disabled
	 */
	public function test_constants_from_wp_config_are_used_never_stored_and_shown_read_only() {
		update_option( 'igny8_api_key', 'igny8_live_stored_before', false ); // Left from a connection made before.
		define( 'IGNY8_API_KEY', 'igny8_live_fromconfig' );
		define( 'IGNY8_API_BASE', Igny8_Fake_Backend::BASE . '/' );
		$this->backend->working();

		$result = $this->connect(
			array(
				'igny8_api_base' => 'https://elsewhere.example.com',
				'igny8_api_key'  => 'igny8_live_typed_in_the_form',
			)
		);

		$this->assertIsArray( $result, is_wp_error( $result ) ? $result->get_error_message() : '' );
		$this->assertTrue( igny8_is_connected() );
		foreach ( $this->backend->requests as $request ) {
			$this->assertStringStartsWith( Igny8_Fake_Backend::BASE . '/api/v1/', $request['url'] );
			if ( 'POST /api/v1/auth/login/' !== $request['route'] ) {
				$this->assertSame( 'Bearer igny8_live_fromconfig', $request['headers']['Authorization'], $request['route'] );
			}
		}
		$this->assertFalse( get_option( 'igny8_api_key' ), 'the key stays in wp-config.php only' );
		$this->assertFalse( get_option( 'igny8_api_base' ) );
		$this->assertSame( Igny8_Fake_Backend::BASE, igny8_get_api_base() );

		$page = $this->render_page();
		$this->assertStringNotContainsString( 'name="igny8_api_key"', $page );
		$this->assertStringNotContainsString( 'name="igny8_api_base"', $page );
		$this->assertStringNotContainsString( 'igny8_live_fromconfig', $page );
		$this->assertStringContainsString( 'Set in wp-config.php (IGNY8_API_KEY)', $page );
		$this->assertStringContainsString( 'Set in wp-config.php (IGNY8_API_BASE)', $page );
		$this->assertMatchesRegularExpression( '/id="igny8_api_base" value="' . preg_quote( esc_attr( Igny8_Fake_Backend::BASE ), '/' ) . '" readonly/', $page );

		igny8_disconnect_site();
		$this->assertFalse( igny8_is_connected(), 'the constant alone is not a connection' );
	}

	/**
	 * @runInSeparateProcess
	 * @preserveGlobalState disabled
	 */
	public function test_an_insecure_base_in_wp_config_is_refused_like_a_typed_one() {
		define( 'IGNY8_API_BASE', 'http://igny8.example.com' );
		$this->backend->working();

		$result = $this->connect();

		$this->assertInstanceOf( WP_Error::class, $result );
		$this->assertSame( 'igny8_insecure_url', $result->get_error_code() );
		$this->assertSame( array(), $this->backend->requests );
	}
}
