//! Filling the fleet's database in bulk: platform users through `igny8 user create` (their passwords
//! need the server's hashing), then sites, keys and integrations by COPY (keys hashed as the platform
//! hashes them), then millions of short content rows by INSERT … SELECT generate_series.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use igny8_domain::api_key::NewApiKey;

use super::cluster::Cluster;
use crate::server;

pub const USER_PASSWORD: &str = "fleet-password-1234";

/// Where seeded rows go. Probe sites hold the same rows at both growth points; the rest of the rows
/// spread over every other site.
pub struct SeedPlan {
    pub sites: usize,
    pub probes: usize,
    pub probe_rows: u64,
    /// Rows per other site in the first stage, and added in the second.
    pub stage1_per_site: u64,
    pub stage2_per_site: u64,
}

impl SeedPlan {
    /// `rows` in total by the end, a tenth of them after the first stage.
    pub fn new(sites: usize, probes: usize, rows: u64) -> Self {
        let probes = probes.min(sites.saturating_sub(1));
        let others = (sites - probes).max(1) as u64;
        let stage1 = rows / 10;
        let probe_rows = (stage1 / 4 / probes.max(1) as u64).min(5_000);
        let stage1_per_site = stage1.saturating_sub(probe_rows * probes as u64) / others;
        let stage2_per_site = (rows - stage1) / others;
        Self {
            sites,
            probes,
            probe_rows,
            stage1_per_site,
            stage2_per_site,
        }
    }

    /// Seeded post ids of site `i` are 1..=this once both stages ran (after stage 1 with `stage2`
    /// false).
    pub fn seeded(&self, i: usize, stage2: bool) -> u64 {
        if i < self.probes {
            self.probe_rows
        } else if stage2 {
            self.stage1_per_site + self.stage2_per_site
        } else {
            self.stage1_per_site
        }
    }
}

/// A site as the simulator knows it: ids, its key and its address.
pub struct SiteRow {
    pub integration_id: i64,
    pub key: String,
    pub url: String,
}

/// The platform users: `users` accounts, each owning `sites_per_user` sites (the first ones); every
/// other site has an account of its own. Answers the emails, then the sites.
pub async fn accounts_and_sites(
    cluster: &Cluster,
    bin: &Path,
    users: usize,
    sites: usize,
    sites_per_user: usize,
) -> anyhow::Result<(Vec<String>, Vec<SiteRow>)> {
    let db_url = cluster.url();
    let mut emails = Vec::with_capacity(users);
    for u in 0..users {
        let email = format!("user{u}@fleet.example");
        server::admin(
            bin,
            &db_url,
            &["user", "create", "--email", &email, "--password-stdin"],
            Some(&format!("{USER_PASSWORD}\n")),
        )
        .await?;
        emails.push(email);
    }
    let db = cluster.database();
    let mut user_accounts = Vec::with_capacity(users);
    for email in &emails {
        let id: i64 = cluster
            .psql(
                db,
                &format!("SELECT account_id FROM users WHERE email = '{email}'"),
            )?
            .trim()
            .parse()
            .context("reading a user's account")?;
        user_accounts.push(id);
    }
    let first_free: i64 = cluster
        .psql(db, "SELECT COALESCE(MAX(id), 0) + 1 FROM accounts")?
        .trim()
        .parse()
        .context("reading the accounts")?;

    let now = "2026-12-01 00:00:00+00";
    let (mut accounts, mut site_copy, mut keys, mut integrations) =
        (String::new(), String::new(), String::new(), String::new());
    let mut rows = Vec::with_capacity(sites);
    let mut next_account = first_free;
    for i in 0..sites {
        let account = match user_accounts.get(i / sites_per_user.max(1)) {
            Some(&a) => a,
            None => {
                let a = next_account;
                next_account += 1;
                writeln!(accounts, "{a}\tFleet account {a}\t{now}")?;
                a
            }
        };
        let id = i as i64 + 1;
        let url = format!("https://site{i}.fleet.example");
        writeln!(
            site_copy,
            "{id}\t{account}\tFleet site {i}\t{url}\tt\t{now}"
        )?;
        let key = NewApiKey::generate();
        writeln!(
            keys,
            "{id}\t{id}\t{}\t{}\tfleet\t{now}",
            key.prefix, key.hash
        )?;
        writeln!(
            integrations,
            "{id}\t{id}\twordpress\tt\t{{}}\tnever\t{now}\t{now}\t{url}"
        )?;
        rows.push(SiteRow {
            integration_id: id,
            key: key.secret,
            url,
        });
    }
    let copy = |sql: &str, data: &str| cluster.psql_with_input(db, sql, Some(data.as_bytes()));
    copy("COPY accounts (id, name, created_at) FROM STDIN", &accounts)?;
    copy(
        "COPY sites (id, account_id, name, url, is_active, created_at) FROM STDIN",
        &site_copy,
    )?;
    copy(
        "COPY api_keys (id, site_id, prefix, hash, label, created_at) FROM STDIN",
        &keys,
    )?;
    copy(
        "COPY site_integrations (id, site_id, platform, is_active, config_json, sync_status, created_at, updated_at, site_url) FROM STDIN",
        &integrations,
    )?;
    cluster.psql(
        db,
        "SELECT setval('accounts_id_seq', (SELECT MAX(id) FROM accounts));
         SELECT setval('sites_id_seq', (SELECT MAX(id) FROM sites));
         SELECT setval('api_keys_id_seq', (SELECT MAX(id) FROM api_keys));
         SELECT setval('site_integrations_id_seq', (SELECT MAX(id) FROM site_integrations));
         ANALYZE",
    )?;
    Ok((emails, rows))
}

/// `INSERT … SELECT`: post ids `from..=to` for integrations `first..=last`, short bodies (the rows
/// must be many, not big, for 10 million to fit in minutes on this machine).
fn insert_posts(
    cluster: &Cluster,
    first: i64,
    last: i64,
    from: u64,
    to: u64,
) -> anyhow::Result<()> {
    if from > to || first > last {
        return Ok(());
    }
    cluster.psql(
        cluster.database(),
        &format!(
            "SET synchronous_commit = off;
             INSERT INTO content (integration_id, post_type, wp_id, title, slug, status, body, excerpt,
                 author, url, modified_gmt, date_gmt, terms, seo, checksum, synced_at)
             SELECT i, 'post', g, 'Seeded post ' || g, 'seeded-post-' || g,
                 CASE WHEN g % 20 = 0 THEN 'draft' WHEN g % 50 = 1 THEN 'trash' ELSE 'publish' END,
                 'A short seeded body.', '', 'Ann', 'https://site' || (i - 1) || '.fleet.example/?p=' || g,
                 to_char(timestamp '2024-01-01' + g * interval '7 minutes', 'YYYY-MM-DD HH24:MI:SS'),
                 to_char(timestamp '2024-01-01' + g * interval '7 minutes', 'YYYY-MM-DD HH24:MI:SS'),
                 '{{\"category\": [1]}}', 'null', g, now()
             FROM generate_series({first}::bigint, {last}::bigint) i, generate_series({from}::bigint, {to}::bigint) g"
        ),
    )?;
    Ok(())
}

/// Seeds a stage: stage 1 gives the probes their rows and every other site its first rows; stage 2
/// adds rows to the other sites only. Prints progress; answers the rows the table holds.
pub fn seed_stage(cluster: &Cluster, plan: &SeedPlan, stage2: bool) -> anyhow::Result<u64> {
    let started = Instant::now();
    // No autovacuum while the seed runs: the seed's own VACUUM ANALYZE follows it, and a worker
    // vacuuming the same table meanwhile only competes with the inserts (bench/README.md, "Fleet").
    cluster.psql(
        cluster.database(),
        "ALTER TABLE content SET (autovacuum_enabled = false)",
    )?;
    if !stage2 && plan.probes > 0 {
        // Readers and writers in separate statements, so they share no heap page: a growth batch
        // clears the visibility bit of the pages it writes, which would make the readers' index-only
        // scans visit the heap at one size and not the other.
        let half = (plan.probes / 2).max(1) as i64;
        insert_posts(cluster, 1, half, 1, plan.probe_rows)?;
        insert_posts(cluster, half + 1, plan.probes as i64, 1, plan.probe_rows)?;
    }
    let (from, to) = if stage2 {
        (
            plan.stage1_per_site + 1,
            plan.stage1_per_site + plan.stage2_per_site,
        )
    } else {
        (1, plan.stage1_per_site)
    };
    let (first, last) = (plan.probes as i64 + 1, plan.sites as i64);
    // About a million rows a statement, so progress shows and no transaction grows huge.
    let per_statement = (1_000_000 / (to + 1 - from).max(1)).max(1) as i64;
    let mut at = first;
    while at <= last {
        let end = (at + per_statement - 1).min(last);
        insert_posts(cluster, at, end, from, to)?;
        eprintln!(
            "fleet: seeded integrations {at}..={end} (ids {from}..={to}), {:.0} s",
            started.elapsed().as_secs_f64()
        );
        at = end + 1;
    }
    // Measured afterwards: the steady state, not the write-back of the seed (a checkpoint of
    // gigabytes would slow every commit that waits on the disk meanwhile).
    cluster.psql(cluster.database(), "VACUUM ANALYZE content")?;
    cluster.psql(
        cluster.database(),
        "ALTER TABLE content RESET (autovacuum_enabled)",
    )?;
    cluster.psql(cluster.database(), "CHECKPOINT")?;
    let rows: u64 = cluster
        .psql(cluster.database(), "SELECT COUNT(*) FROM content")?
        .trim()
        .parse()
        .context("counting content")?;
    eprintln!(
        "fleet: content holds {rows} rows after {:.0} s of seeding",
        started.elapsed().as_secs_f64()
    );
    Ok(rows)
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of the statements behind the four growth operations, as
/// crates/store-postgres/src/content.rs and lib.rs run them, on probe integration `integration`.
pub fn explain(cluster: &Cluster, integration: i64, wp_id: u64) -> anyhow::Result<String> {
    let filter = format!(
        "integration_id = {integration} AND ('post'::text IS NULL OR post_type = 'post') AND (NULL::text IS NULL OR status = NULL)"
    );
    let summary_cols =
        "wp_id, post_type, title, slug, status, parent, modified_gmt, url, terms, seo, synced_at";
    let key = format!("integration_id = {integration} AND post_type = 'post' AND wp_id = {wp_id}");
    let statements = [
        ("content list: count", format!("SELECT COUNT(*) FROM content WHERE {filter}")),
        (
            "content list: page 2 of 50",
            format!(
                "SELECT {summary_cols} FROM content WHERE (integration_id, post_type, wp_id) IN (
                   SELECT integration_id, post_type, wp_id FROM content WHERE {filter}
                   ORDER BY modified_gmt DESC, wp_id DESC LIMIT 50 OFFSET 50)
                 ORDER BY modified_gmt DESC, wp_id DESC"
            ),
        ),
        ("one post: summary", format!("SELECT {summary_cols} FROM content WHERE {key}")),
        (
            "one post: detail",
            format!(
                "SELECT body, body_truncated, excerpt, author, date_gmt, menu_order, featured_image, meta, checksum, source FROM content WHERE {key}"
            ),
        ),
        (
            "content-types: posts",
            format!(
                "SELECT post_type, SUM(CASE WHEN status <> 'trash' THEN 1 ELSE 0 END)::BIGINT, MAX(synced_at)
                 FROM content WHERE integration_id = {integration} GROUP BY post_type ORDER BY post_type COLLATE \"C\""
            ),
        ),
        (
            "content-types: terms",
            format!(
                "SELECT taxonomy, COUNT(*), MAX(synced_at) FROM terms WHERE integration_id = {integration}
                 GROUP BY taxonomy ORDER BY taxonomy COLLATE \"C\""
            ),
        ),
        (
            "batch of 100: tombstones",
            format!(
                "SELECT post_type, wp_id, modified_gmt FROM content_tombstones
                 WHERE integration_id = {integration} AND wp_id = ANY(ARRAY(SELECT generate_series(900000001, 900000100)::bigint))"
            ),
        ),
        (
            "batch of 100: upsert (rolled back)",
            format!(
                "INSERT INTO content (integration_id, post_type, wp_id, title, slug, status, body, body_truncated,
                     excerpt, author, url, parent, menu_order, featured_image, date_gmt, modified_gmt, seo, terms,
                     meta, checksum, read_at, synced_at)
                 SELECT {integration}, 'post', g, 'Title ' || g, 'slug-' || g, 'publish', repeat('<p>Body.</p>', 250), false,
                     '', 'Ann', NULL, 0, 0, NULL, NULL, '2026-12-06 00:00:00', 'null'::jsonb, '{{}}'::jsonb,
                     '{{}}'::jsonb, g, NULL, now()
                 FROM generate_series(900000001, 900000100) g
                 ON CONFLICT (integration_id, post_type, wp_id) DO UPDATE SET
                     title = EXCLUDED.title, body = EXCLUDED.body, modified_gmt = EXCLUDED.modified_gmt,
                     checksum = EXCLUDED.checksum, synced_at = EXCLUDED.synced_at
                 WHERE content.modified_gmt < EXCLUDED.modified_gmt
                    OR (content.modified_gmt = EXCLUDED.modified_gmt
                        AND (content.read_at IS NULL OR EXCLUDED.read_at IS NULL OR content.read_at <= EXCLUDED.read_at))
                 RETURNING post_type, wp_id"
            ),
        ),
    ];
    let mut out = String::new();
    for (what, sql) in statements {
        let plan = cluster.psql(
            cluster.database(),
            &format!("BEGIN; EXPLAIN (ANALYZE, BUFFERS) {sql}; ROLLBACK"),
        )?;
        writeln!(out, "-- {what}\n{}", plan.trim_end())?;
    }
    Ok(out)
}
