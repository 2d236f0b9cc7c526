//! Conformance cases of integrations: one per site and platform, config changes as
//! read-modify-write that lose nothing, and the recorded sync outcome.

use std::sync::Arc;

use chrono::{Duration, SubsecRound, Utc};
use serde_json::{json, Value};

use igny8_domain::content::sync::SyncStatus;
use igny8_domain::content::Batch;
use igny8_store::{ConfigUpdate, StoreError};

use crate::content::{post, site_write, T1};
use crate::{integration, user, S};

pub async fn integrations_are_one_per_site_and_platform(store: S) {
    let ann = user(&store, "ann@example.com").await;
    let site = store
        .create_site(ann.account_id, "Blog", "https://a.example")
        .await
        .unwrap();
    assert!(store
        .integrations_of_site(site.id)
        .await
        .unwrap()
        .is_empty());
    let (first, created) = store
        .ensure_integration(site.id, "wordpress")
        .await
        .unwrap();
    assert!(created);
    assert_eq!(first.platform, "wordpress");
    assert_eq!(first.site_id, site.id);
    assert!(first.is_active);
    assert_eq!(first.config_json, json!({}));
    assert_eq!(first.sync_status, SyncStatus::Never);
    let (second, created) = store
        .ensure_integration(site.id, "wordpress")
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(second.id, first.id);
    assert_eq!(
        store.integration(first.id).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.integrations_of_site(site.id).await.unwrap(),
        vec![first]
    );
    assert_eq!(store.integration(9_999_999).await.unwrap(), None);
}

pub async fn config_changes_keep_other_keys(store: S) {
    let id = integration(&store, "ann@example.com").await;
    let integration = store.integration(id).await.unwrap().unwrap();
    let set = |key: &'static str, v: Value| {
        move |mut c: Value| {
            c[key] = v.clone();
            Ok(c)
        }
    };
    store
        .update_integration_config(integration.id, &set("a", json!(1)))
        .await
        .unwrap();
    let ConfigUpdate::Updated(updated) = store
        .update_integration_config(integration.id, &set("b", json!({"x": [1, 2]})))
        .await
        .unwrap()
    else {
        panic!("change was accepted")
    };
    assert_eq!(updated.config_json, json!({"a": 1, "b": {"x": [1, 2]}}));
    assert!(updated.updated_at >= integration.updated_at);
    assert_eq!(
        store
            .integration(integration.id)
            .await
            .unwrap()
            .unwrap()
            .config_json,
        updated.config_json
    );
    let missing = store
        .update_integration_config(9_999_999, &set("a", json!(1)))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

pub async fn rejected_config_change_writes_nothing(store: S) {
    let id = integration(&store, "ann@example.com").await;
    let integration = store.integration(id).await.unwrap().unwrap();
    let outcome = store
        .update_integration_config(integration.id, &|_| {
            Err(igny8_domain::FieldErrors::single(
                "post_types.book",
                "is not a type this site has reported",
            ))
        })
        .await
        .unwrap();
    assert!(matches!(outcome, ConfigUpdate::Rejected(_)));
    assert_eq!(
        store.integration(integration.id).await.unwrap(),
        Some(integration)
    );
}

pub async fn concurrent_config_changes_lose_nothing(store: S) {
    let id = integration(&store, "ann@example.com").await;
    let integration = store.integration(id).await.unwrap().unwrap();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let key = format!("k{i}");
            store
                .update_integration_config(integration.id, &move |mut c: Value| {
                    c[key.as_str()] = json!(i);
                    Ok(c)
                })
                .await
                .expect("update")
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let config = store
        .integration(integration.id)
        .await
        .unwrap()
        .unwrap()
        .config_json;
    for i in 0..24 {
        assert_eq!(
            config[format!("k{i}")],
            json!(i),
            "key k{i} was lost: {config}"
        );
    }
}

/// A batch records its outcome as the dashboard shows it: `partial` with its last rejection, then
/// a clean batch is a `success` that keeps that rejection as the last error.
pub async fn sync_outcome_is_recorded(store: S) {
    let id = integration(&store, "ann@example.com").await;
    let at = Utc::now().trunc_subsecs(0);
    let batch = |item: Value| Arc::new(Batch::parse(&json!({"items": [item]})).expect("valid"));
    let rejected = json!({"op": "nope", "kind": "post", "type": "post", "wp_id": 1});
    let mut write = site_write(&store, id, batch(rejected)).await;
    write.at = at;
    store.apply_site_batch(write).await.unwrap();
    let i = store.integration(id).await.unwrap().unwrap();
    let error = r#"Rejected post post 1: op: must be "upsert" or "delete""#;
    assert_eq!(
        (
            i.sync_status.as_str(),
            i.last_sync_at,
            i.last_error.as_deref()
        ),
        ("partial", Some(at), Some(error))
    );
    let later = at + Duration::seconds(1);
    let mut write = site_write(&store, id, batch(post("post", 1, T1, "publish", "a"))).await;
    write.at = later;
    store.apply_site_batch(write).await.unwrap();
    let i = store.integration(id).await.unwrap().unwrap();
    assert_eq!(
        (
            i.sync_status.as_str(),
            i.last_sync_at,
            i.last_error.as_deref()
        ),
        ("success", Some(later), Some(error))
    );
}
