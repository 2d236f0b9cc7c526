//! The shared conformance suite on a fresh SQLite file per case.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use igny8_store::Store;
use igny8_store_sqlite::SqliteStore;

async fn fresh_store() -> Arc<dyn Store> {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "igny8-conformance-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("test.db");
    let _ = std::fs::remove_file(&path);
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Arc::new(store)
}

igny8_store_conformance::conformance_suite!(fresh_store);
