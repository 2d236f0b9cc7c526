<?php
/**
 * The three-way merge of a platform change against the live WordPress object (DESIGN.md §7), field by field:
 * pure functions on flat maps (field path => normalised value), no WordPress calls, so every rule is
 * unit-tested on its own. Which fields are written and what is reported follow the change's policy.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** The policies a change may carry for its conflicting fields. */
const IGNY8_MERGE_POLICIES = array( 'manual', 'merge', 'platform_wins', 'wordpress_wins' );

/**
 * Merges a change into the live object.
 *
 * For each field the change names: WordPress's value already equal to the new one → nothing to do; equal
 * to the base → the new value is written; anything else (a base the change does not carry included) is a
 * conflicting field, handled by the policy:
 * - manual: nothing of the change is written; every conflicting field is reported;
 * - merge: the other fields are written; the conflicting ones are reported;
 * - platform_wins: everything is written; WordPress's values before are reported as overwritten;
 * - wordpress_wins: the conflicting fields are left as they are; the platform's values are reported as dropped.
 *
 * @param array<string, mixed>   $new     Field path => the change's value.
 * @param array<string, mixed>   $base    Field path => the value the edit started from (missing: unknown).
 * @param array<string, mixed>   $current Field path => WordPress's value now.
 * @param string                 $policy  manual|merge|platform_wins|wordpress_wins.
 * @param array<string, array>   $aliases Field path => other values that count as equal to WordPress's
 *                                        (a featured image is also the URL it was downloaded from).
 * @return array{status: string, write: array, conflicts: array, overwritten: array, dropped: array, applied: string[]}
 *         status applied|conflict; write: path => new value to write; conflicts: path => WordPress's value
 *         (conflict only); overwritten: path => WordPress's value replaced; dropped: path => the change's
 *         value not applied; applied: every field that now holds the change's value (written or already equal).
 */
function igny8_merge_change( array $new, array $base, array $current, $policy, array $aliases = array() ) {
	$write       = array();
	$conflicting = array();
	$applied     = array();
	foreach ( $new as $path => $value ) {
		$now   = array_key_exists( $path, $current ) ? $current[ $path ] : null;
		$equal = isset( $aliases[ $path ] ) ? array_merge( array( $now ), $aliases[ $path ] ) : array( $now );
		if ( igny8_merge_among( $value, $equal ) ) {
			$applied[] = $path;
		} elseif ( array_key_exists( $path, $base ) && igny8_merge_among( $base[ $path ], $equal ) ) {
			$write[ $path ] = $value;
			$applied[]      = $path;
		} else {
			$conflicting[ $path ] = $now;
		}
	}

	$outcome = array(
		'status'      => 'applied',
		'write'       => $write,
		'conflicts'   => array(),
		'overwritten' => array(),
		'dropped'     => array(),
		'applied'     => $applied,
	);
	if ( ! $conflicting ) {
		return $outcome;
	}
	switch ( $policy ) {
		case 'platform_wins':
			foreach ( $conflicting as $path => $now ) {
				$outcome['write'][ $path ]       = $new[ $path ];
				$outcome['overwritten'][ $path ] = $now;
				$outcome['applied'][]            = $path;
			}
			$outcome['applied'] = array_values( array_intersect( array_keys( $new ), $outcome['applied'] ) );
			break;
		case 'wordpress_wins':
			foreach ( array_keys( $conflicting ) as $path ) {
				$outcome['dropped'][ $path ] = $new[ $path ];
			}
			break;
		case 'merge':
			$outcome['status']    = 'conflict';
			$outcome['conflicts'] = $conflicting;
			break;
		default: // manual: nothing is written.
			$outcome['status']    = 'conflict';
			$outcome['conflicts'] = $conflicting;
			$outcome['write']     = array();
			$outcome['applied']   = array();
	}
	return $outcome;
}

/**
 * Whether a value equals one of some others (normalised values: strictly, lists in their order).
 *
 * @param mixed $value  Value.
 * @param array $others Values.
 * @return bool
 */
function igny8_merge_among( $value, array $others ) {
	foreach ( $others as $other ) {
		if ( $value === $other ) {
			return true;
		}
	}
	return false;
}

/**
 * A set of terms as compared: term ids as ints, names not (yet) found as strings, without repeats, ids
 * ascending then names in their order.
 *
 * @param array $terms Ids and names.
 * @return array
 */
function igny8_merge_term_set( array $terms ) {
	$ids   = array();
	$names = array();
	foreach ( $terms as $term ) {
		if ( is_int( $term ) ) {
			$ids[ $term ] = $term;
		} elseif ( is_string( $term ) ) {
			$names[ $term ] = $term;
		}
	}
	ksort( $ids );
	return array_merge( array_values( $ids ), array_values( $names ) );
}

/**
 * Robots directives as compared: lowercase, trimmed, without repeats, sorted, joined by ", "; null for none.
 *
 * @param string|null $robots "noindex, nofollow".
 * @return string|null
 */
function igny8_merge_robots( $robots ) {
	if ( ! is_string( $robots ) ) {
		return null;
	}
	$directives = array_filter( array_map( 'trim', explode( ',', strtolower( $robots ) ) ), 'strlen' );
	$directives = array_values( array_unique( $directives ) );
	sort( $directives );
	return $directives ? implode( ', ', $directives ) : null;
}
