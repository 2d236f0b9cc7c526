<?php
/**
 * The nudge route, POST /wp-json/igny8/v1/nudge: IGNY8 says changes are waiting. Only a nudge signed with the
 * site's secret (HMAC-SHA256 of "<timestamp>.<body>"), at most 300 s from this server's clock, whose nonce was
 * not seen in the last 10 minutes is accepted (202); it makes the site pull after its answer is sent. Anything
 * else is 401 and pulls nothing. The nudge carries no content: the pull fetches it with the site's key.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Seconds a nudge's timestamp may differ from this server's clock. */
const IGNY8_NUDGE_MAX_SKEW = 300;
/** Seconds a nonce is remembered. */
const IGNY8_NUDGE_NONCE_TTL = 600;
/** Nonces remembered at most (a flood beyond it is refused, not forgotten). */
const IGNY8_NUDGE_NONCES_KEPT = 5000;

add_action( 'rest_api_init', 'igny8_register_nudge_route' );

/**
 * Registers igny8/v1/nudge.
 */
function igny8_register_nudge_route() {
	register_rest_route(
		'igny8/v1',
		'/nudge',
		array(
			'methods'             => 'POST',
			'callback'            => 'igny8_nudge',
			'permission_callback' => 'igny8_nudge_permission',
		)
	);
}

/**
 * The route's permission check: the nudge's signature, time and nonce.
 *
 * @param WP_REST_Request $request Request.
 * @return true|WP_Error
 */
function igny8_nudge_permission( WP_REST_Request $request ) {
	return igny8_verify_nudge( (string) $request->get_header( 'X-IGNY8-Timestamp' ), (string) $request->get_header( 'X-IGNY8-Signature' ), (string) $request->get_body() );
}

/**
 * Checks a nudge, signature first (so nothing unsigned reaches the nonce store), then its time, then its
 * nonce, which is remembered for 10 minutes.
 *
 * @param string   $timestamp X-IGNY8-Timestamp: unix seconds.
 * @param string   $signature X-IGNY8-Signature: sha256=<hex>.
 * @param string   $body      The raw body.
 * @param int|null $now       The clock (tests).
 * @return true|WP_Error 401 (429 when too many nonces are remembered; 409 on a copy of the site whose owner has not chosen, sync/identity.php).
 */
function igny8_verify_nudge( $timestamp, $signature, $body, $now = null ) {
	$now    = null === $now ? time() : (int) $now;
	$secret = igny8_nudge_secret();
	if ( ! igny8_is_connected() || ! preg_match( '/^[0-9a-f]{64}$/', $secret ) ) {
		return igny8_nudge_refused( 'igny8_not_connected', 'This site is not connected to IGNY8.' );
	}
	if ( ! preg_match( '/^\d{1,12}$/', $timestamp ) || ! preg_match( '/^sha256=([0-9a-fA-F]{64})$/', $signature, $m ) ) {
		return igny8_nudge_refused( 'igny8_bad_signature', 'The nudge is not signed.' );
	}
	if ( ! hash_equals( hash_hmac( 'sha256', $timestamp . '.' . $body, $secret ), strtolower( $m[1] ) ) ) {
		return igny8_nudge_refused( 'igny8_bad_signature', 'The nudge\'s signature does not match.' );
	}
	if ( abs( $now - (int) $timestamp ) > IGNY8_NUDGE_MAX_SKEW ) {
		return igny8_nudge_refused( 'igny8_stale_timestamp', 'The nudge\'s timestamp is more than 300 seconds from this server\'s clock.' );
	}
	if ( null !== igny8_identity_refusal() ) {
		// A staging copy (or a moved site whose owner has not chosen) applies nothing from IGNY8.
		return new WP_Error( 'igny8_site_identity', 'This WordPress is a copy of the connected site at another address: it takes no changes from IGNY8.', array( 'status' => 409 ) );
	}
	$data = json_decode( $body, true );
	if ( ! is_array( $data ) || ! isset( $data['nonce'] ) || ! is_string( $data['nonce'] ) || ! preg_match( '/^[0-9a-fA-F]{32}$/', $data['nonce'] ) ) {
		return igny8_nudge_refused( 'igny8_bad_nonce', 'The nudge has no nonce.' );
	}
	if ( isset( $data['integration_id'] ) && (int) $data['integration_id'] !== (int) get_option( 'igny8_integration_id', 0 ) ) {
		return igny8_nudge_refused( 'igny8_wrong_integration', 'The nudge is for another integration.' );
	}
	$first = igny8_remember_nudge_nonce( strtolower( $data['nonce'] ), $now );
	if ( null === $first ) {
		return new WP_Error( 'igny8_too_many_nudges', 'Too many nudges in the last 10 minutes.', array( 'status' => 429 ) );
	}
	if ( ! $first ) {
		return igny8_nudge_refused( 'igny8_replayed_nonce', 'The nudge\'s nonce was seen already.' );
	}
	return true;
}

/**
 * @param string $code    Code.
 * @param string $message Message.
 * @return WP_Error A 401.
 */
function igny8_nudge_refused( $code, $message ) {
	return new WP_Error( $code, $message, array( 'status' => 401 ) );
}

/**
 * Remembers a nonce for 10 minutes, under a lock so that two nudges with the same nonce cannot both pass.
 *
 * @param string $nonce 32 hex characters.
 * @param int    $now   The clock.
 * @return bool|null True the first time, false when seen, null when too many are remembered.
 */
function igny8_remember_nudge_nonce( $nonce, $now ) {
	global $wpdb;
	$lock = igny8_lock_name( 'nudge_nonces' );
	if ( '1' !== (string) $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, 5)', $lock ) ) ) {
		return null;
	}
	wp_cache_delete( 'igny8_nudge_nonces', 'options' );
	$seen = get_option( 'igny8_nudge_nonces', array() );
	$seen = is_array( $seen ) ? $seen : array();
	foreach ( $seen as $key => $until ) {
		if ( (int) $until < $now ) {
			unset( $seen[ $key ] );
		}
	}
	$first = null;
	if ( isset( $seen[ $nonce ] ) ) {
		$first = false;
	} elseif ( count( $seen ) < IGNY8_NUDGE_NONCES_KEPT ) {
		$seen[ $nonce ] = $now + IGNY8_NUDGE_NONCE_TTL;
		$first          = true;
	}
	update_option( 'igny8_nudge_nonces', $seen, false );
	$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', $lock ) );
	return $first;
}

/**
 * The route: accepted; the pull runs once the answer is sent.
 *
 * @param WP_REST_Request $request Request.
 * @return WP_REST_Response 202.
 */
function igny8_nudge( WP_REST_Request $request ) {
	igny8_changes_pull_again( true ); // A pull already running takes these changes too.
	// Early at shutdown: the queue's own shutdown send (sync/hooks.php) then carries the applied changes back.
	if ( ! has_action( 'shutdown', 'igny8_pull_at_shutdown' ) ) {
		add_action( 'shutdown', 'igny8_pull_at_shutdown', 1 );
	}
	add_filter( 'rest_pre_serve_request', 'igny8_serve_nudge_answer', 10, 4 );
	return new WP_REST_Response( array( 'accepted' => true ), 202 );
}

/**
 * Sends the nudge's answer with its length and Connection: close, so IGNY8 has its whole answer and leaves
 * while this process goes on to pull (on servers without fastcgi_finish_request()).
 *
 * @param bool             $served  Whether the answer was sent already.
 * @param WP_HTTP_Response $result  The answer.
 * @param WP_REST_Request  $request The request.
 * @param WP_REST_Server   $server  The server.
 * @return bool
 */
function igny8_serve_nudge_answer( $served, $result, $request, $server ) {
	if ( $served || '/igny8/v1/nudge' !== $request->get_route() ) {
		return $served;
	}
	$body = (string) wp_json_encode( $server->response_to_data( $result, false ) );
	if ( ! headers_sent() ) {
		header( 'Content-Length: ' . strlen( $body ) );
		header( 'Connection: close' );
	}
	echo $body; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- JSON, as WP_REST_Server::serve_request() sends it.
	return true;
}

/**
 * At the end of the nudge's request: the answer is finished (FastCGI, LiteSpeed, or flushed), then the pull runs.
 *
 * @return array What igny8_pull_changes() answered.
 */
function igny8_pull_at_shutdown() {
	ignore_user_abort( true );
	if ( 'cli' !== PHP_SAPI ) {
		if ( function_exists( 'fastcgi_finish_request' ) ) {
			fastcgi_finish_request();
		} elseif ( function_exists( 'litespeed_finish_request' ) ) {
			litespeed_finish_request();
		} else {
			while ( ob_get_level() > 0 ) {
				ob_end_flush();
			}
			flush();
		}
	}
	return igny8_pull_changes();
}
