//! Conformance cases of a site's batch as one unit of work: the key, the integration and the
//! site checked as a structure push is, the items applied, and the sync outcome recorded in the
//! same transaction, also when batches run concurrently or their caller goes away.

use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use serde_json::{json, Value};

use igny8_domain::api_key::hash_key;
use igny8_domain::content::{Batch, ItemOutcome};
use igny8_domain::site_url::SiteUrl;
use igny8_store::{BatchOutcome, PushRefusal, SiteBatch};

use crate::content::{post, T1};
use crate::structure::site_key;
use crate::{integration, S};

fn site_batch(
    prefix: &str,
    secret: &str,
    integration_id: i64,
    items: Vec<Value>,
    at: DateTime<Utc>,
) -> SiteBatch {
    SiteBatch {
        key_prefix: prefix.into(),
        key_hash: hash_key(secret),
        integration_id,
        batch: Arc::new(Batch::parse(&json!({"batch_id": "b", "items": items})).expect("valid")),
        at,
        touch_every: Duration::seconds(60),
        site_url: None,
    }
}

/// `(sync_status, last_sync_at, last_error)` of the integration.
async fn recorded(store: &S, id: i64) -> (String, Option<DateTime<Utc>>, Option<String>) {
    let i = store.integration(id).await.unwrap().unwrap();
    (i.sync_status, i.last_sync_at, i.last_error)
}

async fn held(store: &S, id: i64) -> u64 {
    store
        .list_content(id, igny8_store::ContentFilter::default(), 0, 1)
        .await
        .unwrap()
        .count
}

pub async fn site_batches_are_checked_then_applied_with_their_outcome(store: S) {
    let ann = integration(&store, "ann@example.com").await;
    let site = store.integration(ann).await.unwrap().unwrap().site_id;
    let bob = integration(&store, "bob@example.com").await;
    let secret = site_key(&store, site, "keyann01").await;
    let before = recorded(&store, ann).await;
    let t0 = Utc::now().trunc_subsecs(6);
    let items = || vec![post("post", 1, T1, "publish", "a")];
    let refused = |r| BatchOutcome::Refused(r);

    // Refusals write nothing but the key's use (once the key is known to be the site's).
    let cases = [
        (
            site_batch("keyann01", &format!("{secret}x"), ann, items(), t0),
            PushRefusal::UnknownKey,
        ),
        (
            site_batch("nokey001", &secret, ann, items(), t0),
            PushRefusal::UnknownKey,
        ),
        (
            site_batch("keyann01", &secret, bob, items(), t0),
            PushRefusal::OtherSite,
        ),
        (
            site_batch("keyann01", &secret, bob + ann + 1_000, items(), t0),
            PushRefusal::NoSuchIntegration,
        ),
    ];
    for (write, why) in cases {
        assert_eq!(store.apply_site_batch(write).await.unwrap(), refused(why));
    }
    let mut copy = site_batch("keyann01", &secret, ann, items(), t0);
    store
        .adopt_site_url(ann, "https://a.example")
        .await
        .unwrap();
    copy.site_url = Some(SiteUrl::parse("https://staging.a.example").unwrap());
    assert_eq!(
        store.apply_site_batch(copy).await.unwrap(),
        refused(PushRefusal::SiteUrlMismatch)
    );
    store.set_site_active(site, false).await.unwrap();
    assert_eq!(
        store
            .apply_site_batch(site_batch("keyann01", &secret, ann, items(), t0))
            .await
            .unwrap(),
        refused(PushRefusal::SiteInactive)
    );
    assert_eq!(held(&store, ann).await, 0);
    assert_eq!(held(&store, bob).await, 0);
    assert_eq!(recorded(&store, ann).await, before);
    assert_eq!(
        store
            .api_key_by_prefix("keyann01")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(t0)
    );
    store.set_site_active(site, true).await.unwrap();

    // Applied: the items and the outcome together.
    let t1 = t0 + Duration::seconds(1);
    let mut bad = post("post", 2, T1, "publish", "b");
    bad["modified_gmt"] = json!("yesterday");
    let outcome = store
        .apply_site_batch(site_batch(
            "keyann01",
            &secret,
            ann,
            vec![post("post", 1, T1, "publish", "a"), bad],
            t1,
        ))
        .await
        .unwrap();
    let BatchOutcome::Applied(outcomes) = outcome else {
        panic!("refused: {outcome:?}");
    };
    assert_eq!(outcomes[0], ItemOutcome::Applied);
    assert!(
        matches!(outcomes[1], ItemOutcome::Rejected(_)),
        "{outcomes:?}"
    );
    let (status, at, error) = recorded(&store, ann).await;
    assert_eq!((status.as_str(), at), ("partial", Some(t1)));
    let error = error.expect("the rejection is recorded");
    assert!(error.starts_with("Rejected post post 2: "), "{error}");

    // A clean batch is a success and keeps the last rejection for the dashboard; a matching
    // reported address is accepted; the same version again is applied again.
    let t2 = t1 + Duration::seconds(1);
    let mut clean = site_batch("keyann01", &secret, ann, items(), t2);
    clean.site_url = Some(SiteUrl::parse("https://a.example").unwrap());
    assert_eq!(
        store.apply_site_batch(clean).await.unwrap(),
        BatchOutcome::Applied(vec![ItemOutcome::Applied])
    );
    assert_eq!(
        recorded(&store, ann).await,
        ("success".to_owned(), Some(t2), Some(error))
    );
    assert_eq!(held(&store, ann).await, 1);

    // A revoked key writes nothing more.
    store.revoke_api_key(site, "keyann01", t2).await.unwrap();
    let t3 = t2 + Duration::seconds(1);
    assert_eq!(
        store
            .apply_site_batch(site_batch(
                "keyann01",
                &secret,
                ann,
                vec![post("post", 3, T1, "publish", "c")],
                t3
            ))
            .await
            .unwrap(),
        refused(PushRefusal::RevokedKey)
    );
    assert_eq!(held(&store, ann).await, 1);
    assert_eq!(recorded(&store, ann).await.1, Some(t2));
}

pub async fn a_site_batch_and_its_outcome_commit_together(store: S) {
    let i = integration(&store, "ann@example.com").await;
    let site = store.integration(i).await.unwrap().unwrap().site_id;
    let secret = site_key(&store, site, "keyann01").await;
    let items: Vec<Value> = (1..=500)
        .map(|id| post("post", id, T1, "publish", &"long ".repeat(200)))
        .collect();
    // Abandon the batch at different moments: its items and its outcome are held together.
    for delay_us in [0u64, 200, 1_000, 3_000, 10_000] {
        let at = Utc::now().trunc_subsecs(6);
        let write = site_batch("keyann01", &secret, i, items.clone(), at);
        let s = store.clone();
        let task = tokio::spawn(async move { s.apply_site_batch(write).await });
        tokio::time::sleep(std::time::Duration::from_micros(delay_us)).await;
        task.abort();
        let _ = task.await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let count = held(&store, i).await;
        let (_, last_sync_at, _) = recorded(&store, i).await;
        assert!(
            (count == 0 && last_sync_at != Some(at)) || (count == 500 && last_sync_at == Some(at)),
            "{count} of 500 held, outcome recorded at {last_sync_at:?} (batch at {at})"
        );
        if count == 500 {
            store.prune_content(i, &[]).await.unwrap();
        }
    }
}

pub async fn concurrent_site_batches_lose_nothing(store: S) {
    let i = integration(&store, "ann@example.com").await;
    let site = store.integration(i).await.unwrap().unwrap().site_id;
    let secret = site_key(&store, site, "keyann01").await;
    let t0 = Utc::now().trunc_subsecs(6);
    let mut tasks = Vec::new();
    for k in 0..4i64 {
        let (store, secret) = (store.clone(), secret.clone());
        tasks.push(tokio::spawn(async move {
            for chunk in 0..3i64 {
                let from = k * 300 + chunk * 100 + 1;
                let items = (from..from + 100)
                    .map(|id| post("post", id, T1, "publish", "x"))
                    .collect();
                let at = t0 + Duration::milliseconds(k * 10 + chunk);
                let outcome = store
                    .apply_site_batch(site_batch("keyann01", &secret, i, items, at))
                    .await
                    .unwrap();
                assert_eq!(
                    outcome,
                    BatchOutcome::Applied(vec![ItemOutcome::Applied; 100])
                );
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(held(&store, i).await, 1200);
    let (status, at, error) = recorded(&store, i).await;
    assert_eq!((status.as_str(), error), ("success", None));
    assert!(at.is_some_and(|at| at >= t0), "{at:?}");
}
