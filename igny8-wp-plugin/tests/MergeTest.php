<?php
/**
 * The three-way merge (includes/merge.php): per field, WordPress's value equal to the base takes the new
 * value, equal to the new value is done, anything else conflicts and the policy decides.
 *
 * @package Igny8
 */

class MergeTest extends Igny8_TestCase {

	/**
	 * One field of each type: [path, new value, base (WordPress's value while untouched), WordPress's value once edited there].
	 *
	 * @return array[]
	 */
	public function field_types() {
		return array(
			'string'         => array( 'title', 'New title', 'Old title', 'Edited in WordPress' ),
			'integer'        => array( 'menu_order', 5, 0, 3 ),
			'terms set'      => array( 'terms.category', array( 3, 7 ), array( 3 ), array( 3, 9 ) ),
			'seo'            => array( 'seo.description', 'New description', null, 'Written in Yoast' ),
			'featured image' => array( 'featured_image', 'https://img.example/new.png', null, 'https://site.example/wp-content/uploads/other.png' ),
		);
	}

	/**
	 * @dataProvider field_types
	 */
	public function test_a_field_still_at_its_base_takes_the_new_value( $path, $new, $base, $edited ) {
		$merge = igny8_merge_change( array( $path => $new ), array( $path => $base ), array( $path => $base ), 'manual' );

		$this->assertSame( 'applied', $merge['status'] );
		$this->assertSame( array( $path => $new ), $merge['write'] );
		$this->assertSame( array( $path ), $merge['applied'] );
	}

	/**
	 * @dataProvider field_types
	 */
	public function test_a_field_already_at_the_new_value_is_done_without_writing( $path, $new, $base, $edited ) {
		$merge = igny8_merge_change( array( $path => $new ), array( $path => $base ), array( $path => $new ), 'manual' );

		$this->assertSame( 'applied', $merge['status'] );
		$this->assertSame( array(), $merge['write'] );
		$this->assertSame( array( $path ), $merge['applied'] );
	}

	/**
	 * @dataProvider field_types
	 */
	public function test_a_field_edited_in_wordpress_conflicts_and_manual_writes_nothing( $path, $new, $base, $edited ) {
		$merge = igny8_merge_change( array( $path => $new ), array( $path => $base ), array( $path => $edited ), 'manual' );

		$this->assertSame( 'conflict', $merge['status'] );
		$this->assertSame( array(), $merge['write'] );
		$this->assertSame( array( $path => $edited ), $merge['conflicts'] );
	}

	public function test_a_field_without_a_base_conflicts_unless_already_equal() {
		$merge = igny8_merge_change( array( 'title' => 'New', 'slug' => 'same' ), array(), array( 'title' => 'Old', 'slug' => 'same' ), 'manual' );

		$this->assertSame( array( 'title' => 'Old' ), $merge['conflicts'] );
	}

	public function test_values_are_compared_strictly() {
		$merge = igny8_merge_change( array( 'menu_order' => 5, 'title' => '0' ), array( 'menu_order' => '0', 'title' => null ), array( 'menu_order' => 0, 'title' => '' ), 'manual' );

		$this->assertSame( array( 'menu_order' => 0, 'title' => '' ), $merge['conflicts'], 'an integer is not its string, an empty string is not null' );
	}

	/**
	 * A change of three fields: title untouched in WordPress, content edited there, excerpt already equal.
	 *
	 * @param string $policy Policy.
	 * @return array
	 */
	private function mixed_change( $policy ) {
		return igny8_merge_change(
			array( 'title' => 'T2', 'content' => 'C2', 'excerpt' => 'E2' ),
			array( 'title' => 'T1', 'content' => 'C1', 'excerpt' => 'E1' ),
			array( 'title' => 'T1', 'content' => 'C-wp', 'excerpt' => 'E2' ),
			$policy
		);
	}

	public function test_manual_leaves_the_whole_change_waiting() {
		$merge = $this->mixed_change( 'manual' );

		$this->assertSame( 'conflict', $merge['status'] );
		$this->assertSame( array(), $merge['write'] );
		$this->assertSame( array( 'content' => 'C-wp' ), $merge['conflicts'] );
		$this->assertSame( array(), $merge['applied'] );
	}

	public function test_merge_writes_the_other_fields_and_reports_the_conflicting_ones() {
		$merge = $this->mixed_change( 'merge' );

		$this->assertSame( 'conflict', $merge['status'] );
		$this->assertSame( array( 'title' => 'T2' ), $merge['write'] );
		$this->assertSame( array( 'content' => 'C-wp' ), $merge['conflicts'] );
		$this->assertSame( array( 'title', 'excerpt' ), $merge['applied'] );
	}

	public function test_platform_wins_writes_everything_and_reports_what_it_overwrote() {
		$merge = $this->mixed_change( 'platform_wins' );

		$this->assertSame( 'applied', $merge['status'] );
		$this->assertSame( array( 'title' => 'T2', 'content' => 'C2' ), $merge['write'] );
		$this->assertSame( array( 'content' => 'C-wp' ), $merge['overwritten'] );
		$this->assertSame( array(), $merge['dropped'] );
		$this->assertSame( array( 'title', 'content', 'excerpt' ), $merge['applied'] );
	}

	public function test_wordpress_wins_keeps_wordpress_values_and_reports_what_it_dropped() {
		$merge = $this->mixed_change( 'wordpress_wins' );

		$this->assertSame( 'applied', $merge['status'] );
		$this->assertSame( array( 'title' => 'T2' ), $merge['write'] );
		$this->assertSame( array( 'content' => 'C2' ), $merge['dropped'] );
		$this->assertSame( array(), $merge['overwritten'] );
	}

	public function test_an_alias_of_wordpress_value_counts_as_equal() {
		$merge = igny8_merge_change(
			array( 'featured_image' => 'https://img.example/a.png' ),
			array( 'featured_image' => null ),
			array( 'featured_image' => 'https://site.example/wp-content/uploads/a.png' ),
			'manual',
			array( 'featured_image' => array( 'https://img.example/a.png' ) )
		);

		$this->assertSame( 'applied', $merge['status'] );
		$this->assertSame( array(), $merge['write'], 'the image downloaded from that URL is already the featured image' );
	}

	public function test_term_sets_ignore_order_and_repeats() {
		$this->assertSame( array( 3, 7, 'New' ), igny8_merge_term_set( array( 7, 'New', 3, 7, 'New' ) ) );
		$this->assertSame( igny8_merge_term_set( array( 7, 3 ) ), igny8_merge_term_set( array( 3, 7 ) ) );
	}

	public function test_robots_compare_as_sets_of_directives() {
		$this->assertSame( 'nofollow, noindex', igny8_merge_robots( 'NoIndex,  nofollow, noindex' ) );
		$this->assertSame( igny8_merge_robots( 'noindex, nofollow' ), igny8_merge_robots( 'nofollow,noindex' ) );
		$this->assertNull( igny8_merge_robots( ' , ' ) );
		$this->assertNull( igny8_merge_robots( null ) );
	}
}
