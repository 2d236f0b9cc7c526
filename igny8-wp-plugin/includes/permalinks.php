<?php
/**
 * Permalinks of a batch of posts without get_permalink() per post: the permalink structure, the home URL,
 * the trailing-slash rule and which statuses get plain links are read once per batch, then each URL is
 * put together as get_permalink() would (posts with %year% … %category% %author% tokens, pages with their
 * ancestors' slugs and the front page, custom post types with their permastructs, plain ?p= links for
 * drafts and sites without pretty permalinks).
 *
 * Only while nothing hooks the filters those functions apply (post_link, page_link, home_url, …): a site
 * whose links a plugin changes gets get_permalink() for every post, so that the URL is always the one
 * WordPress shows.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The filters get_permalink() and what it calls apply on the way (and that the fast path does not): any
 * callback on one of them sends every post through get_permalink().
 *
 * @return string[]
 */
function igny8_permalink_filters() {
	return array( 'pre_post_link', 'post_link', 'post_link_category', 'post_type_link', 'page_link', '_get_page_link', 'home_url', 'user_trailingslashit', 'get_post_status', 'is_post_status_viewable', 'is_post_type_viewable', 'get_the_terms', 'get_the_categories' );
}

/**
 * What a batch's permalinks are made of, read once: the home URL, structures, the trailing-slash rule.
 *
 * @return array|null Null when a filter changes links on this site (then get_permalink() it is).
 */
function igny8_permalink_context() {
	global $wp_rewrite;
	foreach ( igny8_permalink_filters() as $hook ) {
		if ( has_filter( $hook ) ) {
			return null;
		}
	}
	/**
	 * Whether the full sync and the queue may compute permalinks in bulk (the same URLs get_permalink()
	 * gives, for sites where no plugin filters links). Return false to call get_permalink() per post.
	 *
	 * @param bool $fast Default true.
	 */
	if ( ! apply_filters( 'igny8_fast_permalinks', true ) || ! ( $wp_rewrite instanceof WP_Rewrite ) ) {
		return null;
	}
	return array(
		'home'          => home_url(),
		'structure'     => (string) get_option( 'permalink_structure' ),
		'page'          => (string) $wp_rewrite->get_page_permastruct(),
		'slash'         => (bool) $wp_rewrite->use_trailing_slashes,
		'front_page'    => 'page' === get_option( 'show_on_front' ) ? (int) get_option( 'page_on_front' ) : 0,
		'default_cat'   => (int) get_option( 'default_category' ),
		'custom_types'  => array_flip( get_post_types( array( '_builtin' => false ) ) ),
		'plain'         => array(), // "type status" => whether links are plain (null: private, ask get_permalink()).
		'category_path' => array(), // term id => its slug with its ancestors' (%category%).
		'nicename'      => array(), // author id => user_nicename (%author%).
	);
}

/**
 * A post's permalink: get_permalink( $post ), computed from the batch's context when there is one.
 *
 * @param WP_Post|object $post   The post, or its raw row with ints cast and filter "raw" (igny8_raw_row()).
 * @param int[]      $categories Its category ids (the batch's term relationships).
 * @param array|null $context    From igny8_permalink_context() (updated: memos).
 * @return string
 */
function igny8_permalink( $post, array $categories, &$context ) {
	if ( null === $context || 'attachment' === $post->post_type ) {
		return (string) get_permalink( get_post( $post ) );
	}
	$key   = $post->post_type . ' ' . $post->post_status;
	$plain = isset( $context['plain'][ $key ] ) ? $context['plain'][ $key ] : igny8_permalink_is_plain( $post, $context );
	if ( null === $plain ) {
		return (string) get_permalink( get_post( $post ) ); // Private: depends on who is asking.
	}
	$home = $context['home'];

	if ( 'page' === $post->post_type ) {
		if ( $context['front_page'] > 0 && $context['front_page'] === $post->ID ) {
			return $home . '/';
		}
		if ( '' === $context['page'] || $plain ) {
			return $home . '/?page_id=' . $post->ID;
		}
		return igny8_permalink_slash( $home . '/' . ltrim( str_replace( '%pagename%', get_page_uri( $post ), $context['page'] ), '/' ), $context );
	}

	if ( isset( $context['custom_types'][ $post->post_type ] ) ) {
		global $wp_rewrite;
		$type = get_post_type_object( $post->post_type );
		$link = $wp_rewrite->get_extra_permastruct( $post->post_type );
		$slug = $type && $type->hierarchical ? get_page_uri( $post ) : $post->post_name;
		if ( ! empty( $link ) && ! $plain ) {
			$path = igny8_permalink_slash( str_replace( "%{$post->post_type}%", $slug, $link ), $context );
		} elseif ( $type && $type->query_var && ! $plain ) {
			$path = add_query_arg( $type->query_var, $slug, '' );
		} else {
			$path = add_query_arg(
				array(
					'post_type' => $post->post_type,
					'p'         => $post->ID,
				),
				''
			);
		}
		return '' === $path ? $home : $home . '/' . ltrim( $path, '/' );
	}

	// Posts (and built-in types that link like them).
	$structure = $context['structure'];
	if ( '' === $structure || $plain ) {
		return $home . '/?p=' . $post->ID;
	}
	$category = '';
	if ( false !== strpos( $structure, '%category%' ) ) {
		if ( $categories ) {
			$first = min( $categories ); // get_permalink() takes the lowest id.
			if ( ! isset( $context['category_path'][ $first ] ) ) {
				$term = get_term( $first, 'category' );
				$path = '';
				if ( $term instanceof WP_Term ) {
					$path = $term->slug;
					if ( $term->parent ) {
						$parents = get_category_parents( $term->parent, false, '/', true );
						$path    = ( is_string( $parents ) ? $parents : '' ) . $path;
					}
				}
				$context['category_path'][ $first ] = $path;
			}
			$category = $context['category_path'][ $first ];
		}
		if ( '' === $category ) {
			// The default category, without its parents, as get_permalink() does.
			if ( ! isset( $context['default_slug'] ) ) {
				$default                 = get_term( $context['default_cat'], 'category' );
				$context['default_slug'] = $default instanceof WP_Term ? (string) $default->slug : '';
			}
			$category = $context['default_slug'];
		}
	}
	$author = '';
	if ( false !== strpos( $structure, '%author%' ) ) {
		$author_id = (int) $post->post_author;
		if ( ! isset( $context['nicename'][ $author_id ] ) ) {
			$user                               = get_userdata( $author_id );
			$context['nicename'][ $author_id ] = $user ? (string) $user->user_nicename : '';
		}
		$author = $context['nicename'][ $author_id ];
	}
	if ( '/%postname%/' === $structure && false === strpos( $post->post_name, '%' ) ) {
		// The most common structure: the same as the replacement below (which would go on replacing
		// tokens inside a slug with percent-encoded octets, as get_permalink() does).
		$path = '/' . $post->post_name . '/';
	} else {
		$date = explode( ' ', str_replace( array( '-', ':' ), ' ', $post->post_date ) );
		$path = str_replace(
			array( '%year%', '%monthnum%', '%day%', '%hour%', '%minute%', '%second%', '%postname%', '%post_id%', '%category%', '%author%', '%pagename%' ),
			array( $date[0], $date[1], $date[2], $date[3], $date[4], $date[5], $post->post_name, $post->ID, $category, $author, $post->post_name ),
			$structure
		);
	}
	$url = '' === $path ? $home : $home . '/' . ltrim( $path, '/' );
	// igny8_permalink_slash(), inline.
	return $context['slash'] ? rtrim( $url, '/\\' ) . '/' : rtrim( $url, '/\\' );
}

/**
 * user_trailingslashit() without its filter (none is hooked when the fast path runs).
 *
 * @param string $url     URL or path.
 * @param array  $context Context.
 * @return string
 */
function igny8_permalink_slash( $url, array $context ) {
	return $context['slash'] ? trailingslashit( $url ) : untrailingslashit( $url );
}

/**
 * wp_force_plain_post_permalink() for a post, by its type and status (the answer is the same for every post
 * of them, except private ones, whose links depend on who may read them).
 *
 * @param object $post    Post.
 * @param array  $context Context (updated: memo).
 * @return bool|null Whether the link is plain; null for a private status.
 */
function igny8_permalink_is_plain( $post, array &$context ) {
	$key = $post->post_type . ' ' . $post->post_status;
	if ( ! array_key_exists( $key, $context['plain'] ) ) {
		$status = get_post_status_object( $post->post_status );
		if ( ! $status || ! get_post_type_object( $post->post_type ) ) {
			$plain = true;
		} elseif ( igny8_post_status_viewable( $status ) ) {
			$plain = false;
		} elseif ( $status->private ) {
			$plain = null;
		} else {
			$plain = true;
		}
		$context['plain'][ $key ] = $plain;
	}
	return $context['plain'][ $key ];
}

/**
 * is_post_status_viewable() (WordPress 5.7) where it exists; on 5.6 the same rule: not internal or
 * protected, and publicly queryable (or a public built-in status).
 *
 * @param object $status Post status object.
 * @return bool
 */
function igny8_post_status_viewable( $status ) {
	if ( function_exists( 'is_post_status_viewable' ) ) {
		return is_post_status_viewable( $status );
	}
	if ( ! is_object( $status ) || ! empty( $status->internal ) || ! empty( $status->protected ) ) {
		return false;
	}
	return ! empty( $status->publicly_queryable ) || ( ! empty( $status->_builtin ) && ! empty( $status->public ) );
}
