<?php
/**
 * The outcome of every change IGNY8 sent, kept 30 days in {prefix}igny8_changes_log: a re-delivered change
 * answers its stored outcome without writing again (idempotency), and the settings page lists the last ones.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Days an outcome is kept. */
const IGNY8_CHANGES_LOG_DAYS = 30;

/**
 * @return string The log table's name.
 */
function igny8_changes_log_table() {
	global $wpdb;
	return $wpdb->prefix . 'igny8_changes_log';
}

/**
 * The log table's CREATE statement in dbDelta's format (igny8_install_schema() runs it).
 *
 * @param string $charset The database's charset clause.
 * @return string
 */
function igny8_changes_log_schema( $charset ) {
	$table = igny8_changes_log_table();
	return "CREATE TABLE $table (
  change_id bigint(20) unsigned NOT NULL,
  marker varchar(100) NOT NULL default '',
  seq bigint(20) unsigned NOT NULL default '0',
  kind varchar(8) NOT NULL,
  type varchar(32) NOT NULL,
  wp_id bigint(20) unsigned NOT NULL default '0',
  status varchar(16) NOT NULL,
  reason text NOT NULL,
  outcome longtext NOT NULL,
  logged_at datetime NOT NULL,
  PRIMARY KEY  (change_id),
  KEY logged_at (logged_at)
) $charset;";
}

/**
 * The stored outcome of a change that was applied, rejected or left in conflict, or null. A refused change
 * is not final: it is applied when it comes again after the two-way switch was turned on. The outcome of
 * another change with the same id (igny8_change_marker() differs) is not this change's.
 *
 * @param array $change The change as received (id, created_at).
 * @return array|null The outcome as reported.
 */
function igny8_changes_log_find( array $change ) {
	global $wpdb;
	$table = igny8_changes_log_table();
	$row   = $wpdb->get_row( $wpdb->prepare( "SELECT marker, status, outcome FROM $table WHERE change_id = %d", igny8_change_id( $change ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table name.
	if ( ! $row || 'refused' === $row->status || igny8_change_marker( $change ) !== $row->marker ) {
		return null;
	}
	$outcome = json_decode( (string) $row->outcome, true );
	return is_array( $outcome ) ? $outcome : null;
}

/**
 * Stores a change's outcome (a later outcome of the same change replaces it).
 *
 * @param array $change  The change as parsed (id, seq, kind, type) or as received.
 * @param array $outcome The outcome as reported.
 * @return bool
 */
function igny8_changes_log_record( array $change, array $outcome ) {
	global $wpdb;
	$status = isset( $outcome['status'] ) ? (string) $outcome['status'] : '';
	$reason = isset( $outcome['reason'] ) && is_string( $outcome['reason'] ) ? $outcome['reason'] : '';
	if ( 'conflict' === $status && ! empty( $outcome['conflicts'] ) ) {
		$reason = implode( ', ', array_keys( (array) $outcome['conflicts'] ) );
	}
	$written = $wpdb->replace(
		igny8_changes_log_table(),
		array(
			'change_id' => (int) $outcome['id'],
			'marker'    => igny8_change_marker( array_merge( $change, array( 'id' => (int) $outcome['id'] ) ) ),
			'seq'       => isset( $change['seq'] ) && is_int( $change['seq'] ) ? max( 0, $change['seq'] ) : 0,
			'kind'      => isset( $change['kind'] ) && is_string( $change['kind'] ) ? substr( $change['kind'], 0, 8 ) : '',
			'type'      => isset( $change['type'] ) && is_string( $change['type'] ) ? substr( $change['type'], 0, 32 ) : '',
			'wp_id'     => isset( $outcome['wp_id'] ) ? (int) $outcome['wp_id'] : ( isset( $change['wp_id'] ) && is_int( $change['wp_id'] ) ? max( 0, $change['wp_id'] ) : 0 ),
			'status'    => substr( $status, 0, 16 ),
			'reason'    => $reason,
			'outcome'   => (string) wp_json_encode( $outcome ),
			'logged_at' => gmdate( 'Y-m-d H:i:s' ),
		),
		array( '%d', '%s', '%d', '%s', '%s', '%d', '%s', '%s', '%s', '%s' )
	);
	if ( false === $written ) {
		igny8_log( sprintf( 'Could not log the outcome of change %d: %s', (int) $outcome['id'], $wpdb->last_error ) );
	}
	return false !== $written;
}

/**
 * Removes outcomes older than 30 days (at most once an hour).
 */
function igny8_changes_log_prune() {
	global $wpdb;
	if ( get_transient( 'igny8_changes_log_pruned' ) ) {
		return;
	}
	set_transient( 'igny8_changes_log_pruned', 1, HOUR_IN_SECONDS );
	$table = igny8_changes_log_table();
	$wpdb->query( $wpdb->prepare( "DELETE FROM $table WHERE logged_at < %s", gmdate( 'Y-m-d H:i:s', time() - IGNY8_CHANGES_LOG_DAYS * DAY_IN_SECONDS ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table name.
}

/**
 * The last outcomes, newest first, for the settings page.
 *
 * @param int $limit How many.
 * @return object[] Rows: change_id, kind, type, wp_id, status, reason, logged_at.
 */
function igny8_changes_log_recent( $limit = 10 ) {
	global $wpdb;
	$table      = igny8_changes_log_table();
	$suppressed = $wpdb->suppress_errors( true );
	$rows       = $wpdb->get_results( $wpdb->prepare( "SELECT change_id, kind, type, wp_id, status, reason, logged_at FROM $table ORDER BY logged_at DESC, change_id DESC LIMIT %d", max( 1, (int) $limit ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table name.
	$wpdb->suppress_errors( $suppressed );
	return is_array( $rows ) ? $rows : array();
}
