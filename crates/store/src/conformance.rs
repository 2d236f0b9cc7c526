//! The conformance suite: the same cases run against every `Store` implementation, so the SQLite
//! and PostgreSQL stores cannot drift apart. An implementation's tests call
//! `igny8_store::conformance_suite!(make_store)` where `make_store()` returns a fresh, migrated,
//! empty `Arc<dyn Store>`.

use std::sync::Arc;

use chrono::{Duration, SubsecRound, Utc};
use serde_json::{json, Value};

use igny8_domain::checksum::{buckets, post_checksum, term_checksum};
use igny8_domain::content::sync::{Refused, RunStatus, VerifyState};
use igny8_domain::content::{Batch, ItemKind, ItemOutcome};

use igny8_domain::api_key::hash_key;
use igny8_domain::structure::SiteStructure;

use crate::{
    ConfigUpdate, ContentFilter, LimitKey, NewApiKeyRow, NewUser, PushOutcome, PushRefusal,
    RefreshRotation, RotationOutcome, Store, StoreError, StructurePush, TypeBound,
};

/// Generates one `#[tokio::test]` per conformance case in the calling module.
#[macro_export]
macro_rules! conformance_suite {
    ($make:path) => {
        $crate::conformance_suite!(@cases $make;
            users_are_unique_by_email, users_are_found_by_email_and_id, sites_belong_to_their_account,
            site_activation_is_stored, api_keys_are_found_by_prefix_and_revoked_per_site,
            api_key_use_is_recorded, integrations_are_one_per_site_and_platform,
            config_changes_keep_other_keys, rejected_config_change_writes_nothing,
            concurrent_config_changes_lose_nothing, sync_outcome_is_recorded,
            server_secret_first_writer_wins, unicode_and_markup_are_stored_verbatim,
            content_upserts_are_idempotent_and_stored_verbatim, older_changes_are_stale_equal_ones_apply_again,
            trash_restore_and_delete_follow_wordpress, range_markers_delete_what_the_batch_lacks,
            content_is_isolated_per_integration, checksums_equal_the_domains,
            read_times_break_ties_and_the_plugins_checksums_are_kept,
            counts_and_lists_follow_the_rules, pruning_keeps_enabled_types_up_to_their_max_id,
            a_batch_is_all_or_nothing_when_its_caller_goes_away, concurrent_batches_lose_nothing,
            sync_state_steps_are_stored_and_refusals_write_nothing,
            range_markers_move_the_running_full_syncs_progress,
            a_deleted_post_stays_deleted_when_an_older_upsert_arrives_late,
            sessions_end_everywhere_at_once, sign_in_limits_count_per_key_within_the_window,
            sign_in_limits_hold_under_concurrent_attempts, only_one_first_user_however_many_race,
            structure_pushes_are_checked_then_applied, concurrent_structure_pushes_lose_nothing,
            concurrent_structure_pushes_are_each_decided_on_their_own,
            refresh_tokens_rotate_once_and_reuse_ends_the_family,
            racing_refreshes_of_one_token_let_one_through_and_end_the_family);
        $crate::conformance_suite!(@area $make; changes;
            changes_are_numbered_per_integration_and_keys_make_retries_safe,
            pending_changes_are_delivered_in_order_until_reported,
            outcomes_are_recorded_per_integration_and_over_a_late_cancellation,
            a_resolution_queues_the_next_change_in_the_same_step,
            receivers_are_replaced_and_nudges_recorded,
            concurrent_writers_and_pulls_skip_nothing_and_deliver_once_as_new);
        $crate::conformance_suite!(@area $make; site_url;
            the_first_reported_address_is_adopted_and_kept,
            racing_first_reports_adopt_exactly_one_address,
            a_copys_address_is_recorded_until_a_move_forgets_it,
            structure_pushes_adopt_an_address_and_refuse_another,
            racing_pushes_from_two_addresses_adopt_one_and_refuse_the_other);
    };
    (@cases $make:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::$case($make().await).await;
            }
        )*
    };
    (@area $make:path; $area:ident; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::conformance::$area::$case($make().await).await;
            }
        )*
    };
}

pub mod changes;
pub mod site_url;

type S = Arc<dyn Store>;

async fn user(store: &S, email: &str) -> crate::User {
    store
        .create_user_with_account(NewUser {
            email,
            password_hash: "$argon2id$fake",
            account_name: "Acme",
        })
        .await
        .expect("create user")
}

/// A fresh account, site and wordpress integration; answers the integration's id.
async fn integration(store: &S, email: &str) -> i64 {
    let u = user(store, email).await;
    let site = store
        .create_site(u.account_id, "Blog", "https://a.example")
        .await
        .unwrap();
    store
        .ensure_integration(site.id, "wordpress")
        .await
        .unwrap()
        .0
        .id
}

pub async fn users_are_unique_by_email(store: S) {
    assert_eq!(store.count_users().await.unwrap(), 0);
    let ann = user(&store, "ann@example.com").await;
    assert_eq!(ann.email, "ann@example.com");
    let again = store
        .create_user_with_account(NewUser {
            email: "ann@example.com",
            password_hash: "x",
            account_name: "Other",
        })
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let bob = user(&store, "bob@example.com").await;
    assert_ne!(
        ann.account_id, bob.account_id,
        "each sign-up gets its own account"
    );
    assert_eq!(store.count_users().await.unwrap(), 2);
}

pub async fn users_are_found_by_email_and_id(store: S) {
    let ann = user(&store, "ann@example.com").await;
    assert_eq!(
        store.user_by_email("ann@example.com").await.unwrap(),
        Some(ann.clone())
    );
    assert_eq!(store.user_by_id(ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(
        store.user_by_email("nobody@example.com").await.unwrap(),
        None
    );
    assert_eq!(store.user_by_id(ann.id + 1000).await.unwrap(), None);
    assert_eq!(ann.password_hash, "$argon2id$fake");
    // A hostile lookup is just a string that matches nobody.
    assert_eq!(store.user_by_email("' OR 1=1 --").await.unwrap(), None);
}

pub async fn sites_belong_to_their_account(store: S) {
    let ann = user(&store, "ann@example.com").await;
    let bob = user(&store, "bob@example.com").await;
    let a1 = store
        .create_site(ann.account_id, "Blog", "https://a.example")
        .await
        .unwrap();
    let a2 = store
        .create_site(ann.account_id, "Shop", "https://shop.a.example")
        .await
        .unwrap();
    let b1 = store
        .create_site(bob.account_id, "Bob", "https://b.example")
        .await
        .unwrap();
    assert!(a1.is_active);
    let ann_sites = store.sites_of_account(ann.account_id).await.unwrap();
    assert_eq!(
        ann_sites.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![a1.id, a2.id]
    );
    assert_eq!(
        store.sites_of_account(bob.account_id).await.unwrap(),
        vec![b1.clone()]
    );
    assert_eq!(store.site(b1.id).await.unwrap(), Some(b1));
    assert_eq!(store.site(9_999_999).await.unwrap(), None);
}

pub async fn site_activation_is_stored(store: S) {
    let ann = user(&store, "ann@example.com").await;
    let site = store
        .create_site(ann.account_id, "Blog", "https://a.example")
        .await
        .unwrap();
    assert!(
        !store
            .set_site_active(site.id, false)
            .await
            .unwrap()
            .is_active
    );
    assert!(!store.site(site.id).await.unwrap().unwrap().is_active);
    assert!(
        store
            .set_site_active(site.id, true)
            .await
            .unwrap()
            .is_active
    );
    assert!(matches!(
        store.set_site_active(9_999_999, true).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn api_keys_are_found_by_prefix_and_revoked_per_site(store: S) {
    let ann = user(&store, "ann@example.com").await;
    let site = store
        .create_site(ann.account_id, "Blog", "https://a.example")
        .await
        .unwrap();
    let other = store
        .create_site(ann.account_id, "Other", "https://o.example")
        .await
        .unwrap();
    let key = store
        .create_api_key(NewApiKeyRow {
            site_id: site.id,
            prefix: "abcd1234",
            hash: "h1",
            label: "prod",
        })
        .await
        .unwrap();
    store
        .create_api_key(NewApiKeyRow {
            site_id: site.id,
            prefix: "efgh5678",
            hash: "h2",
            label: "",
        })
        .await
        .unwrap();
    assert_eq!(key.label, "prod");
    assert_eq!(key.revoked_at, None);
    assert_eq!(
        store.api_key_by_prefix("abcd1234").await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(store.api_key_by_prefix("zzzz0000").await.unwrap(), None);
    assert_eq!(store.api_keys_of_site(site.id).await.unwrap().len(), 2);
    assert!(store.api_keys_of_site(other.id).await.unwrap().is_empty());
    // Another site cannot revoke it; the owner can, twice, and the first time stays.
    assert!(matches!(
        store.revoke_api_key(other.id, "abcd1234", Utc::now()).await,
        Err(StoreError::NotFound)
    ));
    let at = Utc::now().trunc_subsecs(0);
    let revoked = store.revoke_api_key(site.id, "abcd1234", at).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(at));
    let again = store
        .revoke_api_key(site.id, "abcd1234", at + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(again.revoked_at, Some(at));
    assert_eq!(
        store
            .api_key_by_prefix("abcd1234")
            .await
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(at)
    );
    let dup = store
        .create_api_key(NewApiKeyRow {
            site_id: site.id,
            prefix: "abcd1234",
            hash: "h3",
            label: "",
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
}

pub async fn api_key_use_is_recorded(store: S) {
    let ann = user(&store, "ann@example.com").await;
    let site = store
        .create_site(ann.account_id, "Blog", "https://a.example")
        .await
        .unwrap();
    let key = store
        .create_api_key(NewApiKeyRow {
            site_id: site.id,
            prefix: "abcd1234",
            hash: "h1",
            label: "",
        })
        .await
        .unwrap();
    assert_eq!(key.last_used_at, None);
    let at = Utc::now().trunc_subsecs(0);
    store.touch_api_key(key.id, at).await.unwrap();
    assert_eq!(
        store
            .api_key_by_prefix("abcd1234")
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(at)
    );
}

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
    assert_eq!(first.sync_status, "never");
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

pub async fn sync_outcome_is_recorded(store: S) {
    let id = integration(&store, "ann@example.com").await;
    let integration = store.integration(id).await.unwrap().unwrap();
    let at = Utc::now().trunc_subsecs(0);
    store
        .record_integration_sync(integration.id, "failed", at, Some("backend said no"))
        .await
        .unwrap();
    let i = store.integration(integration.id).await.unwrap().unwrap();
    assert_eq!(
        (
            i.sync_status.as_str(),
            i.last_sync_at,
            i.last_error.as_deref()
        ),
        ("failed", Some(at), Some("backend said no"))
    );
    store
        .record_integration_sync(integration.id, "success", at, None)
        .await
        .unwrap();
    let i = store.integration(integration.id).await.unwrap().unwrap();
    assert_eq!((i.sync_status.as_str(), i.last_error), ("success", None));
}

pub async fn server_secret_first_writer_wins(store: S) {
    let first = store.server_secret("jwt", "one".into()).await.unwrap();
    let second = store.server_secret("jwt", "two".into()).await.unwrap();
    assert_eq!((first.as_str(), second.as_str()), ("one", "one"));
    assert_eq!(
        store.server_secret("other", "three".into()).await.unwrap(),
        "three"
    );
}

pub async fn unicode_and_markup_are_stored_verbatim(store: S) {
    let ann = user(&store, "ann@example.com").await;
    let name = "Ünïcødé 日本語 <img src=x onerror=alert(1)> '; DROP TABLE sites; --";
    let site = store
        .create_site(ann.account_id, name, "https://a.example")
        .await
        .unwrap();
    assert_eq!(store.site(site.id).await.unwrap().unwrap().name, name);
    let (integration, _) = store
        .ensure_integration(site.id, "wordpress")
        .await
        .unwrap();
    let label = json!({"label": name, "emoji": "🚀"});
    let l2 = label.clone();
    store
        .update_integration_config(integration.id, &move |_| Ok(l2.clone()))
        .await
        .unwrap();
    assert_eq!(
        store
            .integration(integration.id)
            .await
            .unwrap()
            .unwrap()
            .config_json,
        label
    );
}

// ---------------------------------------------------------------- content sync

fn post(ty: &str, id: i64, modified: &str, status: &str, title: &str) -> Value {
    json!({"op": "upsert", "kind": "post", "type": ty, "wp_id": id, "modified_gmt": modified,
           "data": {"title": title, "slug": format!("p-{id}"), "status": status, "content": format!("<p>{title}</p>"),
                    "excerpt": "", "author": "Ann", "url": format!("https://a.example/p-{id}/"),
                    "terms": {"category": [1]}, "seo": {"title": title, "source": "yoast"}, "meta": {"n": id}}})
}

fn term(taxonomy: &str, id: i64, parent: i64, slug: &str) -> Value {
    json!({"op": "upsert", "kind": "term", "type": taxonomy, "wp_id": id,
           "data": {"name": slug.to_uppercase(), "slug": slug, "parent": parent, "count": 1, "description": ""}})
}

const T1: &str = "2025-11-22 10:00:00";
const T2: &str = "2025-11-22 11:00:00";

async fn apply_with(
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
    store
        .apply_content_batch(integration_id, batch, Utc::now())
        .await
        .expect("batch applies")
        .iter()
        .map(|o| match o {
            ItemOutcome::Rejected(why) => format!("rejected: {why}"),
            o => o.status().to_owned(),
        })
        .collect()
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
    let count = |counts: &[crate::TypeCount], name: &str| {
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
        let (s, b) = (store.clone(), batch.clone());
        let task = tokio::spawn(async move { s.apply_content_batch(i, b, Utc::now()).await });
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
    store
        .apply_content_batch(i, batch.clone(), Utc::now())
        .await
        .unwrap();
    store
        .apply_content_batch(i, batch.clone(), Utc::now())
        .await
        .unwrap();
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

pub async fn sessions_end_everywhere_at_once(store: S) {
    let ann = user(&store, "ann@example.com").await;
    let bob = user(&store, "bob@example.com").await;
    assert_eq!(ann.session_epoch, 0);
    assert_eq!(store.end_sessions(ann.id).await.unwrap(), 1);
    assert_eq!(store.end_sessions(ann.id).await.unwrap(), 2);
    assert_eq!(
        store
            .user_by_id(ann.id)
            .await
            .unwrap()
            .unwrap()
            .session_epoch,
        2
    );
    assert_eq!(
        store
            .user_by_email("ann@example.com")
            .await
            .unwrap()
            .unwrap()
            .session_epoch,
        2
    );
    assert_eq!(
        store
            .user_by_id(bob.id)
            .await
            .unwrap()
            .unwrap()
            .session_epoch,
        0,
        "another user's sessions go on"
    );
    assert!(matches!(
        store.end_sessions(999_999).await,
        Err(StoreError::NotFound)
    ));
}

/// Starts `n` racers at once; answers how many of them won.
async fn winners<F, Fut>(n: usize, racer: F) -> usize
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let racing: Vec<_> = (0..n).map(|i| tokio::spawn(racer(i))).collect();
    let mut won = 0;
    for task in racing {
        if task.await.unwrap() {
            won += 1;
        }
    }
    won
}

fn limits<'a>(email: &'a str, ip: &'a str) -> [LimitKey<'a>; 2] {
    [
        LimitKey {
            key: email,
            limit: 3,
        },
        LimitKey { key: ip, limit: 10 },
    ]
}

pub async fn sign_in_limits_count_per_key_within_the_window(store: S) {
    let window = std::time::Duration::from_secs(60);
    let t0 = Utc::now();
    let attempt = |keys: [LimitKey<'static>; 2], at| {
        let store = store.clone();
        async move { store.record_login_attempt(&keys, window, at).await.unwrap() }
    };
    for _ in 0..3 {
        assert_eq!(attempt(limits("email:ann", "ip:1"), t0).await, None);
    }
    assert_eq!(
        attempt(limits("email:ann", "ip:1"), t0 + Duration::seconds(10)).await,
        Some(std::time::Duration::from_secs(50)),
        "the fourth waits until the first leaves the window"
    );
    // The refused attempt was not recorded: the address has 3 attempts, not 4.
    for n in 0..7 {
        assert_eq!(
            attempt(limits(["email:b", "email:c", "email:d"][n % 3], "ip:1"), t0).await,
            None
        );
    }
    assert!(
        attempt(limits("email:e", "ip:1"), t0).await.is_some(),
        "the address is at its limit of 10"
    );
    assert_eq!(attempt(limits("email:e", "ip:2"), t0).await, None);
    assert_eq!(
        attempt(limits("email:ann", "ip:3"), t0 + Duration::seconds(61)).await,
        None,
        "attempts leave the window"
    );
}

pub async fn sign_in_limits_hold_under_concurrent_attempts(store: S) {
    let window = std::time::Duration::from_secs(60);
    let now = Utc::now();
    let allowed = winners(20, |n| {
        let store = store.clone();
        async move {
            let ip = format!("ip:{n}");
            store
                .record_login_attempt(&limits("email:ann", &ip), window, now)
                .await
                .unwrap()
                .is_none()
        }
    })
    .await;
    assert_eq!(allowed, 3, "exactly the limit gets through");
}

pub async fn only_one_first_user_however_many_race(store: S) {
    let created = winners(10, |n| {
        let store = store.clone();
        async move {
            let email = format!("racer{n}@example.com");
            store
                .create_first_user(NewUser {
                    email: &email,
                    password_hash: "$argon2id$fake",
                    account_name: "Acme",
                })
                .await
                .unwrap()
                .is_some()
        }
    })
    .await;
    assert_eq!(created, 1, "exactly one setup wins");
    assert_eq!(store.count_users().await.unwrap(), 1);
    let later = store
        .create_first_user(NewUser {
            email: "late@example.com",
            password_hash: "$argon2id$fake",
            account_name: "Acme",
        })
        .await
        .unwrap();
    assert!(later.is_none());
    // Ordinary creation is not limited.
    user(&store, "ann@example.com").await;
    assert_eq!(store.count_users().await.unwrap(), 2);
}

/// A site's structure push as the API makes it, with the key `secret` (prefix `prefix`).
fn structure_push(
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

/// A key for `site_id` with prefix `prefix`; answers its secret.
async fn site_key(store: &S, site_id: i64, prefix: &str) -> String {
    let secret = format!("igny8_{prefix}_{}", "s".repeat(40));
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

/// Presents refresh token `presented` of `family` for `next`, valid for an hour from `now`.
async fn rotate(
    store: &S,
    user_id: i64,
    (family, presented, next): (&str, &str, &str),
    now: chrono::DateTime<Utc>,
) -> RotationOutcome {
    store
        .rotate_refresh_token(RefreshRotation {
            family,
            presented,
            next,
            user_id,
            expires_at: now + Duration::hours(1),
            now,
        })
        .await
        .expect("rotate")
}

pub async fn refresh_tokens_rotate_once_and_reuse_ends_the_family(store: S) {
    use RotationOutcome::{Reused, Rotated};
    let ann = user(&store, "ann@example.com").await.id;
    let bob = user(&store, "bob@example.com").await.id;
    let now = Utc::now();
    // The sign-in's token (its id is the family's) is current until spent, then its successor.
    assert_eq!(rotate(&store, ann, ("f", "f", "a"), now).await, Rotated);
    assert_eq!(rotate(&store, ann, ("f", "a", "b"), now).await, Rotated);
    // `a` again: someone kept a copy. The family ends: even its current token `b` is refused.
    assert_eq!(rotate(&store, ann, ("f", "a", "c"), now).await, Reused);
    assert_eq!(rotate(&store, ann, ("f", "b", "d"), now).await, Reused);
    assert_eq!(rotate(&store, ann, ("f", "f", "e"), now).await, Reused);
    // Other families (other sign-ins, other users) go on.
    assert_eq!(rotate(&store, ann, ("g", "g", "h"), now).await, Rotated);
    assert_eq!(rotate(&store, bob, ("k", "k", "l"), now).await, Rotated);
    assert_eq!(rotate(&store, bob, ("k", "l", "m"), now).await, Rotated);
    // A token the store never issued into a family it knows, or another user's family.
    assert_eq!(rotate(&store, ann, ("x", "y", "z"), now).await, Reused);
    assert_eq!(rotate(&store, ann, ("k", "m", "n"), now).await, Reused);
    assert_eq!(
        rotate(&store, bob, ("k", "m", "o"), now).await,
        Reused,
        "ann's attempt ended bob's family"
    );
    // A family is forgotten once its last token expired (that token is refused before the store).
    let later = now + Duration::hours(2);
    assert_eq!(rotate(&store, ann, ("g", "h", "i"), later).await, Reused);
    assert_eq!(rotate(&store, ann, ("f", "f", "p"), later).await, Rotated);
}

pub async fn racing_refreshes_of_one_token_let_one_through_and_end_the_family(store: S) {
    let ann = user(&store, "ann@example.com").await.id;
    let now = Utc::now();
    let racers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let next = format!("next{i}");
                (
                    next.clone(),
                    rotate(&store, ann, ("f", "f", &next), now).await,
                )
            })
        })
        .collect();
    let mut through = Vec::new();
    for racer in racers {
        let (next, outcome) = racer.await.unwrap();
        if outcome == RotationOutcome::Rotated {
            through.push(next);
        }
    }
    assert_eq!(through.len(), 1, "{through:?}");
    // The others were reuses: the winner's token is refused too.
    assert_eq!(
        rotate(&store, ann, ("f", &through[0], "after"), now).await,
        RotationOutcome::Reused
    );
}
