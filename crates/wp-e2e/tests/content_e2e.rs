//! Content sync end to end (docs/sync-protocol.md): a real WordPress with the plugin and a real `igny8`.
//! Connecting brings everything over by a full sync; edits, trash, restore, deletes, term moves and SEO
//! fields follow within the request that made them; the platform's settings decide what is synced; and a
//! full sync survives the platform and the web server being killed mid-way, ending verified in sync.

use anyhow::{bail, ensure, Context, Result};
use igny8_wp_e2e::igny8::Server;
use igny8_wp_e2e::wordpress::WordPress;
use igny8_wp_e2e::wp_admin::{notices_of, text_of, WpAdmin};
use igny8_wp_e2e::Scratch;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const EMAIL: &str = "owner@example.com";
const PASSWORD: &str = "a long and secret password";

/// A theme's custom type and hierarchical taxonomy, plus knobs the test turns through options.
const SITE_MU_PLUGIN: &str = r#"<?php
add_action('init', function () {
    register_post_type('igny8_book', ['label' => 'Books', 'public' => true, 'hierarchical' => true]);
    register_taxonomy('igny8_genre', ['igny8_book'], ['label' => 'Genres', 'public' => true, 'hierarchical' => true]);
});
add_filter('igny8_status_poll_interval', '__return_zero');
add_filter('igny8_batch_max_items', function ($n) { return (int) get_option('e2e_batch_items', $n); });
add_filter('igny8_full_sync_cursor_interval', function ($s) { return (float) get_option('e2e_cursor_interval', $s); });
"#;

/// A connected site: the platform, WordPress, a wp-admin session, a dashboard user's token.
struct Connected {
    igny8: Server,
    wp: WordPress,
    admin: WpAdmin,
    jwt: String,
    integration: i64,
}

impl Connected {
    /// Brings up both ends, lets `seed` fill WordPress (before connecting), connects from wp-admin.
    async fn up(dir: &Path, seed: &str) -> Result<Connected> {
        let igny8 = Server::start(dir).await?;
        let wp = WordPress::up(&dir.join("wp"))?;
        wp.write_mu_plugin("igny8-e2e-site.php", SITE_MU_PLUGIN)?;
        wp.php(seed)?;
        igny8.create_user(EMAIL, PASSWORD).await?;
        let site = igny8.create_site(EMAIL, "My Blog", &wp.url).await?;
        let (key, _) = igny8.create_key(site).await?;
        let admin = WpAdmin::login(&wp.url, "admin", "admin").await?;
        let page = admin
            .submit(
                "igny8_connect",
                &[
                    ("igny8_api_base", igny8.base_url.as_str()),
                    ("igny8_email", EMAIL),
                    ("igny8_password", PASSWORD),
                    ("igny8_api_key", key.as_str()),
                ],
            )
            .await?;
        ensure!(
            notices_of(&page, "success").len() == 1,
            "connect: {}",
            text_of(&page)
        );
        let jwt = igny8.login(EMAIL, PASSWORD).await?;
        let integrations = igny8
            .api(
                "GET",
                &format!("/api/v1/integration/integrations/?site={site}"),
                Some(&jwt),
                None,
            )
            .await?;
        let integration = integrations[0]["id"].as_i64().context("integration id")?;
        Ok(Connected {
            igny8,
            wp,
            admin,
            jwt,
            integration,
        })
    }

    fn path(&self, rest: &str) -> String {
        format!(
            "/api/v1/integration/integrations/{}/{rest}",
            self.integration
        )
    }

    async fn get(&self, rest: &str) -> Result<Value> {
        self.igny8
            .api("GET", &self.path(rest), Some(&self.jwt), None)
            .await
    }

    /// Changes the platform-owned settings (as the dashboard's toggles do), then "Sync structure now"
    /// brings them to WordPress.
    async fn change_settings(&self, patch: Value) -> Result<()> {
        self.igny8
            .api(
                "PATCH",
                &self.path("content-types/"),
                Some(&self.jwt),
                Some(patch),
            )
            .await?;
        let page = self.admin.submit("igny8_sync_now", &[]).await?;
        ensure!(
            notices_of(&page, "success").len() == 1,
            "sync now: {}",
            text_of(&page)
        );
        Ok(())
    }

    /// The plugin's stored full sync run.
    fn full_sync(&self) -> Result<Value> {
        self.wp
            .php_json("echo json_encode(get_option('igny8_full_sync', null));")
    }

    /// Runs WP-Cron until the full sync is done, as a site's cron would every minute.
    async fn finish_full_sync(&self) -> Result<()> {
        for _ in 0..60 {
            let state = self.full_sync()?;
            if state["status"] == "done" {
                return Ok(());
            }
            self.wp.run_cron(&["igny8_full_sync_continue"]).await?;
        }
        bail!("the full sync did not finish: {}", self.full_sync()?)
    }

    /// What the platform holds of these post types: "type:id" → the fields compared.
    async fn platform_posts(&self, types: &[&str]) -> Result<BTreeMap<String, Value>> {
        let mut out = BTreeMap::new();
        for t in types {
            let mut page = 1;
            loop {
                let data = self
                    .get(&format!("content/?type={t}&page_size=500&page={page}"))
                    .await?;
                let results = data["results"].as_array().context("results")?;
                for item in results {
                    let key = format!("{t}:{}", item["wp_id"]);
                    let seen = out.insert(
                        key.clone(),
                        json!({"title": item["title"], "slug": item["slug"], "status": item["status"],
                               "parent": item["parent"], "modified_gmt": item["modified_gmt"], "terms": item["terms"]}),
                    );
                    ensure!(seen.is_none(), "{key} listed twice");
                }
                if results.len() < 500 {
                    break;
                }
                page += 1;
            }
        }
        Ok(out)
    }

    /// The same fields as WordPress holds them (every status but editor stubs), terms of `taxonomies`.
    fn wordpress_posts(
        &self,
        types: &[&str],
        taxonomies: &[&str],
    ) -> Result<BTreeMap<String, Value>> {
        let code = format!(
            r#"global $wpdb; $types = json_decode('{}'); $taxonomies = json_decode('{}'); $out = new stdClass();
            foreach ($types as $t) {{
                foreach ($wpdb->get_results($wpdb->prepare("SELECT * FROM {{$wpdb->posts}} WHERE post_type = %s AND post_status NOT IN ('auto-draft', 'inherit')", $t)) as $p) {{
                    $terms = new stdClass();
                    foreach (get_object_taxonomies($t) as $tx) {{
                        if (!in_array($tx, $taxonomies, true)) {{ continue; }}
                        $ids = array_map('intval', wp_get_object_terms($p->ID, $tx, ['fields' => 'ids']));
                        sort($ids);
                        $terms->$tx = $ids;
                    }}
                    $out->{{"$t:{{$p->ID}}"}} = ['title' => $p->post_title, 'slug' => $p->post_name, 'status' => $p->post_status,
                        'parent' => (int) $p->post_parent, 'modified_gmt' => $p->post_modified_gmt, 'terms' => $terms];
                }}
            }}
            echo json_encode($out);"#,
            serde_json::to_string(types)?,
            serde_json::to_string(taxonomies)?
        );
        let value = self.wp.php_json(&code)?;
        Ok(value
            .as_object()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect())
    }

    /// Terms of a taxonomy: id → {name, slug, parent, count, description}, on the platform.
    async fn platform_terms(&self, taxonomy: &str) -> Result<BTreeMap<i64, Value>> {
        let data = self.get(&format!("terms/?taxonomy={taxonomy}")).await?;
        let mut out = BTreeMap::new();
        for t in data.as_array().context("terms list")? {
            let id = t["wp_id"].as_i64().context("wp_id")?;
            let seen = out.insert(
                id,
                json!({"name": t["name"], "slug": t["slug"], "parent": t["parent"], "count": t["count"], "description": t["description"]}),
            );
            ensure!(seen.is_none(), "term {id} listed twice");
        }
        Ok(out)
    }

    fn wordpress_terms(&self, taxonomy: &str) -> Result<BTreeMap<i64, Value>> {
        let value = self.wp.php_json(&format!(
            r#"global $wpdb; $out = [];
            foreach ($wpdb->get_results($wpdb->prepare("SELECT t.term_id, t.name, t.slug, tt.parent, tt.count, tt.description FROM {{$wpdb->terms}} t JOIN {{$wpdb->term_taxonomy}} tt ON tt.term_id = t.term_id WHERE tt.taxonomy = %s", '{taxonomy}')) as $t) {{
                $out[] = ['wp_id' => (int) $t->term_id, 'name' => $t->name, 'slug' => $t->slug, 'parent' => (int) $t->parent, 'count' => (int) $t->count, 'description' => $t->description];
            }}
            echo json_encode($out);"#
        ))?;
        let mut out = BTreeMap::new();
        for t in value.as_array().context("terms")? {
            out.insert(
                t["wp_id"].as_i64().context("wp_id")?,
                json!({"name": t["name"], "slug": t["slug"], "parent": t["parent"], "count": t["count"], "description": t["description"]}),
            );
        }
        Ok(out)
    }

    /// The platform holds exactly what WordPress holds of these types: nothing missing, nothing extra,
    /// nothing twice, every compared field equal.
    async fn assert_in_step(&self, types: &[&str], taxonomies: &[&str]) -> Result<()> {
        let wordpress = self.wordpress_posts(types, taxonomies)?;
        let platform = self.platform_posts(types).await?;
        assert_same(&wordpress, &platform, "posts")?;
        for tx in taxonomies {
            assert_same(
                &self.wordpress_terms(tx)?,
                &self.platform_terms(tx).await?,
                &format!("terms of {tx}"),
            )?;
        }
        Ok(())
    }

    /// Polls until the platform is in step with WordPress (a change travels at the end of the PHP
    /// request that made it: it is normally there when that request returns).
    async fn eventually_in_step(&self, types: &[&str], taxonomies: &[&str]) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.assert_in_step(types, taxonomies).await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() > deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// Asks for a verification as the dashboard does, lets cron run it, and answers the platform's
    /// verify status.
    async fn verify(&self) -> Result<Value> {
        self.igny8
            .api(
                "POST",
                &self.path("content/verify/"),
                Some(&self.jwt),
                Some(json!({"action": "request"})),
            )
            .await?;
        self.wp.run_cron(&["igny8_send_queue"]).await?;
        let status = self.get("content/status/").await?;
        ensure!(
            status["verify_requested"] == false,
            "the plugin did not run the verification: {status}"
        );
        Ok(status["verify"].clone())
    }
}

/// Compares two maps and says what differs.
fn assert_same<K: Ord + std::fmt::Debug + Clone>(
    wordpress: &BTreeMap<K, Value>,
    platform: &BTreeMap<K, Value>,
    what: &str,
) -> Result<()> {
    let missing: Vec<_> = wordpress
        .keys()
        .filter(|k| !platform.contains_key(*k))
        .collect();
    let extra: Vec<_> = platform
        .keys()
        .filter(|k| !wordpress.contains_key(*k))
        .collect();
    let differing: Vec<_> = wordpress
        .iter()
        .filter(|(k, v)| platform.get(*k).is_some_and(|p| p != *v))
        .map(|(k, v)| format!("{k:?}: wordpress {v} platform {}", platform[k]))
        .collect();
    ensure!(
        missing.is_empty() && extra.is_empty() && differing.is_empty(),
        "{what}: missing on the platform {missing:?}, only on the platform {extra:?}, differing {differing:#?}"
    );
    Ok(())
}

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
    // every-minute event finds the run stalled and resumes it.
    site.wp.restart_server()?;
    site.wp.php("delete_transient('doing_cron');")?;
    site.wp.run_cron(&["igny8_send_queue"]).await?;
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
