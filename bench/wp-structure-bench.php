<?php
/**
 * Measures igny8_get_site_structure() on an installed WordPress: wall time and extra memory.
 * usage: php bench/wp-structure-bench.php WP_DIR [RUNS]   (run by bench/wp-structure-bench.sh)
 */
$dir  = rtrim( $argv[1] ?? '', '/' );
$runs = max( 1, (int) ( $argv[2] ?? 20 ) );
if ( ! is_file( "$dir/wp-load.php" ) ) {
	fwrite( STDERR, "usage: php wp-structure-bench.php WP_DIR [RUNS]\n" );
	exit( 2 );
}
$_SERVER['HTTP_HOST'] = '127.0.0.1'; $_SERVER['SERVER_NAME'] = '127.0.0.1'; $_SERVER['REQUEST_URI'] = '/'; $_SERVER['REQUEST_METHOD'] = 'GET';
require "$dir/wp-load.php";
if ( ! function_exists( 'igny8_get_site_structure' ) ) {
	fwrite( STDERR, "igny8-wp-plugin is not active in $dir\n" );
	exit( 1 );
}
global $wpdb;

$items = (int) $wpdb->get_var( "SELECT COUNT(*) FROM {$wpdb->posts}" );
$terms = (int) $wpdb->get_var( "SELECT COUNT(*) FROM {$wpdb->term_taxonomy}" );

// Cold: the first call of the process (empty object cache; MariaDB's buffer pool as it is).
$mem0 = memory_get_usage();
if ( function_exists( 'memory_reset_peak_usage' ) ) {
	memory_reset_peak_usage();
}
$peak0     = memory_get_peak_usage();
$q0        = $wpdb->num_queries;
$t0        = hrtime( true );
$structure = igny8_get_site_structure();
$cold_ms   = ( hrtime( true ) - $t0 ) / 1e6;
$queries   = $wpdb->num_queries - $q0;
$extra_mem = max( memory_get_usage(), memory_get_peak_usage() ) - max( $mem0, function_exists( 'memory_reset_peak_usage' ) ? $mem0 : $peak0 );

// Warm: every later call, as a cron run or a page view would see it (no persistent object cache).
$times = array();
for ( $i = 0; $i < $runs; $i++ ) {
	wp_cache_flush();
	$t0      = hrtime( true );
	igny8_get_site_structure();
	$times[] = ( hrtime( true ) - $t0 ) / 1e6;
}
sort( $times );
$median = $times[ intdiv( count( $times ), 2 ) ];
$p_max  = end( $times );

$published = array_sum( array_column( $structure['post_types'], 'count' ) );
printf( "site: %d rows in wp_posts, %d terms; structure: %d post types (%d published items), %d taxonomies\n",
	$items, $terms, count( $structure['post_types'] ), $published, count( $structure['taxonomies'] ) );
printf( "igny8_get_site_structure(): first call %.1f ms, then median %.1f ms / max %.1f ms over %d runs; %d queries\n",
	$cold_ms, $median, $p_max, $runs, $queries );
printf( "extra memory (peak during the call): %.2f MB\n", $extra_mem / 1048576 );
printf( "targets: <= 50 ms, <= 8 MB -> %s\n", ( $median <= 50 && $extra_mem <= 8 * 1048576 ) ? 'met' : 'NOT met' );
foreach ( $structure['post_types'] as $name => $e ) {
	printf( "  post type %-12s %7d  enabled=%s limit=%d\n", $name, $e['count'], $e['enabled'] ? 'yes' : 'no', $e['fetch_limit'] );
}
foreach ( $structure['taxonomies'] as $name => $e ) {
	printf( "  taxonomy  %-12s %7d  enabled=%s limit=%d\n", $name, $e['count'], $e['enabled'] ? 'yes' : 'no', $e['fetch_limit'] );
}
