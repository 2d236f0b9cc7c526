<?php
/**
 * A stand-in for the IGNY8 API inside PHPUnit, through WordPress's `pre_http_request` filter: answers
 * registered routes with envelopes (or transport errors) and records every request. The real backend
 * is exercised by the end-to-end test (crates/wp-e2e).
 *
 * @package Igny8
 */

/**
 * Routes are "METHOD /path/" or "METHOD /path/?query", answered by a fixed response or a callable.
 */
class Igny8_Fake_Backend {

	const BASE = 'https://igny8.test';

	/**
	 * Every request seen: method, url, route, headers, body (decoded JSON), timeout.
	 *
	 * @var array[]
	 */
	public $requests = array();

	/**
	 * @var array<string, array|callable|WP_Error>
	 */
	private $routes = array();

	public function __construct() {
		add_filter( 'pre_http_request', array( $this, 'handle' ), 10, 3 );
	}

	public function detach() {
		remove_filter( 'pre_http_request', array( $this, 'handle' ), 10 );
	}

	/**
	 * Answers $route with a status and a JSON body (or a WP_Error transport failure, or a callable taking
	 * the recorded request and returning [status, body, headers]). Later registrations replace earlier.
	 *
	 * @param string                  $route   e.g. "POST /api/v1/auth/login/".
	 * @param int|WP_Error|callable   $status  HTTP status, transport error, or handler.
	 * @param mixed                   $body    Decoded JSON body.
	 * @param array                   $headers Response headers (lowercase names).
	 * @return $this
	 */
	public function on( $route, $status, $body = null, array $headers = array() ) {
		$this->routes[ $route ] = is_int( $status ) ? array( $status, $body, $headers ) : $status;
		return $this;
	}

	/**
	 * A whole working backend: user 7's account, site 42 "My Blog" (active), no integration yet (POST
	 * creates #9), update-structure echoing what it got as the effective settings.
	 *
	 * @param array $site Overrides for the site the API key belongs to.
	 * @return $this
	 */
	public function working( array $site = array() ) {
		$site = array_merge(
			array(
				'id'         => 42,
				'account_id' => 7,
				'name'       => 'My Blog',
				'url'        => home_url(),
				'is_active'  => true,
				'created_at' => '2025-11-22T10:00:00Z',
			),
			$site
		);
		$this->on(
			'POST /api/v1/auth/login/',
			200,
			self::ok(
				array(
					'access'             => 'access-token-1',
					'refresh'            => 'refresh-token-1',
					'access_expires_at'  => '2030-01-01T00:00:00Z',
					'refresh_expires_at' => '2030-01-07T00:00:00Z',
					'user'               => array( 'id' => 3, 'email' => 'owner@example.com', 'account_id' => 7 ),
				)
			)
		);
		$this->on( 'GET /api/v1/auth/sites/', 200, self::ok( array( $site ) ) );
		$this->on( 'GET /api/v1/integration/integrations/?site=' . $site['id'], 200, self::ok( array() ) );
		$this->on( 'POST /api/v1/integration/integrations/', 201, self::ok( self::integration( 9, $site['id'] ) ) );
		$this->on( 'POST /api/v1/integration/integrations/9/update-structure/', array( $this, 'update_structure' ) );
		return $this;
	}

	/**
	 * update-structure as the platform answers it for types seen for the first time: the plugin's values.
	 *
	 * @param array $request Recorded request.
	 * @return array [status, body]
	 */
	public function update_structure( array $request ) {
		$post_types = isset( $request['body']['post_types'] ) ? (array) $request['body']['post_types'] : array();
		$taxonomies = isset( $request['body']['taxonomies'] ) ? (array) $request['body']['taxonomies'] : array();
		return array(
			200,
			self::ok(
				array(
					'message'              => 'Site structure updated successfully',
					'post_types_count'     => count( $post_types ),
					'taxonomies_count'     => count( $taxonomies ),
					'last_structure_fetch' => isset( $request['body']['timestamp'] ) ? $request['body']['timestamp'] : '',
					'content_types'        => array(
						'post_types' => $post_types,
						'taxonomies' => $taxonomies,
					),
				)
			),
		);
	}

	/**
	 * @param mixed $data Data.
	 * @return array Success envelope.
	 */
	public static function ok( $data ) {
		return array(
			'success' => true,
			'data'    => $data,
		);
	}

	/**
	 * @param string $code  Machine code.
	 * @param string $error Sentence.
	 * @return array Error envelope.
	 */
	public static function fail( $code, $error ) {
		return array(
			'success' => false,
			'error'   => $error,
			'code'    => $code,
		);
	}

	/**
	 * @param int $id      Integration id.
	 * @param int $site_id Site id.
	 * @return array
	 */
	public static function integration( $id, $site_id ) {
		return array(
			'id'          => $id,
			'site'        => $site_id,
			'platform'    => 'wordpress',
			'is_active'   => true,
			'config_json' => new stdClass(),
		);
	}

	/**
	 * The pre_http_request filter.
	 *
	 * @param false|array|WP_Error $pre  Short-circuit value.
	 * @param array                $args Request arguments.
	 * @param string               $url  URL.
	 * @return array|WP_Error
	 */
	public function handle( $pre, $args, $url ) {
		$parts   = wp_parse_url( $url );
		$route   = strtoupper( $args['method'] ) . ' ' . ( isset( $parts['path'] ) ? $parts['path'] : '/' ) . ( isset( $parts['query'] ) ? '?' . $parts['query'] : '' );
		$request = array(
			'method'  => strtoupper( $args['method'] ),
			'url'     => $url,
			'route'   => $route,
			'headers' => isset( $args['headers'] ) ? (array) $args['headers'] : array(),
			'body'    => isset( $args['body'] ) && is_string( $args['body'] ) ? json_decode( $args['body'], true ) : null,
			'raw'     => isset( $args['body'] ) ? $args['body'] : null,
			'timeout' => isset( $args['timeout'] ) ? $args['timeout'] : null,
		);
		$this->requests[] = $request;

		if ( ! isset( $this->routes[ $route ] ) ) {
			return array(
				'headers'  => array( 'content-type' => 'application/json' ),
				'body'     => wp_json_encode( self::fail( 'not_found', 'Fake backend: no route for ' . $route ) ),
				'response' => array( 'code' => 404, 'message' => 'Not Found' ),
				'cookies'  => array(),
				'filename' => null,
			);
		}
		$answer = $this->routes[ $route ];
		if ( $answer instanceof WP_Error ) {
			return $answer;
		}
		if ( is_callable( $answer ) ) {
			$answer = call_user_func( $answer, $request );
			if ( $answer instanceof WP_Error ) {
				return $answer;
			}
		}
		list( $status, $body ) = $answer;
		$headers               = isset( $answer[2] ) ? $answer[2] : array();
		return array(
			'headers'  => array_merge( array( 'content-type' => 'application/json' ), $headers ),
			'body'     => is_string( $body ) ? $body : wp_json_encode( $body ),
			'response' => array( 'code' => $status, 'message' => get_status_header_desc( $status ) ),
			'cookies'  => array(),
			'filename' => null,
		);
	}

	/**
	 * The recorded requests to a route.
	 *
	 * @param string $route Route.
	 * @return array[]
	 */
	public function requests_to( $route ) {
		return array_values(
			array_filter(
				$this->requests,
				static function ( $r ) use ( $route ) {
					return $r['route'] === $route;
				}
			)
		);
	}

	/**
	 * @return string[] Routes of all recorded requests, in order.
	 */
	public function routes_called() {
		return array_column( $this->requests, 'route' );
	}
}
