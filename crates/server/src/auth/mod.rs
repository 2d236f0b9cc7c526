//! Credentials: password hashing and signed tokens (the sign-in limits live in the store, shared by
//! every process).

pub mod jwt;
pub mod password;
