//! Two-way sync's outbox on SQLite: every write runs on the writer thread, whose `BEGIN IMMEDIATE`
//! makes each function below one step for every process sharing the file.

use chrono::{DateTime, Utc};
use igny8_domain::changes::{
    self, ChangeOp, ChangeOutcome, ChangeStatus, ConflictPolicy, Resolution,
};
use igny8_domain::content::ItemKind;
use igny8_store::sql::{self, CHANGE_COLS};
use igny8_store::{
    ChangeFilter, ChangeReceiver, ChangeRecord, NewChange, OutboxDepth, Result, StoreError,
};
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use crate::conn::{at, db, opt_at, time};

fn json_col(r: &Row<'_>, i: usize) -> rusqlite::Result<Value> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
}

fn enum_col<T>(r: &Row<'_>, i: usize, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            Type::Text,
            format!("unknown value {text:?}").into(),
        )
    })
}

fn change(r: &Row<'_>) -> rusqlite::Result<ChangeRecord> {
    let result: Option<String> = r.get(13)?;
    Ok(ChangeRecord {
        id: r.get(0)?,
        integration_id: r.get(1)?,
        seq: r.get(2)?,
        op: enum_col(r, 3, ChangeOp::parse)?,
        kind: enum_col(r, 4, ItemKind::parse)?,
        type_name: r.get(5)?,
        wp_id: r.get(6)?,
        fields: json_col(r, 7)?,
        base: json_col(r, 8)?,
        base_modified_gmt: r.get(9)?,
        policy: enum_col(r, 10, ConflictPolicy::parse)?,
        status: enum_col(r, 11, ChangeStatus::parse)?,
        attempt: r.get(12)?,
        result: result
            .map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(13, Type::Text, Box::new(e)))?,
        idempotency_key: r.get(14)?,
        created_by: r.get(15)?,
        created_at: at(r, 16)?,
        updated_at: at(r, 17)?,
        applied_at: opt_at(r, 18)?,
    })
}

pub fn get(c: &Connection, integration_id: i64, id: i64) -> Result<Option<ChangeRecord>> {
    c.prepare_cached(&format!(
        "SELECT {CHANGE_COLS} FROM changes WHERE integration_id = ? AND id = ?"
    ))
    .and_then(|mut q| q.query_row(params![integration_id, id], change).optional())
    .map_err(StoreError::from)
}

pub fn create(c: &Connection, new: &NewChange) -> Result<(ChangeRecord, bool)> {
    let exists: bool = c
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM site_integrations WHERE id = ?)")
        .and_then(|mut q| q.query_row([new.integration_id], |r| r.get(0)))?;
    if !exists {
        return Err(StoreError::NotFound);
    }
    if let Some(key) = &new.idempotency_key {
        let found = c
            .prepare_cached(&format!(
                "SELECT {CHANGE_COLS} FROM changes WHERE integration_id = ? AND idempotency_key = ?"
            ))
            .and_then(|mut q| {
                q.query_row(params![new.integration_id, key], change)
                    .optional()
            })?;
        if let Some(found) = found {
            return Ok((found, false));
        }
    }
    let now = time(new.at);
    let record = c
        .prepare_cached(&format!(
            "INSERT INTO changes (integration_id, seq, op, kind, type, wp_id, fields, base, base_modified_gmt, policy, status, idempotency_key, created_by, created_at, updated_at)
             VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM changes WHERE integration_id = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?11, ?12, ?12)
             RETURNING {CHANGE_COLS}"
        ))
        .and_then(|mut q| {
            q.query_row(
                params![
                    new.integration_id,
                    new.op.as_str(),
                    new.kind.as_str(),
                    new.type_name,
                    new.wp_id,
                    new.fields.to_string(),
                    new.base.to_string(),
                    new.base_modified_gmt,
                    new.policy.as_str(),
                    new.idempotency_key,
                    new.created_by,
                    now
                ],
                change,
            )
        })?;
    Ok((record, true))
}

pub fn list(
    c: &Connection,
    integration_id: i64,
    filter: (Option<ChangeStatus>, Option<(ItemKind, String, i64)>),
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<ChangeRecord>)> {
    let (status, object) = filter;
    let status = status.map(|s| s.as_str());
    let (kind, type_name, wp_id) = match &object {
        Some((k, t, id)) => (Some(k.as_str()), Some(t.as_str()), Some(*id)),
        None => (None, None, None),
    };
    let filter = "integration_id = ?1 AND (?2 IS NULL OR status = ?2)
                  AND (?3 IS NULL OR (kind = ?3 AND type = ?4 AND wp_id = ?5))";
    let count: i64 = c
        .prepare_cached(&format!("SELECT COUNT(*) FROM changes WHERE {filter}"))
        .and_then(|mut q| {
            q.query_row(
                params![integration_id, status, kind, type_name, wp_id],
                |r| r.get(0),
            )
        })?;
    let rows = c
        .prepare_cached(&format!(
            "SELECT {CHANGE_COLS} FROM changes WHERE {filter} ORDER BY seq DESC LIMIT ?6 OFFSET ?7"
        ))
        .and_then(|mut q| {
            q.query_map(
                params![
                    integration_id,
                    status,
                    kind,
                    type_name,
                    wp_id,
                    i64::try_from(limit).unwrap_or(i64::MAX),
                    i64::try_from(offset).unwrap_or(i64::MAX)
                ],
                change,
            )?
            .collect()
        })?;
    Ok((count as u64, rows))
}

pub fn deliver(
    c: &Connection,
    integration_id: i64,
    limit: u64,
    at: DateTime<Utc>,
) -> Result<Vec<ChangeRecord>> {
    c.prepare_cached(&format!(
        "UPDATE changes SET attempt = attempt + 1, updated_at = ?3
         WHERE id IN (SELECT id FROM changes WHERE integration_id = ?1 AND status = 'pending' ORDER BY seq LIMIT ?2)
         RETURNING {CHANGE_COLS}"
    ))
    .and_then(|mut q| {
        let mut rows: Vec<ChangeRecord> = q
            .query_map(
                params![integration_id, i64::try_from(limit).unwrap_or(i64::MAX), time(at)],
                change,
            )?
            .collect::<rusqlite::Result<_>>()?;
        // RETURNING has no order of its own.
        rows.sort_by_key(|r| r.seq);
        Ok(rows)
    })
    .map_err(StoreError::from)
}

pub fn count_pending(c: &Connection, integration_id: i64) -> Result<u64> {
    c.prepare_cached("SELECT COUNT(*) FROM changes WHERE integration_id = ? AND status = 'pending'")
        .and_then(|mut q| q.query_row([integration_id], |r| r.get::<_, i64>(0)))
        .map(|n| n as u64)
        .map_err(StoreError::from)
}

pub fn outbox_depth(c: &Connection) -> Result<OutboxDepth> {
    let counted = c
        .prepare_cached(sql::OUTBOX_COUNTS)?
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let oldest_pending_at = c
        .prepare_cached(sql::OLDEST_PENDING_AT)?
        .query_row([], |r| at(r, 0))
        .optional()?;
    Ok(OutboxDepth::from_counts(&counted, oldest_pending_at))
}

pub fn cancel(
    c: &Connection,
    integration_id: i64,
    id: i64,
    at: DateTime<Utc>,
) -> Result<ChangeRecord> {
    let current = get(c, integration_id, id)?.ok_or(StoreError::NotFound)?;
    if current.status != ChangeStatus::Pending {
        return Err(StoreError::Conflict(format!(
            "the change is {}, not pending",
            current.status
        )));
    }
    c.prepare_cached(&format!(
        "UPDATE changes SET status = 'cancelled', updated_at = ? WHERE id = ? RETURNING {CHANGE_COLS}"
    ))
    .and_then(|mut q| q.query_row(params![time(at), id], change))
    .map_err(StoreError::from)
}

pub fn record_outcomes(
    c: &Connection,
    integration_id: i64,
    outcomes: &[ChangeOutcome],
    at: DateTime<Utc>,
) -> Result<Vec<bool>> {
    let now = time(at);
    let mut known = Vec::with_capacity(outcomes.len());
    for outcome in outcomes {
        let Some(current) = get(c, integration_id, outcome.id)? else {
            known.push(false);
            continue;
        };
        if let Some((status, result)) = changes::record_outcome(current.status, outcome) {
            let applied_at = (status == ChangeStatus::Applied).then(|| now.clone());
            c.prepare_cached(
                "UPDATE changes SET status = ?, result = ?, updated_at = ?, applied_at = COALESCE(?, applied_at) WHERE id = ?",
            )
            .and_then(|mut q| {
                q.execute(params![
                    status.as_str(),
                    Value::Object(result).to_string(),
                    now,
                    applied_at,
                    outcome.id
                ])
            })?;
        }
        known.push(true);
    }
    Ok(known)
}

pub fn resolve(
    c: &Connection,
    integration_id: i64,
    id: i64,
    resolution: &Resolution,
    next: Option<&NewChange>,
) -> Result<(ChangeRecord, Option<ChangeRecord>)> {
    let current = get(c, integration_id, id)?.ok_or(StoreError::NotFound)?;
    if current.status != ChangeStatus::Conflict {
        return Err(StoreError::Conflict(format!(
            "the change is {}, not in conflict",
            current.status
        )));
    }
    let created = next.map(|n| create(c, n)).transpose()?.map(|(r, _)| r);
    let mut result = current
        .result
        .and_then(|r| r.as_object().cloned())
        .unwrap_or_default();
    result.insert(
        "resolution".into(),
        resolution.record(created.as_ref().map(|r| r.id)),
    );
    let resolved = c
        .prepare_cached(&format!(
            "UPDATE changes SET status = 'resolved', result = ?, updated_at = ? WHERE id = ? RETURNING {CHANGE_COLS}"
        ))
        .and_then(|mut q| {
            q.query_row(
                params![Value::Object(result).to_string(), time(Utc::now()), id],
                change,
            )
        })?;
    Ok((resolved, created))
}

pub fn set_receiver(
    c: &Connection,
    integration_id: i64,
    url: &str,
    secret: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO change_receivers (integration_id, url, secret, registered_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (integration_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,
             registered_at = excluded.registered_at, last_nudge_error = NULL",
    )
    .and_then(|mut q| q.execute(params![integration_id, url, secret, time(at)]))
    .map_err(|e| match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
        {
            StoreError::NotFound
        }
        _ => db(e),
    })?;
    Ok(())
}

pub fn receiver(c: &Connection, integration_id: i64) -> Result<Option<ChangeReceiver>> {
    c.prepare_cached(
        "SELECT integration_id, url, secret, registered_at, last_nudge_at, last_nudge_error
         FROM change_receivers WHERE integration_id = ?",
    )
    .and_then(|mut q| {
        q.query_row([integration_id], |r| {
            Ok(ChangeReceiver {
                integration_id: r.get(0)?,
                url: r.get(1)?,
                secret: r.get(2)?,
                registered_at: at(r, 3)?,
                last_nudge_at: opt_at(r, 4)?,
                last_nudge_error: r.get(5)?,
            })
        })
        .optional()
    })
    .map_err(StoreError::from)
}

pub fn record_nudge(
    c: &Connection,
    integration_id: i64,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> Result<()> {
    c.prepare_cached(
        "UPDATE change_receivers SET last_nudge_at = ?, last_nudge_error = ? WHERE integration_id = ?",
    )
    .and_then(|mut q| q.execute(params![time(at), error, integration_id]))?;
    Ok(())
}

/// The filter's borrowed parts, owned so they travel to the reader's thread.
pub fn owned_filter(
    filter: ChangeFilter<'_>,
) -> (Option<ChangeStatus>, Option<(ItemKind, String, i64)>) {
    (
        filter.status,
        filter.object.map(|(k, t, id)| (k, t.to_owned(), id)),
    )
}
