<?php
/**
 * The content sync's WP-Cron events, none of them every minute forever: the queue's event exists only while
 * something in the queue is due; the platform's status is read every 5 minutes while anything is under way
 * and less often while nothing is; a verification the plugin decides on (re-activation) runs from its own
 * event. Waits carry jitter, so thousands of sites never act in step.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Sends the content queue: scheduled while something in it is due. */
const IGNY8_QUEUE_HOOK = 'igny8_send_queue';
/** Reads what the platform asks for (content/status), rescheduling itself while connected. */
const IGNY8_STATUS_HOOK = 'igny8_check_status';
/** Runs a verification the plugin asked for itself. */
const IGNY8_VERIFY_HOOK = 'igny8_verify';

add_action( IGNY8_QUEUE_HOOK, 'igny8_run_send_queue' );
add_action( IGNY8_STATUS_HOOK, 'igny8_run_status_check' );
add_action( IGNY8_VERIFY_HOOK, 'igny8_run_requested_verification' );

/**
 * Puts the content sync's events in place on a connected site: the status check, and the queue's event when
 * something waits. The every-minute event of 0.1.0 is removed.
 *
 * @return bool Whether the status check is scheduled.
 */
function igny8_schedule_content_sync() {
	if ( wp_get_schedule( IGNY8_QUEUE_HOOK ) ) {
		wp_clear_scheduled_hook( IGNY8_QUEUE_HOOK );
	}
	igny8_schedule_queue_send();
	return igny8_schedule_status_check();
}

/**
 * Removes the content sync's events.
 */
function igny8_unschedule_content_sync() {
	foreach ( array( IGNY8_QUEUE_HOOK, IGNY8_STATUS_HOOK, IGNY8_VERIFY_HOOK, IGNY8_FULL_SYNC_HOOK ) as $hook ) {
		wp_clear_scheduled_hook( $hook );
	}
}

/* ------------------------------------------------------------------------------------------------------
 * The queue's event
 * --------------------------------------------------------------------------------------------------- */

/**
 * Schedules the queue's event for when the queue's next row is due (never before the backoff ends), unless
 * one is scheduled by then. An empty queue gets none.
 *
 * @param int|null $when Unix time; null: when the queue's next row is due.
 * @return int|false When the event runs, or false when nothing waits.
 */
function igny8_schedule_queue_send( $when = null ) {
	if ( null === $when ) {
		$when = igny8_queue_next_due();
		if ( null === $when ) {
			return false;
		}
	}
	$when = max( (int) $when, igny8_backoff_until(), time() );
	$next = wp_next_scheduled( IGNY8_QUEUE_HOOK );
	if ( $next && $next <= $when ) {
		return $next;
	}
	if ( $next ) {
		wp_unschedule_event( $next, IGNY8_QUEUE_HOOK );
	}
	wp_schedule_single_event( $when, IGNY8_QUEUE_HOOK );
	return $when;
}

/**
 * The queue's cron callback: sends what is due, batch after batch, for up to 20 seconds, then schedules
 * itself again for what still waits (rows deferred after a failure: when the backoff ends).
 *
 * @return array Totals of what was sent: batches, sent, applied, stale, rejected.
 */
function igny8_run_send_queue() {
	if ( ! igny8_is_connected() ) {
		igny8_unschedule_content_sync();
		return igny8_send_totals();
	}
	igny8_maybe_upgrade_schema();
	if ( wp_get_schedule( IGNY8_QUEUE_HOOK ) ) {
		wp_clear_scheduled_hook( IGNY8_QUEUE_HOOK ); // The every-minute event of 0.1.0.
	}
	/** This filter is documented in sync/full-sync.php (igny8_full_sync_step). */
	$totals = igny8_send_due_queue( (int) apply_filters( 'igny8_full_sync_time_limit', 20 ) );
	igny8_schedule_queue_send();
	igny8_schedule_status_check(); // In case it was lost.
	return $totals;
}

/* ------------------------------------------------------------------------------------------------------
 * The status check
 * --------------------------------------------------------------------------------------------------- */

/**
 * Schedules the next status check, unless one is scheduled.
 *
 * @param int $idle_checks Checks in a row that found nothing to do (sets the interval).
 * @return bool Whether a check is scheduled.
 */
function igny8_schedule_status_check( $idle_checks = 0 ) {
	if ( wp_next_scheduled( IGNY8_STATUS_HOOK ) ) {
		return true;
	}
	return true === wp_schedule_single_event( time() + igny8_status_check_interval( $idle_checks ), IGNY8_STATUS_HOOK );
}

/**
 * Seconds to the next status check: 5 minutes (filter igny8_status_poll_interval) while anything is under
 * way, doubling with each check in a row that finds nothing to do, up to 30 minutes (filter
 * igny8_status_poll_idle_interval); plus up to a fifth more, at random.
 *
 * @param int $idle_checks Checks in a row that found nothing to do.
 * @return int
 */
function igny8_status_check_interval( $idle_checks ) {
	/** This filter is documented in sync/platform.php (igny8_poll_content_status). */
	$interval = max( MINUTE_IN_SECONDS, (int) apply_filters( 'igny8_status_poll_interval', 5 * MINUTE_IN_SECONDS ) );
	/**
	 * The longest time between two reads of the platform's content status while nothing happens.
	 *
	 * @param int $interval Default 1800.
	 */
	$idle = max( $interval, (int) apply_filters( 'igny8_status_poll_idle_interval', 30 * MINUTE_IN_SECONDS ) );
	$wait = (int) min( $idle, $interval * pow( 2, min( 10, max( 0, (int) $idle_checks ) ) ) );
	return $wait + igny8_jitter( $wait );
}

/**
 * The status check's cron callback: reads content/status (a requested full sync starts, a requested
 * verification runs), resumes a stalled full sync, and schedules the next check: soon while anything is
 * under way, later and later while nothing is.
 *
 * @return array|WP_Error|null The status read.
 */
function igny8_run_status_check() {
	if ( ! igny8_is_connected() ) {
		igny8_unschedule_content_sync();
		return null;
	}
	igny8_maybe_upgrade_schema();
	igny8_resume_stalled_full_sync();
	if ( igny8_backoff_active() ) {
		// The platform just failed: the next check comes when the backoff ends, not before.
		wp_clear_scheduled_hook( IGNY8_STATUS_HOOK );
		wp_schedule_single_event( igny8_backoff_until() + igny8_jitter( MINUTE_IN_SECONDS ), IGNY8_STATUS_HOOK );
		return null;
	}
	$status = igny8_poll_content_status( true );
	$idle   = igny8_sync_is_idle( $status ) ? (int) get_option( 'igny8_status_idle_checks', 0 ) + 1 : 0;
	if ( (int) get_option( 'igny8_status_idle_checks', 0 ) !== $idle ) {
		update_option( 'igny8_status_idle_checks', $idle, false );
	}
	wp_clear_scheduled_hook( IGNY8_STATUS_HOOK );
	igny8_schedule_status_check( $idle );
	return $status;
}

/**
 * Whether the next check may wait longer: the platform could not be read (asking more often helps no one;
 * the queue has its own backoff), or it asked for nothing while no full sync runs, nothing waits in the
 * queue and no verification is due.
 *
 * @param array|WP_Error|null $status The status read.
 * @return bool
 */
function igny8_sync_is_idle( $status ) {
	if ( is_wp_error( $status ) ) {
		return true;
	}
	if ( is_array( $status ) && ( ! empty( $status['full_sync_requested'] ) || ! empty( $status['verify_requested'] ) || ! empty( $status['changes_pending'] ) ) ) {
		return false;
	}
	return ! igny8_full_sync_in_progress() && null === igny8_queue_next_due() && false === get_option( 'igny8_verify_due', false );
}

/* ------------------------------------------------------------------------------------------------------
 * Verifications the plugin asks for
 * --------------------------------------------------------------------------------------------------- */

/**
 * Runs a verification soon, from WP-Cron (never in the request that asks): after a re-activation (edits
 * made while the plugin was off never reached the queue), or when an answer says the platform wants one.
 * It stays due until one completes.
 *
 * @param string $reason reactivated|platform.
 */
function igny8_request_verification( $reason ) {
	update_option(
		'igny8_verify_due',
		array(
			'reason' => (string) $reason,
			'since'  => time(),
		),
		false
	);
	if ( ! wp_next_scheduled( IGNY8_VERIFY_HOOK ) ) {
		wp_schedule_single_event( max( time(), igny8_backoff_until() ), IGNY8_VERIFY_HOOK );
	}
	igny8_log( sprintf( 'Verification requested (%s).', $reason ) );
}

/**
 * The verification event: runs it when one is still due (a status check may have run it meanwhile) and
 * no full sync is under way (which brings everything anyway); tries again after a failure.
 *
 * @return array|WP_Error|null The verification's summary, its error, or null when none was due.
 */
function igny8_run_requested_verification() {
	if ( ! igny8_is_connected() || false === get_option( 'igny8_verify_due', false ) ) {
		return null;
	}
	if ( igny8_full_sync_in_progress() ) {
		delete_option( 'igny8_verify_due' );
		return null;
	}
	if ( igny8_backoff_active() ) {
		wp_schedule_single_event( igny8_backoff_until(), IGNY8_VERIFY_HOOK );
		return null;
	}
	$result = igny8_run_verify();
	if ( is_wp_error( $result ) ) {
		wp_schedule_single_event( max( time() + MINUTE_IN_SECONDS, igny8_backoff_until() ), IGNY8_VERIFY_HOOK );
	}
	return $result;
}
