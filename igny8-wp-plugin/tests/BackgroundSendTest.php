<?php
/**
 * Saving never waits on IGNY8 (sync/background.php): the request that queued a change answers first; the
 * send happens after the response (PHP-FPM, LiteSpeed) or in a loopback request, and an IGNY8 that stopped
 * answering costs the saving request nothing.
 *
 * @package Igny8
 */

class BackgroundSendTest extends Igny8_TestCase {

	const BATCH    = 'POST /api/v1/integration/integrations/9/content/batch/';
	const LOOPBACK = 'POST /wp-json/igny8/v1/send-queue';

	protected function setUp(): void {
		parent::setUp();
		$this->start_content_sync();
		$_SERVER['REQUEST_METHOD'] = 'POST'; // A form post or a REST save.
	}

	/**
	 * A browser request's way of sending (PHPUnit itself runs as the command line).
	 *
	 * @param string $mode finish|loopback.
	 */
	private function as_web_request( $mode ) {
		$this->add_test_filter(
			'igny8_background_send',
			static function () use ( $mode ) {
				return $mode;
			}
		);
	}

	/**
	 * A batch route that takes $seconds to answer, then answers as the platform does.
	 *
	 * @param float $seconds Seconds.
	 */
	private function slow_platform( $seconds ) {
		$this->backend->on(
			self::BATCH,
			function ( $request ) use ( $seconds ) {
				usleep( (int) ( $seconds * 1e6 ) );
				return $this->backend->content_batch( $request );
			}
		);
	}

	/**
	 * The loopback request as this site's REST server receives it.
	 *
	 * @param array $body Its form fields.
	 * @return WP_REST_Response
	 */
	private function receive_loopback( array $body ) {
		$request = new WP_REST_Request( 'POST', '/igny8/v1/send-queue' );
		$request->set_body_params( $body );
		return rest_do_request( $request );
	}

	public function test_in_a_browser_request_the_send_goes_to_a_loopback_request_and_the_request_does_not_wait() {
		$this->as_web_request( 'loopback' );
		$this->slow_platform( 2 );
		$id = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Saved' ) );

		$started = microtime( true );
		$result  = igny8_send_queue_at_shutdown();
		$elapsed = microtime( true ) - $started;

		$this->assertSame( array( 'via' => 'loopback', 'spawned' => true ), $result );
		$this->assertLessThan( 0.5, $elapsed, 'the request did not wait for IGNY8' );
		$this->assertSame( array( self::LOOPBACK ), $this->backend->routes_called() );
		$loopback = $this->backend->requests[0];
		$this->assertSame( rest_url( 'igny8/v1/send-queue' ), $loopback['url'] );
		$this->assertLessThanOrEqual( 0.01, $loopback['timeout'] );
		$body = $loopback['raw'];
		$this->assertSame( array( 'time', 'signature' ), array_keys( $body ) );

		// The loopback request, in its own PHP process, sends the queue.
		$this->backend->content_platform();
		$answer = $this->receive_loopback( $body );
		$this->assertSame( 200, $answer->get_status() );
		$this->assertSame( 1, $answer->get_data()['batches'] );
		$this->assertArrayHasKey( "post:post:$id", $this->backend->held );
		$this->assertSame( array(), $this->queued() );
		$this->assertFalse( wp_next_scheduled( 'igny8_send_queue' ), 'everything went: no fallback event' );
	}

	public function test_the_loopback_request_returns_once_written_without_waiting_for_its_answer() {
		$this->as_web_request( 'loopback' );
		$this->backend->detach(); // A real socket: a server that takes the request and never answers.
		$server = stream_socket_server( 'tcp://127.0.0.1:0', $errno, $errstr );
		$port   = (int) substr( strrchr( stream_socket_get_name( $server, false ), ':' ), 1 );
		$this->add_test_filter(
			'igny8_background_send_request',
			static function ( $request ) use ( $port ) {
				$request['url'] = "http://127.0.0.1:$port/wp-json/igny8/v1/send-queue";
				return $request;
			}
		);
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Saved' ) );

		$started = microtime( true );
		$result  = igny8_send_queue_at_shutdown();
		$elapsed = microtime( true ) - $started;

		$this->assertTrue( $result['spawned'] );
		$this->assertLessThan( 0.2, $elapsed, 'WordPress\'s cURL transport would wait for an answer up to 1 s' );
		$connection = stream_socket_accept( $server, 1 );
		stream_set_timeout( $connection, 1 );
		$received = (string) stream_get_contents( $connection );
		fclose( $connection );
		fclose( $server );
		$this->assertStringStartsWith( 'POST /wp-json/igny8/v1/send-queue HTTP/1.', $received );
		$this->assertMatchesRegularExpression( '/\r\n\r\ntime=\d+&signature=[0-9a-f]{64}$/', $received, 'the whole request was written' );
	}

	public function test_the_send_route_answers_only_this_sites_own_signed_request() {
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Waiting' ) );
		$time = time();
		foreach ( array(
			'forged'  => array( 'time' => $time, 'signature' => str_repeat( 'a', 64 ) ),
			'old'     => array( 'time' => $time - 120, 'signature' => igny8_send_signature( $time - 120 ) ),
			'missing' => array( 'time' => $time ),
		) as $case => $body ) {
			$answer = $this->receive_loopback( $body );
			$this->assertContains( $answer->get_status(), array( 400, 401, 403 ), $case );
		}
		$this->assertSame( array(), $this->backend->requests_to( self::BATCH ), 'nothing was sent' );
		$this->assertSame( 200, $this->receive_loopback( array( 'time' => $time, 'signature' => igny8_send_signature( $time ) ) )->get_status() );
	}

	public function test_where_php_can_end_the_response_early_the_same_process_sends_after_it() {
		$this->as_web_request( 'finish' );
		$order = array();
		$this->add_test_filter(
			'igny8_response_finisher',
			static function () use ( &$order ) {
				return static function () use ( &$order ) {
					$order[] = 'response sent';
					return true;
				};
			}
		);
		$this->backend->on(
			self::BATCH,
			function ( $request ) use ( &$order ) {
				$order[] = 'batch sent';
				return $this->backend->content_batch( $request );
			}
		);
		$id = wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Saved' ) );

		$result = igny8_send_queue_at_shutdown();

		$this->assertSame( 'finish', $result['via'] );
		$this->assertSame( array( 'response sent', 'batch sent' ), $order );
		$this->assertArrayHasKey( "post:post:$id", $this->backend->held );
		$this->assertSame( IGNY8_BACKGROUND_SEND_TIMEOUT, $this->backend->requests_to( self::BATCH )[0]['timeout'] );
	}

	public function test_without_a_way_to_end_the_response_a_browser_request_uses_the_loopback() {
		$this->as_web_request( 'finish' ); // Asked for, but this PHP has no fastcgi_finish_request().
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Saved' ) );

		$this->assertSame( 'loopback', igny8_send_queue_at_shutdown()['via'] );
		$this->assertSame( array( self::LOOPBACK ), $this->backend->routes_called() );
	}

	public function test_the_first_save_after_igny8_stopped_answering_does_not_wait_and_later_saves_start_nothing() {
		$this->as_web_request( 'loopback' );
		$this->backend->on( self::BATCH, new WP_Error( 'http_request_failed', 'cURL error 28: Operation timed out after 15001 milliseconds with 0 bytes received' ) );
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'First save' ) );

		$started = microtime( true );
		$this->assertTrue( igny8_send_queue_at_shutdown()['spawned'] );
		$this->assertLessThan( 0.5, microtime( true ) - $started );
		$this->receive_loopback( $this->backend->requests[0]['raw'] ); // In the background: the batch times out.
		$this->assertTrue( igny8_backoff_active() );

		$this->backend->requests = array();
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Second save' ) );
		$this->assertNull( igny8_send_queue_at_shutdown(), 'backing off: nothing is started' );
		$this->assertSame( array(), $this->backend->requests );
		// The queue's event takes over: one that comes before the backoff ends sends nothing and comes back
		// when it ends.
		if ( wp_next_scheduled( 'igny8_send_queue' ) < igny8_backoff_until() ) {
			wp_clear_scheduled_hook( 'igny8_send_queue' );
			$this->assertSame( 0, igny8_run_send_queue()['batches'] );
		}
		$this->assertSame( igny8_backoff_until(), wp_next_scheduled( 'igny8_send_queue' ) );
		$this->assertSame( array(), $this->backend->requests );
	}

	public function test_no_loopback_is_started_while_another_process_sends_the_queue() {
		$this->as_web_request( 'loopback' );
		$other = new wpdb( DB_USER, DB_PASSWORD, DB_NAME, DB_HOST );
		$this->assertSame( '1', (string) $other->get_var( $other->prepare( 'SELECT GET_LOCK(%s, 0)', igny8_lock_name( 'queue' ) ) ) );
		wp_insert_post( array( 'post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Saved meanwhile' ) );

		$result = igny8_send_queue_at_shutdown();
		$other->query( $other->prepare( 'SELECT RELEASE_LOCK(%s)', igny8_lock_name( 'queue' ) ) );
		$other->close();

		$this->assertFalse( $result['spawned'], 'the sender looks for rows queued meanwhile when it is done' );
		$this->assertSame( array(), $this->backend->requests );
		$this->assertSame( 1, igny8_send_in_background()['batches'] );
	}

	public function test_cron_and_the_command_line_send_in_their_own_process() {
		$this->assertSame( 'inline', igny8_background_send_mode(), 'PHPUnit runs as the command line does' );
		$this->add_test_filter( 'wp_doing_cron', '__return_true' );
		$this->assertSame( 'inline', igny8_background_send_mode() );
	}
}
