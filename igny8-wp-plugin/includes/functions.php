<?php
/**
 * The plugin's core: stored connection state, the site structure (post types, taxonomies, counts), the
 * structure push to IGNY8, and the connect/disconnect flows the settings page calls.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/* ------------------------------------------------------------------------------------------------------
 * Stored state
 * --------------------------------------------------------------------------------------------------- */

/**
 * Options that describe the current connection. All are stored with autoload off (the API key is a
 * secret; the rest is only needed by the settings page and cron). The backend URL, the email and the
 * two-way sync switch survive a disconnect; these do not. The account's sign-in tokens are not kept (the
 * site's key is all the plugin needs): the names are listed so that those stored by older versions go.
 *
 * @return string[]
 */
function igny8_connection_option_names() {
	return array_merge(
		igny8_account_token_option_names(),
		array(
			'igny8_api_key',
			'igny8_site_id',
			'igny8_site_name',
			'igny8_site_url',
			'igny8_integration_id',
			'igny8_connected_at',
			'igny8_effective_settings',
			'igny8_last_structure_sync',
			'igny8_last_structure_counts',
			'igny8_last_error',
			'igny8_identity', // The address it connected from, and the owner's choice for a copy (sync/identity.php).
		)
	);
}

/**
 * Options older versions kept the account's sign-in in (a JWT pair good for every site of the account).
 *
 * @return string[]
 */
function igny8_account_token_option_names() {
	return array( 'igny8_access_token', 'igny8_refresh_token', 'igny8_access_expires_at' );
}

/**
 * Removes account tokens an older version stored: a site needs only its own key.
 */
function igny8_forget_account_tokens() {
	foreach ( igny8_account_token_option_names() as $name ) {
		delete_option( $name );
	}
}

/**
 * Options holding content sync state (sync/*.php), all autoload off; removed on disconnect. The schema
 * version (igny8_db_version) stays with the table.
 *
 * @return string[]
 */
function igny8_content_option_names() {
	return array(
		'igny8_full_sync',
		'igny8_send_backoff',
		'igny8_batch_bytes_limit',
		'igny8_content_last_error',
		'igny8_rejected_items',
		'igny8_queue_overflowed',
		'igny8_status_checked_at',
		'igny8_status_idle_checks',
		'igny8_verify_due',
		'igny8_last_verify',
	);
}

/**
 * Whether the site holds a connection (a site id and an API key).
 *
 * @return bool
 */
function igny8_is_connected() {
	return (int) get_option( 'igny8_site_id', 0 ) > 0 && '' !== igny8_get_api_key();
}

/**
 * The backend base URL without a trailing slash: the IGNY8_API_BASE constant when wp-config.php defines
 * it, else the stored one (default https://app.igny8.com).
 *
 * @return string
 */
function igny8_get_api_base() {
	$base = igny8_config_constant( 'IGNY8_API_BASE' );
	if ( null === $base ) {
		$base = (string) get_option( 'igny8_api_base', '' );
	}
	return untrailingslashit( '' === $base ? IGNY8_DEFAULT_API_BASE : $base );
}

/**
 * The site's API key: the IGNY8_API_KEY constant when wp-config.php defines it (hosts that keep secrets
 * out of the database), else the stored one.
 *
 * @return string
 */
function igny8_get_api_key() {
	$key = igny8_config_constant( 'IGNY8_API_KEY' );
	return null === $key ? (string) get_option( 'igny8_api_key', '' ) : $key;
}

/**
 * A setting wp-config.php fixes with a constant: its trimmed value, or null when it is not defined (or empty).
 *
 * @param string $name IGNY8_API_KEY|IGNY8_API_BASE.
 * @return string|null
 */
function igny8_config_constant( $name ) {
	if ( ! defined( $name ) || ! is_scalar( constant( $name ) ) ) {
		return null;
	}
	$value = trim( (string) constant( $name ) );
	return '' === $value ? null : $value;
}

/**
 * A client for the stored backend URL, or for $base_url.
 *
 * @param string|null $base_url Backend base URL.
 * @return Igny8_Api_Client
 */
function igny8_api_client( $base_url = null ) {
	return new Igny8_Api_Client( $base_url );
}

/**
 * Validates a backend URL typed by an admin: http or https, a host, no credentials, query or fragment.
 * An empty value means the default backend.
 *
 * @param mixed $raw The submitted value.
 * @return string|WP_Error The URL without a trailing slash.
 */
function igny8_sanitize_api_base( $raw ) {
	$url = trim( is_string( $raw ) ? $raw : '' );
	if ( '' === $url ) {
		return IGNY8_DEFAULT_API_BASE;
	}
	$invalid = new WP_Error( 'igny8_invalid_url', __( 'The backend URL must be a plain http:// or https:// address, like https://app.igny8.com (no spaces, credentials, query or fragment).', 'igny8' ) );
	if ( preg_match( '/[\s<>"\'`\\\\{}|^]/', $url ) ) {
		return $invalid;
	}
	$parts = wp_parse_url( $url );
	if ( ! is_array( $parts ) || empty( $parts['scheme'] ) || empty( $parts['host'] ) ) {
		return $invalid;
	}
	if ( ! in_array( strtolower( $parts['scheme'] ), array( 'http', 'https' ), true ) ) {
		return $invalid;
	}
	if ( isset( $parts['user'] ) || isset( $parts['pass'] ) || isset( $parts['query'] ) || isset( $parts['fragment'] ) ) {
		return $invalid;
	}
	if ( ! preg_match( '/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)$/i', $parts['host'] ) ) {
		return $invalid;
	}
	$clean = esc_url_raw( $url, array( 'http', 'https' ) );
	if ( '' === $clean ) {
		return $invalid;
	}
	$insecure = igny8_insecure_api_base_error( $clean );
	return $insecure ? $insecure : untrailingslashit( $clean );
}

/**
 * Why a backend URL may not be used: an http:// backend anywhere but on this machine or a private network
 * would carry the site's key in clear text. Allowed over http: localhost (and *.localhost), names without a
 * dot (a container or intranet host), *.internal, *.home.arpa, and loopback, private and link-local
 * addresses; anything else needs https, or the filter igny8_allow_insecure_api_base.
 *
 * @param string $url Backend URL.
 * @return WP_Error|null Null when it may be used.
 */
function igny8_insecure_api_base_error( $url ) {
	$parts = wp_parse_url( (string) $url );
	if ( ! is_array( $parts ) || ! isset( $parts['scheme'] ) || 'http' !== strtolower( $parts['scheme'] ) ) {
		return null;
	}
	$host  = strtolower( trim( isset( $parts['host'] ) ? $parts['host'] : '', '[]' ) );
	$local = false;
	if ( false !== filter_var( $host, FILTER_VALIDATE_IP ) ) {
		// Private (10/8, 172.16/12, 192.168/16, fc00::/7) or reserved (loopback, link-local, …).
		$local = false === filter_var( $host, FILTER_VALIDATE_IP, FILTER_FLAG_NO_PRIV_RANGE | FILTER_FLAG_NO_RES_RANGE );
	} elseif ( '' !== $host ) {
		$local = false === strpos( $host, '.' ) || (bool) preg_match( '/(^|\.)localhost$|\.internal$|\.home\.arpa$/', $host );
	}
	/**
	 * Whether an http:// (not https://) backend URL may be used. Default: only for local and private hosts.
	 *
	 * @param bool   $allowed Default as described.
	 * @param string $url     The backend URL.
	 */
	if ( apply_filters( 'igny8_allow_insecure_api_base', $local, (string) $url ) ) {
		return null;
	}
	return new WP_Error(
		'igny8_insecure_url',
		/* translators: %s: the backend URL. */
		sprintf( __( 'The backend URL %s must start with https://: plain http:// is accepted only for localhost and private network addresses, where the API key does not cross the internet.', 'igny8' ), (string) $url )
	);
}

/**
 * Writes a log line `IGNY8: …` through error_log, only when WP_DEBUG is on. Never pass secrets.
 *
 * @param string $message What happened.
 */
function igny8_log( $message ) {
	if ( defined( 'WP_DEBUG' ) && WP_DEBUG ) {
		error_log( 'IGNY8: ' . $message ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log
	}
}

/**
 * Remembers the last sync error for the settings page, in plain words.
 *
 * @param WP_Error $error The error.
 */
function igny8_record_error( WP_Error $error ) {
	update_option(
		'igny8_last_error',
		array(
			'message' => $error->get_error_message(),
			'code'    => (string) $error->get_error_code(),
			'time'    => time(),
		),
		false
	);
}

/**
 * The platform-owned sync settings from the last update-structure answer.
 *
 * @return array{post_types: array, taxonomies: array}
 */
function igny8_get_effective_settings() {
	$stored = get_option( 'igny8_effective_settings', array() );
	$stored = is_array( $stored ) ? $stored : array();
	return array(
		'post_types' => isset( $stored['post_types'] ) && is_array( $stored['post_types'] ) ? $stored['post_types'] : array(),
		'taxonomies' => isset( $stored['taxonomies'] ) && is_array( $stored['taxonomies'] ) ? $stored['taxonomies'] : array(),
	);
}

/* ------------------------------------------------------------------------------------------------------
 * Site structure
 * --------------------------------------------------------------------------------------------------- */

/**
 * The post types and taxonomies this site reports to IGNY8: public ones, less those the igny8_excluded_*
 * filters leave out. Content is only ever synced from these, whatever a platform answer enables.
 *
 * @return array{post_types: array<string, WP_Post_Type>, taxonomies: array<string, WP_Taxonomy>}
 */
function igny8_reportable_types() {
	/**
	 * Post types never reported to IGNY8 (nor synced).
	 *
	 * @param string[] $excluded Post type names. Default: attachment.
	 */
	$excluded_post_types = (array) apply_filters( 'igny8_excluded_post_types', array( 'attachment' ) );
	/**
	 * Taxonomies never reported to IGNY8 (nor synced).
	 *
	 * @param string[] $excluded Taxonomy names. Default: post_format.
	 */
	$excluded_taxonomies = (array) apply_filters( 'igny8_excluded_taxonomies', array( 'post_format' ) );
	return array(
		'post_types' => array_diff_key( get_post_types( array( 'public' => true ), 'objects' ), array_flip( array_filter( $excluded_post_types, 'is_string' ) ) ),
		'taxonomies' => array_diff_key( get_taxonomies( array( 'public' => true ), 'objects' ), array_flip( array_filter( $excluded_taxonomies, 'is_string' ) ) ),
	);
}

/**
 * What this site holds: every public post type and taxonomy with its label, count, and sync settings.
 *
 * Counts take two queries whatever the site's size: one GROUP BY over wp_posts for all post types'
 * published items, one GROUP BY over wp_term_taxonomy for all taxonomies' terms. Built-in types are
 * enabled with a fetch limit of 100, others disabled with 50, unless the platform's effective settings
 * (stored from the last update-structure answer) say otherwise.
 *
 * @return array{post_types: array<string, array>, taxonomies: array<string, array>}
 */
function igny8_get_site_structure() {
	$types      = igny8_reportable_types();
	$effective  = igny8_get_effective_settings();
	$post_types = $types['post_types'];
	$taxonomies = $types['taxonomies'];

	$post_counts = igny8_count_published_posts( array_keys( $post_types ) );
	$term_counts = igny8_count_terms( array_keys( $taxonomies ) );

	$structure = array(
		'post_types' => array(),
		'taxonomies' => array(),
	);
	foreach ( $post_types as $name => $object ) {
		$structure['post_types'][ $name ] = igny8_structure_entry( $object, isset( $post_counts[ $name ] ) ? $post_counts[ $name ] : 0, isset( $effective['post_types'][ $name ] ) ? $effective['post_types'][ $name ] : null );
	}
	foreach ( $taxonomies as $name => $object ) {
		$structure['taxonomies'][ $name ] = igny8_structure_entry( $object, isset( $term_counts[ $name ] ) ? $term_counts[ $name ] : 0, isset( $effective['taxonomies'][ $name ] ) ? $effective['taxonomies'][ $name ] : null );
	}

	/**
	 * The structure reported to IGNY8: {"post_types": {name: {label, count, enabled, fetch_limit}}, "taxonomies": {…}}.
	 *
	 * @param array $structure The structure.
	 */
	$structure = apply_filters( 'igny8_site_structure', $structure );
	return igny8_normalize_structure( $structure );
}

/**
 * One post type's or taxonomy's entry.
 *
 * @param WP_Post_Type|WP_Taxonomy $object    The registered object.
 * @param int                      $count     Published items or terms.
 * @param array|null               $effective The platform's settings for it, if any.
 * @return array{label: string, count: int, enabled: bool, fetch_limit: int}
 */
function igny8_structure_entry( $object, $count, $effective ) {
	$builtin = ! empty( $object->_builtin );
	$entry   = array(
		'label'       => (string) ( isset( $object->label ) && '' !== $object->label ? $object->label : $object->name ),
		'count'       => (int) $count,
		'enabled'     => $builtin,
		'fetch_limit' => $builtin ? 100 : 50,
	);
	if ( is_array( $effective ) ) {
		if ( isset( $effective['enabled'] ) && is_bool( $effective['enabled'] ) ) {
			$entry['enabled'] = $effective['enabled'];
		}
		if ( isset( $effective['fetch_limit'] ) && is_numeric( $effective['fetch_limit'] ) && (int) $effective['fetch_limit'] > 0 ) {
			$entry['fetch_limit'] = (int) $effective['fetch_limit'];
		}
	}
	return $entry;
}

/**
 * Brings a (possibly filtered) structure to the shape the API accepts: names as WordPress allows them
 * (post types ≤ 20 chars, taxonomies ≤ 32; lowercase letters, digits, _ and -), counts ≥ 0, limits ≥ 1.
 * Anything else is dropped with a log line, so one odd entry cannot make the whole push fail.
 *
 * @param mixed $structure Structure.
 * @return array{post_types: array, taxonomies: array}
 */
function igny8_normalize_structure( $structure ) {
	$out = array(
		'post_types' => array(),
		'taxonomies' => array(),
	);
	$max = array(
		'post_types' => 20,
		'taxonomies' => 32,
	);
	foreach ( $max as $kind => $max_length ) {
		$entries = is_array( $structure ) && isset( $structure[ $kind ] ) && is_array( $structure[ $kind ] ) ? $structure[ $kind ] : array();
		foreach ( $entries as $name => $entry ) {
			$name = (string) $name;
			if ( ! is_array( $entry ) || strlen( $name ) > $max_length || ! preg_match( '/^[a-z0-9_-]+$/', $name ) ) {
				igny8_log( sprintf( 'Skipping %s entry "%s": not a valid name or entry.', $kind, sanitize_key( $name ) ) );
				continue;
			}
			$out[ $kind ][ $name ] = array(
				'label'       => isset( $entry['label'] ) && is_scalar( $entry['label'] ) && '' !== (string) $entry['label'] ? (string) $entry['label'] : $name,
				'count'       => isset( $entry['count'] ) ? max( 0, (int) $entry['count'] ) : 0,
				'enabled'     => ! empty( $entry['enabled'] ),
				'fetch_limit' => isset( $entry['fetch_limit'] ) && (int) $entry['fetch_limit'] > 0 ? (int) $entry['fetch_limit'] : 50,
			);
		}
	}
	return $out;
}

/**
 * Published items per post type, in one query.
 *
 * @param string[] $post_types Post type names.
 * @return array<string, int>
 */
function igny8_count_published_posts( array $post_types ) {
	global $wpdb;
	$counts = array_fill_keys( $post_types, 0 );
	if ( ! $post_types ) {
		return $counts;
	}
	$placeholders = implode( ', ', array_fill( 0, count( $post_types ), '%s' ) );
	$params       = array_merge( array( 'publish' ), array_values( $post_types ) );
	// phpcs:ignore WordPress.DB.PreparedSQLPlaceholders.UnfinishedPrepare,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- placeholders built above.
	$rows = $wpdb->get_results( $wpdb->prepare( "SELECT post_type, COUNT(*) AS n FROM {$wpdb->posts} WHERE post_status = %s AND post_type IN ($placeholders) GROUP BY post_type", $params ) );
	foreach ( (array) $rows as $row ) {
		$counts[ $row->post_type ] = (int) $row->n;
	}
	// Attachments are never "publish" but "inherit"; counted only when a site opts them back in.
	if ( isset( $counts['attachment'] ) ) {
		$counts['attachment'] = (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$wpdb->posts} WHERE post_type = %s AND post_status = %s", 'attachment', 'inherit' ) );
	}
	return $counts;
}

/**
 * Terms per taxonomy, in one query.
 *
 * @param string[] $taxonomies Taxonomy names.
 * @return array<string, int>
 */
function igny8_count_terms( array $taxonomies ) {
	global $wpdb;
	$counts = array_fill_keys( $taxonomies, 0 );
	if ( ! $taxonomies ) {
		return $counts;
	}
	$placeholders = implode( ', ', array_fill( 0, count( $taxonomies ), '%s' ) );
	// phpcs:ignore WordPress.DB.PreparedSQLPlaceholders.UnfinishedPrepare,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- placeholders built above.
	$rows = $wpdb->get_results( $wpdb->prepare( "SELECT taxonomy, COUNT(*) AS n FROM {$wpdb->term_taxonomy} WHERE taxonomy IN ($placeholders) GROUP BY taxonomy", array_values( $taxonomies ) ) );
	foreach ( (array) $rows as $row ) {
		$counts[ $row->taxonomy ] = (int) $row->n;
	}
	return $counts;
}

/* ------------------------------------------------------------------------------------------------------
 * Structure push
 * --------------------------------------------------------------------------------------------------- */

/**
 * The update-structure request body.
 *
 * @param array $structure          From igny8_get_site_structure().
 * @param bool  $plugin_connected   plugin_connection_enabled.
 * @return array
 */
function igny8_structure_payload( array $structure, $plugin_connected = true ) {
	return array(
		// Objects even when empty: the API expects maps, and json_encode(array()) is a list.
		'post_types'                => (object) $structure['post_types'],
		'taxonomies'                => (object) $structure['taxonomies'],
		'plugin_connection_enabled' => (bool) $plugin_connected,
		'two_way_sync_enabled'      => (bool) get_option( 'igny8_two_way_sync_enabled', false ),
		'timestamp'                 => gmdate( 'Y-m-d\TH:i:s\Z' ),
	);
}

/**
 * Pushes the site structure to IGNY8 (POST …/integrations/{id}/update-structure/ with the API key) and
 * stores what the platform answers: the effective sync settings, the sync time, the last error.
 *
 * @return array|WP_Error The answer's data: message, post_types_count, taxonomies_count, last_structure_fetch, content_types.
 */
function igny8_sync_site_structure_to_backend() {
	$site_id = (int) get_option( 'igny8_site_id', 0 );
	$api_key = igny8_get_api_key();
	if ( $site_id <= 0 || '' === $api_key ) {
		$error = new WP_Error( 'igny8_not_connected', __( 'This site is not connected to IGNY8 yet: connect it under Settings → IGNY8 API.', 'igny8' ) );
		igny8_log( 'Site structure sync skipped: no IGNY8 site id or API key is stored.' );
		return $error;
	}

	$client         = igny8_api_client();
	$integration_id = (int) get_option( 'igny8_integration_id', 0 );
	$refound        = false;
	if ( $integration_id <= 0 ) {
		$integration_id = igny8_find_or_create_integration( $client, $site_id, $api_key );
		$refound        = true;
	}

	$result = is_wp_error( $integration_id ) ? $integration_id : igny8_push_structure( $client, $integration_id, $api_key, true );

	// A stored integration id the platform no longer knows: find the site's integration again, once.
	if ( is_wp_error( $result ) && ! $refound && 'not_found' === $result->get_error_code() ) {
		igny8_log( sprintf( 'Integration %d is unknown to IGNY8; looking it up again.', $integration_id ) );
		$integration_id = igny8_find_or_create_integration( $client, $site_id, $api_key );
		$refound        = true;
		$result         = is_wp_error( $integration_id ) ? $integration_id : igny8_push_structure( $client, $integration_id, $api_key, true );
	}

	if ( is_wp_error( $result ) ) {
		igny8_record_error( $result );
		igny8_log( 'Site structure sync failed: ' . $result->get_error_message() );
		return $result;
	}

	if ( $refound ) {
		update_option( 'igny8_integration_id', $integration_id, false );
	}
	$effective = igny8_effective_settings_from_answer( $result );
	if ( null !== $effective ) {
		update_option( 'igny8_effective_settings', $effective, false );
		igny8_on_effective_settings_stored();
	}
	igny8_act_on_platform_requests( $result );
	update_option( 'igny8_last_structure_sync', time(), false );
	update_option(
		'igny8_last_structure_counts',
		array(
			'post_types' => isset( $result['post_types_count'] ) ? (int) $result['post_types_count'] : 0,
			'taxonomies' => isset( $result['taxonomies_count'] ) ? (int) $result['taxonomies_count'] : 0,
		),
		false
	);
	delete_option( 'igny8_last_error' );
	igny8_log( 'Site structure synced successfully.' );
	return $result;
}

/**
 * The platform's settings may have changed what is synced (a type enabled or disabled, a fetch limit):
 * a full sync brings its copy in line. Nothing happens before the first full sync (connecting starts it).
 */
function igny8_on_effective_settings_stored() {
	$state = igny8_full_sync_state();
	if ( empty( $state['signature'] ) || ( isset( $state['status'] ) && 'pending' === $state['status'] ) ) {
		return;
	}
	if ( igny8_sync_signature() !== $state['signature'] ) {
		igny8_request_full_sync( 'settings' );
	}
}

/**
 * One update-structure request.
 *
 * @param Igny8_Api_Client $client           Client.
 * @param int              $integration_id   Integration id.
 * @param string           $api_key          API key.
 * @param bool             $plugin_connected plugin_connection_enabled.
 * @param array            $request_args     Extra request() arguments.
 * @return array|WP_Error
 */
function igny8_push_structure( Igny8_Api_Client $client, $integration_id, $api_key, $plugin_connected, array $request_args = array() ) {
	return $client->request(
		'POST',
		sprintf( '/api/v1/integration/integrations/%d/update-structure/', (int) $integration_id ),
		array_merge(
			array(
				'body'       => igny8_structure_payload( igny8_get_site_structure(), $plugin_connected ),
				'token'      => $api_key,
				'timeout'    => 30,
				'idempotent' => true,
			),
			$request_args
		)
	);
}

/**
 * The effective settings in an update-structure answer (`content_types`), reduced to what the plugin
 * applies: per name, enabled and fetch_limit (plus label and count for display).
 *
 * @param array $answer The answer's data.
 * @return array|null Null when the answer carries none.
 */
function igny8_effective_settings_from_answer( array $answer ) {
	if ( ! isset( $answer['content_types'] ) || ! is_array( $answer['content_types'] ) ) {
		return null;
	}
	$out = array(
		'post_types' => array(),
		'taxonomies' => array(),
	);
	foreach ( array_keys( $out ) as $kind ) {
		$entries = isset( $answer['content_types'][ $kind ] ) && is_array( $answer['content_types'][ $kind ] ) ? $answer['content_types'][ $kind ] : array();
		foreach ( $entries as $name => $entry ) {
			if ( ! is_array( $entry ) || ! preg_match( '/^[a-z0-9_-]{1,32}$/', (string) $name ) ) {
				continue;
			}
			$clean = array();
			if ( isset( $entry['enabled'] ) && is_bool( $entry['enabled'] ) ) {
				$clean['enabled'] = $entry['enabled'];
			}
			if ( isset( $entry['fetch_limit'] ) && is_numeric( $entry['fetch_limit'] ) && (int) $entry['fetch_limit'] > 0 ) {
				$clean['fetch_limit'] = (int) $entry['fetch_limit'];
			}
			if ( isset( $entry['label'] ) && is_string( $entry['label'] ) ) {
				$clean['label'] = $entry['label'];
			}
			if ( isset( $entry['count'] ) && is_numeric( $entry['count'] ) ) {
				$clean['count'] = (int) $entry['count'];
			}
			$out[ $kind ][ (string) $name ] = $clean;
		}
	}
	return $out;
}

/**
 * The id of the site's WordPress integration: the first one listed, else a newly created one.
 *
 * @param Igny8_Api_Client $client  Client.
 * @param int              $site_id IGNY8 site id.
 * @param string           $api_key API key.
 * @return int|WP_Error
 */
function igny8_find_or_create_integration( Igny8_Api_Client $client, $site_id, $api_key ) {
	$list = $client->request( 'GET', '/api/v1/integration/integrations/', array( 'query' => array( 'site' => (int) $site_id ), 'token' => $api_key ) );
	if ( is_wp_error( $list ) ) {
		return igny8_integration_error( $list );
	}
	foreach ( $list as $integration ) {
		if ( is_array( $integration ) && isset( $integration['id'] ) && (int) $integration['id'] > 0
			&& ( ! isset( $integration['platform'] ) || 'wordpress' === $integration['platform'] ) ) {
			return (int) $integration['id'];
		}
	}
	$created = $client->request(
		'POST',
		'/api/v1/integration/integrations/',
		array(
			'body'       => array(
				'site'     => (int) $site_id,
				'platform' => 'wordpress',
			),
			'token'      => $api_key,
			'idempotent' => true, // The API answers the existing integration on a repeat.
		)
	);
	if ( is_wp_error( $created ) ) {
		return igny8_integration_error( $created );
	}
	if ( empty( $created['id'] ) || (int) $created['id'] <= 0 ) {
		return new WP_Error( 'igny8_bad_answer', __( 'IGNY8 created the WordPress integration but did not say its id. Try again.', 'igny8' ) );
	}
	return (int) $created['id'];
}

/**
 * Prefixes an integration lookup error so the site owner knows which step failed.
 *
 * @param WP_Error $error Error.
 * @return WP_Error
 */
function igny8_integration_error( WP_Error $error ) {
	return new WP_Error(
		$error->get_error_code(),
		/* translators: %s: the reason. */
		sprintf( __( 'Could not find or create the site\'s WordPress integration in IGNY8: %s', 'igny8' ), $error->get_error_message() ),
		$error->get_error_data()
	);
}

/* ------------------------------------------------------------------------------------------------------
 * Connect / disconnect
 * --------------------------------------------------------------------------------------------------- */

/**
 * Connects this site to IGNY8. Everything is gathered first (login, the API key's site, the integration);
 * options are written only when all of it succeeded, so a failed attempt leaves a previous working
 * connection exactly as it was. The password is used for the login and never stored.
 *
 * @param string $base_url Validated backend URL.
 * @param string $email    Account email.
 * @param string $password Account password.
 * @param string $api_key  The site's API key.
 * @return array|WP_Error {site_id, site_name, site_url, integration_id, sync: array|WP_Error, warnings: string[]}
 */
function igny8_connect_site( $base_url, $email, $password, $api_key ) {
	$client = igny8_api_client( $base_url );

	// The sign-in proves the person connecting owns the account the key's site belongs to; its tokens
	// (good for every site of the account) are not kept.
	$login = $client->request(
		'POST',
		'/api/v1/auth/login/',
		array(
			'body' => array(
				'email'    => $email,
				'password' => $password,
			),
		)
	);
	if ( is_wp_error( $login ) ) {
		return $login;
	}

	$sites = $client->request( 'GET', '/api/v1/auth/sites/', array( 'token' => $api_key ) );
	if ( is_wp_error( $sites ) ) {
		return $sites;
	}
	if ( 1 !== count( $sites ) || ! isset( $sites[0] ) || ! is_array( $sites[0] ) || empty( $sites[0]['id'] ) ) {
		return new WP_Error( 'igny8_bad_answer', __( 'IGNY8 did not name exactly one site for this API key. Use a site API key (not an account token).', 'igny8' ) );
	}
	$site      = $sites[0];
	$site_id   = (int) $site['id'];
	$site_name = isset( $site['name'] ) && is_string( $site['name'] ) ? $site['name'] : '';
	$site_url  = isset( $site['url'] ) && is_string( $site['url'] ) ? $site['url'] : '';

	if ( isset( $site['is_active'] ) && false === $site['is_active'] ) {
		return new WP_Error(
			'igny8_site_inactive',
			/* translators: %s: site name in IGNY8. */
			sprintf( __( 'The site "%s" is deactivated in IGNY8, so it cannot be connected. Reactivate it in IGNY8, then connect again.', 'igny8' ), $site_name )
		);
	}
	$user_account = isset( $login['user']['account_id'] ) ? (int) $login['user']['account_id'] : 0;
	$site_account = isset( $site['account_id'] ) ? (int) $site['account_id'] : 0;
	if ( $user_account > 0 && $site_account > 0 && $user_account !== $site_account ) {
		return new WP_Error(
			'igny8_account_mismatch',
			/* translators: 1: email, 2: site name. */
			sprintf( __( 'The API key belongs to the site "%2$s" of another IGNY8 account than %1$s. Use a key of one of your own sites.', 'igny8' ), $email, $site_name )
		);
	}

	$integration_id = igny8_find_or_create_integration( $client, $site_id, $api_key );
	if ( is_wp_error( $integration_id ) ) {
		return $integration_id;
	}

	// Everything is known: write the connection in one go.
	$previous_site = (int) get_option( 'igny8_site_id', 0 );
	$previous_base = igny8_get_api_base();
	if ( $previous_site !== $site_id || $previous_base !== $base_url ) {
		// Settings and sync history of another site/backend do not apply to this one.
		delete_option( 'igny8_effective_settings' );
		delete_option( 'igny8_last_structure_sync' );
		delete_option( 'igny8_last_structure_counts' );
		igny8_forget_content_sync();
	}
	$values = array(
		'igny8_api_base'       => $base_url,
		'igny8_email'          => $email,
		'igny8_api_key'        => $api_key,
		'igny8_site_id'        => $site_id,
		'igny8_site_name'      => $site_name,
		'igny8_site_url'       => $site_url,
		'igny8_integration_id' => $integration_id,
		'igny8_connected_at'   => time(),
	);
	// What wp-config.php fixes stays out of the database.
	foreach ( array( 'igny8_api_base' => 'IGNY8_API_BASE', 'igny8_api_key' => 'IGNY8_API_KEY' ) as $name => $constant ) {
		if ( null !== igny8_config_constant( $constant ) ) {
			unset( $values[ $name ] );
			delete_option( $name );
		}
	}
	foreach ( $values as $name => $value ) {
		update_option( $name, $value, false );
	}
	igny8_forget_account_tokens();
	delete_option( 'igny8_last_error' );
	igny8_identity_remember(); // The address connected from: a copy elsewhere sends nothing (sync/identity.php).
	igny8_log( sprintf( 'Connected to site %d (integration %d) at %s.', $site_id, $integration_id, $base_url ) );
	igny8_two_way_on_connect(); // Publish as, and where IGNY8 nudges (a failure is retried, never fails the connect).

	igny8_schedule_structure_sync( time() + DAY_IN_SECONDS );
	$sync = igny8_sync_site_structure_to_backend();
	// Content follows the structure: the queue's cron, and a full sync that starts from cron right away.
	igny8_schedule_content_sync();
	igny8_request_full_sync( 'connect' );

	$warnings = array();
	if ( '' !== $site_url && untrailingslashit( strtolower( $site_url ) ) !== untrailingslashit( strtolower( home_url() ) ) ) {
		/* translators: 1: URL stored in IGNY8, 2: this site's URL. */
		$warnings[] = sprintf( __( 'IGNY8 has this site\'s address as %1$s, but WordPress runs at %2$s. Update the site in IGNY8 if it moved.', 'igny8' ), $site_url, home_url() );
	}

	return array(
		'site_id'        => $site_id,
		'site_name'      => $site_name,
		'site_url'       => $site_url,
		'integration_id' => $integration_id,
		'sync'           => $sync,
		'warnings'       => $warnings,
	);
}

/**
 * Disconnects: tells IGNY8 the plugin connection is off (best effort, short timeout), removes the stored
 * tokens, key and site, and clears the scheduled syncs. The backend URL, email and switches are kept.
 */
function igny8_disconnect_site() {
	$site_id        = (int) get_option( 'igny8_site_id', 0 );
	$integration_id = (int) get_option( 'igny8_integration_id', 0 );
	$api_key        = igny8_get_api_key();
	if ( $integration_id > 0 && '' !== $api_key ) {
		$sent = igny8_push_structure( igny8_api_client(), $integration_id, $api_key, false, array( 'timeout' => 5, 'retries' => 0 ) );
		if ( is_wp_error( $sent ) ) {
			igny8_log( 'Could not tell IGNY8 about the disconnect: ' . $sent->get_error_message() );
		}
	}
	igny8_unschedule_structure_sync();
	igny8_forget_content_sync();
	igny8_two_way_on_disconnect();
	foreach ( igny8_connection_option_names() as $name ) {
		delete_option( $name );
	}
	igny8_log( sprintf( 'Disconnected from site %d.', $site_id ) );
}

/**
 * Stops content sync and forgets its state: events, queue, full sync run, backoff, errors.
 */
function igny8_forget_content_sync() {
	igny8_unschedule_content_sync();
	igny8_queue_clear();
	foreach ( igny8_content_option_names() as $name ) {
		delete_option( $name );
	}
}
