<?php
/**
 * Full sync (docs/sync-protocol.md): start with totals, walk each synced type by id ascending in batches
 * bounded by rows and bytes, each with its range marker, then finish with the highest ids. The cursor of
 * acknowledged batches is stored at most once a second (igny8_full_sync_cursor_interval), and always after a
 * type's first batch, at a type's end, when a step ends (time box, error) and at the finish; each request
 * works for a bounded time, so a killed PHP process or a slow site resumes from the last stored cursor, from
 * the next cron run. Resuming from a cursor older than the last acknowledged batch sends batches the platform
 * already applied again, which the protocol makes harmless: upserts are keyed and guarded by modified_gmt,
 * a range marker re-applied deletes nothing WordPress still has, and the platform's progress recounts a
 * re-walked range instead of adding it.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Cron event that continues a full sync. */
const IGNY8_FULL_SYNC_HOOK = 'igny8_full_sync_continue';

/** Acknowledged batches whose cursor may wait for the next store (bounds the snapshots kept meanwhile). */
const IGNY8_FULL_SYNC_UNSTORED_BATCHES = 64;

/**
 * The stored run: status (pending|running|done), run_id, reason, times, settings signature, and per type
 * (terms first, so that posts refer to terms the platform already holds) kind, type, cutoff, total,
 * done, last_id, complete.
 *
 * @return array
 */
function igny8_full_sync_state() {
	$state = get_option( 'igny8_full_sync', array() );
	return is_array( $state ) ? $state : array();
}

/**
 * @param array $state Run.
 */
function igny8_save_full_sync_state( array $state ) {
	update_option( 'igny8_full_sync', $state, false );
}

/**
 * Stores a step's progress, unless a new full sync was requested while the step ran (another request,
 * e.g. "Full sync now", a settings change or the platform, stored one): then the request stays stored,
 * $state becomes it, and the step's walk ends; the next step starts the requested run.
 *
 * @param array $state Run (replaced by the newer request when there is one).
 * @return bool Whether the progress was stored.
 */
function igny8_save_full_sync_progress( array &$state ) {
	wp_cache_delete( 'igny8_full_sync', 'options' ); // What another process stored, not this one's copy.
	$stored = igny8_full_sync_state();
	$newer  = isset( $stored['status'], $stored['request_id'] ) && 'pending' === $stored['status']
		&& ( ! isset( $state['request_id'] ) || $stored['request_id'] !== $state['request_id'] );
	if ( $newer ) {
		$state = $stored;
		return false;
	}
	igny8_save_full_sync_state( $state );
	return true;
}

/**
 * @return bool Whether a full sync is waiting to start or running.
 */
function igny8_full_sync_in_progress() {
	$state = igny8_full_sync_state();
	return isset( $state['status'] ) && in_array( $state['status'], array( 'pending', 'running' ), true );
}

/**
 * A signature of what is synced (types and limits): when it changes, a full sync brings the platform's
 * copy in line (a newly enabled type's items, a lowered limit's leftovers).
 *
 * @return string
 */
function igny8_sync_signature() {
	$types = igny8_sync_types();
	ksort( $types['post_types'] );
	ksort( $types['taxonomies'] );
	return md5( (string) wp_json_encode( $types ) );
}

/**
 * Asks for a full sync: a new run replaces any unfinished one. It starts from cron (right away on sites
 * where WP-Cron runs on page views), never in the request that asked.
 *
 * @param string $reason connect|admin|platform|settings|overflow.
 */
function igny8_request_full_sync( $reason ) {
	$previous = igny8_full_sync_state();
	igny8_save_full_sync_state(
		array(
			'status'       => 'pending',
			'reason'       => (string) $reason,
			'request_id'   => wp_generate_password( 16, false ),
			'requested_at' => time(),
			'last_done_at' => isset( $previous['finished_at'] ) ? (int) $previous['finished_at'] : ( isset( $previous['last_done_at'] ) ? (int) $previous['last_done_at'] : 0 ),
		)
	);
	igny8_schedule_full_sync_continue( time() );
	igny8_log( sprintf( 'Full sync requested (%s).', $reason ) );
}

/**
 * (Re)schedules the single continue event at $when.
 *
 * @param int $when Unix time.
 */
function igny8_schedule_full_sync_continue( $when ) {
	$next = wp_next_scheduled( IGNY8_FULL_SYNC_HOOK );
	if ( (int) $next === (int) $when ) {
		return;
	}
	if ( $next ) {
		wp_unschedule_event( $next, IGNY8_FULL_SYNC_HOOK );
	}
	wp_schedule_single_event( (int) $when, IGNY8_FULL_SYNC_HOOK );
}

/**
 * The cron callback: one time-boxed step.
 */
function igny8_run_full_sync_continue() {
	if ( ! igny8_is_connected() ) {
		return;
	}
	igny8_maybe_upgrade_schema();
	igny8_full_sync_step();
}

/**
 * Works on the full sync for at most $time_limit seconds: starts it if pending, sends batches, finishes
 * it. Re-schedules itself while work remains (after a failure: when the backoff ends).
 *
 * @param int|null $time_limit Seconds (default: filter igny8_full_sync_time_limit, 20).
 * @return array|WP_Error|null The run after the step, an error, or null when there is nothing to do or
 *                             another process is at it.
 */
function igny8_full_sync_step( $time_limit = null ) {
	if ( ! igny8_full_sync_in_progress() ) {
		return null;
	}
	if ( null === $time_limit ) {
		/**
		 * Seconds one request spends on a full sync before handing over to the next cron run.
		 *
		 * @param int $seconds Default 20.
		 */
		$time_limit = (int) apply_filters( 'igny8_full_sync_time_limit', 20 );
	}
	if ( igny8_backoff_active() ) {
		igny8_schedule_full_sync_continue( igny8_backoff_until() );
		return null;
	}
	if ( ! igny8_acquire_lock( 'full_sync' ) ) {
		return null;
	}
	igny8_allow_seconds( (int) $time_limit + 60 ); // The time box, one last batch (30 s timeout), the finish.
	$deadline = microtime( true ) + max( 0, (int) $time_limit );
	$state    = igny8_full_sync_state();
	$result   = null;
	if ( 'pending' === $state['status'] ) {
		$result = igny8_full_sync_start( $state );
	}
	$in_flight = null; // The batch sent and not acknowledged yet: it travels while the next one is built.
	$cursor    = igny8_full_sync_cursor(); // Acknowledged batches whose cursor is not stored yet.
	while ( ! is_wp_error( $result ) && 'running' === $state['status'] && microtime( true ) < $deadline ) {
		$result = igny8_full_sync_pipeline( $state, $in_flight, $cursor );
	}
	if ( null !== $in_flight && ! is_wp_error( $result ) && 'running' === $state['status'] ) {
		$result = igny8_full_sync_acknowledge( $state, $in_flight, $cursor );
	}
	if ( 'running' === $state['status'] ) {
		igny8_full_sync_store_cursor( $state, $cursor ); // The time box ended, or an error: what was acknowledged is kept.
	}
	igny8_release_lock( 'full_sync' );

	if ( is_wp_error( $result ) ) {
		igny8_schedule_full_sync_continue( max( time(), igny8_backoff_until() ) );
		return $result;
	}
	if ( in_array( $state['status'], array( 'pending', 'running' ), true ) ) {
		igny8_schedule_full_sync_continue( time() );
	}
	return $state;
}

/**
 * Starts the run: what is synced, totals, the fetch limits' cut-offs; POST content/full-sync/ start.
 *
 * @param array $state Run (updated).
 * @return true|WP_Error
 */
function igny8_full_sync_start( array &$state ) {
	global $wpdb;
	if ( ! is_array( get_option( 'igny8_effective_settings', false ) ) ) {
		// Without the platform's settings nothing is known to be enabled: a run now would tell the
		// platform to drop everything. Push the structure first.
		$pushed = igny8_sync_site_structure_to_backend();
		if ( is_wp_error( $pushed ) ) {
			igny8_note_failure( $pushed );
			return $pushed;
		}
		$state = igny8_full_sync_state(); // The push may have replaced the request.
		if ( 'pending' !== $state['status'] ) {
			return true;
		}
	}
	$sync   = igny8_sync_types();
	$types  = array();
	$totals = array();
	foreach ( array_keys( $sync['taxonomies'] ) as $taxonomy ) {
		$total                      = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$wpdb->term_taxonomy} WHERE taxonomy = %s", $taxonomy ) );
		$types[]                    = array(
			'kind'     => 'term',
			'type'     => $taxonomy,
			'cutoff'   => null,
			'total'    => $total,
			'done'     => 0,
			'last_id'  => 0,
			'complete' => false,
		);
		$totals[ 'term:' . $taxonomy ] = $total;
	}
	foreach ( $sync['post_types'] as $post_type => $limit ) {
		$cutoff = igny8_post_type_cutoff( $post_type, $limit );
		$where  = igny8_synced_posts_where( 'p', $post_type, $cutoff );
		$total  = (int) $wpdb->get_var( "SELECT COUNT(*) FROM {$wpdb->posts} p WHERE $where" ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- prepared by igny8_synced_posts_where().
		$types[]                     = array(
			'kind'     => 'post',
			'type'     => $post_type,
			'cutoff'   => $cutoff,
			'total'    => $total,
			'done'     => 0,
			'last_id'  => 0,
			'complete' => false,
		);
		$totals[ 'post:' . $post_type ] = $total;
	}
	$run_id = wp_generate_uuid4();
	$answer = igny8_content_request(
		'POST',
		'content/full-sync/',
		array(
			'body' => array(
				'action' => 'start',
				'run_id' => $run_id,
				'totals' => (object) $totals,
			),
		)
	);
	if ( is_wp_error( $answer ) ) {
		igny8_note_failure( $answer );
		return $answer;
	}
	igny8_note_success();
	// Everything queued so far is covered by the walk that follows, which reads the current state.
	igny8_queue_clear();
	delete_option( 'igny8_queue_overflowed' );
	$state = array_merge(
		$state,
		array(
			'status'     => 'running',
			'run_id'     => $run_id,
			'started_at' => time(),
			'signature'  => igny8_sync_signature(),
			'types'      => $types,
			'position'   => 0,
		)
	);
	if ( ! igny8_save_full_sync_progress( $state ) ) {
		return true; // A newer request replaced this run before it was stored: the next step starts that.
	}
	igny8_log( sprintf( 'Full sync %s started: %d types, %d items.', $run_id, count( $types ), array_sum( $totals ) ) );
	return true;
}

/**
 * One unit of work, done before returning: the next batch of the current type sent and acknowledged (its
 * cursor stored), or the type's end, or the run's finish.
 *
 * @param array $state Run (updated and stored).
 * @return true|WP_Error
 */
function igny8_full_sync_advance( array &$state ) {
	$in_flight = null;
	$cursor    = igny8_full_sync_cursor();
	$result    = igny8_full_sync_pipeline( $state, $in_flight, $cursor );
	if ( null !== $in_flight && ! is_wp_error( $result ) ) {
		$result = igny8_full_sync_acknowledge( $state, $in_flight, $cursor );
	}
	igny8_full_sync_store_cursor( $state, $cursor );
	return $result;
}

/**
 * The cursor's bookkeeping for one step: when it was last stored, and the acknowledged batches since then
 * (their ranges and snapshots, re-checked when the cursor is stored).
 *
 * @return array
 */
function igny8_full_sync_cursor() {
	/**
	 * Seconds between two stores of the full sync's cursor while batches are acknowledged. Each store is a
	 * committed (fsync'd) option write; a process killed in between resumes from the last stored cursor
	 * and sends the batches acknowledged since then again, which is harmless (the protocol makes them
	 * idempotent). 0 stores it after every acknowledged batch.
	 *
	 * @param float $seconds Default 1.
	 */
	return array(
		'interval' => max( 0.0, (float) apply_filters( 'igny8_full_sync_cursor_interval', 1.0 ) ),
		'saved_at' => microtime( true ),
		'pending'  => array(),
	);
}

/**
 * Stores the run with the cursor of every acknowledged batch, after re-checking their ranges for changes
 * made since they were read (so the cursor never passes a range whose changes were not queued).
 *
 * @param array $state  Run (stored).
 * @param array $cursor From igny8_full_sync_cursor() (updated).
 */
function igny8_full_sync_store_cursor( array &$state, array &$cursor ) {
	if ( ! $cursor['pending'] ) {
		return;
	}
	igny8_full_sync_recheck_ranges( $cursor['pending'] );
	$cursor['pending']  = array();
	$cursor['saved_at'] = microtime( true );
	igny8_save_full_sync_progress( $state );
}

/**
 * One unit of the pipelined walk. The batch after the cursor is built while the previous one travels
 * ($in_flight); then the previous one's answer is awaited and acknowledged (cursor stored, range
 * re-checked), and only then is the new one sent, in its turn left in flight. So the platform applies
 * batch N while PHP reads and builds batch N+1, yet batches still go one at a time, in id order, and
 * the cursor never passes a batch before its acknowledgement: a process killed at any moment resumes
 * from the last acknowledged batch, and what it sent unacknowledged is sent again (idempotent).
 *
 * @param array      $state     Run (updated and stored).
 * @param array|null $in_flight The batch sent and not acknowledged yet (updated): position, built, marker, request.
 * @param array      $cursor    From igny8_full_sync_cursor() (updated).
 * @return true|WP_Error
 */
function igny8_full_sync_pipeline( array &$state, &$in_flight, array &$cursor ) {
	if ( null === $in_flight && $state['position'] >= count( $state['types'] ) ) {
		return igny8_full_sync_finish( $state );
	}
	$entry = $state['types'][ $state['position'] ];
	if ( null !== $in_flight ) {
		$entry['last_id'] = $in_flight['marker']['to_id']; // Built past the batch in flight …
	}
	$built = 'term' === $entry['kind'] ? igny8_full_sync_term_batch( $entry ) : igny8_full_sync_post_batch( $entry );
	$sent   = $in_flight;
	$answer = null;
	if ( null !== $sent ) {
		$in_flight = null;
		$answer    = igny8_full_sync_answer( $state, $sent ); // … sent only once that one is acknowledged.
		if ( is_wp_error( $answer ) ) {
			return $answer; // The batch just built is dropped; the next attempt starts from the stored cursor.
		}
	}
	if ( null !== $built ) {
		$marker    = array(
			'run_id'  => $state['run_id'],
			'type'    => $entry['type'],
			'kind'    => $entry['kind'],
			'from_id' => (int) $entry['last_id'] + 1,
			'to_id'   => $built['to_id'],
		);
		$in_flight = array(
			'position' => $state['position'],
			'built'    => $built,
			'marker'   => $marker,
			'request'  => igny8_send_batch_start( $built['batch'], $marker ),
		);
	}
	if ( null !== $sent ) {
		// The acknowledged batch's cursor is recorded (and stored, when it is time) while the next one
		// travels (a process killed before the store sends both again).
		igny8_full_sync_record( $state, $sent, $answer, $cursor );
		if ( 'running' !== $state['status'] ) {
			return true; // A newer request replaced the run while it was stored: the next step starts it.
		}
	}
	if ( null === $built ) {
		$state['types'][ $state['position'] ]['complete'] = true;
		++$state['position'];
		$cursor['pending'][] = null; // Forces the store.
		igny8_full_sync_store_cursor( $state, $cursor );
	}
	return true;
}

/**
 * Waits for the answer to a batch in flight and acknowledges it: rejections recorded, the type's cursor
 * moved past its range and stored, the range re-checked for changes made meanwhile.
 *
 * @param array $state Run (updated and stored).
 * @param array $sent   The batch in flight (igny8_full_sync_pipeline()).
 * @param array $cursor From igny8_full_sync_cursor() (updated).
 * @return true|WP_Error
 */
function igny8_full_sync_acknowledge( array &$state, array $sent, array &$cursor ) {
	$answer = igny8_full_sync_answer( $state, $sent );
	if ( is_wp_error( $answer ) ) {
		return $answer;
	}
	igny8_full_sync_record( $state, $sent, $answer, $cursor );
	return true;
}

/**
 * Waits for the answer to a batch in flight: every item acknowledged, or an error (nothing is).
 *
 * @param array $state Run (updated when the platform no longer knows it).
 * @param array $sent  The batch in flight.
 * @return array|WP_Error The answer (igny8_send_batch()).
 */
function igny8_full_sync_answer( array &$state, array $sent ) {
	$answer = igny8_send_batch_finish( $sent['built']['batch'], $sent['request'] );
	if ( is_wp_error( $answer ) ) {
		return igny8_full_sync_failed( $state, $answer );
	}
	if ( count( $answer['results'] ) !== $sent['built']['batch']->count() ) {
		$error = new WP_Error( 'igny8_incomplete_answer', __( 'IGNY8 did not acknowledge every item of a full sync batch; it is sent again.', 'igny8' ) );
		igny8_note_failure( $error );
		return $error;
	}
	return $answer;
}

/**
 * Records an acknowledged batch: rejections, the type's cursor past its range; the range is re-checked
 * for changes made while it travelled and the cursor stored when it is time (igny8_full_sync_cursor():
 * at most once a second, and after the type's first batch).
 *
 * @param array $state  Run (updated, stored when it is time).
 * @param array $sent   The batch.
 * @param array $answer Its answer (igny8_full_sync_answer()).
 * @param array $cursor From igny8_full_sync_cursor() (updated).
 */
function igny8_full_sync_record( array &$state, array $sent, array $answer, array &$cursor ) {
	$built    = $sent['built'];
	$entry    = $state['types'][ $sent['position'] ];
	$rejected = array();
	foreach ( empty( $answer['rejected'] ) ? array() : $answer['results'] as $index => $result ) {
		if ( 'rejected' === $result['status'] ) {
			$rejected[] = array(
				'kind'   => $entry['kind'],
				'type'   => $entry['type'],
				'wp_id'  => $built['ids'][ $index ],
				'op'     => 'upsert',
				'reason' => $result['reason'],
			);
		}
	}
	igny8_record_rejections( $rejected );
	$state['types'][ $sent['position'] ]['done']   += $built['batch']->count();
	$state['types'][ $sent['position'] ]['last_id'] = $built['to_id'];
	$state['batches']                               = ( isset( $state['batches'] ) ? (int) $state['batches'] : 0 ) + 1;
	$cursor['pending'][]                            = array(
		'entry'    => $entry,
		'from_id'  => (int) $sent['marker']['from_id'],
		'to_id'    => (int) $built['to_id'],
		'snapshot' => $built['snapshot'],
		'read_at'  => isset( $built['read_at'] ) ? $built['read_at'] : null,
	);
	if ( 0 === (int) $entry['last_id'] || count( $cursor['pending'] ) >= IGNY8_FULL_SYNC_UNSTORED_BATCHES || microtime( true ) - $cursor['saved_at'] >= $cursor['interval'] ) {
		igny8_full_sync_store_cursor( $state, $cursor );
	}
}

/**
 * Re-checks the ranges of acknowledged batches (igny8_full_sync_recheck()). Consecutive ranges of a post
 * type are checked together first: one count-and-checksum row says whether anything changed in all of
 * them; only when something did is each range read again.
 *
 * @param array $pending From igny8_full_sync_record() (null entries are skipped).
 */
function igny8_full_sync_recheck_ranges( array $pending ) {
	global $wpdb;
	$pending = array_values( array_filter( $pending ) );
	$groups  = array();
	foreach ( $pending as $range ) {
		$last = count( $groups ) - 1;
		if ( $last >= 0 && 'post' === $range['entry']['kind'] && 'post' === $groups[ $last ][0]['entry']['kind'] && $groups[ $last ][0]['entry']['type'] === $range['entry']['type'] && end( $groups[ $last ] )['to_id'] + 1 === $range['from_id'] ) {
			$groups[ $last ][] = $range;
		} else {
			$groups[] = array( $range );
		}
	}
	foreach ( $groups as $group ) {
		if ( count( $group ) > 1 ) {
			$entry   = $group[0]['entry'];
			$sum     = 0;
			$count   = 0;
			$read_at = $group[0]['read_at'];
			foreach ( $group as $range ) {
				foreach ( $range['snapshot'] as $id => $fingerprint ) {
					$sum += crc32( $id . '#' . $fingerprint );
				}
				$count  += count( $range['snapshot'] );
				$read_at = min( $read_at, $range['read_at'] );
			}
			$where = igny8_synced_posts_where( 'p', $entry['type'], $entry['cutoff'] );
			// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- prepared by igny8_synced_posts_where().
			$same = $wpdb->get_row( $wpdb->prepare( "SELECT COUNT(*) AS n, COALESCE(SUM(CRC32(CONCAT_WS('#', p.ID, p.post_modified_gmt, p.post_status))), 0) AS crc, COALESCE(SUM(p.post_modified_gmt >= %s), 0) AS recent FROM {$wpdb->posts} p WHERE $where AND p.ID BETWEEN %d AND %d", $read_at, $group[0]['from_id'], end( $group )['to_id'] ) );
			if ( $same && $count === (int) $same->n && (string) $sum === (string) $same->crc && 0 === (int) $same->recent ) {
				continue;
			}
		}
		foreach ( $group as $range ) {
			igny8_full_sync_recheck( $range['entry'], $range['from_id'], $range );
		}
	}
}

/**
 * A full sync request failed. A platform that no longer knows the run (it was replaced, or its store was
 * reset) gets a new run; anything else is retried after the backoff.
 *
 * @param array    $state   Run (updated).
 * @param WP_Error $error   Failure.
 * @param bool     $unknown Whether the answer says the run is not the platform's current one.
 * @return WP_Error
 */
function igny8_full_sync_failed( array &$state, WP_Error $error, $unknown = false ) {
	if ( $unknown || in_array( $error->get_error_code(), array( 'unknown_run', 'run_not_running', 'run_replaced' ), true ) ) {
		igny8_log( sprintf( 'IGNY8 no longer knows full sync %s (%s): starting a new one.', $state['run_id'], $error->get_error_code() ) );
		igny8_note_success(); // The platform is up: the new run starts without waiting.
		igny8_request_full_sync( isset( $state['reason'] ) ? $state['reason'] : 'restart' );
		$state = igny8_full_sync_state();
	}
	return $error;
}

/**
 * The next batch of a taxonomy's terms after the cursor.
 *
 * @param array $entry The type's entry.
 * @return array|null {batch, to_id, ids, snapshot}, or null when the walk is over.
 */
function igny8_full_sync_term_batch( array $entry ) {
	global $wpdb;
	$rows = $wpdb->get_results( $wpdb->prepare( "SELECT t.term_id, t.name, t.slug, tt.taxonomy, tt.parent, tt.count, tt.description, " . igny8_stamp_columns_sql( 'term' ) . " FROM {$wpdb->terms} t INNER JOIN {$wpdb->term_taxonomy} tt ON tt.term_id = t.term_id WHERE tt.taxonomy = %s AND t.term_id > %d ORDER BY t.term_id LIMIT %d", $entry['type'], $entry['last_id'], igny8_batch_max_items() ) );
	if ( ! $rows ) {
		return null;
	}
	$batch    = new Igny8_Batch();
	$ids      = array();
	$snapshot = array();
	$to_id    = (int) $entry['last_id'];
	foreach ( $rows as $row ) {
		$item = igny8_term_item( $row );
		if ( null !== $item && ! $batch->add( $item ) ) {
			break;
		}
		if ( null !== $item ) {
			$ids[] = (int) $row->term_id;
		}
		$snapshot[ (int) $row->term_id ] = igny8_term_fingerprint( $row );
		$to_id                           = (int) $row->term_id;
	}
	return array(
		'batch'    => $batch,
		'to_id'    => $to_id,
		'ids'      => $ids,
		'snapshot' => $snapshot,
	);
}

/**
 * The next batch of a post type's synced items after the cursor: sizes first, then only the rows that fit
 * the batch's bytes are read.
 *
 * @param array $entry The type's entry.
 * @return array|null {batch, to_id, ids, snapshot}, or null when the walk is over.
 */
function igny8_full_sync_post_batch( array $entry ) {
	global $wpdb;
	$read_at = gmdate( 'Y-m-d H:i:s' );
	$where   = igny8_synced_posts_where( 'p', $entry['type'], $entry['cutoff'] );
	// Sizes first, and with them the whole row of posts whose text is small (nearly all): one query for
	// those; larger ones are read in a second query, only as many as fit the batch's bytes.
	$small = '(LENGTH(p.post_content) + LENGTH(p.post_title) + LENGTH(p.post_excerpt) <= ' . IGNY8_INLINE_POST_BYTES . ')';
	$cols  = array();
	foreach ( explode( ', ', igny8_post_columns_sql() ) as $column ) {
		$cols[] = in_array( $column, array( 'post_content', 'post_title', 'post_excerpt' ), true ) ? "IF($small, p.$column, NULL) AS $column" : "p.$column";
	}
	// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- prepared by igny8_synced_posts_where(); columns are fixed.
	$sizes = $wpdb->get_results( $wpdb->prepare( "SELECT LENGTH(p.post_content) AS content_bytes, LENGTH(p.post_title) + LENGTH(p.post_excerpt) AS other_bytes, $small AS small, " . implode( ', ', $cols ) . ', ' . igny8_stamp_columns_sql( 'post' ) . " FROM {$wpdb->posts} p WHERE $where AND p.ID > %d ORDER BY p.ID LIMIT %d", $entry['last_id'], igny8_batch_max_items() ) );
	if ( ! $sizes ) {
		return null;
	}
	$by_id = array();
	foreach ( $sizes as $size ) {
		$by_id[ (int) $size->ID ] = $size;
	}
	$sizes     = $by_id;
	$max_bytes = igny8_batch_max_bytes();
	$loaded    = array_flip( igny8_ids_within_budget( $sizes, $max_bytes ) );
	$rows      = array();
	$large     = array();
	foreach ( array_keys( $loaded ) as $id ) {
		if ( '1' === (string) $sizes[ $id ]->small ) {
			$rows[ $id ] = $sizes[ $id ];
			unset( $rows[ $id ]->content_bytes, $rows[ $id ]->other_bytes, $rows[ $id ]->small );
		} else {
			$rows[ $id ] = null;
			$large[]     = $id;
		}
	}
	if ( $large ) {
		foreach ( igny8_load_post_rows( $large ) as $id => $row ) {
			$rows[ $id ] = $row;
		}
	}
	$items = igny8_post_items( array_filter( $rows ) );
	unset( $rows );
	$batch     = new Igny8_Batch( null, $max_bytes );
	$ids       = array();
	$snapshot  = array();
	$to_id     = (int) $entry['last_id'];
	foreach ( $sizes as $id => $size ) {
		$id = (int) $id;
		if ( isset( $items[ $id ] ) ) {
			if ( ! $batch->add( $items[ $id ] ) ) {
				break;
			}
			$ids[] = $id;
		} elseif ( ! isset( $loaded[ $id ] ) ) {
			break; // Not read: beyond this batch's bytes. (Read but without item: left out by a filter.)
		}
		$snapshot[ $id ] = $size->post_modified_gmt . '#' . $size->post_status;
		$to_id           = $id;
	}
	unset( $items );
	return array(
		'batch'    => $batch,
		'to_id'    => $to_id,
		'ids'      => $ids,
		'snapshot' => $snapshot,
		'read_at'  => $read_at,
	);
}

/**
 * What changed in a batch's range between reading it and its acknowledgement (an edit, a publish, a
 * deletion in that window) is queued, so the range marker cannot leave the platform behind. Post times
 * have a one-second resolution: a post modified in the second the batch was read is queued too (an edit
 * in that second leaves post_modified_gmt as it was).
 *
 * @param array $entry   The type's entry.
 * @param int   $from_id Range start.
 * @param array $built   The batch as built (to_id, snapshot).
 */
function igny8_full_sync_recheck( array $entry, $from_id, array $built ) {
	global $wpdb;
	$now = array();
	if ( 'term' === $entry['kind'] ) {
		$rows = $wpdb->get_results( $wpdb->prepare( "SELECT t.term_id, t.name, t.slug, tt.parent, tt.count, tt.description FROM {$wpdb->terms} t INNER JOIN {$wpdb->term_taxonomy} tt ON tt.term_id = t.term_id WHERE tt.taxonomy = %s AND t.term_id BETWEEN %d AND %d", $entry['type'], $from_id, $built['to_id'] ) );
		foreach ( (array) $rows as $row ) {
			$now[ (int) $row->term_id ] = igny8_term_fingerprint( $row );
		}
	} else {
		$where = igny8_synced_posts_where( 'p', $entry['type'], $entry['cutoff'] );
		// Nearly always nothing changed: the range's count and checksum sum (the verification's own
		// checksum of id, modified time and status) say so in one row; anything else reads the rows.
		$sum = 0;
		foreach ( $built['snapshot'] as $id => $fingerprint ) {
			$sum += crc32( $id . '#' . $fingerprint );
		}
		// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- prepared by igny8_synced_posts_where().
		$same = $wpdb->get_row( $wpdb->prepare( "SELECT COUNT(*) AS n, COALESCE(SUM(CRC32(CONCAT_WS('#', p.ID, p.post_modified_gmt, p.post_status))), 0) AS crc, COALESCE(SUM(p.post_modified_gmt >= %s), 0) AS recent FROM {$wpdb->posts} p WHERE $where AND p.ID BETWEEN %d AND %d", $built['read_at'], $from_id, $built['to_id'] ) );
		if ( $same && count( $built['snapshot'] ) === (int) $same->n && (string) $sum === (string) $same->crc && 0 === (int) $same->recent ) {
			return;
		}
		// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- prepared by igny8_synced_posts_where().
		$rows = $wpdb->get_results( $wpdb->prepare( "SELECT p.ID, p.post_modified_gmt, p.post_status FROM {$wpdb->posts} p WHERE $where AND p.ID BETWEEN %d AND %d", $from_id, $built['to_id'] ) );
		foreach ( (array) $rows as $row ) {
			// A post modified in the second of the read, or later, never matches its snapshot.
			$now[ (int) $row->ID ] = strcmp( $row->post_modified_gmt, $built['read_at'] ) >= 0 ? 'changed' : $row->post_modified_gmt . '#' . $row->post_status;
		}
	}
	foreach ( $now as $id => $fingerprint ) {
		if ( ! isset( $built['snapshot'][ $id ] ) || $built['snapshot'][ $id ] !== $fingerprint ) {
			igny8_queue_add( $entry['kind'], $entry['type'], $id, 'upsert' );
		}
	}
	foreach ( array_diff_key( $built['snapshot'], $now ) as $id => $fingerprint ) {
		igny8_queue_add( $entry['kind'], $entry['type'], $id, 'delete' );
	}
}

/**
 * What of a term is sent, in one string, to notice a change.
 *
 * @param object $row Term row.
 * @return string
 */
function igny8_term_fingerprint( $row ) {
	return md5( $row->name . "\0" . $row->slug . "\0" . $row->parent . "\0" . $row->count . "\0" . $row->description );
}

/**
 * Finishes the run: POST content/full-sync/ finish with each type's highest walked id (the platform drops
 * what it holds above it, and types no longer synced).
 *
 * @param array $state Run (updated).
 * @return true|WP_Error
 */
function igny8_full_sync_finish( array &$state ) {
	$max_ids = array();
	foreach ( $state['types'] as $entry ) {
		$max_ids[ $entry['kind'] . ':' . $entry['type'] ] = (int) $entry['last_id'];
	}
	$answer = igny8_content_request(
		'POST',
		'content/full-sync/',
		array(
			'body' => array(
				'action'  => 'finish',
				'run_id'  => $state['run_id'],
				'max_ids' => (object) $max_ids,
			),
		)
	);
	if ( is_wp_error( $answer ) ) {
		igny8_note_failure( $answer );
		// 409: the run is not the platform's current one (another replaced it, or the platform lost it).
		return igny8_full_sync_failed( $state, $answer, 'conflict' === $answer->get_error_code() );
	}
	igny8_note_success();
	$state['status']      = 'done';
	$state['finished_at'] = time();
	if ( ! igny8_save_full_sync_progress( $state ) ) {
		return true; // A newer request arrived meanwhile: it stays, and its run starts next.
	}
	wp_clear_scheduled_hook( IGNY8_FULL_SYNC_HOOK );
	igny8_log( sprintf( 'Full sync %s finished in %d s.', $state['run_id'], $state['finished_at'] - $state['started_at'] ) );
	return true;
}

/**
 * A full sync that should be running but has no event (its PHP process was killed after WP-Cron took the
 * event off the schedule) gets one again. Called by the every-minute cron.
 */
function igny8_resume_stalled_full_sync() {
	if ( igny8_full_sync_in_progress() && ! wp_next_scheduled( IGNY8_FULL_SYNC_HOOK ) ) {
		igny8_schedule_full_sync_continue( max( time(), igny8_backoff_until() ) );
	}
}
