<?php
/**
 * Applying one change in WordPress, as the current user (the caller switched to the Publish as user): the change
 * read at the edge (sync/change-fields.php), then a post or a term applied (sync/change-apply-post.php,
 * sync/change-apply-term.php), and the outcome in the shape docs/sync-protocol.md reports it.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Applies a change (already known not to be a re-delivery of one applied before).
 *
 * @param array $raw The change as received; its id is a positive integer.
 * @return array The outcome.
 */
function igny8_apply_change( array $raw ) {
	$change = igny8_parse_change( $raw );
	if ( is_wp_error( $change ) ) {
		return igny8_rejected( igny8_change_id( $raw ), $change );
	}
	return 'term' === $change['kind'] ? igny8_apply_term_change( $change ) : igny8_apply_post_change( $change );
}

/**
 * @param int             $id     Change id.
 * @param WP_Error|string $reason Why.
 * @return array A rejected outcome.
 */
function igny8_rejected( $id, $reason ) {
	return array(
		'id'     => (int) $id,
		'status' => 'rejected',
		'reason' => is_wp_error( $reason ) ? $reason->get_error_message() : (string) $reason,
	);
}

/**
 * An applied or conflict outcome as reported: applied carries overwritten and dropped (field path => value),
 * conflict carries WordPress's value of each conflicting field and the fields that hold the change's value.
 *
 * @param int         $id           Change id.
 * @param int         $wp_id        Object id.
 * @param string|null $modified_gmt The object's saved modification time.
 * @param array       $merge        igny8_merge_change().
 * @return array
 */
function igny8_change_outcome( $id, $wp_id, $modified_gmt, array $merge ) {
	$outcome = array(
		'id'           => (int) $id,
		'status'       => $merge['status'],
		'wp_id'        => (int) $wp_id,
		'modified_gmt' => $modified_gmt,
	);
	if ( 'conflict' === $merge['status'] ) {
		$conflicts = array();
		foreach ( $merge['conflicts'] as $path => $value ) {
			$conflicts[ $path ] = array( 'wordpress' => $value );
		}
		$outcome['conflicts'] = $conflicts;
		$outcome['applied']   = $merge['applied'];
	} else {
		$outcome['overwritten'] = $merge['overwritten'];
		$outcome['dropped']     = $merge['dropped'];
	}
	return $outcome;
}
