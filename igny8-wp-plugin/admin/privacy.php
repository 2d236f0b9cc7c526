<?php
/**
 * The text WordPress suggests for the site's privacy policy (Settings → Privacy → Policy Guide): what this
 * plugin sends to IGNY8, when, and what it never sends.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/** IGNY8's terms of use. */
const IGNY8_TERMS_URL = 'https://igny8.com/terms/';
/** IGNY8's privacy policy. */
const IGNY8_PRIVACY_URL = 'https://igny8.com/privacy/';

add_action( 'admin_init', 'igny8_add_privacy_policy_content' );

/**
 * Offers the suggested text in WordPress's privacy policy guide.
 */
function igny8_add_privacy_policy_content() {
	if ( function_exists( 'wp_add_privacy_policy_content' ) ) {
		wp_add_privacy_policy_content( __( 'IGNY8', 'igny8' ), igny8_privacy_policy_text() );
	}
}

/**
 * The suggested text: a note for the site owner, then paragraphs to copy.
 *
 * @return string HTML.
 */
function igny8_privacy_policy_text() {
	$paragraphs = array(
		'<p class="privacy-policy-tutorial">' . esc_html__( 'The IGNY8 plugin connects this site to IGNY8, an SEO content platform (or to the self-hosted IGNY8 entered in Settings → IGNY8 API). It sends content, never data about visitors. Adapt the text below to the post types and taxonomies you sync (IGNY8 → Site → Settings → Content Types).', 'igny8' ) . '</p>',
		'<strong class="privacy-policy-tutorial">' . esc_html__( 'Suggested text:', 'igny8' ) . ' </strong>',
		'<p>' . esc_html__( 'We use IGNY8 to plan, write and optimise the content of this website. The content we publish or draft here (titles, text, excerpts, addresses, featured images, categories and tags, search engine titles and descriptions) and the display names of its authors are sent to IGNY8 and stored there, when the content is created or changed and when IGNY8 checks that its copy is complete. Comments and the data of visitors are not sent.', 'igny8' ) . '</p>',
		'<p>' . sprintf(
			/* translators: 1: IGNY8's privacy policy URL, 2: IGNY8's terms of use URL. */
			esc_html__( 'IGNY8\'s privacy policy: %1$s. Its terms of use: %2$s.', 'igny8' ),
			'<a href="' . esc_url( IGNY8_PRIVACY_URL ) . '">' . esc_html( IGNY8_PRIVACY_URL ) . '</a>',
			'<a href="' . esc_url( IGNY8_TERMS_URL ) . '">' . esc_html( IGNY8_TERMS_URL ) . '</a>'
		) . '</p>',
	);
	return implode( "\n", $paragraphs );
}
