//! Two-way sync in the dashboard over plain HTTP: a synced post's page and its edit form, new
//! posts, the trash, the Changes tab with its conflicts and policy; tenancy, CSRF, escaping.
//! Forms are read from the pages and sent back as a browser would.

use igny8_domain::changes::{ChangeStatus, ConflictPolicy};
use igny8_store::{ChangeFilter, ChangeRecord};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::app::{spawn, structure, Page, Plugin, TestApp, Visitor, XSS_LABEL};

pub const T1: &str = "2025-11-22 10:00:00";
const T2: &str = "2025-11-22 12:00:00";
/// The note, as the page's HTML spells it.
pub const TWO_WAY_OFF: &str =
    "Two-way sync is off: the site&#x27;s owner switches it on in WordPress → Settings → IGNY8 API";

/// A signed-in user's connected site with two-way sync on, two categories and post 12 synced.
pub struct Connected {
    pub app: TestApp,
    pub ann: Visitor,
    pub plugin: Plugin,
    pub site: i64,
    pub integration: i64,
}

pub fn two_way_structure(on: bool) -> Value {
    let mut s = structure();
    s["two_way_sync_enabled"] = json!(on);
    s
}

pub fn dune(title: &str, description: &str) -> Value {
    json!({"op": "upsert", "kind": "post", "type": "post", "wp_id": 12, "modified_gmt": T1,
           "data": {"title": title, "slug": "dune", "status": "publish", "content": "<p>Arrakis.</p>\n<p>Spice.</p>",
                    "excerpt": "A desert planet", "author": "Ann", "date_gmt": "2025-11-20 09:00:00",
                    "url": "https://blog.example.com/dune/", "terms": {"category": [3]},
                    "seo": {"title": "Dune | Blog", "description": description, "focus_keyword": "dune",
                            "canonical": null, "robots": "index, follow", "source": "yoast"}}})
}

impl Connected {
    pub async fn new() -> Connected {
        Self::with_post(dune("Dune", "About Dune")).await
    }

    pub async fn with_post(post: Value) -> Connected {
        let app = spawn().await;
        let mut ann = app.signed_in("ann@example.com").await;
        let site = ann.add_site("Blog", "https://blog.example.com").await;
        let key = ann.create_key(site).await;
        let plugin = app.plugin(&key);
        let integration = plugin.connect(site).await;
        let (status, body) = plugin
            .push_structure(integration, &two_way_structure(true))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let term = |id: i64, name: &str| {
            json!({"op": "upsert", "kind": "term", "type": "category", "wp_id": id,
                   "data": {"name": name, "slug": name.to_lowercase(), "parent": 0, "count": 1, "description": ""}})
        };
        let c = Connected {
            app,
            ann,
            plugin,
            site,
            integration,
        };
        c.batch(vec![term(3, "News"), term(7, "Books"), post]).await;
        c
    }

    pub fn api(&self, rest: &str) -> String {
        format!(
            "/api/v1/integration/integrations/{}/{rest}",
            self.integration
        )
    }

    pub async fn batch(&self, items: Vec<Value>) {
        let (status, body) = self
            .plugin
            .post(&self.api("content/batch/"), &json!({"items": items}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["rejected"], 0, "{body}");
    }

    pub fn post_path(&self) -> String {
        format!("/sites/{}/content/post/12", self.site)
    }

    pub fn changes_path(&self) -> String {
        format!("/sites/{}/changes", self.site)
    }

    /// Every change of the integration, oldest first.
    pub async fn changes(&self) -> Vec<ChangeRecord> {
        let (_, mut all) = self
            .app
            .store
            .list_changes(self.integration, ChangeFilter::default(), 0, 100)
            .await
            .unwrap();
        all.reverse();
        all
    }

    /// The plugin's side: pull the pending changes and report one outcome.
    pub async fn report(&self, outcome: Value) {
        let (status, pulled) = self.plugin.get(&self.api("changes/pending/")).await;
        assert_eq!(status, StatusCode::OK, "{pulled}");
        let (status, body) = self
            .plugin
            .post(
                &self.api("changes/results/"),
                &json!({"results": [outcome]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["results"][0]["status"], "recorded", "{body}");
    }

    /// Opens the post's page and sends its edit form with `changes` made to it.
    pub async fn save(&mut self, changes: &[(&str, &str)]) -> Page {
        let page = self.ann.get(&self.post_path()).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let fields = edited(page.form("edit-form"), changes);
        let path = self.post_path();
        self.ann.post_fields(&path, &fields).await
    }
}

/// A form's fields with some values replaced (or added); a field given twice is sent twice.
pub fn edited(
    mut fields: Vec<(String, String)>,
    changes: &[(&str, &str)],
) -> Vec<(String, String)> {
    for (name, value) in changes {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = (*value).to_owned(),
            None => fields.push(((*name).to_owned(), (*value).to_owned())),
        }
    }
    fields
}

fn value_of(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no field {name} in {fields:?}"))
}

#[tokio::test]
async fn a_synced_posts_page_shows_its_fields_and_the_edit_form() {
    let mut c = Connected::new().await;
    let list = c.ann.get(&format!("/sites/{}/content", c.site)).await;
    assert!(list.body.contains(&format!(
        r#"<a href="/sites/{}/content/post/12" class="post-link">Dune</a>"#,
        c.site
    )));
    assert!(list.body.contains(r#"id="new-post""#));

    let page = c.ann.get(&c.post_path()).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(body.contains(r#"<h2 class="post-heading" id="post-title">Dune</h2>"#));
    assert!(body.contains(r#"<dd id="post-modified">2025-11-22 10:00:00</dd>"#));
    assert!(body.contains("<dt>Categories</dt><dd>News</dd>"));
    assert!(body.contains(r#"href="https://blog.example.com/dune/""#));
    assert!(!body.contains(r#"id="post-changes""#), "no changes yet");
    assert!(body.contains(r#"id="trash-button""#));
    assert!(
        body.contains(r#"href="/sites/"#) && body.contains(r#"/changes""#),
        "the Changes tab"
    );
    let form = page.form("edit-form");
    for (name, value) in [
        ("title", "Dune"),
        ("slug", "dune"),
        ("status", "publish"),
        ("date_gmt", "2025-11-20T09:00:00"),
        ("excerpt", "A desert planet"),
        ("content", "<p>Arrakis.</p>\n<p>Spice.</p>"),
        ("seo.title", "Dune | Blog"),
        ("seo.description", "About Dune"),
        ("seo.focus_keyword", "dune"),
        ("seo.canonical", ""),
        ("seo.robots", "index, follow"),
        ("featured_image", ""),
        ("terms.category", "3"),
        ("terms_new.category", ""),
        ("base_modified_gmt", T1),
    ] {
        assert_eq!(value_of(&form, name), value, "{name}");
    }
    assert_eq!(
        form.iter().filter(|(n, _)| n == "terms.category").count(),
        1,
        "Books is offered but not checked"
    );
    assert!(body.contains(r#"id="term-category-7""#));
    let shown: Value = serde_json::from_str(&value_of(&form, "shown")).unwrap();
    assert_eq!(shown["title"], "Dune");
    assert_eq!(shown["seo"]["description"], "About Dune");
    assert_eq!(shown["terms"]["category"], json!([3]));
    assert!(
        shown.get("content").is_none(),
        "the content travels as a digest"
    );
    assert!(!value_of(&form, "idempotency_key").is_empty());
    assert!(!value_of(&form, "content_sha256").is_empty());

    // Unknown posts, types and ids are not found.
    for path in [
        format!("/sites/{}/content/post/99", c.site),
        format!("/sites/{}/content/Bad%20Type/12", c.site),
        format!("/sites/{}/content/post/-1", c.site),
    ] {
        assert_eq!(
            c.ann.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn saving_sends_only_the_changed_fields_based_on_what_the_form_showed() {
    let mut c = Connected::new().await;
    let page = c.ann.get(&c.post_path()).await;
    let form = page.form("edit-form");
    // A browser sends textareas with CRLF line ends and dates without seconds: still unchanged.
    let fields = edited(
        form.clone(),
        &[
            ("title", "Dune, reread"),
            ("seo.description", "A desert planet."),
            ("content", "<p>Arrakis.</p>\r\n<p>Spice.</p>"),
            ("date_gmt", "2025-11-20T09:00"),
        ],
    );
    let saved = c.ann.post_fields(&c.post_path(), &fields).await;
    saved.assert_redirect(&format!("{}?done=change-queued", c.post_path()));

    let changes = c.changes().await;
    assert_eq!(changes.len(), 1);
    let change = &changes[0];
    assert_eq!(change.op.as_str(), "update");
    assert_eq!(change.wp_id, Some(12));
    assert_eq!(
        change.fields,
        json!({"title": "Dune, reread", "seo": {"description": "A desert planet."}})
    );
    assert_eq!(
        change.base,
        json!({"title": "Dune", "seo": {"description": "About Dune"}})
    );
    assert_eq!(change.base_modified_gmt.as_deref(), Some(T1));
    assert_eq!(
        change.idempotency_key.as_deref(),
        Some(value_of(&form, "idempotency_key").as_str())
    );
    assert_eq!(
        change.created_by,
        Some(
            c.app
                .store
                .user_by_email("ann@example.com")
                .await
                .unwrap()
                .unwrap()
                .id
        )
    );

    let after = c
        .ann
        .get(&format!("{}?done=change-queued", c.post_path()))
        .await;
    assert!(after.body.contains("Change sent to WordPress."));
    assert!(after
        .body
        .contains(r#"<span class="badge wait change-status">Pending</span>"#));
    assert!(after.body.contains("data-pending"));
    assert!(
        after
            .body
            .contains(r#"<noscript><meta http-equiv="refresh" content="3"></noscript>"#),
        "without JavaScript the page refreshes itself while a change is pending"
    );
    // The form starts from the queued values, so the next edit builds on this one.
    let next = after.form("edit-form");
    assert_eq!(value_of(&next, "title"), "Dune, reread");
    assert_ne!(
        value_of(&next, "idempotency_key"),
        value_of(&form, "idempotency_key")
    );

    // An untouched form sends nothing.
    let same = c.ann.post_fields(&c.post_path(), &next).await;
    same.assert_redirect(&format!("{}?done=nothing-to-send", c.post_path()));
    assert!(c
        .ann
        .get(&format!("{}?done=nothing-to-send", c.post_path()))
        .await
        .body
        .contains("Nothing changed"));
    assert_eq!(c.changes().await.len(), 1);

    // WordPress applies it: the page says so and stops refreshing.
    c.report(json!({"id": change.id, "status": "applied", "wp_id": 12, "modified_gmt": T2, "overwritten": {}}))
        .await;
    let applied = c.ann.get(&c.post_path()).await;
    assert!(applied
        .body
        .contains(r#"<span class="badge ok change-status">Applied in WordPress</span>"#));
    assert!(!applied.body.contains("http-equiv=\"refresh\""));
}

#[tokio::test]
async fn a_form_sent_twice_queues_one_change() {
    let mut c = Connected::new().await;
    let page = c.ann.get(&c.post_path()).await;
    let fields = edited(page.form("edit-form"), &[("seo.focus_keyword", "arrakis")]);
    c.ann
        .post_fields(&c.post_path(), &fields)
        .await
        .assert_redirect(&format!("{}?done=change-queued", c.post_path()));
    c.ann
        .post_fields(&c.post_path(), &fields)
        .await
        .assert_redirect(&format!("{}?done=already-queued", c.post_path()));
    assert_eq!(c.changes().await.len(), 1);
    let again = c
        .ann
        .get(&format!("{}?done=already-queued", c.post_path()))
        .await;
    assert!(again.body.contains("This form was sent before"));
}

#[tokio::test]
async fn terms_go_by_id_and_new_names() {
    let mut c = Connected::new().await;
    let page = c.ann.get(&c.post_path()).await;
    let mut fields: Vec<(String, String)> = page
        .form("edit-form")
        .into_iter()
        .filter(|(n, _)| n != "terms.category")
        .collect();
    fields.push(("terms.category".into(), "7".into()));
    let fields = edited(fields, &[("terms_new.category", "Sequels, Classics")]);
    c.ann
        .post_fields(&c.post_path(), &fields)
        .await
        .assert_redirect(&format!("{}?done=change-queued", c.post_path()));
    let change = &c.changes().await[0];
    assert_eq!(
        change.fields,
        json!({"terms": {"category": [7, "Sequels", "Classics"]}})
    );
    assert_eq!(change.base, json!({"terms": {"category": [3]}}));
}

#[tokio::test]
async fn new_posts_and_the_trash_queue_their_ops() {
    let mut c = Connected::new().await;
    let path = format!("/sites/{}/content/new", c.site);
    let page = c.ann.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    let form = page.form("new-post-form");
    assert_eq!(value_of(&form, "type"), "post");
    assert_eq!(value_of(&form, "status"), "draft");
    assert!(page.body.contains(r#"<option value="book">"#));

    let scheduled = edited(
        form.clone(),
        &[("title", "Children of Dune"), ("status", "future")],
    );
    let refused = c.ann.post_fields(&path, &scheduled).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused
        .body
        .contains("Choose when to publish a scheduled post."));
    assert!(
        refused.body.contains(r#"value="Children of Dune""#),
        "input kept"
    );
    assert!(c.changes().await.is_empty());

    let mut fields = edited(
        scheduled,
        &[
            ("date_gmt", "2030-01-02T03:04"),
            ("terms_new.category", "Sequels"),
            ("seo.description", "The sequel."),
            ("featured_image", "https://img.example.com/children.png"),
            ("content", "<p>Paul is gone.</p>"),
        ],
    );
    fields.push(("terms.category".into(), "7".into()));
    c.ann
        .post_fields(&path, &fields)
        .await
        .assert_redirect(&format!("/sites/{}/changes?done=post-queued", c.site));
    let created = &c.changes().await[0];
    assert_eq!(created.op.as_str(), "create");
    assert_eq!(created.type_name, "post");
    assert_eq!(created.wp_id, None);
    assert_eq!(
        created.fields,
        json!({"title": "Children of Dune", "status": "future", "date_gmt": "2030-01-02 03:04:00",
               "content": "<p>Paul is gone.</p>", "featured_image": "https://img.example.com/children.png",
               "seo": {"description": "The sequel."}, "terms": {"category": [7, "Sequels"]}})
    );
    // Sent again, the same form creates nothing more.
    c.ann
        .post_fields(&path, &fields)
        .await
        .assert_redirect(&format!("/sites/{}/changes?done=already-queued", c.site));
    let tab = c
        .ann
        .get(&format!("/sites/{}/changes?done=post-queued", c.site))
        .await;
    assert!(tab.body.contains("New post sent to WordPress."));
    assert!(tab.body.contains("New post"));

    // The trash: one button behind a confirmation, op trash, no fields.
    let page = c.ann.get(&c.post_path()).await;
    assert!(page.body.contains("<summary>Move to trash…</summary>"));
    let trash = page.form("trash-button");
    let to = format!("{}/trash", c.post_path());
    c.ann
        .post_fields(&to, &trash)
        .await
        .assert_redirect(&format!("{}?done=trash-queued", c.post_path()));
    let changes = c.changes().await;
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[1].op.as_str(), "trash");
    assert_eq!(changes[1].wp_id, Some(12));
    assert_eq!(changes[1].fields, json!({}));
    let page = c.ann.get(&c.post_path()).await;
    assert!(
        !page.body.contains(r#"id="trash-button""#),
        "no second trash while one is pending"
    );
    assert!(page.body.contains("Move to trash</strong>"));
}

#[tokio::test]
async fn with_two_way_sync_off_the_forms_give_way_to_the_note_and_saving_is_refused() {
    let mut c = Connected::new().await;
    let form = c.ann.get(&c.post_path()).await.form("edit-form");
    c.plugin
        .push_structure(c.integration, &two_way_structure(false))
        .await;
    let page = c.ann.get(&c.post_path()).await;
    assert!(page.body.contains(TWO_WAY_OFF));
    assert!(!page.body.contains(r#"id="edit-form""#));
    assert!(!page.body.contains(r#"id="trash-button""#));
    let new = c.ann.get(&format!("/sites/{}/content/new", c.site)).await;
    assert!(new.body.contains(TWO_WAY_OFF));
    assert!(!new.body.contains(r#"id="new-post-form""#));
    assert!(c
        .ann
        .get(&c.changes_path())
        .await
        .body
        .contains(TWO_WAY_OFF));

    let refused = c
        .ann
        .post_fields(&c.post_path(), &edited(form, &[("title", "Dune II")]))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("Two-way sync is off for this site"));
    assert!(c.changes().await.is_empty());

    // A change WordPress refused for the same reason says so.
    c.plugin
        .push_structure(c.integration, &two_way_structure(true))
        .await;
    c.save(&[("title", "Dune II")])
        .await
        .assert_redirect(&format!("{}?done=change-queued", c.post_path()));
    let id = c.changes().await[0].id;
    c.report(json!({"id": id, "status": "refused", "reason": "two_way_sync_disabled"}))
        .await;
    let page = c.ann.get(&c.post_path()).await;
    assert!(page.body.contains("Refused by WordPress"));
    assert!(page.body.contains(&format!(
        r#"<p class="error-text change-reason">{TWO_WAY_OFF}.</p>"#
    )));
}

#[tokio::test]
async fn an_inactive_sites_forms_are_disabled_and_refused() {
    let mut c = Connected::new().await;
    let form = c.ann.get(&c.post_path()).await.form("edit-form");
    c.app.store.set_site_active(c.site, false).await.unwrap();
    let page = c.ann.get(&c.post_path()).await;
    assert!(page
        .body
        .contains("This site is deactivated: activate it before asking its plugin for anything."));
    assert!(page.body.contains(r#"<fieldset class="plain" disabled>"#));
    assert!(!page.body.contains(r#"id="trash-button""#));
    let refused = c
        .ann
        .post_fields(&c.post_path(), &edited(form, &[("title", "Dune II")]))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("This site is deactivated in IGNY8"));
    assert!(c.changes().await.is_empty());
    let tab = c.ann.get(&c.changes_path()).await;
    assert!(tab.body.contains(r#"<fieldset class="plain" disabled>"#));
}

#[tokio::test]
async fn problems_show_beside_their_fields_and_the_input_is_kept() {
    let mut c = Connected::new().await;
    let page = c
        .save(&[
            ("title", "Dune, kept"),
            ("featured_image", "javascript:alert(1)"),
            ("status", "inherit"),
        ])
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"id="form-problems""#));
    assert!(page
        .body
        .contains("Featured image URL: Must be an http(s) URL of an image, or null to remove it."));
    assert!(page.body.contains(
        r#"<p class="field-error">Must be one of draft, pending, publish, future, private, trash.</p>"#
    ));
    let kept = page.form("edit-form");
    assert_eq!(value_of(&kept, "title"), "Dune, kept");
    assert_eq!(value_of(&kept, "featured_image"), "javascript:alert(1)");
    assert!(c.changes().await.is_empty());

    // Fixed, the same form (its key unused so far) goes through.
    let fixed = edited(kept, &[("featured_image", ""), ("status", "publish")]);
    c.ann
        .post_fields(&c.post_path(), &fixed)
        .await
        .assert_redirect(&format!("{}?done=change-queued", c.post_path()));
    assert_eq!(c.changes().await[0].fields, json!({"title": "Dune, kept"}));

    // Content edited in WordPress since the form was opened is not overwritten blindly.
    let form = c.ann.get(&c.post_path()).await.form("edit-form");
    let mut moved = dune("Dune, kept", "About Dune");
    moved["modified_gmt"] = json!(T2);
    moved["data"]["content"] = json!("<p>Rewritten in WordPress.</p>");
    c.batch(vec![moved]).await;
    let stale = c
        .ann
        .post_fields(
            &c.post_path(),
            &edited(form, &[("content", "<p>Mine.</p>")]),
        )
        .await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(stale
        .body
        .contains("Content: Changed since this page was opened"));
    assert_eq!(c.changes().await.len(), 1);
}

#[tokio::test]
async fn another_accounts_user_finds_none_of_the_new_pages() {
    let mut c = Connected::new().await;
    c.save(&[("title", "Dune II")]).await;
    let cid = c.changes().await[0].id;
    let mut bob = c.app.signed_in("bob@example.com").await;
    let csrf = bob.get("/sites").await.csrf();
    for path in [
        c.post_path(),
        format!("/sites/{}/content/new", c.site),
        c.changes_path(),
    ] {
        let page = bob.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.body.contains("Dune"), "{path}");
    }
    for path in [
        c.post_path(),
        format!("{}/trash", c.post_path()),
        format!("/sites/{}/content/new", c.site),
        format!("/sites/{}/changes/policy", c.site),
        format!("/sites/{}/changes/{cid}/cancel", c.site),
        format!("/sites/{}/changes/{cid}/resolve", c.site),
    ] {
        let page = bob
            .post(
                &path,
                &[
                    ("csrf", &csrf),
                    ("type", "post"),
                    ("title", "Bob's"),
                    ("status", "draft"),
                    ("policy", "platform_wins"),
                    ("shown", "{}"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    let changes = c.changes().await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].status, ChangeStatus::Pending);
    let integration = c
        .app
        .store
        .integration(c.integration)
        .await
        .unwrap()
        .unwrap();
    assert!(integration.config_json.get("conflict_policy").is_none());
}

#[tokio::test]
async fn forms_without_the_csrf_token_change_nothing() {
    let mut c = Connected::new().await;
    c.save(&[("title", "Dune II")]).await;
    let cid = c.changes().await[0].id;
    let form: Vec<(String, String)> = c
        .ann
        .get(&c.post_path())
        .await
        .form("edit-form")
        .into_iter()
        .filter(|(n, _)| n != "csrf")
        .collect();
    let edited_form = edited(form, &[("title", "Dune III")]);
    for path in [
        c.post_path(),
        format!("{}/trash", c.post_path()),
        format!("/sites/{}/content/new", c.site),
        format!("/sites/{}/changes/policy", c.site),
        format!("/sites/{}/changes/{cid}/cancel", c.site),
        format!("/sites/{}/changes/{cid}/resolve", c.site),
    ] {
        let page = c.ann.post_fields(&path, &edited_form).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("This form could not be accepted"));
    }
    let changes = c.changes().await;
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].status, ChangeStatus::Pending);
}

#[tokio::test]
async fn hostile_values_are_escaped_on_the_new_pages() {
    let hostile = "<script>alert('x')</script>";
    let mut c = Connected::with_post(dune(XSS_LABEL, hostile)).await;
    c.save(&[("seo.focus_keyword", hostile)]).await;
    let first = c.changes().await[0].id;
    c.report(json!({"id": first, "status": "rejected", "reason": format!("terms.category: {XSS_LABEL}")}))
        .await;
    c.save(&[("title", hostile)]).await;
    let second = c.changes().await[1].id;
    c.report(
        json!({"id": second, "status": "conflict", "wp_id": 12, "modified_gmt": T2,
                    "conflicts": {"title": {"wordpress": XSS_LABEL}}}),
    )
    .await;
    for path in [
        c.post_path(),
        c.changes_path(),
        format!("/sites/{}/content/new", c.site),
        format!("/sites/{}/content", c.site),
    ] {
        let page = c.ann.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.body.contains(XSS_LABEL), "{path} renders markup");
        assert!(!page.body.contains("<script>alert"), "{path} runs a script");
    }
    let tab = c.ann.get(&c.changes_path()).await;
    assert!(tab
        .body
        .contains("terms.category: &lt;img src=x onerror=alert(1)&gt;"));
    assert!(tab
        .body
        .contains(r#"<td data-label="WordPress now" class="value conflict-wordpress">&lt;img src=x onerror=alert(1)&gt;</td>"#));
    // What the form carries back is the value itself, not markup.
    let form = c.ann.get(&c.post_path()).await.form("edit-form");
    assert_eq!(value_of(&form, "seo.description"), hostile);
}

#[tokio::test]
async fn the_changes_tab_lists_filters_pages_and_cancels() {
    let mut c = Connected::new().await;
    c.save(&[("title", "Dune II")]).await;
    c.save(&[("seo.robots", "noindex")]).await;
    let changes = c.changes().await;
    assert_eq!(changes.len(), 2);
    c.report(
        json!({"id": changes[0].id, "status": "applied", "wp_id": 12, "modified_gmt": T2,
                    "overwritten": {"title": "Dune (edited in WordPress)"}}),
    )
    .await;

    let tab = c.ann.get(&c.changes_path()).await;
    assert_eq!(tab.status, StatusCode::OK);
    let body = &tab.body;
    assert!(body.contains(r#"aria-current="page">Changes</a>"#));
    assert!(body.contains("2 changes, newest first."));
    let newest = body
        .find(&format!(r#"id="change-{}""#, changes[1].id))
        .unwrap();
    let oldest = body
        .find(&format!(r#"id="change-{}""#, changes[0].id))
        .unwrap();
    assert!(newest < oldest);
    assert!(body.contains("Applied in WordPress"));
    assert!(
        body.contains("<dt>Title</dt><dd class=\"value\">Dune (edited in WordPress)</dd>"),
        "what IGNY8 overwrote"
    );
    assert!(body.contains("<dt>Robots</dt><dd class=\"value\">noindex</dd>"));
    assert!(body.contains(&format!(r#"href="/sites/{}/content/post/12""#, c.site)));
    assert!(body.contains("1 delivery"));

    let pending = c
        .ann
        .get(&format!("{}?status=pending", c.changes_path()))
        .await;
    assert!(pending.body.contains("1 change, newest first."));
    assert!(pending
        .body
        .contains(r#"<option value="pending" selected>"#));
    assert!(!pending
        .body
        .contains(&format!(r#"id="change-{}""#, changes[0].id)));
    let none = c
        .ann
        .get(&format!("{}?status=conflict", c.changes_path()))
        .await;
    assert!(none.body.contains("No change matches."));

    // Cancel the pending one; a second cancel finds it no longer pending.
    let form = pending.form(&format!("cancel-{}", changes[1].id));
    let to = format!("{}/{}/cancel", c.changes_path(), changes[1].id);
    c.ann
        .post_fields(&to, &form)
        .await
        .assert_redirect(&format!("{}?done=change-cancelled", c.changes_path()));
    assert_eq!(c.changes().await[1].status, ChangeStatus::Cancelled);
    c.ann
        .post_fields(&to, &form)
        .await
        .assert_redirect(&format!("{}?done=not-pending", c.changes_path()));
    let tab = c.ann.get(&c.changes_path()).await;
    assert!(tab
        .body
        .contains(r#"<span class="badge none change-status">Cancelled</span>"#));
    assert!(!tab.body.contains("data-pending"));

    // From the post's page the cancel button comes back to the post.
    c.save(&[("slug", "dune-2")]).await;
    let third = c.changes().await[2].id;
    let page = c.ann.get(&c.post_path()).await;
    let form = page.form(&format!("cancel-{third}"));
    assert_eq!(value_of(&form, "from"), "post");
    c.ann
        .post_fields(&format!("{}/{third}/cancel", c.changes_path()), &form)
        .await
        .assert_redirect(&format!("{}?done=change-cancelled", c.post_path()));

    // Paging: 25 a page.
    for i in 0..25 {
        c.save(&[("seo.robots", &format!("noindex {i}"))]).await;
    }
    let first_page = c.ann.get(&c.changes_path()).await;
    assert!(first_page
        .body
        .contains("28 changes, page 1 of 2, newest first."));
    assert_eq!(
        first_page
            .body
            .matches(r#"<article class="change""#)
            .count(),
        25
    );
    assert!(first_page.body.contains(r#"id="next-page""#));
    let second = c.ann.get(&format!("{}?page=2", c.changes_path())).await;
    assert_eq!(second.body.matches(r#"<article class="change""#).count(), 3);
}

#[tokio::test]
async fn a_conflict_shows_three_values_and_resolving_sends_the_choices() {
    let mut c = Connected::new().await;
    c.save(&[
        ("title", "Dune, reread"),
        ("seo.description", "A desert planet."),
        ("excerpt", "Spice must flow"),
    ])
    .await;
    let id = c.changes().await[0].id;
    c.report(
        json!({"id": id, "status": "conflict", "wp_id": 12, "modified_gmt": T2,
                    "conflicts": {"title": {"wordpress": "Dune (WordPress)"},
                                  "seo.description": {"wordpress": "Edited in Yoast"}}}),
    )
    .await;

    let post = c.ann.get(&c.post_path()).await;
    assert!(post.body.contains("Conflict: choose per field"));
    assert!(post
        .body
        .contains(&format!(r#"/changes?status=conflict#change-{id}""#)));
    assert!(
        !post.body.contains("resolve-form"),
        "choices are made in the Changes tab"
    );

    let tab = c.ann.get(&c.changes_path()).await;
    let body = &tab.body;
    for (class, value) in [
        ("conflict-base", "Dune"),
        ("conflict-wordpress", "Dune (WordPress)"),
        ("conflict-igny8", "Dune, reread"),
        ("conflict-base", "About Dune"),
        ("conflict-wordpress", "Edited in Yoast"),
        ("conflict-igny8", "A desert planet."),
    ] {
        assert!(
            body.contains(&format!(r#"class="value {class}">{value}</td>"#)),
            "{class} {value}"
        );
    }
    assert!(body.contains(&format!(r#"id="choice-{id}-title-platform""#)));
    assert!(body.contains(&format!(r#"id="choice-{id}-seo-description-wordpress""#)));

    // Every conflicting field needs a choice; the one made is kept on the page.
    let form = tab.form(&format!("resolve-{id}"));
    let to = format!("{}/{id}/resolve", c.changes_path());
    let partial = edited(form.clone(), &[("choice.title", "platform")]);
    let refused = c.ann.post_fields(&to, &partial).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused
        .body
        .contains(&format!("Change #{id}: SEO description: Needs a choice.")));
    assert!(refused
        .body
        .contains(&format!(r#"id="choice-{id}-title-platform" checked"#)));
    assert_eq!(c.changes().await.len(), 1);

    let choices = edited(
        form,
        &[
            ("choice.title", "platform"),
            ("choice.seo.description", "wordpress"),
        ],
    );
    c.ann
        .post_fields(&to, &choices)
        .await
        .assert_redirect(&format!("{}?done=conflict-resolved", c.changes_path()));
    let changes = c.changes().await;
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].status, ChangeStatus::Resolved);
    let next = &changes[1];
    assert_eq!(next.status, ChangeStatus::Pending);
    assert_eq!(next.op.as_str(), "update");
    // IGNY8's title, and (policy manual: nothing was applied) the field that did not conflict.
    assert_eq!(
        next.fields,
        json!({"title": "Dune, reread", "excerpt": "Spice must flow"})
    );
    assert_eq!(
        next.base,
        json!({"title": "Dune (WordPress)", "excerpt": "A desert planet"})
    );
    let tab = c
        .ann
        .get(&format!("{}?done=conflict-resolved", c.changes_path()))
        .await;
    assert!(tab.body.contains("Conflict resolved"));
    assert!(tab.body.contains(&format!("Sent as change #{}.", next.id)));
    assert!(tab.body.contains(
        "Resolved: SEO description: WordPress&#x27;s value kept; Title: IGNY8&#x27;s value."
    ));
    let again = c.ann.post_fields(&to, &choices).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("not in conflict"));
}

#[tokio::test]
async fn the_conflict_policy_is_chosen_in_the_tab() {
    let mut c = Connected::new().await;
    let tab = c.ann.get(&c.changes_path()).await;
    assert!(tab.body.contains(r#"id="policy-manual" checked"#));
    for words in ["Manual", "Merge", "IGNY8 wins", "WordPress wins"] {
        assert!(tab.body.contains(&format!("<strong>{words}</strong>")));
    }
    let form = tab.form("save-policy");
    let to = format!("{}/policy", c.changes_path());
    let bad = c
        .ann
        .post_fields(&to, &edited(form.clone(), &[("policy", "coin_flip")]))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    c.ann
        .post_fields(&to, &edited(form, &[("policy", "merge")]))
        .await
        .assert_redirect(&format!("{}?done=policy-saved", c.changes_path()));
    let integration = c
        .app
        .store
        .integration(c.integration)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(integration.config_json["conflict_policy"], "merge");
    assert!(c
        .ann
        .get(&c.changes_path())
        .await
        .body
        .contains(r#"id="policy-merge" checked"#));
    c.save(&[("title", "Dune II")]).await;
    assert_eq!(c.changes().await[0].policy, ConflictPolicy::Merge);
}

#[tokio::test]
async fn only_a_posts_form_may_carry_a_post_sized_body() {
    let mut c = Connected::new().await;
    // 200 KiB of content in the edit form is a post like any other.
    let big = format!("<p>{}</p>", "Arrakis. ".repeat(200 * 1024 / 9));
    let form = c.ann.get(&c.post_path()).await.form("edit-form");
    let saved = c
        .ann
        .post_fields(&c.post_path(), &edited(form, &[("content", &big)]))
        .await;
    saved.assert_redirect(&format!("{}?done=change-queued", c.post_path()));
    assert_eq!(c.changes().await[0].fields["content"], json!(big));

    // Any other form is a few fields: the same size there is refused, with its genuine token.
    let csrf = c.ann.get("/sites").await.csrf();
    let oversized = c
        .ann
        .post(
            "/sites",
            &[
                ("csrf", &csrf),
                ("name", &big),
                ("url", "https://b.example"),
            ],
        )
        .await;
    assert_eq!(oversized.status, StatusCode::FORBIDDEN);
    assert!(oversized.body.contains("This form could not be accepted"));

    // Without the cookie that keys a form's token, the form is refused before its body is read:
    // the answer comes while most of the body it announced has not been sent.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = c.app.address.trim_start_matches("http://");
    let mut stranger = tokio::net::TcpStream::connect(host).await.unwrap();
    stranger
        .write_all(
            format!(
                "POST /login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: 1000000\r\n\r\nemail=a%40b.c&password=x&csrf=x&filler="
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut head = [0u8; 12];
    tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stranger.read_exact(&mut head),
    )
    .await
    .expect("refused without waiting for the body")
    .unwrap();
    assert_eq!(&head, b"HTTP/1.1 403");
}
