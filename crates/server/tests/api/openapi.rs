//! The OpenAPI document is a snapshot: a change of the API shows in review as a change of
//! `crates/server/openapi.snapshot.json`. Regenerate with `IGNY8_UPDATE_SNAPSHOTS=1`.

use reqwest::StatusCode;

use crate::helpers::TestApp;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.snapshot.json");

#[tokio::test]
async fn the_served_document_matches_the_snapshot() {
    let app = TestApp::spawn().await;
    let (s, served) = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    let pretty = serde_json::to_string_pretty(&served).unwrap() + "\n";
    if std::env::var_os("IGNY8_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &pretty).unwrap();
    }
    let snapshot = std::fs::read_to_string(SNAPSHOT)
        .expect("snapshot exists; create it with IGNY8_UPDATE_SNAPSHOTS=1");
    assert!(
        pretty == snapshot,
        "the API document changed: review the diff, then run with IGNY8_UPDATE_SNAPSHOTS=1"
    );
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = TestApp::spawn().await;
    let doc = igny8_server::api::openapi::document();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let url = app.url(&path.replace("{id}", "1"));
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .client
                .request(method.clone(), &url)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap();
            // Unauthenticated or empty requests are refused, but by the operation, not as unknown routes.
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but answers {status}: {body}"
            );
        }
    }
}
