//! Credentials: password hashing, signed tokens, and the sign-in rate limiter.

pub mod jwt;
pub mod password;
pub mod rate_limit;
