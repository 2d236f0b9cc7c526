//! The dashboard in a real browser, as a new user meets it: first-run setup, sign-in, a site and
//! its API key, the plugin's structure push, the Content Types tab and its settings, revoking the
//! key, and a second account that sees none of it. Screenshots land in `target/screenshots/`.

use reqwest::StatusCode;

use crate::app::{spawn, structure, MARKUP_REJECTION, PASSWORD, XSS_LABEL};
use crate::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_connects_a_site_and_manages_its_content_types() {
    let app = spawn().await;
    let base = app.address.clone();
    let browser = Browser::start().await;

    // First run: the setup page creates the account and signs in.
    browser.goto(&format!("{base}/")).await;
    browser.find("#setup-form").await;
    browser.screenshot("01-setup").await;
    browser.fill("#account_name", "Acme Media").await;
    browser.fill("#email", "ann@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.fill("#password_again", PASSWORD).await;
    browser.click(&browser.find("#create-account").await).await;
    browser.wait_for_url("/sites").await;
    browser.find("#no-sites").await;
    browser.screenshot("02-sites-empty").await;

    // Sign out, fail once, sign in.
    browser.click(&browser.find("#sign-out").await).await;
    browser.wait_for_url("/login").await;
    browser.fill("#email", "ann@example.com").await;
    browser.fill("#password", "not the password").await;
    browser.click(&browser.find("#sign-in").await).await;
    browser
        .wait_for_text("#login-problem", "The email or password is wrong.")
        .await;
    browser.fill("#password", PASSWORD).await;
    browser.click(&browser.find("#sign-in").await).await;
    browser.wait_for_url("/sites").await;

    // A site, then its API key, read from the page that shows it once.
    browser.fill("#site-name", "Acme Blog").await;
    browser.fill("#site-url", "https://blog.example.com").await;
    browser.click(&browser.find("#add-site-button").await).await;
    let url = browser
        .wait_for_url("/settings/api-keys?done=site-added")
        .await;
    let site_id: i64 = url
        .split("/sites/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|id| id.parse().ok())
        .unwrap();
    browser.wait_for_text(".notice", "Site added").await;
    browser.fill("#key-label", "Production").await;
    browser.click(&browser.find("#create-key").await).await;
    let key_field = browser.find("#new-key").await;
    let key = browser
        .property(&key_field, "value")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    assert!(key.starts_with("igny8_"), "{key}");
    browser
        .wait_for_text("#new-key-panel", "Connect to IGNY8")
        .await;
    browser.click(&browser.find("#copy-key").await).await;
    browser.wait_for_text("#copy-key", "Copied").await;
    browser.screenshot("03-api-keys-new-key").await;

    // Before the plugin pushes anything: the empty state says how to connect.
    let types_tab = format!("{base}/sites/{site_id}/settings/content-types");
    browser.goto(&types_tab).await;
    let empty = browser
        .wait_for_text("#content-types-empty", "Settings → IGNY8 API")
        .await;
    for step in [
        "igny8-wp-plugin",
        "API keys",
        "Connect to IGNY8",
        "ann@example.com",
    ] {
        assert!(
            empty.contains(step),
            "the empty state lacks {step}: {empty}"
        );
    }
    browser.screenshot("04-content-types-empty").await;

    // The plugin connects and pushes the structure with the key.
    let plugin = app.plugin(&key);
    let integration = plugin.connect(site_id).await;
    let (status, answer) = plugin.push_structure(integration, &structure()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    browser.goto(&types_tab).await;
    browser
        .wait_for_text("#last-structure-fetch", "2025-11-22 10:00 UTC")
        .await;
    assert_eq!(
        browser
            .text(&browser.find("#type-post_types-book .type-label").await)
            .await,
        XSS_LABEL,
        "the label shows as text"
    );
    assert!(
        browser
            .find_all("#type-post_types-book img")
            .await
            .is_empty(),
        "no element was made of the label"
    );
    assert!(browser.find_all("img").await.is_empty());
    assert!(!browser.alert_open().await, "nothing ran");
    assert_eq!(
        browser
            .text(&browser.find("#type-post_types-post .wp-count").await)
            .await,
        "123"
    );
    assert_eq!(
        browser
            .text(&browser.find("#type-post_types-post .synced-count").await)
            .await,
        "0"
    );
    assert_eq!(
        browser
            .text(&browser.find("#plugin-connection").await)
            .await,
        "Enabled"
    );
    assert_eq!(
        browser.text(&browser.find("#two-way-sync").await).await,
        "Off"
    );
    browser.screenshot("05-content-types").await;

    // The platform disables "post" and raises the category limit; the next push answers that.
    let post_enabled = browser.find("#type-post_types-post input.enabled").await;
    assert!(browser.is_selected(&post_enabled).await);
    browser.click(&post_enabled).await;
    browser
        .fill("#type-taxonomies-category input.limit", "250")
        .await;
    browser
        .click(&browser.find("#save-content-types").await)
        .await;
    browser
        .wait_for_text(".notice", "Sync settings saved")
        .await;
    assert!(
        !browser
            .is_selected(&browser.find("#type-post_types-post input.enabled").await)
            .await
    );
    let limit = browser.find("#type-taxonomies-category input.limit").await;
    assert_eq!(browser.property(&limit, "value").await, "250");

    let (_, answer) = plugin.push_structure(integration, &structure()).await;
    let effective = &answer["data"]["content_types"];
    assert_eq!(
        effective["post_types"]["post"]["enabled"], false,
        "{answer}"
    );
    assert_eq!(
        effective["taxonomies"]["category"]["fetch_limit"], 250,
        "{answer}"
    );
    assert_eq!(effective["post_types"]["page"]["enabled"], true);

    // Phone-sized Content Types tab.
    browser.set_window(390, 844).await;
    browser.goto(&types_tab).await;
    browser.find("#content-types-form").await;
    browser.screenshot("06-content-types-phone").await;
    browser.set_window(1280, 900).await;

    // The integration tab: connection, ids, the last error of the plugin's batches, the API docs.
    plugin.send_rejected_markup(integration).await;
    browser
        .goto(&format!("{base}/sites/{site_id}/settings/integration"))
        .await;
    browser
        .wait_for_text("#connection-state", "Connected")
        .await;
    assert_eq!(
        browser.text(&browser.find("#integration-id").await).await,
        integration.to_string()
    );
    assert_eq!(
        browser
            .text(&browser.find("#sync-status").await)
            .await
            .split(' ')
            .next(),
        Some("partial")
    );
    assert_eq!(
        browser.text(&browser.find("#last-error").await).await,
        MARKUP_REJECTION
    );
    browser.screenshot("07-integration").await;
    browser.click(&browser.find("#api-docs-link").await).await;
    browser
        .wait_for_text(
            "#endpoints",
            "/api/v1/integration/integrations/{id}/update-structure/",
        )
        .await;
    browser.screenshot("08-api-docs").await;

    // The sites list shows the connection; the content page shows the sync (the rejection
    // above, nothing received yet) and asks the plugin for a full sync.
    browser.goto(&format!("{base}/sites")).await;
    browser
        .wait_for_text(
            &format!("tr[data-site-id='{site_id}'] .connection"),
            "Connected",
        )
        .await;
    browser
        .wait_for_text(&format!("tr[data-site-id='{site_id}'] .state"), "Active")
        .await;
    browser.screenshot("09-sites").await;
    browser.set_window(390, 844).await;
    browser.screenshot("10-sites-phone").await;
    browser.set_window(1280, 900).await;
    browser
        .goto(&format!("{base}/sites/{site_id}/content"))
        .await;
    browser.wait_for_text("#last-error", MARKUP_REJECTION).await;
    for cell in browser.find_all("#content-counts .synced-count").await {
        assert_eq!(browser.text(&cell).await, "0");
    }
    browser
        .wait_for_text("#no-content", "No content synced yet")
        .await;
    browser.screenshot("11-content").await;
    browser
        .click(&browser.find("#request-full-sync").await)
        .await;
    browser
        .wait_for_text(".notice", "Full sync requested")
        .await;
    browser.wait_for_text("#full-sync-state", "Requested").await;

    // Revoking the key: the page says so and the API refuses it.
    browser
        .goto(&format!("{base}/sites/{site_id}/settings/api-keys"))
        .await;
    let prefix = igny8_domain::api_key::key_prefix(&key).unwrap().to_owned();
    let row = format!("tr[data-prefix='{prefix}']");
    browser
        .click(&browser.find(&format!("{row} button.revoke")).await)
        .await;
    browser.wait_for_text(".notice", "API key revoked").await;
    browser
        .wait_for_text(&format!("{row} .key-state"), "Revoked")
        .await;
    browser.screenshot("12-api-keys-revoked").await;
    let (status, body) = plugin.push_structure(integration, &structure()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("api_key_revoked"))
    );

    // Another account's user sees none of it.
    app.create_user("bob@example.com", "Bob's Shop").await;
    browser.click(&browser.find("#sign-out").await).await;
    browser.wait_for_url("/login").await;
    browser.fill("#email", "bob@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click(&browser.find("#sign-in").await).await;
    browser.wait_for_url("/sites").await;
    browser.find("#no-sites").await;
    assert!(browser
        .find_all(&format!("tr[data-site-id='{site_id}']"))
        .await
        .is_empty());
    browser.goto(&types_tab).await;
    assert!(browser.title().await.starts_with("Page not found"));
    let body = browser.text(&browser.find("main").await).await;
    assert!(
        !body.contains("Acme Blog") && !body.contains("Categories"),
        "{body}"
    );
    browser.screenshot("13-other-account-not-found").await;
}
