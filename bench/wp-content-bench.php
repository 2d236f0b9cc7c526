<?php
/**
 * The parts of bench/wp-content-bench.sh that run inside WordPress (php CLI, WordPress loaded).
 *
 *   php bench/wp-content-bench.php WP_DIR connect BASE EMAIL PASSWORD KEY   connect the plugin; prints the integration id
 *   php bench/wp-content-bench.php WP_DIR structure                         push the structure (applies the platform's settings)
 *   php bench/wp-content-bench.php WP_DIR full-sync                         run a full sync to its end, as consecutive
 *                                                                          cron runs would; prints JSON: seconds, memory, batches
 *   php bench/wp-content-bench.php WP_DIR app-password                      an application password for the admin (REST saves)
 *   php bench/wp-content-bench.php WP_DIR status-check                      one status check, as the plugin's cron makes it
 *                                                                          (pulls two-way changes when some wait)
 *   php bench/wp-content-bench.php WP_DIR drain                             pulls and applies two-way changes until none is
 *                                                                          pending; prints JSON: seconds, changes, memory
 */
$dir = rtrim( $argv[1] ?? '', '/' );
$cmd = $argv[2] ?? '';
if ( ! is_file( "$dir/wp-load.php" ) ) {
	fwrite( STDERR, "usage: php wp-content-bench.php WP_DIR connect|structure|full-sync|app-password …\n" );
	exit( 2 );
}
$_SERVER['HTTP_HOST']      = '127.0.0.1';
$_SERVER['SERVER_NAME']    = '127.0.0.1';
$_SERVER['REQUEST_URI']    = '/';
$_SERVER['REQUEST_METHOD'] = 'GET';
if ( getenv( 'IGNY8_BENCH_PROFILE' ) ) {
	define( 'SAVEQUERIES', true ); // Time per query, summed by kind into FILE.queries.
}
require "$dir/wp-load.php";
if ( ! function_exists( 'igny8_full_sync_step' ) ) {
	fwrite( STDERR, "igny8-wp-plugin is not active in $dir\n" );
	exit( 1 );
}

switch ( $cmd ) {
	case 'connect':
		$result = igny8_connect_site( $argv[3], $argv[4], $argv[5], $argv[6] );
		if ( is_wp_error( $result ) ) {
			fwrite( STDERR, 'connect failed: ' . $result->get_error_message() . "\n" );
			exit( 1 );
		}
		echo (int) $result['integration_id'], "\n";
		break;

	case 'structure':
		$result = igny8_sync_site_structure_to_backend();
		if ( is_wp_error( $result ) ) {
			fwrite( STDERR, 'structure push failed: ' . $result->get_error_message() . "\n" );
			exit( 1 );
		}
		echo wp_json_encode( igny8_sync_types() ), "\n";
		break;

	case 'full-sync':
		global $wpdb;
		if ( ! igny8_full_sync_in_progress() ) {
			igny8_request_full_sync( 'admin' );
		}
		// Time this process spent blocked on the platform (a batch in flight while the next one is built
		// counts only for the time spent waiting for its answer). No pre_http_request filter: hooking the
		// HTTP API turns background sends off.
		$http_seconds = 0.0;
		$http_split   = array();
		add_action(
			'igny8_http_waited',
			static function ( $seconds, $method, $path ) use ( &$http_seconds, &$http_split ) {
				$http_seconds += $seconds;
				$key           = $method . ' ' . preg_replace( '#^/api/v1/integration/integrations/\d+/#', '', $path );
				$http_split[ $key ] = round( ( isset( $http_split[ $key ] ) ? $http_split[ $key ] : 0 ) + $seconds, 3 );
			},
			10,
			3
		);
		$links = igny8_permalink_context();
		// IGNY8_BENCH_PROFILE=FILE: sample the run with ext-excimer (if loaded) and write collapsed stacks
		// (flamegraph.pl's input) to FILE.
		$profile = getenv( 'IGNY8_BENCH_PROFILE' );
		$profiler = null;
		if ( $profile && class_exists( 'ExcimerProfiler' ) ) {
			$profiler = new ExcimerProfiler();
			$profiler->setPeriod( 0.001 );
			$profiler->setEventType( EXCIMER_CPU );
			$profiler->start();
		}
		$queries = $wpdb->num_queries;
		$started = microtime( true );
		$steps   = 0;
		while ( igny8_full_sync_in_progress() && $steps < 10000 ) {
			++$steps;
			$result = igny8_full_sync_step(); // 20 s, as one cron run.
			if ( is_wp_error( $result ) ) {
				fwrite( STDERR, 'full sync step failed: ' . $result->get_error_message() . "\n" );
				exit( 1 );
			}
		}
		if ( $profiler ) {
			$profiler->stop();
			file_put_contents( $profile, $profiler->getLog()->formatCollapsed() );
		}
		if ( $profile ) {
			$kinds = array();
			foreach ( (array) $wpdb->queries as $q ) {
				$kind = substr( preg_replace( '/\d+/', 'N', preg_replace( '/\s+/', ' ', $q[0] ) ), 0, 90 );
				$kinds[ $kind ]  = isset( $kinds[ $kind ] ) ? $kinds[ $kind ] : array( 0, 0.0 );
				$kinds[ $kind ][0]++;
				$kinds[ $kind ][1] += $q[1];
			}
			uasort( $kinds, static function ( $a, $b ) {
				return $b[1] <=> $a[1];
			} );
			$out = '';
			foreach ( $kinds as $kind => $c ) {
				$out .= sprintf( "%8.3f s %6d  %s\n", $c[1], $c[0], $kind );
			}
			file_put_contents( $profile . '.queries', $out );
		}
		$state = igny8_full_sync_state();
		echo wp_json_encode(
			array(
				'seconds'         => round( microtime( true ) - $started, 3 ),
				'http_seconds'    => round( $http_seconds, 3 ),
				'http_split'      => $http_split,
				'cpu_seconds'     => round( ( static function () {
					$r = getrusage();
					return $r['ru_utime.tv_sec'] + $r['ru_utime.tv_usec'] / 1e6 + $r['ru_stime.tv_sec'] + $r['ru_stime.tv_usec'] / 1e6;
				} )(), 3 ),
				'steps'           => $steps,
				'batches'         => isset( $state['batches'] ) ? (int) $state['batches'] : 0,
				'items'           => array_sum( array_column( $state['types'], 'done' ) ),
				'queries'         => $wpdb->num_queries - $queries,
				'peak_mb'         => round( memory_get_peak_usage() / 1048576, 1 ),
				'peak_real_mb'    => round( memory_get_peak_usage( true ) / 1048576, 1 ),
				'gc_runs'         => gc_status()['runs'],
				'async'           => Igny8_Async_Request::available(),
				'fast_permalinks' => null !== $links,
				'status'          => $state['status'],
				'types'           => $state['types'],
			)
		), "\n";
		break;

	case 'app-password':
		$created = WP_Application_Passwords::create_new_application_password( 1, array( 'name' => 'bench-' . time() ) );
		if ( is_wp_error( $created ) ) {
			fwrite( STDERR, $created->get_error_message() . "\n" );
			exit( 1 );
		}
		echo $created[0], "\n";
		break;

	case 'status-check':
		igny8_poll_content_status( true );
		break;

	case 'drain':
		$started = microtime( true );
		$pulls   = 0;
		do {
			igny8_pull_changes( 600 );
			++$pulls;
			$status = igny8_content_request( 'GET', 'content/status/' );
			$left   = is_wp_error( $status ) ? -1 : (int) ( $status['changes_pending'] ?? -1 );
		} while ( $left > 0 && $pulls < 1000 );
		echo wp_json_encode(
			array(
				'seconds'      => round( microtime( true ) - $started, 3 ),
				'pulls'        => $pulls,
				'left'         => $left,
				'peak_mb'      => round( memory_get_peak_usage() / 1048576, 1 ),
				'peak_real_mb' => round( memory_get_peak_usage( true ) / 1048576, 1 ),
			)
		), "\n";
		break;

	default:
		fwrite( STDERR, "unknown command $cmd\n" );
		exit( 2 );
}
