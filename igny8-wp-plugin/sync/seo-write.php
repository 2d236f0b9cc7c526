<?php
/**
 * Writing a change's SEO fields into the SEO plugin's own storage, in the form that plugin reads: Yoast's
 * and Rank Math's and SEOPress's post meta, All in One SEO 4's {prefix}aioseo_posts row and the meta it
 * mirrors. The plugin written to is the one the sync reads (includes/content.php), so a written value comes
 * back to IGNY8 as it was set.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Robots directives each SEO plugin's per-post fields can hold (index and follow: the defaults). */
const IGNY8_SEO_ROBOTS_SUPPORTED = array(
	'yoast'    => array( 'index', 'noindex', 'follow', 'nofollow', 'noarchive', 'nosnippet', 'noimageindex' ),
	'rankmath' => array( 'index', 'noindex', 'follow', 'nofollow', 'noarchive', 'nosnippet', 'noimageindex' ),
	'seopress' => array( 'index', 'noindex', 'follow', 'nofollow' ),
	'aioseo'   => array( 'index', 'noindex', 'follow', 'nofollow', 'noarchive', 'nosnippet', 'noimageindex' ),
);

/** Human names of the SEO plugins, for reasons. */
const IGNY8_SEO_PLUGIN_NAMES = array(
	'yoast'    => 'Yoast SEO',
	'rankmath' => 'Rank Math',
	'seopress' => 'SEOPress',
	'aioseo'   => 'All in One SEO',
);

/**
 * A post's SEO fields as the sync reads them (title, description, focus_keyword, canonical, robots, source, raw).
 *
 * @param int $post_id Post id (0: a post not created yet).
 * @return array
 */
function igny8_seo_current( $post_id ) {
	$post_id = (int) $post_id;
	$meta    = $post_id > 0 ? igny8_read_post_meta( array( $post_id ), igny8_watched_meta_keys() ) : array();
	$rows    = $post_id > 0 ? igny8_aioseo_rows( array( $post_id ) ) : array();
	return igny8_seo_fields( isset( $meta[ $post_id ] ) ? $meta[ $post_id ] : array(), isset( $rows[ $post_id ] ) ? $rows[ $post_id ] : null );
}

/**
 * The SEO plugin a post's fields are written to: an active one (the one the sync reads this post's fields
 * from when several are active, else the first); with none active, Yoast's keys, as the contract says (the
 * sync then reads the post's fields from Yoast's keys too, since it prefers them among inactive plugins).
 *
 * @param array $current igny8_seo_current().
 * @return string yoast|rankmath|seopress|aioseo.
 */
function igny8_seo_write_source( array $current ) {
	$active = igny8_active_seo_sources();
	if ( ! $active ) {
		return 'yoast';
	}
	return ! empty( $current['source'] ) && in_array( $current['source'], $active, true ) ? (string) $current['source'] : (string) $active[0];
}

/**
 * Whether the SEO plugin can store these values (checked before anything is written).
 *
 * @param string $source SEO plugin.
 * @param array  $values field => string|null (title, description, focus_keyword, canonical, robots).
 * @return WP_Error|null
 */
function igny8_seo_check( $source, array $values ) {
	if ( isset( $values['robots'] ) ) {
		$unsupported = array_diff( explode( ', ', $values['robots'] ), IGNY8_SEO_ROBOTS_SUPPORTED[ $source ] );
		if ( $unsupported ) {
			return igny8_change_error( 'seo.robots', sprintf( '%s keeps no "%s" directive per post', IGNY8_SEO_PLUGIN_NAMES[ $source ], reset( $unsupported ) ) );
		}
	}
	if ( 'aioseo' === $source && ! in_array( 'post_id', igny8_aioseo_columns(), true ) ) {
		foreach ( array( 'focus_keyword', 'canonical', 'robots' ) as $field ) {
			if ( array_key_exists( $field, $values ) ) {
				return igny8_change_error( 'seo.' . $field, 'All in One SEO\'s table ' . igny8_aioseo_table() . ' is missing' );
			}
		}
	}
	return null;
}

/**
 * Writes SEO values into the plugin's storage (null: back to the plugin's default).
 *
 * @param int    $post_id Post id.
 * @param string $source  SEO plugin.
 * @param array  $values  field => string|null.
 * @param array  $current igny8_seo_current() before the write (its raw values).
 */
function igny8_seo_write( $post_id, $source, array $values, array $current ) {
	if ( ! $values ) {
		return;
	}
	$raw = isset( $current['raw'] ) && is_array( $current['raw'] ) ? $current['raw'] : array();
	switch ( $source ) {
		case 'rankmath':
			$meta = igny8_seo_meta_rankmath( $values, $raw );
			break;
		case 'seopress':
			$meta = igny8_seo_meta_seopress( $values, $raw );
			break;
		case 'aioseo':
			$meta = array();
			foreach ( array( 'title' => '_aioseo_title', 'description' => '_aioseo_description' ) as $field => $key ) {
				if ( array_key_exists( $field, $values ) ) {
					$meta[ $key ] = null === $values[ $field ] ? null : igny8_seo_text( $values[ $field ] );
				}
			}
			igny8_seo_write_aioseo_row( $post_id, $values );
			break;
		default:
			$meta = igny8_seo_meta_yoast( $values );
	}
	foreach ( $meta as $key => $value ) {
		if ( null === $value ) {
			delete_post_meta( $post_id, $key );
		} else {
			update_post_meta( $post_id, $key, wp_slash( $value ) );
		}
	}
}

/**
 * Text as the SEO plugins keep it: no tags, one line, template variables (%%title%%, #post_title) untouched.
 *
 * @param string $text Text.
 * @return string
 */
function igny8_seo_text( $text ) {
	return trim( preg_replace( '/[\r\n\t ]+/', ' ', wp_strip_all_tags( (string) $text ) ) );
}

/**
 * @param string|null $url URL.
 * @return string|null
 */
function igny8_seo_url( $url ) {
	if ( null === $url ) {
		return null;
	}
	$clean = esc_url_raw( $url, array( 'http', 'https' ) );
	return '' === $clean ? null : $clean;
}

/**
 * The directives of a robots value.
 *
 * @param string|null $robots "noindex, nofollow".
 * @return string[]
 */
function igny8_seo_directives( $robots ) {
	return null === $robots ? array() : explode( ', ', (string) igny8_merge_robots( $robots ) );
}

/**
 * A comma-separated keyword list with its first keyword replaced (null: no keywords at all).
 *
 * @param string|null $keyword New first keyword.
 * @param mixed       $list    The stored list.
 * @return string|null
 */
function igny8_seo_keyword_list( $keyword, $list ) {
	if ( null === $keyword ) {
		return null;
	}
	$keywords    = is_string( $list ) && '' !== trim( $list ) ? array_map( 'trim', explode( ',', $list ) ) : array( '' );
	$keywords[0] = str_replace( ',', ' ', igny8_seo_text( $keyword ) );
	return implode( ',', array_filter( $keywords, 'strlen' ) );
}

/**
 * Yoast SEO: _yoast_wpseo_* meta. Robots: meta-robots-noindex 1 = noindex, 2 = index, none = the post type's
 * default; meta-robots-nofollow 1 = nofollow; meta-robots-adv the other directives, comma-separated. Yoast
 * deletes a value that equals its default, and so does this.
 *
 * @param array $values Values.
 * @return array key => value|null.
 */
function igny8_seo_meta_yoast( array $values ) {
	$meta = array();
	foreach ( array( 'title' => '_yoast_wpseo_title', 'description' => '_yoast_wpseo_metadesc', 'focus_keyword' => '_yoast_wpseo_focuskw' ) as $field => $key ) {
		if ( array_key_exists( $field, $values ) ) {
			$meta[ $key ] = null === $values[ $field ] ? null : igny8_seo_text( $values[ $field ] );
		}
	}
	if ( array_key_exists( 'canonical', $values ) ) {
		$meta['_yoast_wpseo_canonical'] = igny8_seo_url( $values['canonical'] );
	}
	if ( array_key_exists( 'robots', $values ) ) {
		$directives = igny8_seo_directives( $values['robots'] );
		$noindex    = null;
		if ( in_array( 'noindex', $directives, true ) ) {
			$noindex = '1';
		} elseif ( in_array( 'index', $directives, true ) ) {
			$noindex = '2';
		}
		$advanced = array_values( array_intersect( array( 'noimageindex', 'noarchive', 'nosnippet' ), $directives ) );

		$meta['_yoast_wpseo_meta-robots-noindex']  = $noindex;
		$meta['_yoast_wpseo_meta-robots-nofollow'] = in_array( 'nofollow', $directives, true ) ? '1' : null;
		$meta['_yoast_wpseo_meta-robots-adv']      = $advanced ? implode( ',', $advanced ) : null;
	}
	return $meta;
}

/**
 * Rank Math: rank_math_* meta; the focus keyword is the first of a comma-separated list (the others are kept);
 * rank_math_robots is an array of directives.
 *
 * @param array $values Values.
 * @param array $raw    Stored values.
 * @return array key => value|null.
 */
function igny8_seo_meta_rankmath( array $values, array $raw ) {
	$meta = array();
	foreach ( array( 'title' => 'rank_math_title', 'description' => 'rank_math_description' ) as $field => $key ) {
		if ( array_key_exists( $field, $values ) ) {
			$meta[ $key ] = null === $values[ $field ] ? null : igny8_seo_text( $values[ $field ] );
		}
	}
	if ( array_key_exists( 'focus_keyword', $values ) ) {
		$meta['rank_math_focus_keyword'] = igny8_seo_keyword_list( $values['focus_keyword'], isset( $raw['rank_math_focus_keyword'] ) ? $raw['rank_math_focus_keyword'] : null );
	}
	if ( array_key_exists( 'canonical', $values ) ) {
		$meta['rank_math_canonical_url'] = igny8_seo_url( $values['canonical'] );
	}
	if ( array_key_exists( 'robots', $values ) ) {
		$directives                = igny8_seo_directives( $values['robots'] );
		$meta['rank_math_robots'] = $directives ? $directives : null;
	}
	return $meta;
}

/**
 * SEOPress: _seopress_* meta; _seopress_robots_index "yes" means noindex, _seopress_robots_follow "yes" nofollow.
 *
 * @param array $values Values.
 * @param array $raw    Stored values.
 * @return array key => value|null.
 */
function igny8_seo_meta_seopress( array $values, array $raw ) {
	$meta = array();
	foreach ( array( 'title' => '_seopress_titles_title', 'description' => '_seopress_titles_desc' ) as $field => $key ) {
		if ( array_key_exists( $field, $values ) ) {
			$meta[ $key ] = null === $values[ $field ] ? null : igny8_seo_text( $values[ $field ] );
		}
	}
	if ( array_key_exists( 'focus_keyword', $values ) ) {
		$meta['_seopress_analysis_target_kw'] = igny8_seo_keyword_list( $values['focus_keyword'], isset( $raw['_seopress_analysis_target_kw'] ) ? $raw['_seopress_analysis_target_kw'] : null );
	}
	if ( array_key_exists( 'canonical', $values ) ) {
		$meta['_seopress_robots_canonical'] = igny8_seo_url( $values['canonical'] );
	}
	if ( array_key_exists( 'robots', $values ) ) {
		$directives                       = igny8_seo_directives( $values['robots'] );
		$meta['_seopress_robots_index']  = in_array( 'noindex', $directives, true ) ? 'yes' : null;
		$meta['_seopress_robots_follow'] = in_array( 'nofollow', $directives, true ) ? 'yes' : null;
	}
	return $meta;
}

/**
 * @return string All in One SEO 4's table.
 */
function igny8_aioseo_table() {
	global $wpdb;
	return $wpdb->prefix . 'aioseo_posts';
}

/**
 * All in One SEO 4: the post's row of {prefix}aioseo_posts (made when missing): title, description, the
 * focus keyphrase inside the keyphrases JSON, canonical_url, and robots (robots_default 1 = the site's
 * defaults, else the robots_* flags). Only the table's existing columns are written.
 *
 * @param int   $post_id Post id.
 * @param array $values  Values.
 */
function igny8_seo_write_aioseo_row( $post_id, array $values ) {
	global $wpdb;
	$columns = igny8_aioseo_columns();
	if ( ! in_array( 'post_id', $columns, true ) ) {
		return;
	}
	$table = igny8_aioseo_table();
	// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table name.
	$row  = $wpdb->get_row( $wpdb->prepare( "SELECT * FROM `$table` WHERE post_id = %d ORDER BY id LIMIT 1", $post_id ), ARRAY_A );
	$data = array();
	foreach ( array( 'title' => 'title', 'description' => 'description' ) as $field => $column ) {
		if ( array_key_exists( $field, $values ) ) {
			$data[ $column ] = null === $values[ $field ] ? null : igny8_seo_text( $values[ $field ] );
		}
	}
	if ( array_key_exists( 'canonical', $values ) ) {
		$data['canonical_url'] = igny8_seo_url( $values['canonical'] );
	}
	if ( array_key_exists( 'focus_keyword', $values ) ) {
		$phrases = is_array( $row ) && isset( $row['keyphrases'] ) ? json_decode( (string) $row['keyphrases'], true ) : null;
		if ( ! is_array( $phrases ) ) {
			$phrases = array(
				'focus'      => array(
					'keyphrase' => '',
					'score'     => 0,
					'analysis'  => array( 'keyphraseInTitle' => array( 'score' => 0, 'maxScore' => 9, 'error' => 1 ) ),
				),
				'additional' => array(),
			);
		}
		if ( ! isset( $phrases['focus'] ) || ! is_array( $phrases['focus'] ) ) {
			$phrases['focus'] = array( 'score' => 0 );
		}
		$phrases['focus']['keyphrase'] = null === $values['focus_keyword'] ? '' : igny8_seo_text( $values['focus_keyword'] );
		$data['keyphrases']            = wp_json_encode( $phrases );
	}
	if ( array_key_exists( 'robots', $values ) ) {
		$directives             = igny8_seo_directives( $values['robots'] );
		$flags                  = array( 'noindex', 'nofollow', 'noarchive', 'nosnippet', 'noimageindex' );
		$custom                 = array_intersect( $flags, $directives );
		$data['robots_default'] = $custom ? 0 : 1;
		foreach ( $flags as $flag ) {
			$data[ 'robots_' . $flag ] = in_array( $flag, $custom, true ) ? 1 : 0;
		}
	}
	$data            = array_intersect_key( $data, array_flip( $columns ) );
	$now             = gmdate( 'Y-m-d H:i:s' );
	$data['updated'] = $now;
	$data            = array_intersect_key( $data, array_flip( $columns ) );
	if ( is_array( $row ) ) {
		$wpdb->update( $table, $data, array( 'id' => (int) $row['id'] ) );
	} else {
		$data['post_id'] = (int) $post_id;
		if ( in_array( 'created', $columns, true ) ) {
			$data['created'] = $now;
		}
		$wpdb->insert( $table, $data );
	}
	// All in One SEO caches a post's row for the request: let it read the new one.
	if ( function_exists( 'aioseo' ) ) {
		$aioseo = aioseo();
		if ( isset( $aioseo->meta->metaData ) && is_object( $aioseo->meta->metaData ) && method_exists( $aioseo->meta->metaData, 'bustPostCache' ) ) {
			$aioseo->meta->metaData->bustPostCache( (int) $post_id );
		}
	}
}
