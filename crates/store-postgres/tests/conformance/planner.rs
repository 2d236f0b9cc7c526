//! What only PostgreSQL needs: post bodies compressed with lz4, and planner statistics as soon as
//! a first full sync has stored posts (without them its range statements read every row).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use igny8_domain::api_key::hash_key;
use igny8_domain::content::Batch;
use igny8_store::{BatchOutcome, SiteBatch, Store};
use igny8_store_conformance::content::{post, T1};
use igny8_store_conformance::integration;
use igny8_store_conformance::structure::site_key;
use igny8_store_postgres::PostgresStore;
use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};

async fn migrated() -> (Arc<dyn Store>, PgConnection) {
    let url = super::fresh_database().await;
    let store = PostgresStore::open(&url).await.unwrap();
    store.migrate().await.unwrap();
    (Arc::new(store), PgConnection::connect(&url).await.unwrap())
}

#[tokio::test]
async fn post_bodies_are_compressed_with_lz4() {
    let (_store, mut c) = migrated().await;
    let compression: String = sqlx::query_scalar(
        "SELECT attcompression::text FROM pg_attribute
         WHERE attrelid = 'content'::regclass AND attname = 'body'",
    )
    .fetch_one(&mut c)
    .await
    .unwrap();
    assert_eq!(compression, "l", "content.body's compression method");
}

#[tokio::test]
async fn the_first_posts_stored_give_the_planner_statistics_for_full_sync_ranges() {
    let (store, mut c) = migrated().await;
    // Only the store may gather them in this test, not autovacuum.
    c.execute("ALTER TABLE content SET (autovacuum_enabled = false)")
        .await
        .unwrap();
    let id = integration(&store, "ann@example.com").await;
    let site = store.integration(id).await.unwrap().unwrap().site_id;
    let secret = site_key(&store, site, "keyann01").await;
    let items: Vec<_> = (1..=200)
        .map(|n| post("post", n, T1, "publish", "a"))
        .collect();
    let outcome = store
        .apply_site_batch(SiteBatch {
            key_prefix: "keyann01".into(),
            key_hash: hash_key(&secret),
            integration_id: id,
            batch: Arc::new(Batch::parse(&json!({"batch_id": "b", "items": items})).unwrap()),
            at: Utc::now(),
            touch_every: chrono::Duration::seconds(60),
            site_url: None,
        })
        .await
        .unwrap();
    assert!(matches!(outcome, BatchOutcome::Applied(_)), "{outcome:?}");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let known: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_stats WHERE tablename = 'content' AND attname = 'post_type')",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        if known {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "content has no planner statistics 10 s after its first posts were stored"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The plan a connection caches for a full sync's range delete walks the primary key.
    c.execute(
        "SET plan_cache_mode = force_generic_plan;
         PREPARE range_delete(bigint, text, bigint, bigint, bigint[]) AS
             DELETE FROM content WHERE integration_id = $1 AND post_type = $2
             AND wp_id BETWEEN $3 AND $4 AND wp_id <> ALL($5)",
    )
    .await
    .unwrap();
    let plan: Vec<String> =
        sqlx::query_scalar("EXPLAIN EXECUTE range_delete(1, 'post', 1, 500, '{1}')")
            .fetch_all(&mut c)
            .await
            .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("using content_pkey"), "{plan}");
}
