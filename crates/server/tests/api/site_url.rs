//! Staging copies and moved sites (docs/sync-protocol.md, "Copies and moves"): a site key's request
//! reports the site's address in `X-Igny8-Site-Url`; the integration keeps the first one, refuses a
//! copy at another address with 409 `site_url_mismatch` (recorded for the dashboard), and follows the
//! site when its owner says it moved.

use reqwest::header::HeaderValue;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, captured_log, seed_structure, Fixture, TestApp};

const LIVE: &str = "https://blog.example.com";
const STAGING: &str = "https://staging.blog.example.com";
const HEADER: &str = "X-Igny8-Site-Url";

/// A request with the site's key from the copy of the site at `site_url`.
async fn from(
    app: &TestApp,
    site_url: Option<&str>,
    key: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.client.request(method.parse().unwrap(), app.url(path));
    if let Some(url) = site_url {
        req = req.header(HEADER, url);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    app.send(req, Some(key)).await
}

fn path(fixture: &Fixture, rest: &str) -> String {
    format!(
        "/api/v1/integration/integrations/{}/{rest}",
        fixture.integration_id
    )
}

async fn integration_json(app: &TestApp, fixture: &Fixture) -> Value {
    let jwt = app.login(&fixture.user.email).await;
    let (status, body) = app.get(&path(fixture, ""), Some(&jwt)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].clone()
}

/// A fixture whose site has reported `LIVE` with a structure push.
async fn live_site(app: &TestApp, email: &str) -> Fixture {
    let fixture = app.fixture(email).await;
    let (status, body) = from(
        app,
        Some(&format!("{LIVE}/")),
        &fixture.key,
        "POST",
        &path(&fixture, "update-structure/"),
        Some(seed_structure()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    fixture
}

fn post_item(wp_id: i64, title: &str) -> Value {
    json!({"op": "upsert", "kind": "post", "type": "post", "wp_id": wp_id, "modified_gmt": "2025-11-22 10:00:00",
           "data": {"title": title, "slug": "s", "status": "publish", "content": "c"}})
}

#[tokio::test]
async fn the_first_reported_address_is_kept_and_a_copy_is_refused_everywhere() {
    let app = TestApp::spawn().await;
    let fixture = live_site(&app, "ann@example.com").await;
    let held = integration_json(&app, &fixture).await;
    assert_eq!(held["site_url"], LIVE, "{held}");
    assert_eq!(held["site_url_mismatch"], Value::Null);

    // The copy: every integration request of the plugin is refused, before its body is read.
    let requests: [(&str, &str, Option<Value>); 10] = [
        ("POST", "update-structure/", Some(seed_structure())),
        (
            "POST",
            "content/batch/",
            Some(json!({"batch_id": "b1", "items": [post_item(1, "From staging")]})),
        ),
        ("GET", "content/status/", None),
        (
            "POST",
            "content/full-sync/",
            Some(json!({"action": "start", "run_id": "r1"})),
        ),
        ("POST", "content/verify/", Some(json!({"action": "done"}))),
        (
            "POST",
            "content/resync-request/",
            Some(json!({"reason": "queue_overflow"})),
        ),
        ("GET", "changes/pending/?limit=50", None),
        ("POST", "changes/results/", Some(json!({"results": []}))),
        (
            "POST",
            "changes/receiver/",
            Some(
                json!({"url": format!("{STAGING}/wp-json/igny8/v1/nudge"), "secret": "a".repeat(64)}),
            ),
        ),
        ("POST", "content/batch/", Some(json!("not even an object"))),
    ];
    for (method, rest, body) in requests {
        let (status, answer) = from(
            &app,
            Some(STAGING),
            &fixture.key,
            method,
            &path(&fixture, rest),
            body,
        )
        .await;
        assert_error(status, &answer, StatusCode::CONFLICT, "site_url_mismatch");
        let error = answer["error"].as_str().unwrap();
        assert!(
            error.contains(LIVE)
                && error.contains(STAGING)
                && error.contains("Settings → IGNY8 API"),
            "{method} {rest}: the answer says what happened and what to do: {error}"
        );
    }
    let jwt = app.login(&fixture.user.email).await;
    let (_, content) = app.get(&path(&fixture, "content/"), Some(&jwt)).await;
    assert_eq!(
        content["data"]["count"], 0,
        "nothing from the copy was stored"
    );
    let receiver = app
        .store
        .change_receiver(fixture.integration_id)
        .await
        .unwrap();
    assert!(receiver.is_none(), "the copy did not register its receiver");

    // The integrations API answers what the dashboard shows.
    let held = integration_json(&app, &fixture).await;
    assert_eq!(held["site_url"], LIVE);
    assert_eq!(held["site_url_mismatch"], STAGING);
    assert!(held["site_url_mismatch_at"].is_string(), "{held}");

    // The live site under another scheme, with www. or a trailing slash, and a plugin too old to
    // report its address, sync as before.
    for site_url in [
        Some("http://blog.example.com"),
        Some("https://www.blog.example.com/"),
        Some("HTTPS://Blog.Example.com:443"),
        None,
    ] {
        let (status, answer) = from(
            &app,
            site_url,
            &fixture.key,
            "POST",
            &path(&fixture, "content/batch/"),
            Some(json!({"batch_id": "b2", "items": [post_item(2, "From the live site")]})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{site_url:?}: {answer}");
    }
    let (_, content) = app.get(&path(&fixture, "content/"), Some(&jwt)).await;
    assert_eq!(content["data"]["count"], 1);
    assert_eq!(content["data"]["results"][0]["title"], "From the live site");
}

#[tokio::test]
async fn the_address_is_checked_after_credentials_and_tenancy_and_before_the_body() {
    let app = TestApp::spawn().await;
    let ann = live_site(&app, "ann@example.com").await;
    let bob = live_site(&app, "bob@example.com").await;

    // Another tenant's key from anywhere: 403, and nothing is recorded on the integration.
    let (status, body) = from(
        &app,
        Some(STAGING),
        &bob.key,
        "POST",
        &path(&ann, "content/batch/"),
        Some(json!({"batch_id": "x", "items": []})),
    )
    .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = from(
        &app,
        Some(STAGING),
        &bob.key,
        "POST",
        &path(&ann, "update-structure/"),
        Some(seed_structure()),
    )
    .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        integration_json(&app, &ann).await["site_url_mismatch"],
        Value::Null
    );
    // A wrong key: 401 whatever the address.
    let (status, body) = from(
        &app,
        Some(STAGING),
        &format!("{}x", ann.key),
        "GET",
        &path(&ann, "content/status/"),
        None,
    )
    .await;
    assert_error(status, &body, StatusCode::UNAUTHORIZED, "invalid_token");
    // An unknown integration: 404.
    let (status, body) = from(
        &app,
        Some(STAGING),
        &ann.key,
        "GET",
        "/api/v1/integration/integrations/999999/content/status/",
        None,
    )
    .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    // A malformed body from the copy: the address is refused first.
    let resp = app
        .client
        .post(app.url(&path(&ann, "content/batch/")))
        .header(HEADER, STAGING)
        .header("content-type", "application/json")
        .body("{not json");
    let (status, body) = app.send(resp, Some(&ann.key)).await;
    assert_error(status, &body, StatusCode::CONFLICT, "site_url_mismatch");
    // A platform user is never checked against the address (the dashboard is not a copy).
    let jwt = app.login(&ann.user.email).await;
    let (status, body) = from(
        &app,
        Some(STAGING),
        &jwt,
        "GET",
        &path(&ann, "content/status/"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn hostile_addresses_are_refused_with_422_and_never_recorded() {
    let app = TestApp::spawn().await;
    let fixture = app.fixture("ann@example.com").await;
    let overlong = format!("https://blog.example.com/{}", "a".repeat(3_000));
    let hostile = [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://blog.example.com",
        "file:///etc/passwd",
        "https://blog.example.com/\"><script>alert(1)</script>",
        "https://user:password@blog.example.com",
        "https://blog.example.com/?p=1",
        "blog.example.com",
        "",
        overlong.as_str(),
    ];
    for bad in hostile {
        for (method, rest, body) in [
            ("POST", "update-structure/", Some(seed_structure())),
            ("GET", "content/status/", None),
        ] {
            let (status, answer) = from(
                &app,
                Some(bad),
                &fixture.key,
                method,
                &path(&fixture, rest),
                body,
            )
            .await;
            assert_error(
                status,
                &answer,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_error",
            );
            assert!(answer["errors"][HEADER].is_array(), "{bad}: {answer}");
        }
    }
    // Bytes that are not text.
    let req = app
        .client
        .get(app.url(&path(&fixture, "content/status/")))
        .header(
            HEADER,
            HeaderValue::from_bytes(b"https://\xff\xfe.example").unwrap(),
        );
    let (status, answer) = app.send(req, Some(&fixture.key)).await;
    assert_error(
        status,
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    );

    let held = integration_json(&app, &fixture).await;
    assert_eq!(
        (held["site_url"].clone(), held["site_url_mismatch"].clone()),
        (Value::Null, Value::Null),
        "nothing hostile was adopted or recorded"
    );
    assert_eq!(
        held["config_json"].get("content_types"),
        None,
        "no push was applied"
    );
}

#[tokio::test]
async fn the_owner_moves_the_site_and_the_old_address_becomes_the_copy() {
    let app = TestApp::spawn().await;
    let fixture = live_site(&app, "ann@example.com").await;
    let other = live_site(&app, "bob@example.com").await;
    let moved_path = path(&fixture, "site-url/");
    let (status, _) = from(
        &app,
        Some(STAGING),
        &fixture.key,
        "GET",
        &path(&fixture, "content/status/"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Refused: a user's token (where a site runs is the plugin's to say), another tenant's key, a
    // bad address, a body that is not the address the plugin reports, nothing at all.
    let jwt = app.login(&fixture.user.email).await;
    let (status, body) = from(
        &app,
        None,
        &jwt,
        "POST",
        &moved_path,
        Some(json!({"site_url": STAGING})),
    )
    .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = from(
        &app,
        Some(STAGING),
        &other.key,
        "POST",
        &moved_path,
        Some(json!({"site_url": STAGING})),
    )
    .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    for bad in [
        json!({}),
        json!({"site_url": null}),
        json!({"site_url": 7}),
        json!({"site_url": "javascript:alert(1)//"}),
        json!({"site_url": "https://x.example/<img src=x onerror=alert(1)>"}),
        json!({"site_url": format!("https://x.example/{}", "a".repeat(3_000))}),
        json!({"site_url": "https://elsewhere.example"}),
    ] {
        let (status, body) = from(
            &app,
            Some(STAGING),
            &fixture.key,
            "POST",
            &moved_path,
            Some(bad.clone()),
        )
        .await;
        assert_error(
            status,
            &body,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
        );
        assert!(body["errors"]["site_url"].is_array(), "{bad}: {body}");
    }
    let (status, body) = from(
        &app,
        Some("javascript:alert(1)"),
        &fixture.key,
        "POST",
        &moved_path,
        Some(json!({"site_url": STAGING})),
    )
    .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
    );
    let (status, body) = from(
        &app,
        Some(STAGING),
        &fixture.key,
        "POST",
        "/api/v1/integration/integrations/999999/site-url/",
        Some(json!({"site_url": STAGING})),
    )
    .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(integration_json(&app, &fixture).await["site_url"], LIVE);

    // The owner's choice, from the copy: the integration follows the site.
    let (status, body) = from(
        &app,
        Some(STAGING),
        &fixture.key,
        "POST",
        &moved_path,
        Some(json!({"site_url": format!("{STAGING}/")})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["site_url"], STAGING);
    assert_eq!(body["data"]["site_url_mismatch"], Value::Null);
    assert!(
        captured_log().contains("moved its integration to a new address"),
        "the move is logged"
    );
    let (status, body) = from(
        &app,
        Some(STAGING),
        &fixture.key,
        "GET",
        &path(&fixture, "content/status/"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = from(
        &app,
        Some(LIVE),
        &fixture.key,
        "GET",
        &path(&fixture, "content/status/"),
        None,
    )
    .await;
    assert_error(status, &body, StatusCode::CONFLICT, "site_url_mismatch");
    // Moving again to where it is is harmless; the other tenant is untouched.
    let (status, _) = from(
        &app,
        Some(STAGING),
        &fixture.key,
        "POST",
        &moved_path,
        Some(json!({"site_url": STAGING})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(integration_json(&app, &other).await["site_url"], LIVE);

    // A deactivated site moves nowhere.
    app.store
        .set_site_active(fixture.site.id, false)
        .await
        .unwrap();
    let (status, body) = from(
        &app,
        Some(LIVE),
        &fixture.key,
        "POST",
        &moved_path,
        Some(json!({"site_url": LIVE})),
    )
    .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "site_inactive");
}
