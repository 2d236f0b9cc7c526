<?php
/**
 * Saving never waits on IGNY8: what a request queued is sent after its answer has reached the browser.
 * Where PHP can end the response early (PHP-FPM's fastcgi_finish_request(), LiteSpeed's
 * litespeed_finish_request()) the same process sends once it has; elsewhere (mod_php, `php -S`) a
 * non-blocking loopback request to the REST route igny8/v1/send-queue hands the send to another PHP
 * process, as WordPress spawns its cron and Jetpack its dedicated sync. Cron runs and WP-CLI send in
 * their own process (no one waits on them). Whatever does not go is sent by the queue's cron event.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Seconds a background send keeps sending batches. */
const IGNY8_BACKGROUND_SEND_SECONDS = 10;
/** Seconds a background send waits for one answer. */
const IGNY8_BACKGROUND_SEND_TIMEOUT = 15;

// Late: after WordPress flushed the page (priority 1) and after other plugins' output at shutdown.
add_action( 'shutdown', 'igny8_send_queue_at_shutdown', 100 );
add_action( 'rest_api_init', 'igny8_register_send_route' );

/**
 * At the end of a request that queued changes (admin, REST, cron, CLI or a form post; not a front-end page
 * view), the send is started in the background (igny8_background_send_mode()).
 *
 * @return array|null What happened: {via: inline|finish|loopback, spawned?: bool, sent?: totals}, or null
 *                    when nothing was to be sent.
 */
function igny8_send_queue_at_shutdown() {
	if ( ! igny8_queue_touched() || ! igny8_is_connected() ) {
		return null;
	}
	$method = isset( $_SERVER['REQUEST_METHOD'] ) ? strtoupper( (string) $_SERVER['REQUEST_METHOD'] ) : ''; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- compared only.
	$rest   = defined( 'REST_REQUEST' ) && REST_REQUEST;
	if ( ! ( is_admin() || wp_doing_cron() || $rest || 'cli' === PHP_SAPI || 'POST' === $method ) ) {
		return null;
	}
	igny8_queue_touched( false );
	if ( igny8_backoff_active() ) {
		return null; // The queue's event is scheduled for the backoff's end.
	}
	$via = igny8_background_send_mode();
	if ( 'finish' === $via ) {
		$finisher = igny8_response_finisher();
		if ( null !== $finisher && false !== call_user_func( $finisher ) ) {
			ignore_user_abort( true );
			return array(
				'via'  => 'finish',
				'sent' => igny8_send_in_background(),
			);
		}
		$via = 'loopback';
	}
	if ( 'loopback' === $via ) {
		return array(
			'via'     => 'loopback',
			'spawned' => igny8_spawn_background_send(),
		);
	}
	return array(
		'via'  => 'inline',
		'sent' => igny8_send_due_queue( 5, 5 ),
	);
}

/**
 * How this request's changes are sent: 'inline' from cron and the command line (no one waits on them),
 * 'finish' where PHP can answer the browser before the script ends, else 'loopback'.
 *
 * @return string inline|finish|loopback
 */
function igny8_background_send_mode() {
	if ( wp_doing_cron() || ( defined( 'WP_CLI' ) && WP_CLI ) || 'cli' === PHP_SAPI ) {
		$mode = 'inline';
	} else {
		$mode = null !== igny8_response_finisher() ? 'finish' : 'loopback';
	}
	/**
	 * How the changes a request queued are sent: 'finish' (answer the browser, then send in the same
	 * process), 'loopback' (a non-blocking request to this site's REST route igny8/v1/send-queue sends
	 * them) or 'inline' (send before the request ends: the browser waits).
	 *
	 * @param string $mode Default: inline from cron and the command line, finish where PHP-FPM or
	 *                     LiteSpeed can end the response early, else loopback.
	 */
	$mode = apply_filters( 'igny8_background_send', $mode );
	return in_array( $mode, array( 'inline', 'finish', 'loopback' ), true ) ? $mode : 'loopback';
}

/**
 * The function that sends the response to the browser and lets the script go on, if PHP has one.
 *
 * @return callable|null
 */
function igny8_response_finisher() {
	$finisher = null;
	foreach ( array( 'fastcgi_finish_request', 'litespeed_finish_request' ) as $function ) {
		if ( function_exists( $function ) ) {
			$finisher = $function;
			break;
		}
	}
	/**
	 * The function that ends the response early (hosts with another server API can name theirs).
	 *
	 * @param callable|null $finisher Default: fastcgi_finish_request or litespeed_finish_request, if defined.
	 */
	$finisher = apply_filters( 'igny8_response_finisher', $finisher );
	return is_callable( $finisher ) ? $finisher : null;
}

/**
 * Sends the due queue in a process no one waits on, for up to 10 seconds, and again for what was queued
 * while it held the queue's lock (those requests' own hand-offs found the lock taken and left them to it).
 *
 * @return array Totals: batches, sent, applied, stale, rejected.
 */
function igny8_send_in_background() {
	$totals = igny8_send_totals();
	if ( ! igny8_is_connected() ) {
		return $totals;
	}
	for ( $round = 0; $round < 3; $round++ ) {
		$sent = igny8_send_due_queue( IGNY8_BACKGROUND_SEND_SECONDS, IGNY8_BACKGROUND_SEND_TIMEOUT );
		foreach ( $sent as $key => $value ) {
			$totals[ $key ] += $value;
		}
		$next = igny8_queue_next_due();
		if ( 0 === $sent['batches'] || null === $next || $next > time() || igny8_backoff_active() ) {
			break;
		}
	}
	if ( wp_next_scheduled( IGNY8_QUEUE_HOOK ) && null === igny8_queue_next_due() ) {
		wp_clear_scheduled_hook( IGNY8_QUEUE_HOOK ); // Everything went: the fallback is not needed.
	}
	igny8_schedule_queue_send(); // What waits (rows queued meanwhile, deferred ones) keeps its event.
	return $totals;
}

/**
 * Starts the loopback request and returns at once (10 ms, as WordPress spawns its cron). Nothing starts
 * while another process sends the queue: it looks for rows queued meanwhile when it is done.
 *
 * @return bool Whether a request was started.
 */
function igny8_spawn_background_send() {
	if ( ! igny8_lock_is_free( 'queue' ) ) {
		return false;
	}
	$time    = time();
	$request = array(
		'url'  => rest_url( 'igny8/v1/send-queue' ),
		'args' => array(
			'timeout'   => 0.01,
			'blocking'  => false,
			/** This filter is documented in wp-includes/class-wp-http-streams.php */
			'sslverify' => apply_filters( 'https_local_ssl_verify', false ),
			'body'      => array(
				'time'      => $time,
				'signature' => igny8_send_signature( $time ),
			),
		),
	);
	/**
	 * The loopback request that sends the queue in the background (as cron_request does for WP-Cron).
	 *
	 * @param array $request {url, args} for wp_remote_post().
	 */
	$request = apply_filters( 'igny8_background_send_request', $request );
	add_action( 'requests-requests.before_request', 'igny8_loopback_transport', 10, 5 );
	$result = wp_remote_post( $request['url'], $request['args'] );
	remove_action( 'requests-requests.before_request', 'igny8_loopback_transport', 10 );
	return ! is_wp_error( $result );
}

/**
 * The loopback request goes through the Requests library's socket transport: its non-blocking request
 * returns as soon as the request is written, where the cURL transport waits for the answer for up to its
 * one-second minimum timeout (measured: a save took 1.1 s while the send it started waited on IGNY8).
 *
 * @param string $url     URL.
 * @param array  $headers Headers.
 * @param mixed  $data    Body.
 * @param string $type    Method.
 * @param array  $options Requests options (changed: transport).
 */
function igny8_loopback_transport( &$url, &$headers, &$data, &$type, &$options ) {
	if ( isset( $options['blocking'] ) && false === $options['blocking'] ) {
		$options['transport'] = class_exists( 'WpOrg\Requests\Transport\Fsockopen' ) ? 'WpOrg\Requests\Transport\Fsockopen' : 'Requests_Transport_fsockopen';
	}
}

/**
 * The signature that lets this site's own loopback request in: an HMAC of its time with the site's salt.
 *
 * @param int $time Unix time of the request.
 * @return string
 */
function igny8_send_signature( $time ) {
	return hash_hmac( 'sha256', 'igny8-send-queue|' . (int) $time, wp_salt( 'nonce' ) );
}

/**
 * POST /wp-json/igny8/v1/send-queue (only this site's own loopback request, signed).
 */
function igny8_register_send_route() {
	register_rest_route(
		'igny8/v1',
		'/send-queue',
		array(
			'methods'             => 'POST',
			'callback'            => 'igny8_rest_send_queue',
			'permission_callback' => 'igny8_rest_send_queue_permission',
			'args'                => array(
				'time'      => array(
					'type'     => 'integer',
					'required' => true,
				),
				'signature' => array(
					'type'     => 'string',
					'required' => true,
				),
			),
		)
	);
}

/**
 * Lets in a request signed by this site in the last minute.
 *
 * @param WP_REST_Request $request Request.
 * @return true|WP_Error
 */
function igny8_rest_send_queue_permission( WP_REST_Request $request ) {
	$time = (int) $request->get_param( 'time' );
	if ( abs( time() - $time ) <= MINUTE_IN_SECONDS && hash_equals( igny8_send_signature( $time ), (string) $request->get_param( 'signature' ) ) ) {
		return true;
	}
	return new WP_Error( 'igny8_forbidden', __( 'Only this site may ask it to send its IGNY8 queue.', 'igny8' ), array( 'status' => 403 ) );
}

/**
 * Sends the queue; the caller did not wait for the answer.
 *
 * @return WP_REST_Response
 */
function igny8_rest_send_queue() {
	ignore_user_abort( true );
	return new WP_REST_Response( igny8_send_in_background(), 200 );
}
