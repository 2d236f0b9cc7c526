<?php
/**
 * Integrity (docs/sync-protocol.md): when the platform asks, the plugin sends checksum sums per bucket of
 * 10,000 ids for every synced type (one SQL query per type), then per-item checksums of the buckets the
 * platform says differ, queues the items it lacks, and reports done.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Ids per bucket. */
const IGNY8_VERIFY_BUCKET_SIZE = 10000;

/**
 * The SQL for a type's checksummed rows: id and the items' own checksum (every synced field), from the same
 * rows the full sync sends (posts: status and fetch limit; terms: every term of the taxonomy).
 *
 * @param string      $kind   post|term.
 * @param string      $type   Post type or taxonomy.
 * @param string|null $cutoff Fetch limit cut-off of a post type.
 * @return array{0: string, 1: string, 2: string} [id expression, checksum expression, FROM … WHERE …].
 */
function igny8_verify_source( $kind, $type, $cutoff ) {
	global $wpdb;
	if ( 'term' === $kind ) {
		return array(
			't.term_id',
			igny8_term_checksum_sql(),
			$wpdb->prepare( "FROM {$wpdb->terms} t INNER JOIN {$wpdb->term_taxonomy} tt ON tt.term_id = t.term_id WHERE tt.taxonomy = %s", $type ),
		);
	}
	return array(
		'p.ID',
		igny8_post_checksum_sql( 'p' ),
		"FROM {$wpdb->posts} p WHERE " . igny8_synced_posts_where( 'p', $type, $cutoff ),
	);
}

/**
 * Bucket sums of a type, in one query: [{start, count, sum}], ascending.
 *
 * @param string      $kind   post|term.
 * @param string      $type   Post type or taxonomy.
 * @param string|null $cutoff Fetch limit cut-off.
 * @return array[]
 */
function igny8_verify_buckets( $kind, $type, $cutoff = null ) {
	global $wpdb;
	list( $id, $checksum, $from ) = igny8_verify_source( $kind, $type, $cutoff );
	$size                         = IGNY8_VERIFY_BUCKET_SIZE;
	// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- built from constants and prepared parts.
	$rows    = $wpdb->get_results( "SELECT FLOOR($id / $size) AS bucket, COUNT(*) AS n, SUM($checksum) AS total $from GROUP BY bucket ORDER BY bucket" );
	$buckets = array();
	foreach ( (array) $rows as $row ) {
		$buckets[] = array(
			'start' => (int) $row->bucket * $size,
			'count' => (int) $row->n,
			'sum'   => (int) $row->total,
		);
	}
	return $buckets;
}

/**
 * Per-item checksums of one bucket: [{wp_id, checksum}].
 *
 * @param string      $kind   post|term.
 * @param string      $type   Post type or taxonomy.
 * @param string|null $cutoff Fetch limit cut-off.
 * @param int         $start  Bucket start.
 * @return array[]
 */
function igny8_verify_bucket_items( $kind, $type, $cutoff, $start ) {
	global $wpdb;
	list( $id, $checksum, $from ) = igny8_verify_source( $kind, $type, $cutoff );
	$range = sprintf( '%s BETWEEN %d AND %d', $id, $start, $start + IGNY8_VERIFY_BUCKET_SIZE - 1 );
	// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- built from constants, ints and prepared parts.
	$rows  = $wpdb->get_results( "SELECT $id AS wp_id, $checksum AS checksum $from AND $range ORDER BY $id" );
	$items = array();
	foreach ( (array) $rows as $row ) {
		$items[] = array(
			'wp_id'    => (int) $row->wp_id,
			'checksum' => (int) $row->checksum,
		);
	}
	return $items;
}

/**
 * The bucket starts the platform says differ, from its answer to {"action": "buckets"}: a list under
 * `differing` (or `differ`), of {start, count, sum} (plain starts are read too).
 *
 * @param array $answer Answer data.
 * @return int[]
 */
function igny8_differing_buckets( array $answer ) {
	$list = array();
	foreach ( array( 'differing', 'differ' ) as $key ) {
		if ( isset( $answer[ $key ] ) && is_array( $answer[ $key ] ) ) {
			$list = $answer[ $key ];
			break;
		}
	}
	$starts = array();
	foreach ( $list as $bucket ) {
		if ( is_array( $bucket ) && isset( $bucket['start'] ) && is_numeric( $bucket['start'] ) ) {
			$starts[] = (int) $bucket['start'];
		} elseif ( is_numeric( $bucket ) ) {
			$starts[] = (int) $bucket;
		}
	}
	return array_values( array_unique( $starts ) );
}

/**
 * Runs a verification for every synced type and tells the platform it is done. Items the platform lacks
 * or holds differently are queued (the queue re-sends their current state).
 *
 * @return array|WP_Error {types, buckets, differing, resend, deleted}.
 */
function igny8_run_verify() {
	if ( ! igny8_content_sync_active() ) {
		return new WP_Error( 'igny8_not_connected', __( 'This site is not connected to IGNY8 yet: connect it under Settings → IGNY8 API.', 'igny8' ) );
	}
	if ( ! igny8_acquire_lock( 'verify' ) ) {
		return new WP_Error( 'igny8_busy', __( 'A verification is already running.', 'igny8' ) );
	}
	$result = igny8_verify_all();
	igny8_release_lock( 'verify' );
	if ( is_wp_error( $result ) ) {
		igny8_note_failure( $result );
	} else {
		delete_option( 'igny8_verify_due' );
	}
	update_option(
		'igny8_last_verify',
		array_merge(
			array( 'time' => time() ),
			is_wp_error( $result ) ? array( 'error' => $result->get_error_message() ) : $result
		),
		false
	);
	return $result;
}

/**
 * The verification's requests.
 *
 * @return array|WP_Error
 */
function igny8_verify_all() {
	$sync    = igny8_sync_types();
	$types   = array();
	$summary = array(
		'types'     => 0,
		'buckets'   => 0,
		'differing' => 0,
		'resend'    => 0,
		'deleted'   => 0,
	);
	foreach ( array_keys( $sync['taxonomies'] ) as $taxonomy ) {
		$types[] = array( 'term', $taxonomy, null );
	}
	foreach ( $sync['post_types'] as $post_type => $limit ) {
		$types[] = array( 'post', $post_type, igny8_post_type_cutoff( $post_type, $limit ) );
	}
	foreach ( $types as list( $kind, $type, $cutoff ) ) {
		$buckets = igny8_verify_buckets( $kind, $type, $cutoff );
		$answer  = igny8_content_request(
			'POST',
			'content/verify/',
			array(
				'body' => array(
					'action'      => 'buckets',
					'kind'        => $kind,
					'type'        => $type,
					'bucket_size' => IGNY8_VERIFY_BUCKET_SIZE,
					'buckets'     => $buckets,
				),
			)
		);
		if ( is_wp_error( $answer ) ) {
			return $answer;
		}
		++$summary['types'];
		$summary['buckets'] += count( $buckets );
		foreach ( igny8_differing_buckets( $answer ) as $start ) {
			++$summary['differing'];
			$answer = igny8_content_request(
				'POST',
				'content/verify/',
				array(
					'body' => array(
						'action'      => 'items',
						'kind'        => $kind,
						'type'        => $type,
						'bucket_size' => IGNY8_VERIFY_BUCKET_SIZE,
						'start'       => $start,
						'items'       => igny8_verify_bucket_items( $kind, $type, $cutoff, $start ),
					),
				)
			);
			if ( is_wp_error( $answer ) ) {
				return $answer;
			}
			$resend              = isset( $answer['resend'] ) && is_array( $answer['resend'] ) ? array_filter( $answer['resend'], 'is_numeric' ) : array();
			$summary['resend']  += igny8_queue_add_many( $kind, $type, $resend, 'upsert' );
			$summary['deleted'] += isset( $answer['delete'] ) && is_array( $answer['delete'] ) ? count( $answer['delete'] ) : 0;
		}
	}
	$answer = igny8_content_request( 'POST', 'content/verify/', array( 'body' => array( 'action' => 'done' ) ) );
	if ( is_wp_error( $answer ) ) {
		return $answer;
	}
	igny8_note_success();
	if ( isset( $answer['result'] ) && is_string( $answer['result'] ) ) {
		$summary['result'] = $answer['result']; // in_sync or out_of_sync.
	} elseif ( isset( $answer['verify']['state'] ) && is_string( $answer['verify']['state'] ) ) {
		$summary['result'] = $answer['verify']['state'];
	}
	igny8_log( sprintf( 'Verification done: %d of %d buckets differed, %d items queued again, %d removed by IGNY8.', $summary['differing'], $summary['buckets'], $summary['resend'], $summary['deleted'] ) );
	return $summary;
}
