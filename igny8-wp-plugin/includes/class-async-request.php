<?php
/**
 * One IGNY8 API request that travels while PHP does something else: started with ext-curl's multi
 * interface (non-blocking), its answer read later. The full sync sends batch N this way while it reads and
 * builds batch N+1 from the database. URL, headers, auth, body and the reading of the answer (envelope,
 * errors, Retry-After) are Igny8_Api_Client's; only the transport differs.
 *
 * Without ext-curl, when a site hooks WordPress's HTTP API (pre_http_request, http_request_args,
 * http_api_curl, http_response: a test double, a logger, a firewall), behind a proxy, or when the filter
 * igny8_async_requests says no, the request is sent with the client's synchronous wp_remote_* path at
 * start() and wait() hands its answer back: callers are the same either way.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * A started request; wait() returns what Igny8_Api_Client::request() would have.
 */
class Igny8_Async_Request {

	/**
	 * @var Igny8_Api_Client
	 */
	private $client;

	/**
	 * @var string
	 */
	private $method;

	/**
	 * @var string
	 */
	private $path;

	/**
	 * @var array Arguments of Igny8_Api_Client::request().
	 */
	private $args;

	/**
	 * @var string
	 */
	private $url = '';

	/**
	 * @var resource|CurlMultiHandle|null The multi handle this request is in (the shared one).
	 */
	private $multi = null;

	/**
	 * @var resource|CurlMultiHandle|null One multi handle for the process: its connection cache lets the
	 *                                    next batch reuse the connection (and TLS session) of the last.
	 */
	private static $shared = null;

	/**
	 * @var resource|CurlHandle|null
	 */
	private $handle = null;

	/**
	 * @var array The answer's location and retry-after headers.
	 */
	private $headers = array();

	/**
	 * @var float microtime() at the start.
	 */
	private $started = 0.0;

	/**
	 * @var float Seconds this process spent blocked on the request.
	 */
	private $blocked = 0.0;

	/**
	 * @var array|WP_Error|null The answer, once known.
	 */
	private $result = null;

	/**
	 * @var bool Whether it went through curl's multi interface.
	 */
	private $async = false;

	/**
	 * Starts a request: sends it without waiting for the answer when it can, otherwise sends it now,
	 * synchronously.
	 *
	 * @param Igny8_Api_Client $client Client (base URL, headers, answers).
	 * @param string           $method HTTP method.
	 * @param string           $path   Path under the base URL.
	 * @param array            $args   Igny8_Api_Client::request() arguments.
	 */
	public function __construct( Igny8_Api_Client $client, $method, $path, array $args ) {
		$this->client = $client;
		$this->method = strtoupper( (string) $method );
		$this->path   = (string) $path;
		$this->args   = $args;
		if ( ! $this->start() ) {
			$this->result = $client->request( $this->method, $this->path, $this->args );
		}
	}

	/**
	 * Whether requests may travel in the background on this site: ext-curl is there, nothing hooks
	 * WordPress's HTTP API (whoever does expects to see or shape every request), no proxy is configured.
	 *
	 * @return bool
	 */
	public static function available() {
		$available = function_exists( 'curl_multi_init' ) && ! ( new WP_HTTP_Proxy() )->is_enabled();
		foreach ( array( 'pre_http_request', 'http_request_args', 'http_api_curl', 'http_response', 'http_api_debug' ) as $hook ) {
			$available = $available && ! has_filter( $hook );
		}
		/**
		 * Whether content batches may be sent in the background (ext-curl's multi interface) while the next
		 * one is built. Return false to send every request with wp_remote_request(), one at a time.
		 *
		 * @param bool $available Default: ext-curl is loaded, nothing hooks the HTTP API, no proxy.
		 */
		return (bool) apply_filters( 'igny8_async_requests', $available );
	}

	/**
	 * Hands the request to curl and sends its body (it travels while PHP works; the answer waits in the
	 * socket).
	 *
	 * @return bool False when it must go the synchronous way instead.
	 */
	private function start() {
		$retries = isset( $this->args['retries'] ) ? (int) $this->args['retries'] : 0;
		// Requests the client would retry, or refuse (an insecure backend, a copy of the site), take its own path.
		if ( $retries > 0 || ! self::available() || $this->client->refusal( $this->path, $this->args ) ) {
			return false;
		}
		list( $url, $http_args ) = $this->client->prepare( $this->method, $this->path, $this->args, $this->client->token_for( $this->args ) );
		// What wp_safe_remote_request() refuses (a URL that is not public, WP_HTTP_BLOCK_EXTERNAL) is
		// refused there, with its message.
		if ( ! wp_http_validate_url( $url ) || ( new WP_Http() )->block_request( $url ) ) {
			return false;
		}
		$this->url = $url;
		$headers   = array( 'Expect:' ); // No 100-continue round trip before large bodies.
		foreach ( (array) $http_args['headers'] as $name => $value ) {
			$headers[] = $name . ': ' . $value;
		}
		$verify  = isset( $http_args['sslverify'] ) ? (bool) $http_args['sslverify'] : true;
		$verify  = (bool) apply_filters( 'https_ssl_verify', $verify, $url );
		$timeout = max( 1, (int) ceil( (float) $http_args['timeout'] ) );
		$handle  = curl_init( $url );
		$options = array(
			CURLOPT_CUSTOMREQUEST  => $http_args['method'],
			CURLOPT_HTTPHEADER     => $headers,
			CURLOPT_USERAGENT      => isset( $http_args['user-agent'] ) ? (string) $http_args['user-agent'] : '',
			CURLOPT_RETURNTRANSFER => true,
			CURLOPT_FOLLOWLOCATION => false,
			CURLOPT_CONNECTTIMEOUT => $timeout,
			CURLOPT_TIMEOUT        => $timeout,
			CURLOPT_PROTOCOLS      => CURLPROTO_HTTP | CURLPROTO_HTTPS,
			CURLOPT_SSL_VERIFYPEER => $verify,
			CURLOPT_SSL_VERIFYHOST => $verify ? 2 : 0,
			CURLOPT_HEADERFUNCTION => array( $this, 'header_line' ),
		);
		$bundle = isset( $http_args['sslcertificates'] ) ? $http_args['sslcertificates'] : ABSPATH . WPINC . '/certificates/ca-bundle.crt';
		if ( $verify && is_readable( $bundle ) ) {
			$options[ CURLOPT_CAINFO ] = $bundle;
		}
		if ( isset( $http_args['body'] ) ) {
			$options[ CURLOPT_POSTFIELDS ] = (string) $http_args['body'];
		}
		curl_setopt_array( $handle, $options );
		$this->handle  = $handle;
		$this->async   = true;
		if ( null === self::$shared ) {
			self::$shared = curl_multi_init();
		}
		$this->multi   = self::$shared;
		$this->started = microtime( true );
		curl_multi_add_handle( $this->multi, $handle );

		// Send the body now: the platform reads and applies it while this process builds the next batch.
		$size = isset( $http_args['body'] ) ? strlen( (string) $http_args['body'] ) : 0;
		while ( $this->pump() && curl_getinfo( $handle, CURLINFO_SIZE_UPLOAD ) < $size && microtime( true ) - $this->started < $timeout ) {
			curl_multi_select( $this->multi, 0.05 );
		}
		$this->blocked += microtime( true ) - $this->started;
		return true;
	}

	/**
	 * Lets curl do what it can without blocking.
	 *
	 * @return bool Whether the request is still under way.
	 */
	private function pump() {
		do {
			$code = curl_multi_exec( $this->multi, $running );
		} while ( CURLM_CALL_MULTI_PERFORM === $code );
		return CURLM_OK === $code && $running > 0;
	}

	/**
	 * CURLOPT_HEADERFUNCTION: keeps the headers the client reads (location, retry-after).
	 *
	 * @param resource|CurlHandle $handle Handle.
	 * @param string              $line   Header line.
	 * @return int Bytes handled.
	 */
	public function header_line( $handle, $line ) {
		$colon = strpos( $line, ':' );
		if ( false !== $colon ) {
			$name = strtolower( trim( substr( $line, 0, $colon ) ) );
			if ( in_array( $name, array( 'location', 'retry-after' ), true ) ) {
				$this->headers[ $name ] = trim( substr( $line, $colon + 1 ) );
			}
		}
		return strlen( $line );
	}

	/**
	 * Whether the request went in the background (false: it was sent synchronously at the start).
	 *
	 * @return bool
	 */
	public function is_async() {
		return $this->async;
	}

	/**
	 * Waits for the answer (at most the request's timeout from its start) and reads it.
	 *
	 * @return array|WP_Error As Igny8_Api_Client::request().
	 */
	public function wait() {
		if ( null !== $this->result ) {
			return $this->result;
		}
		if ( null === $this->handle ) {
			return new WP_Error( 'igny8_unreachable', __( 'The request to IGNY8 was abandoned before its answer.', 'igny8' ), array( 'status' => 0, 'code' => 'igny8_unreachable' ) );
		}
		$waiting = microtime( true );
		while ( $this->pump() ) {
			curl_multi_select( $this->multi, 1.0 );
		}
		$errno = CURLE_OK;
		while ( false !== ( $info = curl_multi_info_read( $this->multi ) ) ) { // phpcs:ignore Generic.CodeAnalysis.AssignmentInCondition.FoundInWhileCondition
			if ( $info['handle'] === $this->handle ) {
				$errno = (int) $info['result'];
			}
		}
		$this->blocked += microtime( true ) - $waiting;
		$elapsed        = (int) round( ( microtime( true ) - $this->started ) * 1000 );
		/** This action is documented in includes/class-api-client.php (send). */
		do_action( 'igny8_http_waited', $this->blocked, $this->method, $this->path );

		if ( CURLE_OK !== $errno ) {
			$message   = curl_error( $this->handle );
			$transport = new WP_Error( 'http_request_failed', sprintf( 'cURL error %d: %s', $errno, '' !== $message ? $message : curl_strerror( $errno ) ) );
			$result    = $this->client->read_response( $this->method, $this->url, $transport, 0, array(), '', $elapsed );
		} else {
			$status = (int) curl_getinfo( $this->handle, CURLINFO_RESPONSE_CODE );
			$result = $this->client->read_response( $this->method, $this->url, null, $status, $this->headers, (string) curl_multi_getcontent( $this->handle ), $elapsed );
		}
		$this->close();
		$this->result = $result;
		return $result;
	}

	/**
	 * Drops the request: an answer not waited for is never read (nothing it acknowledges counts).
	 */
	public function close() {
		if ( null !== $this->handle ) {
			curl_multi_remove_handle( $this->multi, $this->handle );
			curl_close( $this->handle );
			$this->handle = null;
			$this->multi  = null;
		}
	}

	public function __destruct() {
		$this->close();
	}
}
