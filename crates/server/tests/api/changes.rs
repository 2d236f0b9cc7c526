//! Two-way sync over real HTTP (docs/sync-protocol.md): a user queues changes, the site's key
//! pulls and reports them, conflicts are resolved per field, and a nudge reaches a real local
//! receiver signed with the site's secret. Every endpoint's tenancy and error paths.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use igny8_server::Settings;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::content::{path, post, send, T1};
use crate::helpers::{assert_error, seed_structure, Fixture, TestApp};
use crate::operators::{scrape, value};

const T2: &str = "2025-11-22 12:00:00";

/// A connected site with two-way sync on and post 12 synced; answers it and the user's token.
async fn connected(app: &TestApp, email: &str) -> (Fixture, String) {
    let fx = app.fixture(email).await;
    let (status, body) = app.push_structure(&fx, seed_structure()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = send(app, &fx, vec![post("post", 12, T1, "publish", "Dune")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = app.login(email).await;
    (fx, token)
}

async fn queue(app: &TestApp, fx: &Fixture, token: &str, body: Value) -> (StatusCode, Value) {
    app.post(&path(fx, "changes/"), Some(token), body).await
}

fn seo_edit() -> Value {
    json!({"op": "update", "type": "post", "wp_id": 12,
           "fields": {"title": "Dune, reread", "seo": {"description": "A desert planet."}}})
}

async fn pull(app: &TestApp, fx: &Fixture) -> Value {
    let (status, body) = app.get(&path(fx, "changes/pending/"), Some(&fx.key)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].clone()
}

async fn report(app: &TestApp, fx: &Fixture, outcomes: Value) -> Value {
    let (status, body) = app
        .post(
            &path(fx, "changes/results/"),
            Some(&fx.key),
            json!({"results": outcomes}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"]["results"].clone()
}

#[tokio::test]
async fn a_users_change_is_pulled_applied_and_reported() {
    let app = TestApp::spawn().await;
    let (fx, token) = connected(&app, "ann@example.com").await;
    let (status, body) = queue(&app, &fx, &token, seo_edit()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let change = &body["data"];
    assert_eq!(change["status"], "pending");
    assert_eq!(change["seq"], 1);
    assert_eq!(change["policy"], "manual");
    assert_eq!(change["created_by"], fx.user.id);
    // The base is the platform's copy of exactly the fields written.
    assert_eq!(
        change["base"],
        json!({"title": "Dune", "seo": {"description": "About 12"}})
    );
    assert_eq!(change["base_modified_gmt"], T1);
    let id = change["id"].as_i64().unwrap();

    let (_, status) = app.get(&path(&fx, "content/status/"), Some(&fx.key)).await;
    assert_eq!(status["data"]["changes_pending"], 1);
    let pulled = pull(&app, &fx).await;
    assert_eq!(pulled["more"], false);
    assert_eq!(pulled["two_way_sync_enabled"], true);
    assert_eq!(pulled["changes"][0]["id"], id);
    assert_eq!(pulled["changes"][0]["attempt"], 1);
    assert_eq!(pulled["changes"][0]["fields"], seo_edit()["fields"]);
    // Unreported, it is delivered again, counted.
    assert_eq!(pull(&app, &fx).await["changes"][0]["attempt"], 2);

    let acks = report(
        &app,
        &fx,
        json!([{"id": id, "status": "applied", "wp_id": 12, "modified_gmt": T2,
                                          "overwritten": {}}]),
    )
    .await;
    assert_eq!(acks, json!([{"id": id, "status": "recorded"}]));
    assert_eq!(pull(&app, &fx).await["changes"], json!([]));
    let (status, body) = app
        .get(&path(&fx, &format!("changes/{id}/")), Some(&token))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["status"], "applied");
    assert_eq!(body["data"]["result"]["modified_gmt"], T2);
    assert!(body["data"]["applied_at"].is_string());
    let (_, list) = app
        .get(&path(&fx, "changes/?status=applied"), Some(&token))
        .await;
    assert_eq!(list["data"]["count"], 1);
    let (_, list) = app
        .get(&path(&fx, "changes/?status=pending"), Some(&token))
        .await;
    assert_eq!(list["data"]["count"], 0);
    let (_, list) = app
        .get(&path(&fx, "changes/?object=post:12"), Some(&token))
        .await;
    assert_eq!(list["data"]["results"][0]["id"], id);
}

#[tokio::test]
async fn retries_with_an_idempotency_key_queue_one_change() {
    let app = TestApp::spawn().await;
    let (fx, token) = connected(&app, "ann@example.com").await;
    let create = json!({"op": "create", "type": "post",
                        "fields": {"title": "Children of Dune", "status": "draft", "terms": {"category": [3, "Sequels"]}}});
    let mut first = None;
    for _ in 0..3 {
        let (status, body) = app
            .send(
                app.client
                    .post(app.url(&path(&fx, "changes/")))
                    .header("Idempotency-Key", "create-children-of-dune")
                    .json(&create),
                Some(&token),
            )
            .await;
        let id = body["data"]["id"].as_i64().unwrap();
        match first {
            None => {
                assert_eq!(status, StatusCode::ACCEPTED, "{body}");
                first = Some(id);
            }
            Some(f) => {
                assert_eq!(status, StatusCode::OK, "a retry answers the first change");
                assert_eq!(id, f);
            }
        }
    }
    let mut keyed = create.clone();
    keyed["idempotency_key"] = json!("in-the-body");
    assert_eq!(
        queue(&app, &fx, &token, keyed.clone()).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(queue(&app, &fx, &token, keyed).await.0, StatusCode::OK);
    let (_, list) = app.get(&path(&fx, "changes/"), Some(&token)).await;
    assert_eq!(list["data"]["count"], 2);
    assert_eq!(
        list["data"]["results"][1]["base"],
        json!({}),
        "a create has no base"
    );
}

#[tokio::test]
async fn changes_are_refused_with_a_clear_reason() {
    let app = TestApp::spawn().await;
    let (fx, token) = connected(&app, "ann@example.com").await;
    // Unknown object, type not synced, type unknown, bad fields.
    let mut missing = seo_edit();
    missing["wp_id"] = json!(999);
    let (s, b) = queue(&app, &fx, &token, missing).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    for ty in ["product", "book"] {
        let (s, b) = queue(
            &app,
            &fx,
            &token,
            json!({"op": "create", "type": ty, "fields": {"title": "x"}}),
        )
        .await;
        assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
        assert!(b["errors"]["type"].is_array(), "{b}");
    }
    let (s, b) = queue(&app, &fx, &token, json!({"op": "update", "type": "post", "wp_id": 12,
        "fields": {"title": ["x"], "status": "inherit", "seo": {"description": 3}, "featured_image": "file:///etc/passwd",
                   "terms": {"category": [-1]}, "post_author": 1}})).await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    for p in [
        "fields.title",
        "fields.status",
        "fields.seo.description",
        "fields.featured_image",
        "fields.terms.category",
        "fields.post_author",
    ] {
        assert!(b["errors"][p].is_array(), "{p}: {b}");
    }
    let (s, b) = app
        .send(
            app.client
                .post(app.url(&path(&fx, "changes/")))
                .body("{nope")
                .header("content-type", "application/json"),
            Some(&token),
        )
        .await;
    assert_error(s, &b, StatusCode::BAD_REQUEST, "malformed_json");
    // An edit started from an older copy, without its base values: refused, never guessed.
    let mut old = seo_edit();
    old["base_modified_gmt"] = json!("2025-11-01 00:00:00");
    let (s, b) = queue(&app, &fx, &token, old.clone()).await;
    assert_error(s, &b, StatusCode::CONFLICT, "stale_base");
    old["base"] = json!({"title": "Dune (old)", "seo": {"description": "Old"}});
    let (s, b) = queue(&app, &fx, &token, old).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["data"]["base"]["title"], "Dune (old)");
    assert_eq!(b["data"]["base_modified_gmt"], "2025-11-01 00:00:00");
    // Two-way sync switched off in WordPress.
    let mut off = seed_structure();
    off["two_way_sync_enabled"] = json!(false);
    app.push_structure(&fx, off).await;
    let (s, b) = queue(&app, &fx, &token, seo_edit()).await;
    assert_error(s, &b, StatusCode::CONFLICT, "two_way_sync_disabled");
    assert!(
        b["error"].as_str().unwrap().contains("switches it on"),
        "{b}"
    );
    app.push_structure(&fx, seed_structure()).await;
    // A deactivated site.
    app.store.set_site_active(fx.site.id, false).await.unwrap();
    let (s, b) = queue(&app, &fx, &token, seo_edit()).await;
    assert_error(s, &b, StatusCode::CONFLICT, "site_inactive");
}

#[tokio::test]
async fn every_changes_endpoint_keeps_tenants_and_roles_apart() {
    let app = TestApp::spawn().await;
    let (fx, token) = connected(&app, "ann@example.com").await;
    let (other, other_token) = connected(&app, "bob@example.com").await;
    let (_, b) = queue(&app, &fx, &token, seo_edit()).await;
    let id = b["data"]["id"].as_i64().unwrap();
    let user_paths = [
        ("GET", "changes/".to_owned()),
        ("POST", "changes/".to_owned()),
        ("GET", format!("changes/{id}/")),
        ("POST", format!("changes/{id}/cancel/")),
        ("POST", format!("changes/{id}/resolve/")),
    ];
    let site_paths = [
        ("GET", "changes/pending/".to_owned()),
        ("POST", "changes/results/".to_owned()),
        ("POST", "changes/receiver/".to_owned()),
    ];
    for (method, rest) in user_paths.iter().chain(site_paths.iter()) {
        for token in [other_token.as_str(), other.key.as_str()] {
            let (s, b) = call(&app, &fx, method, rest, token).await;
            assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
        }
        let (s, b) = call(&app, &fx, method, rest, "").await;
        assert_error(s, &b, StatusCode::UNAUTHORIZED, "not_authenticated");
    }
    for (method, rest) in &user_paths {
        let (s, b) = call(&app, &fx, method, rest, &fx.key).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
    }
    for (method, rest) in &site_paths {
        let (s, b) = call(&app, &fx, method, rest, &token).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
    }
    // Another tenant's change id through one's own integration is not found.
    let (s, _) = app
        .get(&path(&other, &format!("changes/{id}/")), Some(&other_token))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let acks = report(
        &app,
        &other,
        json!([{"id": id, "status": "applied", "wp_id": 12}]),
    )
    .await;
    assert_eq!(acks[0]["status"], "unknown");
    let (_, b) = app
        .get(&path(&fx, &format!("changes/{id}/")), Some(&token))
        .await;
    assert_eq!(
        b["data"]["status"], "pending",
        "another site's report changed nothing"
    );
    let (s, _) = app.get(&path(&fx, "changes/abc/"), Some(&token)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn call(
    app: &TestApp,
    fx: &Fixture,
    method: &str,
    rest: &str,
    token: &str,
) -> (StatusCode, Value) {
    let url = app.url(&path(fx, rest));
    let req = match method {
        "GET" => app.client.get(url),
        _ => app
            .client
            .post(url)
            .json(&json!({"results": [], "choices": {}})),
    };
    app.send(req, Some(token).filter(|t| !t.is_empty())).await
}

#[tokio::test]
async fn a_pending_change_can_be_cancelled_once() {
    let app = TestApp::spawn().await;
    let (fx, token) = connected(&app, "ann@example.com").await;
    let (_, b) = queue(&app, &fx, &token, seo_edit()).await;
    let id = b["data"]["id"].as_i64().unwrap();
    let (s, b) = app
        .post(
            &path(&fx, &format!("changes/{id}/cancel/")),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["status"], "cancelled");
    assert_eq!(
        pull(&app, &fx).await["changes"],
        json!([]),
        "a cancelled change is not delivered"
    );
    let (s, b) = app
        .post(
            &path(&fx, &format!("changes/{id}/cancel/")),
            Some(&token),
            json!({}),
        )
        .await;
    assert_error(s, &b, StatusCode::CONFLICT, "not_pending");
}

#[tokio::test]
async fn a_conflict_is_resolved_per_field_into_a_new_change() {
    let app = TestApp::spawn().await;
    let (fx, token) = connected(&app, "ann@example.com").await;
    let (_, b) = queue(&app, &fx, &token, seo_edit()).await;
    let id = b["data"]["id"].as_i64().unwrap();
    // Resolving a change that is not in conflict.
    let (s, b) = app
        .post(
            &path(&fx, &format!("changes/{id}/resolve/")),
            Some(&token),
            json!({"choices": {}}),
        )
        .await;
    assert_error(s, &b, StatusCode::CONFLICT, "not_in_conflict");
    pull(&app, &fx).await;
    report(&app, &fx, json!([{"id": id, "status": "conflict", "wp_id": 12, "modified_gmt": T2,
                              "conflicts": {"title": {"wordpress": "Dune (edited in WordPress)"}}}])).await;
    let (_, b) = app
        .get(&path(&fx, &format!("changes/{id}/")), Some(&token))
        .await;
    assert_eq!(b["data"]["status"], "conflict");
    assert_eq!(
        b["data"]["result"]["conflicts"]["title"]["wordpress"],
        "Dune (edited in WordPress)"
    );
    // Every conflicting field needs a valid choice.
    for bad in [
        json!({"choices": {}}),
        json!({"choices": {"title": "mine"}}),
        json!({"choices": {"excerpt": "platform"}}),
        json!([1]),
    ] {
        let (s, b) = app
            .post(
                &path(&fx, &format!("changes/{id}/resolve/")),
                Some(&token),
                bad,
            )
            .await;
        assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    }
    let (s, b) = app
        .post(
            &path(&fx, &format!("changes/{id}/resolve/")),
            Some(&token),
            json!({"choices": {"title": "platform"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let next = &b["data"];
    assert_eq!(next["op"], "update");
    assert_eq!(next["policy"], "manual");
    // Under `manual` nothing was applied: the SEO edit travels again, based on what it was.
    assert_eq!(next["fields"], seo_edit()["fields"]);
    assert_eq!(
        next["base"],
        json!({"title": "Dune (edited in WordPress)", "seo": {"description": "About 12"}})
    );
    assert_eq!(next["base_modified_gmt"], T2);
    let (_, b) = app
        .get(&path(&fx, &format!("changes/{id}/")), Some(&token))
        .await;
    assert_eq!(b["data"]["status"], "resolved");
    assert_eq!(b["data"]["result"]["resolution"]["change_id"], next["id"]);
    let (s, b) = app
        .post(
            &path(&fx, &format!("changes/{id}/resolve/")),
            Some(&token),
            json!({"choices": {"title": "platform"}}),
        )
        .await;
    assert_error(s, &b, StatusCode::CONFLICT, "not_in_conflict");
    assert_eq!(pull(&app, &fx).await["changes"][0]["id"], next["id"]);
}

#[tokio::test]
async fn a_second_edit_before_the_echo_is_based_on_the_first() {
    let app = TestApp::spawn().await;
    let (fx, token) = connected(&app, "ann@example.com").await;
    let (_, b) = queue(&app, &fx, &token, seo_edit()).await;
    let first = b["data"]["id"].as_i64().unwrap();
    // Pending: the second edit's base is the first one's value, not the stale copy's.
    let (_, b) = queue(
        &app,
        &fx,
        &token,
        json!({"op": "update", "type": "post", "wp_id": 12,
                                                 "fields": {"title": "Dune III"}}),
    )
    .await;
    assert_eq!(b["data"]["base"]["title"], "Dune, reread");
    pull(&app, &fx).await;
    report(
        &app,
        &fx,
        json!([{"id": first, "status": "applied", "wp_id": 12, "modified_gmt": T2}]),
    )
    .await;
    let (_, b) = queue(
        &app,
        &fx,
        &token,
        json!({"op": "update", "type": "post", "wp_id": 12,
                                                 "fields": {"seo": {"description": "Spice."}}}),
    )
    .await;
    assert_eq!(
        b["data"]["base"]["seo"]["description"], "A desert planet.",
        "applied, not yet echoed"
    );
    // Once WordPress's echo arrives, the copy is the base again.
    send(
        &app,
        &fx,
        vec![post("post", 12, T2, "publish", "Dune, reread (echo)")],
    )
    .await;
    let (_, b) = queue(
        &app,
        &fx,
        &token,
        json!({"op": "update", "type": "post", "wp_id": 12,
                                                 "fields": {"excerpt": "New excerpt"}}),
    )
    .await;
    assert_eq!(b["data"]["base"]["excerpt"], "Excerpt of 12");
}

#[tokio::test]
async fn the_conflict_policy_is_set_per_integration_by_users() {
    let app = TestApp::spawn().await;
    let (fx, token) = connected(&app, "ann@example.com").await;
    let p = format!("/api/v1/integration/integrations/{}/", fx.integration_id);
    let (s, b) = app
        .patch(&p, Some(&token), json!({"conflict_policy": "merge"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"]["config_json"]["conflict_policy"], "merge");
    assert_eq!(
        b["data"]["config_json"]["two_way_sync_enabled"], true,
        "other keys kept"
    );
    let (_, b) = queue(&app, &fx, &token, seo_edit()).await;
    assert_eq!(b["data"]["policy"], "merge");
    let mut own = seo_edit();
    own["policy"] = json!("platform_wins");
    let (_, b) = queue(&app, &fx, &token, own).await;
    assert_eq!(
        b["data"]["policy"], "platform_wins",
        "a change may name its own policy"
    );
    let (s, b) = app
        .patch(&p, Some(&token), json!({"conflict_policy": "yolo"}))
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    let (s, b) = app
        .patch(&p, Some(&fx.key), json!({"conflict_policy": "merge"}))
        .await;
    assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn results_are_checked_one_by_one() {
    let app = TestApp::spawn().await;
    let (fx, token) = connected(&app, "ann@example.com").await;
    let (_, b) = queue(&app, &fx, &token, seo_edit()).await;
    let id = b["data"]["id"].as_i64().unwrap();
    let acks = report(&app, &fx, json!([
        {"id": id, "status": "rejected", "reason": "terms.genre: term 99 does not exist <script>"},
        {"id": id + 1000, "status": "applied", "wp_id": 1},
        {"id": "x", "status": "applied"},
        {"id": id, "status": "exploded"},
        {"id": id, "status": "applied"}
    ])).await;
    let statuses: Vec<&str> = acks
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["recorded", "unknown", "invalid", "invalid", "invalid"]
    );
    let (_, b) = app
        .get(&path(&fx, &format!("changes/{id}/")), Some(&token))
        .await;
    assert_eq!(b["data"]["status"], "rejected");
    assert_eq!(
        b["data"]["result"]["reason"],
        "terms.genre: term 99 does not exist <script>"
    );
    let (s, b) = app
        .post(
            &path(&fx, "changes/results/"),
            Some(&fx.key),
            json!({"results": "all"}),
        )
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"id": i + 1, "status": "refused", "reason": "x"}))
        .collect();
    let (s, b) = app
        .post(
            &path(&fx, "changes/results/"),
            Some(&fx.key),
            json!({"results": many}),
        )
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    let (s, b) = app
        .get(&path(&fx, "changes/pending/?limit=0"), Some(&fx.key))
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
}

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A real HTTP receiver on a local port, standing in for the plugin's nudge route.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let seen = got.clone();
    let app = axum::Router::new().route(
        "/wp-json/igny8/v1/nudge",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push((headers, body));
                StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/wp-json/igny8/v1/nudge",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

async fn wait_for<T>(mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..100 {
        if let Some(v) = probe() {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    None
}

#[tokio::test]
async fn a_queued_change_nudges_the_site_with_a_signed_request() {
    let app = TestApp::spawn_with(Settings {
        allow_private_targets: true,
        ..Settings::default()
    })
    .await;
    let (fx, token) = connected(&app, "ann@example.com").await;
    let (url, got) = receiver().await;
    let secret = "ab".repeat(32);
    for bad in [
        json!({"url": "ftp://x/", "secret": secret}),
        json!({"url": url, "secret": "short"}),
        json!([]),
    ] {
        let (s, b) = app
            .post(&path(&fx, "changes/receiver/"), Some(&fx.key), bad)
            .await;
        assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    }
    let (s, b) = app
        .post(
            &path(&fx, "changes/receiver/"),
            Some(&fx.key),
            json!({"url": url, "secret": secret}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(
        !b.to_string().contains(&secret),
        "the secret is never answered"
    );
    queue(&app, &fx, &token, seo_edit()).await;
    let (headers, body) = wait_for(|| got.lock().unwrap().first().cloned())
        .await
        .expect("nudged");
    let timestamp: i64 = headers["x-igny8-timestamp"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
    assert_eq!(
        headers["x-igny8-signature"].to_str().unwrap(),
        igny8_server::nudge::signature(&secret, timestamp, &body)
    );
    let nudge: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(nudge["integration_id"], fx.integration_id);
    assert_eq!(nudge["pending"], 1);
    assert_eq!(nudge["nonce"].as_str().unwrap().len(), 32);
    assert!(
        nudge.get("fields").is_none() && !body.windows(4).any(|w| w == b"Dune"),
        "no content in a nudge"
    );
    let recorded = nudge_recorded(&app, fx.integration_id, |r| r.last_nudge_at.is_some()).await;
    assert_eq!(recorded.last_nudge_error, None);
}

#[tokio::test]
async fn nudges_never_reach_private_addresses_unless_allowed() {
    let app = TestApp::spawn().await;
    let (fx, token) = connected(&app, "ann@example.com").await;
    let (url, got) = receiver().await;
    let localhost = url.replace("127.0.0.1", "localhost");
    for target in [url.clone(), localhost] {
        let (s, _) = app
            .post(
                &path(&fx, "changes/receiver/"),
                Some(&fx.key),
                json!({"url": target, "secret": "cd".repeat(32)}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        queue(&app, &fx, &token, seo_edit()).await;
        let recorded =
            nudge_recorded(&app, fx.integration_id, |r| r.last_nudge_error.is_some()).await;
        assert!(
            recorded.last_nudge_error.unwrap().contains("private"),
            "{target}"
        );
    }
    assert!(
        got.lock().unwrap().is_empty(),
        "nothing reached the private address"
    );
    // The change still waits for the site's next pull.
    assert_eq!(
        pull(&app, &fx).await["changes"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn the_outbox_and_the_nudges_show_in_the_metrics() {
    let app = TestApp::spawn_with(Settings {
        allow_private_targets: true,
        ..Settings::default()
    })
    .await;
    let (fx, token) = connected(&app, "ann@example.com").await;
    let pending = r#"igny8_outbox_changes{status="pending"}"#;
    let applied = r#"igny8_outbox_changes{status="applied"}"#;
    let age = "igny8_oldest_pending_change_age_seconds";
    let delivered = r#"igny8_nudges_total{outcome="delivered"}"#;
    let failed = r#"igny8_nudges_total{outcome="failed"}"#;
    let before = scrape(&app).await;
    assert!(before.contains_key(pending), "every status has a series");
    assert_eq!((value(&before, pending), value(&before, age)), (0.0, 0.0));

    let (url, got) = receiver().await;
    let receiver_at = |url: String| json!({"url": url, "secret": "ab".repeat(32)});
    let (s, _) = app
        .post(
            &path(&fx, "changes/receiver/"),
            Some(&fx.key),
            receiver_at(url),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = queue(&app, &fx, &token, seo_edit()).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    wait_for(|| got.lock().unwrap().first().cloned())
        .await
        .expect("nudged");
    nudge_recorded(&app, fx.integration_id, |r| r.last_nudge_at.is_some()).await;
    let queued = scrape(&app).await;
    assert_eq!(value(&queued, pending), 1.0);
    assert!(value(&queued, age) > 0.0, "the pending change is waiting");
    assert_eq!(
        (value(&queued, delivered), value(&queued, failed)),
        (1.0, 0.0)
    );

    report(
        &app,
        &fx,
        json!([{"id": id, "status": "applied", "wp_id": 12, "modified_gmt": T2, "overwritten": {}}]),
    )
    .await;
    // A receiver nobody listens on any more: the next nudge fails.
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone_url = format!(
        "http://{}/wp-json/igny8/v1/nudge",
        gone.local_addr().unwrap()
    );
    drop(gone);
    let (s, _) = app
        .post(
            &path(&fx, "changes/receiver/"),
            Some(&fx.key),
            receiver_at(gone_url),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut edit = seo_edit();
    edit["fields"] = json!({"title": "Dune, again"});
    let (s, body) = queue(&app, &fx, &token, edit).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    nudge_recorded(&app, fx.integration_id, |r| r.last_nudge_error.is_some()).await;
    let after = scrape(&app).await;
    assert_eq!((value(&after, pending), value(&after, applied)), (1.0, 1.0));
    assert_eq!(
        (value(&after, delivered), value(&after, failed)),
        (1.0, 1.0)
    );
}

/// The site's receiver once `done` holds for it (nudges are sent in the background).
async fn nudge_recorded(
    app: &TestApp,
    integration_id: i64,
    done: impl Fn(&igny8_store::ChangeReceiver) -> bool,
) -> igny8_store::ChangeReceiver {
    for _ in 0..100 {
        if let Some(r) = app.store.change_receiver(integration_id).await.unwrap() {
            if done(&r) {
                return r;
            }
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("the nudge was not recorded");
}

#[tokio::test]
async fn a_field_wordpress_kept_is_not_taken_as_the_next_base() {
    let app = TestApp::spawn().await;
    let (fx, token) = connected(&app, "ann@example.com").await;
    let mut edit = seo_edit();
    edit["policy"] = json!("wordpress_wins");
    let (_, b) = queue(&app, &fx, &token, edit).await;
    let id = b["data"]["id"].as_i64().unwrap();
    pull(&app, &fx).await;
    // WordPress kept its own title; only the SEO description was applied.
    report(
        &app,
        &fx,
        json!([{"id": id, "status": "applied", "wp_id": 12, "modified_gmt": T2,
                "dropped": {"title": "Dune, reread"}}]),
    )
    .await;
    let (_, b) = queue(
        &app,
        &fx,
        &token,
        json!({"op": "update", "type": "post", "wp_id": 12,
               "fields": {"title": "Dune III", "seo": {"description": "Spice."}}}),
    )
    .await;
    assert_eq!(
        b["data"]["base"]["title"], "Dune",
        "WordPress's title, not the dropped one"
    );
    assert_eq!(b["data"]["base"]["seo"]["description"], "A desert planet.");
}
