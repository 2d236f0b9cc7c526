//! Conformance cases of two-way sync's outbox: order, idempotency keys, delivery counts, outcomes,
//! cancellation, resolution, receivers, and concurrent writers and pulls.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use igny8_domain::changes::{resolve, ChangeOp, ChangeOutcome, ChangeStatus, ConflictPolicy};
use igny8_domain::content::ItemKind;
use serde_json::{json, Map, Value};

use igny8_store::{ChangeFilter, NewChange, StoreError};

use crate::{integration, S};

fn new_change(integration_id: i64, wp_id: i64, key: Option<&str>) -> NewChange {
    NewChange {
        integration_id,
        op: ChangeOp::Update,
        kind: ItemKind::Post,
        type_name: "post".into(),
        wp_id: Some(wp_id),
        fields: json!({"title": format!("New {wp_id}"), "seo": {"description": "D"}}),
        base: json!({"title": "Old", "seo": {"description": null}}),
        base_modified_gmt: Some("2025-11-22 10:00:00".into()),
        policy: ConflictPolicy::Manual,
        idempotency_key: key.map(str::to_owned),
        created_by: Some(1),
        at: Utc::now(),
    }
}

fn outcome(id: i64, status: ChangeStatus, result: Value) -> ChangeOutcome {
    ChangeOutcome {
        id,
        status,
        result: result.as_object().cloned().unwrap_or_default(),
    }
}

pub async fn changes_are_numbered_per_integration_and_keys_make_retries_safe(store: S) {
    let a = integration(&store, "a@example.com").await;
    let b = integration(&store, "b@example.com").await;
    let (first, created) = store
        .create_change(new_change(a, 12, Some("k1")))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(
        (first.seq, first.status, first.attempt),
        (1, ChangeStatus::Pending, 0)
    );
    assert_eq!(first.fields["seo"]["description"], json!("D"));
    assert_eq!(
        first.base_modified_gmt.as_deref(),
        Some("2025-11-22 10:00:00")
    );
    let (again, created) = store
        .create_change(new_change(a, 99, Some("k1")))
        .await
        .unwrap();
    assert!(!created, "a repeated idempotency key queues nothing");
    assert_eq!(again, first);
    let (second, _) = store.create_change(new_change(a, 13, None)).await.unwrap();
    let (third, _) = store.create_change(new_change(a, 14, None)).await.unwrap();
    assert_eq!((second.seq, third.seq), (2, 3));
    // Another integration numbers its own changes and may use the same key.
    let (other, created) = store
        .create_change(new_change(b, 12, Some("k1")))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(other.seq, 1);
    assert_ne!(other.id, first.id);
    // Scoped reads: another integration's change is not found through this one.
    assert!(store.change(b, first.id).await.unwrap().is_none());
    assert_eq!(store.change(a, first.id).await.unwrap().unwrap(), first);
    let (count, page) = store
        .list_changes(a, ChangeFilter::default(), 0, 2)
        .await
        .unwrap();
    assert_eq!(count, 3);
    assert_eq!(
        page.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [3, 2],
        "newest first"
    );
    let (count, page) = store
        .list_changes(
            a,
            ChangeFilter {
                object: Some((ItemKind::Post, "post", 13)),
                ..Default::default()
            },
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!((count, page[0].id), (1, second.id));
    let missing = store.create_change(new_change(a + b + 100, 1, None)).await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
}

pub async fn pending_changes_are_delivered_in_order_until_reported(store: S) {
    let a = integration(&store, "a@example.com").await;
    for wp_id in 1..=3 {
        store
            .create_change(new_change(a, wp_id, None))
            .await
            .unwrap();
    }
    assert_eq!(store.count_pending_changes(a).await.unwrap(), 3);
    let first = store.deliver_changes(a, 2, Utc::now()).await.unwrap();
    assert_eq!(
        first.iter().map(|c| (c.seq, c.attempt)).collect::<Vec<_>>(),
        [(1, 1), (2, 1)]
    );
    let again = store.deliver_changes(a, 2, Utc::now()).await.unwrap();
    assert_eq!(
        again.iter().map(|c| (c.seq, c.attempt)).collect::<Vec<_>>(),
        [(1, 2), (2, 2)]
    );
    let known = store
        .record_change_outcomes(
            a,
            &[outcome(
                first[0].id,
                ChangeStatus::Applied,
                json!({"wp_id": 1, "modified_gmt": "2025-11-22 10:00:05"}),
            )],
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(known, [true]);
    let next = store.deliver_changes(a, 10, Utc::now()).await.unwrap();
    assert_eq!(next.iter().map(|c| c.seq).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(store.count_pending_changes(a).await.unwrap(), 2);
    let depth = store.outbox_depth().await.unwrap();
    let count_of = |s| {
        depth
            .by_status
            .iter()
            .find(|(status, _)| *status == s)
            .unwrap()
            .1
    };
    assert_eq!(depth.by_status.len(), ChangeStatus::ALL.len());
    assert_eq!(
        (
            count_of(ChangeStatus::Pending),
            count_of(ChangeStatus::Applied)
        ),
        (2, 1)
    );
    assert_eq!(count_of(ChangeStatus::Conflict), 0);
    assert_eq!(
        depth.oldest_pending_at,
        Some(next[0].created_at),
        "seq 2 waits longest"
    );
    let applied = store.change(a, first[0].id).await.unwrap().unwrap();
    assert_eq!(applied.status, ChangeStatus::Applied);
    assert!(applied.applied_at.is_some());
    assert_eq!(
        applied.result.unwrap()["modified_gmt"],
        json!("2025-11-22 10:00:05")
    );
}

pub async fn outcomes_are_recorded_per_integration_and_over_a_late_cancellation(store: S) {
    let a = integration(&store, "a@example.com").await;
    let b = integration(&store, "b@example.com").await;
    let (c1, _) = store.create_change(new_change(a, 1, None)).await.unwrap();
    let (c2, _) = store.create_change(new_change(a, 2, None)).await.unwrap();
    let (other, _) = store.create_change(new_change(b, 1, None)).await.unwrap();
    // Cancel only while pending.
    let cancelled = store.cancel_change(a, c2.id, Utc::now()).await.unwrap();
    assert_eq!(cancelled.status, ChangeStatus::Cancelled);
    assert!(matches!(
        store.cancel_change(a, c2.id, Utc::now()).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.cancel_change(a, other.id, Utc::now()).await,
        Err(StoreError::NotFound)
    ));
    let known = store
        .record_change_outcomes(
            a,
            &[
                outcome(
                    c1.id,
                    ChangeStatus::Conflict,
                    json!({"conflicts": {"title": {"wordpress": "W"}}}),
                ),
                outcome(other.id, ChangeStatus::Applied, json!({"wp_id": 1})),
                outcome(c2.id, ChangeStatus::Applied, json!({"wp_id": 2})),
            ],
            Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(
        known,
        [true, false, true],
        "another integration's change is unknown"
    );
    assert_eq!(
        store.change(b, other.id).await.unwrap().unwrap().status,
        ChangeStatus::Pending
    );
    let late = store.change(a, c2.id).await.unwrap().unwrap();
    assert_eq!(late.status, ChangeStatus::Applied);
    assert_eq!(late.result.unwrap()["cancelled_late"], json!(true));
    let conflict = store.change(a, c1.id).await.unwrap().unwrap();
    assert_eq!(conflict.status, ChangeStatus::Conflict);
    assert_eq!(store.count_pending_changes(a).await.unwrap(), 0);
}

pub async fn a_resolution_queues_the_next_change_in_the_same_step(store: S) {
    let a = integration(&store, "a@example.com").await;
    let (c1, _) = store.create_change(new_change(a, 1, None)).await.unwrap();
    let no_resolution = resolve(
        &Map::new(),
        &Map::new(),
        ConflictPolicy::Manual,
        &Map::new(),
        &json!({"choices": {}}),
    )
    .unwrap();
    assert!(
        matches!(
            store.resolve_change(a, c1.id, &no_resolution, None).await,
            Err(StoreError::Conflict(_))
        ),
        "only a change in conflict is resolved"
    );
    store
        .record_change_outcomes(
            a,
            &[outcome(
                c1.id,
                ChangeStatus::Conflict,
                json!({"conflicts": {"title": {"wordpress": "W"}}}),
            )],
            Utc::now(),
        )
        .await
        .unwrap();
    let conflict = store.change(a, c1.id).await.unwrap().unwrap();
    let resolution = resolve(
        conflict.fields.as_object().unwrap(),
        conflict.base.as_object().unwrap(),
        conflict.policy,
        conflict.result.as_ref().unwrap().as_object().unwrap(),
        &json!({"choices": {"title": "platform"}}),
    )
    .unwrap();
    let (fields, base) = resolution.next.clone().unwrap();
    let mut next = new_change(a, 1, None);
    next.fields = Value::Object(fields);
    next.base = Value::Object(base);
    let (resolved, created) = store
        .resolve_change(a, c1.id, &resolution, Some(next.clone()))
        .await
        .unwrap();
    let created = created.unwrap();
    assert_eq!(resolved.status, ChangeStatus::Resolved);
    let result = resolved.result.unwrap();
    assert_eq!(result["resolution"]["change_id"], json!(created.id));
    assert_eq!(
        result["conflicts"]["title"]["wordpress"],
        json!("W"),
        "the conflict is kept"
    );
    assert_eq!(created.seq, 2);
    assert_eq!(created.base["title"], json!("W"));
    assert_eq!(created.fields["seo"]["description"], json!("D"));
    assert!(
        matches!(
            store
                .resolve_change(a, c1.id, &resolution, Some(next))
                .await,
            Err(StoreError::Conflict(_))
        ),
        "a second resolution changes nothing"
    );
    assert_eq!(store.count_pending_changes(a).await.unwrap(), 1);
}

pub async fn receivers_are_replaced_and_nudges_recorded(store: S) {
    let a = integration(&store, "a@example.com").await;
    assert!(store.change_receiver(a).await.unwrap().is_none());
    let t = Utc::now();
    store
        .set_change_receiver(
            a,
            "https://blog.example/wp-json/igny8/v1/nudge",
            &"a".repeat(64),
            t,
        )
        .await
        .unwrap();
    store
        .record_nudge(a, t, Some("connection refused"))
        .await
        .unwrap();
    let r = store.change_receiver(a).await.unwrap().unwrap();
    assert_eq!(r.last_nudge_error.as_deref(), Some("connection refused"));
    assert!(
        !format!("{r:?}").contains(&"a".repeat(64)),
        "Debug hides the secret"
    );
    store
        .set_change_receiver(
            a,
            "https://blog.example/?rest_route=/igny8/v1/nudge",
            &"b".repeat(64),
            t,
        )
        .await
        .unwrap();
    let r = store.change_receiver(a).await.unwrap().unwrap();
    assert_eq!(
        (r.url.as_str(), r.secret.as_str()),
        (
            "https://blog.example/?rest_route=/igny8/v1/nudge",
            "b".repeat(64).as_str()
        )
    );
    assert_eq!(r.last_nudge_error, None, "a new registration starts clean");
    store.record_nudge(a, t, None).await.unwrap();
    assert!(store
        .change_receiver(a)
        .await
        .unwrap()
        .unwrap()
        .last_nudge_at
        .is_some());
    assert!(matches!(
        store
            .set_change_receiver(a + 1000, "https://x.example/", &"c".repeat(64), t)
            .await,
        Err(StoreError::NotFound)
    ));
}

/// Several writers (replicas) queue changes, some retrying with the same key, while several
/// pulls deliver and report them: every change gets its own seq, none is skipped, and each is
/// delivered as new (attempt 1) exactly once.
pub async fn concurrent_writers_and_pulls_skip_nothing_and_deliver_once_as_new(store: S) {
    let a = integration(&store, "a@example.com").await;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let s = store.clone();
            tokio::spawn(async move {
                let mut ids = BTreeSet::new();
                for i in 0..15 {
                    // Writers 2 and 3 retry the same requests: one change per key.
                    let key = format!("w{}-{i}", w % 2);
                    let (c, _) = s
                        .create_change(new_change(a, 100 * w + i, Some(&key)))
                        .await
                        .unwrap();
                    ids.insert(c.id);
                }
                ids
            })
        })
        .collect();
    let pullers: Vec<_> = (0..3)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move {
                let mut seen: Vec<(i64, i64)> = Vec::new();
                for _ in 0..200 {
                    let got = s.deliver_changes(a, 7, Utc::now()).await.unwrap();
                    let seqs: Vec<i64> = got.iter().map(|c| c.seq).collect();
                    assert!(
                        seqs.windows(2).all(|w| w[0] < w[1]),
                        "one pull is in seq order"
                    );
                    seen.extend(got.iter().map(|c| (c.id, c.attempt)));
                    let outcomes: Vec<_> = got
                        .iter()
                        .map(|c| outcome(c.id, ChangeStatus::Applied, json!({"wp_id": c.wp_id})))
                        .collect();
                    s.record_change_outcomes(a, &outcomes, Utc::now())
                        .await
                        .unwrap();
                    tokio::task::yield_now().await;
                }
                seen
            })
        })
        .collect();
    let mut created = BTreeSet::new();
    for w in writers {
        created.extend(w.await.unwrap());
    }
    let mut deliveries: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for p in pullers {
        for (id, attempt) in p.await.unwrap() {
            deliveries.entry(id).or_default().push(attempt);
        }
    }
    // What the pulls left behind is delivered now.
    for c in store.deliver_changes(a, 1000, Utc::now()).await.unwrap() {
        deliveries.entry(c.id).or_default().push(c.attempt);
    }
    assert_eq!(
        created.len(),
        30,
        "two writers per key: 30 distinct changes"
    );
    let (count, all) = store
        .list_changes(a, ChangeFilter::default(), 0, 1000)
        .await
        .unwrap();
    assert_eq!(count, 30);
    let seqs: BTreeSet<i64> = all.iter().map(|c| c.seq).collect();
    assert_eq!(
        seqs,
        (1..=30).collect(),
        "seq numbers every change once, without gaps"
    );
    assert_eq!(
        deliveries.keys().copied().collect::<BTreeSet<_>>(),
        created,
        "none skipped"
    );
    for (id, attempts) in &deliveries {
        assert_eq!(
            attempts.iter().filter(|a| **a == 1).count(),
            1,
            "change {id} delivered as new once: {attempts:?}"
        );
        let distinct: BTreeSet<_> = attempts.iter().collect();
        assert_eq!(
            distinct.len(),
            attempts.len(),
            "change {id}: each delivery counted: {attempts:?}"
        );
    }
}
