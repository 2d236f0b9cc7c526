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
 *   php bench/wp-content-bench.php WP_DIR checksums RUNS                    times the verification's bucket sums of every synced
 *                                                                          type with the plugin's checksum and with the old one
 *                                                                          (id, modified time, status): JSON, median of RUNS
 *   php bench/wp-content-bench.php WP_DIR verify                            one verification against the platform, as the cron runs
 *                                                                          it; prints JSON: seconds, http_seconds, result, resend
 *   php bench/wp-content-bench.php WP_DIR send-queue                        sends the queue until it is empty
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

	case 'checksums':
		global $wpdb;
		$runs  = max( 1, (int) ( $argv[3] ?? 3 ) );
		$sync  = igny8_sync_types();
		$types = array();
		foreach ( array_keys( $sync['taxonomies'] ) as $taxonomy ) {
			$types[] = array( 'term', $taxonomy, null );
		}
		foreach ( $sync['post_types'] as $post_type => $limit ) {
			$types[] = array( 'post', $post_type, igny8_post_type_cutoff( $post_type, $limit ) );
		}
		// Today's query before this change: the same buckets over CRC32 of id, modified time and status (terms:
		// id, parent, slug), from the same rows.
		$old_sql = static function ( $kind, $type, $cutoff ) {
			list( $id, , $from ) = igny8_verify_source( $kind, $type, $cutoff );
			$checksum            = 'term' === $kind ? "CRC32(CONCAT_WS('#', t.term_id, tt.parent, t.slug))" : "CRC32(CONCAT_WS('#', p.ID, p.post_modified_gmt, p.post_status))";
			return "SELECT FLOOR($id / 10000) AS bucket, COUNT(*) AS n, SUM($checksum) AS total $from GROUP BY bucket ORDER BY bucket";
		};
		$median = static function ( array $t ) {
			sort( $t );
			return $t[ intdiv( count( $t ), 2 ) ];
		};
		$old = array();
		$new = array();
		for ( $run = 0; $run < $runs; $run++ ) {
			// Alternating, so both see the same cache state and machine load.
			$started = microtime( true );
			foreach ( $types as list( $kind, $type, $cutoff ) ) {
				$wpdb->get_results( $old_sql( $kind, $type, $cutoff ) ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
			}
			$old[]   = microtime( true ) - $started;
			$started = microtime( true );
			$items   = 0;
			foreach ( $types as list( $kind, $type, $cutoff ) ) {
				foreach ( igny8_verify_buckets( $kind, $type, $cutoff ) as $bucket ) {
					$items += $bucket['count'];
				}
			}
			$new[] = microtime( true ) - $started;
		}
		echo wp_json_encode(
			array(
				'types'       => count( $types ),
				'items'       => $items,
				'old_seconds' => round( $median( $old ), 3 ),
				'new_seconds' => round( $median( $new ), 3 ),
			)
		), "\n";
		break;

	case 'verify':
		$http_seconds = 0.0;
		add_action(
			'igny8_http_waited',
			static function ( $seconds ) use ( &$http_seconds ) {
				$http_seconds += $seconds;
			}
		);
		$started = microtime( true );
		$result  = igny8_run_verify();
		if ( is_wp_error( $result ) ) {
			fwrite( STDERR, 'verify failed: ' . $result->get_error_message() . "\n" );
			exit( 1 );
		}
		echo wp_json_encode(
			$result + array(
				'seconds'      => round( microtime( true ) - $started, 3 ),
				'http_seconds' => round( $http_seconds, 3 ),
				'peak_mb'      => round( memory_get_peak_usage() / 1048576, 1 ),
			)
		), "\n";
		break;

	case 'send-queue':
		$started = microtime( true );
		$sent    = 0;
		while ( igny8_queue_count() > 0 && microtime( true ) - $started < 600 ) {
			$result = igny8_send_queue_batch();
			if ( is_wp_error( $result ) ) {
				fwrite( STDERR, 'send failed: ' . $result->get_error_message() . "\n" );
				exit( 1 );
			}
			++$sent;
		}
		echo wp_json_encode( array( 'seconds' => round( microtime( true ) - $started, 3 ), 'batches' => $sent ) ), "\n";
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
