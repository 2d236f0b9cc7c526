<?php
/**
 * Incremental sync: the plugin's own queue table {prefix}igny8_queue, one row per changed object (a second
 * change of the same object updates its row), and its sender. A row leaves the queue only when the platform
 * acknowledged its item; the item's data is read when the batch is built, so it is always current.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Schema version of the plugin's tables (igny8_db_version). */
const IGNY8_DB_VERSION = 2;
/** Rows the queue holds at most; past it the plugin asks for a full sync instead. */
const IGNY8_QUEUE_LIMIT = 50000;

/**
 * @return string The queue table's name.
 */
function igny8_queue_table() {
	global $wpdb;
	return $wpdb->prefix . 'igny8_queue';
}

/**
 * Creates or upgrades the plugin's tables (dbDelta) and records the schema version.
 */
function igny8_install_schema() {
	global $wpdb;
	require_once ABSPATH . 'wp-admin/includes/upgrade.php';
	$table   = igny8_queue_table();
	$charset = $wpdb->get_charset_collate();
	// dbDelta's format: one column per line, two spaces after PRIMARY KEY.
	dbDelta(
		"CREATE TABLE $table (
  id bigint(20) unsigned NOT NULL auto_increment,
  kind varchar(8) NOT NULL,
  type varchar(32) NOT NULL,
  wp_id bigint(20) unsigned NOT NULL,
  op varchar(8) NOT NULL,
  rev int(10) unsigned NOT NULL default '0',
  queued_at datetime NOT NULL,
  attempts smallint(5) unsigned NOT NULL default '0',
  next_attempt_at datetime NOT NULL,
  PRIMARY KEY  (id),
  UNIQUE KEY object (kind,type,wp_id),
  KEY next_attempt_at (next_attempt_at)
) $charset;"
	);
	dbDelta( igny8_changes_log_schema( $charset ) );
	update_option( 'igny8_db_version', IGNY8_DB_VERSION, false );
}

/**
 * Runs igny8_install_schema() when the stored schema version is older than the code's (plugin updated
 * without reactivation). Called from admin_init and cron, never on front-end page views.
 */
function igny8_maybe_upgrade_schema() {
	if ( (int) get_option( 'igny8_db_version', 0 ) >= IGNY8_DB_VERSION ) {
		return;
	}
	igny8_install_schema();
	// A site connected by a version without content sync: start it as connecting would have.
	if ( igny8_is_connected() ) {
		igny8_schedule_content_sync();
		if ( ! igny8_full_sync_state() ) {
			igny8_request_full_sync( 'upgrade' );
		}
	}
}

/**
 * Whether content changes are being synced: connected, and the platform's settings are known.
 *
 * @return bool
 */
function igny8_content_sync_active() {
	return igny8_is_connected() && is_array( get_option( 'igny8_effective_settings', false ) );
}

/**
 * Whether this request queued something (it then sends at shutdown).
 *
 * @param bool|null $set Mark (true) or reset (false).
 * @return bool
 */
function igny8_queue_touched( $set = null ) {
	static $touched = false;
	if ( null !== $set ) {
		$touched = (bool) $set;
	}
	return $touched;
}

/**
 * Queues a change of one object. A second change of the same object updates its row (op, time, and a
 * revision counter, so that an acknowledgement of the previous version does not remove the new one).
 *
 * @param string $kind  post|term.
 * @param string $type  Post type or taxonomy.
 * @param int    $wp_id Id.
 * @param string $op    upsert|delete.
 * @return bool Whether the change is queued.
 */
function igny8_queue_add( $kind, $type, $wp_id, $op ) {
	global $wpdb;
	if ( false !== get_option( 'igny8_queue_overflowed', false ) ) {
		return false; // A full sync will bring everything; the platform has been told.
	}
	$table   = igny8_queue_table();
	$written = igny8_queue_write( $kind, $type, array( $wp_id ), $op );
	if ( false === $written ) {
		return false;
	}
	if ( 1 === (int) $written && ! igny8_queue_has_room( (int) $wpdb->insert_id ) ) {
		$wpdb->query( $wpdb->prepare( "DELETE FROM $table WHERE id = %d", $wpdb->insert_id ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		igny8_queue_overflow();
		return false;
	}
	igny8_queued();
	return true;
}

/**
 * Queues a change of many objects of one type at once (verification's repairs): one statement per 500
 * rows instead of one commit per row. A queue that would pass its limit overflows as igny8_queue_add's.
 *
 * @param string $kind post|term.
 * @param string $type Post type or taxonomy.
 * @param int[]  $ids  Ids.
 * @param string $op   upsert|delete.
 * @return int How many were queued.
 */
function igny8_queue_add_many( $kind, $type, array $ids, $op ) {
	$ids = array_values( array_unique( array_filter( array_map( 'intval', $ids ), static function ( $id ) {
		return $id > 0;
	} ) ) );
	if ( ! $ids || false !== get_option( 'igny8_queue_overflowed', false ) ) {
		return 0;
	}
	if ( igny8_queue_count() + count( $ids ) > (int) apply_filters( 'igny8_queue_limit', IGNY8_QUEUE_LIMIT ) ) {
		igny8_queue_overflow();
		return 0;
	}
	$queued = 0;
	foreach ( array_chunk( $ids, 500 ) as $chunk ) {
		if ( false === igny8_queue_write( $kind, $type, $chunk, $op ) ) {
			break;
		}
		$queued += count( $chunk );
	}
	if ( $queued ) {
		igny8_queued();
	}
	return $queued;
}

/**
 * Inserts queue rows (or moves existing ones on: new op, next revision, due now) in one statement; makes
 * the table first when an in-place update skipped activation.
 *
 * @param string $kind post|term.
 * @param string $type Post type or taxonomy.
 * @param int[]  $ids  Ids.
 * @param string $op   upsert|delete.
 * @return int|false Rows written as MySQL counts them, or false (logged).
 */
function igny8_queue_write( $kind, $type, array $ids, $op ) {
	global $wpdb;
	$table  = igny8_queue_table();
	$now    = gmdate( 'Y-m-d H:i:s' );
	$values = array();
	foreach ( $ids as $id ) {
		$values[] = $wpdb->prepare( '(%s, %s, %d, %s, 0, %s, 0, %s)', $kind, $type, $id, $op, $now, $now );
	}
	// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table name and prepared rows.
	$sql        = "INSERT INTO $table (kind, type, wp_id, op, rev, queued_at, attempts, next_attempt_at) VALUES " . implode( ', ', $values ) . '
		ON DUPLICATE KEY UPDATE op = VALUES(op), rev = rev + 1, queued_at = VALUES(queued_at), next_attempt_at = VALUES(next_attempt_at)';
	$suppressed = $wpdb->suppress_errors( true );
	$written    = $wpdb->query( $sql ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- prepared above.
	if ( false === $written && false !== stripos( $wpdb->last_error, "doesn't exist" ) ) {
		igny8_install_schema(); // Updated in place without activation: make the table now.
		$written = $wpdb->query( $sql ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
	}
	$wpdb->suppress_errors( $suppressed );
	if ( false === $written ) {
		igny8_log( sprintf( 'Could not queue %s %s #%s: %s', $kind, $type, implode( ', #', array_slice( $ids, 0, 5 ) ), $wpdb->last_error ) );
	}
	return $written;
}

/**
 * Something was queued: this request sends it when it ends, the cron's event is the fallback
 * (sync/background.php).
 */
function igny8_queued() {
	igny8_queue_touched( true );
	igny8_schedule_queue_send( time() + MINUTE_IN_SECONDS );
}

/**
 * Whether the queue is within its limit after inserting row $new_id. Ids grow by one per new row, so
 * the span from the oldest id bounds the row count: the exact count is needed only near the limit.
 *
 * @param int $new_id Id of the row just inserted.
 * @return bool
 */
function igny8_queue_has_room( $new_id ) {
	global $wpdb;
	$table = igny8_queue_table();
	$limit = (int) apply_filters( 'igny8_queue_limit', IGNY8_QUEUE_LIMIT );
	$first = (int) $wpdb->get_var( "SELECT MIN(id) FROM $table" ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	if ( $new_id - $first + 1 <= $limit ) {
		return true;
	}
	return (int) $wpdb->get_var( "SELECT COUNT(*) FROM $table" ) <= $limit; // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
}

/**
 * The queue is full: stop queuing, record it, and ask the platform for a full sync (now if possible,
 * else from the next cron run). The full sync empties the queue and clears the flag.
 */
function igny8_queue_overflow() {
	if ( false !== get_option( 'igny8_queue_overflowed', false ) ) {
		return;
	}
	update_option(
		'igny8_queue_overflowed',
		array(
			'time'      => time(),
			'requested' => false,
		),
		false
	);
	igny8_log( sprintf( 'The sync queue is full (%d changes): changes are no longer queued until a full sync.', IGNY8_QUEUE_LIMIT ) );
	igny8_queue_touched( true ); // The shutdown sender asks for the full sync.
}

/**
 * Tells the platform the queue overflowed (POST content/resync-request/), once.
 *
 * @return bool|WP_Error|null True when told now, null when there is nothing to tell.
 */
function igny8_send_resync_request() {
	$overflow = get_option( 'igny8_queue_overflowed', false );
	if ( ! is_array( $overflow ) || ! empty( $overflow['requested'] ) ) {
		return null;
	}
	$answer = igny8_content_request( 'POST', 'content/resync-request/', array( 'body' => array( 'reason' => 'queue_overflow' ), 'timeout' => 10 ) );
	if ( is_wp_error( $answer ) ) {
		igny8_log( 'Could not ask IGNY8 for a full sync after the queue overflowed: ' . $answer->get_error_message() );
		return $answer;
	}
	$overflow['requested'] = true;
	update_option( 'igny8_queue_overflowed', $overflow, false );
	igny8_act_on_platform_requests( $answer );
	return true;
}

/**
 * @return int Rows waiting in the queue.
 */
function igny8_queue_count() {
	global $wpdb;
	$table      = igny8_queue_table();
	$suppressed = $wpdb->suppress_errors( true );
	$count      = (int) $wpdb->get_var( "SELECT COUNT(*) FROM $table" ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	$wpdb->suppress_errors( $suppressed );
	return $count;
}

/**
 * When the queue's next row is due.
 *
 * @return int|null Unix time, or null when the queue is empty.
 */
function igny8_queue_next_due() {
	global $wpdb;
	$table      = igny8_queue_table();
	$suppressed = $wpdb->suppress_errors( true );
	$next       = $wpdb->get_var( "SELECT MIN(next_attempt_at) FROM $table" ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	$wpdb->suppress_errors( $suppressed );
	return null === $next ? null : (int) strtotime( $next . ' UTC' );
}

/**
 * Empties the queue (a full sync starts, or the site disconnects).
 */
function igny8_queue_clear() {
	global $wpdb;
	$table      = igny8_queue_table();
	$suppressed = $wpdb->suppress_errors( true );
	$wpdb->query( "DELETE FROM $table" ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	$wpdb->suppress_errors( $suppressed );
}

/**
 * Rows due for sending, oldest first.
 *
 * @param int $limit Rows.
 * @return object[]
 */
function igny8_queue_due_rows( $limit ) {
	global $wpdb;
	$table = igny8_queue_table();
	// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table name.
	return (array) $wpdb->get_results( $wpdb->prepare( "SELECT id, kind, type, wp_id, op, rev, attempts FROM $table WHERE next_attempt_at <= %s ORDER BY id LIMIT %d", gmdate( 'Y-m-d H:i:s' ), $limit ) );
}

/**
 * Removes acknowledged rows, unless they changed again since they were read (their revision moved on).
 *
 * @param object[] $rows Rows as read.
 */
function igny8_queue_ack( array $rows ) {
	global $wpdb;
	if ( ! $rows ) {
		return;
	}
	$pairs = array();
	foreach ( $rows as $row ) {
		$pairs[] = sprintf( '(%d,%d)', $row->id, $row->rev );
	}
	$table = igny8_queue_table();
	$wpdb->query( "DELETE FROM $table WHERE (id, rev) IN (" . implode( ',', $pairs ) . ')' ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- ints.
}

/**
 * Puts rows back for a later attempt.
 *
 * @param object[] $rows  Rows.
 * @param int      $until Unix time of the next attempt.
 */
function igny8_queue_defer( array $rows, $until ) {
	global $wpdb;
	if ( ! $rows ) {
		return;
	}
	$table = igny8_queue_table();
	$ids   = implode( ',', array_map( 'intval', wp_list_pluck( $rows, 'id' ) ) );
	// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table name, ints.
	$wpdb->query( $wpdb->prepare( "UPDATE $table SET attempts = attempts + 1, next_attempt_at = GREATEST(next_attempt_at, %s) WHERE id IN ($ids)", gmdate( 'Y-m-d H:i:s', (int) $until ) ) );
}

/**
 * Builds one batch from the queue and sends it. Rows of types no longer synced, and of posts that are now
 * editor stubs, leave without being sent; everything else leaves when the platform acknowledges it.
 *
 * @param int $timeout Seconds for the request.
 * @return array|WP_Error|null Counts {sent, applied, stale, rejected, dropped}, an error, or null when
 *                             nothing was due.
 */
function igny8_send_queue_batch( $timeout = 30 ) {
	global $wpdb;
	if ( ! igny8_content_sync_active() ) {
		return null;
	}
	$rows = igny8_queue_due_rows( igny8_batch_max_items() );
	if ( ! $rows ) {
		return null;
	}
	$types     = igny8_sync_types();
	$max_bytes = igny8_batch_max_bytes();

	// Current state of the queued posts and terms: sizes first, then only what fits is loaded.
	$post_ids = array();
	$term_ids = array();
	foreach ( $rows as $row ) {
		if ( 'post' === $row->kind ) {
			$post_ids[] = (int) $row->wp_id;
		} else {
			$term_ids[] = (int) $row->wp_id;
		}
	}
	$sizes = array();
	if ( $post_ids ) {
		// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- ints.
		foreach ( (array) $wpdb->get_results( "SELECT ID, post_type, post_status, LENGTH(post_content) AS content_bytes, LENGTH(post_title) + LENGTH(post_excerpt) AS other_bytes FROM {$wpdb->posts} WHERE ID IN (" . implode( ',', $post_ids ) . ')' ) as $size ) {
			$sizes[ (int) $size->ID ] = $size;
		}
	}
	$to_load = array();
	foreach ( $rows as $row ) {
		$id = (int) $row->wp_id;
		if ( 'post' === $row->kind && isset( $sizes[ $id ] ) && $sizes[ $id ]->post_type === $row->type && isset( $types['post_types'][ $row->type ] ) && ! in_array( $sizes[ $id ]->post_status, IGNY8_UNSYNCED_STATUSES, true ) ) {
			$to_load[ $id ] = $sizes[ $id ];
		}
	}
	$loaded     = array_flip( igny8_ids_within_budget( $to_load, $max_bytes ) );
	$post_items = igny8_post_items( igny8_load_post_rows( array_keys( $loaded ) ) );
	$term_rows  = igny8_load_term_rows( $term_ids );

	$batch    = new Igny8_Batch( null, $max_bytes );
	$included = array();
	$items    = array();
	$dropped  = array();
	foreach ( $rows as $row ) {
		$id   = (int) $row->wp_id;
		$item = null;
		if ( 'post' === $row->kind ) {
			if ( ! isset( $types['post_types'][ $row->type ] ) ) {
				$dropped[] = $row; // No longer synced.
				continue;
			}
			if ( isset( $to_load[ $id ] ) ) {
				if ( ! isset( $loaded[ $id ] ) ) {
					break; // Beyond this batch's bytes: it goes in the next one.
				}
				// Left out by the igny8_sync_item filter: the platform drops its copy.
				$item = isset( $post_items[ $id ] ) ? $post_items[ $id ] : igny8_delete_item( 'post', $row->type, $id );
			} elseif ( isset( $sizes[ $id ] ) && $sizes[ $id ]->post_type === $row->type ) {
				$dropped[] = $row; // An editor stub or revision: nothing to send.
				continue;
			} else {
				$item = igny8_delete_item( 'post', $row->type, $id ); // Deleted, or now of another type.
			}
		} else {
			if ( ! isset( $types['taxonomies'][ $row->type ] ) ) {
				$dropped[] = $row;
				continue;
			}
			if ( isset( $term_rows[ $id ] ) && $term_rows[ $id ]->taxonomy === $row->type ) {
				$item = igny8_term_item( $term_rows[ $id ] );
			}
			if ( null === $item ) {
				$item = igny8_delete_item( 'term', $row->type, $id );
			}
		}
		if ( ! $batch->add( $item ) ) {
			break;
		}
		$included[] = $row;
		$items[]    = $item;
	}
	igny8_queue_ack( $dropped );
	if ( ! $included ) {
		return array(
			'sent'     => 0,
			'applied'  => 0,
			'stale'    => 0,
			'rejected' => 0,
			'dropped'  => count( $dropped ),
		);
	}

	$answer = igny8_send_batch( $batch, null, $timeout );
	unset( $batch );
	if ( is_wp_error( $answer ) ) {
		igny8_queue_defer( $included, max( time(), igny8_backoff_until() ) );
		return $answer;
	}
	$acked    = array();
	$unlisted = array();
	$rejected = array();
	foreach ( $included as $index => $row ) {
		if ( ! isset( $answer['results'][ $index ] ) ) {
			$unlisted[] = $row;
			continue;
		}
		$acked[] = $row;
		if ( 'rejected' === $answer['results'][ $index ]['status'] ) {
			$rejected[] = array(
				'kind'   => $row->kind,
				'type'   => $row->type,
				'wp_id'  => (int) $row->wp_id,
				'op'     => $items[ $index ]['op'],
				'reason' => $answer['results'][ $index ]['reason'],
			);
		}
	}
	igny8_queue_ack( $acked );
	igny8_queue_defer( $unlisted, time() + MINUTE_IN_SECONDS );
	igny8_record_rejections( $rejected );
	return array(
		'sent'     => count( $included ),
		'applied'  => $answer['applied'],
		'stale'    => $answer['stale'],
		'rejected' => $answer['rejected'],
		'dropped'  => count( $dropped ),
	);
}

/**
 * Sends what is due in the queue, batch after batch, for up to $time_limit seconds, under the queue's lock
 * (another process sending leaves this one nothing to do). Nothing is sent while a backoff lasts. A full
 * queue's request for a full sync goes first.
 *
 * @param int $time_limit Seconds to keep sending.
 * @param int $timeout    Seconds for each request.
 * @return array Totals: batches, sent, applied, stale, rejected.
 */
function igny8_send_due_queue( $time_limit, $timeout = 30 ) {
	$totals = igny8_send_totals();
	if ( igny8_backoff_active() ) {
		return $totals;
	}
	igny8_send_resync_request();
	if ( ! igny8_acquire_lock( 'queue' ) ) {
		return $totals;
	}
	igny8_allow_seconds( $time_limit + $timeout + 30 );
	$deadline = microtime( true ) + max( 0, (int) $time_limit );
	do {
		$sent = igny8_send_queue_batch( $timeout );
		if ( ! is_array( $sent ) ) {
			break;
		}
		++$totals['batches'];
		foreach ( array( 'sent', 'applied', 'stale', 'rejected' ) as $key ) {
			$totals[ $key ] += $sent[ $key ];
		}
	} while ( ( $sent['sent'] > 0 || $sent['dropped'] > 0 ) && microtime( true ) < $deadline );
	igny8_release_lock( 'queue' );
	return $totals;
}

/**
 * @return array Totals of a send, all zero: batches, sent, applied, stale, rejected.
 */
function igny8_send_totals() {
	return array_fill_keys( array( 'batches', 'sent', 'applied', 'stale', 'rejected' ), 0 );
}
