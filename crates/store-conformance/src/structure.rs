//! Conformance cases of the structure push: checked then applied as one unit of work, and
//! concurrent pushes each decided on their own without losing writes.

use chrono::{Duration, SubsecRound, Utc};
use serde_json::{json, Value};

use igny8_domain::api_key::hash_key;
use igny8_domain::structure::SiteStructure;
use igny8_store::{NewApiKeyRow, PushOutcome, PushRefusal, StructurePush};

use crate::{integration, S};

/// A site's structure push as the API makes it, with the key `secret` (prefix `prefix`).
pub(crate) fn structure_push(
    prefix: &str,
    secret: &str,
    integration_id: i64,
    at: chrono::DateTime<Utc>,
) -> StructurePush {
    let body = json!({
        "post_types": {
            "post": {"label": "Posts", "count": 123, "enabled": true, "fetch_limit": 100},
            "product": {"label": "Products", "count": 456, "enabled": false, "fetch_limit": 50}
        },
        "taxonomies": {"category": {"label": "Categories", "count": 25, "enabled": true, "fetch_limit": 100}},
        "timestamp": at.to_rfc3339(),
    });
    StructurePush {
        key_prefix: prefix.into(),
        key_hash: hash_key(secret),
        integration_id,
        structure: SiteStructure::parse(&body, at).expect("a valid push"),
        at,
        touch_every: Duration::seconds(60),
        site_url: None,
    }
}

/// The secret of the test key with prefix `prefix`.
pub(crate) fn key_secret(prefix: &str) -> String {
    format!("igny8_{prefix}_{}", "s".repeat(40))
}

/// A key for `site_id` with prefix `prefix`; answers its secret.
pub async fn site_key(store: &S, site_id: i64, prefix: &str) -> String {
    let secret = key_secret(prefix);
    store
        .create_api_key(NewApiKeyRow {
            site_id,
            prefix,
            hash: &hash_key(&secret),
            label: "",
        })
        .await
        .unwrap();
    secret
}

async fn last_used(store: &S, prefix: &str) -> Option<chrono::DateTime<Utc>> {
    store
        .api_key_by_prefix(prefix)
        .await
        .unwrap()
        .unwrap()
        .last_used_at
}

pub async fn structure_pushes_are_checked_then_applied(store: S) {
    let ann = integration(&store, "ann@example.com").await;
    let site = store.integration(ann).await.unwrap().unwrap().site_id;
    let bob = integration(&store, "bob@example.com").await;
    let secret = site_key(&store, site, "keyann01").await;
    store
        .update_integration_config(ann, &|_| {
            Ok(json!({"api_base": "kept", "platform_settings": {"post_types": {"product": {"enabled": true}}}}))
        })
        .await
        .unwrap();
    let config = |id| {
        let store = store.clone();
        async move { store.integration(id).await.unwrap().unwrap().config_json }
    };
    let (ann_before, bob_before) = (config(ann).await, config(bob).await);
    let t0 = Utc::now().trunc_subsecs(0);
    let refused = |outcome: PushOutcome| match outcome {
        PushOutcome::Refused(why) => why,
        PushOutcome::Applied { .. } => panic!("the push was applied"),
    };

    // Unknown keys are refused before anything is read or written.
    let wrong_secret = structure_push("keyann01", &format!("{secret}x"), ann, t0);
    let unknown = structure_push("nokey001", &secret, ann, t0);
    for push in [wrong_secret, unknown] {
        let outcome = store.push_structure(push).await.unwrap();
        assert_eq!(refused(outcome), PushRefusal::UnknownKey);
    }
    assert_eq!(last_used(&store, "keyann01").await, None);

    // A valid key reaches only its own site's integration; its use is recorded all the same.
    let outcome = store
        .push_structure(structure_push("keyann01", &secret, bob, t0))
        .await
        .unwrap();
    assert_eq!(refused(outcome), PushRefusal::OtherSite);
    assert_eq!(last_used(&store, "keyann01").await, Some(t0));
    let outcome = store
        .push_structure(structure_push("keyann01", &secret, bob + ann + 1_000, t0))
        .await
        .unwrap();
    assert_eq!(refused(outcome), PushRefusal::NoSuchIntegration);
    assert_eq!(
        (config(ann).await, config(bob).await),
        (ann_before, bob_before.clone())
    );

    // Applied: the pushed types with the platform's settings winning, other keys kept.
    let t1 = t0 + Duration::seconds(30);
    let PushOutcome::Applied {
        content_types,
        sync,
    } = store
        .push_structure(structure_push("keyann01", &secret, ann, t1))
        .await
        .unwrap()
    else {
        panic!("a valid push is applied")
    };
    assert!(
        content_types.post_types["product"].enabled,
        "the platform's setting wins"
    );
    assert_eq!(content_types.post_types["post"].count, 123);
    assert_eq!(sync, store.content_sync_state(ann).await.unwrap());
    let stored = config(ann).await;
    assert_eq!(stored["api_base"], "kept");
    assert_eq!(stored["content_types"], json!(content_types));
    assert_eq!(
        stored["last_structure_fetch"],
        t1.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    // Used 30 s after the last recorded use: not written again; 60 s after, written.
    assert_eq!(last_used(&store, "keyann01").await, Some(t0));
    let t2 = t0 + Duration::seconds(60);
    store
        .push_structure(structure_push("keyann01", &secret, ann, t2))
        .await
        .unwrap();
    assert_eq!(last_used(&store, "keyann01").await, Some(t2));

    // An inactive site, then a revoked key: refused, the config as it was.
    let before = config(ann).await;
    store.set_site_active(site, false).await.unwrap();
    let outcome = store
        .push_structure(structure_push("keyann01", &secret, ann, t2))
        .await
        .unwrap();
    assert_eq!(refused(outcome), PushRefusal::SiteInactive);
    store.set_site_active(site, true).await.unwrap();
    store.revoke_api_key(site, "keyann01", t2).await.unwrap();
    let outcome = store
        .push_structure(structure_push(
            "keyann01",
            &secret,
            ann,
            t2 + Duration::hours(1),
        ))
        .await
        .unwrap();
    assert_eq!(refused(outcome), PushRefusal::RevokedKey);
    assert_eq!(config(ann).await, before);
    assert_eq!(config(bob).await, bob_before);
}

pub async fn concurrent_structure_pushes_lose_nothing(store: S) {
    let id = integration(&store, "ann@example.com").await;
    let site = store.integration(id).await.unwrap().unwrap().site_id;
    let secret = site_key(&store, site, "keyann01").await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (store, secret) = (store.clone(), secret.clone());
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let push = structure_push("keyann01", &secret, id, Utc::now());
                let outcome = store.push_structure(push).await.expect("push");
                assert!(matches!(outcome, PushOutcome::Applied { .. }));
            } else {
                let key = format!("k{i}");
                store
                    .update_integration_config(id, &move |mut c: Value| {
                        c[key.as_str()] = json!(i);
                        Ok(c)
                    })
                    .await
                    .expect("update");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let config = store.integration(id).await.unwrap().unwrap().config_json;
    for i in (1..24).step_by(2) {
        assert_eq!(
            config[format!("k{i}")],
            json!(i),
            "key k{i} was lost: {config}"
        );
    }
    assert_eq!(config["content_types"]["post_types"]["post"]["count"], 123);
}

pub async fn concurrent_structure_pushes_are_each_decided_on_their_own(store: S) {
    let ann = integration(&store, "ann@example.com").await;
    let bob = integration(&store, "bob@example.com").await;
    let ann_site = store.integration(ann).await.unwrap().unwrap().site_id;
    let secret = site_key(&store, ann_site, "keyann01").await;
    let racing: Vec<_> = (0..60)
        .map(|i| {
            let (store, secret) = (store.clone(), secret.clone());
            tokio::spawn(async move {
                let push = match i % 3 {
                    0 => structure_push("keyann01", &secret, ann, Utc::now()),
                    1 => structure_push("keyann01", &secret, bob, Utc::now()),
                    _ => structure_push("nokey001", &secret, ann, Utc::now()),
                };
                match store.push_structure(push).await.expect("push") {
                    PushOutcome::Applied { .. } => None,
                    PushOutcome::Refused(why) => Some(why),
                }
            })
        })
        .collect();
    for (i, task) in racing.into_iter().enumerate() {
        let want = match i % 3 {
            0 => None,
            1 => Some(PushRefusal::OtherSite),
            _ => Some(PushRefusal::UnknownKey),
        };
        assert_eq!(task.await.unwrap(), want, "push {i}");
    }
    let config = |id| {
        let store = store.clone();
        async move { store.integration(id).await.unwrap().unwrap().config_json }
    };
    assert_eq!(
        config(ann).await["content_types"]["post_types"]["post"]["count"],
        123
    );
    assert_eq!(config(bob).await.get("content_types"), None);
    assert!(last_used(&store, "keyann01").await.is_some());
}
