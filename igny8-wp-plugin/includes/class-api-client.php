<?php
/**
 * The one HTTP client for the IGNY8 API: base URL, auth header, timeouts, retries, the answer envelope,
 * error messages in plain words, and logging. Everything the plugin sends to IGNY8 goes through here.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * Client for the IGNY8 API (`/api/v1/…`, JSON envelopes, `Authorization: Bearer …`).
 */
class Igny8_Api_Client {

	/** Seconds before a request is given up (filter: igny8_http_timeout). */
	const DEFAULT_TIMEOUT = 15;

	/**
	 * Backend base URL without a trailing slash, e.g. https://app.igny8.com.
	 *
	 * @var string
	 */
	private $base_url;

	/**
	 * @param string|null $base_url Backend base URL; null = the stored one (igny8_api_base).
	 */
	public function __construct( $base_url = null ) {
		$this->base_url = untrailingslashit( null === $base_url ? igny8_get_api_base() : (string) $base_url );
	}

	/**
	 * @return string
	 */
	public function get_base_url() {
		return $this->base_url;
	}

	/**
	 * Sends one API request and unwraps the envelope.
	 *
	 * @param string $method HTTP method.
	 * @param string $path   Path under the base URL, with its trailing slash, e.g. /api/v1/auth/login/.
	 * @param array  $args {
	 *     @type array|null  $body       JSON body.
	 *     @type string|null $raw_body   A body already encoded as JSON (content batches measure theirs as they build it).
	 *     @type array       $query      Query arguments.
	 *     @type string      $auth       'none' (default) or 'api_key' (the site's key).
	 *     @type string|null $token      Explicit bearer token (overrides $auth; used while connecting).
	 *     @type int         $timeout    Seconds.
	 *     @type bool        $idempotent Safe to send again after a network error or 502/503/504 (default: GET only).
	 *     @type int|null    $retries    Extra attempts for idempotent requests (default: filter igny8_http_retries, 1).
	 *     @type bool        $skip_identity_check Send even from a copy of the site at another address (only the
	 *                                            owner's "the site moved" does: sync/identity.php).
	 * }
	 * @return array|WP_Error The envelope's `data` (array, possibly a list), or WP_Error whose code is the API's
	 *                        `code` (invalid_credentials, api_key_revoked, …) or igny8_unreachable / igny8_bad_answer,
	 *                        whose message is a sentence for the site owner, and whose data holds status,
	 *                        code, the server's own sentence (`error`), field `errors` and `retry_after`.
	 */
	public function request( $method, $path, array $args = array() ) {
		$args = wp_parse_args(
			$args,
			array(
				'body'       => null,
				'raw_body'   => null,
				'query'      => array(),
				'auth'       => 'none',
				'token'      => null,
				'timeout'    => self::DEFAULT_TIMEOUT,
				'idempotent' => ( 'GET' === strtoupper( $method ) ),
				'retries'    => null,
			)
		);

		$refused = $this->refusal( $path, $args );
		if ( $refused ) {
			igny8_log( sprintf( '%s %s refused: %s', strtoupper( $method ), $path, $refused->get_error_message() ) );
			return $refused;
		}
		return $this->send( $method, $path, $args, $this->token_for( $args ) );
	}

	/**
	 * Why a request must not be sent at all: an insecure backend URL, or a request to an integration from a
	 * copy of the site at another address than the one it connected from (sync/identity.php), whose
	 * owner has not chosen yet. Igny8_Async_Request asks the same.
	 *
	 * @param string $path Path under the base URL.
	 * @param array  $args Arguments of request().
	 * @return WP_Error|null
	 */
	public function refusal( $path, array $args ) {
		$insecure = igny8_insecure_api_base_error( $this->base_url );
		if ( $insecure ) {
			return $insecure;
		}
		if ( empty( $args['skip_identity_check'] ) && preg_match( '#^/?api/v1/integration/integrations/\d+/#', (string) $path ) ) {
			return igny8_identity_refusal();
		}
		return null;
	}

	/**
	 * GETs a public JSON document that is not an API envelope (e.g. /downloads/igny8-wp-plugin.json): no
	 * credentials, no retries; an envelope, if the server sends one, is unwrapped.
	 *
	 * @param string $path    Path under the base URL.
	 * @param int    $timeout Seconds.
	 * @return array|WP_Error The decoded JSON object.
	 */
	public function get_json( $path, $timeout = 10 ) {
		$insecure = igny8_insecure_api_base_error( $this->base_url );
		if ( $insecure ) {
			return $insecure;
		}
		list( $url, $http_args ) = $this->prepare( 'GET', $path, array( 'timeout' => $timeout ), null );
		$started                 = microtime( true );
		$response                = wp_safe_remote_request( $url, $http_args );
		$elapsed                 = (int) round( ( microtime( true ) - $started ) * 1000 );
		if ( is_wp_error( $response ) ) {
			return $this->read_response( 'GET', $url, $response, 0, array(), '', $elapsed );
		}
		$status  = (int) wp_remote_retrieve_response_code( $response );
		$decoded = json_decode( (string) wp_remote_retrieve_body( $response ), true );
		igny8_log( sprintf( 'GET %s -> %d (%d ms)', $this->loggable_url( $url ), $status, $elapsed ) );
		if ( 200 !== $status || ! is_array( $decoded ) ) {
			return $this->bad_answer( $status, __( 'the answer is not the JSON document asked for', 'igny8' ) );
		}
		if ( isset( $decoded['success'], $decoded['data'] ) && true === $decoded['success'] && is_array( $decoded['data'] ) ) {
			return $decoded['data'];
		}
		return $decoded;
	}

	/**
	 * The bearer token a request's arguments ask for: the explicit token, else the site's API key.
	 *
	 * @param array $args Arguments of request() (token, auth).
	 * @return string|null
	 */
	public function token_for( array $args ) {
		if ( isset( $args['token'] ) ) {
			return $args['token'];
		}
		return isset( $args['auth'] ) && 'api_key' === $args['auth'] ? igny8_get_api_key() : null;
	}

	/**
	 * One logical request: attempts, envelope, errors.
	 *
	 * @param string      $method HTTP method.
	 * @param string      $path   Path.
	 * @param array       $args   Parsed arguments of request().
	 * @param string|null $token  Bearer token or null/'' for none.
	 * @return array|WP_Error
	 */
	private function send( $method, $path, array $args, $token ) {
		list( $url, $http_args ) = $this->prepare( $method, $path, $args, $token );
		$method                  = $http_args['method'];

		$retries = 0;
		if ( $args['idempotent'] ) {
			$retries = null === $args['retries'] ? (int) apply_filters( 'igny8_http_retries', 1, $method, $path ) : (int) $args['retries'];
		}

		$attempt = 0;
		while ( true ) {
			$started  = microtime( true );
			$response = wp_safe_remote_request( $url, $http_args );
			$seconds  = microtime( true ) - $started;
			$elapsed  = (int) round( $seconds * 1000 );
			$status   = is_wp_error( $response ) ? 0 : (int) wp_remote_retrieve_response_code( $response );

			$retryable = is_wp_error( $response ) ? $this->is_retryable_transport_error( $response ) : in_array( $status, array( 502, 503, 504 ), true );
			if ( $retryable && $attempt < $retries ) {
				++$attempt;
				igny8_log( sprintf( '%s %s -> %s (%d ms); retry %d of %d', $method, $this->loggable_url( $url ), is_wp_error( $response ) ? $response->get_error_message() : $status, $elapsed, $attempt, $retries ) );
				$delay_ms = (int) apply_filters( 'igny8_http_retry_delay_ms', 500 * $attempt );
				if ( $delay_ms > 0 ) {
					usleep( $delay_ms * 1000 );
				}
				continue;
			}
			break;
		}
		/**
		 * Seconds this process waited for an IGNY8 answer (benchmarks split the time with it).
		 *
		 * @param float  $seconds Seconds blocked on the request.
		 * @param string $method  HTTP method.
		 * @param string $path    Path.
		 */
		do_action( 'igny8_http_waited', $seconds, $method, $path );

		if ( is_wp_error( $response ) ) {
			return $this->read_response( $method, $url, $response, 0, array(), '', $elapsed );
		}
		return $this->read_response(
			$method,
			$url,
			null,
			$status,
			array(
				'location'    => (string) wp_remote_retrieve_header( $response, 'location' ),
				'retry-after' => (string) wp_remote_retrieve_header( $response, 'retry-after' ),
			),
			(string) wp_remote_retrieve_body( $response ),
			$elapsed
		);
	}

	/**
	 * The URL and WordPress HTTP arguments of a request (headers, auth, timeout, body, filter
	 * igny8_http_args), as wp_safe_remote_request() takes them. Igny8_Async_Request sends the same.
	 *
	 * @param string      $method HTTP method.
	 * @param string      $path   Path under the base URL.
	 * @param array       $args   Arguments of request() (timeout, body or raw_body, query).
	 * @param string|null $token  Bearer token or null/'' for none.
	 * @return array [url, http args].
	 */
	public function prepare( $method, $path, array $args, $token ) {
		$method = strtoupper( $method );
		$url    = $this->base_url . '/' . ltrim( $path, '/' );
		if ( ! empty( $args['query'] ) ) {
			$url = add_query_arg( array_map( 'rawurlencode', array_map( 'strval', $args['query'] ) ), $url );
		}

		$headers = array(
			'Accept' => 'application/json',
		);
		if ( null !== $token && '' !== $token ) {
			$headers['Authorization'] = 'Bearer ' . $token;
			// Where this site runs: the platform refuses a copy of the site at another address.
			$site_url = igny8_identity_header_url();
			if ( '' !== $site_url ) {
				$headers['X-Igny8-Site-Url'] = $site_url;
			}
		}
		$http_args = array(
			'method'      => $method,
			'timeout'     => (int) apply_filters( 'igny8_http_timeout', isset( $args['timeout'] ) ? (int) $args['timeout'] : self::DEFAULT_TIMEOUT, $method, $path ),
			'redirection' => 0,
			'headers'     => $headers,
			'user-agent'  => 'igny8-wp-plugin/' . IGNY8_VERSION . '; WordPress/' . get_bloginfo( 'version' ) . '; ' . home_url( '/' ),
		);
		if ( isset( $args['body'] ) || isset( $args['raw_body'] ) ) {
			$http_args['headers']['Content-Type'] = 'application/json';
			$http_args['body']                    = isset( $args['raw_body'] ) ? (string) $args['raw_body'] : wp_json_encode( $args['body'] );
			$http_args['data_format']             = 'body';
		}
		return array( $url, apply_filters( 'igny8_http_args', $http_args, $method, $path ) );
	}

	/**
	 * The API's answer read from an HTTP response: the envelope's data, or a WP_Error as request()
	 * describes it. Shared by the synchronous path and Igny8_Async_Request.
	 *
	 * @param string        $method    HTTP method.
	 * @param string        $url       URL.
	 * @param WP_Error|null $transport A transport failure (then status, headers and body are unused).
	 * @param int           $status    HTTP status.
	 * @param array         $headers   location and retry-after (lowercase names).
	 * @param string        $body      Response body.
	 * @param int           $elapsed   Milliseconds, for the log.
	 * @return array|WP_Error
	 */
	public function read_response( $method, $url, $transport, $status, array $headers, $body, $elapsed ) {
		if ( $transport instanceof WP_Error ) {
			igny8_log( sprintf( '%s %s -> %s (%d ms)', $method, $this->loggable_url( $url ), $transport->get_error_message(), $elapsed ) );
			return $this->transport_error( $transport );
		}

		if ( $status >= 300 && $status < 400 ) {
			// Redirects are not followed: a POST would arrive as a GET. Say where the backend lives instead.
			$location = isset( $headers['location'] ) ? (string) $headers['location'] : '';
			igny8_log( sprintf( '%s %s -> %d redirect (%d ms)', $method, $this->loggable_url( $url ), $status, $elapsed ) );
			return new WP_Error(
				'igny8_redirected',
				/* translators: 1: backend URL, 2: the address it redirects to. */
				sprintf( __( 'The backend URL %1$s redirects to %2$s. Enter the address IGNY8 is served at (for example https:// instead of http://).', 'igny8' ), $this->base_url, '' !== $location ? $location : __( 'another address', 'igny8' ) ),
				array( 'status' => $status, 'code' => 'igny8_redirected' )
			);
		}

		$decoded = json_decode( (string) $body, true );
		if ( ! is_array( $decoded ) || ! array_key_exists( 'success', $decoded ) ) {
			igny8_log( sprintf( '%s %s -> %d, not an IGNY8 envelope (%d ms)', $method, $this->loggable_url( $url ), $status, $elapsed ) );
			return $this->bad_answer( $status, __( 'the answer is not JSON in the IGNY8 format', 'igny8' ) );
		}

		if ( $status >= 200 && $status < 300 && true === $decoded['success'] ) {
			igny8_log( sprintf( '%s %s -> %d (%d ms)', $method, $this->loggable_url( $url ), $status, $elapsed ) );
			return isset( $decoded['data'] ) && is_array( $decoded['data'] ) ? $decoded['data'] : array();
		}

		$code        = isset( $decoded['code'] ) && is_string( $decoded['code'] ) ? $decoded['code'] : 'http_' . $status;
		$server_says = isset( $decoded['error'] ) && is_string( $decoded['error'] ) ? $decoded['error'] : '';
		if ( 'site_url_mismatch' === $code ) {
			igny8_identity_note_platform_refusal( $server_says );
		}
		$retry_raw   = isset( $headers['retry-after'] ) ? trim( (string) $headers['retry-after'] ) : '';
		$retry_after = (int) $retry_raw;
		igny8_log( sprintf( '%s %s -> %d %s (%d ms)', $method, $this->loggable_url( $url ), $status, $code, $elapsed ) );

		return new WP_Error(
			$code,
			$this->describe( $code, $status, $server_says, $retry_after ),
			array(
				'status'      => $status,
				'code'        => $code,
				'error'       => $server_says,
				'errors'      => isset( $decoded['errors'] ) && is_array( $decoded['errors'] ) ? $decoded['errors'] : array(),
				'retry_after' => $retry_after,
				'retry_raw'   => $retry_raw,
			)
		);
	}

	/**
	 * A sentence a site owner can act on, for an error answer of the API.
	 *
	 * @param string $code        API error code.
	 * @param int    $status      HTTP status.
	 * @param string $server_says The server's own sentence.
	 * @param int    $retry_after Seconds from Retry-After (0 = none).
	 * @return string
	 */
	private function describe( $code, $status, $server_says, $retry_after ) {
		switch ( $code ) {
			case 'invalid_credentials':
				return __( 'IGNY8 did not accept this email and password. Check them and try again.', 'igny8' );
			case 'invalid_token':
				return __( 'IGNY8 does not recognise this API key. Copy the key again from the site\'s API keys page in IGNY8.', 'igny8' );
			case 'not_authenticated':
				return __( 'IGNY8 asked for credentials that were not sent. Enter the API key and connect again.', 'igny8' );
			case 'api_key_revoked':
				return __( 'This API key has been revoked in IGNY8. Create a new key for the site in IGNY8 and connect again with it.', 'igny8' );
			case 'site_inactive':
				return __( 'This site is deactivated in IGNY8. Reactivate it in IGNY8, then try again.', 'igny8' );
			case 'site_url_mismatch':
				/* translators: %s: the server's explanation, which names both addresses. */
				return sprintf( __( 'IGNY8 refused this site: %s', 'igny8' ), $server_says ? $server_says : __( 'it knows the site at another address. Choose under Settings → IGNY8 API whether this is a staging copy, the site moved, or a new site.', 'igny8' ) );
			case 'token_expired':
				return __( 'The IGNY8 session has expired. Connect again with your email and password.', 'igny8' );
			case 'forbidden':
				return __( 'IGNY8 refused the request: the API key or account has no access to this site or integration.', 'igny8' );
			case 'not_found':
				return __( 'IGNY8 does not know the requested site or integration (it may have been deleted).', 'igny8' );
			case 'rate_limited':
				if ( $retry_after > 0 ) {
					/* translators: %d: seconds to wait. */
					return sprintf( _n( 'Too many attempts: IGNY8 asks to wait %d second before trying again.', 'Too many attempts: IGNY8 asks to wait %d seconds before trying again.', $retry_after, 'igny8' ), $retry_after );
				}
				return __( 'Too many attempts: IGNY8 asks to wait a few minutes before trying again.', 'igny8' );
			case 'validation_error':
				/* translators: %s: the server's explanation. */
				return sprintf( __( 'IGNY8 rejected the data this site sent: %s', 'igny8' ), $server_says ? $server_says : __( 'invalid fields', 'igny8' ) );
		}
		if ( $status >= 500 ) {
			/* translators: 1: backend URL, 2: HTTP status code. */
			return sprintf( __( 'The IGNY8 backend at %1$s had an internal error (HTTP %2$d). Try again later.', 'igny8' ), $this->base_url, $status );
		}
		/* translators: 1: HTTP status code, 2: error code, 3: the server's explanation. */
		return sprintf( __( 'IGNY8 answered HTTP %1$d (%2$s): %3$s', 'igny8' ), $status, $code, $server_says ? $server_says : __( 'no details', 'igny8' ) );
	}

	/**
	 * @param WP_Error $error Error from wp_safe_remote_request().
	 * @return WP_Error
	 */
	private function transport_error( WP_Error $error ) {
		$detail = $error->get_error_message();
		if ( 'http_request_not_executed' === $error->get_error_code() ) {
			/* translators: %s: backend URL. */
			$message = sprintf( __( 'WordPress blocked the request to the IGNY8 backend at %s (WP_HTTP_BLOCK_EXTERNAL is set). Add its host to WP_ACCESSIBLE_HOSTS.', 'igny8' ), $this->base_url );
		} elseif ( translate( 'A valid URL was not provided.', 'default' ) === $detail ) { // phpcs:ignore WordPress.WP.I18n -- WordPress core's own string, as core shows it.
			/* translators: %s: backend URL. */
			$message = sprintf( __( 'WordPress refused to send a request to %s: outgoing requests may only go to public hosts on ports 80, 443 or 8080. Check the backend URL.', 'igny8' ), $this->base_url );
		} else {
			/* translators: 1: backend URL, 2: the network error. */
			$message = sprintf( __( 'Could not reach the IGNY8 backend at %1$s (%2$s). Check the backend URL and that the server is running.', 'igny8' ), $this->base_url, $detail );
		}
		return new WP_Error( 'igny8_unreachable', $message, array( 'status' => 0, 'code' => 'igny8_unreachable', 'error' => $detail ) );
	}

	/**
	 * @param int    $status HTTP status.
	 * @param string $why    What was wrong with the answer.
	 * @return WP_Error
	 */
	private function bad_answer( $status, $why ) {
		return new WP_Error(
			'igny8_bad_answer',
			/* translators: 1: backend URL, 2: HTTP status code, 3: what was wrong. */
			sprintf( __( 'The server at %1$s did not answer like an IGNY8 backend (HTTP %2$d: %3$s). Check the backend URL.', 'igny8' ), $this->base_url, $status, $why ),
			array( 'status' => $status, 'code' => 'igny8_bad_answer' )
		);
	}

	/**
	 * Network errors worth one more try: refused or reset connections, DNS hiccups; not timeouts (the
	 * request may have arrived, and waiting twice as long helps no one).
	 *
	 * @param WP_Error $error Transport error.
	 * @return bool
	 */
	private function is_retryable_transport_error( WP_Error $error ) {
		if ( in_array( $error->get_error_code(), array( 'http_request_not_executed' ), true ) ) {
			return false;
		}
		$message = strtolower( $error->get_error_message() );
		return false === strpos( $message, 'timed out' ) && false === strpos( $message, 'curl error 28' ) && false === strpos( $message, 'valid url' );
	}

	/**
	 * The URL as logged: no query string (it may carry ids, never secrets, but logs stay short).
	 *
	 * @param string $url Request URL.
	 * @return string
	 */
	private function loggable_url( $url ) {
		$q = strpos( $url, '?' );
		return false === $q ? $url : substr( $url, 0, $q ) . '?…';
	}
}
