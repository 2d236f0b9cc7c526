<?php
/**
 * When the structure is pushed: a daily WP-Cron event while connected, plus a debounced push a few
 * minutes after something changes what IGNY8 knows (an item published or unpublished, a term added or
 * deleted, a plugin (de)activated, the two-way sync switch).
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

add_action( 'transition_post_status', 'igny8_on_transition_post_status', 10, 3 );
add_action( 'created_term', 'igny8_on_term_change', 10, 3 );
add_action( 'delete_term', 'igny8_on_term_change', 10, 3 );
add_action( 'activated_plugin', 'igny8_on_plugin_change' );
add_action( 'deactivated_plugin', 'igny8_on_plugin_change' );
add_action( 'add_option_igny8_two_way_sync_enabled', 'igny8_queue_structure_sync' );
add_action( 'update_option_igny8_two_way_sync_enabled', 'igny8_queue_structure_sync' );

/**
 * Activation: resume the daily push if the site is (still) connected, first run right away.
 */
function igny8_activate() {
	if ( igny8_is_connected() ) {
		igny8_schedule_structure_sync( time() );
	}
}

/**
 * Deactivation: no pushes while the plugin is off.
 */
function igny8_deactivate() {
	igny8_unschedule_structure_sync();
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
	$type = get_post_type_object( $post->post_type );
	if ( ! $type || ! $type->public || in_array( $post->post_type, (array) apply_filters( 'igny8_excluded_post_types', array( 'attachment' ) ), true ) ) {
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
	$object = get_taxonomy( $taxonomy );
	if ( ! $object || ! $object->public || in_array( $taxonomy, (array) apply_filters( 'igny8_excluded_taxonomies', array( 'post_format' ) ), true ) ) {
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
