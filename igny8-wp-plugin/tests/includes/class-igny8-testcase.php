<?php
/**
 * Shared setup for the plugin's tests: a database transaction rolled back after each test, the fake
 * backend, a captured error log, and helpers that act like the settings page's forms.
 *
 * @package Igny8
 */

/**
 * Base class of every test.
 */
abstract class Igny8_TestCase extends PHPUnit\Framework\TestCase {

	/**
	 * @var Igny8_Fake_Backend
	 */
	protected $backend;

	/**
	 * @var string File error_log() writes to during the test.
	 */
	protected $log_file;

	/**
	 * @var string
	 */
	private $previous_error_log;

	/**
	 * @var array[] [hook, callback, priority] added by add_test_filter().
	 */
	private $test_filters = array();

	/**
	 * @var string[] Post types registered by the test.
	 */
	private $test_post_types = array();

	/**
	 * @var string[] Taxonomies registered by the test.
	 */
	private $test_taxonomies = array();

	protected function setUp(): void {
		global $wpdb;
		parent::setUp();
		$wpdb->query( 'SET autocommit = 0' );
		$wpdb->query( 'START TRANSACTION' );
		wp_cache_flush();

		$this->backend = new Igny8_Fake_Backend();
		$this->add_test_filter( 'igny8_http_retry_delay_ms', '__return_zero' );
		// Connections store the fake backend's URL, like a self-hosted backend.
		update_option( 'igny8_api_base', Igny8_Fake_Backend::BASE, false );

		$this->log_file           = (string) tempnam( sys_get_temp_dir(), 'igny8-log' );
		$this->previous_error_log = (string) ini_get( 'error_log' );
		ini_set( 'error_log', $this->log_file ); // phpcs:ignore WordPress.PHP.IniSet.Risky

		$_POST                     = array();
		$_GET                      = array();
		$_REQUEST                  = array();
		$_SERVER['REQUEST_METHOD'] = 'GET';
		wp_set_current_user( $this->admin_id() );
	}

	protected function tearDown(): void {
		global $wpdb;
		$this->backend->detach();
		foreach ( $this->test_filters as $filter ) {
			remove_filter( $filter[0], $filter[1], $filter[2] );
		}
		foreach ( $this->test_post_types as $name ) {
			unregister_post_type( $name );
		}
		foreach ( $this->test_taxonomies as $name ) {
			unregister_taxonomy( $name );
		}
		$wpdb->query( 'ROLLBACK' );
		$wpdb->query( 'SET autocommit = 1' );
		wp_cache_flush();
		ini_set( 'error_log', $this->previous_error_log ); // phpcs:ignore WordPress.PHP.IniSet.Risky
		if ( is_file( $this->log_file ) ) {
			unlink( $this->log_file );
		}
		$_POST                     = array();
		$_REQUEST                  = array();
		$_SERVER['REQUEST_METHOD'] = 'GET';
		wp_set_current_user( 0 );
		parent::tearDown();
	}

	/**
	 * A filter removed again after the test.
	 *
	 * @param string   $hook     Hook.
	 * @param callable $callback Callback.
	 * @param int      $priority Priority.
	 * @param int      $args     Accepted args.
	 */
	protected function add_test_filter( $hook, $callback, $priority = 10, $args = 1 ) {
		add_filter( $hook, $callback, $priority, $args );
		$this->test_filters[] = array( $hook, $callback, $priority );
	}

	/**
	 * Registers a public post type for this test only.
	 *
	 * @param string $name Name.
	 * @param array  $args Arguments.
	 */
	protected function register_test_post_type( $name, array $args = array() ) {
		register_post_type( $name, array_merge( array( 'public' => true, 'label' => ucfirst( $name ) ), $args ) );
		$this->test_post_types[] = $name;
	}

	/**
	 * Registers a taxonomy for this test only.
	 *
	 * @param string          $name        Name.
	 * @param string|string[] $object_type Post types.
	 * @param array           $args        Arguments.
	 */
	protected function register_test_taxonomy( $name, $object_type, array $args = array() ) {
		register_taxonomy( $name, $object_type, array_merge( array( 'public' => true, 'label' => ucfirst( $name ) ), $args ) );
		$this->test_taxonomies[] = $name;
	}

	/**
	 * @return int The administrator made by the WordPress install.
	 */
	protected function admin_id() {
		$admins = get_users( array( 'role' => 'administrator', 'number' => 1, 'fields' => 'ID' ) );
		return (int) $admins[0];
	}

	/**
	 * Submits one of the settings page's forms as the current user: a POST with the action's nonce.
	 *
	 * @param string $action     igny8_connect|igny8_disconnect|igny8_sync_now.
	 * @param array  $fields     Form fields.
	 * @param bool   $with_nonce Whether to include a valid nonce.
	 */
	protected function submit_form( $action, array $fields = array(), $with_nonce = true ) {
		$_SERVER['REQUEST_METHOD'] = 'POST';
		$_POST                     = array( 'action' => $action );
		if ( $with_nonce ) {
			$_POST[ Igny8_Admin::nonce_field( $action ) ] = wp_create_nonce( $action );
		}
		foreach ( $fields as $name => $value ) {
			$_POST[ $name ] = wp_slash( $value ); // WordPress slashes request data.
		}
		$_REQUEST = $_POST;
	}

	/**
	 * Fills in and submits the connect form.
	 *
	 * @param array $fields Overrides of the fields.
	 * @return array|WP_Error What handle_connection() returned.
	 */
	protected function connect( array $fields = array() ) {
		$this->submit_form(
			Igny8_Admin::ACTION_CONNECT,
			array_merge(
				array(
					'igny8_api_base' => Igny8_Fake_Backend::BASE,
					'igny8_email'    => 'owner@example.com',
					'igny8_password' => 'correct horse battery staple',
					'igny8_api_key'  => 'igny8_live_abc123secret',
				),
				$fields
			)
		);
		return igny8_admin()->handle_connection();
	}

	/**
	 * Connects successfully against the working fake backend, then forgets its requests and notices.
	 */
	protected function connect_working() {
		$this->backend->working();
		$result = $this->connect();
		$this->assertIsArray( $result, is_wp_error( $result ) ? $result->get_error_message() : '' );
		$this->backend->requests = array();
		igny8_admin()->take_notices();
		return $result;
	}

	/**
	 * Every igny8_ option as stored: name => [value, autoload].
	 *
	 * @return array
	 */
	protected function stored_options() {
		global $wpdb;
		$rows = $wpdb->get_results( $wpdb->prepare( "SELECT option_name, option_value, autoload FROM {$wpdb->options} WHERE option_name LIKE %s ORDER BY option_name", $wpdb->esc_like( 'igny8_' ) . '%' ) );
		$out  = array();
		foreach ( $rows as $row ) {
			$out[ $row->option_name ] = array( $row->option_value, $row->autoload );
		}
		return $out;
	}

	/**
	 * The autoload column of an option, or null when it does not exist.
	 *
	 * @param string $name Option.
	 * @return string|null
	 */
	protected function autoload_of( $name ) {
		global $wpdb;
		return $wpdb->get_var( $wpdb->prepare( "SELECT autoload FROM {$wpdb->options} WHERE option_name = %s", $name ) );
	}

	/**
	 * @return string What error_log() received during the test.
	 */
	protected function log() {
		return (string) file_get_contents( $this->log_file );
	}

	/**
	 * The notices the settings page would show next, as "type: message" strings.
	 *
	 * @return string[]
	 */
	protected function notices() {
		return array_map(
			static function ( $n ) {
				return $n['type'] . ': ' . $n['message'];
			},
			igny8_admin()->take_notices()
		);
	}

	/**
	 * The settings page's HTML as the current user sees it.
	 *
	 * @return string
	 */
	protected function render_page() {
		ob_start();
		igny8_admin()->render_settings_page();
		return (string) ob_get_clean();
	}
}
