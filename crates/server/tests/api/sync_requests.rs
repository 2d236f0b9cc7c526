//! The sync requests' bodies over real HTTP (full-sync, verify, resync-request): each refused
//! body names its fields exactly, a user naming one of the site's own steps is refused for that
//! first, and a body shaped as a list is never read as an action.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::content::path;
use crate::helpers::{assert_error, TestApp};

fn field_errors(body: &Value) -> Value {
    body["errors"].clone()
}

#[tokio::test]
async fn refused_full_sync_steps_name_their_fields() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let cases = [
        (json!({}), json!({"action": ["is required"]})),
        (
            json!({"action": 3}),
            json!({"action": ["must be a string"]}),
        ),
        (
            json!({"action": "pause"}),
            json!({"action": ["must be \"request\", \"start\" or \"finish\""]}),
        ),
        // A list is not an action, whatever its first entry says.
        (json!(["start", "r"]), json!({"action": ["is required"]})),
        (
            json!({"action": "start"}),
            json!({"run_id": ["is required"]}),
        ),
        (
            json!({"action": "finish", "run_id": 12}),
            json!({"run_id": ["must be a string of 1 to 100 printable characters"]}),
        ),
        (
            json!({"action": "start", "run_id": "r", "totals": {"post:book": -1, "widget:x": 2}}),
            json!({"totals.post:book": ["must be a whole number, not negative"],
                   "totals.widget:x": ["must be named \"post:<post type>\" or \"term:<taxonomy>\""]}),
        ),
    ];
    for (body, errors) in cases {
        let (s, b) = app
            .post(
                &path(&fx, "content/full-sync/"),
                Some(&fx.key),
                body.clone(),
            )
            .await;
        assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
        assert_eq!(field_errors(&b), errors, "{body}");
    }
    assert_eq!(
        app.get(&path(&fx, "content/status/"), Some(&fx.key))
            .await
            .1["data"]["full_sync"],
        Value::Null,
        "no refused step started a run"
    );
}

#[tokio::test]
async fn a_user_naming_a_site_step_is_forbidden_before_its_fields_are_judged() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let jwt = app.login("ann@example.com").await;
    for (rest, body) in [
        ("content/full-sync/", json!({"action": "start"})),
        (
            "content/full-sync/",
            json!({"action": "finish", "run_id": ""}),
        ),
        ("content/verify/", json!({"action": "buckets", "type": 5})),
        (
            "content/verify/",
            json!({"action": "items", "type": "post", "start": 3}),
        ),
        ("content/verify/", json!({"action": "done"})),
    ] {
        let (s, b) = app.post(&path(&fx, rest), Some(&jwt), body.clone()).await;
        assert_error(s, &b, StatusCode::FORBIDDEN, "forbidden");
        // The site's key gets past that to the fields (or to the step itself).
        let (s, b) = app
            .post(&path(&fx, rest), Some(&fx.key), body.clone())
            .await;
        assert_ne!(s, StatusCode::FORBIDDEN, "{body}: {b}");
    }
    // An unknown action is nobody's step: the user hears what is wrong with it.
    let (s, b) = app
        .post(
            &path(&fx, "content/verify/"),
            Some(&jwt),
            json!({"action": "stop"}),
        )
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
}

#[tokio::test]
async fn refused_verification_steps_name_their_fields() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let cases = [
        (
            json!({"action": "buckets", "kind": "page", "type": "post", "buckets": []}),
            json!({"kind": ["must be \"post\" or \"term\""]}),
        ),
        (
            json!({"action": "buckets", "buckets": []}),
            json!({"type": ["is required"]}),
        ),
        (
            json!({"action": "buckets", "type": "post", "bucket_size": "10", "buckets": []}),
            json!({"bucket_size": ["must be a whole number from 1 to 1000000"]}),
        ),
        (
            json!({"action": "buckets", "type": "post", "bucket_size": 10,
                   "buckets": [[0, 1, 1], {"start": 0, "count": 11, "sum": 1}]}),
            json!({"buckets.0": ["must be an object"],
                   "buckets.1.count": ["must be a whole number from 0 to 10"]}),
        ),
        (
            json!({"action": "items", "type": "post", "bucket_size": 10, "start": 0,
                   "items": [{"wp_id": 10, "checksum": 1}, {"wp_id": 1, "checksum": "1"}]}),
            json!({"items.0.wp_id": ["must be an id in the bucket [0, 9]"],
                   "items.1.checksum": ["must be a whole number from 0 to 4294967295"]}),
        ),
        (
            json!({"action": "items", "type": "post", "start": 0}),
            json!({"items": ["must be a list"]}),
        ),
    ];
    for (body, errors) in cases {
        let (s, b) = app
            .post(&path(&fx, "content/verify/"), Some(&fx.key), body.clone())
            .await;
        assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
        assert_eq!(field_errors(&b), errors, "{body}");
    }
}

#[tokio::test]
async fn a_resync_request_names_a_bad_reason() {
    let app = TestApp::spawn().await;
    let fx = app.fixture("ann@example.com").await;
    let (s, b) = app
        .post(
            &path(&fx, "content/resync-request/"),
            Some(&fx.key),
            json!({"reason": 5}),
        )
        .await;
    assert_error(s, &b, StatusCode::UNPROCESSABLE_ENTITY, "validation_error");
    assert_eq!(
        field_errors(&b),
        json!({"reason": ["must be a string of at most 200 printable characters"]})
    );
}
