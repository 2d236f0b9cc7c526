<?php
/**
 * Applying a term change (name, slug, description, parent): created, or merged three-way into the live term and
 * saved with wp_update_term(). WordPress has no trash for terms.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Applies a term change: create or update (WordPress has no trash for terms).
 *
 * @param array $change Parsed change.
 * @return array Outcome.
 */
function igny8_apply_term_change( array $change ) {
	$id       = $change['id'];
	$taxonomy = get_taxonomy( $change['type'] );
	if ( ! $taxonomy || ! igny8_is_synced_taxonomy( $change['type'] ) ) {
		return igny8_rejected( $id, igny8_change_error( 'type', sprintf( 'taxonomy "%s" is not synced on this site', $change['type'] ) ) );
	}
	if ( 'trash' === $change['op'] ) {
		return igny8_rejected( $id, igny8_change_error( 'op', 'WordPress has no trash for terms' ) );
	}
	$term       = null;
	$completing = false;
	if ( 'create' === $change['op'] ) {
		$term       = igny8_find_created_term( $change['marker'], $taxonomy->name );
		$completing = null !== $term;
	} else {
		$term = get_term( $change['wp_id'], $taxonomy->name );
		if ( ! $term instanceof WP_Term ) {
			return igny8_rejected( $id, igny8_change_error( 'wp_id', sprintf( 'no %s term #%d on this site', $taxonomy->name, $change['wp_id'] ) ) );
		}
	}
	if ( $term && ! current_user_can( 'edit_term', $term->term_id ) ) {
		return igny8_rejected( $id, sprintf( 'the Publish as user may not edit %s term #%d', $taxonomy->name, $term->term_id ) );
	}
	if ( ! $term && ! current_user_can( $taxonomy->cap->edit_terms ) ) {
		return igny8_rejected( $id, sprintf( 'the Publish as user may not create %s terms', $taxonomy->name ) );
	}
	$fields = $change['fields'];
	if ( isset( $fields['parent'] ) && $fields['parent'] > 0 ) {
		$error = igny8_check_term_parent( $taxonomy, $term, $fields['parent'] );
		if ( is_wp_error( $error ) ) {
			return igny8_rejected( $id, $error );
		}
	}

	if ( ! $term ) {
		$created = wp_insert_term( wp_slash( $fields['name'] ), $taxonomy->name, wp_slash( igny8_term_args( array_diff_key( $fields, array( 'name' => true ) ) ) ) );
		if ( is_wp_error( $created ) ) {
			return igny8_rejected( $id, igny8_change_error( 'name', $created->get_error_message() ) );
		}
		add_term_meta( (int) $created['term_id'], '_igny8_change_id', wp_slash( $change['marker'] ), true );
		$blank = array_fill_keys( array_keys( $fields ), null );
		return igny8_term_outcome( $id, (int) $created['term_id'], igny8_merge_change( $fields, $blank, $blank, 'manual' ) );
	}

	$current = array(
		'name'        => (string) $term->name,
		'slug'        => (string) $term->slug,
		'description' => (string) $term->description,
		'parent'      => (int) $term->parent,
	);
	$current = array_intersect_key( $current, $fields );
	$merge   = $completing
		? igny8_merge_change( $fields, $current, $current, 'platform_wins' )
		: igny8_merge_change( $fields, $change['base'], $current, $change['policy'] );
	if ( $completing ) {
		$merge['overwritten'] = array();
	}
	if ( $merge['write'] ) {
		$updated = wp_update_term( $term->term_id, $taxonomy->name, wp_slash( igny8_term_args( $merge['write'] ) ) );
		if ( is_wp_error( $updated ) ) {
			return igny8_rejected( $id, igny8_change_error( 'term', $updated->get_error_message() ) );
		}
	}
	return igny8_term_outcome( $id, (int) $term->term_id, $merge );
}

/**
 * The parent of a term exists in its taxonomy, which has a hierarchy, and is not the term or one of its children.
 *
 * @param WP_Taxonomy  $taxonomy Taxonomy.
 * @param WP_Term|null $term     The term (null: not created yet).
 * @param int          $parent   Parent term id.
 * @return true|WP_Error
 */
function igny8_check_term_parent( WP_Taxonomy $taxonomy, $term, $parent ) {
	if ( ! $taxonomy->hierarchical ) {
		return igny8_change_error( 'parent', sprintf( 'taxonomy "%s" has no hierarchy', $taxonomy->name ) );
	}
	if ( ! ( get_term( $parent, $taxonomy->name ) instanceof WP_Term ) ) {
		return igny8_change_error( 'parent', sprintf( 'term %d does not exist', $parent ) );
	}
	if ( $term && ( (int) $term->term_id === $parent || in_array( (int) $term->term_id, array_map( 'intval', get_ancestors( $parent, $taxonomy->name, 'taxonomy' ) ), true ) ) ) {
		return igny8_change_error( 'parent', 'a term cannot be under itself' );
	}
	return true;
}

/**
 * wp_insert_term()/wp_update_term() arguments for term fields (unslashed).
 *
 * @param array $fields name, slug, description, parent.
 * @return array
 */
function igny8_term_args( array $fields ) {
	$args = array();
	foreach ( array( 'name', 'slug', 'description', 'parent' ) as $field ) {
		if ( array_key_exists( $field, $fields ) ) {
			$args[ $field ] = $fields[ $field ];
		}
	}
	return $args;
}

/**
 * The term IGNY8 created with this change (term meta _igny8_change_id holds its marker), or null.
 *
 * @param string $marker   igny8_change_marker().
 * @param string $taxonomy Taxonomy.
 * @return WP_Term|null
 */
function igny8_find_created_term( $marker, $taxonomy ) {
	global $wpdb;
	$term_id = (int) $wpdb->get_var( $wpdb->prepare( "SELECT term_id FROM {$wpdb->termmeta} WHERE meta_key = '_igny8_change_id' AND meta_value = %s ORDER BY term_id LIMIT 1", (string) $marker ) );
	$term    = $term_id > 0 ? get_term( $term_id, $taxonomy ) : null;
	return $term instanceof WP_Term ? $term : null;
}

/**
 * The outcome of a term change (terms have no modification time: modified_gmt is null).
 *
 * @param int   $id      Change id.
 * @param int   $term_id Term id.
 * @param array $merge   igny8_merge_change().
 * @return array
 */
function igny8_term_outcome( $id, $term_id, array $merge ) {
	return igny8_change_outcome( $id, $term_id, null, $merge );
}
