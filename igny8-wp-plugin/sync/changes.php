<?php
/**
 * Two-way sync's delivery (docs/sync-protocol.md, "Two-way sync"): pull the pending changes from IGNY8, apply
 * them in seq order as the Publish as user under one lock, keep and report each outcome. A pull runs when the
 * platform says changes are pending (status check, update-structure answer) and when it nudges the site; it is
 * time-boxed, and a backlog drains over several runs.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** The WP-Cron event that pulls changes (scheduled once, to run at once, when a pull cannot run now). */
const IGNY8_CHANGES_HOOK = 'igny8_pull_changes';
/** Changes asked for per request (the protocol allows 1–100). */
const IGNY8_CHANGES_PAGE = 50;
/** Outcomes reported per request (the protocol's limit). */
const IGNY8_RESULTS_PER_REQUEST = 100;

add_action( IGNY8_CHANGES_HOOK, 'igny8_pull_changes' );

/**
 * Whether the site owner lets IGNY8 write to this site (Settings → IGNY8 API → Two-way sync).
 *
 * @return bool
 */
function igny8_two_way_enabled() {
	return (bool) get_option( 'igny8_two_way_sync_enabled', false );
}

/**
 * The user changes are applied as: the Publish as setting (default: the administrator who connected the
 * site; for a site connected before the setting existed, the first administrator).
 *
 * @return WP_User|null Null when the chosen user no longer exists.
 */
function igny8_publish_as_user() {
	$id = (int) get_option( 'igny8_publish_as', 0 );
	if ( $id > 0 ) {
		$user = get_userdata( $id );
		return $user instanceof WP_User ? $user : null;
	}
	$admins = get_users(
		array(
			'role'    => 'administrator',
			'orderby' => 'ID',
			'order'   => 'ASC',
			'number'  => 1,
		)
	);
	return $admins ? $admins[0] : null;
}

/**
 * After a successful connect: the connecting administrator becomes the Publish as user unless one is chosen,
 * and IGNY8 gets a new nudge secret and where to send nudges.
 */
function igny8_two_way_on_connect() {
	$chosen = (int) get_option( 'igny8_publish_as', 0 );
	if ( ( $chosen <= 0 || ! get_userdata( $chosen ) ) && get_current_user_id() > 0 ) {
		update_option( 'igny8_publish_as', get_current_user_id(), false );
	}
	igny8_register_receiver( true );
}

/**
 * On disconnect: no more pulls, and the nudge secret and receiver state go (Publish as and the log stay).
 */
function igny8_two_way_on_disconnect() {
	wp_clear_scheduled_hook( IGNY8_CHANGES_HOOK );
	foreach ( array( 'igny8_nudge_secret', 'igny8_receiver', 'igny8_nudge_nonces', 'igny8_changes_pull_again', 'igny8_changes_last_error' ) as $name ) {
		delete_option( $name );
	}
}

/**
 * What a platform answer (content/status/ or update-structure) means for two-way sync: pending changes are pulled.
 *
 * @param array $answer The answer's data.
 */
function igny8_changes_on_platform_answer( array $answer ) {
	if ( isset( $answer['changes_pending'] ) && is_numeric( $answer['changes_pending'] ) && (int) $answer['changes_pending'] > 0 ) {
		igny8_request_changes_pull();
	}
}

/**
 * Pulls now when this is a background run (WP-Cron, or PHP's command line: WP-CLI, a system cron); otherwise
 * (a page or admin request) schedules a pull that WP-Cron runs at once.
 */
function igny8_request_changes_pull() {
	/**
	 * Whether pending changes are pulled in this request (true) or by a WP-Cron event scheduled now (false).
	 *
	 * @param bool $now Default: in WP-Cron and on PHP's command line.
	 */
	if ( apply_filters( 'igny8_pull_changes_now', wp_doing_cron() || 'cli' === PHP_SAPI ) ) {
		igny8_pull_changes();
		return;
	}
	igny8_schedule_changes_pull();
}

/**
 * Schedules one pull now, unless one is waiting.
 */
function igny8_schedule_changes_pull() {
	if ( ! wp_next_scheduled( IGNY8_CHANGES_HOOK ) ) {
		wp_schedule_single_event( time(), IGNY8_CHANGES_HOOK );
	}
}

/**
 * A flag a nudge raises, read fresh from the database: the process that holds the lock pulls once more
 * before it stops, so a nudge that arrives while it works is not lost.
 *
 * @param bool|null $set Raise (true) or clear (false); null reads it.
 * @return bool
 */
function igny8_changes_pull_again( $set = null ) {
	if ( true === $set ) {
		update_option( 'igny8_changes_pull_again', time(), false );
		return true;
	}
	if ( false === $set ) {
		delete_option( 'igny8_changes_pull_again' );
		return false;
	}
	wp_cache_delete( 'igny8_changes_pull_again', 'options' );
	return false !== get_option( 'igny8_changes_pull_again', false );
}

/**
 * Pulls pending changes, applies them and reports their outcomes, page after page while IGNY8 says there
 * are more, for up to 20 seconds (filter igny8_changes_time_limit). Under the igny8_changes lock: a second
 * process asks the one that holds it to pull again, and returns.
 *
 * @param int|null $time_limit Seconds.
 * @return array Counts: pulled, reported, applied, conflict, rejected, refused.
 */
function igny8_pull_changes( $time_limit = null ) {
	$totals = array_fill_keys( array( 'pulled', 'reported', 'applied', 'conflict', 'rejected', 'refused' ), 0 );
	if ( ! igny8_is_connected() ) {
		return $totals;
	}
	igny8_maybe_upgrade_schema(); // A plugin updated in place: the changes log exists before a change is applied.
	if ( ! igny8_acquire_lock( 'changes' ) ) {
		igny8_changes_pull_again( true );
		return $totals;
	}
	if ( null === $time_limit ) {
		/**
		 * Seconds one run spends applying changes; what is left waits for the next run.
		 *
		 * @param int $seconds Default 20.
		 */
		$time_limit = (int) apply_filters( 'igny8_changes_time_limit', 20 );
	}
	igny8_allow_seconds( $time_limit + 60 );
	$deadline = microtime( true ) + $time_limit;
	$more     = false;
	try {
		igny8_changes_log_prune();
		do {
			igny8_changes_pull_again( false );
			$page = igny8_content_request( 'GET', 'changes/pending/', array( 'query' => array( 'limit' => IGNY8_CHANGES_PAGE ), 'timeout' => 15 ) );
			if ( is_wp_error( $page ) ) {
				igny8_note_changes_error( $page );
				$more = false;
				break;
			}
			$changes  = igny8_pending_changes( $page );
			$outcomes = array();
			$stopped  = false;
			foreach ( $changes as $change ) {
				if ( $outcomes && microtime( true ) >= $deadline ) {
					$stopped = true; // The rest come again with the next pull.
					break;
				}
				$outcome = igny8_handle_change( $change );
				if ( null !== $outcome ) {
					$outcomes[] = $outcome;
					if ( isset( $totals[ $outcome['status'] ] ) ) {
						++$totals[ $outcome['status'] ];
					}
				}
			}
			$totals['pulled'] += count( $changes );
			$reported          = igny8_report_change_outcomes( $outcomes );
			if ( is_wp_error( $reported ) ) {
				igny8_note_changes_error( $reported );
				$more = false; // Unreported changes come again; their outcomes are kept.
				break;
			}
			$totals['reported'] += $reported;
			$more                = $stopped || ( $changes && ! empty( $page['more'] ) );
			if ( ! $more && igny8_changes_pull_again() ) {
				$more = true;
			}
		} while ( $more && microtime( true ) < $deadline );
		if ( $more ) {
			igny8_schedule_changes_pull();
		}
	} finally {
		igny8_release_lock( 'changes' );
	}
	return $totals;
}

/**
 * The changes of a changes/pending/ answer, in seq order.
 *
 * @param array $page The answer's data.
 * @return array[]
 */
function igny8_pending_changes( array $page ) {
	$changes = isset( $page['changes'] ) && is_array( $page['changes'] ) ? array_values( array_filter( $page['changes'], 'is_array' ) ) : array();
	usort(
		$changes,
		static function ( $a, $b ) {
			$seq_a = isset( $a['seq'] ) && is_int( $a['seq'] ) ? $a['seq'] : 0;
			$seq_b = isset( $b['seq'] ) && is_int( $b['seq'] ) ? $b['seq'] : 0;
			return $seq_a <=> $seq_b;
		}
	);
	return $changes;
}

/**
 * One pulled change: refused while two-way sync is off; a change applied before answers its kept outcome;
 * otherwise it is applied as the Publish as user and its outcome kept.
 *
 * @param array $raw The change as received.
 * @return array|null Its outcome, or null when it has no id to report it by.
 */
function igny8_handle_change( array $raw ) {
	$id = igny8_change_id( $raw );
	if ( ! $id ) {
		igny8_log( 'Ignoring a change without an id.' );
		return null;
	}
	if ( ! igny8_two_way_enabled() ) {
		$outcome = array(
			'id'     => $id,
			'status' => 'refused',
			'reason' => 'two_way_sync_disabled',
		);
		igny8_changes_log_record( $raw, $outcome );
		return $outcome;
	}
	$kept = igny8_changes_log_find( $raw );
	if ( null !== $kept ) {
		return $kept;
	}
	$user = igny8_publish_as_user();
	if ( ! $user ) {
		$outcome = array(
			'id'     => $id,
			'status' => 'refused',
			'reason' => 'publish_as_user_missing',
		);
		igny8_changes_log_record( $raw, $outcome );
		return $outcome;
	}
	$previous = get_current_user_id();
	wp_set_current_user( $user->ID );
	try {
		$outcome = igny8_apply_change( $raw );
	} catch ( Throwable $e ) {
		igny8_log( sprintf( 'Change %d failed: %s', $id, $e->getMessage() ) );
		$outcome = igny8_rejected( $id, sprintf( 'WordPress raised an error while applying it (it may be partly applied): %s', $e->getMessage() ) );
	} finally {
		wp_set_current_user( $previous );
	}
	igny8_changes_log_record( $raw, $outcome );
	igny8_log( sprintf( 'Change %d: %s%s', $id, $outcome['status'], isset( $outcome['reason'] ) ? ' (' . $outcome['reason'] . ')' : '' ) );
	return $outcome;
}

/**
 * Reports outcomes (POST changes/results/, at most 100 a request).
 *
 * @param array[] $outcomes Outcomes.
 * @return int|WP_Error How many IGNY8 recorded.
 */
function igny8_report_change_outcomes( array $outcomes ) {
	$recorded = 0;
	foreach ( array_chunk( $outcomes, IGNY8_RESULTS_PER_REQUEST ) as $chunk ) {
		$answer = igny8_content_request(
			'POST',
			'changes/results/',
			array(
				'body'       => array( 'results' => array_map( 'igny8_outcome_for_json', $chunk ) ),
				'timeout'    => 15,
				'idempotent' => true, // Recording an outcome again changes nothing.
			)
		);
		if ( is_wp_error( $answer ) ) {
			return $answer;
		}
		foreach ( isset( $answer['results'] ) && is_array( $answer['results'] ) ? $answer['results'] : array() as $result ) {
			if ( is_array( $result ) && isset( $result['status'] ) && 'recorded' === $result['status'] ) {
				++$recorded;
			} elseif ( is_array( $result ) && isset( $result['id'] ) ) {
				igny8_log( sprintf( 'IGNY8 did not record the outcome of change %d (%s).', (int) $result['id'], isset( $result['status'] ) && is_string( $result['status'] ) ? $result['status'] : '?' ) );
			}
		}
	}
	if ( $outcomes ) {
		delete_option( 'igny8_changes_last_error' );
	}
	return $recorded;
}

/**
 * An outcome as JSON wants it: the maps (overwritten, dropped, conflicts) stay objects when empty.
 *
 * @param array $outcome Outcome.
 * @return array
 */
function igny8_outcome_for_json( array $outcome ) {
	foreach ( array( 'overwritten', 'dropped', 'conflicts' ) as $key ) {
		if ( isset( $outcome[ $key ] ) && is_array( $outcome[ $key ] ) ) {
			$outcome[ $key ] = (object) $outcome[ $key ];
		}
	}
	return $outcome;
}

/**
 * A pull or report that failed: logged and shown on the settings page; it does not pause content sync.
 *
 * @param WP_Error $error Error.
 */
function igny8_note_changes_error( WP_Error $error ) {
	igny8_log( 'Two-way sync: ' . $error->get_error_message() );
	update_option(
		'igny8_changes_last_error',
		array(
			'message' => $error->get_error_message(),
			'time'    => time(),
		),
		false
	);
}
