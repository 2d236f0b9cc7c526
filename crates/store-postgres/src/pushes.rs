//! Structure pushes on PostgreSQL, in batches: the pushes that arrive while one batch runs go
//! together into the next, as one transaction with one commit however many sites push at once.
//! A push alone costs the same round trips as before; two hundred at once cost about as many as
//! one. The rules are `igny8_store::structure_push`'s, applied in arrival order, so pushes to
//! the same integration within a batch build on each other as they would one after another.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use igny8_store::{
    ApiKey, PushOutcome, PushRefusal, Result, SiteKeyWrite, StoreError, StructurePush, TargetState,
};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::{content, db, key, KeyRow, KEY_COLS};

/// The most pushes one transaction takes.
const MAX_BATCH: usize = 256;
/// Batches in flight at once: while one waits for its commit to be flushed, the next is read and
/// decided.
const WORKERS: usize = 2;

struct Queued {
    push: StructurePush,
    reply: oneshot::Sender<Result<PushOutcome>>,
}

/// The handle to the batching task; the task ends when the last handle is dropped.
pub struct Pushes {
    queue: mpsc::UnboundedSender<Queued>,
}

impl Pushes {
    pub fn start(pool: PgPool) -> Self {
        let (queue, queued) = mpsc::unbounded_channel();
        let queued = Arc::new(Mutex::new(queued));
        for _ in 0..WORKERS {
            tokio::spawn(run(pool.clone(), queued.clone()));
        }
        Self { queue }
    }

    /// Queues `push` and answers its outcome once its batch is committed.
    pub async fn push(&self, push: StructurePush) -> Result<PushOutcome> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Queued { push, reply })
            .map_err(|_| db("the structure push task has stopped"))?;
        answer
            .await
            .map_err(|_| db("the structure push task has stopped"))?
    }
}

async fn run(pool: PgPool, queued: Arc<Mutex<mpsc::UnboundedReceiver<Queued>>>) {
    loop {
        let batch = {
            let mut queued = queued.lock().await;
            let Some(first) = queued.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queued.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            batch
        };
        let pushes: Vec<&StructurePush> = batch.iter().map(|q| &q.push).collect();
        match apply(&pool, &pushes).await {
            Ok(outcomes) => {
                for (q, outcome) in batch.into_iter().zip(outcomes) {
                    // The caller may have gone away; its push is committed regardless.
                    let _ = q.reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, pushes = batch.len(), "a batch of structure pushes failed");
                for q in batch {
                    let _ = q.reply.send(Err(match &e {
                        StoreError::Unavailable(why) => StoreError::Unavailable(why.clone()),
                        e => StoreError::database(e.to_string()),
                    }));
                }
            }
        }
    }
}

/// An integration a batch pushes to, as locked and then changed by the batch's pushes in order.
struct Target {
    site: i64,
    config: String,
    site_url: Option<String>,
}

/// One transaction for the whole batch: the integrations locked and read, the keys with their
/// sites' state, the sync states; the pushes decided in order; the configs and key uses written.
async fn apply(pool: &PgPool, pushes: &[&StructurePush]) -> Result<Vec<Result<PushOutcome>>> {
    let prefixes: Vec<&str> = pushes.iter().map(|p| p.key_prefix.as_str()).collect();
    let ids: Vec<i64> = pushes.iter().map(|p| p.integration_id).collect();
    let mut tx = pool.begin().await?;
    // Locked in id order, so batches of several replicas cannot deadlock.
    let mut targets: HashMap<i64, Target> =
        sqlx::query_as::<_, (i64, i64, String, Option<String>)>(
            "SELECT id, site_id, config_json::text, site_url FROM site_integrations
             WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        )
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|(id, site, config, site_url)| {
            (
                id,
                Target {
                    site,
                    config,
                    site_url,
                },
            )
        })
        .collect();
    let keys: HashMap<String, ApiKey> = sqlx::query_as::<_, KeyRow>(&format!(
        "SELECT {KEY_COLS} FROM api_keys WHERE prefix = ANY($1)"
    ))
    .bind(&prefixes)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|row| {
        let key = key(row);
        (key.prefix.clone(), key)
    })
    .collect();
    let site_ids: Vec<i64> = keys.values().map(|k| k.site_id).collect();
    let active_sites: HashSet<i64> =
        sqlx::query_scalar("SELECT id FROM sites WHERE id = ANY($1) AND is_active")
            .bind(&site_ids)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let states = content::states_of(&mut tx, &ids).await?;

    // Keys whose use is recorded, in id order: the order their rows are locked in by every batch.
    let mut touches: BTreeMap<i64, DateTime<Utc>> = BTreeMap::new();
    let mut written: HashSet<i64> = HashSet::new();
    let mut outcomes = Vec::with_capacity(pushes.len());
    for push in pushes {
        let found = keys.get(&push.key_prefix);
        let target = targets.get_mut(&push.integration_id);
        let state = TargetState {
            integration_site: target.as_ref().map(|t| t.site),
            site_active: found.is_some_and(|k| active_sites.contains(&k.site_id)),
            known_url: target.as_ref().and_then(|t| t.site_url.as_deref()),
        };
        let admission = match push.admit(found, state) {
            Ok(admission) => admission,
            Err(refused) => {
                outcomes.push(Ok(PushOutcome::Refused(refused)));
                continue;
            }
        };
        if admission.touch {
            touches.entry(admission.key.id).or_insert(push.at);
        }
        let (target, adopted) = match (admission.verdict, target) {
            (Ok(adopted), Some(target)) => (target, adopted.map(str::to_owned)),
            (Err(refused), _) => {
                outcomes.push(Ok(PushOutcome::Refused(refused)));
                continue;
            }
            (Ok(_), None) => {
                outcomes.push(Ok(PushOutcome::Refused(PushRefusal::NoSuchIntegration)));
                continue;
            }
        };
        outcomes.push(
            push.apply_to_text(&target.config)
                .map_err(StoreError::from)
                .map(|(next, content_types)| {
                    target.config = next;
                    if adopted.is_some() {
                        target.site_url = adopted;
                    }
                    written.insert(push.integration_id);
                    PushOutcome::Applied {
                        content_types,
                        sync: states
                            .get(&push.integration_id)
                            .cloned()
                            .unwrap_or_default(),
                    }
                }),
        );
    }

    let mut ids = Vec::with_capacity(written.len());
    let mut configs = Vec::with_capacity(written.len());
    let mut site_urls = Vec::with_capacity(written.len());
    for id in &written {
        ids.push(*id);
        configs.push(targets[id].config.as_str());
        site_urls.push(targets[id].site_url.as_deref());
    }
    if !ids.is_empty() {
        // The address is written only where none was known (a push adopts it, never changes it).
        sqlx::query(
            "UPDATE site_integrations SET config_json = u.config::jsonb, updated_at = $3,
                site_url = COALESCE(site_integrations.site_url, u.site_url)
             FROM UNNEST($1::bigint[], $2::text[], $4::text[]) AS u(id, config, site_url)
             WHERE site_integrations.id = u.id",
        )
        .bind(&ids)
        .bind(&configs)
        .bind(Utc::now())
        .bind(&site_urls)
        .execute(&mut *tx)
        .await?;
    }
    if !touches.is_empty() {
        let (key_ids, ats): (Vec<i64>, Vec<DateTime<Utc>>) = touches.into_iter().unzip();
        sqlx::query(
            "UPDATE api_keys SET last_used_at = u.at
             FROM UNNEST($1::bigint[], $2::timestamptz[]) AS u(id, at)
             WHERE api_keys.id = u.id",
        )
        .bind(&key_ids)
        .bind(&ats)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}
