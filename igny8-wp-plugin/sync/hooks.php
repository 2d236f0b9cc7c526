<?php
/**
 * When things are sent. The structure: a daily WP-Cron event while connected, plus a debounced push a few
 * minutes after something changes what IGNY8 knows (an item published or unpublished, a term added or
 * deleted, a plugin (de)activated, the two-way sync switch). Content: every change of a synced post,
 * term or SEO field is queued (sync/queue.php) and sent at the end of the request that made it and by a
 * cron event every minute; full syncs continue from their own cron event.
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

/** Sends the content queue (and reads what the platform asks for) every minute. */
const IGNY8_QUEUE_HOOK = 'igny8_send_queue';
/** The every-minute WP-Cron schedule. */
const IGNY8_MINUTE_SCHEDULE = 'igny8_every_minute';

add_action( IGNY8_CRON_HOOK, 'igny8_run_scheduled_structure_sync' );
add_action( IGNY8_CRON_HOOK_SOON, 'igny8_run_scheduled_structure_sync' );
add_action( IGNY8_QUEUE_HOOK, 'igny8_run_send_queue' );
add_action( IGNY8_FULL_SYNC_HOOK, 'igny8_run_full_sync_continue' );
add_filter( 'cron_schedules', 'igny8_cron_schedules' ); // phpcs:ignore WordPress.WP.CronInterval -- every minute is the protocol's pace.
add_action( 'admin_init', 'igny8_maybe_upgrade_schema' );
add_action( 'shutdown', 'igny8_send_queue_at_shutdown' );

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
 * Activation: the plugin's tables; resume the daily push and the queue's cron if the site is (still)
 * connected, first push right away.
 */
function igny8_activate() {
	igny8_install_schema();
	if ( igny8_is_connected() ) {
		igny8_schedule_structure_sync( time() );
		igny8_schedule_content_sync();
	}
}

/**
 * Deactivation: no pushes, no sending while the plugin is off (the queue keeps what it holds).
 */
function igny8_deactivate() {
	igny8_unschedule_structure_sync();
	igny8_unschedule_content_sync();
}

/**
 * The every-minute schedule the queue's cron event uses.
 *
 * @param array $schedules WP-Cron schedules.
 * @return array
 */
function igny8_cron_schedules( $schedules ) {
	$schedules[ IGNY8_MINUTE_SCHEDULE ] = array(
		'interval' => MINUTE_IN_SECONDS,
		'display'  => __( 'Every minute (IGNY8 content sync)', 'igny8' ),
	);
	return $schedules;
}

/**
 * Schedules the queue's every-minute event unless it is already scheduled.
 *
 * @return bool Whether it is scheduled.
 */
function igny8_schedule_content_sync() {
	if ( wp_next_scheduled( IGNY8_QUEUE_HOOK ) ) {
		return true;
	}
	return true === wp_schedule_event( time() + MINUTE_IN_SECONDS, IGNY8_MINUTE_SCHEDULE, IGNY8_QUEUE_HOOK );
}

/**
 * Removes the content sync's events.
 */
function igny8_unschedule_content_sync() {
	wp_clear_scheduled_hook( IGNY8_QUEUE_HOOK );
	wp_clear_scheduled_hook( IGNY8_FULL_SYNC_HOOK );
}

/**
 * The every-minute cron callback: a stalled full sync is resumed, an overflow reported, the platform's
 * requests read (every 5 minutes), then the queue is sent, batch after batch, for up to 20 seconds.
 *
 * @return array Totals of what was sent: batches, sent, applied, stale, rejected.
 */
function igny8_run_send_queue() {
	$totals = array(
		'batches'  => 0,
		'sent'     => 0,
		'applied'  => 0,
		'stale'    => 0,
		'rejected' => 0,
	);
	if ( ! igny8_is_connected() ) {
		igny8_unschedule_content_sync();
		return $totals;
	}
	igny8_maybe_upgrade_schema();
	igny8_resume_stalled_full_sync();
	if ( igny8_backoff_active() ) {
		return $totals;
	}
	igny8_send_resync_request();
	igny8_poll_content_status();
	if ( ! igny8_acquire_lock( 'queue' ) ) {
		return $totals;
	}
	/** This filter is documented in sync/full-sync.php (igny8_full_sync_step). */
	$time_limit = (int) apply_filters( 'igny8_full_sync_time_limit', 20 );
	igny8_allow_seconds( $time_limit + 60 );
	$deadline = microtime( true ) + $time_limit;
	do {
		$sent = igny8_send_queue_batch();
		if ( ! is_array( $sent ) ) {
			break;
		}
		++$totals['batches'];
		foreach ( array( 'sent', 'applied', 'stale', 'rejected' ) as $key ) {
			$totals[ $key ] += $sent[ $key ];
		}
	} while ( ( $sent['sent'] > 0 || $sent['dropped'] > 0 ) && microtime( true ) < $deadline );
	igny8_release_lock( 'queue' );
	return $totals;
}

/**
 * At the end of a request that queued changes (admin, REST, cron, CLI or a form post; not a front-end
 * page view), one batch is sent with a 5-second timeout, so a saved post reaches IGNY8 within seconds.
 * Whatever does not go now goes with the every-minute cron.
 *
 * @return array|WP_Error|null What igny8_send_queue_batch() answered, or null when nothing was sent.
 */
function igny8_send_queue_at_shutdown() {
	if ( ! igny8_queue_touched() || ! igny8_is_connected() ) {
		return null;
	}
	$method = isset( $_SERVER['REQUEST_METHOD'] ) ? strtoupper( (string) $_SERVER['REQUEST_METHOD'] ) : ''; // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- compared only.
	$rest   = defined( 'REST_REQUEST' ) && REST_REQUEST;
	if ( ! ( is_admin() || wp_doing_cron() || $rest || 'cli' === PHP_SAPI || 'POST' === $method ) ) {
		return null;
	}
	igny8_queue_touched( false );
	if ( igny8_backoff_active() ) {
		return null;
	}
	igny8_send_resync_request();
	if ( ! igny8_acquire_lock( 'queue' ) ) {
		return null;
	}
	$sent = igny8_send_queue_batch( 5 );
	igny8_release_lock( 'queue' );
	return $sent;
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
	igny8_forget_account_tokens(); // Kept by versions before 0.2.0.
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
