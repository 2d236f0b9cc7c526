<?php
/**
 * Settings → IGNY8 API: the connection form, the status box, and the admin actions behind them
 * (connect, disconnect, sync now). Each action checks manage_options and its nonce before anything else.
 *
 * @package Igny8
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

/**
 * The settings page and its actions.
 */
class Igny8_Admin {

	const PAGE_SLUG         = 'igny8-settings';
	const CAPABILITY        = 'manage_options';
	const SETTINGS_GROUP    = 'igny8_settings';
	const ACTION_CONNECT    = 'igny8_connect';
	const ACTION_DISCONNECT = 'igny8_disconnect';
	const ACTION_SYNC       = 'igny8_sync_now';
	const ACTION_FULL_SYNC  = 'igny8_full_sync_now';
	/** The owner's choices for a copy of the site at another address (sync/identity.php). */
	const ACTION_SITE_STAGING = 'igny8_site_staging';
	const ACTION_SITE_MOVED   = 'igny8_site_moved';
	const ACTION_SITE_NEW     = 'igny8_site_new';

	/**
	 * @var Igny8_Admin|null
	 */
	private static $instance = null;

	/**
	 * The one instance; hooks are registered when it is first made.
	 *
	 * @return Igny8_Admin
	 */
	public static function instance() {
		if ( null === self::$instance ) {
			self::$instance = new self();
			self::$instance->register_hooks();
		}
		return self::$instance;
	}

	/**
	 * Registers the menu, the setting and the admin-post handlers.
	 */
	private function register_hooks() {
		add_action( 'admin_menu', array( $this, 'register_menu' ) );
		add_action( 'admin_init', array( $this, 'register_settings' ) );
		add_action( 'admin_post_' . self::ACTION_CONNECT, array( $this, 'on_admin_post_connect' ) );
		add_action( 'admin_post_' . self::ACTION_DISCONNECT, array( $this, 'on_admin_post_disconnect' ) );
		add_action( 'admin_post_' . self::ACTION_SYNC, array( $this, 'on_admin_post_sync' ) );
		add_action( 'admin_post_' . self::ACTION_FULL_SYNC, array( $this, 'on_admin_post_full_sync' ) );
		foreach ( array( self::ACTION_SITE_STAGING, self::ACTION_SITE_MOVED, self::ACTION_SITE_NEW ) as $action ) {
			add_action( 'admin_post_' . $action, array( $this, 'on_admin_post_site_identity' ) );
		}
		add_filter( 'plugin_action_links_' . plugin_basename( IGNY8_PLUGIN_FILE ), array( $this, 'add_settings_link' ) );
	}

	/**
	 * Settings → IGNY8 API.
	 */
	public function register_menu() {
		add_options_page(
			__( 'IGNY8 API', 'igny8' ),
			__( 'IGNY8 API', 'igny8' ),
			self::CAPABILITY,
			self::PAGE_SLUG,
			array( $this, 'render_settings_page' )
		);
	}

	/**
	 * The two-way sync switch and the Publish as user go through the Settings API (options.php).
	 */
	public function register_settings() {
		register_setting(
			self::SETTINGS_GROUP,
			'igny8_two_way_sync_enabled',
			array(
				'type'              => 'boolean',
				'sanitize_callback' => array( $this, 'sanitize_checkbox' ),
				'default'           => false,
			)
		);
		register_setting(
			self::SETTINGS_GROUP,
			'igny8_publish_as',
			array(
				'type'              => 'integer',
				'sanitize_callback' => array( $this, 'sanitize_publish_as' ),
				'default'           => 0,
			)
		);
	}

	/**
	 * The Publish as user: an existing user who can edit posts; anything else keeps the previous choice.
	 *
	 * @param mixed $value Submitted value.
	 * @return int User id.
	 */
	public function sanitize_publish_as( $value ) {
		$previous = (int) get_option( 'igny8_publish_as', 0 );
		$id       = is_scalar( $value ) && preg_match( '/^\d{1,20}$/', (string) $value ) ? (int) $value : 0;
		$user     = $id > 0 ? get_userdata( $id ) : false;
		if ( ! $user || ! user_can( $user, 'edit_posts' ) ) {
			if ( null !== $value && function_exists( 'add_settings_error' ) ) {
				add_settings_error( 'igny8_publish_as', 'igny8_publish_as', __( 'Choose a user who can edit posts to publish IGNY8\'s changes as.', 'igny8' ) );
			}
			return $previous;
		}
		return $id;
	}

	/**
	 * @param mixed $value Submitted value.
	 * @return int 1 or 0.
	 */
	public function sanitize_checkbox( $value ) {
		return empty( $value ) ? 0 : 1;
	}

	/**
	 * @param string[] $links Plugin row links.
	 * @return string[]
	 */
	public function add_settings_link( $links ) {
		array_unshift( $links, '<a href="' . esc_url( $this->page_url() ) . '">' . esc_html__( 'Settings', 'igny8' ) . '</a>' );
		return $links;
	}

	/**
	 * @return string
	 */
	public function page_url() {
		return admin_url( 'options-general.php?page=' . self::PAGE_SLUG );
	}

	/* --------------------------------------------------------------------------------------------------
	 * Actions
	 * ----------------------------------------------------------------------------------------------- */

	/**
	 * Connect to IGNY8 from the submitted form (POST, manage_options, nonce). Adds an admin notice saying
	 * what happened.
	 *
	 * @return array|WP_Error The connection (see igny8_connect_site()) or why nothing was connected.
	 */
	public function handle_connection() {
		$denied = $this->check_request( self::ACTION_CONNECT );
		if ( is_wp_error( $denied ) ) {
			return $denied;
		}

		// Values wp-config.php fixes (IGNY8_API_BASE, IGNY8_API_KEY) win over the form's.
		$fixed_base = igny8_config_constant( 'IGNY8_API_BASE' );
		$base_url   = igny8_sanitize_api_base( null === $fixed_base ? $this->posted( 'igny8_api_base' ) : $fixed_base );
		$email      = sanitize_email( $this->posted( 'igny8_email' ) );
		// A password is used as typed: sanitising would change it. It is sent to IGNY8 once and never stored.
		$password  = $this->posted( 'igny8_password' );
		$fixed_key = igny8_config_constant( 'IGNY8_API_KEY' );
		$api_key   = null === $fixed_key ? trim( sanitize_text_field( $this->posted( 'igny8_api_key' ) ) ) : $fixed_key;

		$error = null;
		if ( is_wp_error( $base_url ) ) {
			$error = $base_url;
		} elseif ( '' === $email || ! is_email( $email ) ) {
			$error = new WP_Error( 'igny8_invalid_input', __( 'Enter the email address of your IGNY8 account.', 'igny8' ) );
		} elseif ( '' === $password ) {
			$error = new WP_Error( 'igny8_invalid_input', __( 'Enter the password of your IGNY8 account.', 'igny8' ) );
		}
		if ( '' === $api_key && ! $error ) {
			// An empty key field keeps the stored key (it is never shown again).
			$api_key = igny8_get_api_key();
			if ( '' === $api_key ) {
				$error = new WP_Error( 'igny8_invalid_input', __( 'Enter the site\'s API key from IGNY8 (Site → Settings → API keys).', 'igny8' ) );
			}
		}
		if ( $error ) {
			$this->add_notice( 'error', $error->get_error_message() );
			return $error;
		}

		$result = igny8_connect_site( $base_url, $email, $password, $api_key );
		if ( is_wp_error( $result ) ) {
			$this->add_notice( 'error', $result->get_error_message() );
			return $result;
		}

		if ( is_wp_error( $result['sync'] ) ) {
			$this->add_notice(
				'warning',
				/* translators: 1: site name, 2: site id, 3: why the structure sync failed. */
				sprintf( __( 'Connected to IGNY8 as site "%1$s" (#%2$d), but the first structure sync failed: %3$s', 'igny8' ), $result['site_name'], $result['site_id'], $result['sync']->get_error_message() )
			);
		} else {
			$post_types = isset( $result['sync']['post_types_count'] ) ? (int) $result['sync']['post_types_count'] : 0;
			$taxonomies = isset( $result['sync']['taxonomies_count'] ) ? (int) $result['sync']['taxonomies_count'] : 0;
			$this->add_notice(
				'success',
				sprintf(
					/* translators: 1: site name, 2: site id, 3: "N post types", 4: "M taxonomies". */
					__( 'Successfully connected to IGNY8 as site "%1$s" (#%2$d). Site structure sent: %3$s, %4$s.', 'igny8' ),
					$result['site_name'],
					$result['site_id'],
					/* translators: %d: number of post types. */
					sprintf( _n( '%d post type', '%d post types', $post_types, 'igny8' ), $post_types ),
					/* translators: %d: number of taxonomies. */
					sprintf( _n( '%d taxonomy', '%d taxonomies', $taxonomies, 'igny8' ), $taxonomies )
				)
			);
		}
		foreach ( $result['warnings'] as $warning ) {
			$this->add_notice( 'warning', $warning );
		}
		return $result;
	}

	/**
	 * Disconnect (POST, manage_options, nonce).
	 *
	 * @return true|WP_Error
	 */
	public function handle_disconnect() {
		$denied = $this->check_request( self::ACTION_DISCONNECT );
		if ( is_wp_error( $denied ) ) {
			return $denied;
		}
		$site_name = (string) get_option( 'igny8_site_name', '' );
		igny8_disconnect_site();
		/* translators: %s: site name in IGNY8. */
		$this->add_notice( 'success', sprintf( __( 'Disconnected from IGNY8 (site "%s"). The stored API key was removed and scheduled syncs stopped.', 'igny8' ), $site_name ) );
		return true;
	}

	/**
	 * Sync structure now (POST, manage_options, nonce).
	 *
	 * @return array|WP_Error
	 */
	public function handle_sync_now() {
		$denied = $this->check_request( self::ACTION_SYNC );
		if ( is_wp_error( $denied ) ) {
			return $denied;
		}
		$result = igny8_sync_site_structure_to_backend();
		if ( is_wp_error( $result ) ) {
			/* translators: %s: why the sync failed. */
			$this->add_notice( 'error', sprintf( __( 'Structure sync failed: %s', 'igny8' ), $result->get_error_message() ) );
			return $result;
		}
		$post_types = isset( $result['post_types_count'] ) ? (int) $result['post_types_count'] : 0;
		$taxonomies = isset( $result['taxonomies_count'] ) ? (int) $result['taxonomies_count'] : 0;
		$this->add_notice(
			'success',
			sprintf(
				/* translators: 1: "N post types", 2: "M taxonomies". */
				__( 'Site structure synced: %1$s, %2$s.', 'igny8' ),
				/* translators: %d: number of post types. */
				sprintf( _n( '%d post type', '%d post types', $post_types, 'igny8' ), $post_types ),
				/* translators: %d: number of taxonomies. */
				sprintf( _n( '%d taxonomy', '%d taxonomies', $taxonomies, 'igny8' ), $taxonomies )
			)
		);
		return $result;
	}

	/**
	 * Full content sync now (POST, manage_options, nonce): a new run replaces an unfinished one and starts
	 * from WP-Cron; the page shows its progress.
	 *
	 * @return true|WP_Error
	 */
	public function handle_full_sync_now() {
		$denied = $this->check_request( self::ACTION_FULL_SYNC );
		if ( is_wp_error( $denied ) ) {
			return $denied;
		}
		if ( ! igny8_is_connected() ) {
			$error = new WP_Error( 'igny8_not_connected', __( 'This site is not connected to IGNY8 yet: connect it under Settings → IGNY8 API.', 'igny8' ) );
			$this->add_notice( 'error', $error->get_error_message() );
			return $error;
		}
		igny8_schedule_content_sync();
		igny8_request_full_sync( 'admin' );
		$this->add_notice( 'success', __( 'A full content sync has started. Its progress is shown below.', 'igny8' ) );
		return true;
	}

	/**
	 * The owner's choice for a copy of the site at another address (POST, manage_options, the choice's own
	 * nonce): a staging copy, the site moved, or connect as a new site (sync/identity.php).
	 *
	 * @param string $action self::ACTION_SITE_STAGING|ACTION_SITE_MOVED|ACTION_SITE_NEW.
	 * @return true|array|WP_Error
	 */
	public function handle_site_identity( $action ) {
		$denied = $this->check_request( $action );
		if ( is_wp_error( $denied ) ) {
			return $denied;
		}
		$state = igny8_identity_state();
		if ( ! igny8_is_connected() || 'ok' === $state['status'] ) {
			$error = new WP_Error( 'igny8_nothing_to_choose', __( 'This site runs at the address it was connected from: there is nothing to choose.', 'igny8' ) );
			$this->add_notice( 'info', $error->get_error_message() );
			return $error;
		}
		if ( self::ACTION_SITE_STAGING === $action ) {
			igny8_identity_choose_staging();
			/* translators: %s: the address of the site it was copied from. */
			$this->add_notice( 'success', sprintf( __( 'Noted: this is a staging copy. It sends nothing to IGNY8 and takes nothing from it; the site at %s keeps syncing as before.', 'igny8' ), $state['known'] ) );
			return true;
		}
		if ( self::ACTION_SITE_MOVED === $action ) {
			$result = igny8_identity_choose_moved();
			if ( is_wp_error( $result ) ) {
				/* translators: %s: why IGNY8 was not told. */
				$this->add_notice( 'error', sprintf( __( 'IGNY8 was not told that the site moved, so nothing is sent yet: %s', 'igny8' ), $result->get_error_message() ) );
				return $result;
			}
			/* translators: %s: the site's new address. */
			$this->add_notice( 'success', sprintf( __( 'IGNY8 now knows this site at %s. Syncing has resumed, with the changes made meanwhile.', 'igny8' ), $state['current'] ) );
			return $result;
		}
		igny8_identity_choose_new_site();
		$this->add_notice( 'success', __( 'This copy forgot the connection it was copied with (the original site\'s integration in IGNY8 is untouched). Connect it below with the API key of another IGNY8 site.', 'igny8' ) );
		return true;
	}

	/**
	 * The checks at the top of every action: a POST, by a user who may manage options, with this action's nonce.
	 *
	 * @param string $action Nonce action.
	 * @return true|WP_Error
	 */
	private function check_request( $action ) {
		$method = isset( $_SERVER['REQUEST_METHOD'] ) ? strtoupper( sanitize_text_field( wp_unslash( $_SERVER['REQUEST_METHOD'] ) ) ) : '';
		if ( 'POST' !== $method ) {
			return new WP_Error( 'igny8_bad_method', __( 'This action must be submitted from the IGNY8 settings page.', 'igny8' ), array( 'status' => 405 ) );
		}
		if ( ! current_user_can( self::CAPABILITY ) ) {
			return new WP_Error( 'igny8_forbidden', __( 'Sorry, you are not allowed to manage the IGNY8 connection.', 'igny8' ), array( 'status' => 403 ) );
		}
		$field = self::nonce_field( $action );
		$nonce = isset( $_POST[ $field ] ) && is_string( $_POST[ $field ] ) ? sanitize_text_field( wp_unslash( $_POST[ $field ] ) ) : '';
		if ( '' === $nonce || ! wp_verify_nonce( $nonce, $action ) ) {
			return new WP_Error( 'igny8_bad_nonce', __( 'The form has expired or did not come from this site. Reload the IGNY8 settings page and try again.', 'igny8' ), array( 'status' => 403 ) );
		}
		return true;
	}

	/**
	 * A submitted form field, unslashed; '' when missing or not a string (e.g. a field[]= array).
	 * Call only after check_request().
	 *
	 * @param string $name Field name.
	 * @return string
	 */
	private function posted( $name ) {
		// phpcs:ignore WordPress.Security.NonceVerification.Missing,WordPress.Security.ValidatedSanitizedInput -- nonce checked by check_request(); callers sanitise.
		return isset( $_POST[ $name ] ) && is_string( $_POST[ $name ] ) ? wp_unslash( $_POST[ $name ] ) : '';
	}

	/**
	 * The form field holding an action's nonce: igny8_connect_nonce, igny8_disconnect_nonce, igny8_sync_now_nonce.
	 *
	 * @param string $action Action (also the nonce action).
	 * @return string
	 */
	public static function nonce_field( $action ) {
		return $action . '_nonce';
	}

	/**
	 * admin-post.php?action=igny8_connect
	 */
	public function on_admin_post_connect() {
		$this->finish( $this->handle_connection() );
	}

	/**
	 * admin-post.php?action=igny8_disconnect
	 */
	public function on_admin_post_disconnect() {
		$this->finish( $this->handle_disconnect() );
	}

	/**
	 * admin-post.php?action=igny8_sync_now
	 */
	public function on_admin_post_sync() {
		$this->finish( $this->handle_sync_now() );
	}

	/**
	 * admin-post.php?action=igny8_full_sync_now
	 */
	public function on_admin_post_full_sync() {
		$this->finish( $this->handle_full_sync_now() );
	}

	/**
	 * admin-post.php?action=igny8_site_staging|igny8_site_moved|igny8_site_new
	 */
	public function on_admin_post_site_identity() {
		$this->finish( $this->handle_site_identity( str_replace( 'admin_post_', '', current_action() ) ) );
	}

	/**
	 * Refused requests end with a 403 page; everything else returns to the settings page, where the
	 * notice is shown (post/redirect/get, so a reload does not submit again).
	 *
	 * @param mixed $result Result of the action.
	 */
	private function finish( $result ) {
		if ( is_wp_error( $result ) && in_array( $result->get_error_code(), array( 'igny8_forbidden', 'igny8_bad_nonce', 'igny8_bad_method' ), true ) ) {
			wp_die( esc_html( $result->get_error_message() ), esc_html__( 'IGNY8', 'igny8' ), array( 'response' => 403, 'back_link' => true ) );
		}
		wp_safe_redirect( $this->page_url() );
		exit;
	}

	/* --------------------------------------------------------------------------------------------------
	 * Notices (kept per user for one page view)
	 * ----------------------------------------------------------------------------------------------- */

	/**
	 * @param string $type    success|warning|error|info.
	 * @param string $message Plain text.
	 */
	public function add_notice( $type, $message ) {
		$key       = $this->notice_key();
		$notices   = get_transient( $key );
		$notices   = is_array( $notices ) ? $notices : array();
		$notices[] = array(
			'type'    => in_array( $type, array( 'success', 'warning', 'error', 'info' ), true ) ? $type : 'info',
			'message' => (string) $message,
		);
		set_transient( $key, $notices, 5 * MINUTE_IN_SECONDS );
	}

	/**
	 * The notices waiting for the current user, removed from storage.
	 *
	 * @return array[]
	 */
	public function take_notices() {
		$key     = $this->notice_key();
		$notices = get_transient( $key );
		if ( false !== $notices ) {
			delete_transient( $key );
		}
		return is_array( $notices ) ? $notices : array();
	}

	/**
	 * @return string
	 */
	private function notice_key() {
		return 'igny8_notices_' . get_current_user_id();
	}

	/* --------------------------------------------------------------------------------------------------
	 * Page
	 * ----------------------------------------------------------------------------------------------- */

	/**
	 * Settings → IGNY8 API.
	 */
	public function render_settings_page() {
		if ( ! current_user_can( self::CAPABILITY ) ) {
			return;
		}
		$connected  = igny8_is_connected();
		$admin_post = admin_url( 'admin-post.php' );
		?>
		<div class="wrap igny8-settings">
			<h1><?php esc_html_e( 'IGNY8 API', 'igny8' ); ?></h1>
			<?php
			foreach ( $this->take_notices() as $notice ) {
				printf(
					'<div class="notice notice-%1$s igny8-notice igny8-notice-%1$s"><p>%2$s</p></div>',
					esc_attr( $notice['type'] ),
					esc_html( $notice['message'] )
				);
			}
			if ( $connected ) {
				$this->render_site_identity( $admin_post );
			}
			$this->render_status( $connected, $admin_post );
			if ( $connected ) {
				$this->render_content_sync( $admin_post );
				$this->render_recent_changes();
			}
			$this->render_connect_form( $connected, $admin_post );
			?>
			<h2><?php esc_html_e( 'Sync settings', 'igny8' ); ?></h2>
			<form method="post" action="<?php echo esc_url( admin_url( 'options.php' ) ); ?>">
				<?php settings_fields( self::SETTINGS_GROUP ); ?>
				<table class="form-table" role="presentation">
					<tr>
						<th scope="row"><?php esc_html_e( 'Two-way sync', 'igny8' ); ?></th>
						<td>
							<label>
								<input type="checkbox" name="igny8_two_way_sync_enabled" value="1" <?php checked( (bool) get_option( 'igny8_two_way_sync_enabled', false ) ); ?> />
								<?php esc_html_e( 'Allow IGNY8 to send content back to this site', 'igny8' ); ?>
							</label>
							<p class="description igny8-two-way-explained"><?php esc_html_e( 'When on, edits made in IGNY8 (new posts, titles, content, terms, SEO fields, featured images, trash) are applied here as the user below, with that user\'s permissions and WordPress\'s own filters; revisions keep what they replace. A field that was also edited here since is never overwritten silently: IGNY8 shows it as a conflict (or applies the site\'s conflict policy). When off, nothing is applied and IGNY8 is told so. IGNY8 is told about this switch with every structure sync.', 'igny8' ); ?></p>
						</td>
					</tr>
					<tr>
						<th scope="row"><label for="igny8_publish_as"><?php esc_html_e( 'Publish as', 'igny8' ); ?></label></th>
						<td>
							<?php $this->render_publish_as_select(); ?>
							<p class="description"><?php esc_html_e( 'Changes from IGNY8 are made as this user: they appear as this user\'s edits, and only what this user may do is done.', 'igny8' ); ?></p>
						</td>
					</tr>
				</table>
				<?php submit_button( __( 'Save sync settings', 'igny8' ) ); ?>
			</form>
		</div>
		<?php
	}

	/**
	 * A copy of the site at another address (sync/identity.php): what happened and the three choices, each
	 * its own form with its own nonce; once the owner said "staging copy", a reminder with the other two.
	 *
	 * @param string $admin_post admin-post.php URL.
	 */
	private function render_site_identity( $admin_post ) {
		$state = igny8_identity_state();
		if ( 'ok' === $state['status'] ) {
			return;
		}
		$refusal = igny8_identity_refusal();
		$choices = array(
			self::ACTION_SITE_STAGING => array( __( 'This is a staging copy', 'igny8' ), __( 'Stay disconnected: nothing is sent to IGNY8 or taken from it; the original site keeps syncing.', 'igny8' ) ),
			/* translators: %s: this site's address. */
			self::ACTION_SITE_MOVED   => array( __( 'The site moved', 'igny8' ), sprintf( __( 'Keep the integration: IGNY8 is told the site now runs at %s, and the changes made meanwhile are sent.', 'igny8' ), $state['current'] ) ),
			self::ACTION_SITE_NEW     => array( __( 'Connect as a new site', 'igny8' ), __( 'Forget the connection this copy came with, then connect it with another IGNY8 site\'s API key.', 'igny8' ) ),
		);
		if ( 'staging' === $state['status'] ) {
			unset( $choices[ self::ACTION_SITE_STAGING ] );
		}
		?>
		<div class="notice <?php echo esc_attr( 'staging' === $state['status'] ? 'notice-info' : 'notice-warning' ); ?> inline igny8-site-identity igny8-site-identity-<?php echo esc_attr( $state['status'] ); ?>">
			<p><strong><?php echo esc_html( 'staging' === $state['status'] ? __( 'Staging copy: nothing is synced from here.', 'igny8' ) : __( 'This site runs at another address than the one it was connected from.', 'igny8' ) ); ?></strong></p>
			<p class="igny8-site-identity-why"><?php echo esc_html( $refusal ? $refusal->get_error_message() : '' ); ?></p>
			<?php if ( '' !== $state['refused'] ) : ?>
				<p class="igny8-site-identity-platform">
					<?php
					/* translators: %s: IGNY8's own sentence. */
					echo esc_html( sprintf( __( 'IGNY8 says: %s', 'igny8' ), $state['refused'] ) );
					?>
				</p>
			<?php endif; ?>
			<?php if ( 'constant' !== $state['why'] ) : ?>
				<?php foreach ( $choices as $action => $choice ) : ?>
					<form method="post" action="<?php echo esc_url( $admin_post ); ?>" class="igny8-site-identity-choice">
						<input type="hidden" name="action" value="<?php echo esc_attr( $action ); ?>" />
						<?php wp_nonce_field( $action, self::nonce_field( $action ) ); ?>
						<p>
							<?php submit_button( $choice[0], self::ACTION_SITE_MOVED === $action ? 'primary' : 'secondary', $action, false ); ?>
							<span class="description"><?php echo esc_html( $choice[1] ); ?></span>
						</p>
					</form>
				<?php endforeach; ?>
			<?php endif; ?>
		</div>
		<?php
	}

	/**
	 * The status box, and the Sync / Disconnect buttons when connected.
	 *
	 * @param bool   $connected  Whether a connection is stored.
	 * @param string $admin_post admin-post.php URL.
	 */
	private function render_status( $connected, $admin_post ) {
		$last_error = get_option( 'igny8_last_error', array() );
		?>
		<h2><?php esc_html_e( 'Status', 'igny8' ); ?></h2>
		<?php if ( ! $connected ) : ?>
			<p class="igny8-status igny8-status-disconnected"><strong><?php esc_html_e( 'Not connected.', 'igny8' ); ?></strong>
				<?php esc_html_e( 'Enter your IGNY8 email, password and the site\'s API key below, then connect.', 'igny8' ); ?></p>
			<?php
			return;
		endif;
		$last_sync = (int) get_option( 'igny8_last_structure_sync', 0 );
		$counts    = get_option( 'igny8_last_structure_counts', array() );
		?>
		<p class="igny8-status igny8-status-connected"><strong><?php esc_html_e( 'Connected to IGNY8.', 'igny8' ); ?></strong></p>
		<table class="widefat striped igny8-status-table" role="presentation">
			<tbody>
				<tr>
					<th scope="row"><?php esc_html_e( 'Site', 'igny8' ); ?></th>
					<td class="igny8-site"><?php echo esc_html( sprintf( '%s (#%d)', (string) get_option( 'igny8_site_name', '' ), (int) get_option( 'igny8_site_id', 0 ) ) ); ?></td>
				</tr>
				<tr>
					<th scope="row"><?php esc_html_e( 'Integration', 'igny8' ); ?></th>
					<td class="igny8-integration"><?php echo esc_html( '#' . (int) get_option( 'igny8_integration_id', 0 ) ); ?></td>
				</tr>
				<tr>
					<th scope="row"><?php esc_html_e( 'Backend', 'igny8' ); ?></th>
					<td><?php echo esc_html( igny8_get_api_base() ); ?></td>
				</tr>
				<tr>
					<th scope="row"><?php esc_html_e( 'Last structure sync', 'igny8' ); ?></th>
					<td class="igny8-last-sync">
						<?php
						if ( $last_sync > 0 ) {
							echo esc_html(
								sprintf(
									/* translators: 1: date and time, 2: "5 mins", 3: post type count, 4: taxonomy count. */
									__( '%1$s (%2$s ago): %3$d post types, %4$d taxonomies', 'igny8' ),
									wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), $last_sync ),
									human_time_diff( $last_sync ),
									is_array( $counts ) && isset( $counts['post_types'] ) ? (int) $counts['post_types'] : 0,
									is_array( $counts ) && isset( $counts['taxonomies'] ) ? (int) $counts['taxonomies'] : 0
								)
							);
						} else {
							esc_html_e( 'Never', 'igny8' );
						}
						?>
					</td>
				</tr>
				<tr>
					<th scope="row"><?php esc_html_e( 'Last error', 'igny8' ); ?></th>
					<td class="igny8-last-error">
						<?php
						if ( is_array( $last_error ) && ! empty( $last_error['message'] ) ) {
							echo esc_html(
								sprintf(
									/* translators: 1: date and time, 2: the error. */
									__( '%1$s: %2$s', 'igny8' ),
									wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), isset( $last_error['time'] ) ? (int) $last_error['time'] : time() ),
									(string) $last_error['message']
								)
							);
						} else {
							esc_html_e( 'None', 'igny8' );
						}
						?>
					</td>
				</tr>
			</tbody>
		</table>
		<div class="igny8-actions">
			<form method="post" action="<?php echo esc_url( $admin_post ); ?>" style="display:inline">
				<input type="hidden" name="action" value="<?php echo esc_attr( self::ACTION_SYNC ); ?>" />
				<?php wp_nonce_field( self::ACTION_SYNC, self::nonce_field( self::ACTION_SYNC ) ); ?>
				<?php submit_button( __( 'Sync structure now', 'igny8' ), 'secondary', 'igny8_sync_now', false ); ?>
			</form>
			<form method="post" action="<?php echo esc_url( $admin_post ); ?>" style="display:inline">
				<input type="hidden" name="action" value="<?php echo esc_attr( self::ACTION_DISCONNECT ); ?>" />
				<?php wp_nonce_field( self::ACTION_DISCONNECT, self::nonce_field( self::ACTION_DISCONNECT ) ); ?>
				<?php submit_button( __( 'Disconnect', 'igny8' ), 'delete', 'igny8_disconnect', false ); ?>
			</form>
		</div>
		<?php
	}

	/**
	 * Content sync: the full sync's progress per type, the queue, what IGNY8 rejected, the last check.
	 *
	 * @param string $admin_post admin-post.php URL.
	 */
	private function render_content_sync( $admin_post ) {
		$format   = get_option( 'date_format' ) . ' ' . get_option( 'time_format' );
		$state    = igny8_full_sync_state();
		$status   = isset( $state['status'] ) ? $state['status'] : '';
		$waiting  = igny8_queue_count();
		$until    = igny8_backoff_until();
		$overflow = get_option( 'igny8_queue_overflowed', false );
		$rejected = get_option( 'igny8_rejected_items', array() );
		$verify   = get_option( 'igny8_last_verify', array() );
		$error    = get_option( 'igny8_content_last_error', array() );
		?>
		<h2><?php esc_html_e( 'Content sync', 'igny8' ); ?></h2>
		<p class="igny8-full-sync-status">
			<?php
			if ( 'pending' === $status ) {
				esc_html_e( 'Full sync: waiting to start (it runs in the background, from WP-Cron).', 'igny8' );
			} elseif ( 'running' === $status ) {
				/* translators: %s: "5 mins". */
				echo esc_html( sprintf( __( 'Full sync: running, started %s ago.', 'igny8' ), human_time_diff( (int) $state['started_at'] ) ) );
			} elseif ( 'done' === $status ) {
				/* translators: 1: date and time, 2: "5 mins". */
				echo esc_html( sprintf( __( 'Full sync: done %1$s (%2$s ago).', 'igny8' ), wp_date( $format, (int) $state['finished_at'] ), human_time_diff( (int) $state['finished_at'] ) ) );
			} else {
				esc_html_e( 'Full sync: never run.', 'igny8' );
			}
			?>
		</p>
		<?php if ( ! empty( $state['types'] ) ) : ?>
			<table class="widefat striped igny8-full-sync-progress">
				<thead>
					<tr>
						<th scope="col"><?php esc_html_e( 'Type', 'igny8' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Sent', 'igny8' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Total', 'igny8' ); ?></th>
					</tr>
				</thead>
				<tbody>
					<?php foreach ( $state['types'] as $entry ) : ?>
						<tr class="igny8-progress-<?php echo esc_attr( $entry['kind'] . '-' . $entry['type'] ); ?>">
							<td><?php echo esc_html( $this->type_label( $entry['kind'], $entry['type'] ) ); ?></td>
							<td><?php echo esc_html( number_format_i18n( (int) $entry['done'] ) ); ?></td>
							<td><?php echo esc_html( number_format_i18n( (int) $entry['total'] ) ); ?></td>
						</tr>
					<?php endforeach; ?>
				</tbody>
			</table>
		<?php endif; ?>
		<table class="widefat striped igny8-content-status" role="presentation">
			<tbody>
				<tr>
					<th scope="row"><?php esc_html_e( 'Changes waiting', 'igny8' ); ?></th>
					<td class="igny8-queue">
						<?php
						echo esc_html( number_format_i18n( $waiting ) );
						if ( $until > time() ) {
							/* translators: %s: date and time. */
							echo ' ' . esc_html( sprintf( __( '(sending paused until %s after an error)', 'igny8' ), wp_date( $format, $until ) ) );
						}
						?>
					</td>
				</tr>
				<?php if ( is_array( $overflow ) ) : ?>
					<tr>
						<th scope="row"><?php esc_html_e( 'Queue full', 'igny8' ); ?></th>
						<td class="igny8-overflow">
							<?php
							/* translators: %s: date and time. */
							echo esc_html( sprintf( __( 'Since %s too many changes were waiting: they are no longer queued one by one, and a full sync will bring everything to IGNY8.', 'igny8' ), wp_date( $format, (int) $overflow['time'] ) ) );
							?>
						</td>
					</tr>
				<?php endif; ?>
				<tr>
					<th scope="row"><?php esc_html_e( 'Last content error', 'igny8' ); ?></th>
					<td class="igny8-content-error">
						<?php
						if ( is_array( $error ) && ! empty( $error['message'] ) ) {
							/* translators: 1: date and time, 2: the error. */
							echo esc_html( sprintf( __( '%1$s: %2$s', 'igny8' ), wp_date( $format, (int) $error['time'] ), (string) $error['message'] ) );
						} else {
							esc_html_e( 'None', 'igny8' );
						}
						?>
					</td>
				</tr>
				<tr>
					<th scope="row"><?php esc_html_e( 'Last check', 'igny8' ); ?></th>
					<td class="igny8-last-verify">
						<?php
						if ( is_array( $verify ) && isset( $verify['error'] ) ) {
							/* translators: 1: date and time, 2: the error. */
							echo esc_html( sprintf( __( '%1$s: failed: %2$s', 'igny8' ), wp_date( $format, (int) $verify['time'] ), (string) $verify['error'] ) );
						} elseif ( is_array( $verify ) && isset( $verify['buckets'] ) ) {
							/* translators: 1: date and time, 2: buckets that differed, 3: buckets, 4: items sent again. */
							echo esc_html( sprintf( __( '%1$s: %2$d of %3$d id ranges differed; %4$d items sent again.', 'igny8' ), wp_date( $format, (int) $verify['time'] ), (int) $verify['differing'], (int) $verify['buckets'], (int) $verify['resend'] ) );
						} else {
							esc_html_e( 'Never', 'igny8' );
						}
						?>
					</td>
				</tr>
			</tbody>
		</table>
		<?php if ( is_array( $rejected ) && $rejected ) : ?>
			<h3><?php esc_html_e( 'Rejected by IGNY8', 'igny8' ); ?></h3>
			<ul class="igny8-rejected">
				<?php foreach ( $rejected as $item ) : ?>
					<li>
						<?php
						/* translators: 1: type label, 2: id, 3: the platform's reason. */
						echo esc_html( sprintf( __( '%1$s #%2$d: %3$s', 'igny8' ), $this->type_label( $item['kind'], $item['type'] ), (int) $item['wp_id'], (string) $item['reason'] ) );
						?>
					</li>
				<?php endforeach; ?>
			</ul>
		<?php endif; ?>
		<form method="post" action="<?php echo esc_url( $admin_post ); ?>">
			<input type="hidden" name="action" value="<?php echo esc_attr( self::ACTION_FULL_SYNC ); ?>" />
			<?php wp_nonce_field( self::ACTION_FULL_SYNC, self::nonce_field( self::ACTION_FULL_SYNC ) ); ?>
			<?php submit_button( __( 'Full sync now', 'igny8' ), 'secondary', 'igny8_full_sync_now', false ); ?>
		</form>
		<?php
	}

	/**
	 * The Publish as select: users who can edit posts (by their roles), the current choice selected.
	 */
	private function render_publish_as_select() {
		$roles = array();
		foreach ( wp_roles()->role_objects as $name => $role ) {
			if ( $role->has_cap( 'edit_posts' ) ) {
				$roles[] = $name;
			}
		}
		$users = $roles ? get_users(
			array(
				'role__in' => $roles,
				'orderby'  => 'display_name',
				'number'   => 500,
				'fields'   => array( 'ID', 'display_name', 'user_login' ),
			)
		) : array();
		$current = igny8_publish_as_user();
		$chosen  = $current ? (int) $current->ID : 0;
		?>
		<select id="igny8_publish_as" name="igny8_publish_as">
			<?php if ( ! $current ) : ?>
				<option value="" selected="selected"><?php esc_html_e( '— the chosen user no longer exists: choose one —', 'igny8' ); ?></option>
			<?php endif; ?>
			<?php foreach ( $users as $user ) : ?>
				<option value="<?php echo esc_attr( (string) $user->ID ); ?>" <?php selected( (int) $user->ID, $chosen ); ?>><?php echo esc_html( sprintf( '%s (%s)', $user->display_name, $user->user_login ) ); ?></option>
			<?php endforeach; ?>
		</select>
		<?php
	}

	/**
	 * The last outcomes of changes from IGNY8, and the last error pulling them.
	 */
	private function render_recent_changes() {
		$format  = get_option( 'date_format' ) . ' ' . get_option( 'time_format' );
		$recent  = igny8_changes_log_recent( 10 );
		$error   = get_option( 'igny8_changes_last_error', array() );
		$labels  = array(
			'applied'  => __( 'applied', 'igny8' ),
			'conflict' => __( 'conflict', 'igny8' ),
			'rejected' => __( 'rejected', 'igny8' ),
			'refused'  => __( 'refused', 'igny8' ),
		);
		$reasons = array(
			'two_way_sync_disabled'   => __( 'Two-way sync is off', 'igny8' ),
			'publish_as_user_missing' => __( 'the Publish as user no longer exists: choose one below', 'igny8' ),
		);
		if ( ! $recent && ! ( is_array( $error ) && ! empty( $error['message'] ) ) ) {
			return;
		}
		?>
		<h2><?php esc_html_e( 'Last changes from IGNY8', 'igny8' ); ?></h2>
		<?php if ( is_array( $error ) && ! empty( $error['message'] ) ) : ?>
			<p class="igny8-changes-error">
				<?php
				/* translators: 1: date and time, 2: the error. */
				echo esc_html( sprintf( __( 'Last error fetching changes, %1$s: %2$s', 'igny8' ), wp_date( $format, (int) $error['time'] ), (string) $error['message'] ) );
				?>
			</p>
		<?php endif; ?>
		<?php if ( $recent ) : ?>
			<table class="widefat striped igny8-recent-changes">
				<thead>
					<tr>
						<th scope="col"><?php esc_html_e( 'When', 'igny8' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Change', 'igny8' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Object', 'igny8' ); ?></th>
						<th scope="col"><?php esc_html_e( 'Outcome', 'igny8' ); ?></th>
					</tr>
				</thead>
				<tbody>
					<?php foreach ( $recent as $row ) : ?>
						<tr class="igny8-change-<?php echo esc_attr( $row->status ); ?>">
							<td><?php echo esc_html( wp_date( $format, (int) strtotime( $row->logged_at . ' UTC' ) ) ); ?></td>
							<td><?php echo esc_html( '#' . (int) $row->change_id ); ?></td>
							<td>
								<?php
								$kind = 'term' === $row->kind ? 'term' : 'post';
								echo esc_html( (int) $row->wp_id > 0 ? sprintf( '%s #%d', $this->type_label( $kind, $row->type ), (int) $row->wp_id ) : $this->type_label( $kind, $row->type ) );
								?>
							</td>
							<td>
								<?php
								$label = isset( $labels[ $row->status ] ) ? $labels[ $row->status ] : $row->status;
								if ( 'conflict' === $row->status && '' !== $row->reason ) {
									/* translators: %s: the conflicting fields. */
									$label .= ': ' . sprintf( __( 'edited here too (%s); waiting for a choice in IGNY8', 'igny8' ), $row->reason );
								} elseif ( '' !== $row->reason ) {
									$label .= ': ' . ( isset( $reasons[ $row->reason ] ) ? $reasons[ $row->reason ] : $row->reason );
								}
								echo esc_html( $label );
								?>
							</td>
						</tr>
					<?php endforeach; ?>
				</tbody>
			</table>
		<?php endif; ?>
		<?php
	}

	/**
	 * A post type's or taxonomy's label, or its name when it is no longer registered.
	 *
	 * @param string $kind post|term.
	 * @param string $type Name.
	 * @return string
	 */
	private function type_label( $kind, $type ) {
		$object = 'term' === $kind ? get_taxonomy( $type ) : get_post_type_object( $type );
		return $object && ! empty( $object->label ) ? (string) $object->label : (string) $type;
	}

	/**
	 * The connection form.
	 *
	 * @param bool   $connected  Whether a connection is stored.
	 * @param string $admin_post admin-post.php URL.
	 */
	private function render_connect_form( $connected, $admin_post ) {
		$has_key    = '' !== igny8_get_api_key();
		$fixed_base = igny8_config_constant( 'IGNY8_API_BASE' );
		$fixed_key  = null !== igny8_config_constant( 'IGNY8_API_KEY' );
		?>
		<h2><?php echo $connected ? esc_html__( 'Connection', 'igny8' ) : esc_html__( 'Connect', 'igny8' ); ?></h2>
		<form method="post" action="<?php echo esc_url( $admin_post ); ?>" class="igny8-connect-form">
			<input type="hidden" name="action" value="<?php echo esc_attr( self::ACTION_CONNECT ); ?>" />
			<?php wp_nonce_field( self::ACTION_CONNECT, self::nonce_field( self::ACTION_CONNECT ) ); ?>
			<table class="form-table" role="presentation">
				<tr>
					<th scope="row"><label for="igny8_api_base"><?php esc_html_e( 'Backend URL', 'igny8' ); ?></label></th>
					<td>
						<?php if ( null !== $fixed_base ) : ?>
							<input type="url" class="regular-text" id="igny8_api_base" value="<?php echo esc_attr( igny8_get_api_base() ); ?>" readonly="readonly" />
							<p class="description igny8-fixed"><?php esc_html_e( 'Set in wp-config.php (IGNY8_API_BASE).', 'igny8' ); ?></p>
						<?php else : ?>
							<input type="url" class="regular-text" id="igny8_api_base" name="igny8_api_base" value="<?php echo esc_attr( igny8_get_api_base() ); ?>" />
							<p class="description">
								<?php
								/* translators: %s: default backend URL. */
								echo esc_html( sprintf( __( 'Default: %s. Change it only for a self-hosted IGNY8.', 'igny8' ), IGNY8_DEFAULT_API_BASE ) );
								?>
							</p>
						<?php endif; ?>
					</td>
				</tr>
				<tr>
					<th scope="row"><label for="igny8_email"><?php esc_html_e( 'Email', 'igny8' ); ?></label></th>
					<td><input type="email" class="regular-text" id="igny8_email" name="igny8_email" autocomplete="username" value="<?php echo esc_attr( (string) get_option( 'igny8_email', '' ) ); ?>" /></td>
				</tr>
				<tr>
					<th scope="row"><label for="igny8_password"><?php esc_html_e( 'Password', 'igny8' ); ?></label></th>
					<td>
						<input type="password" class="regular-text" id="igny8_password" name="igny8_password" autocomplete="current-password" value="" />
						<p class="description"><?php esc_html_e( 'Used once to sign in; never stored.', 'igny8' ); ?></p>
					</td>
				</tr>
				<tr>
					<th scope="row"><label for="igny8_api_key"><?php esc_html_e( 'API key', 'igny8' ); ?></label></th>
					<td>
						<?php if ( $fixed_key ) : ?>
							<input type="text" class="regular-text" id="igny8_api_key" value="<?php echo esc_attr( str_repeat( '•', 12 ) ); ?>" readonly="readonly" />
							<p class="description igny8-fixed"><?php esc_html_e( 'Set in wp-config.php (IGNY8_API_KEY); it is not stored in the database.', 'igny8' ); ?></p>
						<?php else : ?>
						<input type="password" class="regular-text" id="igny8_api_key" name="igny8_api_key" autocomplete="off" value="" />
						<p class="description">
							<?php
							if ( $has_key ) {
								esc_html_e( 'A key is stored. Leave this empty to keep it, or paste a new key to replace it.', 'igny8' );
							} else {
								esc_html_e( 'The site\'s API key from IGNY8 (Site → Settings → API keys).', 'igny8' );
							}
							?>
						</p>
						<?php endif; ?>
					</td>
				</tr>
			</table>
			<?php submit_button( __( 'Connect to IGNY8', 'igny8' ), 'primary', 'igny8_connect' ); ?>
		</form>
		<?php
	}
}

/**
 * The settings page object.
 *
 * @return Igny8_Admin
 */
function igny8_admin() {
	return Igny8_Admin::instance();
}
