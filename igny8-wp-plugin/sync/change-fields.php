<?php
/**
 * A change as IGNY8 sends it, read once at the edge: its op, kind, type, object, policy, and its fields
 * checked for type and size and flattened to field paths (`title`, `terms.category`, `seo.title`…). What is
 * wrong is named by its path, and a change with anything wrong is rejected whole before anything is written.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Post fields a change may write. */
const IGNY8_CHANGE_POST_FIELDS = array( 'title', 'content', 'excerpt', 'slug', 'status', 'date_gmt', 'parent', 'menu_order', 'featured_image', 'terms', 'seo' );
/** Term fields a change may write. */
const IGNY8_CHANGE_TERM_FIELDS = array( 'name', 'slug', 'description', 'parent' );
/** Statuses a change may give a post. */
const IGNY8_CHANGE_STATUSES = array( 'draft', 'pending', 'publish', 'future', 'private', 'trash' );
/** SEO fields a change may write. */
const IGNY8_CHANGE_SEO_FIELDS = array( 'title', 'description', 'focus_keyword', 'canonical', 'robots' );
/** Robots directives a change may set. */
const IGNY8_CHANGE_ROBOTS = array( 'index', 'noindex', 'follow', 'nofollow', 'noarchive', 'nosnippet', 'noimageindex' );

/**
 * The id of a change as received, or 0 when it has none (it cannot even be reported then).
 *
 * @param mixed $raw The change.
 * @return int
 */
function igny8_change_id( $raw ) {
	return is_array( $raw ) && isset( $raw['id'] ) && is_int( $raw['id'] ) && $raw['id'] > 0 ? $raw['id'] : 0;
}

/**
 * What tells a change apart on this site: its id and the time it was queued ("41@2025-11-22T10:00:00.123456Z").
 * A platform whose ids started again (a new database) or another platform cannot be mistaken for the one
 * that made a kept outcome or a created object.
 *
 * @param array $raw The change as received.
 * @return string
 */
function igny8_change_marker( array $raw ) {
	$created = isset( $raw['created_at'] ) && is_string( $raw['created_at'] ) && preg_match( '/^[0-9A-Za-z:.+ -]{1,64}$/', $raw['created_at'] ) ? $raw['created_at'] : '';
	return igny8_change_id( $raw ) . ( '' === $created ? '' : '@' . $created );
}

/**
 * Reads a change: {id, marker, seq, op, kind, type, wp_id, policy, fields: path => value, base: path => value}.
 * Unknown keys of the change itself are ignored (newer platforms may add some); an unknown field in
 * `fields` is an error, since leaving it out would report as applied something that was not.
 *
 * @param array $raw The change as decoded from JSON.
 * @return array|WP_Error The change, or why it cannot be applied ("<path>: <why>").
 */
function igny8_parse_change( array $raw ) {
	$op   = isset( $raw['op'] ) ? $raw['op'] : null;
	$kind = isset( $raw['kind'] ) ? $raw['kind'] : 'post';
	if ( ! in_array( $op, array( 'create', 'update', 'trash' ), true ) ) {
		return igny8_change_error( 'op', 'must be create, update or trash' );
	}
	if ( ! in_array( $kind, array( 'post', 'term' ), true ) ) {
		return igny8_change_error( 'kind', 'must be post or term' );
	}
	$type = isset( $raw['type'] ) ? $raw['type'] : null;
	if ( ! is_string( $type ) || ! preg_match( 'post' === $kind ? '/^[a-z0-9_-]{1,20}$/' : '/^[a-z0-9_-]{1,32}$/', $type ) ) {
		return igny8_change_error( 'type', 'must be a post type or taxonomy name' );
	}
	$wp_id = 0;
	if ( 'create' !== $op ) {
		if ( ! isset( $raw['wp_id'] ) || ! is_int( $raw['wp_id'] ) || $raw['wp_id'] <= 0 ) {
			return igny8_change_error( 'wp_id', 'must be a positive integer' );
		}
		$wp_id = $raw['wp_id'];
	}
	$policy = isset( $raw['policy'] ) ? $raw['policy'] : 'manual';
	if ( ! in_array( $policy, IGNY8_MERGE_POLICIES, true ) ) {
		return igny8_change_error( 'policy', 'must be manual, merge, platform_wins or wordpress_wins' );
	}
	$fields = isset( $raw['fields'] ) ? $raw['fields'] : array();
	if ( ! is_array( $fields ) || ( $fields && igny8_is_list( $fields ) ) ) {
		return igny8_change_error( 'fields', 'must be an object' );
	}
	if ( 'trash' === $op ) {
		$fields = array();
	}
	$flat = 'post' === $kind ? igny8_parse_post_fields( $fields ) : igny8_parse_term_fields( $fields );
	if ( is_wp_error( $flat ) ) {
		return $flat;
	}
	if ( 'create' === $op && isset( $flat['status'] ) && 'trash' === $flat['status'] ) {
		return igny8_change_error( 'status', 'a new post cannot be created in the trash' );
	}
	if ( 'create' === $op && 'term' === $kind && ! isset( $flat['name'] ) ) {
		return igny8_change_error( 'name', 'a new term needs a name' );
	}
	$base = isset( $raw['base'] ) && is_array( $raw['base'] ) ? igny8_flatten_base( $raw['base'] ) : array();
	return array(
		'id'     => igny8_change_id( $raw ),
		'marker' => igny8_change_marker( $raw ),
		'seq'    => isset( $raw['seq'] ) && is_int( $raw['seq'] ) ? $raw['seq'] : 0,
		'op'     => $op,
		'kind'   => $kind,
		'type'   => $type,
		'wp_id'  => $wp_id,
		'policy' => $policy,
		'fields' => $flat,
		'base'   => array_intersect_key( $base, $flat ),
	);
}

/**
 * Whether an array is a list (0, 1, 2… keys): array_is_list() before PHP 8.1.
 *
 * @param array $value Array.
 * @return bool
 */
function igny8_is_list( array $value ) {
	return array_keys( $value ) === range( 0, count( $value ) - 1 );
}

/**
 * @param string $path Field path.
 * @param string $why  What is wrong.
 * @return WP_Error
 */
function igny8_change_error( $path, $why ) {
	return new WP_Error( 'igny8_change_invalid', $path . ': ' . $why );
}

/**
 * A post change's fields, checked and flattened.
 *
 * @param array $fields Fields.
 * @return array|WP_Error
 */
function igny8_parse_post_fields( array $fields ) {
	$flat = array();
	foreach ( $fields as $name => $value ) {
		$name = (string) $name;
		switch ( $name ) {
			case 'title':
			case 'excerpt':
				$error = igny8_check_change_string( $name, $value, 65536 );
				break;
			case 'content':
				$error = igny8_check_change_string( $name, $value, IGNY8_MAX_CONTENT_BYTES );
				break;
			case 'slug':
				$error = igny8_check_change_string( $name, $value, 800, 200 );
				break;
			case 'status':
				$error = in_array( $value, IGNY8_CHANGE_STATUSES, true ) ? null : igny8_change_error( $name, 'must be one of ' . implode( ', ', IGNY8_CHANGE_STATUSES ) );
				break;
			case 'date_gmt':
				$error = is_string( $value ) && igny8_is_gmt_date( $value ) ? null : igny8_change_error( $name, 'must be a date, YYYY-MM-DD HH:MM:SS' );
				break;
			case 'parent':
			case 'menu_order':
				$error = is_int( $value ) && $value >= 0 && $value <= 2147483647 ? null : igny8_change_error( $name, 'must be an integer ≥ 0' );
				break;
			case 'featured_image':
				$error = null === $value ? null : igny8_check_change_url( $name, $value );
				break;
			case 'terms':
				$terms = igny8_parse_change_terms( $value );
				if ( is_wp_error( $terms ) ) {
					return $terms;
				}
				$flat += $terms;
				continue 2;
			case 'seo':
				$seo = igny8_parse_change_seo( $value );
				if ( is_wp_error( $seo ) ) {
					return $seo;
				}
				$flat += $seo;
				continue 2;
			default:
				return igny8_change_error( sanitize_key( $name ), 'not a field IGNY8 may write' );
		}
		if ( $error ) {
			return $error;
		}
		$flat[ $name ] = $value;
	}
	return $flat;
}

/**
 * A term change's fields, checked.
 *
 * @param array $fields Fields.
 * @return array|WP_Error
 */
function igny8_parse_term_fields( array $fields ) {
	$flat = array();
	foreach ( $fields as $name => $value ) {
		$name = (string) $name;
		switch ( $name ) {
			case 'name':
				$error = igny8_check_change_string( $name, $value, 800, 200 );
				if ( ! $error && '' === trim( $value ) ) {
					$error = igny8_change_error( $name, 'must not be empty' );
				}
				break;
			case 'slug':
				$error = igny8_check_change_string( $name, $value, 800, 200 );
				break;
			case 'description':
				$error = igny8_check_change_string( $name, $value, 1048576 );
				break;
			case 'parent':
				$error = is_int( $value ) && $value >= 0 ? null : igny8_change_error( $name, 'must be an integer ≥ 0' );
				break;
			default:
				return igny8_change_error( sanitize_key( $name ), 'not a field IGNY8 may write' );
		}
		if ( $error ) {
			return $error;
		}
		$flat[ $name ] = $value;
	}
	return $flat;
}

/**
 * `terms`: taxonomy => list of term ids (integers) or names (strings).
 *
 * @param mixed $value Value.
 * @return array|WP_Error path => list.
 */
function igny8_parse_change_terms( $value ) {
	if ( ! is_array( $value ) || ( $value && igny8_is_list( $value ) ) ) {
		return igny8_change_error( 'terms', 'must be an object of taxonomy => terms' );
	}
	$flat = array();
	foreach ( $value as $taxonomy => $terms ) {
		$taxonomy = (string) $taxonomy;
		if ( ! preg_match( '/^[a-z0-9_-]{1,32}$/', $taxonomy ) ) {
			return igny8_change_error( 'terms', 'not a taxonomy name: ' . sanitize_key( $taxonomy ) );
		}
		$path = 'terms.' . $taxonomy;
		if ( ! is_array( $terms ) || ( $terms && ! igny8_is_list( $terms ) ) || count( $terms ) > 1000 ) {
			return igny8_change_error( $path, 'must be a list of at most 1000 term ids or names' );
		}
		foreach ( $terms as $term ) {
			if ( is_int( $term ) ) {
				if ( $term <= 0 ) {
					return igny8_change_error( $path, 'term ids must be positive' );
				}
				continue;
			}
			$error = igny8_check_change_string( $path, $term, 800, 200 );
			if ( $error ) {
				return $error;
			}
			if ( '' === trim( $term ) ) {
				return igny8_change_error( $path, 'a term name must not be empty' );
			}
		}
		$flat[ $path ] = array_values( $terms );
	}
	return $flat;
}

/**
 * `seo`: any of title, description, focus_keyword, canonical, robots; strings or null.
 *
 * @param mixed $value Value.
 * @return array|WP_Error path => string|null.
 */
function igny8_parse_change_seo( $value ) {
	if ( ! is_array( $value ) || ( $value && igny8_is_list( $value ) ) ) {
		return igny8_change_error( 'seo', 'must be an object' );
	}
	$flat = array();
	foreach ( $value as $field => $text ) {
		$field = (string) $field;
		if ( ! in_array( $field, IGNY8_CHANGE_SEO_FIELDS, true ) ) {
			return igny8_change_error( 'seo.' . sanitize_key( $field ), 'not an SEO field IGNY8 may write' );
		}
		$path = 'seo.' . $field;
		if ( null !== $text ) {
			$error = igny8_check_change_string( $path, $text, 65536 );
			if ( $error ) {
				return $error;
			}
			$text = trim( $text );
		}
		if ( '' === $text ) {
			$text = null; // Empty means: the SEO plugin's default.
		}
		if ( null !== $text && 'canonical' === $field ) {
			$error = igny8_check_change_url( $path, $text );
			if ( $error ) {
				return $error;
			}
		}
		if ( null !== $text && 'robots' === $field ) {
			$text    = igny8_merge_robots( $text );
			$unknown = array_diff( explode( ', ', (string) $text ), IGNY8_CHANGE_ROBOTS );
			if ( $unknown ) {
				return igny8_change_error( $path, 'unknown directive "' . sanitize_text_field( reset( $unknown ) ) . '" (known: ' . implode( ', ', IGNY8_CHANGE_ROBOTS ) . ')' );
			}
			$directives = explode( ', ', (string) $text );
			if ( ! array_diff( array( 'index', 'noindex' ), $directives ) || ! array_diff( array( 'follow', 'nofollow' ), $directives ) ) {
				return igny8_change_error( $path, 'contradicting directives' );
			}
		}
		$flat[ $path ] = $text;
	}
	return $flat;
}

/**
 * The base of a change flattened like its fields; values of an unexpected type are left out (such a field
 * then has no known base, and conflicts unless WordPress already holds the new value).
 *
 * @param array $base Base.
 * @return array
 */
function igny8_flatten_base( array $base ) {
	$flat = array();
	foreach ( $base as $name => $value ) {
		$name = (string) $name;
		if ( 'terms' === $name && is_array( $value ) ) {
			foreach ( $value as $taxonomy => $terms ) {
				if ( is_array( $terms ) ) {
					$flat[ 'terms.' . $taxonomy ] = array_values(
						array_filter(
							$terms,
							static function ( $term ) {
								return is_int( $term ) || is_string( $term );
							}
						)
					);
				}
			}
		} elseif ( 'seo' === $name && is_array( $value ) ) {
			foreach ( $value as $field => $text ) {
				if ( null === $text || is_string( $text ) ) {
					$text                   = is_string( $text ) && '' !== trim( $text ) ? $text : null;
					$flat[ 'seo.' . $field ] = 'robots' === $field ? igny8_merge_robots( $text ) : $text;
				}
			}
		} elseif ( is_string( $value ) || is_int( $value ) || null === $value ) {
			$flat[ $name ] = $value;
		}
	}
	return $flat;
}

/**
 * A string field: a string, valid UTF-8, no NUL, at most $max_bytes bytes (and $max_chars characters).
 *
 * @param string   $path      Field path.
 * @param mixed    $value     Value.
 * @param int      $max_bytes Bytes.
 * @param int|null $max_chars Characters.
 * @return WP_Error|null
 */
function igny8_check_change_string( $path, $value, $max_bytes, $max_chars = null ) {
	if ( ! is_string( $value ) ) {
		return igny8_change_error( $path, 'must be a string' );
	}
	if ( strlen( $value ) > $max_bytes ) {
		return igny8_change_error( $path, sprintf( 'longer than %d bytes', $max_bytes ) );
	}
	if ( 1 !== preg_match( '//u', $value ) ) {
		return igny8_change_error( $path, 'not valid UTF-8' );
	}
	if ( false !== strpos( $value, "\0" ) ) {
		return igny8_change_error( $path, 'must not contain NUL' );
	}
	if ( null !== $max_chars && mb_strlen( $value, 'UTF-8' ) > $max_chars ) {
		return igny8_change_error( $path, sprintf( 'longer than %d characters', $max_chars ) );
	}
	return null;
}

/**
 * An http(s) URL with a host, at most 2048 bytes.
 *
 * @param string $path  Field path.
 * @param mixed  $value Value.
 * @return WP_Error|null
 */
function igny8_check_change_url( $path, $value ) {
	$error = igny8_check_change_string( $path, $value, 2048 );
	if ( $error ) {
		return $error;
	}
	$parts = wp_parse_url( $value );
	if ( ! is_array( $parts ) || empty( $parts['host'] ) || ! isset( $parts['scheme'] ) || ! in_array( strtolower( $parts['scheme'] ), array( 'http', 'https' ), true ) || preg_match( '/[\s<>"\'`\\\\]/', $value ) ) {
		return igny8_change_error( $path, 'must be an http(s) URL' );
	}
	return null;
}

/**
 * Whether a string is a real date and time in WordPress's format (YYYY-MM-DD HH:MM:SS).
 *
 * @param string $value Value.
 * @return bool
 */
function igny8_is_gmt_date( $value ) {
	if ( ! preg_match( '/^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/', $value, $m ) ) {
		return false;
	}
	return wp_checkdate( (int) $m[2], (int) $m[3], (int) $m[1], $value ) && (int) $m[1] >= 1000 && (int) $m[4] < 24 && (int) $m[5] < 60 && (int) $m[6] < 60;
}
