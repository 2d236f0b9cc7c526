<?php
/**
 * SEO fields written by changes (sync/seo-write.php) land in the SEO plugin's own storage, in the form that
 * plugin reads, and come back unchanged through the sync's own read path (igny8_seo_fields()).
 *
 * @package Igny8
 */

class SeoWriteTest extends Igny8_TestCase {

	/**
	 * @var string[] The SEO plugins the test says are active.
	 */
	private $active = array();

	protected function setUp(): void {
		parent::setUp();
		$this->start_two_way_sync();
		$this->add_test_filter(
			'igny8_active_seo_sources',
			function () {
				return $this->active;
			}
		);
	}

	protected function tearDown(): void {
		global $wpdb;
		$wpdb->query( "DROP TEMPORARY TABLE IF EXISTS {$wpdb->prefix}aioseo_posts" );
		igny8_aioseo_columns( true );
		parent::tearDown();
	}

	/**
	 * All in One SEO 4's table, with the columns its schema gives them (created and updated have no default).
	 */
	private function create_aioseo_table() {
		global $wpdb;
		// A temporary table: creating a real one would commit the test's transaction.
		$wpdb->query(
			"CREATE TEMPORARY TABLE {$wpdb->prefix}aioseo_posts (id bigint(20) unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, post_id bigint(20) unsigned NOT NULL,
			title text DEFAULT NULL, description text DEFAULT NULL, keywords mediumtext DEFAULT NULL, keyphrases longtext DEFAULT NULL,
			canonical_url text DEFAULT NULL, og_title text DEFAULT NULL, seo_score int(11) DEFAULT 0 NOT NULL,
			robots_default tinyint(1) DEFAULT 1 NOT NULL, robots_noindex tinyint(1) DEFAULT 0 NOT NULL, robots_noarchive tinyint(1) DEFAULT 0 NOT NULL,
			robots_nosnippet tinyint(1) DEFAULT 0 NOT NULL, robots_nofollow tinyint(1) DEFAULT 0 NOT NULL, robots_noimageindex tinyint(1) DEFAULT 0 NOT NULL,
			created datetime NOT NULL, updated datetime NOT NULL, KEY ndx_aioseo_posts_post_id (post_id))"
		);
		igny8_aioseo_columns( true );
	}

	/**
	 * Applies an SEO change to a new post and answers the post id.
	 *
	 * @param array $seo  The change's seo fields.
	 * @param array $base Their base.
	 * @param int   $post An existing post (0: a new one).
	 * @return int
	 */
	private function apply_seo( array $seo, array $base = array(), $post = 0 ) {
		if ( ! $post ) {
			$post = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'SEO' ) );
		}
		if ( ! $base ) {
			$base = array_fill_keys( array_keys( $seo ), null );
		}
		$change = $this->backend->queue_change( array( 'wp_id' => $post, 'fields' => array( 'seo' => $seo ), 'base' => array( 'seo' => $base ) ) );
		igny8_pull_changes();
		$outcome = $this->backend->changes[ $change['id'] ]['result'];
		$this->assertSame( 'applied', $outcome['status'], wp_json_encode( $outcome ) );
		return $post;
	}

	/**
	 * The five fields as the sync reads them back.
	 *
	 * @param int $post Post id.
	 * @return array
	 */
	private function read_back( $post ) {
		$seo = igny8_seo_current( $post );
		return array(
			'title'         => $seo['title'],
			'description'   => $seo['description'],
			'focus_keyword' => $seo['focus_keyword'],
			'canonical'     => $seo['canonical'],
			'robots'        => igny8_merge_robots( $seo['robots'] ),
			'source'        => $seo['source'],
		);
	}

	/**
	 * @return array[] [active plugin, the stored form expected (meta key => value)]
	 */
	public function meta_plugins() {
		return array(
			'Yoast SEO' => array(
				'yoast',
				array(
					'_yoast_wpseo_title'                => 'Title %%sep%% %%sitename%%',
					'_yoast_wpseo_metadesc'             => 'Description',
					'_yoast_wpseo_focuskw'              => 'focus words',
					'_yoast_wpseo_canonical'            => 'https://example.com/canonical/',
					'_yoast_wpseo_meta-robots-noindex'  => '1',
					'_yoast_wpseo_meta-robots-nofollow' => '1',
					'_yoast_wpseo_meta-robots-adv'      => 'noarchive',
				),
			),
			'Rank Math' => array(
				'rankmath',
				array(
					'rank_math_title'         => 'Title %%sep%% %%sitename%%',
					'rank_math_description'   => 'Description',
					'rank_math_focus_keyword' => 'focus words',
					'rank_math_canonical_url' => 'https://example.com/canonical/',
					'rank_math_robots'        => array( 'noarchive', 'nofollow', 'noindex' ),
				),
			),
		);
	}

	/**
	 * @dataProvider meta_plugins
	 */
	public function test_fields_are_stored_as_the_active_plugin_keeps_them_and_read_back_unchanged( $source, array $stored ) {
		$this->active = array( $source );
		$values       = array(
			'title'         => 'Title %%sep%% %%sitename%%',
			'description'   => 'Description',
			'focus_keyword' => 'focus words',
			'canonical'     => 'https://example.com/canonical/',
			'robots'        => 'noindex, nofollow, noarchive',
		);

		$post = $this->apply_seo( $values );

		foreach ( $stored as $key => $value ) {
			$this->assertSame( $value, get_post_meta( $post, $key, true ), $key );
		}
		$this->assertSame( array_merge( $values, array( 'robots' => 'noarchive, nofollow, noindex', 'source' => $source ) ), $this->read_back( $post ) );
	}

	public function test_seopress_keeps_yes_for_noindex_and_nofollow() {
		$this->active = array( 'seopress' );

		$post = $this->apply_seo( array( 'title' => 'SP title', 'description' => 'SP description', 'focus_keyword' => 'sp', 'canonical' => 'https://example.com/sp/', 'robots' => 'noindex, nofollow' ) );

		$this->assertSame( 'SP title', get_post_meta( $post, '_seopress_titles_title', true ) );
		$this->assertSame( 'SP description', get_post_meta( $post, '_seopress_titles_desc', true ) );
		$this->assertSame( 'sp', get_post_meta( $post, '_seopress_analysis_target_kw', true ) );
		$this->assertSame( 'https://example.com/sp/', get_post_meta( $post, '_seopress_robots_canonical', true ) );
		$this->assertSame( 'yes', get_post_meta( $post, '_seopress_robots_index', true ) );
		$this->assertSame( 'yes', get_post_meta( $post, '_seopress_robots_follow', true ) );
		$this->assertSame( array( 'title' => 'SP title', 'description' => 'SP description', 'focus_keyword' => 'sp', 'canonical' => 'https://example.com/sp/', 'robots' => 'nofollow, noindex', 'source' => 'seopress' ), $this->read_back( $post ) );
	}

	public function test_a_directive_seopress_keeps_no_field_for_is_rejected_and_nothing_written() {
		$this->active = array( 'seopress' );
		$post         = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'SEO' ) );
		$change       = $this->backend->queue_change( array( 'wp_id' => $post, 'fields' => array( 'seo' => array( 'title' => 'Not written', 'robots' => 'noarchive' ) ), 'base' => array( 'seo' => array( 'title' => null, 'robots' => null ) ) ) );

		igny8_pull_changes();

		$this->assertSame( 'seo.robots: SEOPress keeps no "noarchive" directive per post', $this->backend->changes[ $change['id'] ]['result']['reason'] );
		$this->assertSame( '', get_post_meta( $post, '_seopress_titles_title', true ) );
	}

	public function test_all_in_one_seo_gets_its_row_and_the_meta_it_mirrors() {
		global $wpdb;
		$this->active = array( 'aioseo' );
		$this->create_aioseo_table();

		$post = $this->apply_seo( array( 'title' => '#post_title #separator_sa #site_title', 'description' => 'AIO description', 'focus_keyword' => 'all in one', 'canonical' => 'https://example.com/aio/', 'robots' => 'noindex, noimageindex' ) );

		$row = $wpdb->get_row( $wpdb->prepare( "SELECT * FROM {$wpdb->prefix}aioseo_posts WHERE post_id = %d", $post ), ARRAY_A );
		$this->assertSame( '#post_title #separator_sa #site_title', $row['title'] );
		$this->assertSame( 'AIO description', $row['description'] );
		$this->assertSame( 'all in one', json_decode( $row['keyphrases'], true )['focus']['keyphrase'] );
		$this->assertSame( array(), json_decode( $row['keyphrases'], true )['additional'] );
		$this->assertSame( 'https://example.com/aio/', $row['canonical_url'] );
		$this->assertSame( array( '0', '1', '0', '0', '0', '1' ), array( $row['robots_default'], $row['robots_noindex'], $row['robots_nofollow'], $row['robots_noarchive'], $row['robots_nosnippet'], $row['robots_noimageindex'] ) );
		$this->assertNotEmpty( $row['created'] );
		$this->assertSame( '#post_title #separator_sa #site_title', get_post_meta( $post, '_aioseo_title', true ) );
		$this->assertSame( 'AIO description', get_post_meta( $post, '_aioseo_description', true ) );
		$this->assertSame( array( 'title' => '#post_title #separator_sa #site_title', 'description' => 'AIO description', 'focus_keyword' => 'all in one', 'canonical' => 'https://example.com/aio/', 'robots' => 'noimageindex, noindex', 'source' => 'aioseo' ), $this->read_back( $post ) );

		// An existing row is updated in place; its other keyphrases and columns stay.
		$wpdb->update( $wpdb->prefix . 'aioseo_posts', array( 'og_title' => 'Kept', 'keyphrases' => '{"focus":{"keyphrase":"all in one","score":80},"additional":[{"keyphrase":"second"}]}' ), array( 'post_id' => $post ) );
		$this->apply_seo( array( 'focus_keyword' => 'renamed', 'robots' => null ), array( 'focus_keyword' => 'all in one', 'robots' => 'noindex, noimageindex' ), $post );

		$rows = $wpdb->get_results( $wpdb->prepare( "SELECT * FROM {$wpdb->prefix}aioseo_posts WHERE post_id = %d", $post ), ARRAY_A );
		$this->assertCount( 1, $rows );
		$this->assertSame( 'Kept', $rows[0]['og_title'] );
		$phrases = json_decode( $rows[0]['keyphrases'], true );
		$this->assertSame( array( 'renamed', 80, array( array( 'keyphrase' => 'second' ) ) ), array( $phrases['focus']['keyphrase'], $phrases['focus']['score'], $phrases['additional'] ) );
		$this->assertSame( '1', $rows[0]['robots_default'] );
		$this->assertNull( $this->read_back( $post )['robots'] );
	}

	public function test_without_an_seo_plugin_yoast_keys_are_written() {
		$post = $this->apply_seo( array( 'title' => 'Plain', 'robots' => 'index' ) );

		$this->assertSame( 'Plain', get_post_meta( $post, '_yoast_wpseo_title', true ) );
		$this->assertSame( '2', get_post_meta( $post, '_yoast_wpseo_meta-robots-noindex', true ), '2: index whatever the type\'s default' );
		$this->assertSame( array( 'Plain', 'index', 'yoast' ), array( $this->read_back( $post )['title'], $this->read_back( $post )['robots'], $this->read_back( $post )['source'] ) );
	}

	public function test_without_an_active_plugin_leftover_fields_of_another_plugin_are_compared_but_yoast_keys_written() {
		$post = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Leftover', 'meta_input' => array( 'rank_math_description' => 'Old RM' ) ) );

		$this->apply_seo( array( 'description' => 'New' ), array( 'description' => 'Old RM' ), $post );

		$this->assertSame( 'New', get_post_meta( $post, '_yoast_wpseo_metadesc', true ) );
		$this->assertSame( 'Old RM', get_post_meta( $post, 'rank_math_description', true ), 'leftovers are not touched' );
		$this->assertSame( array( 'New', 'yoast' ), array( $this->read_back( $post )['description'], $this->read_back( $post )['source'] ) );
	}

	public function test_with_two_active_plugins_a_post_keeps_the_one_its_fields_are_read_from() {
		$this->active = array( 'yoast', 'rankmath' );
		$post         = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Two', 'meta_input' => array( 'rank_math_description' => 'Old RM', 'rank_math_focus_keyword' => 'first,second' ) ) );

		$this->apply_seo( array( 'description' => 'New RM', 'focus_keyword' => 'primary' ), array( 'description' => 'Old RM', 'focus_keyword' => 'first' ), $post );

		$this->assertSame( 'New RM', get_post_meta( $post, 'rank_math_description', true ) );
		$this->assertSame( 'primary,second', get_post_meta( $post, 'rank_math_focus_keyword', true ), 'the other keywords stay' );
		$this->assertSame( '', get_post_meta( $post, '_yoast_wpseo_metadesc', true ) );
		$this->assertSame( 'rankmath', $this->read_back( $post )['source'] );
	}

	public function test_null_returns_a_field_to_the_plugin_default() {
		$this->active = array( 'yoast' );
		$post         = $this->apply_seo( array( 'title' => 'Set', 'robots' => 'noindex, nosnippet' ) );

		$this->apply_seo( array( 'title' => null, 'robots' => null ), array( 'title' => 'Set', 'robots' => 'nosnippet, noindex' ), $post );

		foreach ( array( '_yoast_wpseo_title', '_yoast_wpseo_meta-robots-noindex', '_yoast_wpseo_meta-robots-nofollow', '_yoast_wpseo_meta-robots-adv' ) as $key ) {
			$this->assertFalse( metadata_exists( 'post', $post, $key ), $key );
		}
		$this->assertNull( $this->read_back( $post )['title'] );
	}

	public function test_a_conflicting_seo_field_is_compared_as_the_plugin_stores_it() {
		$this->active = array( 'yoast' );
		$post         = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'SEO', 'meta_input' => array( '_yoast_wpseo_metadesc' => 'Written in Yoast', '_yoast_wpseo_meta-robots-noindex' => '1', '_yoast_wpseo_meta-robots-nofollow' => '1' ) ) );
		$change       = $this->backend->queue_change(
			array(
				'wp_id'  => $post,
				'fields' => array( 'seo' => array( 'description' => 'From IGNY8', 'robots' => 'noindex' ) ),
				'base'   => array( 'seo' => array( 'description' => 'Before', 'robots' => 'nofollow,noindex' ) ),
			)
		);

		igny8_pull_changes();

		$outcome = $this->backend->changes[ $change['id'] ]['result'];
		$this->assertSame( 'conflict', $outcome['status'] );
		$this->assertSame( array( 'seo.description' => array( 'wordpress' => 'Written in Yoast' ) ), $outcome['conflicts'], 'robots in another order is the same value' );
		$this->assertSame( 'Written in Yoast', get_post_meta( $post, '_yoast_wpseo_metadesc', true ) );
	}
}
