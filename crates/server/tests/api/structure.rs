use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, seed_structure, TestApp};

#[tokio::test]
async fn the_seed_push_answers_and_stores_as_the_seed_defines() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    // A key some other feature keeps in config_json survives the push.
    app.store
        .update_integration_config(fx.integration_id, &|mut c| {
            c["webhook_secret_name"] = json!("kept");
            Ok(c)
        })
        .await
        .unwrap();
    let (s, b) = app.push_structure(&fx, seed_structure()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["success"], true);
    let data = &b["data"];
    assert_eq!(data["message"], "Site structure updated successfully");
    assert_eq!(
        (
            data["post_types_count"].as_u64(),
            data["taxonomies_count"].as_u64()
        ),
        (Some(3), Some(3))
    );
    assert_eq!(data["last_structure_fetch"], "2025-11-22T10:00:00Z");
    assert_eq!(
        data["content_types"]["post_types"]["product"]["enabled"],
        false
    );

    let config = app.config_json(fx.integration_id).await;
    let seed = seed_structure();
    assert_eq!(config["content_types"]["post_types"], seed["post_types"]);
    assert_eq!(config["content_types"]["taxonomies"], seed["taxonomies"]);
    assert_eq!(config["last_structure_fetch"], "2025-11-22T10:00:00Z");
    assert_eq!(config["plugin_connection_enabled"], true);
    assert_eq!(config["two_way_sync_enabled"], true);
    assert_eq!(config["webhook_secret_name"], "kept");
}

#[tokio::test]
async fn content_types_are_empty_before_the_first_push_then_list_the_structure() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let path = format!(
        "/api/v1/integration/integrations/{}/content-types/",
        fx.integration_id
    );
    let (s, b) = app.get(&path, Some(&fx.key)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b["data"],
        json!({"post_types": {}, "taxonomies": {}, "last_structure_fetch": null, "plugin_connection_enabled": false, "two_way_sync_enabled": false})
    );
    app.push_structure(&fx, seed_structure()).await;
    let jwt = app.login("ann@example.com").await;
    let (s, b) = app.get(&path, Some(&jwt)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        b["data"]["post_types"]["post"],
        json!({"label": "Posts", "count": 123, "enabled": true, "fetch_limit": 100, "synced_count": 0, "last_synced_at": null})
    );
    assert_eq!(
        b["data"]["taxonomies"]["product_cat"]["label"],
        "Product Categories"
    );
    assert_eq!(b["data"]["last_structure_fetch"], "2025-11-22T10:00:00Z");
    assert_eq!(b["data"]["plugin_connection_enabled"], true);
}

#[tokio::test]
async fn structure_push_keeps_platform_owned_settings() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    app.push_structure(&fx, seed_structure()).await;
    let jwt = app.login("ann@example.com").await;
    let path = format!(
        "/api/v1/integration/integrations/{}/content-types/",
        fx.integration_id
    );
    let (s, b) = app
        .patch(&path, Some(&jwt), json!({"post_types": {"product": {"enabled": true, "fetch_limit": 500}}, "taxonomies": {"post_tag": {"enabled": false}}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["post_types"]["product"]["fetch_limit"], 500);
    // The plugin pushes its own defaults again; the answer tells it the platform's choice.
    let (s, b) = app.push_structure(&fx, seed_structure()).await;
    assert_eq!(s, StatusCode::OK);
    let types = &b["data"]["content_types"];
    assert_eq!(
        (
            types["post_types"]["product"]["enabled"].as_bool(),
            types["post_types"]["product"]["fetch_limit"].as_u64()
        ),
        (Some(true), Some(500))
    );
    assert_eq!(types["taxonomies"]["post_tag"]["enabled"], false);
    assert_eq!(types["post_types"]["post"]["enabled"], true);
}

#[tokio::test]
async fn settings_changes_are_checked() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    app.push_structure(&fx, seed_structure()).await;
    let jwt = app.login("ann@example.com").await;
    let path = format!(
        "/api/v1/integration/integrations/{}/content-types/",
        fx.integration_id
    );
    let before = app.config_json(fx.integration_id).await;
    let (s, b) = app
        .patch(
            &path,
            Some(&jwt),
            json!({"post_types": {"book": {"enabled": true}, "post": {"enabled": false}}}),
        )
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert!(b["errors"]["post_types.book"].is_array(), "{b}");
    let (s, b) = app
        .patch(
            &path,
            Some(&jwt),
            json!({"post_types": {"post": {"fetch_limit": 0, "enabled": "yes"}}}),
        )
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert!(
        b["errors"]["post_types.post.fetch_limit"].is_array()
            && b["errors"]["post_types.post.enabled"].is_array(),
        "{b}"
    );
    assert_eq!(
        app.config_json(fx.integration_id).await,
        before,
        "a refused change writes nothing"
    );
    // A site's key reports what exists; it does not decide what the platform syncs.
    let (s, b) = app
        .patch(
            &path,
            Some(&fx.key),
            json!({"post_types": {"post": {"enabled": false}}}),
        )
        .await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn settings_of_an_inactive_site_cannot_change() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    app.push_structure(&fx, seed_structure()).await;
    let jwt = app.login("ann@example.com").await;
    let path = format!(
        "/api/v1/integration/integrations/{}/content-types/",
        fx.integration_id
    );
    app.store.set_site_active(fx.site.id, false).await.unwrap();
    let before = app.config_json(fx.integration_id).await;
    let (s, b) = app
        .patch(
            &path,
            Some(&jwt),
            json!({"post_types": {"post": {"enabled": false}}}),
        )
        .await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "site_inactive");
    assert_eq!(app.config_json(fx.integration_id).await, before);
    // Reading stays allowed, as for every inactive site.
    let (s, _) = app.get(&path, Some(&jwt)).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn repeated_identical_pushes_are_idempotent() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let (_, first) = app.push_structure(&fx, seed_structure()).await;
    let config = app.config_json(fx.integration_id).await;
    for _ in 0..3 {
        let (s, again) = app.push_structure(&fx, seed_structure()).await;
        assert_eq!((s, &again), (StatusCode::OK, &first));
    }
    assert_eq!(app.config_json(fx.integration_id).await, config);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pushes_and_setting_changes_lose_nothing() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let fx = app.fixture("ann@example.com").await;
    app.push_structure(&fx, seed_structure()).await;
    let jwt = app.login("ann@example.com").await;
    let mut tasks = Vec::new();
    for i in 0..20u64 {
        let (app, fx, jwt) = (app.clone(), fx.clone(), jwt.clone());
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let mut body = seed_structure();
                body["post_types"]["post"]["count"] = json!(1000 + i);
                app.push_structure(&fx, body).await.0
            } else {
                let path = format!(
                    "/api/v1/integration/integrations/{}/content-types/",
                    fx.integration_id
                );
                let change = if i == 1 {
                    json!({"post_types": {"product": {"enabled": true}}})
                } else {
                    json!({"taxonomies": {"category": {"fetch_limit": 100 + i}}})
                };
                app.patch(&path, Some(&jwt), change).await.0
            }
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let config = app.config_json(fx.integration_id).await;
    assert_eq!(
        config["platform_settings"]["post_types"]["product"]["enabled"], true,
        "{config}"
    );
    assert!(
        config["platform_settings"]["taxonomies"]["category"]["fetch_limit"]
            .as_u64()
            .unwrap()
            > 100
    );
    assert_eq!(
        config["content_types"]["post_types"]["product"]["enabled"], true,
        "the platform's change survives every push"
    );
    assert!(
        config["content_types"]["post_types"]["post"]["count"]
            .as_u64()
            .unwrap()
            >= 1000
    );
}

#[tokio::test]
async fn a_users_push_answers_as_a_sites_push_does() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let (s, by_key) = app.push_structure(&fx, seed_structure()).await;
    assert_eq!(s, StatusCode::OK, "{by_key}");
    let by_key_config = app.config_json(fx.integration_id).await;
    let token = app.login("ann@example.com").await;
    let (s, by_user) = app
        .post(
            &format!(
                "/api/v1/integration/integrations/{}/update-structure/",
                fx.integration_id
            ),
            Some(&token),
            seed_structure(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{by_user}");
    assert_eq!(by_user, by_key);
    assert_eq!(app.config_json(fx.integration_id).await, by_key_config);
}

/// A push is checked in the order the API documents, whatever else is wrong with it: the key,
/// then the integration, then the site, then the body.
#[tokio::test]
async fn push_errors_come_in_order_credentials_integration_site_body() {
    let app = TestApp::spawn().await;
    let ann = app.fixture("ann@example.com").await;
    let bob = app.fixture("bob@example.com").await;
    let unknown_key = format!("igny8_zzzzzzzz_{}", "z".repeat(40));
    let invalid = json!({"post_types": {"Bad Name": {}}, "taxonomies": []});
    let push = |id: i64, key: String, body: &str| {
        let req = app
            .client
            .post(app.url(&format!(
                "/api/v1/integration/integrations/{id}/update-structure/"
            )))
            .header("content-type", "application/json")
            .body(body.to_owned());
        let app = &app;
        async move { app.send(req, Some(&key)).await }
    };
    let (invalid, seed) = (invalid.to_string(), seed_structure().to_string());

    for body in ["{", &invalid, &seed] {
        let (s, b) = push(ann.integration_id, unknown_key.clone(), body).await;
        assert_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
        let (s, b) = push(bob.integration_id, ann.key.clone(), body).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
        let (s, b) = push(bob.integration_id + 1_000, ann.key.clone(), body).await;
        assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    }
    app.store.set_site_active(ann.site.id, false).await.unwrap();
    for body in ["{", &invalid] {
        let (s, b) = push(ann.integration_id, ann.key.clone(), body).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "site_inactive");
    }
    app.store.set_site_active(ann.site.id, true).await.unwrap();
    let (s, b) = push(ann.integration_id, ann.key.clone(), "{").await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "malformed_json");
    let (s, b) = push(ann.integration_id, ann.key.clone(), &invalid).await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert!(b["errors"]["post_types.Bad Name"].is_array(), "{b}");
    assert!(b["errors"]["taxonomies"].is_array(), "{b}");
    assert_eq!(
        app.config_json(ann.integration_id)
            .await
            .get("content_types"),
        None
    );
}
