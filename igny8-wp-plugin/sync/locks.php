<?php
/**
 * The locks that keep two PHP processes from sending the same thing at once (the queue, the full sync, the
 * verification): MySQL named locks taken on the primary, or an expiring option row where named locks are
 * not shared by every connection (Galera; the filter igny8_lock_method).
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Takes a lock without waiting. By default a MySQL named lock (GET_LOCK) on the primary: a PHP process that
 * dies loses its connection and with it the lock, so a killed sender never leaves the sync stuck (the
 * lesson of Jetpack's expiring option locks). Where named locks do not exclude each other (Galera: each
 * node has its own; or when the filter igny8_lock_method says so), an atomic row in wp_options with an
 * expiry (igny8_acquire_option_lock()).
 *
 * @param string $name queue|full_sync|verify|….
 * @return bool Whether this process holds it now.
 */
function igny8_acquire_lock( $name ) {
	global $wpdb;
	if ( 'option' === igny8_lock_method() ) {
		return igny8_acquire_option_lock( $name );
	}
	igny8_reads_to_primary();
	return '1' === (string) $wpdb->get_var( $wpdb->prepare( 'SELECT GET_LOCK(%s, 0)', igny8_lock_name( $name ) ) );
}

/**
 * @param string $name Lock name given to igny8_acquire_lock().
 */
function igny8_release_lock( $name ) {
	global $wpdb;
	if ( 'option' === igny8_lock_method() ) {
		igny8_release_option_lock( $name );
		return;
	}
	igny8_reads_to_primary();
	$wpdb->query( $wpdb->prepare( 'SELECT RELEASE_LOCK(%s)', igny8_lock_name( $name ) ) );
}

/**
 * Whether no process holds the lock now (a look, not a reservation).
 *
 * @param string $name Lock name.
 * @return bool
 */
function igny8_lock_is_free( $name ) {
	global $wpdb;
	igny8_reads_to_primary();
	if ( 'option' === igny8_lock_method() ) {
		$value = $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", 'igny8_lock_' . substr( $name, 0, 32 ) ) );
		return null === $value || strcmp( (string) $value, sprintf( '%010d|', time() ) ) < 0;
	}
	return '1' === (string) $wpdb->get_var( $wpdb->prepare( 'SELECT IS_FREE_LOCK(%s)', igny8_lock_name( $name ) ) );
}

/**
 * How locks are taken: 'named' (GET_LOCK) or 'option' (a row in wp_options with an expiry). Galera
 * clusters (wsrep_on) get 'option': GET_LOCK there holds on one node only.
 *
 * @return string named|option
 */
function igny8_lock_method() {
	global $wpdb;
	static $galera = null;
	if ( null === $galera ) {
		$suppressed = $wpdb->suppress_errors( true );
		$row        = $wpdb->get_row( "SHOW VARIABLES LIKE 'wsrep_on'", ARRAY_N );
		$wpdb->suppress_errors( $suppressed );
		$galera = is_array( $row ) && isset( $row[1] ) && 'ON' === strtoupper( (string) $row[1] );
	}
	/**
	 * How the plugin's locks are taken: 'named' (MySQL GET_LOCK, freed when the process dies) or 'option'
	 * (an atomic row in wp_options that expires, for database setups where named locks are not shared
	 * by every connection, such as Galera; detected there).
	 *
	 * @param string $method Default: 'option' on Galera, else 'named'.
	 */
	return 'option' === apply_filters( 'igny8_lock_method', $galera ? 'option' : 'named' ) ? 'option' : 'named';
}

/**
 * HyperDB and LudicrousDB send every SELECT (SELECT GET_LOCK too) to a read replica, where a lock excludes
 * no one: from here on this request reads from the primary.
 */
function igny8_reads_to_primary() {
	global $wpdb;
	if ( method_exists( $wpdb, 'send_reads_to_masters' ) ) {
		$wpdb->send_reads_to_masters();
	}
}

/**
 * The option-row lock: the row igny8_lock_{name} holds "<expiry, 10 digits>|<token>". Inserting it is
 * atomic (option_name is unique); an expired row is taken over by an UPDATE that matches only while it is
 * still expired, so two processes never both succeed. Both are writes: replica setups send them to the
 * primary.
 *
 * @param string $name Lock name.
 * @return bool
 */
function igny8_acquire_option_lock( $name ) {
	global $wpdb;
	$now    = time();
	/**
	 * Seconds an option-row lock lasts when its holder dies without releasing it.
	 *
	 * @param int    $seconds Default 600.
	 * @param string $name    Lock name.
	 */
	$ttl    = max( 60, (int) apply_filters( 'igny8_lock_ttl', 10 * MINUTE_IN_SECONDS, $name ) );
	$value  = sprintf( '%010d|%s', $now + $ttl, wp_generate_password( 20, false ) );
	$option = 'igny8_lock_' . substr( $name, 0, 32 );
	$taken  = $wpdb->query( $wpdb->prepare( "INSERT IGNORE INTO {$wpdb->options} (option_name, option_value, autoload) VALUES (%s, %s, 'no')", $option, $value ) );
	if ( 1 !== (int) $taken ) {
		$taken = $wpdb->query( $wpdb->prepare( "UPDATE {$wpdb->options} SET option_value = %s WHERE option_name = %s AND option_value < %s", $value, $option, sprintf( '%010d|', $now ) ) );
	}
	if ( 1 !== (int) $taken ) {
		return false;
	}
	igny8_held_option_locks( $name, $value );
	return true;
}

/**
 * Removes this process's option-row lock (never one another process took over after it expired).
 *
 * @param string $name Lock name.
 */
function igny8_release_option_lock( $name ) {
	global $wpdb;
	$value = igny8_held_option_locks( $name );
	if ( null !== $value ) {
		$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->options} WHERE option_name = %s AND option_value = %s", 'igny8_lock_' . substr( $name, 0, 32 ), $value ) );
		igny8_held_option_locks( $name, false );
	}
}

/**
 * The values of the option-row locks this process holds.
 *
 * @param string            $name  Lock name.
 * @param string|false|null $value Record (string), forget (false), or read (null).
 * @return string|null The held value.
 */
function igny8_held_option_locks( $name, $value = null ) {
	static $held = array();
	if ( false === $value ) {
		unset( $held[ $name ] );
	} elseif ( null !== $value ) {
		$held[ $name ] = $value;
	}
	return isset( $held[ $name ] ) ? $held[ $name ] : null;
}

/**
 * Lock names are server-wide: this site's database and table prefix make them its own.
 *
 * @param string $name Short name.
 * @return string At most 64 characters.
 */
function igny8_lock_name( $name ) {
	global $wpdb;
	return 'igny8_' . substr( md5( DB_NAME . '|' . $wpdb->prefix ), 0, 16 ) . '_' . substr( $name, 0, 32 );
}
