//! Synced content on SQLite: a batch is prepared on the caller's thread (checksums, JSON text),
//! then applied item by item with cached prepared statements inside the writer's transaction;
//! newest-first lists; checksums summed in SQL.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use igny8_domain::checksum::Bucket;
use igny8_domain::content::sync::{ContentSyncState, Progress};
use igny8_domain::content::{Batch, Change, ItemKind, ItemOutcome};
use igny8_store::sql::SUMMARY_COLS;
use igny8_store::sync_row::SyncStateRow;
use igny8_store::tombstones::{Grave, Tombstones, KEEP_DAYS};
use igny8_store::{
    ContentFilter, ContentItem, ContentPage, ContentSummary, Result, StoreError, TermRow,
    TypeBound, TypeCount,
};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use crate::conn::{at, db, opt_at, time};

/// The table and type column of each kind.
fn table(kind: ItemKind) -> (&'static str, &'static str) {
    match kind {
        ItemKind::Post => ("content", "post_type"),
        ItemKind::Term => ("terms", "taxonomy"),
    }
}

fn json(text: &str) -> rusqlite::Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// What the writer needs of a batch beyond the batch itself, computed before it gets there so
/// the one writer thread only binds and steps statements.
pub struct PreparedBatch {
    batch: Arc<Batch>,
    /// One per item, in order.
    computed: Vec<Computed>,
    synced_at: String,
}

/// What an item's row needs beyond the item itself.
enum Computed {
    /// An upserted post: its checksum and its JSON columns as text.
    Post {
        checksum: u32,
        seo: String,
        terms: String,
        meta: String,
    },
    Term {
        checksum: u32,
    },
    /// A delete or a rejected item.
    Nothing,
}

impl PreparedBatch {
    pub fn new(batch: Arc<Batch>, synced_at: DateTime<Utc>) -> Self {
        let computed = batch
            .items
            .iter()
            .map(|item| match &item.change {
                Ok(Change::UpsertPost(p)) => Computed::Post {
                    checksum: p.checksum(),
                    seo: igny8_store::json_text(&p.seo),
                    terms: igny8_store::json_text(&p.terms),
                    meta: igny8_store::json_text(&p.meta),
                },
                Ok(Change::UpsertTerm(t)) => Computed::Term {
                    checksum: t.checksum(),
                },
                _ => Computed::Nothing,
            })
            .collect();
        Self {
            batch,
            computed,
            synced_at: time(synced_at),
        }
    }
}

const UPSERT_POST: &str = "INSERT INTO content (integration_id, post_type, wp_id, title, slug, status, body,
         body_truncated, excerpt, author, url, parent, menu_order, featured_image, date_gmt, modified_gmt,
         seo, terms, meta, checksum, read_at, synced_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (integration_id, post_type, wp_id) DO UPDATE SET
         title = excluded.title, slug = excluded.slug, status = excluded.status, body = excluded.body,
         body_truncated = excluded.body_truncated, excerpt = excluded.excerpt, author = excluded.author,
         url = excluded.url, parent = excluded.parent, menu_order = excluded.menu_order,
         featured_image = excluded.featured_image, date_gmt = excluded.date_gmt,
         modified_gmt = excluded.modified_gmt, seo = excluded.seo, terms = excluded.terms,
         meta = excluded.meta, checksum = excluded.checksum, source = excluded.source,
         read_at = excluded.read_at, synced_at = excluded.synced_at
     WHERE content.modified_gmt < excluded.modified_gmt
        OR (content.modified_gmt = excluded.modified_gmt
            AND (content.read_at IS NULL OR excluded.read_at IS NULL OR content.read_at <= excluded.read_at))";

const UPSERT_TERM: &str =
    "INSERT INTO terms (integration_id, taxonomy, wp_id, name, slug, description, parent, count,
         checksum, read_at, synced_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (integration_id, taxonomy, wp_id) DO UPDATE SET
         name = excluded.name, slug = excluded.slug, description = excluded.description,
         parent = excluded.parent, count = excluded.count, checksum = excluded.checksum,
         read_at = excluded.read_at, synced_at = excluded.synced_at
     WHERE terms.read_at IS NULL OR excluded.read_at IS NULL OR terms.read_at <= excluded.read_at";

/// Applies a prepared batch's valid items in order, then its range marker (the writer's
/// transaction makes it all or nothing).
pub fn apply_batch(
    c: &Connection,
    integration_id: i64,
    prepared: &PreparedBatch,
) -> Result<Vec<ItemOutcome>> {
    let batch = &prepared.batch;
    let at = &prepared.synced_at;
    let mut outcomes: Vec<ItemOutcome> = Vec::with_capacity(batch.items.len());
    let mut graves = tombstones(c, integration_id, &Tombstones::ids_to_check(batch))?;
    let mut upsert_post = c.prepare_cached(UPSERT_POST)?;
    let mut upsert_term = c.prepare_cached(UPSERT_TERM)?;
    for (item, computed) in batch.items.iter().zip(&prepared.computed) {
        let outcome = match (&item.change, computed) {
            (Err(why), _) => ItemOutcome::Rejected(why.to_string()),
            (Ok(Change::UpsertPost(p)), _) if graves.buries(p) => ItemOutcome::Stale,
            (
                Ok(Change::UpsertPost(p)),
                Computed::Post {
                    checksum,
                    seo,
                    terms,
                    meta,
                },
            ) => {
                let touched = upsert_post.execute(params![
                    integration_id,
                    p.post_type.as_str(),
                    p.wp_id,
                    p.title,
                    p.slug,
                    p.status,
                    p.content,
                    p.content_truncated,
                    p.excerpt,
                    p.author,
                    p.url,
                    p.parent,
                    p.menu_order,
                    p.featured_image,
                    p.date_gmt.as_ref().map(|t| t.as_str()),
                    p.modified_gmt.as_str(),
                    seo,
                    terms,
                    meta,
                    i64::from(*checksum),
                    p.read_at.as_ref().map(|t| t.as_str()),
                    at,
                ])?;
                // The WHERE of DO UPDATE is the staleness rule: an older change touches nothing.
                if touched == 0 {
                    ItemOutcome::Stale
                } else {
                    if graves.remove(p) {
                        forget(c, integration_id, p.post_type.as_str(), &[p.wp_id])?;
                    }
                    ItemOutcome::Applied
                }
            }
            (Ok(Change::UpsertTerm(t)), Computed::Term { checksum }) => {
                let touched = upsert_term.execute(params![
                    integration_id,
                    t.taxonomy.as_str(),
                    t.wp_id,
                    t.name,
                    t.slug,
                    t.description,
                    t.parent,
                    t.count,
                    i64::from(*checksum),
                    t.read_at.as_ref().map(|t| t.as_str()),
                    at,
                ])?;
                // A version read before the one held (a full sync's batch built before an edit).
                if touched == 0 {
                    ItemOutcome::Stale
                } else {
                    ItemOutcome::Applied
                }
            }
            (Ok(change), _) => {
                let outcome = delete_one(c, integration_id, change)?;
                if let Some(grave) = graves.record(&outcome, change) {
                    bury(c, integration_id, grave, at)?;
                }
                outcome
            }
        };
        outcomes.push(outcome);
    }
    if let Some(marker) = &batch.range {
        let (table, type_col) = table(marker.kind);
        let keep = serde_json::to_string(&batch.present_ids(marker.kind, &marker.type_name))?;
        c.prepare_cached(&format!(
            "DELETE FROM {table} WHERE integration_id = ? AND {type_col} = ? AND wp_id BETWEEN ? AND ?
             AND wp_id NOT IN (SELECT value FROM json_each(?))"
        ))
        .and_then(|mut q| {
            q.execute(params![
                integration_id,
                marker.type_name.as_str(),
                marker.from_id,
                marker.to_id,
                keep
            ])
        })?;
        if marker.run_id.is_some() {
            let (mut state, version) = load_state(c, integration_id)?;
            if let Some(progress) = state.range_progress(marker) {
                let (from, to, held) = match progress {
                    Progress::Add => (marker.from_id, marker.to_id, batch.held_in_range(&outcomes)),
                    Progress::Recount { from, to } => {
                        let n: i64 = c
                            .query_row(
                                &format!("SELECT COUNT(*) FROM {table} WHERE integration_id = ? AND {type_col} = ? AND wp_id BETWEEN ? AND ?"),
                                params![integration_id, marker.type_name.as_str(), from, to],
                                |r| r.get(0),
                            )?;
                        (from, to, u64::try_from(n).unwrap_or(0))
                    }
                };
                state.record_range(marker, from, to, held);
                // The writer's transaction holds the row: it is still at `version`.
                save_state_if(c, integration_id, &state, version)?;
            }
        }
    }
    Ok(outcomes)
}

/// The tombstones of the given post ids.
fn tombstones(c: &Connection, integration_id: i64, ids: &[i64]) -> Result<Tombstones> {
    let mut graves = Tombstones::default();
    if ids.is_empty() {
        return Ok(graves);
    }
    let ids = serde_json::to_string(ids)?;
    let rows: Vec<(String, i64, String)> = c
        .prepare_cached(
            "SELECT post_type, wp_id, modified_gmt FROM content_tombstones
             WHERE integration_id = ? AND wp_id IN (SELECT value FROM json_each(?))",
        )
        .and_then(|mut q| {
            q.query_map(params![integration_id, ids], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })?;
    for (post_type, wp_id, deleted) in rows {
        graves.insert(&post_type, wp_id, deleted);
    }
    Ok(graves)
}

/// Remembers a post's deletion (the most recent one wins).
fn bury(c: &Connection, integration_id: i64, grave: Grave<'_>, at: &str) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO content_tombstones (integration_id, post_type, wp_id, modified_gmt, deleted_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (integration_id, post_type, wp_id) DO UPDATE SET
             modified_gmt = MAX(modified_gmt, excluded.modified_gmt), deleted_at = excluded.deleted_at",
    )
    .and_then(|mut q| {
        q.execute(params![
            integration_id,
            grave.post_type,
            grave.wp_id,
            grave.modified_gmt,
            at
        ])
    })?;
    Ok(())
}

/// Forgets the tombstones of some posts of a type; answers how many there were.
pub fn forget(c: &Connection, integration_id: i64, post_type: &str, ids: &[i64]) -> Result<u64> {
    let ids = serde_json::to_string(ids)?;
    let forgotten = c
        .prepare_cached(
            "DELETE FROM content_tombstones WHERE integration_id = ? AND post_type = ?
             AND wp_id IN (SELECT value FROM json_each(?))",
        )
        .and_then(|mut q| q.execute(params![integration_id, post_type, ids]))?;
    Ok(forgotten as u64)
}

fn delete_one(c: &Connection, integration_id: i64, change: &Change) -> Result<ItemOutcome> {
    match change {
        Change::DeletePost {
            post_type,
            wp_id,
            modified_gmt,
        } => {
            let modified = modified_gmt.as_ref().map(|t| t.as_str());
            let deleted = c
                .prepare_cached(
                    "DELETE FROM content WHERE integration_id = ?1 AND post_type = ?2 AND wp_id = ?3
                     AND (?4 IS NULL OR modified_gmt <= ?4)",
                )
                .and_then(|mut q| q.execute(params![integration_id, post_type.as_str(), wp_id, modified]))?;
            // Nothing deleted: either not held (done already) or held newer (stale).
            let held = deleted == 0
                && modified.is_some()
                && c.prepare_cached(
                    "SELECT 1 FROM content WHERE integration_id = ? AND post_type = ? AND wp_id = ?",
                )
                .and_then(|mut q| {
                    q.query_row(params![integration_id, post_type.as_str(), wp_id], |_| Ok(()))
                        .optional()
                })?
                .is_some();
            Ok(if held {
                ItemOutcome::Stale
            } else {
                ItemOutcome::Applied
            })
        }
        Change::DeleteTerm { taxonomy, wp_id } => {
            c.prepare_cached(
                "DELETE FROM terms WHERE integration_id = ? AND taxonomy = ? AND wp_id = ?",
            )
            .and_then(|mut q| q.execute(params![integration_id, taxonomy.as_str(), wp_id]))?;
            Ok(ItemOutcome::Applied)
        }
        Change::UpsertPost(_) | Change::UpsertTerm(_) => {
            Err(StoreError::database("an upsert was taken for a delete"))
        }
    }
}

pub fn prune(c: &Connection, integration_id: i64, keep: &[TypeBound]) -> Result<u64> {
    let expired = time(Utc::now() - chrono::Duration::days(KEEP_DAYS));
    c.execute(
        "DELETE FROM content_tombstones WHERE integration_id = ? AND deleted_at < ?",
        params![integration_id, expired],
    )?;
    let mut deleted = 0;
    for kind in ItemKind::ALL {
        let (table, type_col) = table(kind);
        let held: Vec<String> = c
            .prepare(&format!(
                "SELECT DISTINCT {type_col} FROM {table} WHERE integration_id = ?"
            ))
            .and_then(|mut q| q.query_map([integration_id], |r| r.get(0))?.collect())?;
        for type_name in held {
            let Some(above) = TypeBound::prune_above(keep, kind, &type_name) else {
                continue;
            };
            deleted += c.execute(
                &format!(
                    "DELETE FROM {table} WHERE integration_id = ? AND {type_col} = ? AND wp_id > ?"
                ),
                params![integration_id, type_name, above],
            )?;
        }
    }
    Ok(deleted as u64)
}

pub fn delete_ids(
    c: &Connection,
    integration_id: i64,
    kind: ItemKind,
    type_name: &str,
    ids: &[i64],
) -> Result<u64> {
    let (table, type_col) = table(kind);
    let ids = serde_json::to_string(ids)?;
    let deleted = c.execute(
        &format!(
            "DELETE FROM {table} WHERE integration_id = ? AND {type_col} = ?
                 AND wp_id IN (SELECT value FROM json_each(?))"
        ),
        params![integration_id, type_name, ids],
    )?;
    Ok(deleted as u64)
}

fn summary(r: &Row<'_>) -> rusqlite::Result<ContentSummary> {
    Ok(ContentSummary {
        wp_id: r.get(0)?,
        post_type: r.get(1)?,
        title: r.get(2)?,
        slug: r.get(3)?,
        status: r.get(4)?,
        parent: r.get(5)?,
        modified_gmt: r.get(6)?,
        url: r.get(7)?,
        terms: json(&r.get::<_, String>(8)?)?,
        seo: json(&r.get::<_, String>(9)?)?,
        synced_at: at(r, 10)?,
    })
}

pub fn list(
    c: &Connection,
    integration_id: i64,
    filter: ContentFilter<'_>,
    offset: u64,
    limit: u64,
) -> Result<ContentPage> {
    let filter_sql =
        "integration_id = ?1 AND (?2 IS NULL OR post_type = ?2) AND (?3 IS NULL OR status = ?3)";
    // One read transaction: the count and the page describe the same moment.
    let tx = c.unchecked_transaction()?;
    let count: i64 = tx
        .prepare_cached(&format!("SELECT COUNT(*) FROM content WHERE {filter_sql}"))
        .and_then(|mut q| {
            q.query_row(
                params![integration_id, filter.post_type, filter.status],
                |r| r.get(0),
            )
        })?;
    let items = tx
        .prepare_cached(&format!(
            "SELECT {SUMMARY_COLS} FROM content WHERE {filter_sql}
             ORDER BY modified_gmt DESC, wp_id DESC LIMIT ?4 OFFSET ?5"
        ))
        .and_then(|mut q| {
            q.query_map(
                params![
                    integration_id,
                    filter.post_type,
                    filter.status,
                    i64::try_from(limit).unwrap_or(i64::MAX),
                    i64::try_from(offset).unwrap_or(i64::MAX)
                ],
                summary,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
    tx.commit()?;
    Ok(ContentPage {
        count: u64::try_from(count).unwrap_or(0),
        items,
    })
}

pub fn item(
    c: &Connection,
    integration_id: i64,
    post_type: &str,
    wp_id: i64,
) -> Result<Option<ContentItem>> {
    c.prepare_cached(&format!(
        "SELECT {SUMMARY_COLS}, body, body_truncated, excerpt, author, date_gmt, menu_order,
                featured_image, meta, checksum, source
         FROM content WHERE integration_id = ? AND post_type = ? AND wp_id = ?"
    ))
    .and_then(|mut q| {
        q.query_row(params![integration_id, post_type, wp_id], |r| {
            Ok(ContentItem {
                summary: summary(r)?,
                content: r.get(11)?,
                content_truncated: r.get(12)?,
                excerpt: r.get(13)?,
                author: r.get(14)?,
                date_gmt: r.get(15)?,
                menu_order: r.get(16)?,
                featured_image: r.get(17)?,
                meta: json(&r.get::<_, String>(18)?)?,
                checksum: r.get(19)?,
                source: r.get(20)?,
            })
        })
        .optional()
    })
    .map_err(StoreError::from)
}

pub fn terms(c: &Connection, integration_id: i64, taxonomy: &str) -> Result<Vec<TermRow>> {
    c.prepare_cached(
        "SELECT wp_id, name, slug, parent, count, description, taxonomy, synced_at FROM terms
         WHERE integration_id = ? AND taxonomy = ? ORDER BY wp_id",
    )
    .and_then(|mut q| {
        q.query_map(params![integration_id, taxonomy], |r| {
            Ok(TermRow {
                wp_id: r.get(0)?,
                name: r.get(1)?,
                slug: r.get(2)?,
                parent: r.get(3)?,
                count: r.get(4)?,
                description: r.get(5)?,
                taxonomy: r.get(6)?,
                synced_at: at(r, 7)?,
            })
        })?
        .collect()
    })
    .map_err(StoreError::from)
}

pub fn counts(c: &Connection, integration_id: i64) -> Result<Vec<TypeCount>> {
    let mut all = Vec::new();
    for (kind, sql) in [
        (
            ItemKind::Post,
            "SELECT post_type, SUM(CASE WHEN status <> 'trash' THEN 1 ELSE 0 END), MAX(synced_at)
             FROM content WHERE integration_id = ? GROUP BY post_type ORDER BY post_type",
        ),
        (
            ItemKind::Term,
            "SELECT taxonomy, COUNT(*), MAX(synced_at) FROM terms WHERE integration_id = ?
             GROUP BY taxonomy ORDER BY taxonomy",
        ),
    ] {
        let rows: Vec<TypeCount> = c.prepare_cached(sql).and_then(|mut q| {
            q.query_map([integration_id], |r| {
                Ok(TypeCount {
                    kind,
                    type_name: r.get(0)?,
                    count: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    last_synced_at: opt_at(r, 2)?,
                })
            })?
            .collect()
        })?;
        all.extend(rows);
    }
    Ok(all)
}

pub fn buckets(
    c: &Connection,
    integration_id: i64,
    kind: ItemKind,
    type_name: &str,
    bucket_size: i64,
) -> Result<Vec<Bucket>> {
    let (table, type_col) = table(kind);
    let rows: Vec<(i64, i64, i64)> = c
        .prepare_cached(&format!(
            "SELECT (wp_id / ?1) * ?1 AS start, COUNT(*), SUM(checksum) FROM {table}
             WHERE integration_id = ?2 AND {type_col} = ?3 GROUP BY start ORDER BY start"
        ))
        .and_then(|mut q| {
            q.query_map(params![bucket_size, integration_id, type_name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })?;
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

pub fn checksums(
    c: &Connection,
    integration_id: i64,
    kind: ItemKind,
    type_name: &str,
    from_id: i64,
    to_id: i64,
) -> Result<Vec<(i64, u32)>> {
    let (table, type_col) = table(kind);
    c.prepare_cached(&format!(
        "SELECT wp_id, checksum FROM {table}
         WHERE integration_id = ? AND {type_col} = ? AND wp_id BETWEEN ? AND ? ORDER BY wp_id"
    ))
    .and_then(|mut q| {
        q.query_map(params![integration_id, type_name, from_id, to_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect()
    })
    .map_err(StoreError::from)
}

const STATE_COLS: &str = "run_id, run_status, run_started_at, run_finished_at, run_totals, run_done,
    run_cursors, full_sync_requested, verify_requested, verify_state, verify_differences, verified_at, version";

/// The integration's sync state and its row's version (`None` before the row exists).
pub fn load_state(c: &Connection, integration_id: i64) -> Result<(ContentSyncState, Option<i64>)> {
    let row = c
        .prepare_cached(&format!(
            "SELECT {STATE_COLS} FROM content_sync_state WHERE integration_id = ?"
        ))
        .and_then(|mut q| {
            q.query_row([integration_id], |r| {
                let text = |i: usize| -> rusqlite::Result<Value> { json(&r.get::<_, String>(i)?) };
                Ok((
                    SyncStateRow {
                        run_id: r.get(0)?,
                        run_status: r.get(1)?,
                        run_started_at: opt_at(r, 2)?,
                        run_finished_at: opt_at(r, 3)?,
                        run_totals: text(4)?,
                        run_done: text(5)?,
                        run_cursors: text(6)?,
                        full_sync_requested: r.get(7)?,
                        verify_requested: r.get(8)?,
                        verify_state: r.get(9)?,
                        verify_differences: r.get(10)?,
                        verified_at: opt_at(r, 11)?,
                    },
                    r.get::<_, i64>(12)?,
                ))
            })
            .optional()
        })?;
    match row {
        None => Ok((ContentSyncState::default(), None)),
        Some((row, version)) => Ok((row.into_state()?, Some(version))),
    }
}

/// Writes the state if the row is still at `version` (`None`: still missing); answers whether it
/// did. Each write moves the version on.
pub fn save_state_if(
    c: &Connection,
    integration_id: i64,
    state: &ContentSyncState,
    version: Option<i64>,
) -> Result<bool> {
    let r = SyncStateRow::from_state(state);
    let values = params![
        integration_id,
        r.run_id,
        r.run_status,
        r.run_started_at.map(time),
        r.run_finished_at.map(time),
        r.run_totals.to_string(),
        r.run_done.to_string(),
        r.run_cursors.to_string(),
        r.full_sync_requested,
        r.verify_requested,
        r.verify_state,
        r.verify_differences,
        r.verified_at.map(time),
        version,
    ];
    let written = match version {
        None => c
            .prepare_cached(
                "INSERT INTO content_sync_state (integration_id, run_id, run_status, run_started_at,
                     run_finished_at, run_totals, run_done, run_cursors, full_sync_requested,
                     verify_requested, verify_state, verify_differences, verified_at, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, COALESCE(?14, 0) + 1)
                 ON CONFLICT (integration_id) DO NOTHING",
            )
            .and_then(|mut q| q.execute(values)),
        Some(_) => c
            .prepare_cached(
                "UPDATE content_sync_state SET run_id = ?2, run_status = ?3, run_started_at = ?4,
                     run_finished_at = ?5, run_totals = ?6, run_done = ?7, run_cursors = ?8,
                     full_sync_requested = ?9, verify_requested = ?10, verify_state = ?11,
                     verify_differences = ?12, verified_at = ?13, version = version + 1
                 WHERE integration_id = ?1 AND version = ?14",
            )
            .and_then(|mut q| q.execute(values)),
    }?;
    Ok(written == 1)
}
