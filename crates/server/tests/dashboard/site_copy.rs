//! Site → Settings → Integration when a copy of the site at another address tried to sync
//! (docs/sync-protocol.md, "Copies and moves"): the page says so, with the copy's address escaped,
//! and what the site's owner must do; the account's user may dismiss it; nobody else can.

use reqwest::StatusCode;
use serde_json::Value;

use crate::app::{spawn, structure, TestApp};

const HEADER: &str = "X-Igny8-Site-Url";

/// A structure push with the site's key, reporting `site_url`.
async fn push_from(
    app: &TestApp,
    key: &str,
    integration: i64,
    site_url: &str,
) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/integration/integrations/{integration}/update-structure/",
            app.address
        ))
        .bearer_auth(key)
        .header(HEADER, site_url)
        .json(&structure())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_refused_copy_is_shown_escaped_with_what_to_do_and_can_be_dismissed() {
    let app = spawn().await;
    let mut ann = app.signed_in("ann@example.com").await;
    let site = ann.add_site("Blog", "https://blog.example.com").await;
    let key = ann.create_key(site).await;
    let integration = app.plugin(&key).connect(site).await;
    let page_path = format!("/sites/{site}/settings/integration");

    let page = ann.get(&page_path).await;
    assert!(page.body.contains("Not reported yet"), "{}", page.body);
    let (status, body) = push_from(&app, &key, integration, "https://blog.example.com").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page = ann.get(&page_path).await;
    assert!(page.body.contains("<code>https://blog.example.com</code>"));
    assert!(!page.body.contains(r#"id="site-copy""#));

    // A copy whose address carries markup characters the header allows: shown escaped.
    let copy = "https://staging.blog.example.com/a&b";
    let (status, body) = push_from(&app, &key, integration, copy).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // One that would be markup is refused before anything is recorded.
    let (status, _) = push_from(
        &app,
        &key,
        integration,
        "https://evil.example/\"><script>alert(1)</script>",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = ann.get(&page_path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"id="site-copy""#), "{}", page.body);
    assert!(
        page.body
            .contains("<code id=\"site-copy-url\">https://staging.blog.example.com/a&amp;b</code>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert(1)"));
    assert!(!page.body.contains("evil.example"));
    for said in [
        "A copy of this site",
        "tried to sync on",
        "Settings → IGNY8 API",
        "a staging copy",
        "the site moved",
        "connect as a new site",
    ] {
        assert!(page.body.contains(said), "the page says {said:?}");
    }

    // Only the account's own users, with the page's token, dismiss it.
    let dismiss = format!("/sites/{site}/settings/integration/forget-copy");
    let forged = ann.post(&dismiss, &[("csrf", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut bob = app.signed_in("bob@example.com").await;
    let bobs = bob.get("/sites").await.csrf();
    let other = bob.post(&dismiss, &[("csrf", &bobs)]).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert!(ann.get(&page_path).await.body.contains(r#"id="site-copy""#));

    let fields = ann.get(&page_path).await.form("forget-copy");
    let done = ann.post_fields(&dismiss, &fields).await;
    done.assert_redirect(&format!("{page_path}?done=copy-dismissed"));
    let page = ann.get(&format!("{page_path}?done=copy-dismissed")).await;
    assert!(!page.body.contains(r#"id="site-copy""#));
    assert!(page.body.contains("The copy stays refused"));
    // Dismissed, not allowed: the copy is still refused, and shows again when it tries again.
    let (status, _) = push_from(&app, &key, integration, copy).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(ann.get(&page_path).await.body.contains(r#"id="site-copy""#));
}
