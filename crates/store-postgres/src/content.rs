//! Synced content on PostgreSQL: batches applied item by item with cached prepared statements
//! inside one transaction (the sync-state row locked only when a range marker moves progress),
//! newest-first lists, checksums summed in SQL.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use igny8_domain::checksum::Bucket;
use igny8_domain::content::sync::{ContentSyncState, Progress};
use igny8_domain::content::{Batch, Change, ItemKind, ItemOutcome, Post, Term};
use igny8_store::batch_plan::{chunk_sizes, plan, Step};
use igny8_store::sql::SUMMARY_COLS;
use igny8_store::sync_row::SyncStateRow;
use igny8_store::tombstones::{Tombstones, KEEP_DAYS};
use igny8_store::{
    BatchOutcome, ContentFilter, ContentItem, ContentPage, ContentSummary, Result, StoreError,
    SyncStateChange, TermRow, TypeBound, TypeCount,
};
use serde_json::Value;
use sqlx::postgres::PgArguments;
use sqlx::{Arguments, PgConnection, PgPool};

use crate::db;

/// The table and type column of each kind.
fn table(kind: ItemKind) -> (&'static str, &'static str) {
    match kind {
        ItemKind::Post => ("content", "post_type"),
        ItemKind::Term => ("terms", "taxonomy"),
    }
}

/// Applies a batch's valid items in order, then its range marker, inside the caller's transaction,
/// which commits it (with what else it wrote); answers one outcome per item.
pub async fn apply_batch_in(
    tx: &mut PgConnection,
    integration_id: i64,
    batch: &Batch,
    at: DateTime<Utc>,
) -> Result<Vec<ItemOutcome>> {
    let mut outcomes: Vec<ItemOutcome> = batch
        .items
        .iter()
        .map(|item| match &item.change {
            Err(why) => ItemOutcome::Rejected(why.to_string()),
            Ok(_) => ItemOutcome::Applied,
        })
        .collect();
    let mut graves = tombstones(&mut *tx, integration_id, &Tombstones::ids_to_check(batch)).await?;
    for step in plan(batch) {
        match step {
            Step::Posts(run) => {
                let mut live = Vec::with_capacity(run.len());
                for (index, post) in run {
                    if graves.buries(post) {
                        outcomes[index] = ItemOutcome::Stale;
                    } else {
                        live.push((index, post));
                    }
                }
                if live.is_empty() {
                    continue;
                }
                let touched = upsert_posts(&mut *tx, integration_id, &live, at).await?;
                for (index, post) in live {
                    if !touched.contains(&(post.post_type.as_str().to_owned(), post.wp_id)) {
                        outcomes[index] = ItemOutcome::Stale;
                    } else if graves.remove(post) {
                        forget(
                            &mut *tx,
                            integration_id,
                            post.post_type.as_str(),
                            &[post.wp_id],
                        )
                        .await?;
                    }
                }
            }
            Step::Terms(run) => {
                let mut rest = &run[..];
                for size in chunk_sizes(run.len()) {
                    let (chunk, tail) = rest.split_at(size);
                    rest = tail;
                    let touched = upsert_terms(&mut *tx, integration_id, chunk, at).await?;
                    for (index, term) in chunk {
                        if !touched.contains(&(term.taxonomy.as_str().to_owned(), term.wp_id)) {
                            outcomes[*index] = ItemOutcome::Stale;
                        }
                    }
                }
            }
            Step::Single(index, change) => {
                outcomes[index] = delete_one(&mut *tx, integration_id, change).await?;
                if let Some(grave) = graves.record(&outcomes[index], change) {
                    sqlx::query(
                        "INSERT INTO content_tombstones (integration_id, post_type, wp_id, modified_gmt, deleted_at)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (integration_id, post_type, wp_id) DO UPDATE SET
                             modified_gmt = GREATEST(content_tombstones.modified_gmt, EXCLUDED.modified_gmt),
                             deleted_at = EXCLUDED.deleted_at",
                    )
                    .bind(integration_id)
                    .bind(grave.post_type)
                    .bind(grave.wp_id)
                    .bind(grave.modified_gmt)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
    }
    if let Some(marker) = &batch.range {
        let (table, type_col) = table(marker.kind);
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE integration_id = $1 AND {type_col} = $2
             AND wp_id BETWEEN $3 AND $4 AND wp_id <> ALL($5)"
        ))
        .bind(integration_id)
        .bind(marker.type_name.as_str())
        .bind(marker.from_id)
        .bind(marker.to_id)
        .bind(batch.present_ids(marker.kind, &marker.type_name))
        .execute(&mut *tx)
        .await?;
        if marker.run_id.is_some() {
            let mut state = lock_state(&mut *tx, integration_id).await?;
            if let Some(progress) = state.range_progress(marker) {
                let (from, to, held) = match progress {
                    Progress::Add => (marker.from_id, marker.to_id, batch.held_in_range(&outcomes)),
                    Progress::Recount { from, to } => {
                        let n: i64 = sqlx::query_scalar(&format!(
                            "SELECT COUNT(*) FROM {table} WHERE integration_id = $1 AND {type_col} = $2 AND wp_id BETWEEN $3 AND $4"
                        ))
                        .bind(integration_id)
                        .bind(marker.type_name.as_str())
                        .bind(from)
                        .bind(to)
                        .fetch_one(&mut *tx)
                        .await?;
                        (from, to, u64::try_from(n).unwrap_or(0))
                    }
                };
                state.record_range(marker, from, to, held);
                save_state(&mut *tx, integration_id, &state).await?;
            }
        }
    }
    Ok(outcomes)
}

/// Whether a batch stored at least one post.
pub fn stored_posts(outcome: &BatchOutcome, batch: &Batch) -> bool {
    let BatchOutcome::Applied(outcomes) = outcome else {
        return false;
    };
    outcomes.iter().zip(&batch.items).any(|(outcome, item)| {
        *outcome == ItemOutcome::Applied && matches!(item.change, Ok(Change::UpsertPost(_)))
    })
}

/// Runs `ANALYZE content` in the background when the table has no planner statistics yet; once
/// per process (again after a failure). Called once posts are stored, so there are rows to sample.
///
/// Without statistics (a new database, until autovacuum's first ANALYZE up to a minute later) the
/// planner costs a full sync's range statements (`post_type = $2 AND wp_id BETWEEN $3 AND $4`) at
/// one row on every index led by `integration_id`, and took the counts index, which has no `wp_id`:
/// each batch then read every row of the type (13 ms a batch at 100,000 posts, growing with the
/// table, two fifths of PostgreSQL's time in a first full sync), and the generic plan a connection
/// caches kept that choice. Statistics from the first batch's rows make the primary key win.
pub fn ensure_statistics(pool: &PgPool, done: Arc<AtomicBool>) {
    if done.swap(true, Ordering::Relaxed) {
        return;
    }
    let pool = pool.clone();
    tokio::spawn(async move {
        let analyzed = async {
            let known: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_stats
                 WHERE schemaname = current_schema() AND tablename = 'content' AND attname = 'post_type')",
            )
            .fetch_one(&pool)
            .await?;
            if !known {
                sqlx::query("ANALYZE content").execute(&pool).await?;
            }
            Ok::<_, sqlx::Error>(!known)
        };
        match analyzed.await {
            Ok(true) => tracing::info!("content had no planner statistics yet: analyzed"),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not analyze content; trying again after the next batch");
                done.store(false, Ordering::Relaxed);
            }
        }
    });
}

/// `VALUES ($1, …), (…)`: `rows` tuples of `cols` numbered placeholders.
fn values(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Upserts distinct posts in one statement over column arrays (`UNNEST`): one round trip and one
/// plan for a whole run, whatever its length. Answers the posts it inserted or updated (the WHERE
/// of DO UPDATE is the staleness rule: an older change touches nothing and is not returned).
async fn upsert_posts(
    conn: &mut PgConnection,
    integration_id: i64,
    posts: &[(usize, &Post)],
    at: DateTime<Utc>,
) -> Result<HashSet<(String, i64)>> {
    fn column<'p, T>(posts: &[(usize, &'p Post)], f: impl Fn(&'p Post) -> T) -> Vec<T> {
        posts.iter().map(|(_, p)| f(p)).collect()
    }
    // The arguments' buffer sized once (about the batch's text): grown by doubling, it left the
    // allocator a chain of large blocks per batch.
    let text: usize = posts
        .iter()
        .map(|(_, p)| {
            p.title.len() + p.slug.len() + p.content.len() + p.excerpt.len() + p.author.len()
        })
        .sum();
    let mut arguments = PgArguments::default();
    arguments.reserve(22, text + posts.len() * 512);
    sqlx::query_as_with::<_, (String, i64), _>(
        "INSERT INTO content (integration_id, post_type, wp_id, title, slug, status, body, body_truncated,
             excerpt, author, url, parent, menu_order, featured_image, date_gmt, modified_gmt, seo, terms,
             meta, checksum, read_at, synced_at)
         SELECT $1, t.post_type, t.wp_id, t.title, t.slug, t.status, t.body, t.body_truncated, t.excerpt,
             t.author, t.url, t.parent, t.menu_order, t.featured_image, t.date_gmt, t.modified_gmt,
             t.seo::jsonb, t.terms::jsonb, t.meta::jsonb, t.checksum, t.read_at, $2
         FROM UNNEST($3::text[], $4::int8[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bool[],
             $10::text[], $11::text[], $12::text[], $13::int8[], $14::int8[], $15::text[], $16::text[],
             $17::text[], $18::text[], $19::text[], $20::text[], $21::int8[], $22::text[])
             AS t(post_type, wp_id, title, slug, status, body, body_truncated, excerpt, author, url, parent,
                  menu_order, featured_image, date_gmt, modified_gmt, seo, terms, meta, checksum, read_at)
         ON CONFLICT (integration_id, post_type, wp_id) DO UPDATE SET
             title = EXCLUDED.title, slug = EXCLUDED.slug, status = EXCLUDED.status, body = EXCLUDED.body,
             body_truncated = EXCLUDED.body_truncated, excerpt = EXCLUDED.excerpt, author = EXCLUDED.author,
             url = EXCLUDED.url, parent = EXCLUDED.parent, menu_order = EXCLUDED.menu_order,
             featured_image = EXCLUDED.featured_image, date_gmt = EXCLUDED.date_gmt,
             modified_gmt = EXCLUDED.modified_gmt, seo = EXCLUDED.seo, terms = EXCLUDED.terms,
             meta = EXCLUDED.meta, checksum = EXCLUDED.checksum, source = EXCLUDED.source,
             read_at = EXCLUDED.read_at, synced_at = EXCLUDED.synced_at
         WHERE content.modified_gmt < EXCLUDED.modified_gmt
            OR (content.modified_gmt = EXCLUDED.modified_gmt
                AND (content.read_at IS NULL OR EXCLUDED.read_at IS NULL OR content.read_at <= EXCLUDED.read_at))
         RETURNING post_type, wp_id",
        arguments,
    )
    .bind(integration_id)
    .bind(at)
    .bind(column(posts, |p| p.post_type.as_str()))
    .bind(column(posts, |p| p.wp_id))
    .bind(column(posts, |p| p.title.as_str()))
    .bind(column(posts, |p| p.slug.as_str()))
    .bind(column(posts, |p| p.status.as_str()))
    .bind(column(posts, |p| p.content.as_str()))
    .bind(column(posts, |p| p.content_truncated))
    .bind(column(posts, |p| p.excerpt.as_str()))
    .bind(column(posts, |p| p.author.as_str()))
    .bind(column(posts, |p| p.url.as_deref()))
    .bind(column(posts, |p| p.parent))
    .bind(column(posts, |p| p.menu_order))
    .bind(column(posts, |p| p.featured_image.as_deref()))
    .bind(column(posts, |p| p.date_gmt.as_ref().map(|t| t.as_str())))
    .bind(column(posts, |p| p.modified_gmt.as_str()))
    .bind(column(posts, |p| igny8_store::json_text(&p.seo)))
    .bind(column(posts, |p| igny8_store::json_text(&p.terms)))
    .bind(column(posts, |p| igny8_store::json_text(&p.meta)))
    .bind(column(posts, |p| i64::from(p.checksum())))
    .bind(column(posts, |p| p.read_at.as_ref().map(|t| t.as_str())))
    .fetch_all(conn)
    .await
    .map_err(StoreError::from)
    .map(|rows| rows.into_iter().collect())
}

/// Upserts distinct terms in one statement: the version read last wins (the last delivery, for
/// plugins that send no read time). Answers the terms it inserted or updated.
async fn upsert_terms(
    conn: &mut PgConnection,
    integration_id: i64,
    terms: &[(usize, &Term)],
    at: DateTime<Utc>,
) -> Result<HashSet<(String, i64)>> {
    let sql = format!(
        "INSERT INTO terms (integration_id, taxonomy, wp_id, name, slug, description, parent, count, checksum,
             read_at, synced_at)
         VALUES {}
         ON CONFLICT (integration_id, taxonomy, wp_id) DO UPDATE SET
             name = EXCLUDED.name, slug = EXCLUDED.slug, description = EXCLUDED.description,
             parent = EXCLUDED.parent, count = EXCLUDED.count, checksum = EXCLUDED.checksum,
             read_at = EXCLUDED.read_at, synced_at = EXCLUDED.synced_at
         WHERE terms.read_at IS NULL OR EXCLUDED.read_at IS NULL OR terms.read_at <= EXCLUDED.read_at
         RETURNING taxonomy, wp_id",
        values(terms.len(), 11)
    );
    let mut q = sqlx::query_as::<_, (String, i64)>(&sql);
    for (_, t) in terms {
        q = q
            .bind(integration_id)
            .bind(t.taxonomy.as_str())
            .bind(t.wp_id)
            .bind(&t.name)
            .bind(&t.slug)
            .bind(&t.description)
            .bind(t.parent)
            .bind(t.count)
            .bind(i64::from(t.checksum()))
            .bind(t.read_at.as_ref().map(|t| t.as_str()))
            .bind(at);
    }
    q.fetch_all(conn)
        .await
        .map_err(StoreError::from)
        .map(|rows| rows.into_iter().collect())
}

/// The tombstones of the given post ids.
async fn tombstones(
    conn: &mut PgConnection,
    integration_id: i64,
    ids: &[i64],
) -> Result<Tombstones> {
    let mut graves = Tombstones::default();
    if ids.is_empty() {
        return Ok(graves);
    }
    let rows: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT post_type, wp_id, modified_gmt FROM content_tombstones
         WHERE integration_id = $1 AND wp_id = ANY($2)",
    )
    .bind(integration_id)
    .bind(ids)
    .fetch_all(conn)
    .await?;
    for (post_type, wp_id, deleted) in rows {
        graves.insert(&post_type, wp_id, deleted);
    }
    Ok(graves)
}

/// Forgets the tombstones of some posts of a type; answers how many there were.
pub async fn forget<'c>(
    conn: impl sqlx::PgExecutor<'c>,
    integration_id: i64,
    post_type: &str,
    ids: &[i64],
) -> Result<u64> {
    Ok(sqlx::query(
        "DELETE FROM content_tombstones WHERE integration_id = $1 AND post_type = $2 AND wp_id = ANY($3)",
    )
    .bind(integration_id)
    .bind(post_type)
    .bind(ids)
    .execute(conn)
    .await?
    .rows_affected())
}

async fn delete_one(
    conn: &mut PgConnection,
    integration_id: i64,
    change: &Change,
) -> Result<ItemOutcome> {
    match change {
        Change::DeletePost {
            post_type,
            wp_id,
            modified_gmt,
        } => {
            let modified = modified_gmt.as_ref().map(|t| t.as_str());
            let deleted = sqlx::query(
                "DELETE FROM content WHERE integration_id = $1 AND post_type = $2 AND wp_id = $3
                 AND ($4::text IS NULL OR modified_gmt <= $4)",
            )
            .bind(integration_id)
            .bind(post_type.as_str())
            .bind(wp_id)
            .bind(modified)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            // Nothing deleted: either not held (done already) or held newer (stale).
            let held: Option<i32> = if deleted == 0 && modified.is_some() {
                sqlx::query_scalar(
                    "SELECT 1 FROM content WHERE integration_id = $1 AND post_type = $2 AND wp_id = $3",
                )
                .bind(integration_id)
                .bind(post_type.as_str())
                .bind(wp_id)
                .fetch_optional(&mut *conn)
                .await?
            } else {
                None
            };
            Ok(if held.is_some() {
                ItemOutcome::Stale
            } else {
                ItemOutcome::Applied
            })
        }
        Change::DeleteTerm { taxonomy, wp_id } => {
            sqlx::query(
                "DELETE FROM terms WHERE integration_id = $1 AND taxonomy = $2 AND wp_id = $3",
            )
            .bind(integration_id)
            .bind(taxonomy.as_str())
            .bind(wp_id)
            .execute(&mut *conn)
            .await?;
            Ok(ItemOutcome::Applied)
        }
        Change::UpsertPost(_) | Change::UpsertTerm(_) => Err(StoreError::database(
            "an upsert was planned as a single step",
        )),
    }
}

pub async fn prune(pool: &PgPool, integration_id: i64, keep: &[TypeBound]) -> Result<u64> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM content_tombstones WHERE integration_id = $1 AND deleted_at < $2")
        .bind(integration_id)
        .bind(Utc::now() - chrono::Duration::days(KEEP_DAYS))
        .execute(&mut *tx)
        .await?;
    let mut deleted = 0;
    for kind in ItemKind::ALL {
        let (table, type_col) = table(kind);
        let held: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT DISTINCT {type_col} FROM {table} WHERE integration_id = $1"
        ))
        .bind(integration_id)
        .fetch_all(&mut *tx)
        .await?;
        for type_name in held {
            let Some(above) = TypeBound::prune_above(keep, kind, &type_name) else {
                continue;
            };
            deleted += sqlx::query(&format!(
                "DELETE FROM {table} WHERE integration_id = $1 AND {type_col} = $2 AND wp_id > $3"
            ))
            .bind(integration_id)
            .bind(&type_name)
            .bind(above)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
    }
    tx.commit().await?;
    Ok(deleted)
}

pub async fn delete_ids(
    pool: &PgPool,
    integration_id: i64,
    kind: ItemKind,
    type_name: &str,
    ids: &[i64],
) -> Result<u64> {
    let (table, type_col) = table(kind);
    Ok(sqlx::query(&format!(
        "DELETE FROM {table} WHERE integration_id = $1 AND {type_col} = $2 AND wp_id = ANY($3)"
    ))
    .bind(integration_id)
    .bind(type_name)
    .bind(ids)
    .execute(pool)
    .await?
    .rows_affected())
}

/// The rows of `SUMMARY_COLS`, read by column name.
#[derive(sqlx::FromRow)]
struct SummaryRow {
    wp_id: i64,
    post_type: String,
    title: String,
    slug: String,
    status: String,
    parent: i64,
    modified_gmt: String,
    url: Option<String>,
    terms: Value,
    seo: Value,
    synced_at: DateTime<Utc>,
}

fn summary(r: SummaryRow) -> ContentSummary {
    ContentSummary {
        wp_id: r.wp_id,
        post_type: r.post_type,
        title: r.title,
        slug: r.slug,
        status: r.status,
        parent: r.parent,
        modified_gmt: r.modified_gmt,
        url: r.url,
        terms: r.terms,
        seo: r.seo,
        synced_at: r.synced_at,
    }
}

pub async fn list(
    pool: &PgPool,
    integration_id: i64,
    filter: ContentFilter<'_>,
    offset: u64,
    limit: u64,
) -> Result<ContentPage> {
    let filter_sql = "integration_id = $1 AND ($2::text IS NULL OR post_type = $2) AND ($3::text IS NULL OR status = $3)";
    let count: i64 =
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM content WHERE {filter_sql}"))
            .bind(integration_id)
            .bind(filter.post_type)
            .bind(filter.status)
            .fetch_one(pool)
            .await?;
    let rows: Vec<SummaryRow> = sqlx::query_as(&format!(
        "SELECT {SUMMARY_COLS} FROM content WHERE (integration_id, post_type, wp_id) IN (
             SELECT integration_id, post_type, wp_id FROM content WHERE {filter_sql}
             ORDER BY modified_gmt DESC, wp_id DESC LIMIT $4 OFFSET $5)
         ORDER BY modified_gmt DESC, wp_id DESC"
    ))
    .bind(integration_id)
    .bind(filter.post_type)
    .bind(filter.status)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .bind(i64::try_from(offset).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    Ok(ContentPage {
        count: u64::try_from(count).unwrap_or(0),
        items: rows.into_iter().map(summary).collect(),
    })
}

/// What a post's page shows beyond its summary.
#[derive(sqlx::FromRow)]
struct DetailRow {
    body: String,
    body_truncated: bool,
    excerpt: String,
    author: String,
    date_gmt: Option<String>,
    menu_order: i64,
    featured_image: Option<String>,
    meta: Value,
    checksum: i64,
    source: String,
}

pub async fn item(
    pool: &PgPool,
    integration_id: i64,
    post_type: &str,
    wp_id: i64,
) -> Result<Option<ContentItem>> {
    let key = "integration_id = $1 AND post_type = $2 AND wp_id = $3";
    let row: Option<SummaryRow> =
        sqlx::query_as(&format!("SELECT {SUMMARY_COLS} FROM content WHERE {key}"))
            .bind(integration_id)
            .bind(post_type)
            .bind(wp_id)
            .fetch_optional(pool)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let d: DetailRow = sqlx::query_as(&format!(
        "SELECT body, body_truncated, excerpt, author, date_gmt, menu_order, featured_image, meta,
                checksum, source FROM content WHERE {key}"
    ))
    .bind(integration_id)
    .bind(post_type)
    .bind(wp_id)
    .fetch_one(pool)
    .await?;
    Ok(Some(ContentItem {
        summary: summary(row),
        content: d.body,
        content_truncated: d.body_truncated,
        excerpt: d.excerpt,
        author: d.author,
        date_gmt: d.date_gmt,
        menu_order: d.menu_order,
        featured_image: d.featured_image,
        meta: d.meta,
        checksum: u32::try_from(d.checksum).map_err(db)?,
        source: d.source,
    }))
}

/// A term as `terms` reads it, by column name.
#[derive(sqlx::FromRow)]
struct TermRecord {
    wp_id: i64,
    name: String,
    slug: String,
    parent: i64,
    count: i64,
    description: String,
    taxonomy: String,
    synced_at: DateTime<Utc>,
}

pub async fn terms(pool: &PgPool, integration_id: i64, taxonomy: &str) -> Result<Vec<TermRow>> {
    let rows: Vec<TermRecord> = sqlx::query_as(
        "SELECT wp_id, name, slug, parent, count, description, taxonomy, synced_at FROM terms
         WHERE integration_id = $1 AND taxonomy = $2 ORDER BY wp_id",
    )
    .bind(integration_id)
    .bind(taxonomy)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TermRow {
            wp_id: r.wp_id,
            name: r.name,
            slug: r.slug,
            parent: r.parent,
            count: r.count,
            description: r.description,
            taxonomy: r.taxonomy,
            synced_at: r.synced_at,
        })
        .collect())
}

pub async fn counts(pool: &PgPool, integration_id: i64) -> Result<Vec<TypeCount>> {
    let mut all = Vec::new();
    for (kind, sql) in [
        (
            ItemKind::Post,
            "SELECT post_type, SUM(CASE WHEN status <> 'trash' THEN 1 ELSE 0 END)::BIGINT, MAX(synced_at)
             FROM content WHERE integration_id = $1 GROUP BY post_type ORDER BY post_type COLLATE \"C\"",
        ),
        (
            ItemKind::Term,
            "SELECT taxonomy, COUNT(*), MAX(synced_at) FROM terms WHERE integration_id = $1
             GROUP BY taxonomy ORDER BY taxonomy COLLATE \"C\"",
        ),
    ] {
        let rows: Vec<(String, i64, Option<DateTime<Utc>>)> = sqlx::query_as(sql)
            .bind(integration_id)
            .fetch_all(pool)
            .await?;
        all.extend(
            rows.into_iter()
                .map(|(type_name, count, last_synced_at)| TypeCount {
                    kind,
                    type_name,
                    count: u64::try_from(count).unwrap_or(0),
                    last_synced_at,
                }),
        );
    }
    Ok(all)
}

pub async fn buckets(
    pool: &PgPool,
    integration_id: i64,
    kind: ItemKind,
    type_name: &str,
    bucket_size: i64,
) -> Result<Vec<Bucket>> {
    let (table, type_col) = table(kind);
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(&format!(
        "SELECT (wp_id / $1) * $1 AS start, COUNT(*), SUM(checksum)::BIGINT FROM {table}
         WHERE integration_id = $2 AND {type_col} = $3 GROUP BY 1 ORDER BY 1"
    ))
    .bind(bucket_size)
    .bind(integration_id)
    .bind(type_name)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(start, count, sum)| {
            Ok(Bucket {
                start,
                count: u64::try_from(count).map_err(db)?,
                sum: u64::try_from(sum).map_err(db)?,
            })
        })
        .collect()
}

pub async fn checksums(
    pool: &PgPool,
    integration_id: i64,
    kind: ItemKind,
    type_name: &str,
    from_id: i64,
    to_id: i64,
) -> Result<Vec<(i64, u32)>> {
    let (table, type_col) = table(kind);
    let rows: Vec<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT wp_id, checksum FROM {table}
         WHERE integration_id = $1 AND {type_col} = $2 AND wp_id BETWEEN $3 AND $4 ORDER BY wp_id"
    ))
    .bind(integration_id)
    .bind(type_name)
    .bind(from_id)
    .bind(to_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(id, sum)| Ok((id, u32::try_from(sum).map_err(db)?)))
        .collect()
}

/// A state row; the first column is its integration's id.
/// The rows of `STATE_COLS`, read by column name.
#[derive(sqlx::FromRow)]
struct StateRow {
    integration_id: i64,
    run_id: Option<String>,
    run_status: Option<String>,
    run_started_at: Option<DateTime<Utc>>,
    run_finished_at: Option<DateTime<Utc>>,
    run_totals: Value,
    run_done: Value,
    run_cursors: Value,
    full_sync_requested: bool,
    verify_requested: bool,
    verify_state: String,
    verify_differences: i64,
    verified_at: Option<DateTime<Utc>>,
}

const STATE_COLS: &str =
    "integration_id, run_id, run_status, run_started_at, run_finished_at, run_totals, run_done,
    run_cursors, full_sync_requested, verify_requested, verify_state, verify_differences, verified_at";

fn state_of(row: Option<StateRow>) -> Result<ContentSyncState> {
    let Some(r) = row else {
        return Ok(ContentSyncState::default());
    };
    SyncStateRow {
        run_id: r.run_id,
        run_status: r.run_status,
        run_started_at: r.run_started_at,
        run_finished_at: r.run_finished_at,
        run_totals: r.run_totals,
        run_done: r.run_done,
        run_cursors: r.run_cursors,
        full_sync_requested: r.full_sync_requested,
        verify_requested: r.verify_requested,
        verify_state: r.verify_state,
        verify_differences: r.verify_differences,
        verified_at: r.verified_at,
    }
    .into_state()
}

/// The state row, created when missing and locked until the transaction ends, so concurrent
/// changes wait their turn and read what the last one wrote.
async fn lock_state(conn: &mut PgConnection, integration_id: i64) -> Result<ContentSyncState> {
    sqlx::query(
        "INSERT INTO content_sync_state (integration_id) VALUES ($1) ON CONFLICT (integration_id) DO NOTHING",
    )
    .bind(integration_id)
    .execute(&mut *conn)
    .await?;
    let row: Option<StateRow> = sqlx::query_as(&format!(
        "SELECT {STATE_COLS} FROM content_sync_state WHERE integration_id = $1 FOR UPDATE"
    ))
    .bind(integration_id)
    .fetch_optional(conn)
    .await?;
    state_of(row)
}

async fn save_state(
    conn: &mut PgConnection,
    integration_id: i64,
    state: &ContentSyncState,
) -> Result<()> {
    let r = SyncStateRow::from_state(state);
    sqlx::query(
        "UPDATE content_sync_state SET run_id = $2, run_status = $3, run_started_at = $4,
             run_finished_at = $5, run_totals = $6, run_done = $7, run_cursors = $8,
             full_sync_requested = $9, verify_requested = $10, verify_state = $11,
             verify_differences = $12, verified_at = $13
         WHERE integration_id = $1",
    )
    .bind(integration_id)
    .bind(r.run_id)
    .bind(r.run_status)
    .bind(r.run_started_at)
    .bind(r.run_finished_at)
    .bind(r.run_totals)
    .bind(r.run_done)
    .bind(r.run_cursors)
    .bind(r.full_sync_requested)
    .bind(r.verify_requested)
    .bind(r.verify_state)
    .bind(r.verify_differences)
    .bind(r.verified_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn state(pool: &PgPool, integration_id: i64) -> Result<ContentSyncState> {
    let row: Option<StateRow> = sqlx::query_as(&format!(
        "SELECT {STATE_COLS} FROM content_sync_state WHERE integration_id = $1"
    ))
    .bind(integration_id)
    .fetch_optional(pool)
    .await?;
    state_of(row)
}

/// The sync states of several integrations, in a transaction's snapshot; integrations without a
/// state row are left out (their state is the default one).
pub async fn states_of(
    conn: &mut PgConnection,
    integration_ids: &[i64],
) -> Result<HashMap<i64, ContentSyncState>> {
    let rows: Vec<StateRow> = sqlx::query_as(&format!(
        "SELECT {STATE_COLS} FROM content_sync_state WHERE integration_id = ANY($1)"
    ))
    .bind(integration_ids)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|row| Ok((row.integration_id, state_of(Some(row))?)))
        .collect()
}

pub async fn update_state(
    pool: &PgPool,
    integration_id: i64,
    change: SyncStateChange<'_>,
) -> Result<ContentSyncState> {
    let mut tx = pool.begin().await?;
    let mut state = lock_state(&mut tx, integration_id).await?;
    change(&mut state).map_err(|refused| StoreError::Conflict(refused.0))?;
    save_state(&mut tx, integration_id, &state).await?;
    tx.commit().await?;
    Ok(state)
}
