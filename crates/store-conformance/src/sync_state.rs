//! Conformance cases of the content sync state: steps stored, refusals writing nothing, and a
//! running full sync's progress moved by range markers.

use chrono::{SubsecRound, Utc};
use serde_json::{json, Value};

use igny8_domain::content::sync::{Refused, RunStatus, VerifyState};
use igny8_store::StoreError;

use crate::content::{apply_with, post, T1};
use crate::{integration, S};

pub async fn sync_state_steps_are_stored_and_refusals_write_nothing(store: S) {
    let i = integration(&store, "ann@example.com").await;
    let fresh = store.content_sync_state(i).await.unwrap();
    assert_eq!(
        (
            fresh.run.is_none(),
            fresh.verify_state,
            fresh.full_sync_requested
        ),
        (true, VerifyState::Never, false)
    );
    let at = Utc::now().trunc_subsecs(0);
    let state = store
        .update_content_sync_state(i, &|s| {
            s.request_full_sync();
            s.request_verify();
            Ok(())
        })
        .await
        .unwrap();
    assert!(state.full_sync_requested && state.verify_requested);
    let started = store
        .update_content_sync_state(i, &move |s| {
            s.start_run(
                "run-1",
                [
                    ("post:post".to_owned(), 10u64),
                    ("term:category".to_owned(), 2),
                ]
                .into(),
                at,
            );
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(store.content_sync_state(i).await.unwrap(), started);
    let run = started.run.clone().unwrap();
    assert_eq!(
        (
            run.run_id.as_str(),
            run.status,
            run.started_at,
            run.totals.len()
        ),
        ("run-1", RunStatus::Running, at, 2)
    );
    assert!(!started.full_sync_requested);
    let refused = store
        .update_content_sync_state(i, &|s| {
            s.request_full_sync();
            Err(Refused("no".into()))
        })
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(ref why)) if why == "no"),
        "{refused:?}"
    );
    assert_eq!(
        store.content_sync_state(i).await.unwrap(),
        started,
        "a refused step writes nothing"
    );
    let done = store
        .update_content_sync_state(i, &move |s| {
            s.finish_run("run-1", at)?;
            s.verify_started();
            s.verify_found(3);
            s.verify_done(at);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(done.run.as_ref().unwrap().finished_at, Some(at));
    assert_eq!(
        (done.verify_state, done.verify_differences, done.verified_at),
        (VerifyState::OutOfSync, 3, Some(at))
    );
    assert_eq!(store.content_sync_state(i).await.unwrap(), done);
}

pub async fn range_markers_move_the_running_full_syncs_progress(store: S) {
    let i = integration(&store, "ann@example.com").await;
    store
        .update_content_sync_state(i, &|s| {
            s.start_run("r", [("post:post".to_owned(), 9u64)].into(), Utc::now());
            Ok(())
        })
        .await
        .unwrap();
    let marker = |from: i64, to: i64| json!({"run_id": "r", "kind": "post", "type": "post", "from_id": from, "to_id": to});
    let posts = |ids: std::ops::RangeInclusive<i64>| -> Vec<Value> {
        ids.map(|id| post("post", id, T1, "publish", "x")).collect()
    };
    let done = |store: S| async move {
        store
            .content_sync_state(i)
            .await
            .unwrap()
            .run
            .unwrap()
            .done
            .get("post:post")
            .copied()
    };
    apply_with(&store, i, posts(1..=3), Some(marker(1, 3))).await;
    assert_eq!(done(store.clone()).await, Some(3));
    // A retry counts again instead of adding.
    apply_with(&store, i, posts(1..=3), Some(marker(1, 3))).await;
    assert_eq!(done(store.clone()).await, Some(3));
    // Batches of a walk may arrive out of order; a rejected item is not held.
    apply_with(&store, i, posts(7..=9), Some(marker(7, 9))).await;
    let mut middle = posts(4..=6);
    middle[2]["data"]["status"] = json!(null);
    apply_with(&store, i, middle, Some(marker(4, 6))).await;
    assert_eq!(done(store.clone()).await, Some(8));
    let run = store.content_sync_state(i).await.unwrap().run.unwrap();
    assert_eq!(
        run.walked["post:post"].len(),
        1,
        "adjacent ranges merge: {:?}",
        run.walked
    );
    // Markers of another run move nothing.
    apply_with(
        &store,
        i,
        posts(10..=10),
        Some(json!({"run_id": "old", "type": "post", "from_id": 10, "to_id": 10})),
    )
    .await;
    assert_eq!(done(store.clone()).await, Some(8));
}
