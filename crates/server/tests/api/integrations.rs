use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, seed_structure, TestApp};

#[tokio::test]
async fn creating_the_integration_twice_answers_the_same_one() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let (s, b) = app
        .post(
            "/api/v1/integration/integrations/",
            Some(&fx.key),
            json!({"site": fx.site.id, "platform": "wordpress"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["id"], fx.integration_id);
    assert_eq!(b["data"]["site"], fx.site.id);
    assert_eq!(b["data"]["platform"], "wordpress");
    let (s, b) = app
        .get(
            &format!("/api/v1/integration/integrations/?site={}", fx.site.id),
            Some(&fx.key),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"].as_array().unwrap().len(), 1);
    assert_eq!(b["data"][0]["id"], fx.integration_id);
    let (s, b) = app
        .get(
            &format!("/api/v1/integration/integrations/{}/", fx.integration_id),
            Some(&fx.key),
        )
        .await;
    assert_eq!(
        (s, &b["data"]["id"]),
        (StatusCode::OK, &json!(fx.integration_id))
    );
}

#[tokio::test]
async fn a_site_without_integration_lists_none() {
    let app = TestApp::spawn().await;
    let ann = app.user("ann@example.com").await;
    let site = app.site(ann.account_id).await;
    let key = app.key(site.id).await;
    let (s, b) = app
        .get(
            &format!("/api/v1/integration/integrations/?site={}", site.id),
            Some(&key),
        )
        .await;
    assert_eq!((s, b["data"].clone()), (StatusCode::OK, json!([])));
    let (s, b) = app
        .get("/api/v1/integration/integrations/", Some(&key))
        .await;
    assert_eq!((s, b["data"].clone()), (StatusCode::OK, json!([])));
}

#[tokio::test]
async fn tenants_never_reach_each_other() {
    let app = TestApp::spawn().await;
    let ann = app.fixture("ann@example.com").await;
    let bob = app.fixture("bob@example.com").await;
    app.push_structure(&ann, seed_structure()).await;
    let bob_jwt = app.login("bob@example.com").await;
    let ann_site = ann.site.id;
    let ann_int = ann.integration_id;
    for token in [bob.key.as_str(), bob_jwt.as_str()] {
        for path in [
            format!("/api/v1/integration/integrations/{ann_int}/"),
            format!("/api/v1/integration/integrations/{ann_int}/content-types/"),
            format!("/api/v1/integration/integrations/?site={ann_site}"),
        ] {
            let (s, b) = app.get(&path, Some(token)).await;
            assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
            assert!(
                !b.to_string().contains("Products"),
                "no data of another tenant: {b}"
            );
        }
        let (s, b) = app
            .push_structure(
                &crate::helpers::Fixture {
                    key: token.to_owned(),
                    ..ann.clone()
                },
                json!({"post_types": {}, "taxonomies": {}}),
            )
            .await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
        let (s, b) = app
            .post(
                "/api/v1/integration/integrations/",
                Some(token),
                json!({"site": ann_site}),
            )
            .await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
    }
    // Ann's structure is untouched by Bob's attempts.
    assert_eq!(
        app.config_json(ann_int).await["content_types"]["post_types"]["product"]["count"],
        456
    );
    // A JWT lists only its own account's integrations.
    let (_, b) = app
        .get("/api/v1/integration/integrations/", Some(&bob_jwt))
        .await;
    assert_eq!(b["data"].as_array().unwrap().len(), 1);
    assert_eq!(b["data"][0]["id"], bob.integration_id);
}

#[tokio::test]
async fn unknown_ids_are_404_and_bad_ids_are_refused() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let (s, b) = app
        .get("/api/v1/integration/integrations/999999/", Some(&fx.key))
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    for bad in ["abc", "-1", "0", "1%20OR%201=1", "99999999999999999999999"] {
        let (s, b) = app
            .get(
                &format!("/api/v1/integration/integrations/{bad}/content-types/"),
                Some(&fx.key),
            )
            .await;
        assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    }
    let (s, b) = app
        .get(
            "/api/v1/integration/integrations/?site=1;DROP%20TABLE%20sites",
            Some(&fx.key),
        )
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert!(b["errors"]["site"].is_array());
    let (s, b) = app
        .get(
            "/api/v1/integration/integrations/?site=999999",
            Some(&fx.key),
        )
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    for body in [
        json!({}),
        json!({"site": "1"}),
        json!({"site": -3}),
        json!({"site": fx.site.id, "platform": "drupal"}),
    ] {
        let (s, b) = app
            .post("/api/v1/integration/integrations/", Some(&fx.key), body)
            .await;
        assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    }
    for hostile in [
        "/api/v1/../../etc/passwd",
        "/api/v1/integration/integrations/1/..%2F..%2Fetc%2Fpasswd/",
        "/api/v1/%00",
    ] {
        let response = app
            .client
            .get(app.url(hostile))
            .bearer_auth(&fx.key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{hostile}");
        assert!(!response.text().await.unwrap().contains("root:"));
    }
}

#[tokio::test]
async fn an_inactive_site_cannot_push_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    app.store.set_site_active(fx.site.id, false).await.unwrap();
    let before = app.config_json(fx.integration_id).await;
    let (s, b) = app.push_structure(&fx, seed_structure()).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "site_inactive");
    assert_eq!(app.config_json(fx.integration_id).await, before);
    // Reading still works, so the plugin can tell the owner why.
    let (s, b) = app.get("/api/v1/auth/sites/", Some(&fx.key)).await;
    assert_eq!(
        (s, &b["data"][0]["is_active"]),
        (StatusCode::OK, &json!(false))
    );
    app.store.set_site_active(fx.site.id, true).await.unwrap();
    let (s, _) = app.push_structure(&fx, seed_structure()).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn paths_work_with_and_without_the_trailing_slash() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    for path in [
        format!(
            "/api/v1/integration/integrations/{}/update-structure",
            fx.integration_id
        ),
        format!(
            "/api/v1/integration/integrations/{}/update-structure/",
            fx.integration_id
        ),
    ] {
        let (s, b) = app.post(&path, Some(&fx.key), seed_structure()).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
    }
    let (s, _) = app.get("/healthz", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = app.get("/livez/", None).await;
    assert_eq!((s, b["status"].clone()), (StatusCode::OK, json!("ok")));
    let (s, b) = app
        .send(app.client.delete(app.url("/api/v1/auth/login/")), None)
        .await;
    assert_error(s, &b, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}
