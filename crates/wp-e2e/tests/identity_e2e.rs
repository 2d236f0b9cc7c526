//! Staging copies and moved sites end to end (docs/sync-protocol.md, "Copies and moves"): a real
//! WordPress connected to a real `igny8` is cloned the way hosts do it (its `home` and `siteurl` rewritten
//! in the database); the copy's saves stay in its queue and never reach the platform, the platform
//! refuses the copy's key requests and shows it; the owner says "staging copy" (still nothing is sent),
//! then "the site moved" (the platform follows the site, and what was written meanwhile arrives).

use anyhow::{bail, ensure, Context, Result};
use igny8_wp_e2e::wp_admin::{notices_of, text_of, WpAdmin};
use igny8_wp_e2e::Scratch;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use common::*;

const SEED: &str = r#"
wp_set_current_user(1);
for ($i = 1; $i <= 3; $i++) {
    wp_insert_post(['post_type' => 'post', 'post_status' => 'publish', 'post_title' => "Live post $i"]);
}
"#;

#[tokio::test]
async fn a_clone_sends_nothing_until_its_owner_says_the_site_moved() -> Result<()> {
    let scratch = Scratch::new("identity")?;
    let result = identity_story(&scratch.path).await;
    scratch.finish(result)
}

/// The site's address in the database only, as on most sites: wp-up.sh's WP_HOME and WP_SITEURL
/// constants would hide a clone's rewritten options.
fn addresses_from_the_database(site: &Connected) -> Result<()> {
    let config = site.wp.dir.join("wp-config.php");
    let text = std::fs::read_to_string(&config)?;
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("define('WP_HOME'") && !l.starts_with("define('WP_SITEURL'"))
        .collect();
    std::fs::write(&config, kept.join("\n") + "\n")?;
    // WP_HTTP_BLOCK_EXTERNAL lets WordPress reach its own host only: once the copy runs at localhost, the
    // platform on 127.0.0.1 must be named, as a real site names its backend's host.
    std::fs::write(
        site.wp.dir.join(".wp-up/extra-config.php"),
        "<?php\ndefine('WP_ACCESSIBLE_HOSTS', '127.0.0.1');\n",
    )?;
    let home = site.wp.php("echo get_option('home');")?;
    ensure!(
        home.trim_end_matches('/') == site.wp.url,
        "the database holds the address {home}"
    );
    Ok(())
}

/// Rewrites `home` and `siteurl` in the database, as a host's one-click staging copy does.
fn clone_to(site: &Connected, url: &str) -> Result<()> {
    site.wp.php(&format!(
        r#"global $wpdb; $wpdb->query($wpdb->prepare("UPDATE {{$wpdb->options}} SET option_value = %s WHERE option_name IN ('home', 'siteurl')", '{url}')); wp_cache_flush();"#
    ))?;
    Ok(())
}

/// Waits until the web server serves the site at `url` (PHP's opcache may keep the old wp-config.php,
/// with its constants, for up to two seconds).
async fn served_at(url: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = reqwest::get(format!("{url}/wp-login.php"))
            .await?
            .text()
            .await?;
        if page.contains(&format!("action=\"{url}/wp-login.php")) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("WordPress is not served at {url}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn save_post(site: &Connected, title: &str) -> Result<i64> {
    let id = site.wp.php(&format!(
        "wp_set_current_user(1); echo wp_insert_post(['post_type' => 'post', 'post_status' => 'publish', 'post_title' => '{title}']);"
    ))?;
    Ok(id.trim().parse()?)
}

/// Titles of the posts the platform holds.
async fn platform_titles(site: &Connected) -> Result<Vec<String>> {
    Ok(site
        .platform_posts(&["post"])
        .await?
        .values()
        .filter_map(|p| p["title"].as_str().map(str::to_owned))
        .collect())
}

/// The plugin's queue as "kind type #id".
fn queued(site: &Connected) -> Result<Vec<String>> {
    let rows = site.wp.php_json(
        r#"global $wpdb; echo json_encode(array_map(function ($r) { return "$r->kind $r->type #$r->wp_id"; }, $wpdb->get_results("SELECT kind, type, wp_id FROM {$wpdb->prefix}igny8_queue ORDER BY id")));"#,
    )?;
    Ok(rows
        .as_array()
        .context("queue rows")?
        .iter()
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect())
}

async fn identity_story(dir: &Path) -> Result<()> {
    let site = Connected::up(dir, SEED).await?;
    site.finish_full_sync().await?;
    let live = site.wp.url.clone();
    let integration = site.get("").await?;
    ensure!(
        integration["site_url"] == live.as_str(),
        "the first push told the platform where the site runs: {integration}"
    );
    addresses_from_the_database(&site)?;

    // 1. The clone: same database, same key, another address.
    let port = live.rsplit(':').next().context("port")?;
    let staging = format!("http://localhost:{port}");
    clone_to(&site, &staging)?;
    served_at(&staging).await?;
    let written = save_post(&site, "Written on the copy")?;
    site.wp
        .run_cron(&[
            "igny8_send_queue",
            "igny8_check_status",
            "igny8_sync_site_structure",
        ])
        .await?;
    ensure!(
        !platform_titles(&site)
            .await?
            .contains(&"Written on the copy".to_owned()),
        "the copy's post reached the platform"
    );
    ensure!(
        queued(&site)?.contains(&format!("post post #{written}")),
        "the copy keeps its change queued: {:?}",
        queued(&site)?
    );
    let integration = site.get("").await?;
    ensure!(
        integration["site_url"] == live.as_str() && integration["site_url_mismatch"].is_null(),
        "the plugin sent nothing, so the platform saw no copy: {integration}"
    );

    // 2. The platform refuses the copy on its own (a plugin that did not stop, here forced), and shows it.
    let refused = site.wp.php(&format!(
        r#"$r = igny8_api_client()->request('GET', '/api/v1/integration/integrations/{}/content/status/', ['auth' => 'api_key', 'skip_identity_check' => true]);
        echo is_wp_error($r) ? $r->get_error_code() . ' ' . $r->get_error_data()['status'] : 'accepted';"#,
        site.integration
    ))?;
    ensure!(
        refused == "site_url_mismatch 409",
        "the platform answered {refused}"
    );
    let integration = site.get("").await?;
    ensure!(
        integration["site_url"] == live.as_str()
            && integration["site_url_mismatch"] == staging.as_str()
            && integration["site_url_mismatch_at"].is_string(),
        "the platform records the copy for the dashboard: {integration}"
    );

    // 3. The owner, in the copy's wp-admin, is asked; "a staging copy" keeps it silent.
    let admin = WpAdmin::login(&staging, "admin", "admin").await?;
    let page = text_of(&admin.settings_page().await?);
    ensure!(
        page.contains("This site runs at another address than the one it was connected from")
            && page.contains(&staging)
            && page.contains("IGNY8 says:"),
        "{page}"
    );
    let page = admin.submit("igny8_site_staging", &[]).await?;
    ensure!(
        notices_of(&page, "success")
            .iter()
            .any(|n| n.contains("this is a staging copy")),
        "{}",
        text_of(&page)
    );
    ensure!(text_of(&page).contains("Staging copy: nothing is synced from here."));
    save_post(&site, "Tested on staging")?;
    site.wp
        .run_cron(&["igny8_send_queue", "igny8_check_status"])
        .await?;
    let titles = platform_titles(&site).await?;
    ensure!(
        !titles
            .iter()
            .any(|t| t == "Tested on staging" || t == "Written on the copy"),
        "a staging copy sent {titles:?}"
    );
    ensure!(site.get("").await?["site_url"] == live.as_str());

    // 4. It was a move after all: the platform follows the site, and what waited is sent.
    let page = admin.submit("igny8_site_moved", &[]).await?;
    ensure!(
        notices_of(&page, "success")
            .iter()
            .any(|n| n.contains(&format!("IGNY8 now knows this site at {staging}"))),
        "{}",
        text_of(&page)
    );
    let integration = site.get("").await?;
    ensure!(
        integration["site_url"] == staging.as_str() && integration["site_url_mismatch"].is_null(),
        "the platform's address is the new one: {integration}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let titles = platform_titles(&site).await?;
        if ["Written on the copy", "Tested on staging"]
            .iter()
            .all(|t| titles.iter().any(|have| have == t))
        {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "what was written meanwhile did not arrive: {titles:?}; queue {:?}",
                queued(&site)?
            );
        }
        site.wp.run_cron(&["igny8_send_queue"]).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    site.wp.php(&format!(
        "wp_update_post(['ID' => {written}, 'post_title' => 'Edited at the new address']);"
    ))?;
    site.eventually_in_step(&["post"], &["category", "post_tag"])
        .await?;

    // The old address is now the copy: a request from it is refused.
    clone_to(&site, &live)?;
    let refused = site.wp.php(&format!(
        r#"$r = igny8_api_client()->request('GET', '/api/v1/integration/integrations/{}/content/status/', ['auth' => 'api_key', 'skip_identity_check' => true]);
        echo is_wp_error($r) ? $r->get_error_code() : 'accepted';"#,
        site.integration
    ))?;
    ensure!(
        refused == "site_url_mismatch",
        "the old address was {refused}"
    );
    let status: Value = site.get("content/status/").await?;
    ensure!(status.is_object());
    Ok(())
}
