//! The dashboard over plain HTTP: redirects, cookies, CSRF, tenancy, escaping, forms.

use igny8_server::Settings;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::app::{spawn, spawn_with, structure, PASSWORD, XSS_LABEL};

const SITE_PAGES: [&str; 4] = [
    "settings/integration",
    "settings/api-keys",
    "settings/content-types",
    "content",
];

#[tokio::test]
async fn a_fresh_install_shows_the_setup_once() {
    let app = spawn().await;
    let mut first = app.visitor();
    let setup = first.get("/").await;
    assert_eq!(setup.status, StatusCode::OK);
    assert!(setup.body.contains("Welcome to IGNY8"));
    assert!(
        setup.set_cookie("igny8_form").is_some(),
        "the setup form is keyed by a cookie"
    );

    let mismatch = first
        .submit(
            "/",
            "/",
            &[
                ("account_name", "Acme"),
                ("email", "ann@example.com"),
                ("password", PASSWORD),
                ("password_again", "other one"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.body.contains("Does not match the password."));
    assert!(
        mismatch.body.contains(r#"value="ann@example.com""#),
        "what was typed is kept"
    );

    let created = first
        .submit(
            "/",
            "/",
            &[
                ("account_name", "Acme"),
                ("email", "Ann@Example.com"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        )
        .await;
    created.assert_redirect("/sites");
    assert!(
        created.set_cookie("igny8_session").is_some(),
        "setup signs the new user in"
    );
    assert!(first.get("/sites").await.body.contains("ann@example.com"));
    first.get("/").await.assert_redirect("/sites");

    // The setup page is gone for good: others are sent to sign in, and a replayed form creates nothing.
    let mut second = app.visitor();
    second.get("/").await.assert_redirect("/login");
    let form = second.get("/login").await;
    let csrf = form.csrf();
    let replay = second
        .post(
            "/",
            &[
                ("csrf", &csrf),
                ("account_name", "Evil"),
                ("email", "eve@example.com"),
                ("password", PASSWORD),
                ("password_again", PASSWORD),
            ],
        )
        .await;
    replay.assert_redirect("/login");
    assert_eq!(app.store.count_users().await.unwrap(), 1);
}

#[tokio::test]
async fn setup_form_shows_each_problem_beside_its_field() {
    let app = spawn().await;
    let mut v = app.visitor();
    let page = v
        .submit(
            "/",
            "/",
            &[
                ("account_name", " "),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_again", "short"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("Must not be empty."));
    assert!(page
        .body
        .contains("Must be an email address such as you@example.com."));
    assert!(page.body.contains("Must be at least 8 characters."));
    assert_eq!(app.store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in() {
    let app = spawn().await;
    app.create_user("ann@example.com", "Acme").await;
    let mut v = app.visitor();
    v.get("/").await.assert_redirect("/login");
    v.get("/sites").await.assert_redirect("/login");
    v.get("/logout").await.assert_redirect("/login");
    for tab in SITE_PAGES {
        v.get(&format!("/sites/1/{tab}"))
            .await
            .assert_redirect("/login");
    }
    let login = v.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains(r#"id="login-form""#));
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site() {
    let app = spawn().await;
    app.create_user("ann@example.com", "Acme").await;
    let mut v = app.visitor();
    let signed_in = v.sign_in("ann@example.com", PASSWORD).await;
    let cookie = signed_in.set_cookie("igny8_session").unwrap();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain http by default: {cookie}"
    );
    let page = v.get("/sites").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));

    let secure = spawn_with(Settings {
        secure_cookies: true,
        ..Settings::default()
    })
    .await;
    secure.create_user("ann@example.com", "Acme").await;
    let mut v = secure.visitor();
    let cookie = v
        .sign_in("ann@example.com", PASSWORD)
        .await
        .set_cookie("igny8_session")
        .unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = spawn().await;
    let mut v = app.signed_in("ann@example.com").await;
    // Ann is signed in on a second browser too, and someone copied her first cookie.
    let mut other = app.visitor();
    other.sign_in("ann@example.com", PASSWORD).await;
    let mut thief = app.visitor();
    thief.cookies = v.cookies.clone();
    assert_eq!(thief.get("/sites").await.status, StatusCode::OK);
    let csrf = v.get("/sites").await.csrf();
    let out = v.post("/logout", &[("csrf", &csrf)]).await;
    out.assert_redirect("/login");
    assert!(out
        .set_cookie("igny8_session")
        .unwrap()
        .contains("Max-Age=0"));
    v.get("/sites").await.assert_redirect("/login");
    // Signing out ends every session of the user: the copied cookie and the other browser's.
    thief.get("/sites").await.assert_redirect("/login");
    other.get("/sites").await.assert_redirect("/login");
    // Signing in again works at once.
    v.sign_in("ann@example.com", PASSWORD).await;
    assert_eq!(v.get("/sites").await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_read_the_same() {
    let app = spawn().await;
    app.create_user("ann@example.com", "Acme").await;
    let mut v = app.visitor();
    let wrong = v
        .submit(
            "/login",
            "/login",
            &[("email", "ann@example.com"), ("password", "wrong password")],
        )
        .await;
    let unknown = v
        .submit(
            "/login",
            "/login",
            &[("email", "bob@example.com"), ("password", PASSWORD)],
        )
        .await;
    for page in [&wrong, &unknown] {
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.body.contains("The email or password is wrong."));
        assert!(page.set_cookie("igny8_session").is_none());
    }
}

#[tokio::test]
async fn sign_in_is_rate_limited_with_the_wait() {
    let app = spawn_with(Settings {
        login_limit_per_email: 2,
        ..Settings::default()
    })
    .await;
    app.create_user("ann@example.com", "Acme").await;
    let mut v = app.visitor();
    for _ in 0..2 {
        let page = v
            .submit(
                "/login",
                "/login",
                &[("email", "ann@example.com"), ("password", "wrong password")],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits now.
    let limited = v
        .submit(
            "/login",
            "/login",
            &[("email", "ann@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait > 0 && wait <= 300);
    assert!(
        limited.body.contains(&format!("Wait {wait} seconds")),
        "{}",
        limited.body
    );
    assert!(limited.set_cookie("igny8_session").is_none());
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused() {
    let app = spawn().await;
    let mut v = app.signed_in("ann@example.com").await;
    let csrf = v.get("/sites").await.csrf();

    let missing = v
        .post(
            "/sites",
            &[("name", "Blog"), ("url", "https://blog.example.com")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.body.contains("This form could not be accepted"));
    let wrong = v
        .post(
            "/sites",
            &[
                ("csrf", "forged"),
                ("name", "Blog"),
                ("url", "https://blog.example.com"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(v.post("/logout", &[]).await.status, StatusCode::FORBIDDEN);

    // Another user's token is not this session's.
    let mut other = app.signed_in("bob@example.com").await;
    let others = other.get("/sites").await.csrf();
    assert_ne!(others, csrf);
    let borrowed = v
        .post(
            "/sites",
            &[
                ("csrf", &others),
                ("name", "Blog"),
                ("url", "https://blog.example.com"),
            ],
        )
        .await;
    assert_eq!(borrowed.status, StatusCode::FORBIDDEN);

    // The right token from a page on another site is refused too.
    v.origin = Some("http://evil.example".into());
    let cross = v
        .post(
            "/sites",
            &[
                ("csrf", &csrf),
                ("name", "Blog"),
                ("url", "https://blog.example.com"),
            ],
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    v.origin = None;

    let user = app
        .store
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(
        app.store
            .sites_of_account(user.account_id)
            .await
            .unwrap()
            .is_empty(),
        "no refused form changed anything"
    );

    // Signed-out forms are keyed too.
    let mut anonymous = app.visitor();
    let login = anonymous
        .post(
            "/login",
            &[("email", "ann@example.com"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);

    let ok = v
        .post(
            "/sites",
            &[
                ("csrf", &csrf),
                ("name", "Blog"),
                ("url", "https://blog.example.com"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn another_accounts_site_is_not_found_anywhere() {
    let app = spawn().await;
    let mut ann = app.signed_in("ann@example.com").await;
    let site = ann
        .add_site("Ann's secret blog", "https://ann.example.com")
        .await;
    let key = ann.create_key(site).await;
    let prefix = igny8_domain::api_key::key_prefix(&key).unwrap().to_owned();
    let integration = app.plugin(&key).connect(site).await;
    app.plugin(&key)
        .push_structure(integration, &structure())
        .await;

    let mut bob = app.signed_in("bob@example.com").await;
    let sites = bob.get("/sites").await;
    assert!(!sites.body.contains("secret blog"));
    assert!(sites.body.contains("No sites yet"));
    for tab in SITE_PAGES {
        let page = bob.get(&format!("/sites/{site}/{tab}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{tab}");
        assert!(page.body.contains("Page not found"));
        for secret in ["secret blog", "ann.example.com", "Categories", &prefix] {
            assert!(!page.body.contains(secret), "{tab} shows {secret}");
        }
    }
    let csrf = bob.get("/sites").await.csrf();
    let writes = [
        format!("/sites/{site}/deactivate"),
        format!("/sites/{site}/settings/api-keys"),
        format!("/sites/{site}/settings/api-keys/{prefix}/revoke"),
        format!("/sites/{site}/settings/content-types"),
    ];
    for path in &writes {
        let page = bob
            .post(
                path,
                &[
                    ("csrf", &csrf),
                    ("post_types.post.was_enabled", "true"),
                    ("post_types.post.was_fetch_limit", "100"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(app.store.site(site).await.unwrap().unwrap().is_active);
    let keys = app.store.api_keys_of_site(site).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].revoked_at.is_none());
    let (_, types) = app
        .plugin(&key)
        .push_structure(integration, &structure())
        .await;
    assert_eq!(
        types["data"]["content_types"]["post_types"]["post"]["enabled"],
        true
    );
}

#[tokio::test]
async fn site_form_shows_validation_errors() {
    let app = spawn().await;
    let mut v = app.signed_in("ann@example.com").await;
    let page = v
        .submit(
            "/sites",
            "/sites",
            &[("name", "Blog"), ("url", "javascript:alert(1)")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("Must start with http:// or https://."));
    assert!(page.body.contains(r#"value="Blog""#));
    let page = v
        .submit(
            "/sites",
            "/sites",
            &[("name", ""), ("url", "https://blog.example.com")],
        )
        .await;
    assert!(page.body.contains("Must not be empty."));
}

#[tokio::test]
async fn sites_are_listed_with_connection_state_and_can_be_deactivated() {
    let app = spawn().await;
    let mut v = app.signed_in("ann@example.com").await;
    let site = v.add_site("Blog", "https://blog.example.com/").await;
    let list = v.get("/sites").await;
    assert!(list.body.contains("https://blog.example.com"));
    assert!(list.body.contains("Not connected"));
    assert!(list.body.contains(">Active<"));

    let key = v.create_key(site).await;
    let plugin = app.plugin(&key);
    let integration = plugin.connect(site).await;
    assert!(
        v.get("/sites").await.body.contains("Not connected"),
        "connected means a structure was pushed"
    );
    plugin.push_structure(integration, &structure()).await;
    let list = v.get("/sites").await;
    assert!(list.body.contains(">Connected<"));
    assert!(list.body.contains("2025-11-22 10:00 UTC"));

    let csrf = list.csrf();
    v.post(&format!("/sites/{site}/deactivate"), &[("csrf", &csrf)])
        .await
        .assert_redirect("/sites?done=site-deactivated");
    let list = v.get("/sites").await;
    assert!(list.body.contains(">Inactive<"));
    let (status, body) = plugin.push_structure(integration, &structure()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("site_inactive"))
    );
    v.post(&format!("/sites/{site}/activate"), &[("csrf", &csrf)])
        .await
        .assert_redirect("/sites?done=site-activated");
    assert_eq!(
        plugin.push_structure(integration, &structure()).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_api_key_is_shown_once_and_can_be_revoked() {
    let app = spawn().await;
    let mut v = app.signed_in("ann@example.com").await;
    let site = v.add_site("Blog", "https://blog.example.com").await;
    let key = v.create_key(site).await;
    assert!(key.starts_with("igny8_"));
    let prefix = igny8_domain::api_key::key_prefix(&key).unwrap().to_owned();
    let tab = format!("/sites/{site}/settings/api-keys");
    let later = v.get(&tab).await;
    assert!(!later.body.contains(&key), "the key is never shown again");
    assert!(later.body.contains(&format!("igny8_{prefix}_")));
    assert!(later.body.contains("Never"), "not used yet");

    let plugin = app.plugin(&key);
    plugin.connect(site).await;
    assert!(
        !v.get(&tab).await.body.contains(">Never<"),
        "last use is shown"
    );

    let csrf = later.csrf();
    v.post(&format!("{tab}/{prefix}/revoke"), &[("csrf", &csrf)])
        .await
        .assert_redirect(&format!("{tab}?done=key-revoked"));
    assert!(v.get(&tab).await.body.contains(">Revoked<"));
    let (status, body) = plugin
        .post("/api/v1/integration/integrations/", &json!({"site": site}))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("api_key_revoked"))
    );
    let unknown = v
        .post(&format!("{tab}/nosuchkey/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn wordpress_values_are_escaped_everywhere() {
    let app = spawn().await;
    let mut v = app.signed_in("ann@example.com").await;
    let site = v
        .add_site("<script>alert('site')</script>", "https://blog.example.com")
        .await;
    let key = v.create_key(site).await;
    let plugin = app.plugin(&key);
    let integration = plugin.connect(site).await;
    plugin.push_structure(integration, &structure()).await;
    plugin.send_rejected_markup(integration).await;

    let mut pages = vec!["/sites".to_owned()];
    pages.extend(SITE_PAGES.iter().map(|tab| format!("/sites/{site}/{tab}")));
    for path in pages {
        let page = v.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(
            !page.body.contains("<script>alert"),
            "{path} runs the site's name"
        );
        assert!(
            !page.body.contains(XSS_LABEL),
            "{path} renders the label as markup"
        );
        assert!(!page.body.contains("<b>boom"), "{path}");
        assert!(
            page.body
                .contains("&lt;script&gt;alert(&#x27;site&#x27;)&lt;/script&gt;")
                || page.body.contains("&lt;script&gt;"),
            "{path}"
        );
    }
    let types = v
        .get(&format!("/sites/{site}/settings/content-types"))
        .await;
    assert!(types.body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    let integration_tab = v.get(&format!("/sites/{site}/settings/integration")).await;
    assert!(integration_tab.body.contains("&lt;b&gt;boom&lt;/b&gt;"));
}

#[tokio::test]
async fn content_types_wait_for_the_plugin_then_save_platform_settings() {
    let app = spawn().await;
    let mut v = app.signed_in("ann@example.com").await;
    let site = v.add_site("Blog", "https://blog.example.com").await;
    let tab = format!("/sites/{site}/settings/content-types");
    let empty = v.get(&tab).await;
    for step in [
        "igny8-wp-plugin",
        "API keys",
        "Settings → IGNY8 API",
        "Connect to IGNY8",
    ] {
        assert!(empty.body.contains(step), "the empty state says {step}");
    }

    let key = v.create_key(site).await;
    let plugin = app.plugin(&key);
    let integration = plugin.connect(site).await;
    assert!(v.get(&tab).await.body.contains("No structure received yet"));
    plugin.push_structure(integration, &structure()).await;
    let page = v.get(&tab).await;
    assert!(page.body.contains(r#"id="type-post_types-post""#));
    assert!(page.body.contains("2025-11-22 10:00 UTC"));

    let csrf = page.csrf();
    let bad = v
        .post(
            &tab,
            &[
                ("csrf", &csrf),
                ("post_types.post.was_enabled", "true"),
                ("post_types.post.enabled", "on"),
                ("post_types.post.was_fetch_limit", "100"),
                ("post_types.post.fetch_limit", "0"),
                ("post_types.page.was_enabled", "true"),
                ("post_types.page.enabled", "on"),
                ("post_types.page.was_fetch_limit", "100"),
                ("post_types.page.fetch_limit", "lots"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body
            .contains("Posts (post) fetch limit: Must be a whole number from 1 to 1000000."),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("Pages (page) fetch limit"));
    assert!(
        bad.body.contains(r#"value="lots""#),
        "what was typed is kept"
    );

    let gone = v
        .post(
            &tab,
            &[
                ("csrf", &csrf),
                ("post_types.movie.was_enabled", "true"),
                ("post_types.movie.was_fetch_limit", "1"),
                ("post_types.movie.fetch_limit", "1"),
            ],
        )
        .await;
    assert_eq!(gone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(gone
        .body
        .contains("post_types.movie: Is not a type this site has reported."));

    let saved = v
        .post(
            &tab,
            &[
                ("csrf", &csrf),
                ("post_types.post.was_enabled", "true"),
                ("post_types.post.was_fetch_limit", "100"),
                ("post_types.post.fetch_limit", "100"),
                ("taxonomies.category.was_enabled", "true"),
                ("taxonomies.category.enabled", "on"),
                ("taxonomies.category.was_fetch_limit", "100"),
                ("taxonomies.category.fetch_limit", "250"),
            ],
        )
        .await;
    saved.assert_redirect(&format!("{tab}?done=settings-saved"));

    let (_, answer) = plugin.push_structure(integration, &structure()).await;
    let types = &answer["data"]["content_types"];
    assert_eq!(types["post_types"]["post"]["enabled"], false);
    assert_eq!(types["post_types"]["post"]["fetch_limit"], 100);
    assert_eq!(types["taxonomies"]["category"]["fetch_limit"], 250);
    assert_eq!(
        types["post_types"]["book"]["enabled"], true,
        "untouched types follow the plugin"
    );
}

#[tokio::test]
async fn unknown_pages_and_the_api_reference_read_well() {
    let app = spawn().await;
    let mut v = app.visitor();
    let missing = v.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Page not found"));
    let from_a_script = reqwest::get(format!("{}/no/such/page", app.address))
        .await
        .unwrap();
    assert_eq!(from_a_script.status(), StatusCode::NOT_FOUND);
    let envelope: serde_json::Value = from_a_script.json().await.unwrap();
    assert_eq!(
        envelope["code"], "not_found",
        "clients that do not ask for HTML get the API's envelope"
    );

    let docs = v.get("/api/docs").await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs
        .body
        .contains("/api/v1/integration/integrations/{id}/update-structure/"));
    assert!(docs.body.contains(r#"href="/api/v1/openapi.json""#));
    assert!(docs.body.contains("PATCH"));

    let css = v.get("/assets/dashboard.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

/// A post as the plugin sends it in a content batch.
fn post_item(ty: &str, id: i64, modified: &str, status: &str, title: &str, url: &str) -> Value {
    json!({"op": "upsert", "kind": "post", "type": ty, "wp_id": id, "modified_gmt": modified,
           "data": {"title": title, "slug": format!("p-{id}"), "status": status, "content": "<p>x</p>", "url": url}})
}

#[tokio::test]
async fn the_content_page_waits_for_the_plugin() {
    let app = spawn().await;
    let mut v = app.signed_in("ann@example.com").await;
    let site = v.add_site("Blog", "https://blog.example.com").await;
    let page = v.get(&format!("/sites/{site}/content")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"id="not-connected""#));
    assert!(page.body.contains("Settings → IGNY8 API"));
    assert!(!page.body.contains("request-full-sync"));
}

#[tokio::test]
async fn the_content_page_shows_synced_content_progress_and_the_last_rejection() {
    let app = spawn().await;
    let mut v = app.signed_in("ann@example.com").await;
    let site = v.add_site("Blog", "https://blog.example.com").await;
    let key = v.create_key(site).await;
    let plugin = app.plugin(&key);
    let integration = plugin.connect(site).await;
    plugin.push_structure(integration, &structure()).await;
    let api = |rest: &str| format!("/api/v1/integration/integrations/{integration}/{rest}");
    let (s, _) = plugin
        .post(
            &api("content/full-sync/"),
            &json!({"action": "start", "run_id": "r1", "totals": {"post:post": 60, "post:book": 2}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // 60 posts in one walked range; one book with a hostile title and link; one rejected item.
    let mut items: Vec<Value> = (1..=60)
        .map(|id| {
            post_item(
                "post",
                id,
                &format!("2025-11-{:02} 10:00:00", id % 28 + 1),
                if id % 10 == 0 { "draft" } else { "publish" },
                &format!("Post number {id}"),
                &format!("https://blog.example.com/p-{id}/"),
            )
        })
        .collect();
    let (s, b) = plugin
        .post(
            &api("content/batch/"),
            &json!({"items": items, "full_sync": {"run_id": "r1", "type": "post", "from_id": 1, "to_id": 60}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    items = vec![
        post_item(
            "book",
            100,
            "2030-01-01 00:00:00",
            "publish",
            XSS_LABEL,
            "javascript:alert(1)",
        ),
        json!({"op": "upsert", "kind": "post", "type": "book", "wp_id": 101, "modified_gmt": "2025-11-22 10:00:00",
               "data": {"title": "<b>bad</b>", "status": "publish", "content": 42}}),
    ];
    let (s, b) = plugin
        .post(&api("content/batch/"), &json!({"items": items}))
        .await;
    assert_eq!(
        (s, b["data"]["rejected"].as_i64()),
        (StatusCode::OK, Some(1))
    );

    let path = format!("/sites/{site}/content");
    let page = v.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(
        body.contains("Receiving content, some items rejected"),
        "{body}"
    );
    assert!(body.contains("Rejected post book 101: data.content: must be a string"));
    assert!(body.contains(r#"<span class="badge wait">Never verified</span>"#));
    assert!(body.contains(r#"<span class="badge wait">Running</span>"#));
    assert!(body.contains(r#"<tr data-key="post:post">"#));
    assert!(body.contains(r#"<td data-label="Synced" class="num done">60</td>"#));
    assert!(body.contains(r#"<td data-label="In WordPress" class="num total">60</td>"#));
    assert!(body.contains(r#"<progress max="60" value="60">"#));
    assert!(body.contains(r#"class="num synced-count">60<"#));
    assert!(body.contains(r#"class="num synced-count">1<"#), "the book");
    // Newest first: the book, then 50 posts per page; markup and script links are inert.
    assert!(body.contains("61 items, page 1 of 2"));
    assert_eq!(body.matches("<tr data-wp-id=").count(), 50);
    let book = body.find(r#"data-wp-id="100""#).unwrap();
    assert!(book < body.find(r#"data-wp-id="27""#).unwrap());
    assert!(!body.contains(XSS_LABEL) && body.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!body.contains("javascript:alert"));
    assert!(body.contains(&format!(
        r#"<a href="/sites/{site}/content/post/27" class="post-link">Post number 27</a> <a href="https://blog.example.com/p-27/" rel="noopener noreferrer" target="_blank" class="wp-link small""#
    )));
    let next = page
        .attribute_after(r#"<a class="button secondary small" href=""#)
        .unwrap();
    assert_eq!(next, format!("/sites/{site}/content?page=2"));
    let second = v.get(&next).await;
    assert_eq!(second.body.matches("<tr data-wp-id=").count(), 11);
    assert!(second.body.contains("Page 2 of 2"));

    let drafts = v.get(&format!("{path}?type=post&status=draft")).await;
    assert!(
        drafts.body.contains("6 items, newest change first."),
        "{}",
        drafts.body
    );
    assert!(drafts.body.contains(r#"<option value="draft" selected>"#));
    assert!(drafts.body.contains(r#"<option value="post" selected>"#));
    let none = v.get(&format!("{path}?type=page")).await;
    assert!(none.body.contains("No synced content matches."));
    let odd = v.get(&format!("{path}?type=%3Cscript%3E&page=-3")).await;
    assert_eq!(odd.status, StatusCode::OK);
    assert!(
        odd.body.contains("61 items"),
        "an invalid filter is no filter"
    );
}

#[tokio::test]
async fn the_sync_buttons_ask_the_plugin_through_a_genuine_form() {
    let app = spawn().await;
    let mut v = app.signed_in("ann@example.com").await;
    let site = v.add_site("Blog", "https://blog.example.com").await;
    let key = v.create_key(site).await;
    let plugin = app.plugin(&key);
    let integration = plugin.connect(site).await;
    let path = format!("/sites/{site}/content");
    let page = v.get(&path).await;
    assert!(
        page.body.contains(r#"id="request-full-sync""#) && page.body.contains(r#"id="verify-now""#)
    );
    let state = app.store.content_sync_state(integration).await.unwrap();
    assert!(!state.full_sync_requested && !state.verify_requested);

    // Without the form's token nothing is asked.
    let refused = v.post(&format!("{path}/full-sync"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        !app.store
            .content_sync_state(integration)
            .await
            .unwrap()
            .full_sync_requested
    );

    let done = v.submit(&path, &format!("{path}/full-sync"), &[]).await;
    done.assert_redirect(&format!("{path}?done=full-sync-requested"));
    let done = v.submit(&path, &format!("{path}/verify"), &[]).await;
    done.assert_redirect(&format!("{path}?done=verify-requested"));
    let state = app.store.content_sync_state(integration).await.unwrap();
    assert!(state.full_sync_requested && state.verify_requested);
    let page = v.get(&format!("{path}?done=verify-requested")).await;
    assert!(page.body.contains("Verification requested."));
    assert!(page.body.contains(r#"id="full-sync-requested""#));
    assert!(page
        .body
        .contains(r#"<span class="badge wait">Checking</span>"#));
    // The plugin reads both from its status check.
    let (s, status) = plugin
        .get(&format!(
            "/api/v1/integration/integrations/{integration}/content/status/"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            status["data"]["full_sync_requested"].as_bool(),
            status["data"]["verify_requested"].as_bool()
        ),
        (Some(true), Some(true))
    );

    // Another account cannot press them; an inactive site's buttons are gone and refused.
    let mut eve = app.signed_in("eve@example.com").await;
    let eve_page = eve.get("/sites").await;
    let csrf = eve_page.csrf();
    let other = eve
        .post(&format!("{path}/verify"), &[("csrf", &csrf)])
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    app.store.set_site_active(site, false).await.unwrap();
    let page = v.get(&path).await;
    assert!(!page.body.contains(r#"id="request-full-sync""#));
    let csrf = page.csrf();
    let inactive = v
        .post(&format!("{path}/full-sync"), &[("csrf", &csrf)])
        .await;
    inactive.assert_redirect(&format!("{path}?done=site-inactive"));
}
