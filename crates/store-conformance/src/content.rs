//! Conformance cases of content batches: idempotent upserts stored verbatim, stale and deleted
//! items, range markers, isolation per integration, checksums, counts, pruning, concurrency.

use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use igny8_domain::api_key::hash_key;
use igny8_domain::checksum::{buckets, post_checksum, term_checksum};
use igny8_domain::content::{Batch, ItemKind, ItemOutcome};
use igny8_store::{BatchOutcome, ContentFilter, NewApiKeyRow, SiteBatch, TypeBound};

use crate::structure::key_secret;
use crate::{integration, S};

/// A post upsert as the plugin sends it.
pub fn post(ty: &str, id: i64, modified: &str, status: &str, title: &str) -> Value {
    json!({"op": "upsert", "kind": "post", "type": ty, "wp_id": id, "modified_gmt": modified,
           "data": {"title": title, "slug": format!("p-{id}"), "status": status, "content": format!("<p>{title}</p>"),
                    "excerpt": "", "author": "Ann", "url": format!("https://a.example/p-{id}/"),
                    "terms": {"category": [1]}, "seo": {"title": title, "source": "yoast"}, "meta": {"n": id}}})
}

pub(crate) fn term(taxonomy: &str, id: i64, parent: i64, slug: &str) -> Value {
    json!({"op": "upsert", "kind": "term", "type": taxonomy, "wp_id": id,
           "data": {"name": slug.to_uppercase(), "slug": slug, "parent": parent, "count": 1, "description": ""}})
}

pub const T1: &str = "2025-11-22 10:00:00";

pub(crate) const T2: &str = "2025-11-22 11:00:00";

/// The key of the integration's site that content cases send their batches with, made on first
/// use (one per integration); answers its prefix and secret.
async fn batch_key(store: &S, integration_id: i64) -> (String, String) {
    let prefix = format!("int{integration_id:05}");
    let secret = key_secret(&prefix);
    if store.api_key_by_prefix(&prefix).await.unwrap().is_none() {
        let integration = store.integration(integration_id).await.unwrap();
        let new = NewApiKeyRow {
            site_id: integration.expect("the integration exists").site_id,
            prefix: &prefix,
            hash: &hash_key(&secret),
            label: "",
        };
        // Concurrent first batches race to make it: one makes it, the others find it made.
        if let Err(e) = store.create_api_key(new).await {
            let made = store.api_key_by_prefix(&prefix).await.unwrap();
            assert!(made.is_some(), "the batch key was not made: {e}");
        }
    }
    (prefix, secret)
}

/// `batch` as the API applies it: with a key of the integration's site, so `apply_site_batch`
/// checks it, applies it and records its sync outcome.
pub(crate) async fn site_write(store: &S, integration_id: i64, batch: Arc<Batch>) -> SiteBatch {
    let (prefix, secret) = batch_key(store, integration_id).await;
    SiteBatch {
        key_prefix: prefix,
        key_hash: hash_key(&secret),
        integration_id,
        batch,
        at: Utc::now(),
        touch_every: Duration::seconds(60),
        site_url: None,
    }
}

/// Applies the items (and range marker) as one site batch; answers each item's outcome.
pub(crate) async fn apply_with(
    store: &S,
    integration_id: i64,
    items: Vec<Value>,
    marker: Option<Value>,
) -> Vec<String> {
    let mut body = json!({"batch_id": "b", "items": items});
    if let Some(m) = marker {
        body["full_sync"] = m;
    }
    let batch = Arc::new(Batch::parse(&body).expect("a valid batch"));
    let write = site_write(store, integration_id, batch).await;
    match store.apply_site_batch(write).await.expect("batch applies") {
        BatchOutcome::Applied(outcomes) => outcomes
            .iter()
            .map(|o| match o {
                ItemOutcome::Rejected(why) => format!("rejected: {why}"),
                o => o.status().to_owned(),
            })
            .collect(),
        refused => panic!("the batch was refused: {refused:?}"),
    }
}

async fn apply(store: &S, integration_id: i64, items: Vec<Value>) -> Vec<String> {
    apply_with(store, integration_id, items, None).await
}

/// How many posts the integration holds.
async fn held(store: &S, integration_id: i64) -> u64 {
    store
        .list_content(integration_id, ContentFilter::default(), 0, 1)
        .await
        .unwrap()
        .count
}

async fn ids(store: &S, integration_id: i64, post_type: Option<&str>) -> Vec<i64> {
    let filter = ContentFilter {
        post_type,
        status: None,
    };
    let mut ids: Vec<i64> = store
        .list_content(integration_id, filter, 0, 500)
        .await
        .unwrap()
        .items
        .iter()
        .map(|i| i.wp_id)
        .collect();
    ids.sort_unstable();
    ids
}

pub async fn content_upserts_are_idempotent_and_stored_verbatim(store: S) {
    let i = integration(&store, "ann@example.com").await;
    let hostile = "<script>alert(1)</script> '; DROP TABLE content; -- Ünïcødé 日本語 🚀";
    let items = vec![
        post("post", 12, T1, "publish", hostile),
        term("category", 1, 0, "news"),
    ];
    assert_eq!(
        apply(&store, i, items.clone()).await,
        ["applied", "applied"]
    );
    assert_eq!(
        apply(&store, i, items).await,
        ["applied", "applied"],
        "a re-delivery applies again"
    );
    let page = store
        .list_content(i, ContentFilter::default(), 0, 100)
        .await
        .unwrap();
    assert_eq!(page.count, 1);
    let item = store
        .content_item(i, "post", 12)
        .await
        .unwrap()
        .expect("held");
    assert_eq!(item.summary.title, hostile);
    assert_eq!(item.content, format!("<p>{hostile}</p>"));
    assert_eq!(item.summary.modified_gmt, T1);
    assert_eq!(item.summary.terms, json!({"category": [1]}));
    assert_eq!(item.summary.seo["title"], json!(hostile));
    assert_eq!(item.summary.seo["focus_keyword"], Value::Null);
    assert_eq!(item.meta, json!({"n": 12}));
    assert_eq!(
        (item.author.as_str(), item.source.as_str()),
        ("Ann", "wordpress")
    );
    assert_eq!(item.checksum, post_checksum(12, T1, "publish"));
    assert_eq!(page.items[0], item.summary);
    assert_eq!(store.content_item(i, "page", 12).await.unwrap(), None);
    let terms = store.terms_of_taxonomy(i, "category").await.unwrap();
    assert_eq!(terms.len(), 1);
    assert_eq!(
        (
            terms[0].wp_id,
            terms[0].name.as_str(),
            terms[0].slug.as_str()
        ),
        (1, "NEWS", "news")
    );
}

pub async fn older_changes_are_stale_equal_ones_apply_again(store: S) {
    let i = integration(&store, "ann@example.com").await;
    assert_eq!(
        apply(&store, i, vec![post("post", 1, T2, "publish", "new")]).await,
        ["applied"]
    );
    assert_eq!(
        apply(&store, i, vec![post("post", 1, T1, "draft", "old")]).await,
        ["stale"]
    );
    let held = store.content_item(i, "post", 1).await.unwrap().unwrap();
    assert_eq!(
        (
            held.summary.title.as_str(),
            held.summary.modified_gmt.as_str()
        ),
        ("new", T2)
    );
    assert_eq!(
        apply(&store, i, vec![post("post", 1, T2, "publish", "again")]).await,
        ["applied"]
    );
    assert_eq!(
        store
            .content_item(i, "post", 1)
            .await
            .unwrap()
            .unwrap()
            .summary
            .title,
        "again"
    );
    // Deletes follow the same rule; one without a time always applies.
    let delete = |id: i64, t: Option<&str>| {
        let mut d = json!({"op": "delete", "kind": "post", "type": "post", "wp_id": id});
        if let Some(t) = t {
            d["modified_gmt"] = json!(t);
        }
        d
    };
    assert_eq!(apply(&store, i, vec![delete(1, Some(T1))]).await, ["stale"]);
    assert!(store.content_item(i, "post", 1).await.unwrap().is_some());
    assert_eq!(
        apply(&store, i, vec![delete(1, Some(T2))]).await,
        ["applied"]
    );
    assert!(store.content_item(i, "post", 1).await.unwrap().is_none());
    apply(&store, i, vec![post("post", 2, T2, "publish", "x")]).await;
    assert_eq!(
        apply(&store, i, vec![delete(2, None), delete(3, Some(T1))]).await,
        ["applied", "applied"]
    );
    assert_eq!(ids(&store, i, None).await, Vec::<i64>::new());
    // Within one batch, items apply in order.
    assert_eq!(
        apply(
            &store,
            i,
            vec![
                post("post", 4, T1, "draft", "a"),
                post("post", 4, T2, "publish", "b"),
                post("post", 4, T1, "draft", "c")
            ]
        )
        .await,
        ["applied", "applied", "stale"]
    );
    assert_eq!(
        store
            .content_item(i, "post", 4)
            .await
            .unwrap()
            .unwrap()
            .summary
            .title,
        "b"
    );
}

pub async fn trash_restore_and_delete_follow_wordpress(store: S) {
    let i = integration(&store, "ann@example.com").await;
    apply(
        &store,
        i,
        vec![
            post("post", 1, T1, "publish", "a"),
            post("post", 2, T1, "publish", "b"),
        ],
    )
    .await;
    apply(&store, i, vec![post("post", 1, T2, "trash", "a")]).await;
    let count = |counts: &[igny8_store::TypeCount], name: &str| {
        counts.iter().find(|c| c.type_name == name).map(|c| c.count)
    };
    let counts = store.content_counts(i).await.unwrap();
    assert_eq!(
        count(&counts, "post"),
        Some(1),
        "trash is held but not counted"
    );
    assert_eq!(
        store
            .content_item(i, "post", 1)
            .await
            .unwrap()
            .unwrap()
            .summary
            .status,
        "trash"
    );
    apply(
        &store,
        i,
        vec![post("post", 1, "2025-11-22 12:00:00", "publish", "a")],
    )
    .await;
    assert_eq!(
        count(&store.content_counts(i).await.unwrap(), "post"),
        Some(2)
    );
    apply(
        &store,
        i,
        vec![
            json!({"op": "delete", "kind": "post", "type": "post", "wp_id": 2, "modified_gmt": T2}),
        ],
    )
    .await;
    assert_eq!(ids(&store, i, None).await, vec![1]);
    apply(
        &store,
        i,
        vec![term("category", 5, 0, "a"), term("category", 6, 5, "b")],
    )
    .await;
    assert_eq!(
        apply(
            &store,
            i,
            vec![json!({"op": "delete", "kind": "term", "type": "category", "wp_id": 5})]
        )
        .await,
        ["applied"]
    );
    let terms = store.terms_of_taxonomy(i, "category").await.unwrap();
    assert_eq!(
        terms
            .iter()
            .map(|t| (t.wp_id, t.parent))
            .collect::<Vec<_>>(),
        vec![(6, 5)]
    );
}

pub async fn range_markers_delete_what_the_batch_lacks(store: S) {
    let i = integration(&store, "ann@example.com").await;
    let all: Vec<Value> = (1..=12)
        .map(|id| post("post", id, T1, "publish", "x"))
        .collect();
    apply(&store, i, all).await;
    apply(&store, i, vec![post("page", 3, T1, "publish", "a page")]).await;
    // Ids 1..=10 walked again: 4 and 6..=10 were deleted meanwhile; 5's new version is invalid,
    // which must not delete the copy the platform holds.
    let mut bad = post("post", 5, T2, "publish", "x");
    bad["data"]["title"] = json!(5);
    let outcomes = apply_with(
        &store,
        i,
        vec![
            post("post", 1, T1, "publish", "x"),
            post("post", 2, T1, "publish", "x"),
            post("post", 3, T1, "publish", "x"),
            bad,
        ],
        Some(json!({"run_id": "r", "kind": "post", "type": "post", "from_id": 1, "to_id": 10})),
    )
    .await;
    assert_eq!(outcomes[3], "rejected: data.title: must be a string");
    assert_eq!(ids(&store, i, Some("post")).await, vec![1, 2, 3, 5, 11, 12]);
    assert_eq!(
        ids(&store, i, Some("page")).await,
        vec![3],
        "other types are untouched"
    );
    // An empty batch with a marker says the range is empty.
    apply_with(
        &store,
        i,
        vec![],
        Some(json!({"kind": "post", "type": "post", "from_id": 11, "to_id": 11})),
    )
    .await;
    assert_eq!(ids(&store, i, Some("post")).await, vec![1, 2, 3, 5, 12]);
    // Terms too.
    apply(
        &store,
        i,
        vec![term("tag", 1, 0, "a"), term("tag", 2, 0, "b")],
    )
    .await;
    apply_with(
        &store,
        i,
        vec![term("tag", 2, 0, "b")],
        Some(json!({"kind": "term", "type": "tag", "from_id": 1, "to_id": 2})),
    )
    .await;
    assert_eq!(
        store
            .terms_of_taxonomy(i, "tag")
            .await
            .unwrap()
            .iter()
            .map(|t| t.wp_id)
            .collect::<Vec<_>>(),
        vec![2]
    );
}

pub async fn content_is_isolated_per_integration(store: S) {
    let a = integration(&store, "ann@example.com").await;
    let b = integration(&store, "bob@example.com").await;
    apply(
        &store,
        a,
        vec![
            post("post", 1, T1, "publish", "ann's"),
            term("category", 1, 0, "ann"),
        ],
    )
    .await;
    apply(
        &store,
        b,
        vec![
            post("post", 1, T1, "publish", "bob's"),
            post("post", 2, T1, "publish", "bob's"),
        ],
    )
    .await;
    assert_eq!(
        store
            .content_item(a, "post", 1)
            .await
            .unwrap()
            .unwrap()
            .summary
            .title,
        "ann's"
    );
    assert_eq!(
        store
            .content_item(b, "post", 1)
            .await
            .unwrap()
            .unwrap()
            .summary
            .title,
        "bob's"
    );
    assert!(store
        .terms_of_taxonomy(b, "category")
        .await
        .unwrap()
        .is_empty());
    apply_with(
        &store,
        a,
        vec![],
        Some(json!({"kind": "post", "type": "post", "from_id": 1, "to_id": 100})),
    )
    .await;
    store.prune_content(a, &[]).await.unwrap();
    store
        .delete_content_ids(a, ItemKind::Post, "post", &[2])
        .await
        .unwrap();
    assert_eq!(ids(&store, a, None).await, Vec::<i64>::new());
    assert_eq!(
        ids(&store, b, None).await,
        vec![1, 2],
        "another integration's deletes do not reach here"
    );
    assert_eq!(store.content_counts(b).await.unwrap().len(), 1);
    assert_eq!(
        store
            .checksum_buckets(b, ItemKind::Post, "post", 10_000)
            .await
            .unwrap()[0]
            .count,
        2
    );
    store
        .update_content_sync_state(a, &|s| {
            s.request_full_sync();
            Ok(())
        })
        .await
        .unwrap();
    assert!(
        !store
            .content_sync_state(b)
            .await
            .unwrap()
            .full_sync_requested
    );
}

pub async fn checksums_equal_the_domains(store: S) {
    let i = integration(&store, "ann@example.com").await;
    let posts: Vec<(i64, &str, &str)> = vec![
        (1, T1, "publish"),
        (9_999, T2, "draft"),
        (10_000, T1, "trash"),
        (123_456, T2, "publish"),
    ];
    apply(
        &store,
        i,
        posts
            .iter()
            .map(|(id, t, st)| post("book", *id, t, st, "x"))
            .collect(),
    )
    .await;
    apply(
        &store,
        i,
        vec![
            term("genre", 3, 0, "sci-fi"),
            term("genre", 20_001, 3, "space-opera"),
        ],
    )
    .await;
    let want = buckets(
        posts
            .iter()
            .map(|(id, t, st)| (*id, post_checksum(*id, t, st))),
        10_000,
    );
    assert_eq!(
        store
            .checksum_buckets(i, ItemKind::Post, "book", 10_000)
            .await
            .unwrap(),
        want
    );
    assert_eq!(want.len(), 3);
    assert_eq!(
        store
            .checksum_buckets(i, ItemKind::Term, "genre", 10_000)
            .await
            .unwrap(),
        buckets(
            [
                (3, term_checksum(3, 0, "sci-fi")),
                (20_001, term_checksum(20_001, 3, "space-opera"))
            ],
            10_000
        )
    );
    assert_eq!(
        store
            .item_checksums(i, ItemKind::Post, "book", 0, 9_999)
            .await
            .unwrap(),
        vec![
            (1, post_checksum(1, T1, "publish")),
            (9_999, post_checksum(9_999, T2, "draft"))
        ]
    );
    assert!(store
        .item_checksums(i, ItemKind::Post, "page", 0, 9_999)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .checksum_buckets(i, ItemKind::Post, "page", 10_000)
        .await
        .unwrap()
        .is_empty());
}

/// A version read later wins over one read earlier with the same one-second modified time (a full
/// sync's batch built before an edit the queue already delivered); items without a read time
/// follow the old rule. The plugin's checksums are what verification sums.
pub async fn read_times_break_ties_and_the_plugins_checksums_are_kept(store: S) {
    let i = integration(&store, "ann@example.com").await;
    let stamped = |item: Value, read_at: Option<&str>, checksum: Option<u32>| {
        let mut item = item;
        if let Some(r) = read_at {
            item["read_at"] = json!(r);
        }
        if let Some(c) = checksum {
            item["checksum"] = json!(c);
        }
        item
    };
    let (r1, r2, r3) = (
        "2025-11-22 10:00:00.100000",
        "2025-11-22 10:00:00.200000",
        "2025-11-22 10:00:00.300000",
    );
    let title = |store: S| async move {
        store
            .content_item(i, "post", 1)
            .await
            .unwrap()
            .unwrap()
            .summary
            .title
    };
    let queue = stamped(post("post", 1, T1, "publish", "edited"), Some(r2), Some(7));
    assert_eq!(apply(&store, i, vec![queue]).await, ["applied"]);
    let full_sync = stamped(post("post", 1, T1, "publish", "before"), Some(r1), Some(6));
    assert_eq!(apply(&store, i, vec![full_sync.clone()]).await, ["stale"]);
    assert_eq!(title(store.clone()).await, "edited");
    assert_eq!(
        store
            .item_checksums(i, ItemKind::Post, "post", 0, 9)
            .await
            .unwrap(),
        vec![(1, 7)],
        "the held version's checksum"
    );
    // In one batch too: the second is checked against the first.
    let later = stamped(post("post", 1, T1, "publish", "later"), Some(r3), Some(8));
    assert_eq!(
        apply(&store, i, vec![later, full_sync.clone()]).await,
        ["applied", "stale"]
    );
    assert_eq!(title(store.clone()).await, "later");
    // A newer modified time wins whatever its read time; without read times, equal ones apply.
    let newer = stamped(post("post", 1, T2, "publish", "newer"), Some(r1), None);
    assert_eq!(apply(&store, i, vec![newer]).await, ["applied"]);
    assert_eq!(
        apply(&store, i, vec![post("post", 1, T2, "publish", "legacy")]).await,
        ["applied"]
    );
    let after_legacy = stamped(post("post", 1, T2, "publish", "stamped"), Some(r1), None);
    assert_eq!(apply(&store, i, vec![after_legacy]).await, ["applied"]);
    assert_eq!(title(store.clone()).await, "stamped");
    assert_eq!(
        store
            .item_checksums(i, ItemKind::Post, "post", 0, 9)
            .await
            .unwrap(),
        vec![(1, post_checksum(1, T2, "publish"))],
        "no checksum sent: the legacy one"
    );

    // Terms: the version read last wins; equal read times apply again.
    let genre = |name: &str, read_at: &str| {
        let mut t = term("genre", 3, 0, "sci-fi");
        t["data"]["name"] = json!(name);
        stamped(t, Some(read_at), Some(11))
    };
    assert_eq!(
        apply(&store, i, vec![genre("Edited", r2)]).await,
        ["applied"]
    );
    assert_eq!(apply(&store, i, vec![genre("Before", r1)]).await, ["stale"]);
    assert_eq!(
        apply(&store, i, vec![genre("Again", r2)]).await,
        ["applied"]
    );
    let names = |store: S| async move {
        store
            .terms_of_taxonomy(i, "genre")
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(names(store.clone()).await, ["Again"]);
    assert_eq!(
        store
            .checksum_buckets(i, ItemKind::Term, "genre", 10_000)
            .await
            .unwrap(),
        buckets([(3, 11)], 10_000)
    );
    // A batch of several terms: only the one read too early is stale (PostgreSQL's multi-row step).
    let mut other = term("genre", 4, 0, "fantasy");
    other["read_at"] = json!(r1);
    assert_eq!(
        apply(
            &store,
            i,
            vec![other, genre("Too early", r1), term("genre", 5, 0, "noir")]
        )
        .await,
        ["applied", "stale", "applied"]
    );
    assert_eq!(names(store.clone()).await.len(), 3);
}

pub async fn counts_and_lists_follow_the_rules(store: S) {
    let i = integration(&store, "ann@example.com").await;
    let before = Utc::now() - Duration::seconds(1);
    apply(
        &store,
        i,
        vec![
            post("post", 1, "2025-01-01 00:00:00", "publish", "oldest"),
            post("post", 2, "2025-03-01 00:00:00", "draft", "newest"),
            post("page", 3, "2025-02-01 00:00:00", "publish", "middle"),
            post(
                "page",
                4,
                "2025-02-01 00:00:00",
                "publish",
                "middle, higher id",
            ),
            term("category", 1, 0, "a"),
            term("category", 2, 1, "b"),
            term("post_tag", 9, 0, "t"),
        ],
    )
    .await;
    let page = store
        .list_content(i, ContentFilter::default(), 0, 100)
        .await
        .unwrap();
    assert_eq!(page.count, 4);
    assert_eq!(
        page.items.iter().map(|p| p.wp_id).collect::<Vec<_>>(),
        vec![2, 4, 3, 1],
        "newest first, ties by id"
    );
    let second = store
        .list_content(i, ContentFilter::default(), 1, 2)
        .await
        .unwrap();
    assert_eq!(
        (
            second.count,
            second.items.iter().map(|p| p.wp_id).collect::<Vec<_>>()
        ),
        (4, vec![4, 3])
    );
    let pages = store
        .list_content(
            i,
            ContentFilter {
                post_type: Some("page"),
                status: None,
            },
            0,
            100,
        )
        .await
        .unwrap();
    assert_eq!((pages.count, pages.items.len()), (2, 2));
    let drafts = store
        .list_content(
            i,
            ContentFilter {
                post_type: Some("post"),
                status: Some("draft"),
            },
            0,
            100,
        )
        .await
        .unwrap();
    assert_eq!(
        drafts
            .items
            .iter()
            .map(|p| p.title.as_str())
            .collect::<Vec<_>>(),
        vec!["newest"]
    );
    assert_eq!(
        store
            .list_content(i, ContentFilter::default(), 10, 100)
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    let counts = store.content_counts(i).await.unwrap();
    let summary: Vec<(ItemKind, &str, u64)> = counts
        .iter()
        .map(|c| (c.kind, c.type_name.as_str(), c.count))
        .collect();
    assert_eq!(
        summary,
        vec![
            (ItemKind::Post, "page", 2),
            (ItemKind::Post, "post", 2),
            (ItemKind::Term, "category", 2),
            (ItemKind::Term, "post_tag", 1)
        ]
    );
    for c in &counts {
        let at = c.last_synced_at.expect("a time");
        assert!(
            at >= before && at <= Utc::now() + Duration::seconds(1),
            "{c:?}"
        );
    }
    assert!(store
        .content_counts(integration(&store, "bob@example.com").await)
        .await
        .unwrap()
        .is_empty());
}

pub async fn pruning_keeps_enabled_types_up_to_their_max_id(store: S) {
    let i = integration(&store, "ann@example.com").await;
    apply(
        &store,
        i,
        (1..=5)
            .map(|id| post("post", id, T1, "publish", "x"))
            .chain([
                post("page", 6, T1, "publish", "x"),
                post("product", 7, T1, "publish", "x"),
            ])
            .collect(),
    )
    .await;
    apply(
        &store,
        i,
        vec![
            term("category", 1, 0, "a"),
            term("category", 50, 0, "b"),
            term("product_cat", 2, 0, "c"),
        ],
    )
    .await;
    let keep = [
        TypeBound {
            kind: ItemKind::Post,
            type_name: "post".into(),
            max_id: Some(3),
        },
        TypeBound {
            kind: ItemKind::Post,
            type_name: "page".into(),
            max_id: None,
        },
        TypeBound {
            kind: ItemKind::Term,
            type_name: "category".into(),
            max_id: Some(10),
        },
    ];
    assert_eq!(store.prune_content(i, &keep).await.unwrap(), 5);
    assert_eq!(ids(&store, i, None).await, vec![1, 2, 3, 6]);
    assert_eq!(
        store.terms_of_taxonomy(i, "category").await.unwrap().len(),
        1
    );
    assert!(store
        .terms_of_taxonomy(i, "product_cat")
        .await
        .unwrap()
        .is_empty());
}

pub async fn a_batch_is_all_or_nothing_when_its_caller_goes_away(store: S) {
    let i = integration(&store, "ann@example.com").await;
    let items: Vec<Value> = (1..=500)
        .map(|id| post("post", id, T1, "publish", &"long ".repeat(200)))
        .collect();
    let batch = Batch::parse(&json!({"items": items})).unwrap();
    let batch = Arc::new(batch);
    // Abandon the batch at different moments: what is held is always none or all of it.
    for delay_us in [0u64, 200, 1_000, 3_000, 10_000] {
        let (s, write) = (store.clone(), site_write(&store, i, batch.clone()).await);
        let task = tokio::spawn(async move { s.apply_site_batch(write).await });
        tokio::time::sleep(std::time::Duration::from_micros(delay_us)).await;
        task.abort();
        let _ = task.await;
        // Let an abandoned transaction roll back before counting.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let count = held(&store, i).await;
        assert!(
            count == 0 || count == 500,
            "a batch was half applied: {count} of 500 held"
        );
        if count == 500 {
            store.prune_content(i, &[]).await.unwrap();
        }
    }
    // Sending it again converges.
    for _ in 0..2 {
        let write = site_write(&store, i, batch.clone()).await;
        let outcome = store.apply_site_batch(write).await.unwrap();
        assert!(matches!(outcome, BatchOutcome::Applied(_)), "{outcome:?}");
    }
    assert_eq!(held(&store, i).await, 500);
}

pub async fn concurrent_batches_lose_nothing(store: S) {
    let i = integration(&store, "ann@example.com").await;
    let mut tasks = Vec::new();
    for k in 0..4i64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for chunk in 0..3i64 {
                let from = k * 300 + chunk * 100 + 1;
                let items: Vec<Value> = (from..from + 100).map(|id| post("post", id, T1, "publish", "x")).collect();
                apply_with(&store, i, items, Some(json!({"kind": "post", "type": "post", "from_id": from, "to_id": from + 99}))).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(held(&store, i).await, 1200);
}

/// Tombstones: a deletion is remembered, so a late (retried or out-of-order) upsert that is not
/// newer than the deletion does not bring the post back; a newer one does, and verification can
/// make the store forget a deletion WordPress contradicts.
pub async fn a_deleted_post_stays_deleted_when_an_older_upsert_arrives_late(store: S) {
    let i = integration(&store, "ann@example.com").await;
    let other = integration(&store, "bob@example.com").await;
    let delete = |id: i64, t: &str| json!({"op": "delete", "kind": "post", "type": "post", "wp_id": id, "modified_gmt": t});
    apply(&store, i, vec![post("post", 1, T1, "publish", "a")]).await;
    assert_eq!(apply(&store, i, vec![delete(1, T2)]).await, ["applied"]);
    // The upsert sent before the delete, delivered after it (a retry): stale, nothing held.
    assert_eq!(
        apply(&store, i, vec![post("post", 1, T1, "publish", "a")]).await,
        ["stale"]
    );
    assert_eq!(
        apply(&store, i, vec![post("post", 1, T2, "publish", "a")]).await,
        ["stale"],
        "a deletion wins a tie"
    );
    assert!(store.content_item(i, "post", 1).await.unwrap().is_none());
    // Another integration, and another type with the same id, are not buried.
    assert_eq!(
        apply(&store, other, vec![post("post", 1, T1, "publish", "a")]).await,
        ["applied"]
    );
    assert_eq!(
        apply(&store, i, vec![post("page", 1, T1, "publish", "a")]).await,
        ["applied"]
    );
    // A delete of something never held is remembered too; in one batch, items apply in order.
    assert_eq!(
        apply(
            &store,
            i,
            vec![
                delete(2, T2),
                post("post", 2, T1, "publish", "late"),
                post("post", 2, "2025-11-22 12:00:00", "publish", "new")
            ]
        )
        .await,
        ["applied", "stale", "applied"]
    );
    // A newer upsert brought 2 back and cleared its tombstone: its older re-delivery is stale by
    // the ordinary rule, and a delete older than what is held stays stale too.
    assert_eq!(apply(&store, i, vec![delete(2, T1)]).await, ["stale"]);
    assert_eq!(ids(&store, i, Some("post")).await, vec![2]);
    // Verification found WordPress has post 1 after all: forgetting lets its re-send apply.
    assert_eq!(store.forget_deletions(i, "post", &[1, 3]).await.unwrap(), 1);
    assert_eq!(
        apply(&store, i, vec![post("post", 1, T1, "publish", "a")]).await,
        ["applied"]
    );
    assert_eq!(ids(&store, i, Some("post")).await, vec![1, 2]);
}
