//! Content sync end to end (docs/sync-protocol.md): a real WordPress with the plugin and a real `igny8`.
//! Connecting brings everything over by a full sync; edits, trash, restore, deletes, term moves and SEO
//! fields follow within the request that made them; the platform's settings decide what is synced; and a
//! full sync survives the platform and the web server being killed mid-way, ending verified in sync.

use anyhow::{bail, ensure, Context, Result};
use igny8_wp_e2e::wp_admin::text_of;
use igny8_wp_e2e::Scratch;
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use common::*;

/// Posts, pages (with a child), books with genres, categories with a parent no post uses, drafts,
/// private and trashed posts, SEO fields of Yoast and Rank Math.
const SEED: &str = r#"
wp_set_current_user(1);
$news = wp_insert_term('News', 'category');
$local = wp_insert_term('Local', 'category', ['parent' => $news['term_id']]);
$archive = wp_insert_term('Archive', 'category', ['description' => 'Old <b>things</b> & more']);
wp_insert_term('Old', 'category', ['parent' => $archive['term_id']]);
for ($i = 1; $i <= 8; $i++) {
    wp_insert_post(['post_type' => 'post', 'post_status' => 'publish', 'post_title' => "Post $i",
        'post_content' => "<!-- wp:paragraph --><p>Body $i <script>alert(1)</script> ü 😀</p><!-- /wp:paragraph -->",
        'post_excerpt' => "Excerpt $i", 'post_category' => [$i % 2 ? $news['term_id'] : $local['term_id']], 'tags_input' => ["tag-$i", 'shared']]);
}
wp_insert_post(['post_type' => 'post', 'post_status' => 'draft', 'post_title' => 'A draft']);
wp_insert_post(['post_type' => 'post', 'post_status' => 'private', 'post_title' => 'Private thoughts']);
$trashed = wp_insert_post(['post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Trashed before connecting']);
wp_trash_post($trashed);
$about = wp_insert_post(['post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'About']);
wp_insert_post(['post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Team', 'post_parent' => $about]);
$fiction = wp_insert_term('Fiction', 'igny8_genre');
$crime = wp_insert_term('Crime', 'igny8_genre', ['parent' => $fiction['term_id']]);
wp_insert_term('Poetry', 'igny8_genre');
for ($i = 1; $i <= 5; $i++) {
    $b = wp_insert_post(['post_type' => 'igny8_book', 'post_status' => 'publish', 'post_title' => "Book $i"]);
    wp_set_object_terms($b, [(int) $crime['term_id']], 'igny8_genre');
}
$seo = get_page_by_title('Post 1', OBJECT, 'post');
update_post_meta($seo->ID, '_yoast_wpseo_title', '%%title%% %%sep%% %%sitename%%');
update_post_meta($seo->ID, '_yoast_wpseo_metadesc', 'Yoast description');
$rm = get_page_by_title('Post 2', OBJECT, 'post');
update_post_meta($rm->ID, 'rank_math_description', 'Rank Math description');
update_post_meta($rm->ID, 'rank_math_robots', ['noindex', 'nofollow']);
"#;

const ALL_TYPES: [&str; 3] = ["post", "page", "igny8_book"];
const ALL_TAXONOMIES: [&str; 3] = ["category", "post_tag", "igny8_genre"];

#[tokio::test]
async fn connect_syncs_everything_and_changes_follow_until_the_platform_says_otherwise(
) -> Result<()> {
    let scratch = Scratch::new("content")?;
    let result = content_story(&scratch.path).await;
    scratch.finish(result)
}

async fn content_story(dir: &Path) -> Result<()> {
    let site = Connected::up(dir, SEED).await?;
    // The owner syncs books too (custom types start disabled), before the first full sync runs.
    site.change_settings(
        json!({"post_types": {"igny8_book": {"enabled": true, "fetch_limit": 500}},
                                "taxonomies": {"igny8_genre": {"enabled": true}}}),
    )
    .await?;
    assert_eq!(
        site.full_sync()?["status"],
        "pending",
        "connecting asked for a full sync"
    );

    // 1. The full sync brings everything.
    site.finish_full_sync().await?;
    site.assert_in_step(&ALL_TYPES, &ALL_TAXONOMIES).await?;
    let status = site.get("content/status/").await?;
    assert_eq!(status["full_sync"]["status"], "done", "{status}");
    for (key, progress) in status["full_sync"]["types"]
        .as_object()
        .context("progress")?
    {
        assert_eq!(progress["done"], progress["total"], "{key}: {status}");
    }
    let post1 = site
        .wp
        .php("echo get_page_by_title('Post 1', OBJECT, 'post')->ID;")?;
    let item = site.get(&format!("content/post/{post1}/")).await?;
    assert_eq!(
        item["content"],
        "<!-- wp:paragraph --><p>Body 1 <script>alert(1)</script> ü 😀</p><!-- /wp:paragraph -->"
    );
    assert_eq!(item["excerpt"], "Excerpt 1");
    assert_eq!(item["author"], "admin");
    assert_eq!(
        (item["seo"]["title"].clone(), item["seo"]["source"].clone()),
        (json!("%%title%% %%sep%% %%sitename%%"), json!("yoast")),
        "SEO titles keep their template variables: {item}"
    );
    let post2 = site
        .wp
        .php("echo get_page_by_title('Post 2', OBJECT, 'post')->ID;")?;
    let item = site.get(&format!("content/post/{post2}/")).await?;
    assert_eq!(
        (
            item["seo"]["description"].clone(),
            item["seo"]["robots"].clone(),
            item["seo"]["source"].clone()
        ),
        (
            json!("Rank Math description"),
            json!("noindex, nofollow"),
            json!("rankmath")
        )
    );
    let page = site.admin.settings_page().await?;
    assert!(
        text_of(&page).contains("Full sync: done"),
        "{}",
        text_of(&page)
    );

    // 2. Changes follow: each PHP request sends what it changed before it ends.
    site.wp.php(
        r#"wp_insert_post(['post_type' => 'post', 'post_status' => 'publish', 'post_title' => 'Fresh post', 'tags_input' => ['fresh']]);
        wp_insert_post(['post_type' => 'page', 'post_status' => 'draft', 'post_title' => 'Fresh page']);
        wp_insert_post(['post_type' => 'igny8_book', 'post_status' => 'publish', 'post_title' => 'Fresh book']);"#,
    )?;
    site.eventually_in_step(&ALL_TYPES, &ALL_TAXONOMIES).await?;
    site.wp.php(
        r#"$p = get_page_by_title('Post 3', OBJECT, 'post'); wp_update_post(['ID' => $p->ID, 'post_title' => 'Post 3, edited', 'post_content' => 'New body']);
        wp_trash_post(get_page_by_title('Post 4', OBJECT, 'post')->ID);
        wp_untrash_post(get_page_by_title('Trashed before connecting', OBJECT, 'post')->ID);
        wp_delete_post(get_page_by_title('Team', OBJECT, 'page')->ID, true);
        wp_trash_post(get_page_by_title('Book 2', OBJECT, 'igny8_book')->ID);"#,
    )?;
    site.eventually_in_step(&ALL_TYPES, &ALL_TAXONOMIES).await?;
    let post3 = site
        .wp
        .php("echo get_page_by_title('Post 3, edited', OBJECT, 'post')->ID;")?;
    assert_eq!(
        site.get(&format!("content/post/{post3}/")).await?["content"],
        "New body"
    );

    // Terms move: a child to the root, a genre under another parent, a parent deleted.
    site.wp.php(
        r#"$local = get_term_by('slug', 'local', 'category'); wp_update_term($local->term_id, 'category', ['parent' => 0]);
        $crime = get_term_by('slug', 'crime', 'igny8_genre'); $poetry = get_term_by('slug', 'poetry', 'igny8_genre');
        wp_update_term($crime->term_id, 'igny8_genre', ['parent' => $poetry->term_id]);
        wp_delete_term(get_term_by('slug', 'archive', 'category')->term_id, 'category');"#,
    )?;
    site.eventually_in_step(&ALL_TYPES, &ALL_TAXONOMIES).await?;

    // SEO fields change without the post being saved.
    site.wp.php(
        r#"update_post_meta(get_page_by_title('Post 1', OBJECT, 'post')->ID, '_yoast_wpseo_title', 'New Yoast title');
        update_post_meta(get_page_by_title('Post 2', OBJECT, 'post')->ID, 'rank_math_description', 'New Rank Math description');"#,
    )?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let yoast = site.get(&format!("content/post/{post1}/")).await?;
        let rank_math = site.get(&format!("content/post/{post2}/")).await?;
        if yoast["seo"]["title"] == "New Yoast title"
            && rank_math["seo"]["description"] == "New Rank Math description"
        {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "SEO changes did not arrive: {} / {}",
            yoast["seo"],
            rank_math["seo"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        site.wp.php(
            "global $wpdb; echo $wpdb->get_var('SELECT COUNT(*) FROM ' . igny8_queue_table());"
        )?,
        "0",
        "every change was acknowledged"
    );

    // 3. The owner stops syncing books in the platform: they leave it, and their changes stay home.
    site.change_settings(json!({"post_types": {"igny8_book": {"enabled": false}}}))
        .await?;
    assert_eq!(site.full_sync()?["reason"], "settings");
    site.finish_full_sync().await?;
    assert_eq!(
        site.get("content/?type=igny8_book").await?["count"],
        0,
        "books dropped"
    );
    site.wp.php(
        r#"wp_insert_post(['post_type' => 'igny8_book', 'post_status' => 'publish', 'post_title' => 'Unsynced book']);
        $b = get_page_by_title('Book 1', OBJECT, 'igny8_book'); wp_update_post(['ID' => $b->ID, 'post_title' => 'Book 1, edited']);"#,
    )?;
    assert_eq!(site.get("content/?type=igny8_book").await?["count"], 0);
    let synced = ["post", "page"];
    let synced_taxonomies = ["category", "post_tag", "igny8_genre"];
    site.assert_in_step(&synced, &synced_taxonomies).await?;

    // 4. A lower fetch limit: only the most recently modified posts stay.
    site.wp.php(
        r#"for ($i = 1; $i <= 4; $i++) { sleep(1); wp_insert_post(['post_type' => 'post', 'post_status' => 'publish', 'post_title' => "Newest $i"]); }"#,
    )?;
    site.change_settings(json!({"post_types": {"post": {"fetch_limit": 3}}}))
        .await?;
    site.finish_full_sync().await?;
    let posts = site.get("content/?type=post").await?;
    let titles: Vec<&str> = posts["results"]
        .as_array()
        .context("results")?
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect();
    assert_eq!(titles, vec!["Newest 4", "Newest 3", "Newest 2"], "{posts}");

    // 5. The platform checks its copy: in sync.
    let verify = site.verify().await?;
    assert_eq!(verify["state"], "in_sync", "{verify}");
    assert_eq!(verify["differences"], 0, "{verify}");

    // 6. Edits behind WordPress's hooks (a search-replace, an SQL import, a plugin writing its tables):
    // post_modified_gmt stays as it was, so only checksums over every synced field can see them. One
    // verification finds each and repairs it.
    site.wp.php(
        r#"global $wpdb; $newest = get_page_by_title('Newest 4', OBJECT, 'post')->ID;
        $wpdb->insert($wpdb->postmeta, ['post_id' => $newest, 'meta_key' => '_yoast_wpseo_title', 'meta_value' => 'Written by another plugin']);
        $page = get_page_by_title('About', OBJECT, 'page')->ID;
        $wpdb->update($wpdb->posts, ['post_content' => '<p>Imported by SQL</p>'], ['ID' => $page]);
        $poetry = get_term_by('slug', 'poetry', 'igny8_genre');
        $wpdb->update($wpdb->terms, ['name' => 'Verse'], ['term_id' => $poetry->term_id]);
        $wpdb->update($wpdb->term_taxonomy, ['description' => 'Set by SQL'], ['term_id' => $poetry->term_id]);
        wp_cache_flush();"#,
    )?;
    let newest: i64 = site
        .wp
        .php("echo get_page_by_title('Newest 4', OBJECT, 'post')->ID;")?
        .parse()?;
    let page1: i64 = site
        .wp
        .php("echo get_page_by_title('About', OBJECT, 'page')->ID;")?
        .parse()?;
    let verify = site.verify().await?;
    assert_eq!(verify["state"], "out_of_sync", "found: {verify}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        site.wp.run_cron(&["igny8_send_queue"]).await?;
        let post = site.get(&format!("content/post/{newest}/")).await?;
        let page = site.get(&format!("content/page/{page1}/")).await?;
        let genres = site.get("terms/?taxonomy=igny8_genre").await?;
        let verse = genres
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["slug"] == "poetry")
            .cloned()
            .unwrap_or_default();
        if post["seo"]["title"] == "Written by another plugin"
            && page["content"] == "<p>Imported by SQL</p>"
            && verse["name"] == "Verse"
            && verse["description"] == "Set by SQL"
        {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "not repaired: {} / {} / {verse}",
            post["seo"],
            page["content"]
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let verify = site.verify().await?;
    assert_eq!(verify["state"], "in_sync", "repaired: {verify}");
    Ok(())
}

#[tokio::test]
async fn a_full_sync_survives_the_platform_and_the_web_server_being_killed() -> Result<()> {
    let scratch = Scratch::new("content-crash")?;
    let result = crash_story(&scratch.path).await;
    scratch.finish(result)
}

/// The run's progress: batches acknowledged so far.
fn batches(state: &Value) -> u64 {
    state["batches"].as_u64().unwrap_or(0)
}

async fn crash_story(dir: &Path) -> Result<()> {
    // Enough small batches that a cron run takes several seconds, each one's cursor stored (so the
    // test sees the progress it waits for before killing).
    let seed = r#"update_option('e2e_batch_items', 2); update_option('e2e_cursor_interval', 0);
        $cat = wp_insert_term('Bulk', 'category');
        for ($i = 1; $i <= 400; $i++) {
            wp_insert_post(['post_type' => $i % 4 ? 'post' : 'page', 'post_status' => 'publish', 'post_title' => "Bulk $i",
                'post_content' => str_repeat("<p>Paragraph $i</p>", 50), 'post_category' => [$cat['term_id']]]);
        }"#;
    let mut site = Connected::up(dir, seed).await?;
    // All of them, not the 100 most recent (the default limit).
    site.change_settings(
        json!({"post_types": {"post": {"fetch_limit": 1000}, "page": {"fetch_limit": 1000}}}),
    )
    .await?;
    let types = ["post", "page"];
    let taxonomies = ["category", "post_tag"];

    // The platform dies while a cron run is sending the full sync.
    let cron_url = format!("{}/wp-cron.php", site.wp.url);
    let running = tokio::spawn(reqwest::get(cron_url.clone()));
    wait_for_batches(&site, 5).await?;
    site.igny8.kill().await?;
    let _ = running.await;
    let state = site.full_sync()?;
    assert_eq!(state["status"], "running", "{state}");
    let before_restart = batches(&state);
    let error = site
        .wp
        .php_json("echo json_encode(get_option('igny8_content_last_error'));")?;
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("Could not reach the IGNY8 backend")),
        "{error}"
    );

    // It comes back; once the backoff is over (as if a minute passed), cron carries on from the cursor.
    site.igny8.restart().await?;
    site.wp.php("delete_option('igny8_send_backoff');")?;
    site.wp.make_due(&["igny8_full_sync_continue"])?;
    let running = tokio::spawn(reqwest::get(cron_url.clone()));
    wait_for_batches(&site, before_restart + 5).await?;

    // Now the web server dies mid-batch (SIGKILL to php -S and its workers).
    site.wp.kill_server()?;
    let _ = running.await;
    let state = site.full_sync()?;
    assert_eq!(state["status"], "running", "killed before the end: {state}");
    assert!(
        batches(&state) > before_restart,
        "it went on after the restart: {state}"
    );

    // Restarted, WP-Cron's lock of the dead run expires (a minute, here forgotten at once) and the
    // status check finds the run stalled and resumes it.
    site.wp.restart_server()?;
    site.wp.php("delete_transient('doing_cron');")?;
    site.wp.run_cron(&["igny8_check_status"]).await?;
    site.finish_full_sync().await?;
    let state = site.full_sync()?;
    let run_id = state["run_id"].clone();
    let status = site.get("content/status/").await?;
    assert_eq!(
        status["full_sync"]["run_id"], run_id,
        "the same run finished: {status}"
    );
    assert_eq!(status["full_sync"]["status"], "done", "{status}");

    site.assert_in_step(&types, &taxonomies).await?;
    let verify = site.verify().await?;
    assert_eq!(verify["state"], "in_sync", "{verify}");
    assert_eq!(verify["differences"], 0, "{verify}");
    let total: u64 = site.get("content/?type=post").await?["count"]
        .as_u64()
        .unwrap_or(0)
        + site.get("content/?type=page").await?["count"]
            .as_u64()
            .unwrap_or(0);
    let wordpress_total = site.wordpress_posts(&types, &taxonomies)?.len() as u64;
    assert_eq!(total, wordpress_total, "nothing missing, nothing twice");
    Ok(())
}

/// Waits until the running full sync has had `n` batches acknowledged.
async fn wait_for_batches(site: &Connected, n: u64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = site.full_sync()?;
        if batches(&state) >= n {
            return Ok(());
        }
        if state["status"] == "done" {
            bail!("the full sync finished before {n} batches could be watched: {state}");
        }
        ensure!(
            Instant::now() < deadline,
            "no progress to {n} batches: {state}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
