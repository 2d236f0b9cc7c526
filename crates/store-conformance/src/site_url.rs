//! Conformance cases of the site's address (docs/sync-protocol.md, "Copies and moves"): the first
//! reported address is adopted, a move replaces it, a copy's address is recorded, and structure
//! pushes follow the same rule inside their one unit of work.

use chrono::{Duration, SubsecRound, Utc};
use igny8_domain::site_url::SiteUrl;

use igny8_store::{PushOutcome, PushRefusal, StoreError};

use crate::structure::{site_key, structure_push};
use crate::{integration, S};

async fn addresses(store: &S, id: i64) -> (Option<String>, Option<String>, bool) {
    let i = store.integration(id).await.unwrap().unwrap();
    (
        i.site_url,
        i.site_url_mismatch,
        i.site_url_mismatch_at.is_some(),
    )
}

pub async fn the_first_reported_address_is_adopted_and_kept(store: S) {
    let ann = integration(&store, "ann@example.com").await;
    let bob = integration(&store, "bob@example.com").await;
    assert_eq!(addresses(&store, ann).await, (None, None, false));

    let adopted = store
        .adopt_site_url(ann, "https://ann.example")
        .await
        .unwrap();
    assert_eq!(adopted.id, ann);
    assert_eq!(adopted.site_url.as_deref(), Some("https://ann.example"));
    // A later first report (a copy racing the original) finds the address taken.
    let again = store
        .adopt_site_url(ann, "https://staging.ann.example")
        .await
        .unwrap();
    assert_eq!(again.site_url.as_deref(), Some("https://ann.example"));
    assert_eq!(addresses(&store, bob).await, (None, None, false));

    let unknown = store
        .adopt_site_url(ann + bob + 1_000, "https://x.example")
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)), "{unknown:?}");
}

pub async fn racing_first_reports_adopt_exactly_one_address(store: S) {
    let id = integration(&store, "ann@example.com").await;
    let racing: Vec<_> = (0..16)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .adopt_site_url(id, &format!("https://copy{i}.example"))
                    .await
                    .unwrap()
                    .site_url
            })
        })
        .collect();
    let mut seen = Vec::new();
    for task in racing {
        seen.push(task.await.unwrap());
    }
    let stored = addresses(&store, id).await.0;
    assert!(stored.is_some());
    assert!(
        seen.iter().all(|s| *s == stored),
        "every racer was answered the one stored address {stored:?}: {seen:?}"
    );
}

pub async fn a_copys_address_is_recorded_until_a_move_forgets_it(store: S) {
    let ann = integration(&store, "ann@example.com").await;
    let bob = integration(&store, "bob@example.com").await;
    store
        .adopt_site_url(ann, "https://ann.example")
        .await
        .unwrap();
    let t0 = Utc::now().trunc_subsecs(0);
    // Stored verbatim, whatever it holds: the pages escape it.
    let hostile = "https://staging.example/a&b<i>'\"";
    store
        .record_site_url_mismatch(ann, Some((hostile, t0)))
        .await
        .unwrap();
    let i = store.integration(ann).await.unwrap().unwrap();
    assert_eq!(i.site_url.as_deref(), Some("https://ann.example"));
    assert_eq!(i.site_url_mismatch.as_deref(), Some(hostile));
    assert_eq!(i.site_url_mismatch_at, Some(t0));
    assert_eq!(addresses(&store, bob).await, (None, None, false));

    // A later report replaces the earlier one; None forgets it.
    let t1 = t0 + Duration::minutes(5);
    store
        .record_site_url_mismatch(ann, Some(("https://copy.example", t1)))
        .await
        .unwrap();
    let i = store.integration(ann).await.unwrap().unwrap();
    assert_eq!(
        (i.site_url_mismatch.as_deref(), i.site_url_mismatch_at),
        (Some("https://copy.example"), Some(t1))
    );
    store.record_site_url_mismatch(ann, None).await.unwrap();
    assert_eq!(
        addresses(&store, ann).await,
        (Some("https://ann.example".into()), None, false)
    );

    // The owner moves the site: the new address replaces the old, the copy's record goes.
    store
        .record_site_url_mismatch(ann, Some(("https://new.ann.example", t1)))
        .await
        .unwrap();
    let moved = store
        .move_site_url(ann, "https://new.ann.example")
        .await
        .unwrap();
    assert_eq!(moved.site_url.as_deref(), Some("https://new.ann.example"));
    assert_eq!(
        (moved.site_url_mismatch, moved.site_url_mismatch_at),
        (None, None)
    );
    assert_eq!(
        addresses(&store, ann).await,
        (Some("https://new.ann.example".into()), None, false)
    );
    // Moving an integration that never reported an address gives it one.
    let moved = store
        .move_site_url(bob, "https://bob.example")
        .await
        .unwrap();
    assert_eq!(moved.site_url.as_deref(), Some("https://bob.example"));

    let nowhere = ann + bob + 1_000;
    assert!(matches!(
        store.move_site_url(nowhere, "https://x.example").await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.record_site_url_mismatch(nowhere, None).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn structure_pushes_adopt_an_address_and_refuse_another(store: S) {
    let ann = integration(&store, "ann@example.com").await;
    let site = store.integration(ann).await.unwrap().unwrap().site_id;
    let secret = site_key(&store, site, "keyann01").await;
    let at = Utc::now().trunc_subsecs(0);
    let push = |url: Option<&str>, at| {
        let mut push = structure_push("keyann01", &secret, ann, at);
        push.site_url = url.map(|u| SiteUrl::parse(u).unwrap());
        push
    };
    let applied = |outcome: PushOutcome| matches!(outcome, PushOutcome::Applied { .. });

    // A plugin that reports no address pushes as before, and adopts nothing.
    assert!(applied(store.push_structure(push(None, at)).await.unwrap()));
    assert_eq!(addresses(&store, ann).await.0, None);
    // The first reported address is adopted with the push.
    let outcome = store
        .push_structure(push(Some("https://ann.example/"), at))
        .await
        .unwrap();
    assert!(applied(outcome));
    assert_eq!(
        addresses(&store, ann).await.0.as_deref(),
        Some("https://ann.example")
    );
    // The same site under another scheme or with www. is the same site; a copy is refused and
    // changes nothing.
    let outcome = store
        .push_structure(push(Some("http://www.ann.example"), at))
        .await
        .unwrap();
    assert!(applied(outcome));
    let before = store.integration(ann).await.unwrap().unwrap();
    let later = at + Duration::seconds(90);
    let outcome = store
        .push_structure(push(Some("https://staging.ann.example"), later))
        .await
        .unwrap();
    assert!(
        matches!(outcome, PushOutcome::Refused(PushRefusal::SiteUrlMismatch)),
        "{outcome:?}"
    );
    let after = store.integration(ann).await.unwrap().unwrap();
    assert_eq!(after.config_json, before.config_json);
    assert_eq!(after.site_url.as_deref(), Some("https://ann.example"));
    // Key checks come first: an unknown key is refused as such, whatever address it reports.
    let mut unknown = push(Some("https://staging.ann.example"), later);
    unknown.key_prefix = "nokey001".into();
    assert!(matches!(
        store.push_structure(unknown).await.unwrap(),
        PushOutcome::Refused(PushRefusal::UnknownKey)
    ));
    // After a move, the new address pushes and the old one is the copy.
    store
        .move_site_url(ann, "https://staging.ann.example")
        .await
        .unwrap();
    assert!(applied(
        store
            .push_structure(push(Some("https://staging.ann.example"), later))
            .await
            .unwrap()
    ));
    assert!(matches!(
        store
            .push_structure(push(Some("https://ann.example"), later))
            .await
            .unwrap(),
        PushOutcome::Refused(PushRefusal::SiteUrlMismatch)
    ));
}

pub async fn racing_pushes_from_two_addresses_adopt_one_and_refuse_the_other(store: S) {
    let ann = integration(&store, "ann@example.com").await;
    let site = store.integration(ann).await.unwrap().unwrap().site_id;
    let secret = site_key(&store, site, "keyann01").await;
    let racing: Vec<_> = (0..40)
        .map(|i| {
            let (store, secret) = (store.clone(), secret.clone());
            tokio::spawn(async move {
                let url = if i % 2 == 0 {
                    "https://ann.example"
                } else {
                    "https://staging.ann.example"
                };
                let mut push = structure_push("keyann01", &secret, ann, Utc::now());
                push.site_url = Some(SiteUrl::parse(url).unwrap());
                let applied = matches!(
                    store.push_structure(push).await.unwrap(),
                    PushOutcome::Applied { .. }
                );
                (url, applied)
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in racing {
        outcomes.push(task.await.unwrap());
    }
    let adopted = addresses(&store, ann).await.0.expect("one address adopted");
    for (url, applied) in outcomes {
        assert_eq!(
            applied,
            url == adopted,
            "{url}: applied {applied}, the integration knows {adopted}"
        );
    }
}
