<?php
/**
 * What content sync sends: which post types and taxonomies (enabled in the platform), and each item as
 * docs/sync-protocol.md describes it (posts with terms, featured image and SEO fields; terms with their
 * hierarchy), read in bulk: a batch of posts costs a fixed handful of queries whatever its size.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Post content above this many bytes is sent cut, with "content_truncated": true (protocol limit). */
const IGNY8_MAX_CONTENT_BYTES = 4194304;

/** A full sync reads a post's row with its sizes when its content, title and excerpt total at most this. */
const IGNY8_INLINE_POST_BYTES = 8192;

/** Statuses that are never synced: unsaved editor stubs and revisions/attachments. */
const IGNY8_UNSYNCED_STATUSES = array( 'auto-draft', 'inherit' );

/* ------------------------------------------------------------------------------------------------------
 * What is synced
 * --------------------------------------------------------------------------------------------------- */

/**
 * The post types and taxonomies whose content is synced: those enabled in the platform's effective
 * settings (stored from the last update-structure answer) among those this site reports (public, not
 * excluded: igny8_reportable_types()). A platform answer enabling anything else (user requests,
 * changesets, a shop's orders) changes nothing; only the site's own igny8_sync_* filters can add a type.
 *
 * @return array{post_types: array<string, int>, taxonomies: array<string, int>} name => fetch_limit.
 */
function igny8_sync_types() {
	$effective  = igny8_get_effective_settings();
	$reportable = igny8_reportable_types();
	$enabled    = array(
		'post_types' => array(),
		'taxonomies' => array(),
	);
	foreach ( $effective['post_types'] as $name => $entry ) {
		if ( ! empty( $entry['enabled'] ) && isset( $reportable['post_types'][ $name ] ) ) {
			$enabled['post_types'][ $name ] = isset( $entry['fetch_limit'] ) ? max( 1, (int) $entry['fetch_limit'] ) : 100;
		}
	}
	foreach ( $effective['taxonomies'] as $name => $entry ) {
		if ( ! empty( $entry['enabled'] ) && isset( $reportable['taxonomies'][ $name ] ) ) {
			$enabled['taxonomies'][ $name ] = isset( $entry['fetch_limit'] ) ? max( 1, (int) $entry['fetch_limit'] ) : 100;
		}
	}
	/**
	 * Post types whose items are synced, name => fetch_limit (the N most recently modified items are sent).
	 * Default: the types enabled in IGNY8. Remove one to keep its items on this site only.
	 *
	 * @param array<string, int> $post_types Post types.
	 */
	$post_types = (array) apply_filters( 'igny8_sync_post_types', $enabled['post_types'] );
	/**
	 * Taxonomies whose terms are synced, name => fetch_limit. All terms of a synced taxonomy are sent,
	 * whatever the limit, so that the hierarchy is complete (parents no synced post uses included).
	 *
	 * @param array<string, int> $taxonomies Taxonomies.
	 */
	$taxonomies = (array) apply_filters( 'igny8_sync_taxonomies', $enabled['taxonomies'] );

	$out = array(
		'post_types' => array(),
		'taxonomies' => array(),
	);
	foreach ( $post_types as $name => $limit ) {
		if ( is_string( $name ) && preg_match( '/^[a-z0-9_-]{1,20}$/', $name ) && ! in_array( $name, array( 'revision', 'attachment' ), true ) ) {
			$out['post_types'][ $name ] = max( 1, (int) $limit );
		}
	}
	foreach ( $taxonomies as $name => $limit ) {
		if ( is_string( $name ) && preg_match( '/^[a-z0-9_-]{1,32}$/', $name ) ) {
			$out['taxonomies'][ $name ] = max( 1, (int) $limit );
		}
	}
	return $out;
}

/**
 * @param string $post_type Post type.
 * @return bool Whether items of this post type are synced.
 */
function igny8_is_synced_post_type( $post_type ) {
	$types = igny8_sync_types();
	return isset( $types['post_types'][ (string) $post_type ] );
}

/**
 * @param string $taxonomy Taxonomy.
 * @return bool Whether terms of this taxonomy are synced.
 */
function igny8_is_synced_taxonomy( $taxonomy ) {
	$types = igny8_sync_types();
	return isset( $types['taxonomies'][ (string) $taxonomy ] );
}

/**
 * The SQL condition every synced post meets (besides its type): not an editor stub, not a revision.
 *
 * @param string $alias Table alias or name of wp_posts in the query.
 * @return string
 */
function igny8_synced_status_sql( $alias ) {
	return "$alias.post_status NOT IN ('" . implode( "', '", IGNY8_UNSYNCED_STATUSES ) . "')";
}

/**
 * The fetch limit's cut-off for a post type: `post_modified_gmt` of its N-th most recently modified
 * item, or null when it has no more than N items (everything is synced).
 *
 * @param string $post_type Post type.
 * @param int    $limit     fetch_limit.
 * @return string|null
 */
function igny8_post_type_cutoff( $post_type, $limit ) {
	global $wpdb;
	$status = igny8_synced_status_sql( 'p' );
	// A type with no more items than its limit has no cut-off: counting is cheaper than sorting them all.
	// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- $status is a constant list.
	if ( (int) $wpdb->get_var( $wpdb->prepare( "SELECT COUNT(*) FROM {$wpdb->posts} p WHERE p.post_type = %s AND $status", $post_type ) ) <= (int) $limit ) {
		return null;
	}
	// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- $status is a constant list.
	$cutoff = $wpdb->get_var( $wpdb->prepare( "SELECT p.post_modified_gmt FROM {$wpdb->posts} p WHERE p.post_type = %s AND $status ORDER BY p.post_modified_gmt DESC LIMIT 1 OFFSET %d", $post_type, max( 0, (int) $limit - 1 ) ) );
	if ( null === $cutoff ) {
		return null;
	}
	// No older item exists: the limit cuts nothing off.
	// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- $status is a constant list.
	$older = $wpdb->get_var( $wpdb->prepare( "SELECT 1 FROM {$wpdb->posts} p WHERE p.post_type = %s AND $status AND p.post_modified_gmt < %s LIMIT 1", $post_type, $cutoff ) );
	return null === $older ? null : (string) $cutoff;
}

/**
 * The SQL condition selecting the synced items of a post type (status, and the fetch limit's cut-off).
 *
 * @param string      $alias     Alias of wp_posts.
 * @param string      $post_type Post type.
 * @param string|null $cutoff    From igny8_post_type_cutoff().
 * @return string Prepared SQL.
 */
function igny8_synced_posts_where( $alias, $post_type, $cutoff ) {
	global $wpdb;
	$where = $wpdb->prepare( "$alias.post_type = %s AND ", $post_type ) . igny8_synced_status_sql( $alias ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	if ( null !== $cutoff ) {
		$where .= $wpdb->prepare( " AND $alias.post_modified_gmt >= %s", $cutoff ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
	}
	return $where;
}

/* ------------------------------------------------------------------------------------------------------
 * SEO fields
 * --------------------------------------------------------------------------------------------------- */

/**
 * The post meta keys each SEO plugin keeps its per-post fields in (All in One SEO 4 keeps them in its own
 * table, and mirrors title and description in these keys).
 *
 * @return array<string, string[]> source => meta keys.
 */
function igny8_seo_meta_keys() {
	static $keys = null;
	if ( null !== $keys ) {
		return $keys;
	}
	$keys = array(
		'yoast'    => array( '_yoast_wpseo_title', '_yoast_wpseo_metadesc', '_yoast_wpseo_focuskw', '_yoast_wpseo_canonical', '_yoast_wpseo_meta-robots-noindex', '_yoast_wpseo_meta-robots-nofollow', '_yoast_wpseo_meta-robots-adv' ),
		'rankmath' => array( 'rank_math_title', 'rank_math_description', 'rank_math_focus_keyword', 'rank_math_canonical_url', 'rank_math_robots' ),
		'seopress' => array( '_seopress_titles_title', '_seopress_titles_desc', '_seopress_analysis_target_kw', '_seopress_robots_canonical', '_seopress_robots_index', '_seopress_robots_follow' ),
		'aioseo'   => array( '_aioseo_title', '_aioseo_description', '_aioseo_keywords' ),
	);
	return $keys;
}

/**
 * Extra post meta sent in each item's `meta` (default none).
 *
 * @return string[]
 */
function igny8_sync_meta_keys() {
	/**
	 * Post meta keys whose values are sent with each item, in data.meta. Changes to them are synced too.
	 *
	 * @param string[] $keys Meta keys. Default: none.
	 */
	$keys = (array) apply_filters( 'igny8_sync_meta_keys', array() );
	return array_values( array_unique( array_filter( array_map( 'strval', $keys ), 'strlen' ) ) );
}

/**
 * Every meta key whose change changes a synced item: the SEO plugins', the featured image, the extra keys.
 *
 * @return string[]
 */
function igny8_watched_meta_keys() {
	$keys = array( '_thumbnail_id' );
	foreach ( igny8_seo_meta_keys() as $source_keys ) {
		$keys = array_merge( $keys, $source_keys );
	}
	return array_values( array_unique( array_merge( $keys, igny8_sync_meta_keys() ) ) );
}

/**
 * The SEO plugins active on this site, in order of preference (plugins are loaded before anything is
 * synced, so they are detected once per request; filter igny8_active_seo_sources).
 *
 * @return string[]
 */
function igny8_active_seo_sources() {
	static $detected = null;
	if ( null === $detected ) {
		$detected = igny8_detect_seo_sources();
	}
	/**
	 * The SEO plugins whose per-post fields are read and written, in order of preference.
	 *
	 * @param string[] $active yoast|rankmath|seopress|aioseo, as detected.
	 */
	return array_values( array_intersect( (array) apply_filters( 'igny8_active_seo_sources', $detected ), array( 'yoast', 'rankmath', 'seopress', 'aioseo' ) ) );
}

/**
 * The SEO plugins loaded in this request.
 *
 * @return string[]
 */
function igny8_detect_seo_sources() {
	$active = array();
	if ( defined( 'WPSEO_VERSION' ) ) {
		$active[] = 'yoast';
	}
	if ( defined( 'RANK_MATH_VERSION' ) || class_exists( 'RankMath', false ) ) {
		$active[] = 'rankmath';
	}
	if ( defined( 'SEOPRESS_VERSION' ) ) {
		$active[] = 'seopress';
	}
	if ( defined( 'AIOSEO_VERSION' ) || function_exists( 'aioseo' ) ) {
		$active[] = 'aioseo';
	}
	return $active;
}

/**
 * Columns of All in One SEO 4's table {prefix}aioseo_posts, or an empty list when the table does not exist
 * (checked once per request, quietly: most sites do not have it).
 *
 * @param bool $reset Forget the remembered answer (tests, or after the table was created).
 * @return string[]
 */
function igny8_aioseo_columns( $reset = false ) {
	global $wpdb;
	static $columns = null;
	if ( $reset ) {
		$columns = null;
	}
	if ( null === $columns ) {
		$table      = $wpdb->prefix . 'aioseo_posts';
		$suppressed = $wpdb->suppress_errors( true );
		// SHOW COLUMNS answers an error for a missing table (and, unlike SHOW TABLES, sees temporary tables).
		$found = $wpdb->get_col( 'SHOW COLUMNS FROM `' . esc_sql( $table ) . '`' ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared
		$wpdb->suppress_errors( $suppressed );
		$columns = is_array( $found ) ? $found : array();
	}
	return $columns;
}

/**
 * The columns of All in One SEO 4's table the plugin reads (post_id first), or none when the table or its
 * post_id column does not exist.
 *
 * @return string[]
 */
function igny8_aioseo_read_columns() {
	$columns = igny8_aioseo_columns();
	if ( ! in_array( 'post_id', $columns, true ) ) {
		return array();
	}
	return array_values( array_intersect( array( 'post_id', 'title', 'description', 'keyphrases', 'canonical_url', 'robots_default', 'robots_noindex', 'robots_nofollow', 'robots_noarchive', 'robots_nosnippet', 'robots_noimageindex' ), $columns ) );
}

/**
 * All in One SEO 4 rows for some posts, in one query; empty when the plugin's table does not exist.
 *
 * @param int[] $ids Post ids.
 * @return array<int, array> post id => row.
 */
function igny8_aioseo_rows( array $ids ) {
	global $wpdb;
	$wanted = igny8_aioseo_read_columns();
	if ( ! $ids || ! $wanted ) {
		return array();
	}
	$table = $wpdb->prefix . 'aioseo_posts';
	$sql   = 'SELECT `' . implode( '`, `', $wanted ) . '` FROM `' . esc_sql( $table ) . '` WHERE post_id IN (' . implode( ',', array_map( 'intval', $ids ) ) . ')';
	$rows  = $wpdb->get_results( $sql, ARRAY_A ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- columns from a fixed list, ids are ints.
	$out   = array();
	foreach ( (array) $rows as $row ) {
		$out[ (int) $row['post_id'] ] = $row;
	}
	return $out;
}

/**
 * One post's SEO fields, normalised: title, description, focus_keyword, canonical, robots (directives
 * that differ from the default, e.g. "noindex, nofollow"), the source plugin, and the raw values as the
 * plugin stores them. Titles and descriptions are kept raw: template variables such as
 * `%title% %sep% %sitename%` (Yoast) or `#post_title` (AIOSEO) are not expanded.
 *
 * When an SEO plugin is active, only its fields count (others may be leftovers of an earlier plugin);
 * otherwise the first source with any value, in the order Yoast, Rank Math, SEOPress, All in One SEO.
 *
 * @param array      $meta   meta key => value for the post (SEO keys at least).
 * @param array|null $aioseo The post's row of {prefix}aioseo_posts, if any.
 * @return array
 */
function igny8_seo_fields( array $meta, $aioseo = null ) {
	$active     = igny8_active_seo_sources();
	$candidates = $active ? $active : array( 'yoast', 'rankmath', 'seopress', 'aioseo' );
	foreach ( $candidates as $source ) {
		$fields = igny8_seo_fields_of( $source, $meta, $aioseo );
		if ( null !== $fields ) {
			return $fields;
		}
	}
	return array(
		'title'         => null,
		'description'   => null,
		'focus_keyword' => null,
		'canonical'     => null,
		'robots'        => null,
		'source'        => null,
		'raw'           => array(),
	);
}

/**
 * One source's fields for a post, or null when the post has none of them.
 *
 * @param string     $source yoast|rankmath|seopress|aioseo.
 * @param array      $meta   Post meta.
 * @param array|null $aioseo AIOSEO row.
 * @return array|null
 */
function igny8_seo_fields_of( $source, array $meta, $aioseo ) {
	$keys = igny8_seo_meta_keys();
	$raw  = array();
	foreach ( $keys[ $source ] as $key ) {
		if ( isset( $meta[ $key ] ) && '' !== $meta[ $key ] && array() !== $meta[ $key ] ) {
			$raw[ $key ] = $meta[ $key ];
		}
	}
	if ( 'aioseo' === $source && is_array( $aioseo ) ) {
		foreach ( $aioseo as $column => $value ) {
			if ( 'post_id' !== $column && null !== $value && '' !== $value ) {
				$raw[ 'aioseo_posts.' . $column ] = $value;
			}
		}
	}
	if ( ! $raw ) {
		return null;
	}
	$robots = array();

	switch ( $source ) {
		case 'yoast':
			$title       = igny8_seo_value( $raw, '_yoast_wpseo_title' );
			$description = igny8_seo_value( $raw, '_yoast_wpseo_metadesc' );
			$keyword     = igny8_seo_value( $raw, '_yoast_wpseo_focuskw' );
			$canonical   = igny8_seo_value( $raw, '_yoast_wpseo_canonical' );
			$noindex     = igny8_seo_value( $raw, '_yoast_wpseo_meta-robots-noindex' ); // 1 = noindex, 2 = index, 0/empty = the type's default.
			if ( '1' === $noindex ) {
				$robots[] = 'noindex';
			} elseif ( '2' === $noindex ) {
				$robots[] = 'index';
			}
			if ( '1' === igny8_seo_value( $raw, '_yoast_wpseo_meta-robots-nofollow' ) ) {
				$robots[] = 'nofollow';
			}
			foreach ( explode( ',', (string) igny8_seo_value( $raw, '_yoast_wpseo_meta-robots-adv' ) ) as $directive ) {
				$directive = trim( $directive );
				if ( '' !== $directive && '-' !== $directive && 'none' !== $directive ) {
					$robots[] = $directive;
				}
			}
			break;
		case 'rankmath':
			$title       = igny8_seo_value( $raw, 'rank_math_title' );
			$description = igny8_seo_value( $raw, 'rank_math_description' );
			$keyword     = igny8_first_of_list( igny8_seo_value( $raw, 'rank_math_focus_keyword' ) ); // "primary,secondary,…".
			$canonical   = igny8_seo_value( $raw, 'rank_math_canonical_url' );
			$directives  = isset( $raw['rank_math_robots'] ) ? $raw['rank_math_robots'] : array();
			foreach ( is_array( $directives ) ? $directives : explode( ',', (string) $directives ) as $directive ) {
				if ( is_scalar( $directive ) && '' !== trim( (string) $directive ) ) {
					$robots[] = trim( (string) $directive );
				}
			}
			break;
		case 'seopress':
			$title       = igny8_seo_value( $raw, '_seopress_titles_title' );
			$description = igny8_seo_value( $raw, '_seopress_titles_desc' );
			$keyword     = igny8_first_of_list( igny8_seo_value( $raw, '_seopress_analysis_target_kw' ) );
			$canonical   = igny8_seo_value( $raw, '_seopress_robots_canonical' );
			if ( 'yes' === igny8_seo_value( $raw, '_seopress_robots_index' ) ) { // "yes" means: do not index.
				$robots[] = 'noindex';
			}
			if ( 'yes' === igny8_seo_value( $raw, '_seopress_robots_follow' ) ) {
				$robots[] = 'nofollow';
			}
			break;
		default: // aioseo.
			$title       = null !== igny8_seo_value( $raw, 'aioseo_posts.title' ) ? igny8_seo_value( $raw, 'aioseo_posts.title' ) : igny8_seo_value( $raw, '_aioseo_title' );
			$description = null !== igny8_seo_value( $raw, 'aioseo_posts.description' ) ? igny8_seo_value( $raw, 'aioseo_posts.description' ) : igny8_seo_value( $raw, '_aioseo_description' );
			$keyword     = null;
			$phrases     = igny8_seo_value( $raw, 'aioseo_posts.keyphrases' );
			if ( null !== $phrases ) {
				$decoded = json_decode( $phrases, true );
				if ( is_array( $decoded ) && isset( $decoded['focus']['keyphrase'] ) && is_string( $decoded['focus']['keyphrase'] ) && '' !== trim( $decoded['focus']['keyphrase'] ) ) {
					$keyword = trim( $decoded['focus']['keyphrase'] );
				}
			}
			if ( null === $keyword ) {
				$keyword = igny8_first_of_list( igny8_seo_value( $raw, '_aioseo_keywords' ) );
			}
			$canonical = igny8_seo_value( $raw, 'aioseo_posts.canonical_url' );
			if ( is_array( $aioseo ) && isset( $aioseo['robots_default'] ) && '0' === (string) $aioseo['robots_default'] ) {
				foreach ( array( 'noindex', 'nofollow', 'noarchive', 'nosnippet', 'noimageindex' ) as $directive ) {
					if ( isset( $aioseo[ 'robots_' . $directive ] ) && '1' === (string) $aioseo[ 'robots_' . $directive ] ) {
						$robots[] = $directive;
					}
				}
			}
	}

	return array(
		'title'         => $title,
		'description'   => $description,
		'focus_keyword' => $keyword,
		'canonical'     => $canonical,
		'robots'        => $robots ? implode( ', ', array_unique( $robots ) ) : null,
		'source'        => $source,
		'raw'           => $raw,
	);
}

/**
 * A stored SEO value as a non-blank string, or null.
 *
 * @param array  $raw Raw values.
 * @param string $key Key.
 * @return string|null
 */
function igny8_seo_value( array $raw, $key ) {
	return isset( $raw[ $key ] ) && is_scalar( $raw[ $key ] ) && '' !== trim( (string) $raw[ $key ] ) ? (string) $raw[ $key ] : null;
}

/**
 * The first entry of a comma-separated list ("primary,secondary,…"), or null.
 *
 * @param string|null $value List.
 * @return string|null
 */
function igny8_first_of_list( $value ) {
	if ( null === $value ) {
		return null;
	}
	$first = trim( explode( ',', $value )[0] );
	return '' === $first ? null : $first;
}

/* ------------------------------------------------------------------------------------------------------
 * Items, read in bulk
 * --------------------------------------------------------------------------------------------------- */

/* ------------------------------------------------------------------------------------------------------
 * Integrity checksums (docs/sync-protocol.md, "Integrity"): one SQL expression per kind, used for the items
 * a batch sends and for verification's sums, so both sides of a comparison are the same definition.
 * --------------------------------------------------------------------------------------------------- */

/**
 * SQL of a post's checksum: CRC-32 over every field the platform keeps of it (the row's synced columns,
 * every value of the watched meta keys, its term assignments, its All in One SEO row), for the wp_posts
 * row aliased $alias. Meta and terms are sums of CRC-32s, so their row order does not matter.
 *
 * @param string $alias Alias of wp_posts in the query.
 * @return string
 */
function igny8_post_checksum_sql( $alias = 'p' ) {
	global $wpdb;
	$keys  = igny8_watched_meta_keys();
	$p     = $alias;
	$parts = array(
		"$p.ID",
		"$p.post_modified_gmt",
		"$p.post_status",
		"$p.post_name",
		"$p.post_parent",
		"$p.menu_order",
		"$p.post_author",
		"$p.post_date_gmt",
		"CRC32($p.post_title)",
		"CRC32($p.post_content)",
		"CRC32($p.post_excerpt)",
		// phpcs:ignore WordPress.DB.PreparedSQLPlaceholders.UnfinishedPrepare -- one %s per key.
		"(SELECT COALESCE(SUM(CRC32(CONCAT_WS('=', m.meta_key, m.meta_value))), 0) FROM {$wpdb->postmeta} m WHERE m.post_id = $p.ID AND m.meta_key IN (" . $wpdb->prepare( implode( ', ', array_fill( 0, count( $keys ), '%s' ) ), $keys ) . '))',
		"(SELECT COALESCE(SUM(CRC32(tr.term_taxonomy_id)), 0) FROM {$wpdb->term_relationships} tr WHERE tr.object_id = $p.ID)",
	);
	$aioseo = array_slice( igny8_aioseo_read_columns(), 1 );
	if ( $aioseo ) {
		$parts[] = "COALESCE((SELECT CRC32(CONCAT_WS('#', a.`" . implode( '`, a.`', $aioseo ) . '`)) FROM `' . esc_sql( $wpdb->prefix . 'aioseo_posts' ) . "` a WHERE a.post_id = $p.ID LIMIT 1), 0)";
	}
	return "CRC32(CONCAT_WS('#', " . implode( ', ', $parts ) . '))';
}

/**
 * SQL of a term's checksum (id, parent, slug, name, description), for wp_terms aliased t and
 * wp_term_taxonomy aliased tt.
 *
 * @return string
 */
function igny8_term_checksum_sql() {
	return "CRC32(CONCAT_WS('#', t.term_id, tt.parent, t.slug, CRC32(t.name), CRC32(tt.description)))";
}

/**
 * Takes the checksum and read time a query selected beside an object's row (igny8_checksum, igny8_read_at)
 * off the row and puts them on its item.
 *
 * @param array  $item Item.
 * @param object $row  Row, changed in place.
 * @return array The item.
 */
function igny8_stamp_item( array $item, $row ) {
	if ( isset( $row->igny8_checksum ) ) {
		$item['checksum'] = (int) $row->igny8_checksum;
	}
	if ( isset( $row->igny8_read_at ) ) {
		$item['read_at'] = (string) $row->igny8_read_at;
	}
	return $item;
}

/**
 * Columns selecting an object's checksum and the database's time with the row that is read: what is sent
 * is never newer than the checksum it carries, and the read time orders versions of one second.
 *
 * @param string $kind post|term.
 * @return string
 */
function igny8_stamp_columns_sql( $kind ) {
	global $wpdb;
	$checksum = 'term' === $kind ? igny8_term_checksum_sql() : igny8_post_checksum_sql( 'p' );
	// Fractional seconds since MySQL 5.6.4 and MariaDB 5.3 (which older clients report as "5.5.5-10.…");
	// WordPress still runs on MySQL 5.5.5.
	$micro = false !== stripos( (string) $wpdb->db_server_info(), 'mariadb' ) || version_compare( (string) $wpdb->db_version(), '5.6.4', '>=' );
	$now   = $micro ? 'UTC_TIMESTAMP(6)' : 'UTC_TIMESTAMP()';
	return "$checksum AS igny8_checksum, $now AS igny8_read_at";
}

/**
 * The wp_posts columns items are built from (not post_content_filtered, to_ping, pinged: large, unused).
 *
 * @return string
 */
function igny8_post_columns_sql() {
	return 'ID, post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, comment_status, ping_status, post_password, post_name, post_modified, post_modified_gmt, post_parent, guid, menu_order, post_type, post_mime_type, comment_count';
}

/**
 * Rows of wp_posts for some ids, in one query, in the order of $ids, each with its checksum and read time.
 *
 * @param int[] $ids Post ids.
 * @return object[] id => row.
 */
function igny8_load_post_rows( array $ids ) {
	global $wpdb;
	$ids = array_values( array_unique( array_map( 'intval', $ids ) ) );
	if ( ! $ids ) {
		return array();
	}
	$columns = 'p.' . str_replace( ', ', ', p.', igny8_post_columns_sql() );
	$rows    = $wpdb->get_results( "SELECT $columns, " . igny8_stamp_columns_sql( 'post' ) . " FROM {$wpdb->posts} p WHERE p.ID IN (" . implode( ',', $ids ) . ')' ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- ints and built SQL.
	$by   = array();
	foreach ( (array) $rows as $row ) {
		$by[ (int) $row->ID ] = $row;
	}
	$out = array();
	foreach ( $ids as $id ) {
		if ( isset( $by[ $id ] ) ) {
			$out[ $id ] = $by[ $id ];
		}
	}
	return $out;
}

/**
 * Selected post meta of many posts in one query: post id => [key => value] (the first value of each key,
 * unserialised as get_post_meta() would).
 *
 * @param int[]    $ids  Post ids.
 * @param string[] $keys Meta keys.
 * @return array<int, array<string, mixed>>
 */
function igny8_read_post_meta( array $ids, array $keys ) {
	global $wpdb;
	if ( ! $ids || ! $keys ) {
		return array();
	}
	$placeholders = implode( ', ', array_fill( 0, count( $keys ), '%s' ) );
	list( $id_sql, $wanted ) = igny8_ids_sql( 'post_id', $ids );
	// In the post_id index's own order (post_id, then meta_id): the first value of each key per post, as
	// get_post_meta() gives it, without a sort.
	// phpcs:ignore WordPress.DB.PreparedSQLPlaceholders.UnfinishedPrepare,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- placeholders built above, ids are ints.
	$rows = $wpdb->get_results( $wpdb->prepare( "SELECT post_id, meta_key, meta_value FROM {$wpdb->postmeta} WHERE $id_sql AND meta_key IN ($placeholders) ORDER BY post_id, meta_id", array_values( $keys ) ) );
	$out  = array();
	foreach ( (array) $rows as $row ) {
		$id = (int) $row->post_id;
		if ( isset( $wanted[ $id ] ) && ! isset( $out[ $id ][ $row->meta_key ] ) ) {
			$out[ $id ][ $row->meta_key ] = maybe_unserialize( $row->meta_value );
		}
	}
	return $out;
}

/**
 * Term ids per post and taxonomy for many posts, in one query, and the same relationships put in
 * WordPress's term cache so that permalinks using terms (%category%) cost no query per post.
 *
 * @param object[] $rows Post rows.
 * @return array<int, array<string, int[]>> post id => taxonomy => term ids.
 */
function igny8_read_post_terms( array $rows ) {
	global $wpdb;
	$taxonomies = array();
	foreach ( igny8_rows_by_type( $rows ) as $type => $ids ) {
		foreach ( get_object_taxonomies( $type ) as $taxonomy ) {
			$taxonomies[ $taxonomy ] = true;
		}
	}
	$out = array();
	if ( ! $rows || ! $taxonomies ) {
		return $out;
	}
	$placeholders            = implode( ', ', array_fill( 0, count( $taxonomies ), '%s' ) );
	list( $id_sql, $wanted ) = igny8_ids_sql( 'tr.object_id', array_keys( $rows ) );
	// STRAIGHT_JOIN: from the batch's relationships to their terms. Left to itself MariaDB starts from the
	// taxonomies' terms and reads every relationship of every term (all posts) for each batch.
	// phpcs:ignore WordPress.DB.PreparedSQLPlaceholders.UnfinishedPrepare,WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- placeholders built above, ids are ints.
	$links = $wpdb->get_results( $wpdb->prepare( "SELECT STRAIGHT_JOIN tr.object_id, tt.taxonomy, tt.term_id FROM {$wpdb->term_relationships} tr INNER JOIN {$wpdb->term_taxonomy} tt ON tt.term_taxonomy_id = tr.term_taxonomy_id WHERE $id_sql AND tt.taxonomy IN ($placeholders) ORDER BY tr.object_id, tt.term_id", array_keys( $taxonomies ) ) );
	foreach ( (array) $links as $link ) {
		if ( isset( $wanted[ (int) $link->object_id ] ) ) {
			$out[ (int) $link->object_id ][ $link->taxonomy ][] = (int) $link->term_id;
		}
	}
	return $out;
}

/**
 * A condition selecting rows of some object ids: the id range when the ids fill most of it (a full sync's
 * batch: MariaDB walks a range faster than it looks up 500 values; rows of other ids in it are dropped by
 * the caller), else an IN list.
 *
 * @param string $column Column (ints).
 * @param int[]  $ids    Ids.
 * @return array [SQL, id => true for the ids asked].
 */
function igny8_ids_sql( $column, array $ids ) {
	$ids    = array_map( 'intval', $ids );
	$wanted = array_fill_keys( $ids, true );
	$min    = min( $ids );
	$max    = max( $ids );
	if ( count( $ids ) >= 16 && $max - $min + 1 <= 2 * count( $wanted ) ) {
		return array( sprintf( '%s BETWEEN %d AND %d', $column, $min, $max ), $wanted );
	}
	return array( $column . ' IN (' . implode( ',', array_keys( $wanted ) ) . ')', $wanted );
}

/**
 * Post ids grouped by post type.
 *
 * @param object[] $rows Post rows by id.
 * @return array<string, int[]>
 */
function igny8_rows_by_type( array $rows ) {
	$out = array();
	foreach ( $rows as $id => $row ) {
		$out[ $row->post_type ][] = (int) $id;
	}
	return $out;
}

/**
 * Primes WordPress's caches with what permalinks and featured images of these posts need, so that
 * building a batch costs the same few queries whatever its size: parents of hierarchical posts (all the
 * way up), the terms they use, their authors, their featured images. Returns what was added, for
 * igny8_forget_primed() to remove after the batch (a full sync must not fill memory with every post).
 * With permalinks computed per batch ($links) only the terms %category% names are primed: nothing reads
 * the relationships from the cache then.
 *
 * @param object[]   $rows  Post rows by id.
 * @param array      $terms From igny8_read_post_terms().
 * @param array      $meta  From igny8_read_post_meta() (for _thumbnail_id).
 * @param array|null $links From igny8_permalink_context(), or null when get_permalink() makes the links.
 * @return array{posts: int[], terms: int[], relationships: array}
 */
function igny8_prime_for_items( array $rows, array $terms, array $meta, $links = null ) {
	$primed = array(
		'posts'         => array(),
		'terms'         => array(),
		'relationships' => array(),
	);

	$term_ids = array();
	$by_type  = igny8_rows_by_type( $rows );
	if ( null === $links ) {
		// Term relationships as get_the_terms() reads them (cache group "{taxonomy}_relationships").
		foreach ( $by_type as $type => $ids_of_type ) {
			foreach ( get_object_taxonomies( $type ) as $taxonomy ) {
				foreach ( $ids_of_type as $id ) {
					$ids = isset( $terms[ $id ][ $taxonomy ] ) ? $terms[ $id ][ $taxonomy ] : array();
					if ( wp_cache_add( $id, $ids, "{$taxonomy}_relationships" ) ) {
						$primed['relationships'][] = array( $id, $taxonomy );
					}
					foreach ( $ids as $term_id ) {
						$term_ids[ $term_id ] = true;
					}
				}
			}
		}
	} elseif ( false !== strpos( $links['structure'], '%category%' ) ) {
		foreach ( $terms as $taxonomies ) {
			if ( ! empty( $taxonomies['category'] ) ) {
				$term_ids[ min( $taxonomies['category'] ) ] = true;
			}
		}
	}
	if ( $term_ids ) {
		$missing = _get_non_cached_ids( array_keys( $term_ids ), 'terms' );
		if ( $missing ) {
			_prime_term_caches( $missing, false );
			$primed['terms'] = $missing;
		}
	}

	// Parents, grandparents…: page permalinks are built from the ancestors' slugs.
	$parents = array();
	foreach ( $rows as $row ) {
		if ( (int) $row->post_parent > 0 && ! isset( $rows[ (int) $row->post_parent ] ) ) {
			$parents[ (int) $row->post_parent ] = true;
		}
	}
	$seen = array();
	while ( $parents ) {
		$missing = _get_non_cached_ids( array_keys( $parents ), 'posts' );
		if ( $missing ) {
			_prime_post_caches( $missing, false, false );
			$primed['posts'] = array_merge( $primed['posts'], $missing );
		}
		$next = array();
		foreach ( array_keys( $parents ) as $parent_id ) {
			$seen[ $parent_id ] = true;
			$parent             = wp_cache_get( $parent_id, 'posts' );
			if ( $parent && (int) $parent->post_parent > 0 && ! isset( $seen[ (int) $parent->post_parent ] ) && ! isset( $rows[ (int) $parent->post_parent ] ) ) {
				$next[ (int) $parent->post_parent ] = true;
			}
		}
		$parents = $next;
	}
	// Parents in the same batch as their children, read whole: the batch's rows lack columns (and a full
	// sync's lack large bodies), and a persistent object cache would serve whatever is cached here to
	// every other request.
	$in_batch = array();
	foreach ( $rows as $row ) {
		if ( isset( $rows[ (int) $row->post_parent ] ) && is_post_type_hierarchical( $row->post_type ) ) {
			$in_batch[ (int) $row->post_parent ] = true;
		}
	}
	$missing = $in_batch ? _get_non_cached_ids( array_keys( $in_batch ), 'posts' ) : array();
	if ( $missing ) {
		_prime_post_caches( $missing, false, false );
		$primed['posts'] = array_merge( $primed['posts'], $missing );
	}

	// Authors (display names, %author% permalinks).
	$authors = array();
	foreach ( $rows as $row ) {
		$authors[ (int) $row->post_author ] = true;
	}
	unset( $authors[0] );
	if ( $authors ) {
		cache_users( array_keys( $authors ) );
	}

	// Featured images: the attachments and their meta (_wp_attached_file).
	$thumbnails = array();
	foreach ( $meta as $values ) {
		if ( ! empty( $values['_thumbnail_id'] ) && is_numeric( $values['_thumbnail_id'] ) ) {
			$thumbnails[ (int) $values['_thumbnail_id'] ] = true;
		}
	}
	if ( $thumbnails ) {
		$missing = _get_non_cached_ids( array_keys( $thumbnails ), 'posts' );
		if ( $missing ) {
			_prime_post_caches( $missing, false, true );
			$primed['posts'] = array_merge( $primed['posts'], $missing );
		}
	}
	return $primed;
}

/**
 * Removes from the object cache what igny8_prime_for_items() added.
 *
 * @param array $primed Its answer.
 */
function igny8_forget_primed( array $primed ) {
	foreach ( $primed['posts'] as $id ) {
		wp_cache_delete( $id, 'posts' );
		wp_cache_delete( $id, 'post_meta' );
	}
	foreach ( $primed['terms'] as $id ) {
		wp_cache_delete( $id, 'terms' );
	}
	foreach ( $primed['relationships'] as $link ) {
		wp_cache_delete( $link[0], $link[1] . '_relationships' );
	}
}

/**
 * Post items (op upsert) for rows of wp_posts, in their order, with a fixed number of queries for the lot:
 * terms, meta, SEO table, parents, authors, featured images. Rows a filter drops are left out.
 *
 * @param object[] $rows Post rows by id (igny8_load_post_rows()).
 * @return array<int, array> post id => item.
 */
function igny8_post_items( array $rows ) {
	if ( ! $rows ) {
		return array();
	}
	$synced_taxonomies = igny8_sync_types()['taxonomies'];
	$ids               = array_map( 'intval', array_keys( $rows ) );
	$terms             = igny8_read_post_terms( $rows );
	$meta              = igny8_read_post_meta( $ids, igny8_watched_meta_keys() );
	$aioseo            = igny8_aioseo_rows( $ids );
	$extra_keys        = igny8_sync_meta_keys();
	$links             = igny8_permalink_context();
	$primed            = igny8_prime_for_items( $rows, $terms, $meta, $links );

	$items           = array();
	$type_taxonomies = array();
	$authors         = array();
	// WP_Post objects for whoever asks for them (get_permalink(), an igny8_sync_item filter); otherwise
	// the rows as they are.
	$filtered = has_filter( 'igny8_sync_item' ) || has_filter( 'all' );
	$wp_posts = null === $links || $filtered;
	// Posts without any SEO value (a third of them or more on most sites) all get the same fields.
	$seo_keys = array();
	foreach ( igny8_seo_meta_keys() as $source_keys ) {
		$seo_keys += array_fill_keys( $source_keys, true );
	}
	$no_seo             = igny8_post_data_maps( array( 'seo' => igny8_seo_fields( array() ) ) )['seo'];
	$synced_taxonomy_of = array_keys( $synced_taxonomies );
	foreach ( $rows as $id => $row ) {
		$stamp = igny8_stamp_item( array(), $row );
		unset( $row->igny8_checksum, $row->igny8_read_at );
		$post      = $wp_posts ? igny8_raw_post( $row ) : igny8_raw_row( $row );
		$post_meta = isset( $meta[ $id ] ) ? $meta[ $id ] : array();
		$type      = $post->post_type;

		if ( ! isset( $type_taxonomies[ $type ] ) ) {
			$type_taxonomies[ $type ] = array_values( array_intersect( get_object_taxonomies( $type ), $synced_taxonomy_of ) );
		}
		$post_terms = array();
		foreach ( $type_taxonomies[ $type ] as $taxonomy ) {
			$post_terms[ $taxonomy ] = isset( $terms[ $id ][ $taxonomy ] ) ? $terms[ $id ][ $taxonomy ] : array();
		}
		$author_id = (int) $post->post_author;
		if ( ! array_key_exists( $author_id, $authors ) ) {
			$user                  = $author_id > 0 ? get_userdata( $author_id ) : false;
			$authors[ $author_id ] = $user ? (string) $user->display_name : null;
		}
		$extra = array();
		$seo   = null;
		if ( $post_meta ) {
			foreach ( $extra_keys as $key ) {
				if ( array_key_exists( $key, $post_meta ) ) {
					$extra[ $key ] = $post_meta[ $key ];
				}
			}
			$thumbnail = isset( $post_meta['_thumbnail_id'] ) ? (int) $post_meta['_thumbnail_id'] : 0;
			$image     = $thumbnail > 0 ? wp_get_attachment_url( $thumbnail ) : false;
			if ( array_intersect_key( $post_meta, $seo_keys ) ) {
				$seo = igny8_seo_fields( $post_meta, isset( $aioseo[ $id ] ) ? $aioseo[ $id ] : null );
			}
		} else {
			$image = false;
		}
		if ( null === $seo && isset( $aioseo[ $id ] ) ) {
			$seo = igny8_seo_fields( $post_meta, $aioseo[ $id ] );
		}

		$data = array(
			'title'          => (string) $post->post_title,
			'slug'           => (string) $post->post_name,
			'status'         => (string) $post->post_status,
			'content'        => (string) $post->post_content,
			'excerpt'        => (string) $post->post_excerpt,
			'author'         => $authors[ $author_id ],
			'date_gmt'       => '0000-00-00 00:00:00' === $post->post_date_gmt ? null : (string) $post->post_date_gmt,
			'url'            => igny8_permalink( $post, isset( $terms[ $id ]['category'] ) ? $terms[ $id ]['category'] : array(), $links ),
			'parent'         => (int) $post->post_parent,
			'menu_order'     => (int) $post->menu_order,
			'featured_image' => $image ? (string) $image : null,
		);
		if ( $filtered ) {
			$data['terms'] = $post_terms;
			$data['seo']   = null === $seo ? igny8_seo_fields( $post_meta ) : $seo;
			$data['meta']  = $extra;
			/**
			 * The data sent for one item (a post here; terms pass their WP_Term-like row and 'term').
			 * Return null or false to leave the item out of the sync.
			 *
			 * @param array          $data   Item data (title, slug, status, content, …, seo, meta).
			 * @param WP_Post|object $object The post or term.
			 * @param string         $kind   post|term.
			 */
			$data = apply_filters( 'igny8_sync_item', $data, $post, 'post' );
			if ( ! is_array( $data ) ) {
				continue;
			}
			$data = igny8_limit_content( igny8_post_data_maps( $data ) );
		} else {
			// What igny8_post_data_maps() and igny8_limit_content() make of it, built as such.
			$data['terms'] = (object) $post_terms;
			if ( null === $seo ) {
				$data['seo'] = $no_seo;
			} else {
				$seo['raw']  = (object) $seo['raw'];
				$data['seo'] = $seo;
			}
			$data['meta'] = (object) $extra;
			if ( strlen( $data['content'] ) > IGNY8_MAX_CONTENT_BYTES ) {
				$data = igny8_limit_content( $data );
			}
		}
		$items[ $id ] = array(
			'op'           => 'upsert',
			'kind'         => 'post',
			'type'         => (string) $type,
			'wp_id'        => (int) $id,
			'modified_gmt' => (string) $post->post_modified_gmt,
		) + $stamp + array( 'data' => $data );
	}
	igny8_forget_primed( $primed );
	return $items;
}

/**
 * A WP_Post from a raw wp_posts row, as WP_Post::get_instance() makes it (ints cast, filter "raw", so
 * get_post() and get_permalink() take it as it is instead of reading it again), without sanitize_post()'s
 * call per field.
 *
 * @param object $row Row.
 * @return WP_Post
 */
function igny8_raw_post( $row ) {
	return new WP_Post( igny8_raw_row( clone $row ) );
}

/**
 * A wp_posts row as WP_Post::get_instance() keeps it (ints cast, filter "raw"), changed in place.
 *
 * @param object $row Row.
 * @return object The row.
 */
function igny8_raw_row( $row ) {
	$row->ID          = (int) $row->ID;
	$row->post_parent = (int) $row->post_parent;
	$row->menu_order  = (int) $row->menu_order;
	$row->filter      = 'raw';
	return $row;
}

/**
 * Maps that must stay JSON objects even when empty (terms, meta, seo.raw): PHP encodes an empty array as [].
 *
 * @param array $data Item data.
 * @return array
 */
function igny8_post_data_maps( array $data ) {
	foreach ( array( 'terms', 'meta' ) as $key ) {
		if ( isset( $data[ $key ] ) && is_array( $data[ $key ] ) ) {
			$data[ $key ] = (object) $data[ $key ];
		}
	}
	if ( isset( $data['seo']['raw'] ) && is_array( $data['seo']['raw'] ) ) {
		$data['seo']['raw'] = (object) $data['seo']['raw'];
	}
	return $data;
}

/**
 * Cuts `content` to IGNY8_MAX_CONTENT_BYTES of whole UTF-8 characters, flagging it.
 *
 * @param array $data Item data.
 * @return array
 */
function igny8_limit_content( array $data ) {
	if ( isset( $data['content'] ) && is_string( $data['content'] ) && strlen( $data['content'] ) > IGNY8_MAX_CONTENT_BYTES ) {
		$cut = substr( $data['content'], 0, IGNY8_MAX_CONTENT_BYTES );
		// Drop a character the cut split in two: find the last lead byte and check its sequence is whole.
		$length = strlen( $cut );
		for ( $back = 1; $back <= min( 4, $length ); $back++ ) {
			$byte = ord( $cut[ $length - $back ] );
			if ( $byte < 0x80 ) {
				break;
			}
			if ( $byte >= 0xC0 ) {
				$needed = $byte >= 0xF0 ? 4 : ( $byte >= 0xE0 ? 3 : 2 );
				if ( $needed > $back ) {
					$cut = substr( $cut, 0, $length - $back );
				}
				break;
			}
		}
		$data['content']           = $cut;
		$data['content_truncated'] = true;
	}
	return $data;
}

/**
 * Term rows (term_id, name, slug, parent, count, description, taxonomy, checksum, read time) for some term
 * ids, in one query.
 *
 * @param int[] $term_ids Term ids.
 * @return object[] term id => row.
 */
function igny8_load_term_rows( array $term_ids ) {
	global $wpdb;
	$term_ids = array_values( array_unique( array_map( 'intval', $term_ids ) ) );
	if ( ! $term_ids ) {
		return array();
	}
	$rows = $wpdb->get_results( "SELECT t.term_id, t.name, t.slug, tt.taxonomy, tt.parent, tt.count, tt.description, " . igny8_stamp_columns_sql( 'term' ) . " FROM {$wpdb->terms} t INNER JOIN {$wpdb->term_taxonomy} tt ON tt.term_id = t.term_id WHERE t.term_id IN (" . implode( ',', $term_ids ) . ')' ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- ints.
	$out  = array();
	foreach ( (array) $rows as $row ) {
		$out[ (int) $row->term_id ] = $row;
	}
	return $out;
}

/**
 * A term item (op upsert) from a term row.
 *
 * @param object $row Row from igny8_load_term_rows() or the full sync's walk.
 * @return array|null Null when a filter leaves it out.
 */
function igny8_term_item( $row ) {
	$stamp = igny8_stamp_item( array(), $row );
	unset( $row->igny8_checksum, $row->igny8_read_at );
	$data = array(
		'name'        => (string) $row->name,
		'slug'        => (string) $row->slug,
		'parent'      => (int) $row->parent,
		'count'       => (int) $row->count,
		'description' => (string) $row->description,
	);
	/** This filter is documented in includes/content.php (igny8_post_items). */
	$data = apply_filters( 'igny8_sync_item', $data, $row, 'term' );
	if ( ! is_array( $data ) ) {
		return null;
	}
	return array(
		'op'    => 'upsert',
		'kind'  => 'term',
		'type'  => (string) $row->taxonomy,
		'wp_id' => (int) $row->term_id,
	) + $stamp + array( 'data' => $data );
}

/**
 * A delete item. Posts carry the time of the deletion as modified_gmt, which is never older than the
 * platform's copy, so the platform applies it.
 *
 * @param string $kind  post|term.
 * @param string $type  Post type or taxonomy.
 * @param int    $wp_id Id.
 * @return array
 */
function igny8_delete_item( $kind, $type, $wp_id ) {
	$item = array(
		'op'    => 'delete',
		'kind'  => $kind,
		'type'  => (string) $type,
		'wp_id' => (int) $wp_id,
	);
	if ( 'post' === $kind ) {
		$item['modified_gmt'] = gmdate( 'Y-m-d H:i:s' );
	}
	return $item;
}

/* ------------------------------------------------------------------------------------------------------
 * Encoding
 * --------------------------------------------------------------------------------------------------- */

/**
 * A string as valid UTF-8 without NUL: invalid bytes are dropped (what wp_check_invalid_utf8( $s, true )
 * means to do; its iconv call fails outright on glibc), and so is NUL, which the platform's databases
 * cannot keep in text (it would reject the item).
 *
 * @param string $value String.
 * @return string
 */
function igny8_valid_utf8( $value ) {
	if ( false !== strpos( $value, "\0" ) ) {
		$value = str_replace( "\0", '', $value );
	}
	if ( '' === $value || 1 === preg_match( '//u', $value ) ) {
		return $value;
	}
	// ASCII runs and whole multi-byte characters are kept ($1); any other byte is dropped.
	$clean = preg_replace( '/([\x00-\x7F]++|[\xC2-\xDF][\x80-\xBF]|\xE0[\xA0-\xBF][\x80-\xBF]|[\xE1-\xEC\xEE\xEF][\x80-\xBF]{2}|\xED[\x80-\x9F][\x80-\xBF]|\xF0[\x90-\xBF][\x80-\xBF]{2}|[\xF1-\xF3][\x80-\xBF]{3}|\xF4[\x80-\x8F][\x80-\xBF]{2})|[\x80-\xFF]/', '$1', $value );
	if ( null === $clean ) {
		// PCRE gave up (backtrack limit): replace bad bytes with U+FFFD instead.
		$clean = htmlspecialchars_decode( htmlspecialchars( $value, ENT_NOQUOTES | ENT_SUBSTITUTE, 'UTF-8' ), ENT_NOQUOTES );
	}
	return $clean;
}

/**
 * Every string in a value as valid UTF-8 (keys too).
 *
 * @param mixed $value Value.
 * @return mixed
 */
function igny8_clean_strings( $value ) {
	if ( is_string( $value ) ) {
		return igny8_valid_utf8( $value );
	}
	if ( is_array( $value ) ) {
		$out = array();
		foreach ( $value as $key => $inner ) {
			$out[ is_string( $key ) ? igny8_valid_utf8( $key ) : $key ] = igny8_clean_strings( $inner );
		}
		return $out;
	}
	if ( $value instanceof stdClass ) {
		return (object) igny8_clean_strings( (array) $value );
	}
	if ( is_object( $value ) ) {
		return igny8_clean_strings( get_object_vars( $value ) );
	}
	if ( is_float( $value ) && ! is_finite( $value ) ) {
		return null;
	}
	return $value;
}

/**
 * One item as JSON: valid UTF-8, slashes and non-ASCII characters as they are (JSON needs no HTML escaping;
 * the body stays close to the content's own size).
 *
 * @param array $item Item.
 * @return string
 */
function igny8_encode_item( array $item ) {
	$flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE;
	// json_encode() fails on invalid UTF-8 and writes NUL as \u0000: an item that encodes without either
	// needs no cleaning, which is nearly every item and saves walking it string by string.
	$json = json_encode( $item, $flags ); // phpcs:ignore WordPress.WP.AlternativeFunctions.json_encode_json_encode -- flags wp_json_encode() cannot take on PHP 7.4.
	if ( false !== $json && false === strpos( $json, '\u0000' ) ) {
		return $json;
	}
	$flags |= JSON_INVALID_UTF8_SUBSTITUTE;
	$json   = json_encode( igny8_clean_strings( $item ), $flags ); // phpcs:ignore WordPress.WP.AlternativeFunctions.json_encode_json_encode
	if ( false === $json ) {
		$json = (string) json_encode( igny8_clean_strings( $item ), $flags | JSON_PARTIAL_OUTPUT_ON_ERROR ); // phpcs:ignore WordPress.WP.AlternativeFunctions.json_encode_json_encode
	}
	return $json;
}

/**
 * Which posts to load for a batch, judged by their sizes before their content is read, so that a batch
 * of large posts never holds more than about one body's worth of content in memory.
 *
 * @param array<int, object> $sizes     id => {content_bytes, other_bytes}, in the order to send.
 * @param int                $max_bytes The batch's byte bound.
 * @return int[] The leading ids that fit (at least one).
 */
function igny8_ids_within_budget( array $sizes, $max_bytes ) {
	$ids   = array();
	$total = 0;
	foreach ( $sizes as $id => $size ) {
		// JSON escaping adds about a tenth to HTML; 1 KiB covers the other fields.
		$estimate = (int) ( ( min( (int) $size->content_bytes, IGNY8_MAX_CONTENT_BYTES ) + (int) $size->other_bytes ) * 1.1 ) + 1024;
		if ( $ids && $total + $estimate > $max_bytes ) {
			break;
		}
		$ids[]  = (int) $id;
		$total += $estimate;
	}
	return $ids;
}
