//! Every integration endpoint checks a request in one order, and answers the first thing wrong:
//! the credentials, the integration (and whose it is), the site, and only then the body. So another
//! tenant's body is never read, let alone parsed.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{assert_error, Fixture, TestApp};

/// The writes whose body the handler reads, with a body each would accept.
const WRITES: &[(&str, &str)] = &[
    ("POST", "content/batch/"),
    ("POST", "content/full-sync/"),
    ("POST", "content/resync-request/"),
    ("POST", "content/verify/"),
    ("PATCH", "content-types/"),
    ("PATCH", ""),
    ("POST", "changes/"),
    ("POST", "changes/1/resolve/"),
    ("POST", "changes/results/"),
    ("POST", "changes/receiver/"),
];

/// Those of them a platform user calls (the others take the site's key).
fn users_write(rest: &str) -> bool {
    matches!(
        rest,
        "content-types/" | "" | "changes/" | "changes/1/resolve/"
    )
}

fn path(fx: &Fixture, rest: &str) -> String {
    format!(
        "/api/v1/integration/integrations/{}/{rest}",
        fx.integration_id
    )
}

async fn send_raw(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let req = app
        .client
        .request(method, app.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    app.send(req, Some(token)).await
}

#[tokio::test]
async fn another_tenants_malformed_body_is_forbidden_not_parsed() {
    let app = TestApp::spawn().await;
    let ann = app.fixture("ann@example.com").await;
    let bob = app.fixture("bob@example.com").await;
    let bob_jwt = app.login("bob@example.com").await;
    for (method, rest) in WRITES {
        for token in [bob.key.as_str(), bob_jwt.as_str()] {
            for body in ["{", "[1, 2", "not json", "[]"] {
                let (s, b) = send_raw(&app, method, &path(&ann, rest), token, body).await;
                assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
            }
        }
        // Unknown credentials come first, an unknown integration next.
        let (s, b) = send_raw(&app, method, &path(&ann, rest), "igny8_zzzzzzzz_zz", "{").await;
        assert_error(s, &b, StatusCode::UNAUTHORIZED, "invalid_token");
        let unknown = format!(
            "/api/v1/integration/integrations/{}/{rest}",
            bob.integration_id + 1_000
        );
        let (s, b) = send_raw(&app, method, &unknown, &bob_jwt, "{").await;
        assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    }
}

#[tokio::test]
async fn an_inactive_sites_malformed_body_is_site_inactive() {
    let app = TestApp::spawn().await;
    let ann = app.fixture("ann@example.com").await;
    let jwt = app.login("ann@example.com").await;
    app.store.set_site_active(ann.site.id, false).await.unwrap();
    // Queuing and resolving changes answer site_inactive from the service, after the body.
    for (method, rest) in WRITES
        .iter()
        .filter(|(_, r)| !r.starts_with("changes/1") && *r != "changes/")
    {
        // Settings are the platform's: a site key is refused them before the site is looked at.
        let token = if users_write(rest) {
            jwt.as_str()
        } else {
            ann.key.as_str()
        };
        let (s, b) = send_raw(&app, method, &path(&ann, rest), token, "{").await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "site_inactive");
    }
}

/// The 403 is answered while the body is still on its way: the server never waited for it.
#[tokio::test]
async fn another_tenants_batch_is_refused_before_its_body_arrives() {
    let app = TestApp::spawn().await;
    let ann = app.fixture("ann@example.com").await;
    let bob = app.fixture("bob@example.com").await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 8000000\r\n\r\n{{\"items\": [",
        path(&ann, "content/batch/"),
        bob.key
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered without waiting for the body")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("\"code\":\"forbidden\""), "{answer}");
}

#[tokio::test]
async fn a_users_token_is_refused_the_plugins_steps_after_the_site_is_checked() {
    let app = TestApp::spawn().await;
    let ann = app.fixture("ann@example.com").await;
    let jwt = app.login("ann@example.com").await;
    for (rest, body) in [
        ("content/batch/", json!({"items": []})),
        (
            "content/full-sync/",
            json!({"action": "start", "run_id": "r"}),
        ),
        (
            "content/full-sync/",
            json!({"action": "finish", "run_id": "r"}),
        ),
        (
            "content/verify/",
            json!({"action": "buckets", "type": "post", "buckets": []}),
        ),
        ("content/verify/", json!({"action": "done"})),
    ] {
        let (s, b) = app.post(&path(&ann, rest), Some(&jwt), body).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
    }
}
