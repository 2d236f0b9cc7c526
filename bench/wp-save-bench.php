<?php
/**
 * The parts of bench/wp-save-bench.sh that run inside WordPress (php CLI, WordPress loaded).
 *
 *   php bench/wp-save-bench.php WP_DIR connect BASE    connect the plugin to the stub at BASE (resets its state)
 *   php bench/wp-save-bench.php WP_DIR base BASE       point the connected plugin at BASE, once no send holds
 *                                                      the queue's lock; no backoff, every queued row due
 *   php bench/wp-save-bench.php WP_DIR no-backoff      forget the backoff (as if IGNY8 had just gone away)
 *   php bench/wp-save-bench.php WP_DIR plugin on|off   activate or deactivate the plugin
 *   php bench/wp-save-bench.php WP_DIR post            a post to save; prints its id
 *   php bench/wp-save-bench.php WP_DIR app-password    an application password for the admin (REST saves)
 *   php bench/wp-save-bench.php WP_DIR state           JSON: queue rows, backoff, queue lock free
 */
$dir = rtrim( $argv[1] ?? '', '/' );
$cmd = $argv[2] ?? '';
if ( ! is_file( "$dir/wp-load.php" ) ) {
	fwrite( STDERR, "usage: php wp-save-bench.php WP_DIR connect|base|no-backoff|plugin|post|app-password|state …\n" );
	exit( 2 );
}
$_SERVER['HTTP_HOST']      = '127.0.0.1';
$_SERVER['SERVER_NAME']    = '127.0.0.1';
$_SERVER['REQUEST_URI']    = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
require "$dir/wp-load.php";
require_once ABSPATH . 'wp-admin/includes/plugin.php';
$plugin = 'igny8-wp-plugin/igny8-wp-plugin.php';

switch ( $cmd ) {
	case 'connect':
		global $wpdb;
		$wpdb->query( "DELETE FROM {$wpdb->options} WHERE option_name LIKE 'igny8\\_%' AND option_name <> 'igny8_db_version'" );
		wp_cache_flush();
		igny8_queue_clear();
		$result = igny8_connect_site( $argv[3], 'bench@example.com', 'bench password', 'igny8_bench_key' );
		if ( is_wp_error( $result ) ) {
			fwrite( STDERR, 'connect failed: ' . $result->get_error_message() . "\n" );
			exit( 1 );
		}
		delete_option( 'igny8_full_sync' ); // The stub holds nothing to sync; only saves are measured.
		wp_clear_scheduled_hook( 'igny8_full_sync_continue' );
		echo wp_json_encode( igny8_sync_types() ), "\n";
		break;

	case 'base':
		// A clean start for the next case: no send of the previous case still waiting on the black hole
		// (it holds the queue's lock for up to its 15 s timeout), no backoff, every queued row due.
		global $wpdb;
		for ( $i = 0; $i < 300 && function_exists( 'igny8_lock_is_free' ) && ! igny8_lock_is_free( 'queue' ); $i++ ) {
			usleep( 100000 );
		}
		update_option( 'igny8_api_base', $argv[3], false );
		delete_option( 'igny8_send_backoff' );
		$wpdb->query( 'UPDATE ' . igny8_queue_table() . ' SET next_attempt_at = UTC_TIMESTAMP()' );
		break;

	case 'no-backoff':
		delete_option( 'igny8_send_backoff' );
		break;

	case 'plugin':
		if ( 'on' === ( $argv[3] ?? '' ) ) {
			$result = activate_plugin( $plugin );
			if ( is_wp_error( $result ) ) {
				fwrite( STDERR, $result->get_error_message() . "\n" );
				exit( 1 );
			}
			wp_clear_scheduled_hook( 'igny8_verify' ); // Cron is off in the bench; nothing to verify.
		} else {
			deactivate_plugins( $plugin );
		}
		break;

	case 'post':
		echo (int) wp_insert_post(
			array(
				'post_type'    => 'post',
				'post_status'  => 'publish',
				'post_title'   => 'Save bench',
				'post_content' => str_repeat( "<!-- wp:paragraph --><p>A paragraph of the post being edited.</p><!-- /wp:paragraph -->\n", 20 ),
			)
		), "\n";
		break;

	case 'app-password':
		$created = WP_Application_Passwords::create_new_application_password( 1, array( 'name' => 'save-bench-' . time() ) );
		if ( is_wp_error( $created ) ) {
			fwrite( STDERR, $created->get_error_message() . "\n" );
			exit( 1 );
		}
		echo $created[0], "\n";
		break;

	case 'state':
		echo wp_json_encode(
			array(
				'queued'    => function_exists( 'igny8_queue_count' ) ? igny8_queue_count() : null,
				'backoff'   => function_exists( 'igny8_backoff_until' ) ? max( 0, igny8_backoff_until() - time() ) : null,
				'lock_free' => function_exists( 'igny8_lock_is_free' ) ? igny8_lock_is_free( 'queue' ) : null,
			)
		), "\n";
		break;

	default:
		fwrite( STDERR, "unknown command $cmd\n" );
		exit( 2 );
}
