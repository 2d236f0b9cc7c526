//! The integration API over real HTTP: one test binary, a fresh server and SQLite file per test.

mod helpers;

mod auth;
mod bad_input;
mod changes;
mod check_order;
mod content;
mod downloads;
mod integrations;
mod limits;
mod openapi;
mod operators;
mod site_url;
mod structure;
mod sync_requests;
