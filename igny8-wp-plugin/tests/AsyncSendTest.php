<?php
/**
 * Batches sent in the background (Igny8_Async_Request, ext-curl's multi interface) while the next one is
 * built: against a real socket (tests/fixtures/platform-server.php under `php -S`), since the fake backend
 * hooks WordPress's HTTP API, which turns background sends off. Batch N+1 never leaves before batch N is
 * acknowledged, the cursor never passes an unacknowledged batch, failures and timeouts acknowledge nothing,
 * and a process killed while a batch travels resumes without losing anything.
 *
 * @package Igny8
 */

class AsyncSendTest extends Igny8_TestCase {

	/**
	 * @var resource|null The php -S process.
	 */
	private static $server = null;

	/**
	 * @var string The fixture's state directory.
	 */
	private static $dir = '';

	/**
	 * @var string http://127.0.0.1:PORT
	 */
	private static $base = '';

	/**
	 * @var string This test's log generation (platform-server.php).
	 */
	private $gen = '';

	public static function setUpBeforeClass(): void {
		parent::setUpBeforeClass();
		if ( ! function_exists( 'curl_multi_init' ) ) {
			return;
		}
		self::$dir = (string) tempnam( sys_get_temp_dir(), 'igny8-async' );
		unlink( self::$dir );
		mkdir( self::$dir );
		$probe = stream_socket_server( 'tcp://127.0.0.1:0' );
		$port  = (int) substr( strrchr( stream_socket_get_name( $probe, false ), ':' ), 1 );
		fclose( $probe );
		self::$base   = 'http://127.0.0.1:' . $port;
		$env          = array_merge( getenv(), array( 'IGNY8_FIXTURE_DIR' => self::$dir ) );
		self::$server = proc_open(
			array( PHP_BINARY, '-S', '127.0.0.1:' . $port, __DIR__ . '/fixtures/platform-server.php' ),
			array( array( 'file', '/dev/null', 'r' ), array( 'file', '/dev/null', 'w' ), array( 'file', '/dev/null', 'w' ) ),
			$pipes,
			null,
			$env
		);
		for ( $i = 0; $i < 100; $i++ ) {
			$socket = @fsockopen( '127.0.0.1', $port, $errno, $errstr, 0.1 ); // phpcs:ignore WordPress.PHP.NoSilencedErrors.Discouraged
			if ( $socket ) {
				fclose( $socket );
				break;
			}
			usleep( 50000 );
		}
	}

	public static function tearDownAfterClass(): void {
		if ( self::$server ) {
			proc_terminate( self::$server );
			proc_close( self::$server );
			self::$server = null;
		}
		if ( self::$dir && is_dir( self::$dir ) ) {
			array_map( 'unlink', glob( self::$dir . '/*' ) );
			rmdir( self::$dir );
		}
		parent::tearDownAfterClass();
	}

	protected function setUp(): void {
		parent::setUp();
		if ( ! self::$server ) {
			$this->markTestSkipped( 'ext-curl is not loaded' );
		}
		$this->gen = uniqid( 'g' );
		$this->control( array() );
		$this->register_test_post_type( 'igny8_book', array( 'label' => 'Books', 'hierarchical' => true ) );
		$this->start_content_sync( array( 'post' => 1000, 'igny8_book' => 1000 ), array( 'category' => 100 ) );
		// From here on the real socket: nothing hooks the HTTP API.
		$this->backend->detach();
		update_option( 'igny8_api_base', self::$base, false );
		// wp_safe_remote_request() and the background path both refuse local ports unless told otherwise.
		$this->add_test_filter( 'http_request_host_is_external', '__return_true' );
		$this->add_test_filter(
			'http_allowed_safe_ports',
			static function ( $ports ) {
				$ports[] = (int) wp_parse_url( self::$base, PHP_URL_PORT );
				return $ports;
			}
		);
		$this->add_test_filter(
			'igny8_batch_max_items',
			static function () {
				return 4;
			}
		);
	}

	/**
	 * @param array $control What the fixture does (see platform-server.php).
	 */
	private function control( array $control ) {
		file_put_contents( self::$dir . '/control.json', wp_json_encode( array_merge( $control, array( 'gen' => $this->gen ) ) ) );
	}

	/**
	 * @return array[] The fixture's log: one entry per request.
	 */
	private function platform_log() {
		$file = self::$dir . '/log-' . $this->gen . '.jsonl';
		return is_file( $file ) ? array_map(
			static function ( $line ) {
				return json_decode( $line, true );
			},
			array_filter( explode( "\n", (string) file_get_contents( $file ) ) )
		) : array();
	}

	/**
	 * @return array[] The batches of the log.
	 */
	private function batches() {
		return array_values(
			array_filter(
				$this->platform_log(),
				static function ( $entry ) {
					return isset( $entry['n'] );
				}
			)
		);
	}

	/**
	 * @param int $books Books to make (plus two posts).
	 * @return string[] "kind:type:id" of everything a full sync sends.
	 */
	private function make_site( $books ) {
		$news = wp_insert_term( 'News', 'category' );
		for ( $i = 0; $i < $books; $i++ ) {
			wp_insert_post( array( 'post_type' => 'igny8_book', 'post_status' => 'publish', 'post_title' => "Book $i" ) );
		}
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'News post', 'post_category' => array( $news['term_id'] ) ) );
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'draft', 'post_title' => 'Draft' ) );
		igny8_queue_clear();
		return array_keys( $this->wordpress_content( array( 'post', 'igny8_book' ), array( 'category' ) ) );
	}

	/**
	 * @param array[] $batches Logged batches.
	 * @return string[] Every item they carried, sorted, without repeats.
	 */
	private function sent( array $batches ) {
		$ids = array();
		foreach ( $batches as $batch ) {
			$ids = array_merge( $ids, $batch['ids'] );
		}
		$ids = array_values( array_unique( $ids ) );
		sort( $ids );
		return $ids;
	}

	public function test_background_sends_need_ext_curl_and_an_unhooked_http_api_and_a_filter_can_refuse_them() {
		$this->assertTrue( Igny8_Async_Request::available() );

		$this->add_test_filter( 'igny8_async_requests', '__return_false' );
		$this->assertFalse( Igny8_Async_Request::available() );
		remove_filter( 'igny8_async_requests', '__return_false' );

		foreach ( array( 'pre_http_request', 'http_request_args', 'http_api_curl', 'http_response' ) as $hook ) {
			$this->add_test_filter( $hook, array( $this, 'leave_as_is' ) );
			$this->assertFalse( Igny8_Async_Request::available(), "$hook hooked: WordPress's HTTP API it is" );
			remove_filter( $hook, array( $this, 'leave_as_is' ) );
		}
		$this->assertTrue( Igny8_Async_Request::available() );
	}

	/**
	 * A filter that changes nothing.
	 *
	 * @param mixed $value Value.
	 * @return mixed
	 */
	public function leave_as_is( $value ) {
		return $value;
	}

	public function test_with_the_http_api_hooked_the_same_request_goes_through_wp_remote_request() {
		$seen = array();
		$this->add_test_filter(
			'pre_http_request',
			static function ( $pre, $args, $url ) use ( &$seen ) {
				$seen[] = $url;
				return $pre;
			},
			10,
			3
		);
		$request = igny8_content_request_start( 'POST', 'content/full-sync/', array( 'body' => array( 'action' => 'start', 'run_id' => 'r1', 'totals' => new stdClass() ) ) );

		$this->assertFalse( $request->is_async() );
		$this->assertCount( 1, $seen, 'sent at the start, by wp_safe_remote_request()' );
		$this->assertSame( array( 'run_id' => 'r1', 'status' => 'running' ), $request->wait() );
	}

	public function test_a_full_sync_sends_in_the_background_and_never_sends_a_batch_before_the_previous_is_acknowledged() {
		$expected = $this->make_site( 13 );
		$this->control( array( 'delay_ms' => 150 ) );
		$waited = 0.0;
		$this->add_test_filter(
			'igny8_http_waited',
			static function ( $seconds ) use ( &$waited ) {
				$waited += $seconds;
			}
		);
		$built = array();
		$this->add_test_filter(
			'igny8_sync_item',
			static function ( $data, $post, $kind ) use ( &$built ) {
				$built[] = microtime( true );
				return $data;
			},
			10,
			3
		);

		$this->run_full_sync();

		$batches = $this->batches();
		$this->assertSame( $expected, $this->sent( $batches ), 'everything arrived' );
		$this->assertSame( count( $batches ), igny8_full_sync_state()['batches'] );
		$this->assertSame( 'done', igny8_full_sync_state()['status'] );
		$this->assertStringStartsWith( 'Bearer ', $batches[0]['auth'], 'the client\'s headers' );
		$this->assertSame( '', $batches[0]['expect'], 'no 100-continue round trip' );
		for ( $i = 1; $i < count( $batches ); $i++ ) {
			$this->assertGreaterThanOrEqual( $batches[ $i - 1 ]['answered'], $batches[ $i ]['received'], 'batch ' . ( $i + 1 ) . ' left after the answer to batch ' . $i );
			if ( $batches[ $i ]['type'] === $batches[ $i - 1 ]['type'] ) {
				$this->assertSame( $batches[ $i - 1 ]['to'] + 1, $batches[ $i ]['from'], 'ranges are contiguous' );
			}
		}
		// The overlap: items of a batch were built while the previous batch was at the platform.
		$overlapped = 0;
		foreach ( $built as $time ) {
			foreach ( $batches as $batch ) {
				if ( $time > $batch['received'] && $time < $batch['answered'] ) {
					++$overlapped;
				}
			}
		}
		$this->assertGreaterThan( 0, $overlapped, 'the next batch is built while one travels' );
		$this->assertGreaterThan( 0.0, $waited );
	}

	public function test_a_failed_batch_acknowledges_nothing_the_next_one_is_not_sent_and_retry_after_is_kept() {
		$this->make_site( 13 );
		// Batches: 1 the categories, 2 the posts, 3 and 4 the first books; 4 fails while 5 is being built.
		$this->control( array( 'fail' => array( '4' => array( 503, array( 'Retry-After' => '7' ) ) ) ) );
		igny8_request_full_sync( 'admin' );

		$result = igny8_full_sync_step( 600 );

		$this->assertInstanceOf( WP_Error::class, $result );
		$this->assertSame( 'http_503', $result->get_error_code() );
		$batches = $this->batches();
		$this->assertCount( 4, $batches, 'the batch built while the failing one travelled was never sent' );
		$this->assertSame( 'igny8_book', $batches[3]['type'] );
		$state = igny8_full_sync_state();
		$this->assertSame( $batches[2]['to'], $this->entry( $state, 'igny8_book' )['last_id'], 'the cursor is past the acknowledged batch only' );
		$this->assertSame( 3, $state['batches'] );
		$this->assertEqualsWithDelta( time() + 7, igny8_backoff_until(), 2, 'Retry-After is honoured' );

		// After the backoff the same range goes again, and the run completes.
		$this->control( array() );
		delete_option( 'igny8_send_backoff' );
		$this->run_full_sync();
		$batches = $this->batches();
		$this->assertSame( $batches[3]['from'], $batches[4]['from'] );
		$this->assertSame( $batches[3]['ids'], $batches[4]['ids'], 'sent again as it was' );
		$this->assertSame( 'done', igny8_full_sync_state()['status'] );
	}

	public function test_a_timeout_acknowledges_nothing() {
		$this->make_site( 13 );
		$this->control( array( 'sleep_ms' => array( '4' => 1500 ) ) );
		$this->add_test_filter(
			'igny8_http_timeout',
			static function () {
				return 1;
			}
		);
		igny8_request_full_sync( 'admin' );

		$result = igny8_full_sync_step( 600 );

		$this->assertInstanceOf( WP_Error::class, $result );
		$this->assertSame( 'igny8_unreachable', $result->get_error_code() );
		$this->assertStringContainsString( 'cURL error 28', $result->get_error_data()['error'] );
		$state = igny8_full_sync_state();
		$this->assertSame( $this->batches()[2]['to'], $this->entry( $state, 'igny8_book' )['last_id'] );
		$this->assertSame( 3, $state['batches'] );
		$this->assertGreaterThan( time(), igny8_backoff_until(), 'backs off' );
	}

	public function test_a_process_killed_while_a_batch_travels_resumes_from_the_last_acknowledged_batch() {
		$expected = $this->make_site( 13 );
		$this->control( array( 'delay_ms' => 50 ) );
		$items = 0;
		$this->add_test_filter(
			'igny8_sync_item',
			static function ( $data, $post, $kind ) use ( &$items ) {
				// Dies while building the 3rd batch of books, batch 2 travelling (maybe applied, never acknowledged).
				if ( 'post' === $kind && 'igny8_book' === $post->post_type && 9 === ++$items ) {
					throw new RuntimeException( 'PHP killed' );
				}
				return $data;
			},
			10,
			3
		);
		$this->full_sync_step_dies();
		$state = igny8_full_sync_state();
		$books = $this->entry( $state, 'igny8_book' );
		for ( $tries = 0; $tries < 100; $tries++ ) { // The orphaned request reaches the platform (logged once answered).
			$sent = array_values(
				array_filter(
					$this->batches(),
					static function ( $batch ) {
						return 'igny8_book' === $batch['type'];
					}
				)
			);
			if ( count( $sent ) >= 2 ) {
				break;
			}
			usleep( 50000 );
		}
		$this->assertCount( 2, $sent, 'two batches of books left' );
		$this->assertSame( $sent[0]['to'], $books['last_id'], 'only the acknowledged one moved the cursor' );

		$this->run_full_sync();

		$this->assertSame( $expected, $this->sent( $this->batches() ), 'nothing lost' );
		$books_sent = array_values(
			array_filter(
				$this->batches(),
				static function ( $batch ) {
					return 'igny8_book' === $batch['type'];
				}
			)
		);
		$this->assertSame( $books_sent[1]['from'], $books_sent[2]['from'], 'the unacknowledged range is sent again' );
		$this->assertSame( 'done', igny8_full_sync_state()['status'] );
	}

	/**
	 * @param array  $state Run.
	 * @param string $type  Type.
	 * @return array Its entry.
	 */
	private function entry( array $state, $type ) {
		foreach ( $state['types'] as $entry ) {
			if ( $entry['type'] === $type ) {
				return $entry;
			}
		}
		$this->fail( "no entry for $type" );
	}
}
