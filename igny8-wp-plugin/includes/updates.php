<?php
/**
 * Updates from IGNY8, not WordPress.org: the plugin's `Update URI` header makes WordPress (5.8+) ask the
 * filter update_plugins_{host} instead, and that filter reads the release the IGNY8 backend serves at
 * `GET <backend>/downloads/igny8-wp-plugin.json` ({"version", "requires", "requires_php", "tested",
 * "package"}), so a self-hosted IGNY8 ships the plugin version it is built with.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** The plugin header's Update URI (its host names the filter WordPress asks). */
const IGNY8_UPDATE_URI = 'https://app.igny8.com/downloads/igny8-wp-plugin.json';
/** Where the backend serves the current release, under its base URL. */
const IGNY8_RELEASE_PATH = '/downloads/igny8-wp-plugin.json';

add_filter( 'update_plugins_' . wp_parse_url( IGNY8_UPDATE_URI, PHP_URL_HOST ), 'igny8_plugin_update', 10, 3 );

/**
 * The update WordPress offers for this plugin: the backend's current release, when it is newer or not
 * (WordPress compares versions). Other plugins naming the same host are left alone. A failed check is not
 * repeated for an hour, so a backend that is down does not slow every admin page that checks.
 *
 * @param array|false $update      What another filter answered (default false).
 * @param array       $plugin_data Headers of the plugin being checked.
 * @param string      $plugin_file Its file, relative to the plugins folder.
 * @return array|false
 */
function igny8_plugin_update( $update, $plugin_data, $plugin_file ) {
	if ( plugin_basename( IGNY8_PLUGIN_FILE ) !== $plugin_file || false !== get_transient( 'igny8_release_check_failed' ) ) {
		return $update;
	}
	$release = igny8_fetch_release();
	if ( is_wp_error( $release ) ) {
		igny8_log( 'Could not read the plugin release from IGNY8: ' . $release->get_error_message() );
		set_transient( 'igny8_release_check_failed', $release->get_error_code(), HOUR_IN_SECONDS );
		return $update;
	}
	return array(
		'id'           => isset( $plugin_data['UpdateURI'] ) ? $plugin_data['UpdateURI'] : IGNY8_UPDATE_URI,
		'slug'         => dirname( $plugin_file ),
		'version'      => $release['version'],
		'url'          => igny8_get_api_base(),
		'package'      => $release['package'],
		'requires'     => $release['requires'],
		'requires_php' => $release['requires_php'],
		'tested'       => $release['tested'],
	);
}

/**
 * The backend's current release, checked: a version, and a package on the backend's own origin (the same
 * scheme, host and port), so the answer cannot send WordPress elsewhere for code.
 *
 * @return array|WP_Error {version, package, requires, requires_php, tested}.
 */
function igny8_fetch_release() {
	$client = igny8_api_client();
	$answer = $client->get_json( IGNY8_RELEASE_PATH, 10 );
	if ( is_wp_error( $answer ) ) {
		return $answer;
	}
	$version = isset( $answer['version'] ) && is_string( $answer['version'] ) ? $answer['version'] : '';
	$package = isset( $answer['package'] ) && is_string( $answer['package'] ) ? $answer['package'] : '';
	if ( ! preg_match( '/^\d+(\.\d+){0,3}([-+][0-9A-Za-z.-]+)?$/', $version ) ) {
		return new WP_Error( 'igny8_bad_release', __( 'The release IGNY8 describes has no valid version.', 'igny8' ) );
	}
	if ( igny8_url_origin( $package ) !== igny8_url_origin( $client->get_base_url() ) ) {
		return new WP_Error( 'igny8_bad_release', __( 'The release IGNY8 describes is not served by the IGNY8 backend itself.', 'igny8' ) );
	}
	$optional = array();
	foreach ( array( 'requires', 'requires_php', 'tested' ) as $key ) {
		$optional[ $key ] = isset( $answer[ $key ] ) && is_string( $answer[ $key ] ) && preg_match( '/^\d+(\.\d+){0,3}$/', $answer[ $key ] ) ? $answer[ $key ] : '';
	}
	return array_merge(
		array(
			'version' => $version,
			'package' => $package,
		),
		$optional
	);
}

/**
 * scheme://host:port of a URL (the port always written), or '' when it is not an http(s) URL.
 *
 * @param string $url URL.
 * @return string
 */
function igny8_url_origin( $url ) {
	$parts = wp_parse_url( (string) $url );
	if ( ! is_array( $parts ) || empty( $parts['host'] ) || ! isset( $parts['scheme'] ) || ! in_array( strtolower( $parts['scheme'] ), array( 'http', 'https' ), true ) ) {
		return '';
	}
	$scheme = strtolower( $parts['scheme'] );
	$port   = isset( $parts['port'] ) ? (int) $parts['port'] : ( 'https' === $scheme ? 443 : 80 );
	return $scheme . '://' . strtolower( $parts['host'] ) . ':' . $port;
}
