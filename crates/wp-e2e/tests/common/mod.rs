//! What the WordPress end-to-end stories share: a connected site (the platform, WordPress with the
//! plugin, a wp-admin session, a dashboard user's token) and the comparisons between both ends.
// Each test binary uses part of this module.
#![allow(dead_code)]

use anyhow::{bail, ensure, Context, Result};
use igny8_wp_e2e::igny8::Server;
use igny8_wp_e2e::wordpress::WordPress;
use igny8_wp_e2e::wp_admin::{notices_of, text_of, WpAdmin};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

pub const EMAIL: &str = "owner@example.com";
pub const PASSWORD: &str = "a long and secret password";

/// A theme's custom type and hierarchical taxonomy, plus knobs the test turns through options.
pub const SITE_MU_PLUGIN: &str = r#"<?php
add_action('init', function () {
    register_post_type('igny8_book', ['label' => 'Books', 'public' => true, 'hierarchical' => true]);
    register_taxonomy('igny8_genre', ['igny8_book'], ['label' => 'Genres', 'public' => true, 'hierarchical' => true]);
});
add_filter('igny8_status_poll_interval', '__return_zero');
add_filter('igny8_batch_max_items', function ($n) { return (int) get_option('e2e_batch_items', $n); });
add_filter('igny8_full_sync_cursor_interval', function ($s) { return (float) get_option('e2e_cursor_interval', $s); });
"#;

/// A connected site: the platform, WordPress, a wp-admin session, a dashboard user's token.
pub struct Connected {
    pub igny8: Server,
    pub wp: WordPress,
    pub admin: WpAdmin,
    pub jwt: String,
    pub integration: i64,
}

impl Connected {
    /// Brings up both ends, lets `seed` fill WordPress (before connecting), connects from wp-admin.
    pub async fn up(dir: &Path, seed: &str) -> Result<Connected> {
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

    pub fn path(&self, rest: &str) -> String {
        format!(
            "/api/v1/integration/integrations/{}/{rest}",
            self.integration
        )
    }

    pub async fn get(&self, rest: &str) -> Result<Value> {
        self.igny8
            .api("GET", &self.path(rest), Some(&self.jwt), None)
            .await
    }

    /// Changes the platform-owned settings (as the dashboard's toggles do), then "Sync structure now"
    /// brings them to WordPress.
    pub async fn change_settings(&self, patch: Value) -> Result<()> {
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
    pub fn full_sync(&self) -> Result<Value> {
        self.wp
            .php_json("echo json_encode(get_option('igny8_full_sync', null));")
    }

    /// Runs WP-Cron until the full sync is done, as a site's cron would every minute.
    pub async fn finish_full_sync(&self) -> Result<()> {
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
    pub async fn platform_posts(&self, types: &[&str]) -> Result<BTreeMap<String, Value>> {
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
    pub fn wordpress_posts(
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
    pub async fn platform_terms(&self, taxonomy: &str) -> Result<BTreeMap<i64, Value>> {
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

    pub fn wordpress_terms(&self, taxonomy: &str) -> Result<BTreeMap<i64, Value>> {
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
    pub async fn assert_in_step(&self, types: &[&str], taxonomies: &[&str]) -> Result<()> {
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
    pub async fn eventually_in_step(&self, types: &[&str], taxonomies: &[&str]) -> Result<()> {
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
    pub async fn verify(&self) -> Result<Value> {
        self.igny8
            .api(
                "POST",
                &self.path("content/verify/"),
                Some(&self.jwt),
                Some(json!({"action": "request"})),
            )
            .await?;
        self.wp.run_cron(&["igny8_check_status"]).await?;
        let status = self.get("content/status/").await?;
        ensure!(
            status["verify_requested"] == false,
            "the plugin did not run the verification: {status}"
        );
        Ok(status["verify"].clone())
    }
}

/// Compares two maps and says what differs.
pub fn assert_same<K: Ord + std::fmt::Debug + Clone>(
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
