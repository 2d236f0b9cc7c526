//! Two-way sync end to end (docs/sync-protocol.md, "Two-way sync"): a platform user's change reaches a
//! real WordPress through the plugin, nudged at once or pulled at the next status check; edits on both
//! sides merge field by field, a conflict waits for a person's choice and the choice reaches WordPress;
//! a PHP process killed in the middle of applying a change converges on the next pull, nothing twice.

use anyhow::{bail, ensure, Context, Result};
use igny8_wp_e2e::Scratch;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use common::*;

/// One post with a category, two-way sync switched on before connecting; a mu-plugin that kills the
/// PHP process once, right after a created post got its change id (the middle of an apply).
const SEED: &str = r#"
wp_set_current_user(1);
$news = wp_insert_term('News', 'category');
$id = wp_insert_post(['post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Dune',
    'post_content' => '<p>Spice</p>', 'post_excerpt' => 'Desert', 'post_category' => [$news['term_id']]]);
update_option('e2e_post', $id);
update_option('igny8_two_way_sync_enabled', 1);
"#;

const KILLER_MU_PLUGIN: &str = r#"<?php
add_action('added_post_meta', function ($mid, $post_id, $key) {
    if ('_igny8_change_id' === $key && get_option('e2e_kill_once')) {
        delete_option('e2e_kill_once');
        posix_kill(getmypid(), 9);
    }
}, 10, 3);
"#;

async fn connected(dir: &Path) -> Result<(Connected, i64)> {
    let site = Connected::up(dir, SEED).await?;
    site.wp
        .write_mu_plugin("igny8-e2e-killer.php", KILLER_MU_PLUGIN)?;
    site.finish_full_sync().await?;
    let post: i64 = site
        .wp
        .php("echo get_option('e2e_post');")?
        .trim()
        .parse()?;
    Ok((site, post))
}

async fn queue(site: &Connected, body: Value) -> Result<Value> {
    site.igny8
        .api("POST", &site.path("changes/"), Some(&site.jwt), Some(body))
        .await
}

async fn change(site: &Connected, id: i64) -> Result<Value> {
    site.get(&format!("changes/{id}/")).await
}

/// Polls until the change leaves `pending`; answers it.
async fn settled(site: &Connected, id: i64, within: Duration) -> Result<Value> {
    let deadline = Instant::now() + within;
    loop {
        let c = change(site, id).await?;
        if c["status"] != "pending" {
            return Ok(c);
        }
        if Instant::now() > deadline {
            bail!("change {id} still pending after {within:?}: {c}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A post's fields as WordPress holds them.
fn wp_post(site: &Connected, id: i64) -> Result<Value> {
    site.wp.php_json(&format!(
        r#"$p = get_post({id});
        echo wp_json_encode(['title' => $p->post_title, 'content' => $p->post_content, 'excerpt' => $p->post_excerpt,
            'status' => $p->post_status, 'modified_gmt' => $p->post_modified_gmt,
            'description' => get_post_meta({id}, '_yoast_wpseo_metadesc', true),
            'categories' => wp_get_post_categories({id}, ['fields' => 'names']),
            'revisions' => array_values(array_map(function ($r) {{ return $r->post_title; }}, wp_get_post_revisions({id})))]);"#
    ))
}

/// The site's stored key, to act as the plugin would.
fn site_key(site: &Connected) -> Result<String> {
    Ok(site
        .wp
        .php("echo get_option('igny8_api_key');")?
        .trim()
        .to_owned())
}

#[tokio::test]
async fn a_platform_edit_reaches_wordpress_nudged_or_pulled_and_survives_a_killed_apply(
) -> Result<()> {
    let scratch = Scratch::new("twoway")?;
    let result = delivery_story(&scratch.path).await;
    scratch.finish(result)
}

async fn delivery_story(dir: &Path) -> Result<()> {
    let (site, post) = connected(dir).await?;

    // 1. Nudged: applied in WordPress within moments, with the SEO plugin's field and the live page.
    let started = Instant::now();
    let c = queue(
        &site,
        json!({"op": "update", "type": "post", "wp_id": post,
               "fields": {"title": "Dune, reread", "seo": {"description": "A desert planet."}}}),
    )
    .await?;
    let id = c["id"].as_i64().context("change id")?;
    let c = settled(&site, id, Duration::from_secs(10)).await?;
    ensure!(c["status"] == "applied", "nudged change: {c}");
    let elapsed = started.elapsed();
    let wp = wp_post(&site, post)?;
    ensure!(
        wp["title"] == "Dune, reread" && wp["description"] == "A desert planet.",
        "{wp}"
    );
    ensure!(
        wp["content"] == "<p>Spice</p>",
        "fields the change does not name are untouched: {wp}"
    );
    ensure!(
        c["result"]["wp_id"] == post && c["result"]["modified_gmt"] == wp["modified_gmt"],
        "{c} vs {wp}"
    );
    println!("nudged change applied in {elapsed:?}");
    let page = reqwest::get(format!("{}/?p={post}", site.wp.url))
        .await?
        .text()
        .await?;
    ensure!(
        page.contains("<title>Dune, reread"),
        "the live page shows the new title"
    );
    // The echo: the platform's copy becomes WordPress's version.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let item = site.get(&format!("content/post/{post}/")).await?;
        if item["title"] == "Dune, reread" && item["seo"]["description"] == "A desert planet." {
            break;
        }
        ensure!(Instant::now() < deadline, "no echo: {item}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 2. The nudge cannot reach the site: the change waits for the next status check.
    let key = site_key(&site)?;
    let dead = format!("http://127.0.0.1:{}/nudge", igny8_wp_e2e::free_port()?);
    site.igny8
        .api(
            "POST",
            &site.path("changes/receiver/"),
            Some(&key),
            Some(json!({"url": dead, "secret": "ab".repeat(32)})),
        )
        .await?;
    let c = queue(
        &site,
        json!({"op": "update", "type": "post", "wp_id": post, "fields": {"excerpt": "Arrakis"}}),
    )
    .await?;
    let id = c["id"].as_i64().context("change id")?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ensure!(
        change(&site, id).await?["status"] == "pending",
        "nothing pulled without a nudge"
    );
    ensure!(wp_post(&site, post)?["excerpt"] == "Desert");
    let status = site.get("content/status/").await?;
    ensure!(status["changes_pending"] == 1, "{status}");
    site.wp.php("igny8_poll_content_status(true);")?;
    let c = settled(&site, id, Duration::from_secs(10)).await?;
    ensure!(c["status"] == "applied", "pulled at the status check: {c}");
    ensure!(wp_post(&site, post)?["excerpt"] == "Arrakis");

    // 3. A create whose PHP process is killed right after the post got its change id: the next
    //    pull completes it, and there is one such post.
    let c = queue(
        &site,
        json!({"op": "create", "type": "post",
               "fields": {"title": "Children of Dune", "status": "publish", "content": "<p>Sequel</p>",
                          "terms": {"category": ["Sequels"]}, "seo": {"description": "The second book."}}}),
    )
    .await?;
    let id = c["id"].as_i64().context("change id")?;
    site.wp.php("update_option('e2e_kill_once', 1);")?;
    ensure!(
        site.wp.php("igny8_pull_changes();").is_err(),
        "the apply was killed"
    );
    ensure!(
        change(&site, id).await?["status"] == "pending",
        "a killed apply reports nothing"
    );
    site.wp.php("igny8_pull_changes();")?;
    let c = settled(&site, id, Duration::from_secs(10)).await?;
    ensure!(c["status"] == "applied", "{c}");
    let created = site.wp.php_json(
        r#"$ids = get_posts(['post_type' => 'post', 'title' => 'Children of Dune', 'post_status' => 'any', 'fields' => 'ids']);
        echo wp_json_encode($ids);"#,
    )?;
    ensure!(
        created.as_array().map(Vec::len) == Some(1),
        "one post, not two: {created}"
    );
    let new_id = created[0].as_i64().context("post id")?;
    ensure!(c["result"]["wp_id"] == new_id, "{c}");
    let wp = wp_post(&site, new_id)?;
    ensure!(
        wp["categories"] == json!(["Sequels"]) && wp["description"] == "The second book.",
        "completed: {wp}"
    );
    // Delivered again (as after a lost answer), an applied change writes nothing new.
    let before = wp_post(&site, new_id)?["modified_gmt"].clone();
    ensure!(site.wp.php("igny8_pull_changes();").is_ok());
    ensure!(wp_post(&site, new_id)?["modified_gmt"] == before);
    Ok(())
}

#[tokio::test]
async fn edits_on_both_sides_merge_and_a_conflict_waits_for_a_choice() -> Result<()> {
    let scratch = Scratch::new("twoway-merge")?;
    let result = merge_story(&scratch.path).await;
    scratch.finish(result)
}

async fn merge_story(dir: &Path) -> Result<()> {
    let (site, post) = connected(dir).await?;
    let copy = site.get(&format!("content/post/{post}/")).await?;
    let base_time = copy["modified_gmt"].clone();

    // WordPress edits the content while the platform edits the SEO description from the same copy.
    site.wp.php(&format!("wp_set_current_user(1); wp_update_post(['ID' => {post}, 'post_content' => '<p>Spice, edited in WordPress</p>']);"))?;
    let c = queue(
        &site,
        json!({"op": "update", "type": "post", "wp_id": post, "base_modified_gmt": base_time,
               "base": {"seo": {"description": copy["seo"]["description"]}},
               "fields": {"seo": {"description": "Platform description"}}}),
    )
    .await?;
    let c = settled(
        &site,
        c["id"].as_i64().context("id")?,
        Duration::from_secs(10),
    )
    .await?;
    ensure!(c["status"] == "applied", "{c}");
    let wp = wp_post(&site, post)?;
    ensure!(
        wp["content"] == "<p>Spice, edited in WordPress</p>"
            && wp["description"] == "Platform description",
        "both edits survive: {wp}"
    );

    // Both sides change the title: the default policy (manual) waits for a person.
    site.wp.php(&format!("wp_set_current_user(1); wp_update_post(['ID' => {post}, 'post_title' => 'Dune (WordPress)']);"))?;
    let c = queue(
        &site,
        json!({"op": "update", "type": "post", "wp_id": post, "base_modified_gmt": base_time,
               "base": {"title": "Dune", "excerpt": "Desert"},
               "fields": {"title": "Dune (IGNY8)", "excerpt": "Platform excerpt"}}),
    )
    .await?;
    let id = c["id"].as_i64().context("id")?;
    let c = settled(&site, id, Duration::from_secs(10)).await?;
    ensure!(c["status"] == "conflict", "{c}");
    ensure!(
        c["result"]["conflicts"]["title"]["wordpress"] == "Dune (WordPress)",
        "{c}"
    );
    let wp = wp_post(&site, post)?;
    ensure!(
        wp["title"] == "Dune (WordPress)" && wp["excerpt"] == "Desert",
        "manual applies nothing: {wp}"
    );
    // The person keeps IGNY8's title: a new change, based on WordPress's value, reaches WordPress.
    let next = site
        .igny8
        .api(
            "POST",
            &site.path(&format!("changes/{id}/resolve/")),
            Some(&site.jwt),
            Some(json!({"choices": {"title": "platform"}})),
        )
        .await?;
    let next = settled(
        &site,
        next["id"].as_i64().context("id")?,
        Duration::from_secs(10),
    )
    .await?;
    ensure!(next["status"] == "applied", "{next}");
    let wp = wp_post(&site, post)?;
    ensure!(
        wp["title"] == "Dune (IGNY8)" && wp["excerpt"] == "Platform excerpt",
        "{wp}"
    );
    ensure!(
        wp["revisions"]
            .as_array()
            .is_some_and(|r| r.iter().any(|t| t == "Dune (WordPress)")),
        "WordPress's title is kept in its revisions: {wp}"
    );

    // platform_wins overwrites, and keeps what it overwrote in the change's result.
    site.wp.php(&format!("wp_set_current_user(1); wp_update_post(['ID' => {post}, 'post_title' => 'Dune (WordPress again)']);"))?;
    let c = queue(
        &site,
        json!({"op": "update", "type": "post", "wp_id": post, "policy": "platform_wins",
               "base_modified_gmt": base_time, "base": {"title": "Dune (IGNY8)"},
               "fields": {"title": "Dune (IGNY8 wins)"}}),
    )
    .await?;
    let c = settled(
        &site,
        c["id"].as_i64().context("id")?,
        Duration::from_secs(10),
    )
    .await?;
    ensure!(
        c["status"] == "applied" && c["result"]["overwritten"]["title"] == "Dune (WordPress again)",
        "{c}"
    );
    ensure!(wp_post(&site, post)?["title"] == "Dune (IGNY8 wins)");

    // Trash from the platform; the switch off in WordPress refuses what is queued.
    let c = queue(&site, json!({"op": "trash", "type": "post", "wp_id": post})).await?;
    let c = settled(
        &site,
        c["id"].as_i64().context("id")?,
        Duration::from_secs(10),
    )
    .await?;
    ensure!(
        c["status"] == "applied" && wp_post(&site, post)?["status"] == "trash",
        "{c}"
    );
    Ok(())
}
