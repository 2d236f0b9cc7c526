//! Two-way sync in a real browser: an SEO edit watched from Pending to Applied while the plugin
//! (played by the test with the site's key) applies it, without a reload; and a conflict resolved
//! field by field in the Changes tab. Screenshots land in `target/screenshots/`.

use serde_json::{json, Value};

use crate::app::PASSWORD;
use crate::browser::Browser;
use crate::two_way::{Connected, T1};

const T2: &str = "2025-11-22 12:00:00";

async fn signed_in_browser(c: &Connected) -> Browser {
    let browser = Browser::start().await;
    browser.goto(&format!("{}/login", c.app.address)).await;
    browser.fill("#email", "ann@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click(&browser.find("#sign-in").await).await;
    browser.wait_for_url("/sites").await;
    browser
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_seo_edit_turns_from_pending_to_applied_without_a_reload() {
    let c = Connected::new().await;
    let browser = signed_in_browser(&c).await;
    browser
        .goto(&format!("{}/sites/{}/content", c.app.address, c.site))
        .await;
    browser.click(&browser.find("a.post-link").await).await;
    browser.wait_for_url(&c.post_path()).await;
    browser.find("#edit-form").await;
    browser.screenshot("20-post").await;

    browser
        .fill("#seo-description", "A desert planet, reread.")
        .await;
    browser.click(&browser.find("#save-post").await).await;
    browser.wait_for_url("?done=change-queued").await;
    browser
        .wait_for_text("#post-changes .change-status", "Pending")
        .await;
    browser.screenshot("21-post-pending").await;
    // The browser sent the whole form; only the edited field became the change.
    let changes = c.changes().await;
    assert_eq!(changes.len(), 1);
    let change = &changes[0];
    assert_eq!(
        change.fields,
        json!({"seo": {"description": "A desert planet, reread."}})
    );
    assert_eq!(change.base, json!({"seo": {"description": "About Dune"}}));
    assert_eq!(change.base_modified_gmt.as_deref(), Some(T1));

    // The plugin pulls and applies it; the open page turns without being reloaded.
    browser
        .execute("window.igny8StillHere = true; return true;")
        .await;
    c.report(json!({"id": change.id, "status": "applied", "wp_id": 12, "modified_gmt": T2, "overwritten": {}}))
        .await;
    browser
        .wait_for_text("#post-changes .change-status", "Applied in WordPress")
        .await;
    assert_eq!(
        browser
            .execute("return window.igny8StillHere === true;")
            .await,
        Value::Bool(true),
        "the page was updated in place, not reloaded"
    );
    assert!(!browser.alert_open().await);
    browser.screenshot("22-post-applied").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_resolved_field_by_field_in_the_changes_tab() {
    let mut c = Connected::new().await;
    c.save(&[
        ("title", "Dune, reread"),
        ("seo.description", "A desert planet."),
    ])
    .await;
    let id = c.changes().await[0].id;
    c.report(
        json!({"id": id, "status": "conflict", "wp_id": 12, "modified_gmt": T2,
                    "conflicts": {"title": {"wordpress": "Dune (WordPress)"},
                                  "seo.description": {"wordpress": "Edited in Yoast"}}}),
    )
    .await;

    let browser = signed_in_browser(&c).await;
    browser
        .goto(&format!("{}{}", c.app.address, c.post_path()))
        .await;
    browser
        .wait_for_text("#post-changes .change-status", "Conflict")
        .await;
    browser
        .click(&browser.find("#post-changes a.button").await)
        .await;
    browser.wait_for_url(&format!("#change-{id}")).await;
    let row = format!("#change-{id} tr[data-field='choice.title']");
    assert_eq!(
        browser
            .text(&browser.find(&format!("{row} .conflict-base")).await)
            .await,
        "Dune"
    );
    assert_eq!(
        browser
            .text(&browser.find(&format!("{row} .conflict-wordpress")).await)
            .await,
        "Dune (WordPress)"
    );
    assert_eq!(
        browser
            .text(&browser.find(&format!("{row} .conflict-igny8")).await)
            .await,
        "Dune, reread"
    );
    browser.screenshot("23-changes-conflict").await;

    browser
        .click(&browser.find(&format!("#choice-{id}-title-platform")).await)
        .await;
    browser
        .click(
            &browser
                .find(&format!("#choice-{id}-seo-description-wordpress"))
                .await,
        )
        .await;
    browser
        .click(&browser.find(&format!("#resolve-{id}")).await)
        .await;
    browser.wait_for_text(".notice", "Conflict resolved").await;
    browser
        .wait_for_text(&format!("#change-{id} .change-status"), "Resolved")
        .await;
    let changes = c.changes().await;
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1].fields, json!({"title": "Dune, reread"}));
    assert_eq!(changes[1].base, json!({"title": "Dune (WordPress)"}));
    browser
        .wait_for_text(
            &format!("#change-{} .change-status", changes[1].id),
            "Pending",
        )
        .await;
    browser.screenshot("24-changes-resolved").await;
    browser.set_window(390, 844).await;
    browser.screenshot("25-changes-phone").await;
}
