<?php
/**
 * Staging copies and moved sites (docs/sync-protocol.md, "Copies and moves"), as Jetpack's "identity
 * crisis": the plugin remembers the address it connected from (home and siteurl, compared without scheme,
 * www. and trailing slashes) and sends nothing to IGNY8 while WordPress runs at another one, until the
 * site's owner chooses on the settings page: a staging copy (stays silent), the site moved (IGNY8 follows
 * it), or connect as a new site. Changes keep being queued meanwhile, so none is lost if the site moved.
 * The API client asks igny8_identity_refusal() before every request to an integration, and sends the
 * site's address (X-Igny8-Site-Url) so that the platform refuses a copy too.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The address the site connected from: {home, siteurl (compared forms), home_url (home as it was), time},
 * with the owner's choice for a copy, staging: {home, time}, and IGNY8's refusal of an address, refused:
 * {home, message, time} (each for the compared home it was made at). Removed on disconnect.
 */
const IGNY8_IDENTITY_OPTION = 'igny8_identity';

add_action( 'admin_notices', 'igny8_identity_admin_notice' );

/**
 * An address in the form two addresses are compared in: host (lowercase, without www. and a default port)
 * and path (without trailing slashes); no scheme, query or fragment. The platform compares the same way
 * (crates/domain/src/site_url.rs).
 *
 * @param string $url An address.
 * @return string e.g. example.com/blog
 */
function igny8_identity_normalize( $url ) {
	$rest  = preg_replace( '#^https?://#i', '', trim( (string) $url ) );
	$parts = preg_split( '/[?#]/', (string) $rest );
	$rest  = (string) $parts[0];
	$slash = strpos( $rest, '/' );
	$host  = false === $slash ? $rest : substr( $rest, 0, $slash );
	$path  = false === $slash ? '' : substr( $rest, $slash );
	$host  = preg_replace( '/^www\./', '', strtolower( $host ) );
	$host  = preg_replace( '/:(80|443)$/', '', (string) $host );
	return $host . rtrim( $path, '/' );
}

/**
 * The addresses WordPress runs at: the home and siteurl options (WP_HOME and WP_SITEURL when wp-config.php
 * defines them), not home_url(), which multilingual plugins change per request.
 *
 * @return array{home: string, siteurl: string}
 */
function igny8_identity_urls() {
	/**
	 * The addresses this site runs at, as the plugin compares them with the ones it connected from.
	 *
	 * @param array $urls {home, siteurl}: the home and siteurl options.
	 */
	$urls = apply_filters(
		'igny8_identity_urls',
		array(
			'home'    => (string) get_option( 'home' ),
			'siteurl' => (string) get_option( 'siteurl' ),
		)
	);
	return array(
		'home'    => isset( $urls['home'] ) ? untrailingslashit( trim( (string) $urls['home'] ) ) : '',
		'siteurl' => isset( $urls['siteurl'] ) ? untrailingslashit( trim( (string) $urls['siteurl'] ) ) : '',
	);
}

/**
 * The address sent as X-Igny8-Site-Url: home, when it is a plain http(s) address ('' otherwise: the header
 * is left out, as by plugins too old to send it).
 *
 * @return string
 */
function igny8_identity_header_url() {
	$home = igny8_identity_urls()['home'];
	return preg_match( '#^https?://[^/\s<>"\'`\\\\?\#@]+(/[^\s<>"\'`\\\\?\#]*)?$#i', $home ) && strlen( $home ) <= 2000 ? $home : '';
}

/**
 * Remembers the address the site runs at now as its own (at connect, and when the owner says it moved);
 * an earlier choice or refusal goes with the address it was made at.
 */
function igny8_identity_remember() {
	$urls = igny8_identity_urls();
	update_option(
		IGNY8_IDENTITY_OPTION,
		array(
			'home'     => igny8_identity_normalize( $urls['home'] ),
			'siteurl'  => igny8_identity_normalize( $urls['siteurl'] ),
			'home_url' => $urls['home'],
			'time'     => time(),
		),
		false
	);
}

/**
 * Records the owner's choice (staging) or IGNY8's refusal (refused) for the address the site runs at now.
 *
 * @param string $what  staging|refused.
 * @param array  $extra What else to keep with it.
 */
function igny8_identity_note( $what, array $extra = array() ) {
	$identity = get_option( IGNY8_IDENTITY_OPTION, array() );
	if ( ! is_array( $identity ) ) {
		return;
	}
	$identity[ $what ] = array_merge(
		array(
			'home' => igny8_identity_normalize( igny8_identity_urls()['home'] ),
			'time' => time(),
		),
		$extra
	);
	update_option( IGNY8_IDENTITY_OPTION, $identity, false );
}

/**
 * Whether this WordPress is the site that connected, a copy whose owner said it is a staging copy, or a
 * copy (or a moved site) nobody decided about yet.
 *
 * @return array {status: ok|staging|mismatch, known: the address connected from, current: the address now,
 *               refused: the platform's sentence when it refused this address, why: address|platform|constant}.
 */
function igny8_identity_state() {
	$urls  = igny8_identity_urls();
	$state = array(
		'status'  => 'ok',
		'known'   => '',
		'current' => $urls['home'],
		'refused' => '',
		'why'     => '',
	);
	if ( ! igny8_is_connected() ) {
		return $state;
	}
	/**
	 * Whether this WordPress is a staging copy that must never send to IGNY8, whatever its address (hosts
	 * can say so with the IGNY8_STAGING_MODE constant in the copy's wp-config.php).
	 *
	 * @param bool $staging Default: IGNY8_STAGING_MODE, when defined.
	 */
	if ( apply_filters( 'igny8_staging_mode', defined( 'IGNY8_STAGING_MODE' ) && IGNY8_STAGING_MODE ) ) {
		return array_merge( $state, array( 'status' => 'staging', 'why' => 'constant' ) );
	}
	$known = get_option( IGNY8_IDENTITY_OPTION, false );
	if ( ! is_array( $known ) || ! isset( $known['home'], $known['siteurl'], $known['home_url'] ) ) {
		// Connected by a version that did not remember its address: this one is taken as the site's own
		// (the platform still refuses a copy when the original reported its address first).
		igny8_identity_remember();
		$known = get_option( IGNY8_IDENTITY_OPTION, array() );
	}
	$home           = igny8_identity_normalize( $urls['home'] );
	$state['known'] = (string) $known['home_url'];
	$refused        = isset( $known['refused'] ) ? $known['refused'] : false;
	$refused_here   = is_array( $refused ) && isset( $refused['home'] ) && $refused['home'] === $home;
	$moved          = (string) $known['home'] !== $home || (string) $known['siteurl'] !== igny8_identity_normalize( $urls['siteurl'] );
	if ( ! $moved && ! $refused_here ) {
		return $state;
	}
	$state['why']     = $moved ? 'address' : 'platform';
	$state['refused'] = $refused_here && isset( $refused['message'] ) ? (string) $refused['message'] : '';
	$staging          = isset( $known['staging']['home'] ) && $known['staging']['home'] === $home;
	$state['status']  = $staging ? 'staging' : 'mismatch';
	return $state;
}

/**
 * Why nothing may be sent to IGNY8's integration endpoints now, or null when it may.
 *
 * @return WP_Error|null
 */
function igny8_identity_refusal() {
	$state = igny8_identity_state();
	if ( 'ok' === $state['status'] ) {
		return null;
	}
	if ( 'staging' === $state['status'] && 'constant' === $state['why'] ) {
		$message = __( 'This WordPress is a staging copy (IGNY8_STAGING_MODE): it sends nothing to IGNY8.', 'igny8' );
	} elseif ( 'staging' === $state['status'] ) {
		/* translators: %s: the address the site was connected from. */
		$message = sprintf( __( 'This WordPress is a staging copy of the site at %s: it sends nothing to IGNY8 (chosen under Settings → IGNY8 API).', 'igny8' ), $state['known'] );
	} elseif ( 'platform' === $state['why'] ) {
		/* translators: %s: this site's address. */
		$message = sprintf( __( 'IGNY8 knows this site\'s integration at another address than %s, so nothing is sent to IGNY8 until you choose under Settings → IGNY8 API whether this is a staging copy, the site moved, or a new site.', 'igny8' ), $state['current'] );
	} else {
		/* translators: 1: this site's address now, 2: the address it was connected from. */
		$message = sprintf( __( 'WordPress now runs at %1$s, but this site was connected to IGNY8 from %2$s: nothing is sent to IGNY8 until you choose under Settings → IGNY8 API whether this is a staging copy, the site moved, or a new site.', 'igny8' ), $state['current'], $state['known'] );
	}
	return new WP_Error(
		'igny8_site_identity',
		$message,
		array(
			'status' => 0,
			'code'   => 'igny8_site_identity',
		)
	);
}

/**
 * IGNY8 answered 409 site_url_mismatch: it knows the integration at another address than this site's.
 * Nothing is sent from this address until the owner chooses.
 *
 * @param string $server_says The platform's sentence (it names both addresses).
 */
function igny8_identity_note_platform_refusal( $server_says ) {
	igny8_identity_note( 'refused', array( 'message' => (string) $server_says ) );
	igny8_log( 'IGNY8 refused this site\'s address; nothing is sent until the owner chooses on the settings page.' );
}

/* ------------------------------------------------------------------------------------------------------
 * The owner's choices (the settings page calls these after its capability and nonce checks)
 * --------------------------------------------------------------------------------------------------- */

/**
 * "This is a staging copy": it stays silent at this address (nothing is sent, no nudge is accepted), and
 * the integration of the site it was copied from is left as it is. Changes are still queued: should the
 * copy become the live site at the original address, they are sent from there.
 */
function igny8_identity_choose_staging() {
	igny8_identity_note( 'staging' );
	igny8_log( sprintf( 'The owner says this WordPress at %s is a staging copy: nothing is sent to IGNY8 from it.', igny8_identity_urls()['home'] ) );
}

/**
 * "The site moved": IGNY8 is told the new address (POST …/site-url/ with the site's key), the address is
 * remembered as the site's own, and sending resumes: the queue is due at once, the nudge receiver is
 * registered at its new address, the structure is pushed.
 *
 * @return array|WP_Error The integration as IGNY8 now holds it, or why IGNY8 was not told.
 */
function igny8_identity_choose_moved() {
	$integration_id = (int) get_option( 'igny8_integration_id', 0 );
	$url            = igny8_identity_header_url();
	if ( ! igny8_is_connected() || $integration_id <= 0 ) {
		return new WP_Error( 'igny8_not_connected', __( 'This site is not connected to IGNY8 yet: connect it under Settings → IGNY8 API.', 'igny8' ) );
	}
	if ( '' === $url ) {
		/* translators: %s: the site's address. */
		return new WP_Error( 'igny8_invalid_url', sprintf( __( 'This site\'s address (%s) is not a plain http:// or https:// address, so IGNY8 cannot be told it. Fix the WordPress Address under Settings → General first.', 'igny8' ), igny8_identity_urls()['home'] ) );
	}
	$answer = igny8_api_client()->request(
		'POST',
		sprintf( '/api/v1/integration/integrations/%d/site-url/', $integration_id ),
		array(
			'auth'                => 'api_key',
			'body'                => array( 'site_url' => $url ),
			'timeout'             => 15,
			'idempotent'          => true,
			'skip_identity_check' => true, // This request is the way out of the refusal.
		)
	);
	if ( is_wp_error( $answer ) ) {
		igny8_log( 'Could not tell IGNY8 the site moved: ' . $answer->get_error_message() );
		return $answer;
	}
	igny8_identity_remember();
	igny8_log( sprintf( 'The owner says the site moved to %s; IGNY8 was told.', $url ) );
	igny8_identity_resume_sending();
	return $answer;
}

/**
 * "Connect as a new site": this WordPress forgets its key and integration (nothing is sent: the original
 * site's integration is left as it is) and the connect form asks for another site's key.
 */
function igny8_identity_choose_new_site() {
	igny8_disconnect_site(); // Its own "disconnected" push is refused here, so IGNY8 is not told.
	igny8_log( 'The owner connects this copy as a new site: the connection it was copied with is forgotten.' );
}

/**
 * Sending again after a stop: what waited in the queue is due now, the backoff is gone, the events are
 * scheduled, the nudge receiver and the structure are sent from the new address.
 */
function igny8_identity_resume_sending() {
	global $wpdb;
	delete_option( 'igny8_send_backoff' );
	$table      = igny8_queue_table();
	$suppressed = $wpdb->suppress_errors( true );
	// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table name.
	$wpdb->query( $wpdb->prepare( "UPDATE $table SET next_attempt_at = %s WHERE next_attempt_at > %s", gmdate( 'Y-m-d H:i:s' ), gmdate( 'Y-m-d H:i:s' ) ) );
	$wpdb->suppress_errors( $suppressed );
	igny8_schedule_content_sync();
	igny8_schedule_structure_sync( time() + DAY_IN_SECONDS );
	igny8_maybe_register_receiver();
	igny8_sync_site_structure_to_backend();
	if ( igny8_queue_count() > 0 ) {
		igny8_queue_touched( true ); // Sent once this request has answered (sync/background.php).
	}
}

/**
 * On every admin page but the plugin's own (which shows the choices): a notice for those who may choose,
 * while nobody has.
 */
function igny8_identity_admin_notice() {
	if ( ! current_user_can( 'manage_options' ) ) {
		return;
	}
	$screen = function_exists( 'get_current_screen' ) ? get_current_screen() : null;
	if ( $screen && 'settings_page_igny8-settings' === $screen->id ) {
		return;
	}
	$state = igny8_identity_state();
	if ( 'mismatch' !== $state['status'] ) {
		return;
	}
	$refusal = igny8_identity_refusal();
	printf(
		'<div class="notice notice-warning igny8-identity-notice"><p>%1$s <a href="%2$s">%3$s</a></p></div>',
		esc_html( $refusal ? $refusal->get_error_message() : '' ),
		esc_url( admin_url( 'options-general.php?page=igny8-settings' ) ),
		esc_html__( 'Choose now', 'igny8' )
	);
}
