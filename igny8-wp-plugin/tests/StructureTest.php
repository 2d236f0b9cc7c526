<?php
/**
 * igny8_get_site_structure(): what the site reports about its post types and taxonomies.
 *
 * @package Igny8
 */

class StructureTest extends Igny8_TestCase {

	protected function setUp(): void {
		parent::setUp();
		$this->register_test_post_type( 'igny8_book', array( 'label' => 'Books' ) );
		$this->register_test_taxonomy( 'igny8_genre', 'igny8_book', array( 'label' => 'Genres', 'hierarchical' => true ) );
		$this->register_test_post_type( 'igny8_private', array( 'public' => false ) );
	}

	private function add_books( $published, $drafts ) {
		for ( $i = 0; $i < $published + $drafts; $i++ ) {
			wp_insert_post(
				array(
					'post_type'   => 'igny8_book',
					'post_status' => $i < $published ? 'publish' : 'draft',
					'post_title'  => "Book $i",
				)
			);
		}
	}

	public function test_custom_post_type_counts_only_published_items() {
		$this->add_books( 3, 2 );

		$structure = igny8_get_site_structure();

		$this->assertSame(
			array( 'label' => 'Books', 'count' => 3, 'enabled' => false, 'fetch_limit' => 50 ),
			$structure['post_types']['igny8_book']
		);
	}

	public function test_builtin_post_type_counts_match_wordpress() {
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'One more' ) );
		wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'private', 'post_title' => 'Private page' ) );

		$structure = igny8_get_site_structure();

		$this->assertSame( (int) wp_count_posts( 'post' )->publish, $structure['post_types']['post']['count'] );
		$this->assertSame( (int) wp_count_posts( 'page' )->publish, $structure['post_types']['page']['count'] );
		$this->assertGreaterThanOrEqual( 1, $structure['post_types']['post']['count'] );
	}

	public function test_hierarchical_custom_taxonomy_counts_all_its_terms() {
		$parent = wp_insert_term( 'Fiction', 'igny8_genre' );
		wp_insert_term( 'Crime', 'igny8_genre', array( 'parent' => $parent['term_id'] ) );
		wp_insert_term( 'Poetry', 'igny8_genre' );

		$structure = igny8_get_site_structure();

		$this->assertSame(
			array( 'label' => 'Genres', 'count' => 3, 'enabled' => false, 'fetch_limit' => 50 ),
			$structure['taxonomies']['igny8_genre']
		);
		$this->assertSame( (int) wp_count_terms( array( 'taxonomy' => 'category', 'hide_empty' => false ) ), $structure['taxonomies']['category']['count'] );
	}

	public function test_attachment_post_format_and_non_public_types_are_left_out() {
		$structure = igny8_get_site_structure();

		$this->assertArrayNotHasKey( 'attachment', $structure['post_types'] );
		$this->assertArrayNotHasKey( 'igny8_private', $structure['post_types'] );
		$this->assertArrayNotHasKey( 'post_format', $structure['taxonomies'] );
		$this->assertArrayHasKey( 'post', $structure['post_types'] );
		$this->assertArrayHasKey( 'category', $structure['taxonomies'] );
	}

	public function test_builtin_types_start_enabled_with_limit_100_and_others_disabled_with_50() {
		$structure = igny8_get_site_structure();

		foreach ( array( 'post', 'page' ) as $name ) {
			$this->assertTrue( $structure['post_types'][ $name ]['enabled'], $name );
			$this->assertSame( 100, $structure['post_types'][ $name ]['fetch_limit'], $name );
		}
		foreach ( array( 'category', 'post_tag' ) as $name ) {
			$this->assertTrue( $structure['taxonomies'][ $name ]['enabled'], $name );
			$this->assertSame( 100, $structure['taxonomies'][ $name ]['fetch_limit'], $name );
		}
		$this->assertFalse( $structure['post_types']['igny8_book']['enabled'] );
		$this->assertSame( 50, $structure['post_types']['igny8_book']['fetch_limit'] );
		$this->assertFalse( $structure['taxonomies']['igny8_genre']['enabled'] );
		$this->assertSame( 50, $structure['taxonomies']['igny8_genre']['fetch_limit'] );
	}

	public function test_effective_settings_from_the_platform_win_over_defaults() {
		update_option(
			'igny8_effective_settings',
			array(
				'post_types' => array(
					'igny8_book' => array( 'enabled' => true, 'fetch_limit' => 500 ),
					'page'       => array( 'enabled' => false ),
				),
				'taxonomies' => array( 'igny8_genre' => array( 'enabled' => true, 'fetch_limit' => 20 ) ),
			),
			false
		);
		$this->add_books( 1, 0 );

		$structure = igny8_get_site_structure();

		$this->assertSame( array( 'label' => 'Books', 'count' => 1, 'enabled' => true, 'fetch_limit' => 500 ), $structure['post_types']['igny8_book'] );
		$this->assertFalse( $structure['post_types']['page']['enabled'] );
		$this->assertSame( 100, $structure['post_types']['page']['fetch_limit'] );
		$this->assertSame( array( 'label' => 'Genres', 'count' => 0, 'enabled' => true, 'fetch_limit' => 20 ), $structure['taxonomies']['igny8_genre'] );
		$this->assertTrue( $structure['post_types']['post']['enabled'], 'types the platform did not mention keep their defaults' );
	}

	public function test_excluded_post_types_filter_removes_and_readds_types() {
		$this->add_test_filter(
			'igny8_excluded_post_types',
			static function ( $excluded ) {
				return array( 'page' ); // Drops the default 'attachment' too.
			}
		);

		$structure = igny8_get_site_structure();

		$this->assertArrayNotHasKey( 'page', $structure['post_types'] );
		$this->assertArrayHasKey( 'attachment', $structure['post_types'] );
		$this->assertTrue( $structure['post_types']['attachment']['enabled'] );
	}

	public function test_excluded_taxonomies_filter_removes_taxonomies() {
		$this->add_test_filter(
			'igny8_excluded_taxonomies',
			static function ( $excluded ) {
				$excluded[] = 'post_tag';
				return $excluded;
			}
		);

		$structure = igny8_get_site_structure();

		$this->assertArrayNotHasKey( 'post_tag', $structure['taxonomies'] );
		$this->assertArrayNotHasKey( 'post_format', $structure['taxonomies'] );
		$this->assertArrayHasKey( 'category', $structure['taxonomies'] );
	}

	public function test_site_structure_filter_changes_the_result_and_invalid_entries_are_dropped() {
		$this->add_test_filter(
			'igny8_site_structure',
			static function ( $structure ) {
				$structure['post_types']['post']['enabled']           = false;
				$structure['post_types']['Bad Name!']                 = array( 'label' => 'x', 'count' => 1 );
				$structure['post_types']['a_very_long_post_type_name'] = array( 'label' => 'too long for WordPress', 'count' => 1 );
				$structure['taxonomies']['igny8_extra']               = array( 'label' => 'Extra', 'count' => -5, 'enabled' => true, 'fetch_limit' => 0 );
				return $structure;
			}
		);

		$structure = igny8_get_site_structure();

		$this->assertFalse( $structure['post_types']['post']['enabled'] );
		$this->assertArrayNotHasKey( 'Bad Name!', $structure['post_types'] );
		$this->assertArrayNotHasKey( 'a_very_long_post_type_name', $structure['post_types'] );
		$this->assertSame( array( 'label' => 'Extra', 'count' => 0, 'enabled' => true, 'fetch_limit' => 50 ), $structure['taxonomies']['igny8_extra'] );
	}

	public function test_counting_takes_the_same_few_queries_however_many_items_and_types() {
		global $wpdb;
		igny8_get_site_structure(); // Warm the options cache.
		$before = $wpdb->num_queries;
		igny8_get_site_structure();
		$few = $wpdb->num_queries - $before;

		$this->add_books( 30, 0 );
		for ( $i = 0; $i < 10; $i++ ) {
			$this->register_test_post_type( "igny8_pt$i" );
			$this->register_test_taxonomy( "igny8_tax$i", "igny8_pt$i" );
			wp_insert_term( "Term $i", "igny8_tax$i" );
		}
		$before = $wpdb->num_queries;
		$structure = igny8_get_site_structure();
		$many      = $wpdb->num_queries - $before;

		$this->assertSame( 30, $structure['post_types']['igny8_book']['count'] );
		$this->assertSame( 1, $structure['taxonomies']['igny8_tax9']['count'] );
		$this->assertLessThanOrEqual( 2, $few );
		$this->assertSame( $few, $many );
	}
}
