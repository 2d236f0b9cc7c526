<?php
/**
 * Permalinks computed per batch (includes/permalinks.php) are exactly get_permalink()'s, for every
 * structure, post type and status; a site whose links a filter changes gets get_permalink() itself.
 *
 * @package Igny8
 */

class PermalinksTest extends Igny8_TestCase {

	/**
	 * @var string The structure before the test.
	 */
	private $structure;

	protected function setUp(): void {
		parent::setUp();
		$this->structure = (string) get_option( 'permalink_structure' );
	}

	protected function tearDown(): void {
		global $wp_rewrite;
		parent::tearDown(); // Rolls the options back …
		$wp_rewrite->init(); // … and WP_Rewrite reads them again.
		$wp_rewrite->set_permalink_structure( $this->structure );
		delete_option( 'rewrite_rules' );
	}

	/**
	 * @return string[] Structures to check.
	 */
	public function structures() {
		return array(
			'plain'        => array( '' ),
			'postname'     => array( '/%postname%/' ),
			'date'         => array( '/%year%/%monthnum%/%postname%/' ),
			'category'     => array( '/%category%/%postname%/' ),
			'every token'  => array( '/%year%/%monthnum%/%day%/%hour%/%minute%/%second%/%post_id%/%author%/%category%/%postname%' ),
			'no slash'     => array( '/archives/%post_id%' ),
			'index.php'    => array( '/index.php/%year%/%postname%/' ),
		);
	}

	/**
	 * A site with what links depend on: hierarchical categories, posts of every status, pages with
	 * ancestors, a static front page, custom post types with and without rewrites and hierarchy.
	 *
	 * @return int[] Post ids.
	 */
	private function make_site() {
		$this->register_test_post_type( 'igny8_book', array( 'hierarchical' => true ) );
		$this->register_test_post_type( 'igny8_note', array( 'rewrite' => array( 'slug' => 'notes', 'with_front' => false ) ) );
		$this->register_test_post_type( 'igny8_plain', array( 'rewrite' => false, 'query_var' => false ) );
		$this->register_test_post_type( 'igny8_qv', array( 'rewrite' => false ) );
		$author = wp_insert_user( array( 'user_login' => 'jane-doe', 'user_pass' => 'x', 'user_nicename' => 'jane-the-writer', 'role' => 'author' ) );
		$top    = wp_insert_term( 'Top', 'category' );
		$mid    = wp_insert_term( 'Mid', 'category', array( 'parent' => $top['term_id'] ) );
		$leaf   = wp_insert_term( 'Leaf', 'category', array( 'parent' => $mid['term_id'] ) );
		$other  = wp_insert_term( 'Other', 'category' );
		$ids    = array();
		$date   = '2024-02-29 23:59:58';
		foreach ( array( 'publish', 'draft', 'pending', 'private', 'future', 'trash' ) as $status ) {
			$ids[] = wp_insert_post(
				array(
					'post_type'     => 'post',
					'post_status'   => 'trash' === $status ? 'publish' : $status,
					'post_title'    => "Post $status",
					'post_author'   => $author,
					'post_date'     => 'future' === $status ? '2099-01-02 03:04:05' : $date,
					'post_category' => array( (int) $leaf['term_id'], (int) $other['term_id'] ),
				)
			);
			if ( 'trash' === $status ) {
				wp_trash_post( end( $ids ) );
			}
		}
		$ids[] = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Uncategorised post', 'post_category' => array() ) );
		$ids[] = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Top post', 'post_category' => array( (int) $other['term_id'], (int) $top['term_id'] ) ) );
		$ids[] = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Ünïcode – title', 'post_name' => 'ünïcode' ) );

		$parent     = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Parent' ) );
		$child      = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Child', 'post_parent' => $parent ) );
		$grandchild = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Grandchild', 'post_parent' => $child ) );
		$front      = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Home' ) );
		update_option( 'show_on_front', 'page' );
		update_option( 'page_on_front', $front );
		$ids        = array_merge( $ids, array( $parent, $child, $grandchild, $front ) );
		$ids[]      = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'draft', 'post_title' => 'Draft page', 'post_parent' => $child ) );
		$ids[]      = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'private', 'post_title' => 'Private page' ) );

		$shelf = wp_insert_post( array( 'post_type' => 'igny8_book', 'post_status' => 'publish', 'post_title' => 'Shelf' ) );
		$ids[] = $shelf;
		$ids[] = wp_insert_post( array( 'post_type' => 'igny8_book', 'post_status' => 'publish', 'post_title' => 'Book', 'post_parent' => $shelf ) );
		$ids[] = wp_insert_post( array( 'post_type' => 'igny8_book', 'post_status' => 'draft', 'post_title' => 'Draft book', 'post_parent' => $shelf ) );
		$ids[] = wp_insert_post( array( 'post_type' => 'igny8_note', 'post_status' => 'publish', 'post_title' => 'Note' ) );
		$ids[] = wp_insert_post( array( 'post_type' => 'igny8_note', 'post_status' => 'future', 'post_title' => 'Later note', 'post_date' => '2099-01-01 00:00:00' ) );
		$ids[] = wp_insert_post( array( 'post_type' => 'igny8_plain', 'post_status' => 'publish', 'post_title' => 'Plain' ) );
		$ids[] = wp_insert_post( array( 'post_type' => 'igny8_qv', 'post_status' => 'publish', 'post_title' => 'Query var' ) );
		$ids[] = wp_insert_post( array( 'post_type' => 'igny8_qv', 'post_status' => 'draft', 'post_title' => 'Query var draft' ) );
		wp_cache_flush();
		return $ids;
	}

	/**
	 * @param string $structure Permalink structure.
	 */
	private function use_structure( $structure ) {
		global $wp_rewrite;
		$wp_rewrite->set_permalink_structure( $structure );
	}

	/**
	 * The url each item carries, next to get_permalink()'s.
	 *
	 * @param int[] $ids Post ids.
	 * @return array [items' urls, get_permalink()'s], by id.
	 */
	private function urls( array $ids ) {
		$items = igny8_post_items( igny8_load_post_rows( $ids ) );
		$ours  = array();
		foreach ( $items as $id => $item ) {
			$ours[ $id ] = $item['data']['url'];
		}
		wp_cache_flush();
		$theirs = array();
		foreach ( $ids as $id ) {
			$theirs[ $id ] = get_permalink( $id );
		}
		return array( $ours, $theirs );
	}

	/**
	 * @dataProvider structures
	 *
	 * @param string $structure Permalink structure.
	 */
	public function test_computed_links_are_get_permalinks_own( $structure ) {
		$this->use_structure( $structure );
		$ids = $this->make_site();
		$this->assertNotNull( igny8_permalink_context(), 'the fast path is taken' );

		list( $ours, $theirs ) = $this->urls( $ids );

		$this->assertSame( $theirs, $ours );
		$this->assertCount( count( array_unique( $theirs ) ), $theirs, 'every post has its own link' );
	}

	public function test_links_follow_the_trailing_slash_rule_of_the_structure() {
		$this->use_structure( '/blog/%postname%' );
		$ids = $this->make_site();

		list( $ours, $theirs ) = $this->urls( $ids );

		$this->assertSame( $theirs, $ours );
		$this->assertSame( home_url( '/blog/post-publish' ), $ours[ $ids[0] ] );
		$this->assertSame( home_url( '/parent/child' ), $ours[ $ids[10] ], 'pages too' );
	}

	/**
	 * @return array[] Filters that change links.
	 */
	public function link_filters() {
		$out = array();
		foreach ( igny8_permalink_filters() as $hook ) {
			$out[ $hook ] = array( $hook );
		}
		return $out;
	}

	/**
	 * @dataProvider link_filters
	 *
	 * @param string $hook A filter get_permalink() applies.
	 */
	public function test_a_hooked_link_filter_sends_every_post_through_get_permalink( $hook ) {
		$this->use_structure( '/%category%/%postname%/' );
		$ids = $this->make_site();
		$this->add_test_filter(
			$hook,
			static function ( $value ) use ( $hook ) {
				return is_string( $value ) && 0 === strpos( $value, 'http' ) && in_array( $hook, array( 'post_link', 'page_link', 'post_type_link', '_get_page_link' ), true ) ? $value . '?changed=1' : $value;
			}
		);

		$this->assertNull( igny8_permalink_context() );
		list( $ours, $theirs ) = $this->urls( $ids );
		$this->assertSame( $theirs, $ours );
	}

	public function test_the_filters_change_links_as_they_do_for_wordpress() {
		$this->use_structure( '/%postname%/' );
		$ids = $this->make_site();
		$this->add_test_filter(
			'post_link',
			static function ( $link ) {
				return str_replace( '/post-publish/', '/renamed/', $link );
			}
		);

		list( $ours ) = $this->urls( $ids );

		$this->assertSame( home_url( '/renamed/' ), $ours[ $ids[0] ] );
	}

	public function test_a_site_filter_can_turn_the_fast_path_off() {
		$this->add_test_filter( 'igny8_fast_permalinks', '__return_false' );
		$this->assertNull( igny8_permalink_context() );
	}
}
