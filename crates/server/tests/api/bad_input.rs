use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, seed_structure, TestApp};

#[tokio::test]
async fn malformed_json_is_400_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    app.push_structure(&fx, seed_structure()).await;
    let before = app.config_json(fx.integration_id).await;
    let url = app.url(&format!(
        "/api/v1/integration/integrations/{}/update-structure/",
        fx.integration_id
    ));
    for body in [
        "",
        "{",
        "{\"post_types\": }",
        "nul",
        "[1,2",
        &"[".repeat(10_000),
    ] {
        let req = app
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_owned());
        let (s, b) = app.send(req, Some(&fx.key)).await;
        assert_error(s, &b, StatusCode::BAD_REQUEST, "malformed_json");
    }
    let req = app
        .client
        .post(&url)
        .header("content-type", "application/json")
        .body(vec![0xff, 0xfe, b'{']);
    let (s, b) = app.send(req, Some(&fx.key)).await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "malformed_json");
    let req = app
        .client
        .post(&url)
        .header("content-type", "text/plain")
        .body("{}");
    let (s, b) = app.send(req, Some(&fx.key)).await;
    assert_error(
        s,
        &b,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    assert_eq!(app.config_json(fx.integration_id).await, before);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let mut body = seed_structure();
    body["padding"] = json!("x".repeat(2 * 1024 * 1024));
    let (s, b) = app.push_structure(&fx, body).await;
    assert_error(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[tokio::test]
async fn invalid_pushes_are_422_with_field_paths_and_change_nothing() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    app.push_structure(&fx, seed_structure()).await;
    let before = app.config_json(fx.integration_id).await;
    let mut body = seed_structure();
    body["post_types"]["post"]["count"] = json!(-5);
    body["post_types"]["page"]["count"] = json!("12");
    body["post_types"]["a_post_type_name_too_long"] =
        json!({"label": "x", "count": 1, "enabled": true, "fetch_limit": 1});
    body["post_types"]["../etc"] =
        json!({"label": "x", "count": 1, "enabled": true, "fetch_limit": 1});
    body["taxonomies"]["category"]["label"] = json!("x".repeat(5000));
    body["taxonomies"]["post_tag"]["fetch_limit"] = json!(1e12);
    body["taxonomies"]["product_cat"]["enabled"] = json!(null);
    body["two_way_sync_enabled"] = json!("true");
    let (s, b) = app.push_structure(&fx, body).await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    let errors = b["errors"].as_object().unwrap();
    for path in [
        "post_types.post.count",
        "post_types.page.count",
        "post_types.a_post_type_name_too_long",
        "post_types.../etc",
        "taxonomies.category.label",
        "taxonomies.post_tag.fetch_limit",
        "taxonomies.product_cat.enabled",
        "two_way_sync_enabled",
    ] {
        assert!(errors.contains_key(path), "{path} missing from {b}");
    }
    for body in [
        json!({}),
        json!([]),
        json!("x"),
        json!({"post_types": [], "taxonomies": {}}),
        json!({"post_types": {}, "taxonomies": {"post_tag": 5}}),
    ] {
        let (s, b) = app.push_structure(&fx, body.clone()).await;
        assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    }
    let many: serde_json::Map<String, serde_json::Value> = (0..1500)
        .map(|i| {
            (
                format!("t{i}"),
                json!({"label": "x", "count": 1, "enabled": true, "fetch_limit": 1}),
            )
        })
        .collect();
    let (s, b) = app
        .push_structure(&fx, json!({"post_types": many, "taxonomies": {}}))
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert_eq!(app.config_json(fx.integration_id).await, before);
}

#[tokio::test]
async fn unknown_fields_are_ignored_and_hostile_labels_kept_verbatim() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let label = "<img src=x onerror=alert(1)> Ünïcødé 日本語 \"quoted\" '; DROP TABLE sites; -- 🚀";
    let mut body = seed_structure();
    body["post_types"]["product"]["label"] = json!(label);
    body["post_types"]["product"]["menu_icon"] = json!("dashicons-cart");
    body["plugin_version"] = json!("9.9.9");
    let (s, b) = app.push_structure(&fx, body).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let url = app.url(&format!(
        "/api/v1/integration/integrations/{}/content-types/",
        fx.integration_id
    ));
    let response = app
        .client
        .get(&url)
        .bearer_auth(&fx.key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let b: serde_json::Value = response.json().await.unwrap();
    assert_eq!(b["data"]["post_types"]["product"]["label"], label);
    assert!(b["data"]["post_types"]["product"]
        .get("menu_icon")
        .is_none());
    let config = app.config_json(fx.integration_id).await;
    assert!(config.get("plugin_version").is_none());
}
