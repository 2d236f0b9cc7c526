<?php
/**
 * The settings page as an administrator sees it: status box, forms, escaping of everything shown.
 *
 * @package Igny8
 */

class AdminPageTest extends Igny8_TestCase {

	const XSS = '<script>alert("igny8")</script><img src=x onerror=alert(1)>';

	public function test_the_page_is_under_settings_for_manage_options_only() {
		global $submenu;
		igny8_admin()->register_menu();

		$entries = array_values(
			array_filter(
				isset( $submenu['options-general.php'] ) ? $submenu['options-general.php'] : array(),
				static function ( $item ) {
					return 'igny8-settings' === $item[2];
				}
			)
		);
		$this->assertCount( 1, $entries );
		$this->assertSame( 'IGNY8 API', $entries[0][0] );
		$this->assertSame( 'manage_options', $entries[0][1] );
	}

	public function test_a_new_site_sees_the_connect_form_with_the_default_backend() {
		delete_option( 'igny8_api_base' );

		$html = $this->render_page();

		$this->assertStringContainsString( 'Not connected.', $html );
		$this->assertStringContainsString( 'name="igny8_api_base" value="https://app.igny8.com"', $html );
		foreach ( array( 'igny8_email', 'igny8_password', 'igny8_api_key' ) as $field ) {
			$this->assertStringContainsString( 'name="' . $field . '"', $html );
		}
		$this->assertStringContainsString( 'value="Connect to IGNY8"', $html );
		$this->assertStringContainsString( 'name="igny8_connect_nonce"', $html );
		$this->assertStringNotContainsString( 'Disconnect', $html );
		$this->assertStringNotContainsString( 'Sync structure now', $html );
	}

	public function test_a_connected_site_sees_its_status_and_actions() {
		$this->connect_working();

		$html = $this->render_page();

		$this->assertStringContainsString( 'Connected to IGNY8.', $html );
		$this->assertStringContainsString( 'My Blog (#42)', $html );
		$this->assertStringContainsString( '#9', $html );
		$this->assertMatchesRegularExpression( '/ago\): \d+ post types, \d+ taxonomies/', $html );
		$this->assertStringContainsString( 'value="Sync structure now"', $html );
		$this->assertStringContainsString( 'value="Disconnect"', $html );
		$this->assertStringContainsString( 'name="igny8_sync_now_nonce"', $html );
		$this->assertStringContainsString( 'name="igny8_disconnect_nonce"', $html );
		$this->assertStringContainsString( '<td class="igny8-last-error">', $html );
		$this->assertMatchesRegularExpression( '#<td class="igny8-last-error">\s*None\s*</td>#', $html );
		$this->assertStringNotContainsString( 'igny8_live_abc123secret', $html, 'the API key is never shown again' );
		$this->assertStringNotContainsString( 'access-token-1', $html );
	}

	public function test_the_last_error_is_shown_in_plain_words() {
		$this->connect_working();
		$this->backend->on( 'POST /api/v1/integration/integrations/9/update-structure/', 403, Igny8_Fake_Backend::fail( 'site_inactive', 'Inactive.' ) );
		igny8_sync_site_structure_to_backend();

		$html = $this->render_page();

		$this->assertStringContainsString( 'This site is deactivated in IGNY8. Reactivate it in IGNY8, then try again.', $html );
	}

	public function test_values_from_the_backend_are_escaped() {
		$this->backend->working( array( 'name' => self::XSS, 'url' => 'javascript:alert(1)' ) );
		$this->connect();

		$html = $this->render_page();

		$this->assertStringNotContainsString( '<script>alert', $html );
		$this->assertStringNotContainsString( '<img src=x', $html );
		$this->assertStringContainsString( '&lt;script&gt;alert(&quot;igny8&quot;)&lt;/script&gt;', $html );
	}

	public function test_stored_form_values_are_escaped_in_attributes() {
		update_option( 'igny8_email', '"><script>alert(1)</script>', false );
		update_option( 'igny8_api_base', 'https://igny8.test/"onmouseover="alert(1)', false );

		$html = $this->render_page();

		$this->assertStringNotContainsString( '<script>alert(1)', $html );
		$this->assertStringNotContainsString( '"onmouseover="', $html );
		$this->assertStringContainsString( 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"', $html );
	}

	public function test_hostile_input_in_the_form_never_reaches_the_page_unescaped() {
		$this->backend->working();
		$result = $this->connect(
			array(
				'igny8_api_base' => 'https://igny8.test/<script>alert(1)</script>',
				'igny8_email'    => self::XSS,
				'igny8_api_key'  => self::XSS,
			)
		);
		$this->assertInstanceOf( WP_Error::class, $result );

		$html = $this->render_page();

		$this->assertStringNotContainsString( '<script>alert', $html );
		$this->assertStringNotContainsString( '<img src=x', $html );
	}

	public function test_notices_are_shown_once_and_escaped() {
		igny8_admin()->add_notice( 'error', self::XSS );

		$first  = $this->render_page();
		$second = $this->render_page();

		$this->assertStringContainsString( 'notice-error', $first );
		$this->assertStringContainsString( '&lt;script&gt;', $first );
		$this->assertStringNotContainsString( '<script>alert', $first );
		$this->assertStringNotContainsString( 'notice-error', $second );
	}

	public function test_users_without_manage_options_get_nothing() {
		$this->connect_working();
		wp_set_current_user( wp_insert_user( array( 'user_login' => 'igny8_author', 'user_pass' => 'x', 'role' => 'author', 'user_email' => 'a@example.com' ) ) );

		$this->assertSame( '', $this->render_page() );
	}

	public function test_two_way_sync_setting_is_registered_as_a_sanitised_checkbox() {
		igny8_admin()->register_settings();
		$registered = get_registered_settings();

		$this->assertArrayHasKey( 'igny8_two_way_sync_enabled', $registered );
		$this->assertSame( 'igny8_settings', $registered['igny8_two_way_sync_enabled']['group'] );
		$this->assertSame( 1, sanitize_option( 'igny8_two_way_sync_enabled', 'on' ) );
		$this->assertSame( 0, sanitize_option( 'igny8_two_way_sync_enabled', '' ) );
	}

	public function test_publish_as_lists_users_who_can_edit_posts_with_the_choice_selected() {
		$editor     = $this->make_user( 'editor' );
		$subscriber = $this->make_user( 'subscriber' );
		update_option( 'igny8_publish_as', $editor, false );
		wp_update_user( array( 'ID' => $editor, 'display_name' => 'Ed "the editor" & <i>co</i>' ) );
		$shown = esc_html( get_userdata( $editor )->display_name );

		$html = $this->render_page();

		$this->assertMatchesRegularExpression( '/<select id="igny8_publish_as" name="igny8_publish_as">/', $html );
		$this->assertStringContainsString( '<option value="' . $editor . '"  selected=\'selected\'>' . $shown . ' (', $html );
		$this->assertStringContainsString( '&quot;the editor&quot; &amp;', $shown );
		$this->assertStringContainsString( '<option value="' . $this->admin_id() . '"', $html );
		$this->assertStringNotContainsString( '<option value="' . $subscriber . '"', $html );
		$this->assertStringContainsString( 'igny8-two-way-explained', $html );
	}

	public function test_publish_as_is_sanitised_to_an_existing_user_who_can_edit_posts() {
		igny8_admin()->register_settings();
		$editor     = $this->make_user( 'editor' );
		$subscriber = $this->make_user( 'subscriber' );
		update_option( 'igny8_publish_as', $editor, false );

		$this->assertSame( 'igny8_settings', get_registered_settings()['igny8_publish_as']['group'] );
		$this->assertSame( $this->admin_id(), sanitize_option( 'igny8_publish_as', (string) $this->admin_id() ) );
		$this->assertSame( $editor, sanitize_option( 'igny8_publish_as', (string) $subscriber ), 'a subscriber cannot edit posts: the choice stays' );
		$this->assertSame( $editor, sanitize_option( 'igny8_publish_as', '999999' ) );
		$this->assertSame( $editor, sanitize_option( 'igny8_publish_as', "1 OR 1=1" ) );
		$this->assertSame( $editor, sanitize_option( 'igny8_publish_as', array( 1 ) ) );
	}
}
