//! Two-way sync's outbox on PostgreSQL, for several replicas at once: a change's `seq` is
//! allocated with its integration's row locked (so `seq` order is commit order), and every
//! read-modify-write locks the change it changes.

use chrono::{DateTime, Utc};
use igny8_domain::changes::{
    self, ChangeOp, ChangeOutcome, ChangeStatus, ConflictPolicy, Resolution,
};
use igny8_domain::content::ItemKind;
use igny8_store::sql::{self, CHANGE_COLS};
use igny8_store::{
    ChangeFilter, ChangeReceiver, ChangeRecord, NewChange, OutboxDepth, Result, StoreError,
};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::db;

#[derive(sqlx::FromRow)]
struct ChangeRow {
    id: i64,
    integration_id: i64,
    seq: i64,
    op: String,
    kind: String,
    #[sqlx(rename = "type")]
    type_name: String,
    wp_id: Option<i64>,
    fields: Value,
    base: Value,
    base_modified_gmt: Option<String>,
    policy: String,
    status: String,
    attempt: i64,
    result: Option<Value>,
    idempotency_key: Option<String>,
    created_by: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    applied_at: Option<DateTime<Utc>>,
}

impl TryFrom<ChangeRow> for ChangeRecord {
    type Error = StoreError;

    fn try_from(r: ChangeRow) -> Result<Self> {
        let bad = |what: &str, v: &str| db(format!("unknown {what} {v:?} in change {}", r.id));
        Ok(ChangeRecord {
            id: r.id,
            integration_id: r.integration_id,
            seq: r.seq,
            op: ChangeOp::parse(&r.op).ok_or_else(|| bad("op", &r.op))?,
            kind: ItemKind::parse(&r.kind).ok_or_else(|| bad("kind", &r.kind))?,
            type_name: r.type_name.clone(),
            wp_id: r.wp_id,
            fields: r.fields.clone(),
            base: r.base.clone(),
            base_modified_gmt: r.base_modified_gmt.clone(),
            policy: ConflictPolicy::parse(&r.policy).ok_or_else(|| bad("policy", &r.policy))?,
            status: ChangeStatus::parse(&r.status).ok_or_else(|| bad("status", &r.status))?,
            attempt: r.attempt,
            result: r.result.clone(),
            idempotency_key: r.idempotency_key.clone(),
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            applied_at: r.applied_at,
        })
    }
}

fn records(rows: Vec<ChangeRow>) -> Result<Vec<ChangeRecord>> {
    rows.into_iter().map(ChangeRecord::try_from).collect()
}

async fn get_locked(
    c: &mut PgConnection,
    integration_id: i64,
    id: i64,
) -> Result<Option<ChangeRecord>> {
    sqlx::query_as::<_, ChangeRow>(&format!(
        "SELECT {CHANGE_COLS} FROM changes WHERE integration_id = $1 AND id = $2 FOR UPDATE"
    ))
    .bind(integration_id)
    .bind(id)
    .fetch_optional(c)
    .await?
    .map(ChangeRecord::try_from)
    .transpose()
}

pub async fn get(pool: &PgPool, integration_id: i64, id: i64) -> Result<Option<ChangeRecord>> {
    sqlx::query_as::<_, ChangeRow>(&format!(
        "SELECT {CHANGE_COLS} FROM changes WHERE integration_id = $1 AND id = $2"
    ))
    .bind(integration_id)
    .bind(id)
    .fetch_optional(pool)
    .await?
    .map(ChangeRecord::try_from)
    .transpose()
}

/// Queues a change inside the caller's transaction.
async fn create_in(c: &mut PgConnection, new: &NewChange) -> Result<(ChangeRecord, bool)> {
    // The integration's row lock orders concurrent writers: each allocates the next seq after
    // the previous one committed, and a repeated idempotency key sees the first change.
    let locked: Option<i64> =
        sqlx::query_scalar("SELECT id FROM site_integrations WHERE id = $1 FOR UPDATE")
            .bind(new.integration_id)
            .fetch_optional(&mut *c)
            .await?;
    if locked.is_none() {
        return Err(StoreError::NotFound);
    }
    if let Some(key) = &new.idempotency_key {
        let found = sqlx::query_as::<_, ChangeRow>(&format!(
            "SELECT {CHANGE_COLS} FROM changes WHERE integration_id = $1 AND idempotency_key = $2"
        ))
        .bind(new.integration_id)
        .bind(key)
        .fetch_optional(&mut *c)
        .await?;
        if let Some(found) = found {
            return Ok((found.try_into()?, false));
        }
    }
    let row = sqlx::query_as::<_, ChangeRow>(&format!(
        "INSERT INTO changes (integration_id, seq, op, kind, type, wp_id, fields, base, base_modified_gmt, policy, status, idempotency_key, created_by, created_at, updated_at)
         VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM changes WHERE integration_id = $1), $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12, $12)
         RETURNING {CHANGE_COLS}"
    ))
    .bind(new.integration_id)
    .bind(new.op.as_str())
    .bind(new.kind.as_str())
    .bind(&new.type_name)
    .bind(new.wp_id)
    .bind(&new.fields)
    .bind(&new.base)
    .bind(&new.base_modified_gmt)
    .bind(new.policy.as_str())
    .bind(&new.idempotency_key)
    .bind(new.created_by)
    .bind(new.at)
    .fetch_one(&mut *c)
    .await?;
    Ok((row.try_into()?, true))
}

pub async fn create(pool: &PgPool, new: &NewChange) -> Result<(ChangeRecord, bool)> {
    let mut tx = pool.begin().await?;
    let out = create_in(&mut tx, new).await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn list(
    pool: &PgPool,
    integration_id: i64,
    filter: ChangeFilter<'_>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<ChangeRecord>)> {
    let status = filter.status.map(|s| s.as_str());
    let (kind, type_name, wp_id) = match filter.object {
        Some((k, t, id)) => (Some(k.as_str()), Some(t), Some(id)),
        None => (None, None, None),
    };
    let filter = "integration_id = $1 AND ($2::text IS NULL OR status = $2)
                  AND ($3::text IS NULL OR (kind = $3 AND type = $4 AND wp_id = $5))";
    let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM changes WHERE {filter}"))
        .bind(integration_id)
        .bind(status)
        .bind(kind)
        .bind(type_name)
        .bind(wp_id)
        .fetch_one(pool)
        .await?;
    let rows = sqlx::query_as::<_, ChangeRow>(&format!(
        "SELECT {CHANGE_COLS} FROM changes WHERE {filter} ORDER BY seq DESC LIMIT $6 OFFSET $7"
    ))
    .bind(integration_id)
    .bind(status)
    .bind(kind)
    .bind(type_name)
    .bind(wp_id)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .bind(i64::try_from(offset).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await?;
    Ok((count as u64, records(rows)?))
}

pub async fn deliver(
    pool: &PgPool,
    integration_id: i64,
    limit: u64,
    at: DateTime<Utc>,
) -> Result<Vec<ChangeRecord>> {
    // Row locks make concurrent pulls count each delivery once: a second pull waits for the
    // first's commit and sees its attempt.
    let rows = sqlx::query_as::<_, ChangeRow>(&format!(
        "UPDATE changes SET attempt = attempt + 1, updated_at = $3
         WHERE id IN (SELECT id FROM changes WHERE integration_id = $1 AND status = 'pending'
                      ORDER BY seq LIMIT $2 FOR UPDATE)
         RETURNING {CHANGE_COLS}"
    ))
    .bind(integration_id)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .bind(at)
    .fetch_all(pool)
    .await?;
    let mut out = records(rows)?;
    out.sort_by_key(|r| r.seq);
    Ok(out)
}

pub async fn count_pending(pool: &PgPool, integration_id: i64) -> Result<u64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM changes WHERE integration_id = $1 AND status = 'pending'",
    )
    .bind(integration_id)
    .fetch_one(pool)
    .await?;
    Ok(n as u64)
}

pub async fn outbox_depth(pool: &PgPool) -> Result<OutboxDepth> {
    let counted: Vec<(String, i64)> = sqlx::query_as(sql::OUTBOX_COUNTS).fetch_all(pool).await?;
    let oldest_pending_at: Option<DateTime<Utc>> = sqlx::query_scalar(sql::OLDEST_PENDING_AT)
        .fetch_optional(pool)
        .await?;
    Ok(OutboxDepth::from_counts(&counted, oldest_pending_at))
}

pub async fn cancel(
    pool: &PgPool,
    integration_id: i64,
    id: i64,
    at: DateTime<Utc>,
) -> Result<ChangeRecord> {
    let mut tx = pool.begin().await?;
    let current = get_locked(&mut tx, integration_id, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if current.status != ChangeStatus::Pending {
        return Err(StoreError::Conflict(format!(
            "the change is {}, not pending",
            current.status
        )));
    }
    let row = sqlx::query_as::<_, ChangeRow>(&format!(
        "UPDATE changes SET status = 'cancelled', updated_at = $1 WHERE id = $2 RETURNING {CHANGE_COLS}"
    ))
    .bind(at)
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    row.try_into()
}

pub async fn record_outcomes(
    pool: &PgPool,
    integration_id: i64,
    outcomes: &[ChangeOutcome],
    at: DateTime<Utc>,
) -> Result<Vec<bool>> {
    let mut tx = pool.begin().await?;
    // Locked in id order, as every batch does, so two reports cannot deadlock.
    let mut order: Vec<usize> = (0..outcomes.len()).collect();
    order.sort_by_key(|&i| outcomes[i].id);
    let mut known = vec![false; outcomes.len()];
    for i in order {
        let outcome = &outcomes[i];
        let Some(current) = get_locked(&mut tx, integration_id, outcome.id).await? else {
            continue;
        };
        known[i] = true;
        if let Some((status, result)) = changes::record_outcome(current.status, outcome) {
            let applied_at = (status == ChangeStatus::Applied).then_some(at);
            sqlx::query(
                "UPDATE changes SET status = $1, result = $2, updated_at = $3, applied_at = COALESCE($4, applied_at) WHERE id = $5",
            )
            .bind(status.as_str())
            .bind(Value::Object(result))
            .bind(at)
            .bind(applied_at)
            .bind(outcome.id)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(known)
}

pub async fn resolve(
    pool: &PgPool,
    integration_id: i64,
    id: i64,
    resolution: &Resolution,
    next: Option<&NewChange>,
) -> Result<(ChangeRecord, Option<ChangeRecord>)> {
    let mut tx = pool.begin().await?;
    let current = get_locked(&mut tx, integration_id, id)
        .await?
        .ok_or(StoreError::NotFound)?;
    if current.status != ChangeStatus::Conflict {
        return Err(StoreError::Conflict(format!(
            "the change is {}, not in conflict",
            current.status
        )));
    }
    let created = match next {
        Some(n) => Some(create_in(&mut tx, n).await?.0),
        None => None,
    };
    let mut result = current
        .result
        .and_then(|r| r.as_object().cloned())
        .unwrap_or_default();
    result.insert(
        "resolution".into(),
        resolution.record(created.as_ref().map(|r| r.id)),
    );
    let row = sqlx::query_as::<_, ChangeRow>(&format!(
        "UPDATE changes SET status = 'resolved', result = $1, updated_at = $2 WHERE id = $3 RETURNING {CHANGE_COLS}"
    ))
    .bind(Value::Object(result))
    .bind(Utc::now())
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((row.try_into()?, created))
}

pub async fn set_receiver(
    pool: &PgPool,
    integration_id: i64,
    url: &str,
    secret: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO change_receivers (integration_id, url, secret, registered_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (integration_id) DO UPDATE SET url = excluded.url, secret = excluded.secret,
             registered_at = excluded.registered_at, last_nudge_error = NULL",
    )
    .bind(integration_id)
    .bind(url)
    .bind(secret)
    .bind(at)
    .execute(pool)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::from(e),
    })?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ReceiverRow {
    integration_id: i64,
    url: String,
    secret: String,
    registered_at: DateTime<Utc>,
    last_nudge_at: Option<DateTime<Utc>>,
    last_nudge_error: Option<String>,
}

pub async fn receiver(pool: &PgPool, integration_id: i64) -> Result<Option<ChangeReceiver>> {
    let row: Option<ReceiverRow> = sqlx::query_as(
        "SELECT integration_id, url, secret, registered_at, last_nudge_at, last_nudge_error
         FROM change_receivers WHERE integration_id = $1",
    )
    .bind(integration_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| ChangeReceiver {
        integration_id: r.integration_id,
        url: r.url,
        secret: r.secret,
        registered_at: r.registered_at,
        last_nudge_at: r.last_nudge_at,
        last_nudge_error: r.last_nudge_error,
    }))
}

pub async fn record_nudge(
    pool: &PgPool,
    integration_id: i64,
    at: DateTime<Utc>,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE change_receivers SET last_nudge_at = $1, last_nudge_error = $2 WHERE integration_id = $3",
    )
    .bind(at)
    .bind(error)
    .bind(integration_id)
    .execute(pool)
    .await?;
    Ok(())
}
