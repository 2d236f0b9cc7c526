//! What every test binary of the CLI needs (each `tests/*.rs` is its own crate and includes this
//! module): a free loopback port and a runtime for the few async steps of a blocking test.
#![allow(dead_code)] // each binary uses its own part

/// A free port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs one future to its end on a runtime of its own.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
