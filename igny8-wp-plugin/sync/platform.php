<?php
/**
 * The platform's content endpoints (docs/sync-protocol.md): batches bounded by rows and bytes, their
 * acknowledgements, the shared backoff after failures, rejected items kept for the settings page, and
 * the status the platform asks the plugin to act on. The locks are in sync/locks.php.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** At most this many items in one batch (protocol limit). */
const IGNY8_BATCH_MAX_ITEMS = 500;
/** At most this many bytes of JSON in one batch body (protocol limit: 8 MiB). */
const IGNY8_BATCH_MAX_BYTES = 8388608;
/** Rejected items remembered for the settings page. */
const IGNY8_REJECTIONS_KEPT = 20;

/**
 * A batch as it is built: items encoded one by one, so its size is known before it is sent and an item
 * that would take it over the row or byte bound is refused (it goes in the next batch).
 */
class Igny8_Batch {

	/**
	 * @var string[] Encoded items.
	 */
	private $items = array();

	/**
	 * @var int Bytes of the encoded items and their separators.
	 */
	private $bytes = 0;

	/**
	 * @var int
	 */
	private $max_items;

	/**
	 * @var int Bytes available to items (the body's bound less room for batch_id and the range marker).
	 */
	private $max_bytes;

	/**
	 * @param int|null $max_items Bound on items (default: igny8_batch_max_items()).
	 * @param int|null $max_bytes Bound on the body's bytes (default: igny8_batch_max_bytes()).
	 */
	public function __construct( $max_items = null, $max_bytes = null ) {
		$this->max_items = max( 1, (int) ( null === $max_items ? igny8_batch_max_items() : $max_items ) );
		$this->max_bytes = max( 1024, (int) ( null === $max_bytes ? igny8_batch_max_bytes() : $max_bytes ) ) - 512;
	}

	/**
	 * Adds an item if it fits. The first item always fits: one too big even alone is shrunk (content cut,
	 * extra meta dropped) so that no object can block the sync.
	 *
	 * @param array $item Item.
	 * @return bool Whether it was added.
	 */
	public function add( array $item ) {
		if ( count( $this->items ) >= $this->max_items ) {
			return false;
		}
		$json = igny8_encode_item( $item );
		$size = strlen( $json ) + ( $this->items ? 1 : 0 );
		if ( $this->bytes + $size > $this->max_bytes ) {
			if ( $this->items ) {
				return false;
			}
			$json = igny8_encode_item( igny8_shrink_item( $item, $this->max_bytes ) );
			$size = strlen( $json );
		}
		$this->items[] = $json;
		$this->bytes  += $size;
		return true;
	}

	/**
	 * @return int Items in the batch.
	 */
	public function count() {
		return count( $this->items );
	}

	/**
	 * @return int Bytes of its items.
	 */
	public function bytes() {
		return $this->bytes;
	}

	/**
	 * The request body: {"batch_id", "items", "full_sync"?}.
	 *
	 * @param string     $batch_id  UUID.
	 * @param array|null $full_sync Range marker.
	 * @return string
	 */
	public function body( $batch_id, $full_sync = null ) {
		$body = '{"batch_id":' . wp_json_encode( (string) $batch_id ) . ',"items":[' . implode( ',', $this->items ) . ']';
		if ( null !== $full_sync ) {
			$body .= ',"full_sync":' . wp_json_encode( $full_sync );
		}
		return $body . '}';
	}
}

/**
 * @return int Items per batch (filter igny8_batch_max_items, at most 500).
 */
function igny8_batch_max_items() {
	/**
	 * Items per batch, 1 to 500.
	 *
	 * @param int $items Default 500.
	 */
	return min( IGNY8_BATCH_MAX_ITEMS, max( 1, (int) apply_filters( 'igny8_batch_max_items', IGNY8_BATCH_MAX_ITEMS ) ) );
}

/**
 * Bytes per batch body: 8 MiB, less after the platform answered 413 (halved each time, stored).
 *
 * @return int
 */
function igny8_batch_max_bytes() {
	$learned = (int) get_option( 'igny8_batch_bytes_limit', 0 );
	$limit   = $learned > 0 ? min( $learned, IGNY8_BATCH_MAX_BYTES ) : IGNY8_BATCH_MAX_BYTES;
	/**
	 * Bytes of JSON per batch body, at most 8 MiB.
	 *
	 * @param int $bytes Default 8388608.
	 */
	return min( IGNY8_BATCH_MAX_BYTES, max( 65536, (int) apply_filters( 'igny8_batch_max_bytes', $limit ) ) );
}

/**
 * An item small enough to travel alone: content cut to fit, extra meta and raw SEO values dropped.
 *
 * @param array $item      Item.
 * @param int   $max_bytes Bytes available.
 * @return array
 */
function igny8_shrink_item( array $item, $max_bytes ) {
	if ( ! isset( $item['data'] ) || ! is_array( $item['data'] ) ) {
		return $item;
	}
	$item['data']['meta'] = new stdClass();
	if ( isset( $item['data']['seo'] ) && is_array( $item['data']['seo'] ) ) {
		$item['data']['seo']['raw'] = new stdClass();
	}
	foreach ( $item['data'] as $field => $value ) {
		if ( 'content' !== $field && is_string( $value ) && strlen( $value ) > 65536 ) {
			$item['data'][ $field ] = igny8_valid_utf8( substr( $value, 0, 65536 ) );
		}
	}
	// JSON escaping makes the encoded size only roughly proportional to the content: cut until it fits.
	for ( $round = 0; $round < 8; $round++ ) {
		$size = strlen( igny8_encode_item( $item ) );
		if ( $size <= $max_bytes || ! isset( $item['data']['content'] ) || ! is_string( $item['data']['content'] ) || '' === $item['data']['content'] ) {
			break;
		}
		$keep                              = max( 0, strlen( $item['data']['content'] ) - ( $size - $max_bytes ) * 2 - 1024 );
		$item['data']['content']           = igny8_valid_utf8( substr( $item['data']['content'], 0, $keep ) );
		$item['data']['content_truncated'] = true;
	}
	return $item;
}

/* ------------------------------------------------------------------------------------------------------
 * Requests
 * --------------------------------------------------------------------------------------------------- */

/**
 * A request to one of the integration's content endpoints with the site's API key.
 *
 * @param string $method   HTTP method.
 * @param string $endpoint Path under /api/v1/integration/integrations/{id}/, e.g. content/batch/.
 * @param array  $args     Igny8_Api_Client::request() arguments.
 * @return array|WP_Error
 */
function igny8_content_request( $method, $endpoint, array $args = array() ) {
	$request = igny8_content_request_args( $endpoint, $args );
	if ( is_wp_error( $request ) ) {
		return $request;
	}
	return igny8_api_client()->request( $method, $request[0], $request[1] );
}

/**
 * The same request, started without waiting for its answer when the site allows it (Igny8_Async_Request);
 * its wait() gives what igny8_content_request() would have.
 *
 * @param string $method   HTTP method.
 * @param string $endpoint Path under /api/v1/integration/integrations/{id}/.
 * @param array  $args     Igny8_Api_Client::request() arguments.
 * @return Igny8_Async_Request|WP_Error
 */
function igny8_content_request_start( $method, $endpoint, array $args = array() ) {
	$request = igny8_content_request_args( $endpoint, $args );
	if ( is_wp_error( $request ) ) {
		return $request;
	}
	return new Igny8_Async_Request( igny8_api_client(), $method, $request[0], $request[1] );
}

/**
 * The path and client arguments of a content request, or an error when the site is not connected.
 *
 * @param string $endpoint Path under /api/v1/integration/integrations/{id}/.
 * @param array  $args     Igny8_Api_Client::request() arguments.
 * @return array|WP_Error [path, args].
 */
function igny8_content_request_args( $endpoint, array $args ) {
	$integration_id = (int) get_option( 'igny8_integration_id', 0 );
	if ( ! igny8_is_connected() || $integration_id <= 0 ) {
		return new WP_Error( 'igny8_not_connected', __( 'This site is not connected to IGNY8 yet: connect it under Settings → IGNY8 API.', 'igny8' ) );
	}
	return array(
		sprintf( '/api/v1/integration/integrations/%d/%s', $integration_id, ltrim( $endpoint, '/' ) ),
		array_merge(
			array(
				'auth'    => 'api_key',
				'timeout' => 30,
				'retries' => 0, // Failures back off through igny8_note_failure(), not by hammering.
			),
			$args
		),
	);
}

/**
 * Sends a batch (POST content/batch/) with wp_remote_request() and reads the platform's per-item answer (the
 * queue; the full sync overlaps its batches with igny8_send_batch_start()).
 *
 * @param Igny8_Batch $batch     The batch.
 * @param array|null  $full_sync Range marker {run_id, type, kind, from_id, to_id}.
 * @param int         $timeout   Seconds.
 * @return array|WP_Error {results: array<int, array{status: string, reason: string}>, applied, stale, rejected}.
 *                        Every index of the batch is in results, or the answer is an error (nothing acknowledged).
 */
function igny8_send_batch( Igny8_Batch $batch, $full_sync = null, $timeout = 30 ) {
	return igny8_send_batch_finish( $batch, igny8_content_request( 'POST', 'content/batch/', igny8_batch_request_args( $batch, $full_sync, $timeout ) ) );
}

/**
 * The client arguments of a batch: its body and timeout.
 *
 * @param Igny8_Batch $batch     The batch.
 * @param array|null  $full_sync Range marker.
 * @param int         $timeout   Seconds.
 * @return array
 */
function igny8_batch_request_args( Igny8_Batch $batch, $full_sync, $timeout ) {
	return array(
		'raw_body' => $batch->body( wp_generate_uuid4(), $full_sync ),
		'timeout'  => $timeout,
	);
}

/**
 * Starts sending a batch: it travels (when the site allows background requests) while the caller goes on;
 * igny8_send_batch_finish() waits for and reads the answer. Nothing is acknowledged before that.
 *
 * @param Igny8_Batch $batch     The batch.
 * @param array|null  $full_sync Range marker.
 * @param int         $timeout   Seconds.
 * @return Igny8_Async_Request|WP_Error
 */
function igny8_send_batch_start( Igny8_Batch $batch, $full_sync = null, $timeout = 30 ) {
	return igny8_content_request_start( 'POST', 'content/batch/', igny8_batch_request_args( $batch, $full_sync, $timeout ) );
}

/**
 * Waits for a started batch's answer and reads it item by item.
 *
 * @param Igny8_Batch                        $batch   The batch as sent.
 * @param Igny8_Async_Request|array|WP_Error $pending From igny8_send_batch_start(), or an answer already read.
 * @return array|WP_Error As igny8_send_batch().
 */
function igny8_send_batch_finish( Igny8_Batch $batch, $pending ) {
	$answer = $pending instanceof Igny8_Async_Request ? $pending->wait() : $pending;
	if ( is_wp_error( $answer ) ) {
		igny8_note_failure( $answer );
		return $answer;
	}
	$results = array();
	$counts  = array(
		'applied'  => 0,
		'stale'    => 0,
		'rejected' => 0,
	);
	$list    = isset( $answer['results'] ) && is_array( $answer['results'] ) ? $answer['results'] : array();
	$plain   = igny8_plain_batch_answer( $list, $batch->count() );
	if ( null !== $plain ) {
		$applied = array(
			'status' => 'applied',
			'reason' => '',
		);
		$stale   = array(
			'status' => 'stale',
			'reason' => '',
		);
		foreach ( $list as $index => $result ) {
			$results[ $index ] = 'applied' === $result['status'] ? $applied : $stale;
		}
		igny8_note_success();
		return array_merge( array( 'results' => $results ), $counts, $plain );
	}
	foreach ( $list as $result ) {
		if ( ! is_array( $result ) || ! isset( $result['index'], $result['status'] ) || ! is_numeric( $result['index'] ) || ! isset( $counts[ $result['status'] ] ) ) {
			continue;
		}
		$index = (int) $result['index'];
		if ( $index < 0 || $index >= $batch->count() || isset( $results[ $index ] ) ) {
			continue;
		}
		$results[ $index ] = array(
			'status' => (string) $result['status'],
			'reason' => isset( $result['reason'] ) && is_scalar( $result['reason'] ) ? (string) $result['reason'] : '',
		);
		++$counts[ $result['status'] ];
	}
	igny8_note_success();
	return array_merge( array( 'results' => $results ), $counts );
}

/**
 * The usual answer to a batch, checked with array functions instead of item by item: every index once, in
 * order, each applied or stale.
 *
 * @param array $list The answer's results.
 * @param int   $size Items in the batch.
 * @return array|null {applied, stale} counts, or null when the answer needs the item-by-item reading.
 */
function igny8_plain_batch_answer( array $list, $size ) {
	if ( $size <= 0 || count( $list ) !== $size ) {
		return null;
	}
	$statuses = array_column( $list, 'status' );
	if ( count( $statuses ) !== $size || count( array_filter( $statuses, 'is_string' ) ) !== $size || array_column( $list, 'index' ) !== range( 0, $size - 1 ) ) {
		return null;
	}
	$counts = array_count_values( $statuses );
	return array_diff_key( $counts, array( 'applied' => 0, 'stale' => 0 ) ) ? null : $counts;
}

/* ------------------------------------------------------------------------------------------------------
 * Backoff
 * --------------------------------------------------------------------------------------------------- */

/**
 * Unix time before which nothing is sent (0 = send now).
 *
 * @return int
 */
function igny8_backoff_until() {
	$state = get_option( 'igny8_send_backoff', array() );
	return is_array( $state ) && isset( $state['until'] ) ? (int) $state['until'] : 0;
}

/**
 * @return bool Whether sending is paused by a backoff now.
 */
function igny8_backoff_active() {
	return igny8_backoff_until() > time();
}

/**
 * Seconds to wait after a failed request: the platform's Retry-After when it sends one (unparsable, or
 * missing on a 429/503: 180 s); otherwise 60 s, doubling with each failure in a row, up to an hour.
 *
 * @param WP_Error $error    The failure.
 * @param int      $failures Failures in a row before this one.
 * @return int
 */
function igny8_retry_delay( WP_Error $error, $failures ) {
	$data   = $error->get_error_data();
	$status = is_array( $data ) && isset( $data['status'] ) ? (int) $data['status'] : 0;
	$raw    = is_array( $data ) && isset( $data['retry_raw'] ) ? trim( (string) $data['retry_raw'] ) : '';
	if ( '' !== $raw ) {
		if ( preg_match( '/^\d+$/', $raw ) ) {
			return min( DAY_IN_SECONDS, (int) $raw );
		}
		$when = strtotime( $raw ); // An HTTP date.
		return false !== $when && $when > time() ? min( DAY_IN_SECONDS, $when - time() ) : 180;
	}
	if ( 429 === $status || 503 === $status ) {
		return 180;
	}
	return (int) min( HOUR_IN_SECONDS, 60 * pow( 2, min( 6, max( 0, (int) $failures ) ) ) );
}

/**
 * Up to a fifth of $seconds, at random: added to every wait, so that sites that failed together (an IGNY8
 * outage) do not all come back in the same second.
 *
 * @param int $seconds The wait.
 * @return int
 */
function igny8_jitter( $seconds ) {
	$spread = (int) floor( max( 0, (int) $seconds ) / 5 );
	return $spread > 0 ? wp_rand( 0, $spread ) : 0;
}

/**
 * Records a failed content request: backoff, the error for the settings page, a log line. A 413 halves
 * the batch size instead of waiting (the next attempt sends less).
 *
 * @param WP_Error $error The failure.
 */
function igny8_note_failure( WP_Error $error ) {
	$data  = $error->get_error_data();
	$state = get_option( 'igny8_send_backoff', array() );
	$fails = is_array( $state ) && isset( $state['failures'] ) ? (int) $state['failures'] : 0;
	if ( is_array( $data ) && isset( $data['status'] ) && 413 === (int) $data['status'] ) {
		update_option( 'igny8_batch_bytes_limit', max( 65536, (int) ( igny8_batch_max_bytes() / 2 ) ), false );
		$delay = 0;
	} else {
		$delay = igny8_retry_delay( $error, $fails );
		$delay += igny8_jitter( $delay );
	}
	update_option(
		'igny8_send_backoff',
		array(
			'until'    => time() + $delay,
			'failures' => $fails + 1,
			'code'     => (string) $error->get_error_code(),
		),
		false
	);
	igny8_record_content_error( $error );
	igny8_log( sprintf( 'Content sync request failed (%s); next attempt in %d s.', $error->get_error_message(), $delay ) );
}

/**
 * A content request succeeded: no more backoff.
 */
function igny8_note_success() {
	if ( false !== get_option( 'igny8_send_backoff', false ) ) {
		delete_option( 'igny8_send_backoff' );
	}
}

/**
 * Remembers the last content sync error for the settings page.
 *
 * @param WP_Error $error Error.
 */
function igny8_record_content_error( WP_Error $error ) {
	update_option(
		'igny8_content_last_error',
		array(
			'message' => $error->get_error_message(),
			'code'    => (string) $error->get_error_code(),
			'time'    => time(),
		),
		false
	);
}

/**
 * Remembers items the platform rejected (it will not accept them by retrying): logged, and the last few
 * shown on the settings page.
 *
 * @param array[] $rejected Each: kind, type, wp_id, reason.
 */
function igny8_record_rejections( array $rejected ) {
	if ( ! $rejected ) {
		return;
	}
	$kept = get_option( 'igny8_rejected_items', array() );
	$kept = is_array( $kept ) ? $kept : array();
	foreach ( $rejected as $item ) {
		igny8_log( sprintf( 'IGNY8 rejected %s %s #%d: %s', $item['kind'], $item['type'], $item['wp_id'], $item['reason'] ) );
		array_unshift( $kept, array_merge( $item, array( 'time' => time() ) ) );
	}
	update_option( 'igny8_rejected_items', array_slice( $kept, 0, IGNY8_REJECTIONS_KEPT ), false );
}

/**
 * Lets this request run $seconds more when PHP would stop it sooner (max_execution_time, often 30 s on
 * web requests); an unlimited CLI process stays unlimited.
 *
 * @param int $seconds Seconds from now.
 */
function igny8_allow_seconds( $seconds ) {
	$max = (int) ini_get( 'max_execution_time' );
	if ( $max > 0 && $max < $seconds && function_exists( 'set_time_limit' ) ) {
		@set_time_limit( $seconds ); // phpcs:ignore WordPress.PHP.NoSilencedErrors.Discouraged -- disabled on some hosts.
	}
}

/* ------------------------------------------------------------------------------------------------------
 * What the platform asks for
 * --------------------------------------------------------------------------------------------------- */

/**
 * Reads GET content/status/ (at most every 5 minutes, from cron) and acts on it: a requested full sync
 * is started, a requested verification is run, pending two-way changes are pulled.
 *
 * @param bool $force Read it now whatever the time of the last read.
 * @return array|WP_Error|null The status, or null when it was read recently.
 */
function igny8_poll_content_status( $force = false ) {
	/**
	 * Seconds between two reads of the platform's content status by cron.
	 *
	 * @param int $interval Default 300.
	 */
	$interval = (int) apply_filters( 'igny8_status_poll_interval', 5 * MINUTE_IN_SECONDS );
	$last     = (int) get_option( 'igny8_status_checked_at', 0 );
	if ( ! $force && $last > 0 && time() - $last < $interval ) {
		return null;
	}
	update_option( 'igny8_status_checked_at', time(), false );
	$status = igny8_content_request( 'GET', 'content/status/', array( 'timeout' => 15 ) );
	if ( is_wp_error( $status ) ) {
		igny8_log( 'Could not read the content sync status: ' . $status->get_error_message() );
		return $status;
	}
	igny8_maybe_register_receiver(); // Two-way sync: registered again after a failure or when rest_url() moved.
	igny8_act_on_platform_requests( $status );
	if ( ! empty( $status['verify_requested'] ) ) {
		igny8_run_verify();
	}
	return $status;
}

/**
 * A full sync the platform asks for (content/status or an update-structure answer) is started, unless
 * one is already under way; a verification it asks for runs soon (sync/cron.php);
 * pending two-way changes are pulled (sync/changes.php).
 *
 * @param array $answer The answer's data.
 */
function igny8_act_on_platform_requests( array $answer ) {
	if ( ! empty( $answer['full_sync_requested'] ) && ! igny8_full_sync_in_progress() ) {
		igny8_request_full_sync( 'platform' );
	}
	if ( ! empty( $answer['verify_requested'] ) && false === get_option( 'igny8_verify_due', false ) ) {
		igny8_request_verification( 'platform' );
	}
	igny8_changes_on_platform_answer( $answer ); // Two-way sync: the nudge receiver, pending changes.
}
