//! The shared conformance suite on a brand-new PostgreSQL database per case. The server comes from
//! `IGNY8_TEST_POSTGRES_URL`; when it cannot be reached the cases fail, they never pass silently.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use igny8_store::Store;
use igny8_store_postgres::PostgresStore;
use sqlx::{Connection, Executor, PgConnection};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

async fn fresh_store() -> Arc<dyn Store> {
    let url = fresh_database().await;
    let store = PostgresStore::open(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot open the test database {url}: {e}"));
    store.migrate().await.unwrap();
    Arc::new(store)
}

/// A brand-new, empty database on the test server; answers its URL.
async fn fresh_database() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let admin_url =
        std::env::var("IGNY8_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let name = format!(
        "igny8_t_{now}_{}_{}_{:016x}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        RandomState::new().hash_one(0u8)
    );
    let no_server = |e: &dyn std::fmt::Display| -> ! {
        panic!(
            "PostgreSQL for the conformance suite is unreachable at {admin_url}: {e}. \
             Start it, or point IGNY8_TEST_POSTGRES_URL at a server where this user may CREATE DATABASE."
        )
    };
    let mut admin = match tokio::time::timeout(
        Duration::from_secs(10),
        PgConnection::connect(&admin_url),
    )
    .await
    {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => no_server(&e),
        Err(e) => no_server(&e),
    };
    drop_old_databases(&mut admin, now).await;
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
    admin.close().await.ok();
    with_database(&admin_url, &name)
}

/// Test databases live on after their case (a case cannot clean up after a panic); those created
/// more than an hour ago, by any earlier run, are dropped here so they do not pile up.
async fn drop_old_databases(admin: &mut PgConnection, now: u64) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'igny8\\_t\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    for name in names {
        let created = name
            .split('_')
            .nth(2)
            .and_then(|part| part.parse::<u64>().ok())
            .unwrap_or(0);
        if created + 3600 < now {
            // Another case may drop it at the same moment: IF EXISTS, and errors ignored.
            let _ = admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}

/// The server URL with its database (the path) replaced, query parameters kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, ""), |(b, q)| (b, q));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    format!("{}/{database}{query}", &base[..path])
}

igny8_store_conformance::conformance_suite!(fresh_store);

#[path = "conformance/schema.rs"]
mod schema;

#[path = "conformance/planner.rs"]
mod planner;
