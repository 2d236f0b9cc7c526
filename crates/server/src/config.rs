//! The server's settings: one struct, filled once by the CLI from flags and `IGNY8_*` variables.

use std::fmt;
use std::time::Duration;

use crate::serve::ConnectionLimits;

#[derive(Clone)]
pub struct Settings {
    /// Signs JWTs and session cookies; when `None` a random secret is kept in the database so
    /// restarts and replicas agree.
    pub jwt_secret: Option<String>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Sign-in attempts allowed per email, and per client IP, within `login_window`.
    pub login_limit_per_email: u32,
    pub login_limit_per_ip: u32,
    pub login_window: Duration,
    /// Largest JSON body the API reads.
    pub max_body_bytes: usize,
    /// Marks session cookies `Secure`; set when served over https.
    pub secure_cookies: bool,
    /// Lets outgoing requests (nudges) reach private, loopback and link-local addresses:
    /// self-hosting on a private network, and tests.
    pub allow_private_targets: bool,
    /// The platform's own address as sites reach it (`https://igny8.example.com`), for links it
    /// hands out; when unset, the request's host.
    pub public_url: Option<String>,
    /// Password hashes (sign-ins, first-run setup) run at most this many at once, each holding
    /// ~19 MiB; a sign-in waits up to `password_hash_wait` for a turn, then gets 503.
    pub password_hashes_at_once: usize,
    pub password_hash_wait: Duration,
    /// Deadlines for slow clients and the cap on open connections.
    pub connections: ConnectionLimits,
    /// From the stop signal until the listener closes: `/healthz` answers 503 meanwhile (the load
    /// balancer takes the replica out) while every other request is still served.
    pub shutdown_delay: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(7 * 24 * 3600),
            login_limit_per_email: 10,
            login_limit_per_ip: 30,
            login_window: Duration::from_secs(5 * 60),
            max_body_bytes: 1024 * 1024,
            secure_cookies: false,
            allow_private_targets: false,
            public_url: None,
            password_hashes_at_once: std::thread::available_parallelism().map_or(2, |n| n.get()),
            password_hash_wait: Duration::from_secs(2),
            connections: ConnectionLimits::default(),
            shutdown_delay: Duration::from_secs(3),
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("access_token_ttl", &self.access_token_ttl)
            .field("refresh_token_ttl", &self.refresh_token_ttl)
            .field("login_limit_per_email", &self.login_limit_per_email)
            .field("login_limit_per_ip", &self.login_limit_per_ip)
            .field("login_window", &self.login_window)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("secure_cookies", &self.secure_cookies)
            .field("allow_private_targets", &self.allow_private_targets)
            .field("public_url", &self.public_url)
            .field("password_hashes_at_once", &self.password_hashes_at_once)
            .field("password_hash_wait", &self.password_hash_wait)
            .field("connections", &self.connections)
            .field("shutdown_delay", &self.shutdown_delay)
            .finish()
    }
}
