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
	 * Connected to the fake backend, with its content endpoints (the in-memory platform) and the given
	 * types enabled in the platform's effective settings. Nothing queued, no full sync under way.
	 *
	 * @param array<string, int> $post_types Synced post types => fetch_limit.
	 * @param array<string, int> $taxonomies Synced taxonomies => fetch_limit.
	 */
	protected function start_content_sync( array $post_types = array( 'post' => 100, 'page' => 100 ), array $taxonomies = array( 'category' => 100, 'post_tag' => 100 ) ) {
		$this->connect_working();
		$this->backend->content_platform();
		$this->set_synced_types( $post_types, $taxonomies );
		delete_option( 'igny8_full_sync' );
		wp_clear_scheduled_hook( 'igny8_full_sync_continue' );
		igny8_queue_clear();
		igny8_queue_touched( false );
	}

	/**
	 * Content sync as start_content_sync() leaves it, plus the fake platform's two-way endpoints and the
	 * Two-way sync switch on; the requests so far are forgotten.
	 */
	protected function start_two_way_sync() {
		$this->start_content_sync();
		$this->backend->changes_platform();
		update_option( 'igny8_two_way_sync_enabled', 1 );
		$this->backend->requests = array();
	}

	/**
	 * A new user with a role.
	 *
	 * @param string $role Role.
	 * @return int User id.
	 */
	protected function make_user( $role ) {
		static $n = 0;
		++$n;
		$id = wp_insert_user( array( 'user_login' => "igny8_{$role}_{$n}", 'user_pass' => 'x', 'role' => $role, 'user_email' => "igny8_{$role}_{$n}@example.com" ) );
		$this->assertIsInt( $id );
		return $id;
	}

	/**
	 * The platform's effective settings: these types enabled (with their limits), every other disabled.
	 *
	 * @param array<string, int> $post_types Post types => fetch_limit.
	 * @param array<string, int> $taxonomies Taxonomies => fetch_limit.
	 */
	protected function set_synced_types( array $post_types, array $taxonomies ) {
		$settings = array(
			'post_types' => array(),
			'taxonomies' => array(),
		);
		foreach ( get_post_types( array( 'public' => true ) ) as $name ) {
			$settings['post_types'][ $name ] = array( 'enabled' => false, 'fetch_limit' => 50 );
		}
		foreach ( get_taxonomies( array( 'public' => true ) ) as $name ) {
			$settings['taxonomies'][ $name ] = array( 'enabled' => false, 'fetch_limit' => 50 );
		}
		foreach ( $post_types as $name => $limit ) {
			$settings['post_types'][ $name ] = array( 'enabled' => true, 'fetch_limit' => $limit );
		}
		foreach ( $taxonomies as $name => $limit ) {
			$settings['taxonomies'][ $name ] = array( 'enabled' => true, 'fetch_limit' => $limit );
		}
		update_option( 'igny8_effective_settings', $settings, false );
	}

	/**
	 * The queue as "op kind type #id" strings, oldest first.
	 *
	 * @return string[]
	 */
	protected function queued() {
		global $wpdb;
		$rows = $wpdb->get_results( 'SELECT op, kind, type, wp_id FROM ' . igny8_queue_table() . ' ORDER BY id' );
		return array_map(
			static function ( $r ) {
				return "{$r->op} {$r->kind} {$r->type} #{$r->wp_id}";
			},
			$rows
		);
	}

	/**
	 * Requests a full sync and runs one step that dies (a hook throws, as a killed PHP process would
	 * stop), then frees the step's lock as the dead process's lost connection would.
	 */
	protected function full_sync_step_dies() {
		igny8_request_full_sync( 'admin' );
		try {
			igny8_full_sync_step( 600 );
			$this->fail( 'the step should have died' );
		} catch ( RuntimeException $e ) {
			igny8_release_lock( 'full_sync' );
		}
	}

	/**
	 * Runs a requested full sync to its end, step after step (as successive cron runs would).
	 *
	 * @param int $max_steps Give up after this many steps.
	 * @return int Steps taken.
	 */
	protected function run_full_sync( $max_steps = 50 ) {
		if ( ! igny8_full_sync_in_progress() ) {
			igny8_request_full_sync( 'admin' );
		}
		for ( $step = 1; $step <= $max_steps; $step++ ) {
			igny8_full_sync_step( 600 );
			if ( ! igny8_full_sync_in_progress() ) {
				return $step;
			}
		}
		$this->fail( 'the full sync did not finish in ' . $max_steps . ' steps: ' . wp_json_encode( igny8_full_sync_state() ) );
	}

	/**
	 * A post's integrity checksum derived in PHP from WordPress's own API, as docs/sync-protocol.md defines it
	 * (independently of the plugin's SQL, which must give the same number).
	 *
	 * @param int $id Post id.
	 * @return int
	 */
	protected function documented_post_checksum( $id ) {
		global $wpdb;
		clean_post_cache( $id );
		$p    = get_post( $id );
		$meta = 0;
		foreach ( igny8_watched_meta_keys() as $key ) {
			foreach ( $wpdb->get_col( $wpdb->prepare( "SELECT meta_value FROM {$wpdb->postmeta} WHERE post_id = %d AND meta_key = %s", $id, $key ) ) as $value ) {
				$meta += crc32( null === $value ? $key : "$key=$value" );
			}
		}
		$terms = 0;
		foreach ( $wpdb->get_col( $wpdb->prepare( "SELECT term_taxonomy_id FROM {$wpdb->term_relationships} WHERE object_id = %d", $id ) ) as $tt_id ) {
			$terms += crc32( (string) $tt_id );
		}
		$parts = array( $p->ID, $p->post_modified_gmt, $p->post_status, $p->post_name, $p->post_parent, $p->menu_order, $p->post_author, $p->post_date_gmt, crc32( $p->post_title ), crc32( $p->post_content ), crc32( $p->post_excerpt ), $meta, $terms );
		$aioseo = array_slice( igny8_aioseo_read_columns(), 1 );
		if ( $aioseo ) {
			$row     = $wpdb->get_row( $wpdb->prepare( 'SELECT `' . implode( '`, `', $aioseo ) . "` FROM {$wpdb->prefix}aioseo_posts WHERE post_id = %d LIMIT 1", $id ), ARRAY_N );
			$parts[] = $row ? crc32( implode( '#', array_filter( $row, 'is_string' ) ) ) : 0;
		}
		return crc32( implode( '#', $parts ) );
	}

	/**
	 * A term's integrity checksum derived in PHP, as docs/sync-protocol.md defines it.
	 *
	 * @param int    $id       Term id.
	 * @param string $taxonomy Taxonomy.
	 * @return int
	 */
	protected function documented_term_checksum( $id, $taxonomy ) {
		clean_term_cache( $id, $taxonomy );
		$t = get_term( $id, $taxonomy );
		return crc32( implode( '#', array( $t->term_id, $t->parent, $t->slug, crc32( $t->name ), crc32( $t->description ) ) ) );
	}

	/**
	 * What WordPress holds that a full sync sends: "kind:type:id" => modified/status (posts) or parent/slug (terms).
	 *
	 * @param string[] $post_types Post types.
	 * @param string[] $taxonomies Taxonomies.
	 * @return array<string, string>
	 */
	protected function wordpress_content( array $post_types, array $taxonomies ) {
		global $wpdb;
		$out = array();
		foreach ( $post_types as $type ) {
			foreach ( $wpdb->get_results( $wpdb->prepare( "SELECT ID, post_modified_gmt, post_status FROM {$wpdb->posts} WHERE post_type = %s AND post_status NOT IN ('auto-draft', 'inherit')", $type ) ) as $row ) {
				$out[ "post:$type:{$row->ID}" ] = $row->post_modified_gmt . '#' . $row->post_status;
			}
		}
		foreach ( $taxonomies as $taxonomy ) {
			foreach ( $wpdb->get_results( $wpdb->prepare( "SELECT t.term_id, tt.parent, t.slug FROM {$wpdb->terms} t JOIN {$wpdb->term_taxonomy} tt ON tt.term_id = t.term_id WHERE tt.taxonomy = %s", $taxonomy ) ) as $row ) {
				$out[ "term:$taxonomy:{$row->term_id}" ] = $row->parent . '#' . $row->slug;
			}
		}
		ksort( $out );
		return $out;
	}

	/**
	 * The same view of what the fake platform holds.
	 *
	 * @return array<string, string>
	 */
	protected function platform_content() {
		$out = array();
		foreach ( $this->backend->held as $key => $item ) {
			$out[ $key ] = 'post' === $item['kind'] ? $item['modified_gmt'] . '#' . $item['data']['status'] : $item['data']['parent'] . '#' . $item['data']['slug'];
		}
		ksort( $out );
		return $out;
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
