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

	/**
	 * What the fake platform holds after content batches: "kind:type:id" => item as sent.
	 *
	 * @var array<string, array>
	 */
	public $held = array();

	/**
	 * Every content batch received, decoded, with its raw size: [body, bytes].
	 *
	 * @var array[]
	 */
	public $batches = array();

	/**
	 * Full sync runs: run_id => {totals, status, max_ids}.
	 *
	 * @var array<string, array>
	 */
	public $runs = array();

	/**
	 * What GET content/status/ answers.
	 *
	 * @var array
	 */
	public $content_status = array(
		'full_sync_requested' => false,
		'verify_requested'    => false,
	);

	/**
	 * Verification requests received, decoded.
	 *
	 * @var array[]
	 */
	public $verify_requests = array();

	/**
	 * Items the fake platform rejects: callable(item) => reason string, or null to accept.
	 *
	 * @var callable|null
	 */
	public $reject = null;

	/**
	 * The two-way outbox: change id => change (status pending until an outcome is reported).
	 *
	 * @var array<int, array>
	 */
	public $changes = array();

	/**
	 * Outcomes reported with POST changes/results/, in the order received.
	 *
	 * @var array[]
	 */
	public $outcomes = array();

	/**
	 * Bodies of POST changes/receiver/, in order.
	 *
	 * @var array[]
	 */
	public $receivers = array();

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
		$this->on( 'POST /api/v1/integration/integrations/9/changes/receiver/', array( $this, 'changes_receiver' ) );
		return $this;
	}

	/**
	 * POST changes/receiver/: 422 unless an http(s) URL and 64 hex characters.
	 *
	 * @param array $request Recorded request.
	 * @return array
	 */
	public function changes_receiver( array $request ) {
		$body = $request['body'];
		if ( ! is_array( $body ) || ! isset( $body['url'], $body['secret'] ) || ! preg_match( '#^https?://#', (string) $body['url'] ) || ! preg_match( '/^[0-9a-f]{64}$/', (string) $body['secret'] ) ) {
			return array( 422, self::fail( 'validation_error', 'url or secret is invalid' ) );
		}
		$this->receivers[] = $body;
		return array( 200, self::ok( array( 'url' => $body['url'] ) ) );
	}

	/**
	 * The two-way endpoints of integration 9 (changes/pending/ with limit 50, changes/results/) over $changes.
	 *
	 * @return $this
	 */
	public function changes_platform() {
		$this->on( 'GET /api/v1/integration/integrations/9/changes/pending/?limit=50', array( $this, 'changes_pending' ) );
		$this->on( 'POST /api/v1/integration/integrations/9/changes/results/', array( $this, 'changes_results' ) );
		return $this;
	}

	/**
	 * Queues a change in the outbox: id and seq follow the last ones; op update, kind post, type post,
	 * policy manual unless given.
	 *
	 * @param array $change Change fields.
	 * @return array The change as queued.
	 */
	public function queue_change( array $change ) {
		$last   = $this->changes ? max( array_keys( $this->changes ) ) : 40;
		$change = array_merge(
			array(
				'id'                => $last + 1,
				'seq'               => count( $this->changes ) + 1,
				'op'                => 'update',
				'kind'              => 'post',
				'type'              => 'post',
				'fields'            => array(),
				'base'              => array(),
				'base_modified_gmt' => null,
				'policy'            => 'manual',
				'status'            => 'pending',
				'attempt'           => 0,
				'result'            => null,
				'created_by'        => 7,
				'created_at'        => gmdate( 'Y-m-d\\TH:i:s' ) . sprintf( '.%06dZ', ( $last + 1 ) % 1000000 ),
			),
			$change
		);
		$this->changes[ $change['id'] ] = $change;
		return $change;
	}

	/**
	 * @return array[] Pending changes in seq order.
	 */
	public function pending_changes() {
		$pending = array_values(
			array_filter(
				$this->changes,
				static function ( $c ) {
					return 'pending' === $c['status'];
				}
			)
		);
		usort(
			$pending,
			static function ( $a, $b ) {
				return $a['seq'] <=> $b['seq'];
			}
		);
		return $pending;
	}

	/**
	 * GET changes/pending/?limit=50.
	 *
	 * @return array
	 */
	public function changes_pending() {
		$pending = $this->pending_changes();
		$page    = array_slice( $pending, 0, 50 );
		foreach ( $page as $i => $change ) {
			++$this->changes[ $change['id'] ]['attempt'];
			$page[ $i ]['attempt'] = $this->changes[ $change['id'] ]['attempt'];
		}
		return array( 200, self::ok( array( 'changes' => $page, 'more' => count( $pending ) > 50 ) ) );
	}

	/**
	 * POST changes/results/.
	 *
	 * @param array $request Recorded request.
	 * @return array
	 */
	public function changes_results( array $request ) {
		$answers = array();
		foreach ( (array) $request['body']['results'] as $outcome ) {
			$this->outcomes[] = $outcome;
			$known            = isset( $this->changes[ $outcome['id'] ] );
			if ( $known ) {
				$this->changes[ $outcome['id'] ]['status'] = $outcome['status'];
				$this->changes[ $outcome['id'] ]['result'] = $outcome;
			}
			$answers[] = array( 'id' => $outcome['id'], 'status' => $known ? 'recorded' : 'unknown' );
		}
		return array( 200, self::ok( array( 'results' => $answers ) ) );
	}

	/**
	 * The content endpoints of integration 9, applying docs/sync-protocol.md to $held: upserts (posts
	 * guarded by modified_gmt), deletes, range markers, full sync start/finish, status, verification.
	 *
	 * @return $this
	 */
	public function content_platform() {
		$base = 'POST /api/v1/integration/integrations/9/content/';
		$this->on( $base . 'batch/', array( $this, 'content_batch' ) );
		$this->on( $base . 'full-sync/', array( $this, 'content_full_sync' ) );
		$this->on( $base . 'verify/', array( $this, 'content_verify' ) );
		$this->on(
			$base . 'resync-request/',
			function () {
				$this->content_status['full_sync_requested'] = true;
				return array( 200, self::ok( array( 'full_sync_requested' => true ) ) );
			}
		);
		$this->on(
			'GET /api/v1/integration/integrations/9/content/status/',
			function () {
				return array( 200, self::ok( array_merge( $this->content_status, array( 'changes_pending' => count( $this->pending_changes() ) ) ) ) );
			}
		);
		return $this;
	}

	/**
	 * POST content/batch/.
	 *
	 * @param array $request Recorded request.
	 * @return array
	 */
	public function content_batch( array $request ) {
		$body = $request['body'];
		if ( ! is_array( $body ) || ! isset( $body['items'] ) || ! is_array( $body['items'] ) ) {
			return array( 400, self::fail( 'invalid_json', 'Not a batch.' ) );
		}
		$this->batches[] = array( $body, strlen( (string) $request['raw'] ) );
		if ( strlen( (string) $request['raw'] ) > 8388608 ) {
			return array( 413, self::fail( 'payload_too_large', 'Too large.' ) );
		}
		$results = array();
		$counts  = array( 'applied' => 0, 'stale' => 0, 'rejected' => 0 );
		$in      = array();
		foreach ( $body['items'] as $index => $item ) {
			$reason = is_callable( $this->reject ) ? call_user_func( $this->reject, $item ) : null;
			$key    = $item['kind'] . ':' . $item['type'] . ':' . $item['wp_id'];
			$held   = isset( $this->held[ $key ] ) ? $this->held[ $key ] : null;
			if ( null !== $reason ) {
				$status = 'rejected';
			} elseif ( $held && 'upsert' === $item['op'] && self::read_earlier( $held, $item ) ) {
				$status = 'stale';
			} elseif ( 'delete' === $item['op'] ) {
				unset( $this->held[ $key ] );
				$status = 'applied';
			} else {
				$this->held[ $key ] = $item;
				$status             = 'applied';
			}
			$in[ $key ] = true;
			++$counts[ $status ];
			$results[] = array_filter( array( 'index' => $index, 'status' => $status, 'reason' => $reason ), static function ( $v ) {
				return null !== $v;
			} );
		}
		if ( isset( $body['full_sync'] ) ) {
			$range = $body['full_sync'];
			foreach ( array_keys( $this->held ) as $key ) {
				list( $kind, $type, $id ) = explode( ':', $key );
				if ( $kind === $range['kind'] && $type === $range['type'] && (int) $id >= $range['from_id'] && (int) $id <= $range['to_id'] && ! isset( $in[ $key ] ) ) {
					unset( $this->held[ $key ] );
				}
			}
		}
		return array( 200, self::ok( array_merge( array( 'batch_id' => $body['batch_id'], 'results' => $results ), $counts ) ) );
	}

	/**
	 * POST content/full-sync/.
	 *
	 * @param array $request Recorded request.
	 * @return array
	 */
	public function content_full_sync( array $request ) {
		$body = $request['body'];
		if ( 'start' === $body['action'] ) {
			$this->runs[ $body['run_id'] ] = array( 'totals' => $body['totals'], 'status' => 'running' );
			$this->content_status['full_sync_requested'] = false;
			return array( 200, self::ok( array( 'run_id' => $body['run_id'], 'status' => 'running' ) ) );
		}
		if ( ! isset( $this->runs[ $body['run_id'] ] ) ) {
			return array( 409, self::fail( 'conflict', "full sync run '{$body['run_id']}' is not the current one; start a new run" ) );
		}
		$max_ids = (array) $body['max_ids'];
		foreach ( array_keys( $this->held ) as $key ) {
			list( $kind, $type, $id ) = explode( ':', $key );
			if ( ! isset( $max_ids[ "$kind:$type" ] ) || (int) $id > $max_ids[ "$kind:$type" ] ) {
				unset( $this->held[ $key ] );
			}
		}
		$this->runs[ $body['run_id'] ]['status']  = 'done';
		$this->runs[ $body['run_id'] ]['max_ids'] = $max_ids;
		return array( 200, self::ok( array( 'run_id' => $body['run_id'], 'status' => 'done' ) ) );
	}

	/**
	 * The platform's staleness rule: a post older than the one held, or of the same second and read earlier;
	 * a term read earlier.
	 *
	 * @param array $held Held item.
	 * @param array $item Incoming item.
	 * @return bool
	 */
	public static function read_earlier( array $held, array $item ) {
		if ( 'post' === $item['kind'] ) {
			$order = strcmp( $held['modified_gmt'], $item['modified_gmt'] );
			if ( 0 !== $order ) {
				return $order > 0;
			}
		}
		return isset( $held['read_at'], $item['read_at'] ) && strcmp( $held['read_at'], $item['read_at'] ) > 0;
	}

	/**
	 * The checksum of a held item: the one the plugin sent, or the platform's own for items without one.
	 *
	 * @param array $item Item.
	 * @return int
	 */
	public static function checksum( array $item ) {
		if ( isset( $item['checksum'] ) ) {
			return (int) $item['checksum'];
		}
		if ( 'term' === $item['kind'] ) {
			return crc32( $item['wp_id'] . '#' . $item['data']['parent'] . '#' . $item['data']['slug'] );
		}
		return crc32( $item['wp_id'] . '#' . $item['modified_gmt'] . '#' . $item['data']['status'] );
	}

	/**
	 * POST content/verify/.
	 *
	 * @param array $request Recorded request.
	 * @return array
	 */
	public function content_verify( array $request ) {
		$body                    = $request['body'];
		$this->verify_requests[] = $body;
		if ( 'done' === $body['action'] ) {
			$this->content_status['verify_requested'] = false;
			return array( 200, self::ok( array_merge( $this->content_status, array( 'result' => 'in_sync', 'verify' => array( 'state' => 'in_sync' ) ) ) ) );
		}
		$size = 10000;
		$mine = array();
		foreach ( $this->held as $item ) {
			if ( $item['kind'] === $body['kind'] && $item['type'] === $body['type'] ) {
				$mine[ (int) $item['wp_id'] ] = self::checksum( $item );
			}
		}
		if ( 'buckets' === $body['action'] ) {
			$buckets = array();
			foreach ( $mine as $id => $sum ) {
				$start = intdiv( $id, $size ) * $size;
				$buckets[ $start ]['count'] = ( isset( $buckets[ $start ]['count'] ) ? $buckets[ $start ]['count'] : 0 ) + 1;
				$buckets[ $start ]['sum']   = ( isset( $buckets[ $start ]['sum'] ) ? $buckets[ $start ]['sum'] : 0 ) + $sum;
			}
			$theirs = array();
			foreach ( $body['buckets'] as $bucket ) {
				$theirs[ $bucket['start'] ] = $bucket;
			}
			$differing = array();
			foreach ( array_unique( array_merge( array_keys( $buckets ), array_keys( $theirs ) ) ) as $start ) {
				$a = isset( $buckets[ $start ] ) ? array( $buckets[ $start ]['count'], $buckets[ $start ]['sum'] ) : array( 0, 0 );
				$b = isset( $theirs[ $start ] ) ? array( $theirs[ $start ]['count'], $theirs[ $start ]['sum'] ) : array( 0, 0 );
				if ( $a !== $b ) {
					$differing[] = array( 'start' => $start, 'count' => $a[0], 'sum' => $a[1] );
				}
			}
			return array( 200, self::ok( array( 'kind' => $body['kind'], 'type' => $body['type'], 'bucket_size' => $size, 'differing' => $differing ) ) );
		}
		$start  = (int) $body['start'];
		$theirs = array();
		foreach ( $body['items'] as $item ) {
			$theirs[ $item['wp_id'] ] = $item['checksum'];
		}
		$resend = array();
		foreach ( $theirs as $id => $sum ) {
			if ( ! isset( $mine[ $id ] ) || $mine[ $id ] !== $sum ) {
				$resend[] = $id;
			}
		}
		$delete = array();
		foreach ( $mine as $id => $sum ) {
			if ( $id >= $start && $id < $start + $size && ! isset( $theirs[ $id ] ) ) {
				$delete[] = $id;
				unset( $this->held[ $body['kind'] . ':' . $body['type'] . ':' . $id ] );
			}
		}
		return array( 200, self::ok( array( 'resend' => $resend, 'delete' => $delete ) ) );
	}

	/**
	 * The held items of one type, by id.
	 *
	 * @param string $kind post|term.
	 * @param string $type Type.
	 * @return array<int, array>
	 */
	public function held_of( $kind, $type ) {
		$out = array();
		foreach ( $this->held as $item ) {
			if ( $item['kind'] === $kind && $item['type'] === $type ) {
				$out[ (int) $item['wp_id'] ] = $item;
			}
		}
		ksort( $out );
		return $out;
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
		$body                  = is_string( $body ) ? $body : wp_json_encode( $body );
		if ( ! empty( $args['stream'] ) && ! empty( $args['filename'] ) ) {
			file_put_contents( $args['filename'], $body ); // A streamed download (download_url(), images) lands in its file.
		}
		return array(
			'headers'  => array_merge( array( 'content-type' => 'application/json' ), $headers ),
			'body'     => $body,
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
