//! The platform's operations, below both transports: the API and the dashboard decide who is
//! calling and translate HTTP; what happens lives here once.

pub mod changes;
pub mod full_sync;
pub mod integrations;
pub mod sign_in;
pub mod verification;
