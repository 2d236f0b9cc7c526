<?php
/**
 * Integrity checksums cover every synced field (includes/content.php, docs/sync-protocol.md "Integrity"):
 * edits that bypass WordPress's hooks (search-replace tools, SQL imports, plugins writing meta or term
 * tables) are found by one verification and repaired; items carry the checksum verification computes and
 * the database time they were read, which orders two versions of the same second.
 *
 * @package Igny8
 */

class IntegrityTest extends Igny8_TestCase {

	protected function setUp(): void {
		global $wpdb;
		parent::setUp();
		$wpdb->query( "DROP TEMPORARY TABLE IF EXISTS {$wpdb->prefix}aioseo_posts" );
		igny8_aioseo_columns( true );
		$this->start_content_sync( array( 'post' => 1000, 'page' => 1000 ), array( 'category' => 100, 'post_tag' => 100 ) );
	}

	protected function tearDown(): void {
		global $wpdb;
		$wpdb->query( "DROP TEMPORARY TABLE IF EXISTS {$wpdb->prefix}aioseo_posts" );
		igny8_aioseo_columns( true );
		parent::tearDown();
	}

	/**
	 * The plugin's checksum of one post, as verification computes it.
	 *
	 * @param int $id Post id.
	 * @return int
	 */
	private function checksum_of( $id ) {
		foreach ( igny8_verify_bucket_items( 'post', get_post_type( $id ), null, intdiv( $id, IGNY8_VERIFY_BUCKET_SIZE ) * IGNY8_VERIFY_BUCKET_SIZE ) as $item ) {
			if ( $item['wp_id'] === $id ) {
				return $item['checksum'];
			}
		}
		$this->fail( "post $id is not among its bucket's items" );
	}

	/**
	 * Same for a term.
	 *
	 * @param int    $id       Term id.
	 * @param string $taxonomy Taxonomy.
	 * @return int
	 */
	private function term_checksum_of( $id, $taxonomy ) {
		foreach ( igny8_verify_bucket_items( 'term', $taxonomy, null, intdiv( $id, IGNY8_VERIFY_BUCKET_SIZE ) * IGNY8_VERIFY_BUCKET_SIZE ) as $item ) {
			if ( $item['wp_id'] === $id ) {
				return $item['checksum'];
			}
		}
		$this->fail( "term $id is not among its bucket's items" );
	}

	private function create_aioseo_table() {
		global $wpdb;
		$wpdb->query(
			"CREATE TEMPORARY TABLE {$wpdb->prefix}aioseo_posts (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, post_id bigint unsigned NOT NULL,
			title text NULL, description text NULL, keyphrases longtext NULL, canonical_url text NULL, robots_default tinyint(1) NOT NULL DEFAULT 1,
			robots_noindex tinyint(1) NOT NULL DEFAULT 0, robots_nofollow tinyint(1) NOT NULL DEFAULT 0, KEY post_id (post_id))"
		);
		igny8_aioseo_columns( true );
	}

	public function test_the_sql_checksum_is_the_documented_definition() {
		$this->create_aioseo_table();
		global $wpdb;
		$tag  = wp_insert_term( 'Spice', 'post_tag' );
		$id   = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Dune <b>é</b>', 'post_content' => "<p>Arrakis</p>\n", 'post_excerpt' => 'Desert' ) );
		wp_set_object_terms( $id, array( (int) $tag['term_id'] ), 'post_tag' );
		update_post_meta( $id, '_yoast_wpseo_title', '%%title%% %%sep%% Site' );
		update_post_meta( $id, '_thumbnail_id', 42 );
		update_post_meta( $id, 'unrelated_key', 'not covered' );
		$wpdb->insert( $wpdb->prefix . 'aioseo_posts', array( 'post_id' => $id, 'title' => '#post_title', 'description' => null ) );

		$this->assertSame( $this->documented_post_checksum( $id ), $this->checksum_of( $id ) );
		$this->assertSame( $this->documented_term_checksum( (int) $tag['term_id'], 'post_tag' ), $this->term_checksum_of( (int) $tag['term_id'], 'post_tag' ) );
	}

	public function test_every_field_the_platform_keeps_changes_the_checksum_when_edited_behind_the_hooks() {
		global $wpdb;
		$this->create_aioseo_table();
		$parent = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Parent' ) );
		$id     = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Child', 'post_content' => 'Body', 'post_excerpt' => 'Short' ) );
		update_post_meta( $id, '_yoast_wpseo_metadesc', 'Yoast description' );
		update_post_meta( $id, 'rank_math_title', 'Rank Math title' );
		update_post_meta( $id, '_seopress_titles_desc', 'SEOPress description' );
		update_post_meta( $id, '_thumbnail_id', 7 );
		$wpdb->insert( $wpdb->prefix . 'aioseo_posts', array( 'post_id' => $id, 'title' => 'AIOSEO title' ) );
		$meta = static function ( $key ) use ( $id ) {
			global $wpdb;
			return array( $wpdb->postmeta, array( 'meta_value' => 'edited by a search-replace' ), array( 'post_id' => $id, 'meta_key' => $key ) );
		};
		$edits = array(
			'title'               => array( $wpdb->posts, array( 'post_title' => 'Child (replaced)' ), array( 'ID' => $id ) ),
			'content'             => array( $wpdb->posts, array( 'post_content' => 'Body (replaced)' ), array( 'ID' => $id ) ),
			'excerpt'             => array( $wpdb->posts, array( 'post_excerpt' => 'Short (replaced)' ), array( 'ID' => $id ) ),
			'slug'                => array( $wpdb->posts, array( 'post_name' => 'moved' ), array( 'ID' => $id ) ),
			'status'              => array( $wpdb->posts, array( 'post_status' => 'private' ), array( 'ID' => $id ) ),
			'parent'              => array( $wpdb->posts, array( 'post_parent' => $parent ), array( 'ID' => $id ) ),
			'menu order'          => array( $wpdb->posts, array( 'menu_order' => 3 ), array( 'ID' => $id ) ),
			'author'              => array( $wpdb->posts, array( 'post_author' => 99 ), array( 'ID' => $id ) ),
			'date'                => array( $wpdb->posts, array( 'post_date_gmt' => '2001-01-01 00:00:00' ), array( 'ID' => $id ) ),
			'Yoast description'   => $meta( '_yoast_wpseo_metadesc' ),
			'Rank Math title'     => $meta( 'rank_math_title' ),
			'SEOPress desc'       => $meta( '_seopress_titles_desc' ),
			'featured image'      => array( $wpdb->postmeta, array( 'meta_value' => '8' ), array( 'post_id' => $id, 'meta_key' => '_thumbnail_id' ) ),
			'All in One SEO row'  => array( $wpdb->prefix . 'aioseo_posts', array( 'title' => 'AIOSEO (replaced)' ), array( 'post_id' => $id ) ),
		);
		foreach ( $edits as $what => $edit ) {
			$before = $this->checksum_of( $id );
			$this->assertSame( 1, $wpdb->update( $edit[0], $edit[1], $edit[2] ), $what );
			$this->assertNotSame( $before, $this->checksum_of( $id ), "$what edited behind the hooks" );
		}

		// A new SEO value and a term assigned, both by direct inserts.
		$before = $this->checksum_of( $id );
		$wpdb->insert( $wpdb->postmeta, array( 'post_id' => $id, 'meta_key' => '_yoast_wpseo_focuskw', 'meta_value' => 'spice' ) );
		$this->assertNotSame( $before, $after = $this->checksum_of( $id ), 'a focus keyword added' );
		$cat = wp_insert_term( 'Desert', 'category' );
		$wpdb->insert( $wpdb->term_relationships, array( 'object_id' => $id, 'term_taxonomy_id' => $cat['term_taxonomy_id'] ) );
		$this->assertNotSame( $after, $this->checksum_of( $id ), 'a term assigned' );

		// Meta that is not synced changes nothing.
		$before = $this->checksum_of( $id );
		$wpdb->insert( $wpdb->postmeta, array( 'post_id' => $id, 'meta_key' => '_edit_lock', 'meta_value' => '1:1' ) );
		$this->assertSame( $before, $this->checksum_of( $id ) );

		// Terms: name, slug, parent, description.
		$root = wp_insert_term( 'Root', 'category' );
		$term = (int) $cat['term_id'];
		foreach ( array(
			'name'        => array( $wpdb->terms, array( 'name' => 'Dunes' ), array( 'term_id' => $term ) ),
			'slug'        => array( $wpdb->terms, array( 'slug' => 'dunes' ), array( 'term_id' => $term ) ),
			'parent'      => array( $wpdb->term_taxonomy, array( 'parent' => $root['term_id'] ), array( 'term_id' => $term ) ),
			'description' => array( $wpdb->term_taxonomy, array( 'description' => 'Sand' ), array( 'term_id' => $term ) ),
		) as $what => $edit ) {
			$before = $this->term_checksum_of( $term, 'category' );
			$this->assertSame( 1, $wpdb->update( $edit[0], $edit[1], $edit[2] ), $what );
			$this->assertNotSame( $before, $this->term_checksum_of( $term, 'category' ), "term $what edited behind the hooks" );
		}
	}

	public function test_items_carry_the_checksum_verification_computes_and_when_they_were_read() {
		$id   = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Sent' ) );
		$big  = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Large', 'post_content' => str_repeat( 'x', IGNY8_INLINE_POST_BYTES + 1 ) ) );
		$term = wp_insert_term( 'Sent term', 'category' );
		update_post_meta( $id, '_yoast_wpseo_title', 'SEO' );
		$this->run_full_sync();

		foreach ( array( $id, $big ) as $post ) {
			$held = $this->backend->held[ "post:post:$post" ];
			$this->assertSame( $this->checksum_of( $post ), $held['checksum'], 'the full sync, small and large rows' );
			$this->assertMatchesRegularExpression( '/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/', $held['read_at'] );
		}
		$this->assertSame( $this->term_checksum_of( (int) $term['term_id'], 'category' ), $this->backend->held[ "term:category:{$term['term_id']}" ]['checksum'] );

		wp_update_post( array( 'ID' => $id, 'post_title' => 'Sent again' ) );
		igny8_run_send_queue();
		$this->assertSame( $this->checksum_of( $id ), $this->backend->held[ "post:post:$id" ]['checksum'], 'the queue' );
		$this->assertSame( 'Sent again', $this->backend->held[ "post:post:$id" ]['data']['title'] );
	}

	public function test_edits_behind_the_hooks_are_found_and_repaired_by_one_verification() {
		global $wpdb;
		$post = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Post' ) );
		$page = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Page' ) );
		$same = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Untouched' ) );
		update_post_meta( $post, '_yoast_wpseo_metadesc', 'Before' );
		$term = wp_insert_term( 'Before', 'post_tag' );
		$this->run_full_sync();
		igny8_queue_clear();

		// A search-replace: meta, a term name, a page's content, none touching post_modified_gmt.
		$wpdb->query( $wpdb->prepare( "UPDATE {$wpdb->postmeta} SET meta_value = REPLACE(meta_value, 'Before', 'After') WHERE post_id = %d", $post ) );
		$wpdb->update( $wpdb->terms, array( 'name' => 'After' ), array( 'term_id' => $term['term_id'] ) );
		$wpdb->update( $wpdb->posts, array( 'post_content' => 'Imported by SQL' ), array( 'ID' => $page ) );
		wp_cache_flush();

		$result = igny8_run_verify();

		$this->assertSame( 3, $result['resend'], 'exactly the three edited objects' );
		$this->assertEqualsCanonicalizing( array( "upsert post post #$post", "upsert post page #$page", "upsert term post_tag #{$term['term_id']}" ), $this->queued() );
		igny8_run_send_queue();
		$this->assertSame( 'After', $this->backend->held[ "post:post:$post" ]['data']['seo']['description'] );
		$this->assertSame( 'After', $this->backend->held[ "term:post_tag:{$term['term_id']}" ]['data']['name'] );
		$this->assertSame( 'Imported by SQL', $this->backend->held[ "post:page:$page" ]['data']['content'] );
		$this->assertSame( 'Untouched', $this->backend->held[ "post:post:$same" ]['data']['title'] );
		$again = igny8_run_verify();
		$this->assertSame( array( 0, 'in_sync' ), array( $again['differing'], $again['result'] ), 'repaired' );
	}

	public function test_a_full_sync_batch_read_before_an_edit_of_the_same_second_does_not_overwrite_it() {
		$id = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Before' ) );
		igny8_queue_clear();
		$built = igny8_full_sync_post_batch( array( 'kind' => 'post', 'type' => 'post', 'cutoff' => null, 'last_id' => 0 ) );
		// The edit lands in the same second (post_modified_gmt unchanged) and the queue delivers it first.
		usleep( 2000 );
		global $wpdb;
		$modified = get_post( $id )->post_modified_gmt;
		wp_update_post( array( 'ID' => $id, 'post_title' => 'After' ) );
		$wpdb->update( $wpdb->posts, array( 'post_modified_gmt' => $modified ), array( 'ID' => $id ) );
		clean_post_cache( $id );
		igny8_run_send_queue();
		$this->assertSame( 'After', $this->backend->held[ "post:post:$id" ]['data']['title'] );

		$sent  = json_decode( $built['batch']->body( 'batch-read-early' ), true );
		$index = array_search( $id, array_column( $sent['items'], 'wp_id' ), true );
		$this->assertSame( array( $modified, 'Before' ), array( $sent['items'][ $index ]['modified_gmt'], $sent['items'][ $index ]['data']['title'] ) );
		$this->assertLessThan( 0, strcmp( $sent['items'][ $index ]['read_at'], $this->backend->held[ "post:post:$id" ]['read_at'] ) );
		list( $status, $answer ) = $this->backend->content_batch( array( 'body' => $sent, 'raw' => wp_json_encode( $sent ) ) );

		$this->assertSame( 200, $status );
		$this->assertSame( 'stale', $answer['data']['results'][ $index ]['status'] );
		$this->assertSame( 'After', $this->backend->held[ "post:post:$id" ]['data']['title'] );
	}
}
