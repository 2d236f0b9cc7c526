<?php
/**
 * The plugin runs on the WordPress it declares: every WordPress function it calls existed in the version
 * its header and readme require (read from each function's own @since), or the call is guarded.
 *
 * @package Igny8
 */

class CompatibilityTest extends Igny8_TestCase {

	/**
	 * WordPress functions the plugin's code calls: name => [@since, file] (tests left out).
	 *
	 * @return array<string, array{0: string, 1: string}>
	 */
	private function wordpress_functions_called() {
		$found = array();
		$files = new RecursiveIteratorIterator( new RecursiveDirectoryIterator( IGNY8_PLUGIN_DIR, FilesystemIterator::SKIP_DOTS ) );
		foreach ( $files as $file ) {
			$path = (string) $file;
			if ( '.php' !== substr( $path, -4 ) || false !== strpos( $path, '/tests/' ) ) {
				continue;
			}
			$tokens = token_get_all( (string) file_get_contents( $path ) );
			foreach ( $tokens as $i => $token ) {
				if ( ! is_array( $token ) || T_STRING !== $token[0] ) {
					continue;
				}
				$next = $i + 1;
				while ( isset( $tokens[ $next ] ) && is_array( $tokens[ $next ] ) && T_WHITESPACE === $tokens[ $next ][0] ) {
					++$next;
				}
				$before = $i - 1;
				while ( $before > 0 && is_array( $tokens[ $before ] ) && T_WHITESPACE === $tokens[ $before ][0] ) {
					--$before;
				}
				if ( ! isset( $tokens[ $next ] ) || '(' !== $tokens[ $next ] || ( is_array( $tokens[ $before ] ) && in_array( $tokens[ $before ][0], array( T_FUNCTION, T_OBJECT_OPERATOR, T_DOUBLE_COLON, T_NEW ), true ) ) ) {
					continue;
				}
				$name = $token[1];
				if ( ! function_exists( $name ) ) {
					continue;
				}
				$function = new ReflectionFunction( $name );
				if ( ! $function->isUserDefined() || 0 !== strpos( (string) $function->getFileName(), ABSPATH ) || 0 === strpos( $name, 'igny8_' ) ) {
					continue;
				}
				$since = preg_match( '/@since\s+([0-9][0-9.]*)/', (string) $function->getDocComment(), $m ) ? rtrim( $m[1], '.' ) : '0';
				$found[ $name ] = array( $since, $path );
			}
		}
		return $found;
	}

	public function test_every_wordpress_function_called_exists_in_the_required_version_or_is_guarded() {
		$required = get_plugin_data( IGNY8_PLUGIN_FILE, false, false )['RequiresWP'];
		$this->assertSame( '5.6', $required, 'DESIGN.md §5: WordPress ≥ 5.6' );
		$called = $this->wordpress_functions_called();
		$this->assertArrayHasKey( 'wp_safe_remote_request', $called, 'the scan finds calls' );

		$too_new = array();
		foreach ( $called as $name => list( $since, $file ) ) {
			$guarded = preg_match( '/function_exists\(\s*\'' . preg_quote( $name, '/' ) . '\'\s*\)/', (string) file_get_contents( $file ) );
			if ( version_compare( $since, $required, '>' ) && ! $guarded ) {
				$too_new[] = "$name (WordPress $since) in " . basename( $file );
			}
		}
		$this->assertSame( array(), $too_new );
	}

	public function test_the_readme_declares_what_the_header_does() {
		$header = get_plugin_data( IGNY8_PLUGIN_FILE, false, false );
		$readme = (string) file_get_contents( IGNY8_PLUGIN_DIR . '/readme.txt' );
		$this->assertStringContainsString( "Requires at least: {$header['RequiresWP']}\n", $readme );
		$this->assertStringContainsString( "Requires PHP: {$header['RequiresPHP']}\n", $readme );
		$this->assertStringContainsString( "Stable tag: {$header['Version']}\n", $readme );
		$this->assertSame( IGNY8_VERSION, $header['Version'] );
	}

	public function test_a_status_is_viewable_as_wordpress_57_says_without_its_function() {
		foreach ( array( 'publish', 'private', 'draft', 'future', 'pending', 'trash' ) as $name ) {
			$status = get_post_status_object( $name );
			$this->assertSame( is_post_status_viewable( $status ), igny8_post_status_viewable( $status ), $name );
		}
		register_post_status( 'igny8_shown', array( 'public' => true, 'publicly_queryable' => true ) );
		$this->assertTrue( igny8_post_status_viewable( get_post_status_object( 'igny8_shown' ) ) );
		register_post_status( 'igny8_hidden', array( 'public' => true, 'publicly_queryable' => false ) );
		$this->assertFalse( igny8_post_status_viewable( get_post_status_object( 'igny8_hidden' ) ) );
		unset( $GLOBALS['wp_post_statuses']['igny8_shown'], $GLOBALS['wp_post_statuses']['igny8_hidden'] );
	}
}
