use std::time::Duration;

use igny8_server::Settings;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, captured_log, seed_structure, TestApp, PASSWORD};

#[tokio::test]
async fn login_answers_tokens_that_reach_the_accounts_sites() {
    let app = TestApp::spawn().await;
    let ann = app.user("ann@example.com").await;
    let a1 = app.site(ann.account_id).await;
    let a2 = app.site(ann.account_id).await;
    let bob = app.user("bob@example.com").await;
    app.site(bob.account_id).await;

    let (status, body) = app
        .post(
            "/api/v1/auth/login/",
            None,
            json!({"email": "Ann@Example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user"]["email"], "ann@example.com");
    assert!(body["data"]["refresh"].is_string());
    assert!(body["data"]["user"].get("password_hash").is_none());
    let access = body["data"]["access"].as_str().unwrap();
    let (status, body) = app.get("/api/v1/auth/sites/", Some(access)).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<i64> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![a1.id, a2.id]);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_answer_alike() {
    let app = TestApp::spawn().await;
    app.user("ann@example.com").await;
    let (s1, b1) = app
        .post(
            "/api/v1/auth/login/",
            None,
            json!({"email": "ann@example.com", "password": "wrong password"}),
        )
        .await;
    let (s2, b2) = app
        .post(
            "/api/v1/auth/login/",
            None,
            json!({"email": "nobody@example.com", "password": PASSWORD}),
        )
        .await;
    assert_error(s1, &b1, StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!((s1, &b1), (s2, &b2));
    let (s, b) = app
        .post(
            "/api/v1/auth/login/",
            None,
            json!({"email": "ann@example.com"}),
        )
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert_eq!(b["errors"]["password"][0], "is required");
    let (s, b) = app
        .post(
            "/api/v1/auth/login/",
            None,
            json!({"email": 5, "password": PASSWORD}),
        )
        .await;
    assert_eq!(b["errors"]["email"][0], "must be a string", "{s}");
}

#[tokio::test]
async fn login_is_rate_limited_per_email_with_retry_after() {
    let app = TestApp::spawn_with(Settings {
        login_limit_per_email: 3,
        ..Settings::default()
    })
    .await;
    app.user("ann@example.com").await;
    for _ in 0..3 {
        let (s, _) = app
            .post(
                "/api/v1/auth/login/",
                None,
                json!({"email": "ann@example.com", "password": "wrong password"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits now: the limit protects the account, not the guess.
    let response = app
        .client
        .post(app.url("/api/v1/auth/login/"))
        .json(&json!({"email": "ANN@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited");
    // Another email from the same address is not affected by ann's limit.
    app.user("bob@example.com").await;
    app.login("bob@example.com").await;
}

#[tokio::test]
async fn login_is_rate_limited_per_client_address() {
    let app = TestApp::spawn_with(Settings {
        login_limit_per_ip: 4,
        ..Settings::default()
    })
    .await;
    for i in 0..4 {
        let (s, _) = app
            .post(
                "/api/v1/auth/login/",
                None,
                json!({"email": format!("u{i}@example.com"), "password": "whatever1"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, b) = app
        .post(
            "/api/v1/auth/login/",
            None,
            json!({"email": "u9@example.com", "password": "whatever1"}),
        )
        .await;
    assert_error(s, &b, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
}

#[tokio::test]
async fn refresh_trades_a_refresh_token_for_a_new_pair() {
    let app = TestApp::spawn().await;
    app.user("ann@example.com").await;
    let (_, login) = app
        .post(
            "/api/v1/auth/login/",
            None,
            json!({"email": "ann@example.com", "password": PASSWORD}),
        )
        .await;
    let refresh = login["data"]["refresh"].as_str().unwrap();
    let (s, b) = app
        .post("/api/v1/auth/refresh/", None, json!({"refresh": refresh}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, _) = app
        .get("/api/v1/auth/sites/", b["data"]["access"].as_str())
        .await;
    assert_eq!(s, StatusCode::OK);
    // An access token is not a refresh token, and a refresh token is not an access token.
    let access = login["data"]["access"].as_str().unwrap();
    let (s, b) = app
        .post("/api/v1/auth/refresh/", None, json!({"refresh": access}))
        .await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
    let (s, b) = app.get("/api/v1/auth/sites/", Some(refresh)).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
    let (s, b) = app
        .post(
            "/api/v1/auth/refresh/",
            None,
            json!({"refresh": format!("{refresh}x")}),
        )
        .await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
}

/// Refresh tokens rotate: each works once. A spent one presented again means someone else holds a
/// copy, so its whole family (every token since that sign-in) stops working; other sign-ins go on.
#[tokio::test]
async fn a_refresh_token_works_once_and_its_reuse_ends_the_family() {
    let app = TestApp::spawn().await;
    app.user("ann@example.com").await;
    let refresh = |token: Value| {
        let app = &app;
        async move {
            app.post("/api/v1/auth/refresh/", None, json!({"refresh": token}))
                .await
        }
    };
    let first = app.login_tokens("ann@example.com").await["refresh"].clone();
    let (s, b) = refresh(first.clone()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let second = b["data"]["refresh"].clone();
    assert_ne!(second, first);
    let (s, b) = refresh(second.clone()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let third = b["data"]["refresh"].clone();
    // `second` again (a stolen copy, or the owner after the thief): refused, and the family ends.
    let (s, b) = refresh(second).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
    let (s, b) = refresh(third).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
    let (s, b) = refresh(first).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
    assert!(captured_log().contains("a spent refresh token was presented again"));
    // Another sign-in is another family.
    let other = app.login_tokens("ann@example.com").await["refresh"].clone();
    let (s, b) = refresh(other).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test]
async fn signing_out_ends_refresh_tokens_issued_before() {
    let app = TestApp::spawn().await;
    let ann = app.user("ann@example.com").await;
    let refresh = app.login_tokens("ann@example.com").await["refresh"].clone();
    // Ann signs out of the dashboard (or an operator ends her sessions).
    app.store.end_sessions(ann.id).await.unwrap();
    let (s, b) = app
        .post("/api/v1/auth/refresh/", None, json!({"refresh": refresh}))
        .await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
    // A new login is good again.
    let refresh = app.login_tokens("ann@example.com").await["refresh"].clone();
    let (s, b) = app
        .post("/api/v1/auth/refresh/", None, json!({"refresh": refresh}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test]
async fn signing_out_ends_access_tokens_issued_before() {
    let app = TestApp::spawn().await;
    let ann = app.fixture("ann@example.com").await;
    let access = app.login("ann@example.com").await;
    let (s, b) = app.get("/api/v1/auth/sites/", Some(&access)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    app.store.end_sessions(ann.user.id).await.unwrap();
    let content_types = format!(
        "/api/v1/integration/integrations/{}/content-types/",
        ann.integration_id
    );
    for path in ["/api/v1/auth/sites/", content_types.as_str()] {
        let (s, b) = app.get(path, Some(&access)).await;
        assert_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
    }
    let (s, b) = app.push_structure(&ann, seed_structure()).await;
    assert_eq!(s, StatusCode::OK, "the site's key is not a session: {b}");
    let access = app.login("ann@example.com").await;
    let (s, b) = app.get(&content_types, Some(&access)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test]
async fn expired_access_tokens_say_so() {
    let app = TestApp::spawn_with(Settings {
        access_token_ttl: Duration::ZERO,
        ..Settings::default()
    })
    .await;
    app.user("ann@example.com").await;
    let access = app.login("ann@example.com").await;
    let (s, b) = app.get("/api/v1/auth/sites/", Some(&access)).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "token_expired");
}

#[tokio::test]
async fn an_api_key_reaches_exactly_its_site_and_records_its_use() {
    let app = TestApp::spawn().await;
    let ann = app.user("ann@example.com").await;
    let site = app.site(ann.account_id).await;
    app.site(ann.account_id).await;
    let key = app.key(site.id).await;
    let (s, b) = app.get("/api/v1/auth/sites/", Some(&key)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["data"].as_array().unwrap().len(), 1);
    assert_eq!(b["data"][0]["id"], site.id);
    let stored = app.store.api_keys_of_site(site.id).await.unwrap();
    assert!(stored[0].last_used_at.is_some());
}

#[tokio::test]
async fn missing_unknown_and_malformed_credentials_are_401() {
    let app = TestApp::spawn().await;
    let (s, b) = app.get("/api/v1/auth/sites/", None).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "not_authenticated");
    for token in [
        "nope",
        "igny8_abcdefgh_",
        &format!("igny8_abcdefgh_{}", "a".repeat(40)),
        "a.b.c",
        "' OR 1=1 --",
    ] {
        let (s, b) = app.get("/api/v1/auth/sites/", Some(token)).await;
        assert_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
    }
    let response = app
        .client
        .get(app.url("/api/v1/auth/sites/"))
        .header("authorization", "Basic YTpi")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // A key with the right prefix but the wrong secret is refused.
    let ann = app.user("ann@example.com").await;
    let site = app.site(ann.account_id).await;
    let key = app.key(site.id).await;
    let wrong = format!(
        "{}{}",
        &key[..key.len() - 1],
        if key.ends_with('a') { 'b' } else { 'a' }
    );
    let (s, b) = app.get("/api/v1/auth/sites/", Some(&wrong)).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let jwt = app.login("ann@example.com").await;
    for token in [&fx.key, &jwt] {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let response = app
                .client
                .get(app.url("/api/v1/auth/sites/"))
                .header("authorization", format!("{scheme} {token}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{scheme}");
        }
    }
}

/// Tokens and a tenant's content must not stay in a shared cache or the browser's.
#[tokio::test]
async fn json_answers_are_never_stored_by_caches() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let requests = [
        app.client
            .post(app.url("/api/v1/auth/login/"))
            .json(&json!({"email": "ann@example.com", "password": PASSWORD})),
        app.client
            .get(app.url("/api/v1/auth/sites/"))
            .bearer_auth(&fx.key),
        app.client.get(app.url("/api/v1/auth/sites/")),
        app.client.get(app.url("/api/v1/nothing-here/")),
        app.client.get(app.url("/livez")),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        assert_eq!(
            response.headers()["cache-control"],
            "no-store",
            "{}",
            response.url()
        );
    }
}

#[tokio::test]
async fn a_revoked_key_is_refused() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let prefix = igny8_domain::api_key::key_prefix(&fx.key)
        .unwrap()
        .to_owned();
    app.store
        .revoke_api_key(fx.site.id, &prefix, chrono::Utc::now())
        .await
        .unwrap();
    let (s, b) = app.push_structure(&fx, seed_structure()).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "api_key_revoked");
    let (s, b) = app.get("/api/v1/auth/sites/", Some(&fx.key)).await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "api_key_revoked");
}

#[tokio::test]
async fn no_secret_reaches_the_log_or_an_answer() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("secret-keeper@example.com").await;
    let (_, login) = app
        .post(
            "/api/v1/auth/login/",
            None,
            json!({"email": "secret-keeper@example.com", "password": PASSWORD}),
        )
        .await;
    let access = login["data"]["access"].as_str().unwrap().to_owned();
    app.push_structure(&fx, seed_structure()).await;
    app.post(
        "/api/v1/auth/login/",
        None,
        json!({"email": "secret-keeper@example.com", "password": "wrong password 123"}),
    )
    .await;
    let (_, integration) = app
        .get(
            &format!("/api/v1/integration/integrations/{}/", fx.integration_id),
            Some(&access),
        )
        .await;
    let (_, sites) = app.get("/api/v1/auth/sites/", Some(&fx.key)).await;
    let log = captured_log();
    assert!(log.contains("request"), "the log is captured");
    for secret in [
        fx.key.as_str(),
        PASSWORD,
        "wrong password 123",
        access.as_str(),
        fx.user.password_hash.as_str(),
    ] {
        assert!(!log.contains(secret), "the log holds a secret");
        assert!(!integration.to_string().contains(secret) && !sites.to_string().contains(secret));
    }
}
