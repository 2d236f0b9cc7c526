<?php
/**
 * When things are sent. The structure: a daily WP-Cron event while connected, plus a debounced push a few
 * minutes after something changes what IGNY8 knows (an item published or unpublished, a term added or
 * deleted, a plugin (de)activated, the two-way sync switch). Content: every change of a synced post,
 * term or SEO field is queued (sync/queue.php) and sent after the request that made it has answered
 * (sync/background.php), or by the queue's cron event (sync/cron.php); full syncs continue from their own
 * cron event.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Daily structure push. */
const IGNY8_CRON_HOOK = 'igny8_sync_site_structure';
/** One-off push after a change, debounced. */
const IGNY8_CRON_HOOK_SOON = 'igny8_sync_site_structure_soon';

add_action( IGNY8_CRON_HOOK, 'igny8_run_scheduled_structure_sync' );
add_action( IGNY8_CRON_HOOK_SOON, 'igny8_run_scheduled_structure_sync' );
add_action( IGNY8_FULL_SYNC_HOOK, 'igny8_run_full_sync_continue' );
add_action( 'admin_init', 'igny8_maybe_upgrade_schema' );

// Content changes.
add_action( 'save_post', 'igny8_on_save_post', 10, 2 );
add_action( 'transition_post_status', 'igny8_on_post_status_change', 10, 3 );
add_action( 'deleted_post', 'igny8_on_deleted_post', 10, 2 );
add_action( 'set_object_terms', 'igny8_on_set_object_terms', 10, 4 );
add_action( 'created_term', 'igny8_on_term_saved', 10, 3 );
add_action( 'edited_term', 'igny8_on_term_saved', 10, 3 );
add_action( 'delete_term', 'igny8_on_term_deleted', 10, 3 );
add_action( 'edited_term_taxonomy', 'igny8_on_term_taxonomy_changed', 10, 2 );
add_action( 'edited_term_taxonomies', 'igny8_on_terms_reparented' );
add_action( 'added_post_meta', 'igny8_on_post_meta_change', 10, 3 );
add_action( 'updated_post_meta', 'igny8_on_post_meta_change', 10, 3 );
add_action( 'deleted_post_meta', 'igny8_on_post_meta_change', 10, 3 );

add_action( 'transition_post_status', 'igny8_on_transition_post_status', 10, 3 );
add_action( 'created_term', 'igny8_on_term_change', 10, 3 );
add_action( 'delete_term', 'igny8_on_term_change', 10, 3 );
add_action( 'activated_plugin', 'igny8_on_plugin_change' );
add_action( 'deactivated_plugin', 'igny8_on_plugin_change' );
add_action( 'add_option_igny8_two_way_sync_enabled', 'igny8_queue_structure_sync' );
add_action( 'update_option_igny8_two_way_sync_enabled', 'igny8_queue_structure_sync' );

/**
 * Activation: the plugin's tables; on a site that is (still) connected, resume the daily push (first push
 * right away) and the content sync's events, and verify the platform's copy: edits made while the plugin
 * was off never reached the queue (unless a full sync is pending, which brings everything anyway).
 */
function igny8_activate() {
	igny8_install_schema();
	if ( igny8_is_connected() ) {
		igny8_schedule_structure_sync( time() );
		igny8_schedule_content_sync();
		if ( igny8_content_sync_active() && ! igny8_full_sync_in_progress() ) {
			igny8_request_verification( 'reactivated' );
		}
	}
}

/**
 * Deactivation: no pushes, no sending while the plugin is off (the queue keeps what it holds).
 */
function igny8_deactivate() {
	igny8_unschedule_structure_sync();
	igny8_unschedule_content_sync();
}

/* ------------------------------------------------------------------------------------------------------
 * Content changes → queue
 * --------------------------------------------------------------------------------------------------- */

/**
 * Queues a post's current state, if its type is synced (revisions, autosaves and editor stubs never are).
 *
 * @param WP_Post|int|null $post Post.
 * @param string           $op   upsert|delete.
 */
function igny8_queue_post( $post, $op = 'upsert' ) {
	$post = get_post( $post );
	if ( ! $post || ! igny8_content_sync_active() ) {
		return;
	}
	if ( 'revision' === $post->post_type || in_array( $post->post_status, IGNY8_UNSYNCED_STATUSES, true ) || wp_is_post_autosave( $post ) ) {
		return;
	}
	if ( igny8_is_synced_post_type( $post->post_type ) ) {
		igny8_queue_add( 'post', $post->post_type, (int) $post->ID, $op );
	}
}

/**
 * @param int     $post_id Post id.
 * @param WP_Post $post    Post.
 */
function igny8_on_save_post( $post_id, $post ) {
	igny8_queue_post( $post );
}

/**
 * Trash, restore, publish, unpublish: the new status is synced.
 *
 * @param string  $new_status New status.
 * @param string  $old_status Old status.
 * @param WP_Post $post       Post.
 */
function igny8_on_post_status_change( $new_status, $old_status, $post ) {
	if ( $new_status !== $old_status ) {
		igny8_queue_post( $post );
	}
}

/**
 * A post was deleted for good.
 *
 * @param int          $post_id Post id.
 * @param WP_Post|null $post    The post as it was (WordPress 5.5+).
 */
function igny8_on_deleted_post( $post_id, $post = null ) {
	if ( $post instanceof WP_Post ) {
		igny8_queue_post( $post, 'delete' );
	}
}

/**
 * A post's terms changed (a synced taxonomy only).
 *
 * @param int    $object_id Post id.
 * @param array  $terms     Terms.
 * @param array  $tt_ids    Term taxonomy ids.
 * @param string $taxonomy  Taxonomy.
 */
function igny8_on_set_object_terms( $object_id, $terms, $tt_ids, $taxonomy ) {
	if ( igny8_content_sync_active() && igny8_is_synced_taxonomy( $taxonomy ) ) {
		igny8_queue_post( (int) $object_id );
	}
}

/**
 * Queues a term, if its taxonomy is synced.
 *
 * @param int    $term_id  Term id.
 * @param string $taxonomy Taxonomy.
 * @param string $op       upsert|delete.
 */
function igny8_queue_term( $term_id, $taxonomy, $op = 'upsert' ) {
	if ( igny8_content_sync_active() && igny8_is_synced_taxonomy( $taxonomy ) ) {
		igny8_queue_add( 'term', (string) $taxonomy, (int) $term_id, $op );
	}
}

/**
 * A term was created or edited (name, slug, parent, description).
 *
 * @param int    $term_id  Term id.
 * @param int    $tt_id    Term taxonomy id.
 * @param string $taxonomy Taxonomy.
 */
function igny8_on_term_saved( $term_id, $tt_id, $taxonomy ) {
	igny8_queue_term( $term_id, $taxonomy );
}

/**
 * A term was deleted.
 *
 * @param int    $term_id  Term id.
 * @param int    $tt_id    Term taxonomy id.
 * @param string $taxonomy Taxonomy.
 */
function igny8_on_term_deleted( $term_id, $tt_id, $taxonomy ) {
	igny8_queue_term( $term_id, $taxonomy, 'delete' );
}

/**
 * A term's count (or term_taxonomy row) changed.
 *
 * @param int    $tt_id    Term taxonomy id.
 * @param string $taxonomy Taxonomy name.
 */
function igny8_on_term_taxonomy_changed( $tt_id, $taxonomy ) {
	$taxonomy = is_object( $taxonomy ) && isset( $taxonomy->name ) ? $taxonomy->name : (string) $taxonomy;
	if ( ! igny8_content_sync_active() || ! igny8_is_synced_taxonomy( $taxonomy ) ) {
		return;
	}
	$term = get_term_by( 'term_taxonomy_id', (int) $tt_id, $taxonomy );
	if ( $term instanceof WP_Term ) {
		igny8_queue_term( $term->term_id, $term->taxonomy );
	}
}

/**
 * Children of a deleted term moved up to its parent.
 *
 * @param int[] $tt_ids Term taxonomy ids of the moved terms.
 */
function igny8_on_terms_reparented( $tt_ids ) {
	global $wpdb;
	$tt_ids = array_filter( array_map( 'intval', (array) $tt_ids ) );
	if ( ! $tt_ids || ! igny8_content_sync_active() ) {
		return;
	}
	// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- ints.
	foreach ( (array) $wpdb->get_results( "SELECT term_id, taxonomy FROM {$wpdb->term_taxonomy} WHERE term_taxonomy_id IN (" . implode( ',', $tt_ids ) . ')' ) as $row ) {
		igny8_queue_term( (int) $row->term_id, $row->taxonomy );
	}
}

/**
 * An SEO field, the featured image, or an igny8_sync_meta_keys key changed.
 *
 * @param int|int[] $meta_ids  Meta id(s).
 * @param int       $object_id Post id.
 * @param string    $meta_key  Meta key.
 */
function igny8_on_post_meta_change( $meta_ids, $object_id, $meta_key ) {
	if ( ! is_numeric( $object_id ) || (int) $object_id <= 0 || ! igny8_content_sync_active() ) {
		return;
	}
	if ( in_array( (string) $meta_key, igny8_watched_meta_keys(), true ) ) {
		igny8_queue_post( (int) $object_id );
	}
}

/**
 * Schedules the daily push unless it is already scheduled.
 *
 * @param int $first_run Unix time of the first run.
 * @return bool Whether the event is scheduled.
 */
function igny8_schedule_structure_sync( $first_run ) {
	if ( wp_next_scheduled( IGNY8_CRON_HOOK ) ) {
		return true;
	}
	return true === wp_schedule_event( (int) $first_run, 'daily', IGNY8_CRON_HOOK );
}

/**
 * Removes every scheduled push.
 */
function igny8_unschedule_structure_sync() {
	wp_clear_scheduled_hook( IGNY8_CRON_HOOK );
	wp_clear_scheduled_hook( IGNY8_CRON_HOOK_SOON );
}

/**
 * The cron callback. A leftover event on a disconnected site removes itself.
 */
function igny8_run_scheduled_structure_sync() {
	if ( ! igny8_is_connected() ) {
		igny8_unschedule_structure_sync();
		return;
	}
	igny8_maybe_upgrade_schema();
	igny8_forget_account_tokens(); // Kept by 0.1.0.
	igny8_schedule_content_sync(); // In case the event was lost (a cron array reset, a restore).
	igny8_sync_site_structure_to_backend();
}

/**
 * Schedules one push a few minutes from now, unless one is already waiting (a bulk import schedules one).
 *
 * @return bool Whether a push is waiting.
 */
function igny8_queue_structure_sync() {
	if ( ! igny8_is_connected() ) {
		return false;
	}
	if ( wp_next_scheduled( IGNY8_CRON_HOOK_SOON ) ) {
		return true;
	}
	/**
	 * Seconds between a structure change and its push.
	 *
	 * @param int $delay Default 300.
	 */
	$delay = max( 0, (int) apply_filters( 'igny8_structure_sync_delay', 5 * MINUTE_IN_SECONDS ) );
	return true === wp_schedule_single_event( time() + $delay, IGNY8_CRON_HOOK_SOON );
}

/**
 * An item entered or left the "publish" status: the published count of its type changed.
 *
 * @param string  $new_status New status.
 * @param string  $old_status Old status.
 * @param WP_Post $post       Post.
 */
function igny8_on_transition_post_status( $new_status, $old_status, $post ) {
	if ( $new_status === $old_status || ( 'publish' !== $new_status && 'publish' !== $old_status ) ) {
		return;
	}
	if ( ! isset( igny8_reportable_types()['post_types'][ $post->post_type ] ) ) {
		return;
	}
	igny8_queue_structure_sync();
}

/**
 * A term was created or deleted: the term count of its taxonomy changed.
 *
 * @param int    $term_id  Term id.
 * @param int    $tt_id    Term taxonomy id.
 * @param string $taxonomy Taxonomy.
 */
function igny8_on_term_change( $term_id, $tt_id, $taxonomy ) {
	if ( ! isset( igny8_reportable_types()['taxonomies'][ $taxonomy ] ) ) {
		return;
	}
	igny8_queue_structure_sync();
}

/**
 * Another plugin was (de)activated: it may add or remove post types and taxonomies.
 *
 * @param string $plugin Plugin file.
 */
function igny8_on_plugin_change( $plugin ) {
	if ( plugin_basename( IGNY8_PLUGIN_FILE ) === $plugin ) {
		return; // Our own (de)activation has its own hooks.
	}
	igny8_queue_structure_sync();
}
