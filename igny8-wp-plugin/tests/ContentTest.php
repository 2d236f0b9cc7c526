<?php
/**
 * What content sync sends (includes/content.php): each item's fields, terms, featured image, SEO fields
 * of the four SEO plugins, the filters, bulk reading, and hostile content sent safely.
 *
 * @package Igny8
 */

class ContentTest extends Igny8_TestCase {

	protected function setUp(): void {
		parent::setUp();
		$this->register_test_post_type( 'igny8_book', array( 'label' => 'Books', 'hierarchical' => true ) );
		$this->register_test_taxonomy( 'igny8_genre', 'igny8_book', array( 'label' => 'Genres', 'hierarchical' => true ) );
		$this->start_content_sync( array( 'post' => 100, 'page' => 100, 'igny8_book' => 100 ), array( 'category' => 100, 'post_tag' => 100, 'igny8_genre' => 100 ) );
	}

	protected function tearDown(): void {
		global $wpdb;
		$wpdb->query( "DROP TEMPORARY TABLE IF EXISTS {$wpdb->prefix}aioseo_posts" );
		igny8_aioseo_columns( true );
		parent::tearDown();
	}

	/**
	 * The item of one post, as a batch would carry it (encoded and decoded again).
	 *
	 * @param int $id Post id.
	 * @return array|null
	 */
	private function item( $id ) {
		$items = igny8_post_items( igny8_load_post_rows( array( $id ) ) );
		return isset( $items[ $id ] ) ? json_decode( igny8_encode_item( $items[ $id ] ), true ) : null;
	}

	private function attachment( $file ) {
		$id = wp_insert_attachment( array( 'post_title' => 'Cover', 'post_mime_type' => 'image/jpeg', 'post_status' => 'inherit' ) );
		update_post_meta( $id, '_wp_attached_file', $file );
		return $id;
	}

	public function test_a_post_item_carries_every_field_of_the_protocol() {
		$author = wp_insert_user( array( 'user_login' => 'ann', 'user_pass' => 'x-long-password', 'display_name' => 'Ann Author', 'role' => 'author' ) );
		$news   = wp_insert_term( 'News', 'category' );
		$tag    = wp_insert_term( 'Rust', 'post_tag' );
		$cover  = $this->attachment( '2025/01/cover.jpg' );
		$id     = wp_insert_post(
			array(
				'post_type'     => 'post',
				'post_status'   => 'publish',
				'post_title'    => 'Hello & welcome',
				'post_name'     => 'hello-welcome',
				'post_content'  => "<!-- wp:paragraph -->\n<p>Body with \"quotes\" and / slashes</p>\n<!-- /wp:paragraph -->",
				'post_excerpt'  => 'Short',
				'post_author'   => $author,
				'post_date_gmt' => '2025-01-02 03:04:05',
				'menu_order'    => 3,
				'post_category' => array( $news['term_id'] ),
				'tags_input'    => array( 'Rust' ),
			)
		);
		set_post_thumbnail( $id, $cover );
		$post = get_post( $id );

		$item = $this->item( $id );

		$this->assertSame( 'upsert', $item['op'] );
		$this->assertSame( 'post', $item['kind'] );
		$this->assertSame( 'post', $item['type'] );
		$this->assertSame( $id, $item['wp_id'] );
		$this->assertSame( $post->post_modified_gmt, $item['modified_gmt'] );
		$data = $item['data'];
		$this->assertSame( 'Hello & welcome', $data['title'] );
		$this->assertSame( 'hello-welcome', $data['slug'] );
		$this->assertSame( 'publish', $data['status'] );
		$this->assertSame( $post->post_content, $data['content'] );
		$this->assertSame( 'Short', $data['excerpt'] );
		$this->assertSame( 'Ann Author', $data['author'] );
		$this->assertSame( '2025-01-02 03:04:05', $data['date_gmt'] );
		$this->assertSame( get_permalink( $id ), $data['url'] );
		$this->assertSame( 0, $data['parent'] );
		$this->assertSame( 3, $data['menu_order'] );
		$this->assertSame( wp_get_attachment_url( $cover ), $data['featured_image'] );
		$this->assertStringEndsWith( '/2025/01/cover.jpg', $data['featured_image'] );
		$this->assertSame( array( 'category' => array( (int) $news['term_id'] ), 'post_tag' => array( (int) $tag['term_id'] ) ), $data['terms'] );
		$this->assertSame( array( 'title' => null, 'description' => null, 'focus_keyword' => null, 'canonical' => null, 'robots' => null, 'source' => null, 'raw' => array() ), $data['seo'] );
		$this->assertSame( array(), $data['meta'] );
		$this->assertArrayNotHasKey( 'content_truncated', $data );
	}

	public function test_empty_maps_are_json_objects_and_drafts_have_no_date() {
		$id = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'draft', 'post_title' => 'Draft page' ) );

		$items = igny8_post_items( igny8_load_post_rows( array( $id ) ) );
		$json  = igny8_encode_item( $items[ $id ] );

		$this->assertStringContainsString( '"terms":{}', $json, 'pages have no synced taxonomy' );
		$this->assertStringContainsString( '"meta":{}', $json );
		$this->assertStringContainsString( '"raw":{}', $json );
		$this->assertStringContainsString( '"date_gmt":null', $json );
		$this->assertStringContainsString( '"featured_image":null', $json );
	}

	public function test_custom_type_with_hierarchical_taxonomy_and_parent_items() {
		$fiction = wp_insert_term( 'Fiction', 'igny8_genre' );
		$crime   = wp_insert_term( 'Crime', 'igny8_genre', array( 'parent' => $fiction['term_id'] ) );
		$series  = wp_insert_post( array( 'post_type' => 'igny8_book', 'post_status' => 'publish', 'post_title' => 'Series', 'post_name' => 'series' ) );
		$volume  = wp_insert_post( array( 'post_type' => 'igny8_book', 'post_status' => 'publish', 'post_title' => 'Volume 1', 'post_name' => 'volume-1', 'post_parent' => $series ) );
		wp_set_object_terms( $volume, array( (int) $crime['term_id'] ), 'igny8_genre' );

		$item = $this->item( $volume );

		$this->assertSame( 'igny8_book', $item['type'] );
		$this->assertSame( $series, $item['data']['parent'] );
		$this->assertSame( array( 'igny8_genre' => array( (int) $crime['term_id'] ) ), $item['data']['terms'] );
		$this->assertSame( get_permalink( $volume ), $item['data']['url'] );
		$this->assertStringContainsString( 'series/volume-1', $item['data']['url'] );

		$terms = igny8_load_term_rows( array( $crime['term_id'], $fiction['term_id'] ) );
		$term  = igny8_term_item( $terms[ $crime['term_id'] ] );
		$this->assertMatchesRegularExpression( '/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/', $term['read_at'] );
		$this->assertSame(
			array( 'op' => 'upsert', 'kind' => 'term', 'type' => 'igny8_genre', 'wp_id' => (int) $crime['term_id'], 'checksum' => $this->documented_term_checksum( $crime['term_id'], 'igny8_genre' ), 'read_at' => $term['read_at'], 'data' => array( 'name' => 'Crime', 'slug' => 'crime', 'parent' => (int) $fiction['term_id'], 'count' => 1, 'description' => '' ) ),
			$term
		);
	}

	public function test_building_items_never_puts_partial_post_rows_in_the_object_cache() {
		global $wpdb;
		$series = wp_insert_post( array( 'post_type' => 'igny8_book', 'post_status' => 'publish', 'post_title' => 'Series', 'post_name' => 'series', 'post_content' => 'Series text' ) );
		$volume = wp_insert_post( array( 'post_type' => 'igny8_book', 'post_status' => 'publish', 'post_title' => 'Volume 1', 'post_parent' => $series, 'post_content' => 'Volume text' ) );
		$wpdb->update( $wpdb->posts, array( 'post_content_filtered' => 'filtered', 'to_ping' => 'https://example.com/' ), array( 'ID' => $series ) );
		// With a persistent object cache, whatever is in the 'posts' group while a batch is built is served
		// to every other request: it must be the whole row, as WP_Post::get_instance() caches it.
		$seen = array();
		$this->add_test_filter(
			'igny8_sync_item',
			static function ( $data ) use ( &$seen, $series, $volume ) {
				foreach ( array( $series, $volume ) as $id ) {
					$seen[] = array( $id, wp_cache_get( $id, 'posts' ) );
				}
				return $data;
			}
		);

		foreach ( array( 'queue', 'full sync' ) as $path ) {
			$seen = array();
			wp_cache_flush();
			if ( 'queue' === $path ) {
				igny8_post_items( igny8_load_post_rows( array( $series, $volume ) ) );
			} else {
				$this->run_full_sync();
			}
			$this->assertNotEmpty( $seen, $path );
			foreach ( $seen as list( $id, $cached ) ) {
				if ( false !== $cached ) {
					$row  = $wpdb->get_row( $wpdb->prepare( "SELECT * FROM {$wpdb->posts} WHERE ID = %d", $id ), ARRAY_A );
					$have = array_map( 'strval', array_intersect_key( (array) $cached, $row ) );
					$this->assertSame( $row, $have, "$path: post $id is cached whole" );
				}
			}
		}
	}

	public function test_only_synced_taxonomies_are_listed_in_terms() {
		$this->set_synced_types( array( 'post' => 100 ), array( 'category' => 100 ) );
		$id = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'T', 'tags_input' => array( 'Hidden' ) ) );

		$this->assertSame( array( 'category' ), array_keys( $this->item( $id )['data']['terms'] ) );
	}

	public function seo_sources() {
		return array(
			'yoast'    => array(
				array(
					'_yoast_wpseo_title'               => '%%title%% %%sep%% %%sitename%%',
					'_yoast_wpseo_metadesc'            => 'Yoast description',
					'_yoast_wpseo_focuskw'             => 'rust sync',
					'_yoast_wpseo_canonical'           => 'https://example.com/canonical/',
					'_yoast_wpseo_meta-robots-noindex' => '1',
					'_yoast_wpseo_meta-robots-nofollow' => '1',
					'_yoast_wpseo_meta-robots-adv'     => 'noarchive,nosnippet',
				),
				array( '%%title%% %%sep%% %%sitename%%', 'Yoast description', 'rust sync', 'https://example.com/canonical/', 'noindex, nofollow, noarchive, nosnippet', 'yoast' ),
			),
			'rank math' => array(
				array(
					'rank_math_title'         => '%title% %sep% %sitename%',
					'rank_math_description'   => 'Rank Math description',
					'rank_math_focus_keyword' => 'primary kw,secondary kw',
					'rank_math_canonical_url' => 'https://example.com/rm/',
					'rank_math_robots'        => array( 'noindex', 'nofollow' ),
				),
				array( '%title% %sep% %sitename%', 'Rank Math description', 'primary kw', 'https://example.com/rm/', 'noindex, nofollow', 'rankmath' ),
			),
			'seopress' => array(
				array(
					'_seopress_titles_title'       => '%%post_title%%',
					'_seopress_titles_desc'        => 'SEOPress description',
					'_seopress_analysis_target_kw' => 'seo,press',
					'_seopress_robots_canonical'   => 'https://example.com/sp/',
					'_seopress_robots_index'       => 'yes',
				),
				array( '%%post_title%%', 'SEOPress description', 'seo', 'https://example.com/sp/', 'noindex', 'seopress' ),
			),
		);
	}

	/**
	 * @dataProvider seo_sources
	 */
	public function test_seo_fields_of_each_plugin_are_normalised_with_raw_values_kept( array $meta, array $expected ) {
		$id = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'SEO' ) );
		foreach ( $meta as $key => $value ) {
			update_post_meta( $id, $key, $value );
		}

		$seo = $this->item( $id )['data']['seo'];

		$this->assertSame( $expected, array( $seo['title'], $seo['description'], $seo['focus_keyword'], $seo['canonical'], $seo['robots'], $seo['source'] ) );
		$this->assertSame( $meta, $seo['raw'], 'raw values as stored, template variables untouched' );
	}

	private function create_aioseo_table() {
		global $wpdb;
		// A temporary table: creating a real one would commit the test's transaction.
		$wpdb->query(
			"CREATE TEMPORARY TABLE {$wpdb->prefix}aioseo_posts (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, post_id bigint unsigned NOT NULL,
			title text, description text, keywords mediumtext, keyphrases longtext, canonical_url text, robots_default tinyint(1) NOT NULL DEFAULT 1,
			robots_noindex tinyint(1) NOT NULL DEFAULT 0, robots_nofollow tinyint(1) NOT NULL DEFAULT 0, robots_noarchive tinyint(1) NOT NULL DEFAULT 0,
			schema_type varchar(20), og_title text)"
		);
		igny8_aioseo_columns( true );
	}

	public function test_all_in_one_seo_fields_come_from_its_table() {
		global $wpdb;
		$this->create_aioseo_table();
		$id = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'AIOSEO' ) );
		$wpdb->insert(
			$wpdb->prefix . 'aioseo_posts',
			array(
				'post_id'         => $id,
				'title'           => '#post_title #separator_sa #site_title',
				'description'     => 'AIOSEO description',
				'keyphrases'      => '{"focus":{"keyphrase":"all in one","score":80},"additional":[]}',
				'canonical_url'   => 'https://example.com/aio/',
				'robots_default'  => 0,
				'robots_noindex'  => 1,
				'robots_nofollow' => 0,
			)
		);

		$seo = $this->item( $id )['data']['seo'];

		$this->assertSame( '#post_title #separator_sa #site_title', $seo['title'] );
		$this->assertSame( 'AIOSEO description', $seo['description'] );
		$this->assertSame( 'all in one', $seo['focus_keyword'] );
		$this->assertSame( 'https://example.com/aio/', $seo['canonical'] );
		$this->assertSame( 'noindex', $seo['robots'] );
		$this->assertSame( 'aioseo', $seo['source'] );
		$this->assertSame( '#post_title #separator_sa #site_title', $seo['raw']['aioseo_posts.title'] );
	}

	public function test_without_the_aioseo_table_its_mirrored_meta_is_used_and_no_query_fails() {
		global $wpdb;
		igny8_aioseo_columns( true );
		$id = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Mirror' ) );
		update_post_meta( $id, '_aioseo_title', 'Mirrored title' );
		update_post_meta( $id, '_aioseo_description', 'Mirrored description' );
		$wpdb->last_error = '';

		$seo = $this->item( $id )['data']['seo'];

		$this->assertSame( array( 'Mirrored title', 'Mirrored description', 'aioseo' ), array( $seo['title'], $seo['description'], $seo['source'] ) );
		$this->assertSame( array(), igny8_aioseo_columns() );
		$this->assertSame( '', $wpdb->last_error );
	}

	public function test_yoast_wins_over_leftovers_of_another_seo_plugin() {
		$id = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Both' ) );
		update_post_meta( $id, 'rank_math_title', 'Old Rank Math title' );
		update_post_meta( $id, '_yoast_wpseo_metadesc', 'Yoast description' );

		$seo = $this->item( $id )['data']['seo'];

		$this->assertSame( array( null, 'Yoast description', 'yoast' ), array( $seo['title'], $seo['description'], $seo['source'] ) );
		$this->assertSame( array( '_yoast_wpseo_metadesc' => 'Yoast description' ), $seo['raw'] );
	}

	public function test_filters_choose_types_shape_items_and_add_meta() {
		$id      = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Filtered' ) );
		$dropped = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Secret' ) );
		update_post_meta( $id, 'price', '9.99' );
		update_post_meta( $id, 'unrelated', 'not sent' );
		$this->add_test_filter( 'igny8_sync_meta_keys', static function ( $keys ) {
			$keys[] = 'price';
			return $keys;
		} );
		$this->add_test_filter(
			'igny8_sync_item',
			static function ( $data, $object, $kind ) {
				if ( 'post' === $kind && 'Secret' === $object->post_title ) {
					return null;
				}
				$data['title'] = strtoupper( $data['title'] );
				return $data;
			},
			10,
			3
		);

		$items = igny8_post_items( igny8_load_post_rows( array( $id, $dropped ) ) );

		$this->assertSame( array( $id ), array_keys( $items ) );
		$this->assertSame( 'FILTERED', $items[ $id ]['data']['title'] );
		$this->assertEquals( (object) array( 'price' => '9.99' ), $items[ $id ]['data']['meta'] );
		$this->assertContains( 'price', igny8_watched_meta_keys(), 'changes of an added key are synced too' );

		$this->add_test_filter( 'igny8_sync_post_types', static function ( $types ) {
			unset( $types['page'] );
			return $types;
		} );
		$this->add_test_filter( 'igny8_sync_taxonomies', '__return_empty_array' );
		$this->assertSame( array( 'post', 'igny8_book' ), array_keys( igny8_sync_types()['post_types'] ) );
		$this->assertSame( array(), igny8_sync_types()['taxonomies'] );
	}

	public function test_only_types_enabled_in_the_platform_that_exist_here_are_synced() {
		$settings                                = get_option( 'igny8_effective_settings' );
		$settings['post_types']['gone_type']     = array( 'enabled' => true, 'fetch_limit' => 10 );
		$settings['post_types']['page']['enabled'] = false;
		update_option( 'igny8_effective_settings', $settings, false );

		$types = igny8_sync_types();

		$this->assertSame( array( 'post' => 100, 'igny8_book' => 100 ), $types['post_types'] );
		$this->assertSame( array( 'category', 'post_tag', 'igny8_genre' ), array_keys( $types['taxonomies'] ) );
	}

	public function test_a_platform_answer_never_enables_types_the_site_does_not_report() {
		$this->register_test_post_type( 'igny8_order', array( 'public' => false, 'show_ui' => true ) ); // A shop's orders.
		$this->register_test_taxonomy( 'igny8_private_tax', 'post', array( 'public' => false ) );
		$this->add_test_filter(
			'igny8_excluded_post_types',
			static function ( $excluded ) {
				return array_merge( $excluded, array( 'page' ) );
			}
		);
		$settings = get_option( 'igny8_effective_settings' );
		foreach ( array( 'user_request', 'customize_changeset', 'wp_navigation', 'igny8_order', 'attachment', 'page' ) as $name ) {
			$settings['post_types'][ $name ] = array( 'enabled' => true, 'fetch_limit' => 10 );
		}
		foreach ( array( 'igny8_private_tax', 'post_format', 'wp_theme', 'nav_menu' ) as $name ) {
			$settings['taxonomies'][ $name ] = array( 'enabled' => true, 'fetch_limit' => 10 );
		}
		update_option( 'igny8_effective_settings', $settings, false );

		$types = igny8_sync_types();
		$this->assertSame( array( 'post', 'igny8_book' ), array_keys( $types['post_types'] ) );
		$this->assertSame( array( 'category', 'post_tag', 'igny8_genre' ), array_keys( $types['taxonomies'] ) );
		$structure = igny8_get_site_structure();
		$this->assertSame( array(), array_diff_key( $types['post_types'], $structure['post_types'] ), 'only reported post types' );
		$this->assertSame( array(), array_diff_key( $types['taxonomies'], $structure['taxonomies'] ), 'only reported taxonomies' );

		$order = wp_insert_post( array( 'post_type' => 'igny8_order', 'post_status' => 'publish', 'post_title' => 'Order #1' ) );
		$request = wp_insert_post( array( 'post_type' => 'user_request', 'post_status' => 'request-pending', 'post_title' => 'someone@example.com' ) );
		$this->assertSame( array(), array_filter( $this->queued(), static function ( $row ) {
			return false === strpos( $row, 'upsert post post ' );
		} ), 'neither is queued' );
		$this->run_full_sync();
		$this->assertSame( array(), $this->backend->held_of( 'post', 'igny8_order' ) );
		$this->assertSame( array(), $this->backend->held_of( 'post', 'user_request' ) );
		$this->assertSame( array(), $this->backend->held_of( 'post', 'page' ) );
		$this->assertGreaterThan( 0, $order + $request );

		// The site's own code may still choose a type (its owner's decision, not the platform's).
		$this->add_test_filter(
			'igny8_sync_post_types',
			static function ( $types ) {
				return $types + array( 'igny8_order' => 5 );
			}
		);
		$this->assertArrayHasKey( 'igny8_order', igny8_sync_types()['post_types'] );
	}

	public function test_a_batch_of_posts_costs_the_same_queries_whatever_its_size() {
		global $wpdb;
		$parent = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Parent' ) );
		$child  = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Child', 'post_parent' => $parent ) );
		$cat    = wp_insert_term( 'Bulk', 'category' );
		$cover  = $this->attachment( 'bulk.jpg' );
		$make   = function ( $n ) use ( $child, $cat, $cover ) {
			$ids = array();
			for ( $i = 0; $i < $n; $i++ ) {
				$type  = 0 === $i % 2 ? 'page' : 'post';
				$ids[] = $id = wp_insert_post( array( 'post_type' => $type, 'post_status' => 'publish', 'post_title' => "Bulk $i", 'post_parent' => 'page' === $type ? $child : 0, 'post_category' => array( $cat['term_id'] ) ) );
				update_post_meta( $id, '_yoast_wpseo_title', "T $i" );
				set_post_thumbnail( $id, $cover );
			}
			return $ids;
		};
		$count = function ( array $ids ) use ( $wpdb ) {
			wp_cache_flush();
			$rows   = igny8_load_post_rows( $ids );
			$before = $wpdb->num_queries;
			$items  = igny8_post_items( $rows );
			$this->assertCount( count( $ids ), $items );
			return $wpdb->num_queries - $before;
		};
		$small = $make( 4 );
		$large = $make( 40 );

		$this->assertSame( $count( $small ), $count( $large ), 'queries do not grow with the batch' );
		$this->assertLessThanOrEqual( 12, $count( $large ) );
		wp_cache_flush();
		$items = igny8_post_items( igny8_load_post_rows( $large ) );
		$this->assertFalse( wp_cache_get( $large[0], 'posts' ), 'what was primed is forgotten after the batch' );
		$this->assertFalse( wp_cache_get( $child, 'posts' ) );
		$this->assertSame( get_permalink( $large[0] ), $items[ $large[0] ]['data']['url'], 'grandchild page permalinks are built from primed parents' );
		$this->assertStringContainsString( '/parent/child/', $items[ $large[0] ]['data']['url'] );
	}

	public function test_hostile_content_is_sent_byte_for_byte_and_invalid_utf8_is_dropped() {
		$script = "<script>alert('x')</script></script><!-- --> \u{2028} \"quoted\" \\ back\\slash ü 😀";
		$id     = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Hostile', 'post_content' => wp_slash( $script ) ) );
		$this->add_test_filter(
			'igny8_sync_item',
			static function ( $data ) {
				$data['excerpt']          = "bad \xC3\x28 bytes \xFF end\0";
				$data['seo']['raw']['x'] = "\xE2\x82";
				return $data;
			}
		);

		$items = igny8_post_items( igny8_load_post_rows( array( $id ) ) );
		$json  = igny8_encode_item( $items[ $id ] );

		$this->assertSame( 1, preg_match( '//u', $json ), 'the JSON is valid UTF-8' );
		$decoded = json_decode( $json, true );
		$this->assertSame( $script, $decoded['data']['content'] );
		$this->assertSame( 'bad ( bytes  end', $decoded['data']['excerpt'] );
		$this->assertSame( '', $decoded['data']['seo']['raw']['x'] );
	}

	public function test_valid_utf8_is_returned_unchanged_and_long_invalid_strings_are_cleaned() {
		$valid = str_repeat( "é😀a", 300000 );
		$this->assertSame( $valid, igny8_valid_utf8( $valid ) );
		$this->assertSame( str_repeat( 'ab', 100000 ), igny8_valid_utf8( str_repeat( "a\xFFb", 100000 ) ) );
	}

	public function test_content_over_4_mib_is_cut_on_a_character_boundary_and_flagged() {
		$content = str_repeat( 'a', IGNY8_MAX_CONTENT_BYTES - 1 ) . 'é' . str_repeat( 'b', 1000 );

		$data = igny8_limit_content( array( 'content' => $content ) );

		$this->assertTrue( $data['content_truncated'] );
		$this->assertSame( IGNY8_MAX_CONTENT_BYTES - 1, strlen( $data['content'] ), 'the split é is left out whole' );
		$this->assertSame( 1, preg_match( '//u', $data['content'] ) );
		$this->assertSame( array( 'content' => 'short' ), igny8_limit_content( array( 'content' => 'short' ) ) );
	}
}
