//! What an operator needs: a request id in every answer and every log line of the request, and
//! `/metrics` on its own address, in the text Prometheus scrapes, with counts that move.

use std::collections::BTreeMap;

use igny8_server::Settings;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{captured_log, TestApp, PASSWORD};

#[tokio::test]
async fn a_callers_request_id_is_kept_answered_and_logged() {
    let app = TestApp::spawn().await;
    app.user("ann@example.com").await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login/"))
        .header("x-request-id", "plugin-7f3a-login")
        .json(&json!({"email": "ann@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "plugin-7f3a-login");
    let log = captured_log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("plugin-7f3a-login"))
        .collect();
    // The handler's own line and the request line both carry it.
    assert!(lines.iter().any(|l| l.contains("signed in")), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("status=200")), "{lines:?}");
}

#[tokio::test]
async fn a_request_without_a_sane_id_gets_a_fresh_one() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(129);
    let mut seen = Vec::new();
    for given in [None, Some("two words"), Some(long.as_str()), Some("x\"y")] {
        let mut request = app.client.get(app.url("/livez"));
        if let Some(given) = given {
            request = request.header("x-request-id", given);
        }
        let response = request.send().await.unwrap();
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        seen.push(id);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "each request its own id");
}

/// Parses the OpenMetrics/Prometheus text exposition strictly enough to catch a malformed one:
/// every sample belongs to a declared family, names and labels are well formed, values are numbers,
/// and the text ends with `# EOF`. Answers each sample (`name{labels}`) with its value.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().enumerate().all(|(i, c)| {
                c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
            })
    };
    let mut families: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "ends with # EOF");
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name) = (parts.next().unwrap(), parts.next().unwrap_or(""));
            assert!(matches!(kind, "HELP" | "TYPE" | "UNIT"), "{line}");
            assert!(name_ok(name), "{line}");
            if kind == "TYPE" {
                let ty = parts.next().unwrap_or("");
                assert!(
                    matches!(
                        ty,
                        "counter" | "gauge" | "histogram" | "summary" | "info" | "unknown"
                    ),
                    "{line}"
                );
                families.insert(name.to_owned(), ty.to_owned());
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("a number: {line}")),
        };
        let name = match series.split_once('{') {
            Some((name, labels)) => {
                let labels = labels.strip_suffix('}').expect("labels close");
                for pair in labels.split("\",").filter(|p| !p.is_empty()) {
                    let (key, value) = pair.split_once("=\"").expect("label=\"value\"");
                    assert!(name_ok(key), "{line}");
                    assert!(!value.trim_end_matches('"').contains('"'), "{line}");
                }
                name
            }
            None => series,
        };
        assert!(name_ok(name), "{line}");
        let family = ["_total", "_bucket", "_sum", "_count", "_created", ""]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|f| families.contains_key(*f))
            })
            .unwrap_or_else(|| panic!("{name} belongs to no declared family"));
        assert!(!family.is_empty());
        samples.insert(series.to_owned(), value);
    }
    samples
}

pub async fn scrape(app: &TestApp) -> BTreeMap<String, f64> {
    let response = reqwest::get(format!("http://{}/metrics", app.metrics_addr))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    parse_exposition(&response.text().await.unwrap())
}

pub fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_count_what_happens() {
    let app = TestApp::spawn_with(Settings {
        login_limit_per_email: 2,
        ..Settings::default()
    })
    .await;
    let fx = app.fixture("ann@example.com").await;
    let before = scrape(&app).await;
    let login_401 =
        r#"igny8_http_requests_total{method="POST",route="/api/v1/auth/login",status="401"}"#;
    assert_eq!(value(&before, login_401), 0.0);

    for _ in 0..3 {
        app.post(
            "/api/v1/auth/login/",
            None,
            json!({"email": "ann@example.com", "password": "wrong password"}),
        )
        .await;
    }
    let items = json!({"items": [
        {"op": "upsert", "kind": "post", "type": "post", "wp_id": 1, "modified_gmt": "2025-11-22 10:00:00",
         "data": {"title": "a", "slug": "a", "status": "publish"}},
        {"op": "upsert", "kind": "post", "type": "post", "wp_id": 2, "modified_gmt": "2025-11-22 10:00:00",
         "data": {"title": "b", "slug": "b", "status": "publish"}},
        {"op": "upsert", "kind": "post", "type": "Bad Type", "wp_id": 3}
    ]});
    let batch = format!(
        "/api/v1/integration/integrations/{}/content/batch/",
        fx.integration_id
    );
    let (s, b) = app.post(&batch, Some(&fx.key), items).await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let after = scrape(&app).await;
    assert_eq!(value(&after, login_401), 2.0);
    assert_eq!(
        value(
            &after,
            r#"igny8_http_requests_total{method="POST",route="/api/v1/auth/login",status="429"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            r#"igny8_sign_ins_refused_total{outcome="rate_limited"}"#
        ),
        1.0
    );
    assert_eq!(
        value(&after, r#"igny8_content_items_total{outcome="applied"}"#),
        2.0
    );
    assert_eq!(
        value(&after, r#"igny8_content_items_total{outcome="rejected"}"#),
        1.0
    );
    let batch_route =
        r#"method="POST",route="/api/v1/integration/integrations/{id}/content/batch",status="200""#;
    assert_eq!(
        value(
            &after,
            &format!("igny8_http_request_duration_seconds_count{{{batch_route}}}")
        ),
        1.0
    );
    assert!(value(&after, "igny8_connections_open") >= 1.0);
    // Never a raw path in a label: unknown paths share one series.
    app.get("/api/v1/no/such/7", None).await;
    app.get("/api/v1/no/such/8", None).await;
    let unmatched = scrape(&app).await;
    assert_eq!(
        value(
            &unmatched,
            r#"igny8_http_requests_total{method="GET",route="unmatched",status="404"}"#
        ),
        2.0
    );
    // The API's own address does not serve them.
    let (s, _) = app.get("/metrics", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
