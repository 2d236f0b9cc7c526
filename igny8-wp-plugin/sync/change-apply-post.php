<?php
/**
 * Applying a post change: the post's live values, the three-way merge (includes/merge.php), the checks that
 * come before any write (objects named exist, the user may do it, the image is an image), then the writes
 * through WordPress's own functions in the order the REST API uses (post, featured image, terms, meta), so
 * revisions, hooks, caches and kses behave as for a person's edit.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Post fields kept in WordPress's revisions. */
const IGNY8_REVISIONED_FIELDS = array( 'title', 'content', 'excerpt' );

/**
 * Applies a post change: create, update or trash.
 *
 * @param array $change Parsed change.
 * @return array Outcome.
 */
function igny8_apply_post_change( array $change ) {
	$id   = $change['id'];
	$type = get_post_type_object( $change['type'] );
	if ( ! $type || ! igny8_is_synced_post_type( $change['type'] ) ) {
		return igny8_rejected( $id, igny8_change_error( 'type', sprintf( 'post type "%s" is not synced on this site', $change['type'] ) ) );
	}

	$post       = null;
	$completing = false;
	if ( 'create' === $change['op'] ) {
		$post       = igny8_find_created_post( $change['marker'] );
		$completing = null !== $post;
	} else {
		$post = get_post( $change['wp_id'] );
		if ( ! $post || $post->post_type !== $change['type'] || in_array( $post->post_status, IGNY8_UNSYNCED_STATUSES, true ) ) {
			return igny8_rejected( $id, igny8_change_error( 'wp_id', sprintf( 'no %s #%d on this site', $change['type'], $change['wp_id'] ) ) );
		}
	}
	if ( $post && ! current_user_can( 'edit_post', $post->ID ) ) {
		return igny8_rejected( $id, sprintf( 'the Publish as user may not edit %s #%d', $change['type'], $post->ID ) );
	}
	if ( ! $post && ! current_user_can( $type->cap->create_posts ) ) {
		return igny8_rejected( $id, sprintf( 'the Publish as user may not create %s items', $change['type'] ) );
	}

	if ( 'trash' === $change['op'] ) {
		return igny8_trash_post_change( $change, $post );
	}

	$error = igny8_check_post_references( $change, $post );
	if ( is_wp_error( $error ) ) {
		return igny8_rejected( $id, $error );
	}

	$new       = igny8_normalize_post_values( $change['fields'] );
	$seo_now   = igny8_seo_current( $post ? $post->ID : 0 );
	$image_now = $post ? igny8_featured_image_current( $post->ID ) : array( 'url' => null, 'aliases' => array() );
	if ( $post ) {
		$current = igny8_post_current_values( $post, array_keys( $new ), $seo_now, $image_now );
		$aliases = $image_now['aliases'] ? array( 'featured_image' => $image_now['aliases'] ) : array();
		// A create found again after a killed run is completed: what it has not written yet is written.
		$merge = $completing
			? igny8_merge_change( $new, $current, $current, 'platform_wins', $aliases )
			: igny8_merge_change( $new, igny8_normalize_post_values( $change['base'] ), $current, $change['policy'], $aliases );
		if ( $completing ) {
			$merge['overwritten'] = array();
		}
	} else {
		$blank = array_fill_keys( array_keys( $new ), null );
		$merge = igny8_merge_change( $new, $blank, $blank, 'manual' );
	}
	if ( 'conflict' === $merge['status'] && ! $merge['write'] ) {
		return igny8_post_outcome( $id, $post->ID, $merge );
	}

	$write = $merge['write'];
	$error = igny8_check_post_capabilities( $change, $post, $type, $write );
	$seo   = igny8_seo_values( $write );
	$src   = igny8_seo_write_source( $seo_now );
	if ( ! is_wp_error( $error ) && $seo ) {
		$error = igny8_seo_check( $src, $seo );
	}
	if ( is_wp_error( $error ) ) {
		return igny8_rejected( $id, $error );
	}

	// The image is fetched and checked before anything is written.
	$download = null;
	$image    = 0;
	if ( isset( $write['featured_image'] ) ) {
		$image = igny8_find_sideloaded_image( $write['featured_image'] );
		if ( ! $image ) {
			$download = igny8_download_image( $write['featured_image'] );
			if ( is_wp_error( $download ) ) {
				return igny8_rejected( $id, $download );
			}
		}
	}

	$post_id = igny8_write_post( $change, $post, $write, $download, $image );
	if ( is_wp_error( $post_id ) ) {
		return igny8_rejected( $id, $post_id );
	}
	if ( $seo ) {
		igny8_seo_write( $post_id, $src, $seo, $seo_now );
	}
	if ( isset( $write['status'] ) && 'trash' === $write['status'] ) {
		wp_trash_post( $post_id );
	}
	return igny8_post_outcome( $id, $post_id, $merge );
}

/**
 * A trash change: the post goes to the trash (done already when it is there).
 *
 * @param array   $change Parsed change.
 * @param WP_Post $post   Post.
 * @return array Outcome.
 */
function igny8_trash_post_change( array $change, WP_Post $post ) {
	if ( ! current_user_can( 'delete_post', $post->ID ) ) {
		return igny8_rejected( $change['id'], sprintf( 'the Publish as user may not trash %s #%d', $post->post_type, $post->ID ) );
	}
	if ( 'trash' !== $post->post_status && ! wp_trash_post( $post->ID ) ) {
		return igny8_rejected( $change['id'], sprintf( 'WordPress did not trash %s #%d', $post->post_type, $post->ID ) );
	}
	return igny8_post_outcome( $change['id'], $post->ID, igny8_merge_change( array(), array(), array(), 'manual' ) );
}

/**
 * The outcome of a post change that was applied or left in conflict, with the post's saved modified_gmt.
 *
 * @param int   $id      Change id.
 * @param int   $post_id Post id.
 * @param array $merge   igny8_merge_change().
 * @return array
 */
function igny8_post_outcome( $id, $post_id, array $merge ) {
	clean_post_cache( $post_id );
	return igny8_change_outcome( $id, $post_id, (string) get_post_field( 'post_modified_gmt', $post_id, 'raw' ), $merge );
}

/**
 * The post IGNY8 created with this change (a create whose run was killed before its outcome was kept): its
 * _igny8_change_id holds the change's marker.
 *
 * @param string $marker igny8_change_marker().
 * @return WP_Post|null
 */
function igny8_find_created_post( $marker ) {
	global $wpdb;
	$post_id = (int) $wpdb->get_var( $wpdb->prepare( "SELECT post_id FROM {$wpdb->postmeta} WHERE meta_key = '_igny8_change_id' AND meta_value = %s ORDER BY post_id LIMIT 1", (string) $marker ) );
	$post    = $post_id > 0 ? get_post( $post_id ) : null;
	return $post instanceof WP_Post ? $post : null;
}

/**
 * The objects a post change names exist: the parent, the taxonomies (of this post type) and the terms given by id.
 *
 * @param array        $change Parsed change.
 * @param WP_Post|null $post   The post (null: not created yet).
 * @return true|WP_Error
 */
function igny8_check_post_references( array $change, $post ) {
	foreach ( $change['fields'] as $path => $value ) {
		if ( 'parent' === $path && $value > 0 ) {
			$parent = get_post( $value );
			if ( ! $parent || in_array( $parent->post_type, array( 'revision', 'attachment', 'nav_menu_item' ), true ) || in_array( $parent->post_status, IGNY8_UNSYNCED_STATUSES, true ) ) {
				return igny8_change_error( 'parent', sprintf( 'post %d does not exist', $value ) );
			}
			if ( $post && (int) $parent->ID === (int) $post->ID ) {
				return igny8_change_error( 'parent', 'a post cannot be its own parent' );
			}
			if ( is_post_type_hierarchical( $change['type'] ) && $parent->post_type !== $change['type'] ) {
				return igny8_change_error( 'parent', sprintf( 'post %d is not a %s', $value, $change['type'] ) );
			}
		}
		if ( 0 === strpos( $path, 'terms.' ) ) {
			$taxonomy = substr( $path, 6 );
			if ( ! taxonomy_exists( $taxonomy ) || ! is_object_in_taxonomy( $change['type'], $taxonomy ) ) {
				return igny8_change_error( $path, sprintf( 'taxonomy "%s" is not used by %s', $taxonomy, $change['type'] ) );
			}
			foreach ( $value as $term ) {
				if ( is_int( $term ) && ! ( get_term( $term, $taxonomy ) instanceof WP_Term ) ) {
					return igny8_change_error( $path, sprintf( 'term %d does not exist', $term ) );
				}
			}
		}
	}
	return true;
}

/**
 * What the Publish as user must be allowed for the fields that are written.
 *
 * @param array        $change Parsed change.
 * @param WP_Post|null $post   The post (null: not created yet).
 * @param WP_Post_Type $type   Its type.
 * @param array        $write  path => value to write.
 * @return true|WP_Error
 */
function igny8_check_post_capabilities( array $change, $post, WP_Post_Type $type, array $write ) {
	$denied = static function ( $path, $what ) {
		return igny8_change_error( $path, 'the Publish as user may not ' . $what );
	};
	if ( isset( $write['status'] ) ) {
		if ( in_array( $write['status'], array( 'publish', 'future', 'private' ), true ) && ! current_user_can( $type->cap->publish_posts ) ) {
			return $denied( 'status', 'publish ' . $change['type'] . ' items' );
		}
		if ( $post && ( 'trash' === $write['status'] ) !== ( 'trash' === $post->post_status ) && ! current_user_can( 'delete_post', $post->ID ) ) {
			return $denied( 'status', ( 'trash' === $write['status'] ? 'trash' : 'restore' ) . ' this ' . $change['type'] );
		}
	}
	if ( ! empty( $write['featured_image'] ) && ! current_user_can( 'upload_files' ) ) {
		return $denied( 'featured_image', 'upload files' );
	}
	foreach ( $write as $path => $value ) {
		if ( 0 !== strpos( $path, 'terms.' ) ) {
			continue;
		}
		$taxonomy = get_taxonomy( substr( $path, 6 ) );
		if ( ! current_user_can( $taxonomy->cap->assign_terms ) ) {
			return $denied( $path, 'assign ' . $taxonomy->name . ' terms' );
		}
		foreach ( $value as $term ) {
			if ( is_string( $term ) && ! current_user_can( $taxonomy->cap->edit_terms ) ) {
				return $denied( $path, 'create ' . $taxonomy->name . ' terms' );
			}
		}
	}
	return true;
}

/**
 * Values as compared: term lists as sets (names that exist as their ids), robots sorted.
 *
 * @param array $values path => value (fields or base).
 * @return array
 */
function igny8_normalize_post_values( array $values ) {
	foreach ( $values as $path => $value ) {
		if ( 0 === strpos( $path, 'terms.' ) && is_array( $value ) ) {
			$values[ $path ] = igny8_resolve_term_names( substr( $path, 6 ), $value );
		} elseif ( 'seo.robots' === $path ) {
			$values[ $path ] = igny8_merge_robots( $value );
		}
	}
	return $values;
}

/**
 * A list of term ids and names as a set: names of existing terms become their ids; others stay names.
 *
 * @param string $taxonomy Taxonomy.
 * @param array  $terms    Ids and names.
 * @return array
 */
function igny8_resolve_term_names( $taxonomy, array $terms ) {
	foreach ( $terms as $i => $term ) {
		if ( is_string( $term ) && taxonomy_exists( $taxonomy ) ) {
			$found = get_term_by( 'name', $term, $taxonomy );
			if ( $found instanceof WP_Term ) {
				$terms[ $i ] = (int) $found->term_id;
			}
		}
	}
	return igny8_merge_term_set( $terms );
}

/**
 * WordPress's values of a post's fields, as the sync sends them.
 *
 * @param WP_Post  $post      Post.
 * @param string[] $paths     Field paths.
 * @param array    $seo       igny8_seo_current().
 * @param array    $image     igny8_featured_image_current().
 * @return array path => value.
 */
function igny8_post_current_values( WP_Post $post, array $paths, array $seo, array $image ) {
	$columns = array(
		'title'   => 'post_title',
		'content' => 'post_content',
		'excerpt' => 'post_excerpt',
		'slug'    => 'post_name',
		'status'  => 'post_status',
	);
	$current = array();
	foreach ( $paths as $path ) {
		if ( isset( $columns[ $path ] ) ) {
			$current[ $path ] = (string) $post->{$columns[ $path ]};
		} elseif ( 'date_gmt' === $path ) {
			$current[ $path ] = '0000-00-00 00:00:00' === $post->post_date_gmt ? null : (string) $post->post_date_gmt;
		} elseif ( 'parent' === $path ) {
			$current[ $path ] = (int) $post->post_parent;
		} elseif ( 'menu_order' === $path ) {
			$current[ $path ] = (int) $post->menu_order;
		} elseif ( 'featured_image' === $path ) {
			$current[ $path ] = $image['url'];
		} elseif ( 0 === strpos( $path, 'terms.' ) ) {
			$ids              = wp_get_object_terms( $post->ID, substr( $path, 6 ), array( 'fields' => 'ids', 'update_term_meta_cache' => false ) );
			$current[ $path ] = igny8_merge_term_set( is_array( $ids ) ? array_map( 'intval', $ids ) : array() );
		} elseif ( 0 === strpos( $path, 'seo.' ) ) {
			$field            = substr( $path, 4 );
			$value            = isset( $seo[ $field ] ) ? $seo[ $field ] : null;
			$current[ $path ] = 'robots' === $field ? igny8_merge_robots( $value ) : $value;
		}
	}
	return $current;
}

/**
 * The seo.* values to write, by field.
 *
 * @param array $write path => value.
 * @return array field => string|null.
 */
function igny8_seo_values( array $write ) {
	$seo = array();
	foreach ( $write as $path => $value ) {
		if ( 0 === strpos( $path, 'seo.' ) ) {
			$seo[ substr( $path, 4 ) ] = $value;
		}
	}
	return $seo;
}

/**
 * Writes a post's fields (all but SEO, written after): named terms created, the image sideloaded, then
 * wp_insert_post() or wp_update_post(), the featured image and the terms.
 *
 * @param array        $change   Parsed change.
 * @param WP_Post|null $post     The post (null: create it).
 * @param array        $write    path => value.
 * @param array|null   $download A downloaded image to sideload.
 * @param int          $image    An attachment to use as the featured image.
 * @return int|WP_Error Post id.
 */
function igny8_write_post( array $change, $post, array $write, $download, $image ) {
	$terms = array();
	foreach ( $write as $path => $value ) {
		if ( 0 === strpos( $path, 'terms.' ) ) {
			$ids = igny8_create_named_terms( substr( $path, 6 ), $value );
			if ( is_wp_error( $ids ) ) {
				igny8_discard_download( $download );
				return $ids;
			}
			$terms[ substr( $path, 6 ) ] = $ids;
		}
	}
	if ( $download ) {
		$image = igny8_sideload_image( $download, $write['featured_image'], $post ? $post->ID : 0 );
		if ( is_wp_error( $image ) ) {
			return $image;
		}
	}

	$postarr = igny8_postarr( $write );
	if ( $post ) {
		if ( ! $write ) {
			return (int) $post->ID;
		}
		$postarr['ID'] = (int) $post->ID;
		if ( 'trash' === $post->post_status && isset( $write['status'] ) && 'trash' !== $write['status'] ) {
			wp_untrash_post( $post->ID );
		}
		if ( array_intersect( IGNY8_REVISIONED_FIELDS, array_keys( $write ) ) ) {
			// WordPress keeps the version after each save; the one before this change is kept too, so
			// that values the change replaces stay in the post's revisions.
			wp_save_post_revision( $post->ID );
		}
		$post_id = wp_update_post( wp_slash( $postarr ), true );
	} else {
		$postarr['post_type']  = $change['type'];
		$postarr['meta_input'] = array( '_igny8_change_id' => $change['marker'] );
		if ( ! isset( $postarr['post_status'] ) ) {
			$postarr['post_status'] = 'draft';
		}
		if ( $image ) {
			$postarr['meta_input']['_thumbnail_id'] = (int) $image;
		}
		$post_id = wp_insert_post( wp_slash( $postarr ), true );
	}
	if ( is_wp_error( $post_id ) || ! $post_id ) {
		return igny8_change_error( 'post', 'WordPress did not save it: ' . ( is_wp_error( $post_id ) ? $post_id->get_error_message() : 'unknown error' ) );
	}
	$post_id = (int) $post_id;

	if ( array_key_exists( 'featured_image', $write ) ) {
		if ( null === $write['featured_image'] ) {
			delete_post_thumbnail( $post_id );
		} elseif ( $post ) {
			set_post_thumbnail( $post_id, $image );
		}
	}
	foreach ( $terms as $taxonomy => $ids ) {
		wp_set_object_terms( $post_id, $ids, $taxonomy );
	}
	return $post_id;
}

/**
 * The wp_insert_post() arguments for a change's post fields (unslashed).
 *
 * @param array $write path => value.
 * @return array
 */
function igny8_postarr( array $write ) {
	$columns = array(
		'title'      => 'post_title',
		'content'    => 'post_content',
		'excerpt'    => 'post_excerpt',
		'slug'       => 'post_name',
		'parent'     => 'post_parent',
		'menu_order' => 'menu_order',
	);
	$postarr = array();
	foreach ( $columns as $path => $column ) {
		if ( array_key_exists( $path, $write ) ) {
			$postarr[ $column ] = $write[ $path ];
		}
	}
	if ( isset( $write['status'] ) && 'trash' !== $write['status'] ) {
		$postarr['post_status'] = $write['status'];
	}
	if ( isset( $write['date_gmt'] ) ) {
		$postarr['post_date_gmt'] = $write['date_gmt'];
		$postarr['post_date']     = get_date_from_gmt( $write['date_gmt'] );
		$postarr['edit_date']     = true;
	}
	return $postarr;
}

/**
 * Term ids for a list of ids and names, creating the terms named that do not exist.
 *
 * @param string $taxonomy Taxonomy.
 * @param array  $terms    Ids and names (names of existing terms already resolved).
 * @return int[]|WP_Error
 */
function igny8_create_named_terms( $taxonomy, array $terms ) {
	$ids = array();
	foreach ( $terms as $term ) {
		if ( is_int( $term ) ) {
			$ids[] = $term;
			continue;
		}
		$created = wp_insert_term( wp_slash( $term ), $taxonomy );
		if ( is_wp_error( $created ) ) {
			$existing = $created->get_error_data( 'term_exists' );
			if ( ! $existing ) {
				return igny8_change_error( 'terms.' . $taxonomy, sprintf( 'could not create "%s": %s', $term, $created->get_error_message() ) );
			}
			$ids[] = (int) $existing;
			continue;
		}
		$ids[] = (int) $created['term_id'];
	}
	return array_values( array_unique( $ids ) );
}
