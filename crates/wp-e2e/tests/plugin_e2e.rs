//! The WordPress plugin against the real platform: a site owner connects from wp-admin, the structure
//! reaches IGNY8, WP-Cron keeps its counts current, failed connects say why and change nothing, and
//! disconnecting stops the schedule. Real `igny8 serve`, real WordPress, real HTTP.

use anyhow::{ensure, Context, Result};
use igny8_wp_e2e::igny8::Server;
use igny8_wp_e2e::wordpress::WordPress;
use igny8_wp_e2e::wp_admin::{notices_of, text_of, WpAdmin};
use igny8_wp_e2e::{free_port, Scratch};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "a long and secret password";
const OTHER_EMAIL: &str = "colleague@example.com";

/// A custom post type and a hierarchical taxonomy, as a theme or plugin would add them.
const BOOKS_MU_PLUGIN: &str = r#"<?php
add_action('init', function () {
    register_post_type('igny8_book', ['label' => 'Books', 'public' => true]);
    register_taxonomy('igny8_genre', ['igny8_book'], ['label' => 'Genres', 'public' => true, 'hierarchical' => true]);
});
"#;

/// The platform's `content-types` read: {kind: {name: count}}.
fn counts_of(content_types: &Value) -> Value {
    let mut out = json!({"post_types": {}, "taxonomies": {}});
    for kind in ["post_types", "taxonomies"] {
        if let Some(map) = content_types[kind].as_object() {
            for (name, entry) in map {
                out[kind][name] = entry["count"].clone();
            }
        }
    }
    out
}

/// A connect attempt that must fail: the form as filled in, and the start of the notice it shows.
struct FailedConnect<'a> {
    case: &'a str,
    form: Vec<(&'a str, &'a str)>,
    notice: String,
}

/// The connect form, filled in.
fn connect_form<'a>(
    backend: &'a str,
    email: &'a str,
    password: &'a str,
    key: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("igny8_api_base", backend),
        ("igny8_email", email),
        ("igny8_password", password),
        ("igny8_api_key", key),
    ]
}

#[tokio::test]
async fn site_owner_connects_and_cron_keeps_the_structure_current_until_disconnect() -> Result<()> {
    let scratch = Scratch::new("story")?;
    let result = connect_cron_disconnect(&scratch.path).await;
    scratch.finish(result)
}

async fn connect_cron_disconnect(dir: &Path) -> Result<()> {
    let igny8 = Server::start(dir).await?;
    let wp = WordPress::up(&dir.join("wp"))?;
    igny8.create_user(EMAIL, PASSWORD).await?;
    let site = igny8.create_site(EMAIL, "My Blog", &wp.url).await?;
    let (key, _) = igny8.create_key(site).await?;

    // Connect from Settings → IGNY8 API.
    let admin = WpAdmin::login(&wp.url, "admin", "admin").await?;
    let before = admin.settings_page().await?;
    ensure!(
        text_of(&before).contains("Not connected."),
        "a new site is not connected"
    );
    let page = admin
        .submit(
            "igny8_connect",
            &connect_form(&igny8.base_url, EMAIL, PASSWORD, &key),
        )
        .await?;

    let expected = wp.counts_by_wordpress()?;
    let types = expected["post_types"].as_object().map_or(0, |m| m.len());
    let taxonomies = expected["taxonomies"].as_object().map_or(0, |m| m.len());
    assert_eq!(
        notices_of(&page, "success"),
        vec![format!(
            "Successfully connected to IGNY8 as site \"My Blog\" (#{site}). Site structure sent: {types} post types, {taxonomies} taxonomies."
        )],
        "page: {}",
        text_of(&page)
    );
    let text = text_of(&page);
    assert!(text.contains("Connected to IGNY8."), "{text}");
    assert!(text.contains(&format!("My Blog (#{site})")), "{text}");
    assert!(!page.contains(&key), "the API key is never shown again");

    // The platform holds the structure: config_json and the Content Types read.
    let jwt = igny8.login(EMAIL, PASSWORD).await?;
    let integrations = igny8
        .api(
            "GET",
            &format!("/api/v1/integration/integrations/?site={site}"),
            Some(&jwt),
            None,
        )
        .await?;
    let integration = &integrations[0];
    let id = integration["id"].as_i64().context("integration id")?;
    assert_eq!(integration["platform"], "wordpress");
    let config = &integration["config_json"];
    assert_eq!(
        counts_of(&config["content_types"]),
        expected,
        "config_json: {config}"
    );
    assert_eq!(config["plugin_connection_enabled"], true);
    assert_eq!(config["two_way_sync_enabled"], false);
    assert!(config["last_structure_fetch"].is_string(), "{config}");
    assert_eq!(
        config["content_types"]["post_types"]["post"],
        json!({"label": "Posts", "count": expected["post_types"]["post"], "enabled": true, "fetch_limit": 100})
    );
    let content_types_path = format!("/api/v1/integration/integrations/{id}/content-types/");
    let content_types = igny8
        .api("GET", &content_types_path, Some(&jwt), None)
        .await?;
    assert_eq!(
        counts_of(&content_types),
        expected,
        "content-types: {content_types}"
    );

    // The plugin stored the connection with secrets out of autoload (no account-wide token at all),
    // and scheduled the daily push.
    let options = wp.igny8_options()?;
    for name in ["igny8_access_token", "igny8_refresh_token"] {
        assert!(options.get(name).is_none(), "{name} is not kept: {options}");
    }
    for name in ["igny8_api_key", "igny8_site_id", "igny8_integration_id"] {
        assert_eq!(
            options[name][1], "no",
            "{name} must not be autoloaded: {options}"
        );
    }
    assert_eq!(options["igny8_site_id"][0], site.to_string());
    assert_eq!(options["igny8_integration_id"][0], id.to_string());
    assert!(
        !options.to_string().contains(PASSWORD),
        "the password is never stored"
    );
    assert!(
        wp.scheduled_syncs()?["daily"].is_i64(),
        "the daily push is scheduled on connect"
    );

    // A theme adds books and genres; the next cron run tells the platform.
    wp.write_mu_plugin("igny8-e2e-books.php", BOOKS_MU_PLUGIN)?;
    wp.php(
        r#"foreach (['Dune', 'Emma', 'Ulysses'] as $t) { wp_insert_post(['post_type' => 'igny8_book', 'post_status' => 'publish', 'post_title' => $t]); }
        wp_insert_post(['post_type' => 'igny8_book', 'post_status' => 'draft', 'post_title' => 'Unfinished']);
        $fiction = wp_insert_term('Fiction', 'igny8_genre');
        wp_insert_term('Crime', 'igny8_genre', ['parent' => $fiction['term_id']]);
        wp_insert_term('Poetry', 'igny8_genre');"#,
    )?;
    let last_sync_before = wp.php("echo (int) get_option('igny8_last_structure_sync');")?;
    // The daily event comes due now (as if a day had passed); WP-Cron runs it on the next wp-cron.php hit.
    wp.php(
        r#"$ts = wp_next_scheduled('igny8_sync_site_structure');
        wp_unschedule_event($ts, 'igny8_sync_site_structure');
        wp_schedule_event(time() - 1, 'daily', 'igny8_sync_site_structure');"#,
    )?;
    tokio::time::sleep(Duration::from_millis(1100)).await; // the stored sync time has a one-second resolution
    let cron = reqwest::get(format!("{}/wp-cron.php", wp.url)).await?;
    ensure!(
        cron.status().is_success(),
        "wp-cron.php -> {}",
        cron.status()
    );

    let expected = wp.counts_by_wordpress()?;
    assert_eq!(
        expected["post_types"]["igny8_book"], 3,
        "WordPress counts 3 published books: {expected}"
    );
    assert_eq!(expected["taxonomies"]["igny8_genre"], 3);
    let deadline = Instant::now() + Duration::from_secs(10);
    let content_types = loop {
        let ct = igny8
            .api("GET", &content_types_path, Some(&jwt), None)
            .await?;
        if counts_of(&ct) == expected || Instant::now() > deadline {
            break ct;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        counts_of(&content_types),
        expected,
        "after cron: {content_types}"
    );
    let book = &content_types["post_types"]["igny8_book"];
    assert_eq!(
        (
            book["label"].clone(),
            book["enabled"].clone(),
            book["fetch_limit"].clone()
        ),
        (json!("Books"), json!(false), json!(50)),
        "a new custom type starts disabled with limit 50: {book}"
    );
    assert_ne!(
        wp.php("echo (int) get_option('igny8_last_structure_sync');")?,
        last_sync_before,
        "the cron run recorded its sync"
    );
    let next = wp.scheduled_syncs()?["daily"]
        .as_i64()
        .context("still scheduled after running")?;
    let now = wp.php("echo time();")?.trim().parse::<i64>()?;
    assert!(
        next > now + 23 * 3600,
        "the next daily run is a day later ({next} vs now {now})"
    );

    // The owner enables books in the platform; "Sync structure now" brings the setting to WordPress.
    igny8
        .api(
            "PATCH",
            &content_types_path,
            Some(&jwt),
            Some(json!({"post_types": {"igny8_book": {"enabled": true, "fetch_limit": 500}}})),
        )
        .await?;
    let page = admin.submit("igny8_sync_now", &[]).await?;
    let expected_types = expected["post_types"].as_object().map_or(0, |m| m.len());
    let expected_taxonomies = expected["taxonomies"].as_object().map_or(0, |m| m.len());
    assert_eq!(
        notices_of(&page, "success"),
        vec![format!(
            "Site structure synced: {expected_types} post types, {expected_taxonomies} taxonomies."
        )],
        "{}",
        text_of(&page)
    );
    let plugin_view =
        wp.php_json("echo json_encode(igny8_get_site_structure()['post_types']['igny8_book']);")?;
    assert_eq!(
        plugin_view,
        json!({"label": "Books", "count": 3, "enabled": true, "fetch_limit": 500})
    );
    let content_types = igny8
        .api("GET", &content_types_path, Some(&jwt), None)
        .await?;
    assert_eq!(
        content_types["post_types"]["igny8_book"]["enabled"], true,
        "the platform's setting wins: {content_types}"
    );

    // Disconnect: the schedule is gone, the secrets too, and the platform knows.
    let page = admin.submit("igny8_disconnect", &[]).await?;
    assert!(
        text_of(&page).contains("Not connected."),
        "{}",
        text_of(&page)
    );
    assert_eq!(notices_of(&page, "success").len(), 1, "{}", text_of(&page));
    assert_eq!(
        wp.scheduled_syncs()?,
        json!({"daily": null, "soon": null}),
        "no cron event after disconnect"
    );
    let options = wp.igny8_options()?;
    for name in [
        "igny8_api_key",
        "igny8_access_token",
        "igny8_refresh_token",
        "igny8_site_id",
        "igny8_integration_id",
    ] {
        assert!(
            options.get(name).is_none(),
            "{name} removed on disconnect: {options}"
        );
    }
    let content_types = igny8
        .api("GET", &content_types_path, Some(&jwt), None)
        .await?;
    assert_eq!(
        content_types["plugin_connection_enabled"], false,
        "{content_types}"
    );
    Ok(())
}

#[tokio::test]
async fn failed_connects_say_why_and_leave_the_working_connection_untouched() -> Result<()> {
    let scratch = Scratch::new("failures")?;
    let result = failed_connects(&scratch.path).await;
    scratch.finish(result)
}

async fn failed_connects(dir: &Path) -> Result<()> {
    let igny8 = Server::start(dir).await?;
    let wp = WordPress::up(&dir.join("wp"))?;
    igny8.create_user(EMAIL, PASSWORD).await?;
    let site = igny8.create_site(EMAIL, "My Blog", &wp.url).await?;
    let (key, _) = igny8.create_key(site).await?;
    let (revoked_key, revoked_prefix) = igny8.create_key(site).await?;
    igny8.revoke_key(site, &revoked_prefix).await?;
    let shop = igny8
        .create_site(EMAIL, "Old Shop", "http://shop.example")
        .await?;
    let (shop_key, _) = igny8.create_key(shop).await?;
    igny8.deactivate_site(shop).await?;
    let closed_port = free_port()?;
    let unreachable = format!("http://127.0.0.1:{closed_port}");
    // The same server under another name and another user: a plugin that wrote the backend URL or
    // the email before everything succeeded would show up in the stored options.
    let same_backend = igny8.base_url.replace("127.0.0.1", "localhost");
    igny8.create_user(OTHER_EMAIL, PASSWORD).await?;

    let admin = WpAdmin::login(&wp.url, "admin", "admin").await?;
    let page = admin
        .submit(
            "igny8_connect",
            &connect_form(&igny8.base_url, EMAIL, PASSWORD, &key),
        )
        .await?;
    assert_eq!(notices_of(&page, "success").len(), 1, "{}", text_of(&page));
    let working = wp.igny8_options()?;
    let scheduled = wp.scheduled_syncs()?;

    let cases: Vec<FailedConnect> = vec![
        FailedConnect {
            case: "wrong password",
            form: connect_form(&same_backend, OTHER_EMAIL, "not the password", &key),
            notice: "IGNY8 did not accept this email and password. Check them and try again.".into(),
        },
        FailedConnect {
            case: "unknown API key",
            form: connect_form(&same_backend, EMAIL, PASSWORD, "igny8_nosuchkey_0123456789abcdefghijklmnopqrstuvwxyz"),
            notice: "IGNY8 does not recognise this API key. Copy the key again from the site's API keys page in IGNY8.".into(),
        },
        FailedConnect {
            case: "revoked API key",
            form: connect_form(&same_backend, EMAIL, PASSWORD, &revoked_key),
            notice: "This API key has been revoked in IGNY8. Create a new key for the site in IGNY8 and connect again with it.".into(),
        },
        FailedConnect {
            case: "inactive site",
            form: connect_form(&same_backend, EMAIL, PASSWORD, &shop_key),
            notice: "The site \"Old Shop\" is deactivated in IGNY8, so it cannot be connected. Reactivate it in IGNY8, then connect again.".into(),
        },
        FailedConnect {
            case: "unreachable backend",
            form: connect_form(&unreachable, EMAIL, PASSWORD, &key),
            notice: format!("Could not reach the IGNY8 backend at {unreachable} ("),
        },
        FailedConnect {
            case: "not an http(s) backend URL",
            form: connect_form("ftp://127.0.0.1/", EMAIL, PASSWORD, &key),
            notice: "The backend URL must be a plain http:// or https:// address".into(),
        },
    ];
    for FailedConnect { case, form, notice } in &cases {
        let page = admin.submit("igny8_connect", form).await?;
        let errors = notices_of(&page, "error");
        assert!(
            errors.len() == 1 && errors[0].starts_with(notice.as_str()),
            "{case}: expected the notice {notice:?}, page shows {errors:?}"
        );
        let text = text_of(&page);
        assert!(
            text.contains(&format!("Connected to IGNY8. Site My Blog (#{site})")),
            "{case}: still connected as before: {text}"
        );
        assert_eq!(
            wp.igny8_options()?,
            working,
            "{case}: stored options changed"
        );
        assert_eq!(wp.scheduled_syncs()?, scheduled, "{case}: schedule changed");
    }

    // Sign-ins are rate limited; the plugin says how long to wait, and still changes nothing.
    let mut limited = None;
    for _ in 0..15 {
        let page = admin
            .submit(
                "igny8_connect",
                &connect_form(&igny8.base_url, EMAIL, "guessing", &key),
            )
            .await?;
        let errors = notices_of(&page, "error");
        if errors.iter().any(|e| e.starts_with("Too many attempts")) {
            limited = Some(errors);
            break;
        }
    }
    let limited = limited.context("15 wrong passwords in a row were never rate limited")?;
    assert!(limited[0].contains("IGNY8 asks to wait"), "{limited:?}");
    assert_eq!(
        wp.igny8_options()?,
        working,
        "rate limited: stored options changed"
    );

    // The connection that was kept still works.
    let page = admin.submit("igny8_sync_now", &[]).await?;
    assert_eq!(
        notices_of(&page, "success").len(),
        1,
        "sync with the kept connection: {}",
        text_of(&page)
    );
    Ok(())
}
