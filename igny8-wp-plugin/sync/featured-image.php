<?php
/**
 * A change's featured image: an http(s) URL downloaded (through wp_safe_remote_get(), so private and loopback
 * addresses are refused) and checked to be an image before anything is written, then sideloaded into the media
 * library. The attachment remembers the URL it came from, so the same URL is never downloaded twice and counts
 * as the post's current image in the three-way merge.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** Image types a featured image may be. */
const IGNY8_IMAGE_TYPES = array(
	'image/jpeg' => 'jpg',
	'image/png'  => 'png',
	'image/gif'  => 'gif',
	'image/webp' => 'webp',
);

/** An image larger than this is not downloaded. */
const IGNY8_IMAGE_MAX_BYTES = 26214400;

/**
 * The post's featured image URL, and the URL it was downloaded from when IGNY8 set it.
 *
 * @param int $post_id Post id.
 * @return array{url: string|null, aliases: string[]}
 */
function igny8_featured_image_current( $post_id ) {
	$thumbnail = (int) get_post_thumbnail_id( $post_id );
	$url       = $thumbnail > 0 ? wp_get_attachment_url( $thumbnail ) : false;
	$source    = $thumbnail > 0 ? (string) get_post_meta( $thumbnail, '_igny8_source_url', true ) : '';
	return array(
		'url'     => $url ? (string) $url : null,
		'aliases' => '' !== $source ? array( $source ) : array(),
	);
}

/**
 * An attachment IGNY8 already downloaded from this URL, or 0.
 *
 * @param string $url Source URL.
 * @return int
 */
function igny8_find_sideloaded_image( $url ) {
	global $wpdb;
	$id = (int) $wpdb->get_var( $wpdb->prepare( "SELECT m.post_id FROM {$wpdb->postmeta} m INNER JOIN {$wpdb->posts} p ON p.ID = m.post_id AND p.post_type = 'attachment' WHERE m.meta_key = '_igny8_source_url' AND m.meta_value = %s ORDER BY m.post_id LIMIT 1", $url ) );
	return $id;
}

/**
 * Downloads an image to a temporary file (the caller sideloads or deletes it).
 *
 * @param string $url http(s) URL.
 * @return array|WP_Error {file, name, mime}, or why the URL does not answer with an image.
 */
function igny8_download_image( $url ) {
	require_once ABSPATH . 'wp-admin/includes/file.php';
	$path = (string) wp_parse_url( $url, PHP_URL_PATH );
	$file = wp_tempnam( '' !== $path ? wp_basename( $path ) : 'igny8-image' );
	if ( ! $file ) {
		return igny8_change_error( 'featured_image', 'could not create a temporary file' );
	}
	$response = wp_safe_remote_get(
		$url,
		array(
			'timeout'             => (int) apply_filters( 'igny8_image_timeout', 20 ),
			'redirection'         => 3,
			'stream'              => true,
			'filename'            => $file,
			'limit_response_size' => IGNY8_IMAGE_MAX_BYTES,
		)
	);
	$error = null;
	if ( is_wp_error( $response ) ) {
		$error = igny8_change_error( 'featured_image', 'could not download ' . esc_url_raw( $url ) . ': ' . $response->get_error_message() );
	} elseif ( 200 !== (int) wp_remote_retrieve_response_code( $response ) ) {
		$error = igny8_change_error( 'featured_image', sprintf( '%s answered HTTP %d', esc_url_raw( $url ), (int) wp_remote_retrieve_response_code( $response ) ) );
	} else {
		clearstatcache( true, $file );
		$mime = is_file( $file ) && filesize( $file ) >= 12 ? wp_get_image_mime( $file ) : false;
		if ( ! $mime || ! isset( IGNY8_IMAGE_TYPES[ $mime ] ) ) {
			$error = igny8_change_error( 'featured_image', esc_url_raw( $url ) . ' did not answer with an image (JPEG, PNG, GIF or WebP)' );
		}
	}
	if ( $error ) {
		if ( is_file( $file ) ) {
			unlink( $file );
		}
		return $error;
	}
	$stem = sanitize_file_name( pathinfo( '' !== $path ? wp_basename( $path ) : 'image', PATHINFO_FILENAME ) );
	return array(
		'file' => $file,
		'name' => ( '' !== $stem ? $stem : 'image' ) . '.' . IGNY8_IMAGE_TYPES[ $mime ],
		'mime' => $mime,
	);
}

/**
 * Puts a downloaded image into the media library and remembers where it came from.
 *
 * @param array  $download igny8_download_image().
 * @param string $url      Source URL.
 * @param int    $parent   The post it belongs to (0: none yet).
 * @return int|WP_Error Attachment id.
 */
function igny8_sideload_image( array $download, $url, $parent ) {
	require_once ABSPATH . 'wp-admin/includes/file.php';
	require_once ABSPATH . 'wp-admin/includes/media.php';
	require_once ABSPATH . 'wp-admin/includes/image.php';
	$id = media_handle_sideload(
		array(
			'name'     => $download['name'],
			'tmp_name' => $download['file'],
		),
		(int) $parent
	);
	if ( is_file( $download['file'] ) ) {
		unlink( $download['file'] );
	}
	if ( is_wp_error( $id ) ) {
		return igny8_change_error( 'featured_image', 'could not add the image to the media library: ' . $id->get_error_message() );
	}
	update_post_meta( (int) $id, '_igny8_source_url', wp_slash( $url ) );
	return (int) $id;
}

/**
 * Forgets a downloaded image that will not be used.
 *
 * @param array|null $download igny8_download_image().
 */
function igny8_discard_download( $download ) {
	if ( is_array( $download ) && isset( $download['file'] ) && is_file( $download['file'] ) ) {
		unlink( $download['file'] );
	}
}
