<?php
/**
 * Every translatable string of the plugin uses the igny8 text domain, and the POT file lists them all.
 *
 * @package Igny8
 */

class I18nTest extends Igny8_TestCase {

	/** Translation functions => position (0-based) of the text domain argument. */
	const FUNCTIONS = array(
		'__'         => 1,
		'_e'         => 1,
		'esc_html__' => 1,
		'esc_html_e' => 1,
		'esc_attr__' => 1,
		'esc_attr_e' => 1,
		'_x'         => 2,
		'_n'         => 3,
	);

	/**
	 * @return string[] The plugin's PHP files, tests excluded.
	 */
	private function plugin_files() {
		$files = array();
		$it    = new RecursiveIteratorIterator( new RecursiveDirectoryIterator( IGNY8_PLUGIN_DIR, FilesystemIterator::SKIP_DOTS ) );
		foreach ( $it as $file ) {
			if ( 'php' === $file->getExtension() && false === strpos( $file->getPathname(), '/tests/' ) ) {
				$files[] = $file->getPathname();
			}
		}
		return $files;
	}

	/**
	 * Calls of translation functions: [file:line, function, args as source strings].
	 *
	 * @param string $file PHP file.
	 * @return array[]
	 */
	private function translation_calls( $file ) {
		$tokens = token_get_all( (string) file_get_contents( $file ) );
		$calls  = array();
		$count  = count( $tokens );
		for ( $i = 0; $i < $count; $i++ ) {
			if ( ! is_array( $tokens[ $i ] ) || T_STRING !== $tokens[ $i ][0] || ! isset( self::FUNCTIONS[ $tokens[ $i ][1] ] ) ) {
				continue;
			}
			$j = $i + 1;
			while ( $j < $count && is_array( $tokens[ $j ] ) && T_WHITESPACE === $tokens[ $j ][0] ) {
				$j++;
			}
			if ( '(' !== $tokens[ $j ] ) {
				continue;
			}
			$depth = 0;
			$args  = array( '' );
			for ( $k = $j; $k < $count; $k++ ) {
				$text = is_array( $tokens[ $k ] ) ? $tokens[ $k ][1] : $tokens[ $k ];
				if ( '(' === $text || '[' === $text ) {
					$depth++;
					if ( 1 === $depth ) {
						continue;
					}
				} elseif ( ')' === $text || ']' === $text ) {
					$depth--;
					if ( 0 === $depth ) {
						break;
					}
				} elseif ( ',' === $text && 1 === $depth ) {
					$args[] = '';
					continue;
				}
				$args[ count( $args ) - 1 ] .= $text;
			}
			$calls[] = array( basename( $file ) . ':' . $tokens[ $i ][2], $tokens[ $i ][1], array_map( 'trim', $args ) );
		}
		return $calls;
	}

	public function test_every_translatable_string_uses_the_igny8_text_domain() {
		$checked = 0;
		foreach ( $this->plugin_files() as $file ) {
			foreach ( $this->translation_calls( $file ) as list( $where, $function, $args ) ) {
				$position = self::FUNCTIONS[ $function ];
				$this->assertSame( "'igny8'", isset( $args[ $position ] ) ? $args[ $position ] : '(none)', "$where: $function() without the igny8 text domain" );
				$checked++;
			}
		}
		$this->assertGreaterThan( 50, $checked );
	}

	public function test_the_pot_file_lists_every_string() {
		$pot = (string) file_get_contents( IGNY8_PLUGIN_DIR . '/languages/igny8.pot' );
		foreach ( $this->plugin_files() as $file ) {
			foreach ( $this->translation_calls( $file ) as list( $where, $function, $args ) ) {
				$literal = $args[ 0 ];
				if ( ! preg_match( "/^'((?:[^'\\\\]|\\\\.)*)'$/s", $literal, $m ) ) {
					continue;
				}
				$msgid = str_replace( array( "\\'", '\\\\', '"' ), array( "'", '\\', '\\"' ), $m[1] );
				$this->assertStringContainsString( 'msgid "' . $msgid . '"', $pot, "$where: not in languages/igny8.pot (run scripts/wp-make-pot.sh)" );
			}
		}
	}
}
