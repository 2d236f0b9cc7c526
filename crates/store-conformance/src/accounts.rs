//! Conformance cases of accounts, users, sites, API keys and server secrets: uniqueness,
//! lookups, revocation per site, and text stored verbatim.

use chrono::{Duration, SubsecRound, Utc};
use serde_json::json;

use igny8_store::{NewApiKeyRow, NewUser, StoreError};

use crate::{user, S};

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
