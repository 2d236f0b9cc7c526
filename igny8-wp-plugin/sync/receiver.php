<?php
/**
 * Where and how IGNY8 nudges this site: a random secret made at connect (so a reconnect rotates it) and the
 * nudge route's URL, registered with POST changes/receiver/. A failed registration never fails the connect:
 * it is retried at the next status check, which also registers again when rest_url() has changed.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * @return string The nudge route's URL as IGNY8 must call it (the ?rest_route= form without pretty permalinks).
 */
function igny8_nudge_url() {
	return rest_url( 'igny8/v1/nudge' );
}

/**
 * @return string The secret nudges are signed with (64 hex characters), or '' before the first connect.
 */
function igny8_nudge_secret() {
	return (string) get_option( 'igny8_nudge_secret', '' );
}

/**
 * Registers the receiver with IGNY8, with a new secret when asked (or when none exists).
 *
 * @param bool $new_secret Make a new secret first.
 * @return true|WP_Error
 */
function igny8_register_receiver( $new_secret = false ) {
	$secret = igny8_nudge_secret();
	if ( $new_secret || ! preg_match( '/^[0-9a-f]{64}$/', $secret ) ) {
		$secret = bin2hex( random_bytes( 32 ) );
		update_option( 'igny8_nudge_secret', $secret, false );
	}
	$url    = igny8_nudge_url();
	$answer = igny8_content_request(
		'POST',
		'changes/receiver/',
		array(
			'body'       => array(
				'url'    => $url,
				'secret' => $secret,
			),
			'timeout'    => 10,
			'idempotent' => true,
		)
	);
	if ( is_wp_error( $answer ) ) {
		update_option(
			'igny8_receiver',
			array(
				'url'   => '',
				'error' => $answer->get_error_message(),
				'time'  => time(),
			),
			false
		);
		igny8_log( 'Could not register the nudge receiver with IGNY8 (retried at the next status check): ' . $answer->get_error_message() );
		return $answer;
	}
	update_option(
		'igny8_receiver',
		array(
			'url'  => $url,
			'time' => time(),
		),
		false
	);
	return true;
}

/**
 * Registers the receiver when it is not registered yet (a failed attempt) or rest_url() moved.
 *
 * @return true|WP_Error|null Null when nothing had to be done.
 */
function igny8_maybe_register_receiver() {
	if ( ! igny8_is_connected() ) {
		return null;
	}
	$state = get_option( 'igny8_receiver', array() );
	if ( '' !== igny8_nudge_secret() && is_array( $state ) && ! empty( $state['url'] ) && igny8_nudge_url() === $state['url'] ) {
		return null;
	}
	return igny8_register_receiver();
}
