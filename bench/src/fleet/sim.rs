//! The simulated fleet: WordPress sites that queue post changes and send them as the plugin does
//! (batches of at most 500, the plugin's back-off on failure, compressed in time), run full syncs,
//! check their status and push their structure; platform users reading lists, posts and Content Types.
//! Each site keeps what the platform acknowledged, so the end of a run can check PostgreSQL against it.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde_json::Value;
use tokio::sync::Mutex;

/// Incremental posts get ids from here up, apart from the seeded ones (1…).
pub const FIRST_SIMULATED_ID: i64 = 100_000_000;
/// The plugin's cap on one batch.
const BATCH_ITEMS: usize = 500;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Endpoint {
    Structure,
    Batch,
    FullSyncBatch,
    FullSyncStartFinish,
    Status,
    UserList,
    UserPost,
    UserContentTypes,
}

impl Endpoint {
    pub const ALL: [Endpoint; 8] = [
        Self::Structure,
        Self::Batch,
        Self::FullSyncBatch,
        Self::FullSyncStartFinish,
        Self::Status,
        Self::UserList,
        Self::UserPost,
        Self::UserContentTypes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Structure => "site: update-structure",
            Self::Batch => "site: content/batch (incremental)",
            Self::FullSyncBatch => "site: content/batch (full sync)",
            Self::FullSyncStartFinish => "site: full-sync start/finish",
            Self::Status => "site: content/status",
            Self::UserList => "user: content list",
            Self::UserPost => "user: one post",
            Self::UserContentTypes => "user: content-types",
        }
    }
}

/// What a site's object is on the platform: an incremental post or a full-synced page.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Kind {
    Post,
    Page,
}

impl Kind {
    fn type_name(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Page => "page",
        }
    }
}

/// One queued change (the plugin's queue holds at most one per object, the latest).
#[derive(Clone)]
struct Change {
    delete: bool,
    modified: String,
    checksum: u32,
    body_len: usize,
}

/// A site's own record: its queue, its back-off, and what the platform acknowledged holding.
#[derive(Default)]
pub struct Book {
    queue: BTreeMap<i64, Change>,
    /// Acknowledged: what PostgreSQL must hold (checksum per object).
    pub held: HashMap<(Kind, i64), u32>,
    live_posts: Vec<i64>,
    next_id: i64,
    backoff_until: Option<Instant>,
    failures: u32,
    runs: u32,
}

impl Book {
    pub fn pending(&self) -> usize {
        self.queue.len()
    }
}

pub struct Site {
    pub index: usize,
    pub integration_id: i64,
    auth: String,
    pub url: String,
    /// Seeded post ids are 1..=this.
    pub seeded: AtomicU64,
    pub book: Mutex<Book>,
    /// A write whose outcome is unknown was abandoned (full sync past the run's end).
    pub uncertain: std::sync::atomic::AtomicBool,
}

pub struct User {
    auth: String,
    sites: std::ops::Range<usize>,
}

/// The plugin's timings divided by `compress` (60: one real minute is one second here).
#[derive(Clone, Copy)]
pub struct Clock {
    pub compress: f64,
}

impl Clock {
    fn scaled(self, seconds: f64) -> Duration {
        Duration::from_secs_f64((seconds / self.compress).max(0.0))
    }
}

pub struct Fleet {
    pub sites: Vec<Site>,
    pub users: Vec<User>,
    pub probes: usize,
    busy: usize,
    clock: Clock,
    /// Seconds since 2026-01-01 for the next change's modified_gmt: every change is newer than the last.
    tick: AtomicU64,
}

impl Fleet {
    pub fn new(sites: Vec<super::seed::SiteRow>, probes: usize, clock: Clock) -> Self {
        let count = sites.len();
        Self {
            sites: sites
                .into_iter()
                .enumerate()
                .map(|(index, s)| Site {
                    index,
                    integration_id: s.integration_id,
                    auth: format!("Bearer {}", s.key),
                    url: s.url,
                    seeded: AtomicU64::new(0),
                    book: Mutex::new(Book {
                        next_id: FIRST_SIMULATED_ID,
                        ..Book::default()
                    }),
                    uncertain: Default::default(),
                })
                .collect(),
            users: Vec::new(),
            probes,
            busy: (count / 20).max(1),
            clock,
            tick: AtomicU64::new(0),
        }
    }

    /// Signs every user in (tokens live 15 minutes: once per load phase).
    pub async fn sign_in(
        &mut self,
        client: &reqwest::Client,
        base: &str,
        emails: &[String],
        sites_per_user: usize,
    ) -> anyhow::Result<()> {
        self.users.clear();
        for (u, email) in emails.iter().enumerate() {
            let answer: Value = client
                .post(format!("{base}/api/v1/auth/login/"))
                .json(&serde_json::json!({"email": email, "password": super::seed::USER_PASSWORD}))
                .send()
                .await?
                .json()
                .await?;
            let token = answer
                .pointer("/data/access")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow::anyhow!("login of {email} answered {answer}"))?;
            let first = u * sites_per_user;
            self.users.push(User {
                auth: format!("Bearer {token}"),
                sites: first..(first + sites_per_user).min(self.sites.len()),
            });
        }
        Ok(())
    }

    fn modified(&self) -> String {
        let n = self.tick.fetch_add(1, Ordering::Relaxed);
        let at = chrono::DateTime::from_timestamp(1_767_225_600 + n as i64, 0).unwrap_or_default();
        at.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

/// One endpoint's figures.
#[derive(Default)]
pub struct Tally {
    /// Microseconds, of 2xx answers.
    pub latencies: Vec<u32>,
    pub errors: u64,
    pub kinds: BTreeMap<String, u64>,
}

impl Tally {
    pub fn requests(&self) -> u64 {
        self.latencies.len() as u64 + self.errors
    }

    /// Nearest rank, milliseconds; the latencies must be sorted.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.latencies.is_empty() {
            return None;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        Some(f64::from(self.latencies[rank - 1]) / 1000.0)
    }

    pub fn mean_ms(&self) -> Option<f64> {
        (!self.latencies.is_empty()).then(|| {
            self.latencies.iter().map(|&l| f64::from(l)).sum::<f64>()
                / self.latencies.len() as f64
                / 1000.0
        })
    }
}

/// An error a site or user saw, with when (seconds since the phase began).
pub struct ErrorEvent {
    pub at: f64,
    pub endpoint: Endpoint,
    pub kind: String,
}

#[derive(Default)]
pub struct Tallies {
    pub by_endpoint: BTreeMap<Endpoint, Tally>,
    pub events: Vec<ErrorEvent>,
    /// Items the platform answered `stale` or `rejected` (neither should happen here).
    pub unexpected_items: u64,
    pub first_unexpected: Option<String>,
}

impl Tallies {
    fn merge(&mut self, other: Tallies) {
        for (e, t) in other.by_endpoint {
            let mine = self.by_endpoint.entry(e).or_default();
            mine.latencies.extend(t.latencies);
            mine.errors += t.errors;
            for (k, n) in t.kinds {
                *mine.kinds.entry(k).or_default() += n;
            }
        }
        self.events.extend(other.events);
        self.unexpected_items += other.unexpected_items;
        self.first_unexpected = self.first_unexpected.take().or(other.first_unexpected);
    }

    pub fn sort(&mut self) {
        for t in self.by_endpoint.values_mut() {
            t.latencies.sort_unstable();
        }
        self.events
            .sort_by(|a, b| a.at.partial_cmp(&b.at).unwrap_or(std::cmp::Ordering::Equal));
    }
}

/// What a worker records into, and from when.
struct Recorder {
    tallies: Tallies,
    start: Instant,
    measure_from: Instant,
    until: Instant,
}

impl Recorder {
    fn record(&mut self, endpoint: Endpoint, sent: Instant, outcome: &Result<Answer, Failure>) {
        let done = Instant::now();
        if done < self.measure_from || done > self.until {
            return;
        }
        let tally = self.tallies.by_endpoint.entry(endpoint).or_default();
        match outcome {
            Ok(_) => tally
                .latencies
                .push(u32::try_from((done - sent).as_micros()).unwrap_or(u32::MAX)),
            Err(f) => {
                tally.errors += 1;
                *tally.kinds.entry(f.kind.clone()).or_default() += 1;
                if self.tallies.events.len() < 100_000 {
                    self.tallies.events.push(ErrorEvent {
                        at: (done - self.start).as_secs_f64(),
                        endpoint,
                        kind: f.kind.clone(),
                    });
                }
            }
        }
    }
}

struct Answer {
    body: Value,
}

struct Failure {
    kind: String,
    status: Option<u16>,
    retry_after: Option<String>,
}

async fn send(request: reqwest::RequestBuilder) -> Result<Answer, Failure> {
    let response = request.send().await.map_err(|e| Failure {
        kind: transport_kind(&e),
        status: None,
        retry_after: None,
    })?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response.bytes().await.map_err(|e| Failure {
        kind: format!("reading the answer: {}", transport_kind(&e)),
        status: None,
        retry_after: None,
    })?;
    if !status.is_success() {
        let code = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default();
        let retry = if retry_after.is_some() {
            " +Retry-After"
        } else {
            ""
        };
        return Err(Failure {
            kind: format!("HTTP {} {code}{retry}", status.as_u16()),
            status: Some(status.as_u16()),
            retry_after,
        });
    }
    serde_json::from_slice(&bytes)
        .map(|body| Answer { body })
        .map_err(|_| Failure {
            kind: format!("HTTP {} not JSON", status.as_u16()),
            status: Some(status.as_u16()),
            retry_after: None,
        })
}

fn transport_kind(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "transport: timeout".into()
    } else if e.is_connect() {
        "transport: connect".into()
    } else {
        "transport: connection closed".into()
    }
}

/// The plugin's `igny8_retry_delay()` and `igny8_jitter()` (sync/platform.php), in real seconds.
fn retry_delay(failure: &Failure, failures: u32, rng: &mut StdRng) -> f64 {
    const DAY: f64 = 86_400.0;
    let delay = match failure.retry_after.as_deref().map(str::trim) {
        Some(raw) if !raw.is_empty() => match raw.parse::<u64>() {
            Ok(s) => (s as f64).min(DAY),
            Err(_) => 180.0,
        },
        _ if matches!(failure.status, Some(429 | 503)) => 180.0,
        _ => (60.0 * 2f64.powi(failures.min(6) as i32)).min(3600.0),
    };
    let spread = (delay / 5.0).floor();
    delay
        + if spread > 0.0 {
            rng.gen_range(0.0..=spread)
        } else {
            0.0
        }
}

/// What one body costs: sizes of real posts' HTML, from a short excerpt to a long article.
fn body_len(rng: &mut StdRng) -> usize {
    const SIZES: [usize; 10] = [
        600, 1200, 2000, 2500, 3000, 4000, 5000, 7000, 10_000, 16_000,
    ];
    SIZES[rng.gen_range(0..SIZES.len())]
}

fn uuid(rng: &mut StdRng) -> String {
    let v: u128 = rng.gen();
    let h = format!("{v:032x}");
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

const PARAGRAPH: &str = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.</p>";

/// One post item as includes/content.php builds it.
fn write_item(out: &mut String, site: &Site, kind: Kind, wp_id: i64, change: &Change) {
    let t = kind.type_name();
    if change.delete {
        let _ = write!(
            out,
            r#"{{"op":"delete","kind":"post","type":"{t}","wp_id":{wp_id},"modified_gmt":"{}"}}"#,
            change.modified
        );
        return;
    }
    let body = PARAGRAPH.repeat(change.body_len / PARAGRAPH.len() + 1);
    let _ = write!(
        out,
        r#"{{"op":"upsert","kind":"post","type":"{t}","wp_id":{wp_id},"modified_gmt":"{m}","checksum":{c},"data":{{"title":"{t} {wp_id}: a title of ordinary length","slug":"{t}-{wp_id}","status":"publish","content":"{body}","excerpt":"A short excerpt of {t} {wp_id}.","author":"Ann","date_gmt":"{m}","url":"{u}/?p={wp_id}","parent":0,"menu_order":0,"featured_image":null,"terms":{{"category":[3],"post_tag":[12,14]}},"seo":{{"title":"%title% %sep% %sitename%","description":"About {t} {wp_id}","focus_keyword":"lorem","canonical":null,"robots":null,"source":"yoast","raw":{{"_yoast_wpseo_title":"%title% %sep% %sitename%"}}}},"meta":{{}}}}}}"#,
        m = change.modified,
        c = change.checksum,
        u = site.url,
    );
}

fn site_request(
    client: &reqwest::Client,
    site: &Site,
    method: reqwest::Method,
    url: String,
) -> reqwest::RequestBuilder {
    client
        .request(method, url)
        .header(AUTHORIZATION, &site.auth)
        .header("X-Igny8-Site-Url", &site.url)
}

/// The structure a site pushes, with its own counts.
fn structure(posts: u64, pages: u64) -> String {
    format!(
        r#"{{"post_types":{{"post":{{"label":"Posts","count":{posts},"enabled":true,"fetch_limit":100}},"page":{{"label":"Pages","count":{pages},"enabled":true,"fetch_limit":100}},"product":{{"label":"Products","count":0,"enabled":false,"fetch_limit":50}}}},"taxonomies":{{"category":{{"label":"Categories","count":25,"enabled":true,"fetch_limit":100}},"post_tag":{{"label":"Tags","count":102,"enabled":true,"fetch_limit":100}}}},"plugin_connection_enabled":true,"two_way_sync_enabled":true,"timestamp":"2026-12-01T10:00:00Z"}}"#
    )
}

/// Everything a worker needs to make requests.
#[derive(Clone)]
pub struct Ctx {
    pub fleet: Arc<Fleet>,
    pub client: reqwest::Client,
    pub base: Arc<str>,
}

impl Ctx {
    fn integration_url(&self, site: &Site, tail: &str) -> String {
        format!(
            "{}/api/v1/integration/integrations/{}/{tail}",
            self.base, site.integration_id
        )
    }

    async fn push_structure(&self, site: &Site, rec: Option<&mut Recorder>) -> bool {
        let posts = site.seeded.load(Ordering::Relaxed);
        let sent = Instant::now();
        let outcome = send(
            site_request(
                &self.client,
                site,
                reqwest::Method::POST,
                self.integration_url(site, "update-structure/"),
            )
            .header(CONTENT_TYPE, "application/json")
            .body(structure(posts, 3000)),
        )
        .await;
        if let Some(rec) = rec {
            rec.record(Endpoint::Structure, sent, &outcome);
        }
        outcome.is_ok()
    }

    /// Queues `changes` new changes on the site, like the plugin's hooks (70% new posts, 27%
    /// edits, 3% deletions).
    fn queue_changes(&self, book: &mut Book, changes: usize, rng: &mut StdRng) {
        for _ in 0..changes {
            let roll: f64 = rng.gen();
            let change = |delete: bool, rng: &mut StdRng| Change {
                delete,
                modified: self.fleet.modified(),
                checksum: rng.gen(),
                body_len: body_len(rng),
            };
            if roll < 0.70 || book.live_posts.is_empty() {
                let id = book.next_id;
                book.next_id += 1;
                book.live_posts.push(id);
                book.queue.insert(id, change(false, rng));
            } else if roll < 0.97 {
                let id = book.live_posts[rng.gen_range(0..book.live_posts.len())];
                book.queue.insert(id, change(false, rng));
            } else {
                let at = rng.gen_range(0..book.live_posts.len());
                let id = book.live_posts.swap_remove(at);
                book.queue.insert(id, change(true, rng));
            }
        }
    }

    /// Sends the first ≤ 500 queued changes as one batch; on a 2xx every listed item leaves the
    /// queue and the applied ones are recorded as held; otherwise the plugin's back-off starts.
    async fn send_queue(
        &self,
        site: &Site,
        book: &mut Book,
        rng: &mut StdRng,
        rec: &mut Recorder,
    ) -> Result<(), ()> {
        let ids: Vec<i64> = book.queue.keys().take(BATCH_ITEMS).copied().collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut body = format!(r#"{{"batch_id":"{}","items":["#, uuid(rng));
        for (n, id) in ids.iter().enumerate() {
            if n > 0 {
                body.push(',');
            }
            write_item(&mut body, site, Kind::Post, *id, &book.queue[id]);
        }
        body.push_str("]}");
        let sent = Instant::now();
        let outcome = send(
            site_request(
                &self.client,
                site,
                reqwest::Method::POST,
                self.integration_url(site, "content/batch/"),
            )
            .header(CONTENT_TYPE, "application/json")
            .body(body),
        )
        .await;
        rec.record(Endpoint::Batch, sent, &outcome);
        match outcome {
            Ok(answer) => {
                let statuses = item_statuses(&answer.body);
                for (n, id) in ids.iter().enumerate() {
                    let Some(change) = book.queue.remove(id) else {
                        continue;
                    };
                    match statuses.get(n).map(String::as_str) {
                        Some("applied") if change.delete => {
                            book.held.remove(&(Kind::Post, *id));
                        }
                        Some("applied") => {
                            book.held.insert((Kind::Post, *id), change.checksum);
                        }
                        other => {
                            rec.tallies.unexpected_items += 1;
                            rec.tallies.first_unexpected.get_or_insert_with(|| {
                                format!("item {id}: {other:?} in {}", answer.body)
                            });
                        }
                    }
                }
                book.failures = 0;
                book.backoff_until = None;
                Ok(())
            }
            Err(failure) => {
                self.note_failure(book, &failure, rng);
                Err(())
            }
        }
    }

    fn note_failure(&self, book: &mut Book, failure: &Failure, rng: &mut StdRng) {
        let delay = retry_delay(failure, book.failures, rng);
        book.failures += 1;
        book.backoff_until = Some(Instant::now() + self.fleet.clock.scaled(delay));
    }

    /// A full sync of `pages` pages, walked by id in batches of 500 with range markers, retried
    /// with the plugin's back-off; gives up (and marks the site uncertain) at `deadline`.
    async fn full_sync(
        &self,
        site: &Site,
        book: &mut Book,
        pages: i64,
        rng: &mut StdRng,
        rec: &mut Recorder,
        deadline: Instant,
    ) {
        let run_id = uuid(rng);
        book.runs += 1;
        let start =
            format!(r#"{{"action":"start","run_id":"{run_id}","totals":{{"post:page":{pages}}}}}"#);
        if self
            .post_full_sync(site, book, rng, rec, deadline, &start)
            .await
            .is_none()
        {
            return;
        }
        let mut from = 1;
        while from <= pages {
            let to = (from + BATCH_ITEMS as i64 - 1).min(pages);
            let changes: Vec<(i64, Change)> = (from..=to)
                .map(|id| {
                    (
                        id,
                        Change {
                            delete: false,
                            modified: self.fleet.modified(),
                            checksum: rng.gen(),
                            body_len: body_len(rng),
                        },
                    )
                })
                .collect();
            let mut body = format!(r#"{{"batch_id":"{}","items":["#, uuid(rng));
            for (n, (id, change)) in changes.iter().enumerate() {
                if n > 0 {
                    body.push(',');
                }
                write_item(&mut body, site, Kind::Page, *id, change);
            }
            let _ = write!(
                body,
                r#"],"full_sync":{{"run_id":"{run_id}","type":"page","kind":"post","from_id":{from},"to_id":{to}}}}}"#
            );
            // Anything sent may have been applied: uncertain until acknowledged.
            site.uncertain.store(true, Ordering::Relaxed);
            let Some(answer) = self
                .retrying(
                    site,
                    book,
                    rng,
                    rec,
                    deadline,
                    Endpoint::FullSyncBatch,
                    || (self.integration_url(site, "content/batch/"), body.clone()),
                )
                .await
            else {
                return;
            };
            let statuses = item_statuses(&answer.body);
            for (n, (id, change)) in changes.iter().enumerate() {
                if statuses.get(n).map(String::as_str) == Some("applied") {
                    book.held.insert((Kind::Page, *id), change.checksum);
                } else {
                    rec.tallies.unexpected_items += 1;
                }
            }
            site.uncertain.store(false, Ordering::Relaxed);
            from = to + 1;
        }
        let finish = format!(
            r#"{{"action":"finish","run_id":"{run_id}","max_ids":{{"post:page":{pages}}}}}"#
        );
        site.uncertain.store(true, Ordering::Relaxed);
        if self
            .post_full_sync(site, book, rng, rec, deadline, &finish)
            .await
            .is_some()
        {
            book.held
                .retain(|(k, id), _| *k == Kind::Post || *id <= pages);
            site.uncertain.store(false, Ordering::Relaxed);
        }
    }

    /// `POST …/content/full-sync/` (start or finish) until a 2xx.
    async fn post_full_sync(
        &self,
        site: &Site,
        book: &mut Book,
        rng: &mut StdRng,
        rec: &mut Recorder,
        deadline: Instant,
        body: &str,
    ) -> Option<Answer> {
        let url = self.integration_url(site, "content/full-sync/");
        self.retrying(
            site,
            book,
            rng,
            rec,
            deadline,
            Endpoint::FullSyncStartFinish,
            || (url.clone(), body.to_owned()),
        )
        .await
    }

    /// POSTs a JSON body until a 2xx, waiting out the plugin's back-off between attempts.
    #[allow(clippy::too_many_arguments)]
    async fn retrying(
        &self,
        site: &Site,
        book: &mut Book,
        rng: &mut StdRng,
        rec: &mut Recorder,
        deadline: Instant,
        endpoint: Endpoint,
        request: impl Fn() -> (String, String),
    ) -> Option<Answer> {
        loop {
            if let Some(until) = book.backoff_until {
                if until > deadline {
                    return None;
                }
                tokio::time::sleep_until(until.into()).await;
            }
            let (url, body) = request();
            let sent = Instant::now();
            let outcome = send(
                site_request(&self.client, site, reqwest::Method::POST, url)
                    .header(CONTENT_TYPE, "application/json")
                    .body(body),
            )
            .await;
            rec.record(endpoint, sent, &outcome);
            match outcome {
                Ok(answer) => {
                    book.failures = 0;
                    book.backoff_until = None;
                    return Some(answer);
                }
                Err(failure) => self.note_failure(book, &failure, rng),
            }
        }
    }

    async fn user_get(&self, user: &User, url: String, endpoint: Endpoint, rec: &mut Recorder) {
        let sent = Instant::now();
        let outcome = send(self.client.get(url).header(AUTHORIZATION, &user.auth)).await;
        rec.record(endpoint, sent, &outcome);
    }
}

/// The `results[].status` of a batch answer, by index.
fn item_statuses(body: &Value) -> Vec<String> {
    body.pointer("/data/results")
        .and_then(Value::as_array)
        .map(|results| {
            results
                .iter()
                .map(|r| {
                    r.get("status")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every site pushes its structure once (the plugin does on connect), `concurrency` at a time.
pub async fn push_all_structures(ctx: &Ctx, concurrency: usize) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (ctx, next, failures) = (ctx.clone(), next.clone(), failures.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(site) = ctx.fleet.sites.get(i) else {
                        return;
                    };
                    if !ctx.push_structure(site, None).await {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await?;
    }
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        anyhow::bail!("{failed} structure pushes failed");
    }
    Ok(())
}

/// How a load phase runs.
#[derive(Clone, Copy)]
pub struct LoadPlan {
    pub workers: usize,
    pub warmup: Duration,
    pub window: Duration,
    /// One worker walks full syncs back to back.
    pub full_syncs: bool,
}

/// The mix: `workers` loops, each taking the next action as soon as the last one answered
/// (a closed loop: the figures are what the fleet can answer). Answers the measured window's tallies.
pub async fn run_load(ctx: &Ctx, plan: LoadPlan) -> anyhow::Result<(Tallies, Instant)> {
    let start = Instant::now();
    let measure_from = start + plan.warmup;
    let until = measure_from + plan.window;
    let mut tasks = Vec::new();
    for w in 0..plan.workers {
        let ctx = ctx.clone();
        let full_sync_worker = plan.full_syncs && w == 0;
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder {
                tallies: Tallies::default(),
                start,
                measure_from,
                until,
            };
            let mut rng = StdRng::from_entropy();
            while Instant::now() < until {
                if full_sync_worker {
                    full_sync_step(&ctx, &mut rng, &mut rec, until).await;
                } else {
                    mix_step(&ctx, &mut rng, &mut rec).await;
                }
            }
            rec.tallies
        }));
    }
    let mut all = Tallies::default();
    for t in tasks {
        all.merge(t.await?);
    }
    all.sort();
    Ok((all, start))
}

async fn full_sync_step(ctx: &Ctx, rng: &mut StdRng, rec: &mut Recorder, until: Instant) {
    let fleet = &ctx.fleet;
    let i = rng.gen_range(fleet.probes..fleet.sites.len().max(fleet.probes + 1));
    let Some(site) = fleet.sites.get(i) else {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return;
    };
    let Ok(mut book) = site.book.try_lock() else {
        return;
    };
    let pages = rng.gen_range(2000..=4000);
    ctx.full_sync(
        site,
        &mut book,
        pages,
        rng,
        rec,
        until + Duration::from_secs(30),
    )
    .await;
    // Between two sites' full syncs, the plugin's cron would idle: a compressed minute.
    tokio::time::sleep(fleet.clock.scaled(60.0)).await;
}

/// One action of the mix: status checks 35%, incremental batches 30% (most from the busy 5% of
/// sites), structure pushes 5%, users' lists 12%, posts 10%, Content Types 8%.
async fn mix_step(ctx: &Ctx, rng: &mut StdRng, rec: &mut Recorder) {
    let fleet = &ctx.fleet;
    let roll = rng.gen_range(0..100);
    match roll {
        0..=34 => {
            let site = &fleet.sites[rng.gen_range(0..fleet.sites.len())];
            let Ok(mut book) = site.book.try_lock() else {
                return;
            };
            if book.backoff_until.is_some_and(|u| u > Instant::now()) {
                return;
            }
            let sent = Instant::now();
            let outcome = send(site_request(
                &ctx.client,
                site,
                reqwest::Method::GET,
                ctx.integration_url(site, "content/status/"),
            ))
            .await;
            rec.record(Endpoint::Status, sent, &outcome);
            if let Err(f) = outcome {
                ctx.note_failure(&mut book, &f, rng);
            }
        }
        35..=64 => {
            let busy = rng.gen_bool(0.8);
            let i = if busy {
                fleet.probes + rng.gen_range(0..fleet.busy)
            } else {
                rng.gen_range(0..fleet.sites.len())
            }
            .min(fleet.sites.len() - 1);
            let site = &fleet.sites[i];
            let Ok(mut book) = site.book.try_lock() else {
                return;
            };
            const BUSY_SIZES: [usize; 10] = [1, 1, 1, 2, 2, 3, 5, 8, 20, 50];
            let changes = if busy {
                BUSY_SIZES[rng.gen_range(0..BUSY_SIZES.len())]
            } else {
                rng.gen_range(1..=3)
            };
            ctx.queue_changes(&mut book, changes, rng);
            if book.backoff_until.is_some_and(|u| u > Instant::now()) {
                return;
            }
            let _ = ctx.send_queue(site, &mut book, rng, rec).await;
        }
        65..=69 => {
            let site = &fleet.sites[rng.gen_range(0..fleet.sites.len())];
            let Ok(mut book) = site.book.try_lock() else {
                return;
            };
            if book.backoff_until.is_some_and(|u| u > Instant::now()) {
                return;
            }
            if !ctx.push_structure(site, Some(rec)).await {
                book.failures += 1;
                book.backoff_until = Some(Instant::now() + fleet.clock.scaled(60.0));
            }
        }
        _ => {
            if fleet.users.is_empty() {
                return;
            }
            let user = &fleet.users[rng.gen_range(0..fleet.users.len())];
            if user.sites.is_empty() {
                return;
            }
            let site = &fleet.sites[rng.gen_range(user.sites.clone())];
            match roll {
                70..=81 => {
                    let page = rng.gen_range(1..=3);
                    let url = ctx.integration_url(
                        site,
                        &format!("content/?type=post&page={page}&page_size=50"),
                    );
                    ctx.user_get(user, url, Endpoint::UserList, rec).await;
                }
                82..=91 => {
                    let seeded = site.seeded.load(Ordering::Relaxed).max(1);
                    let id = rng.gen_range(1..=seeded);
                    let url = ctx.integration_url(site, &format!("content/post/{id}/"));
                    ctx.user_get(user, url, Endpoint::UserPost, rec).await;
                }
                _ => {
                    let url = ctx.integration_url(site, "content-types/");
                    ctx.user_get(user, url, Endpoint::UserContentTypes, rec)
                        .await;
                }
            }
        }
    }
}

/// After the load: every site with queued changes sends them until the queue is empty (waiting out
/// its back-off), for at most `within`. Answers the sites still holding changes.
pub async fn drain(ctx: &Ctx, workers: usize, within: Duration) -> anyhow::Result<usize> {
    let deadline = Instant::now() + within;
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (ctx, next) = (ctx.clone(), next.clone());
            tokio::spawn(async move {
                let mut rng = StdRng::from_entropy();
                let now = Instant::now();
                let mut rec = Recorder {
                    tallies: Tallies::default(),
                    start: now,
                    measure_from: now,
                    until: deadline,
                };
                let mut left = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(site) = ctx.fleet.sites.get(i) else {
                        return left;
                    };
                    let mut book = site.book.lock().await;
                    while book.pending() > 0 && Instant::now() < deadline {
                        if let Some(until) = book.backoff_until {
                            if until > deadline {
                                break;
                            }
                            tokio::time::sleep_until(until.into()).await;
                        }
                        let _ = ctx.send_queue(site, &mut book, &mut rng, &mut rec).await;
                    }
                    if book.pending() > 0 {
                        // A batch of unknown outcome is still queued: its rows may or may not be in.
                        site.uncertain.store(true, Ordering::Relaxed);
                        left += 1;
                    }
                }
            })
        })
        .collect();
    let mut left = 0;
    for t in tasks {
        left += t.await?;
    }
    Ok(left)
}

/// Sends `items` new posts from `site` as one batch, measured alone (the growth operation).
pub async fn timed_batch(ctx: &Ctx, site: &Site, items: usize) -> Option<Duration> {
    let mut rng = StdRng::from_entropy();
    let mut book = site.book.lock().await;
    let now = Instant::now();
    let mut rec = Recorder {
        tallies: Tallies::default(),
        start: now,
        measure_from: now,
        until: now + Duration::from_secs(3600),
    };
    ctx.queue_changes_new(&mut book, items, &mut rng);
    let sent = Instant::now();
    let ok = ctx
        .send_queue(site, &mut book, &mut rng, &mut rec)
        .await
        .is_ok();
    (ok && rec.tallies.unexpected_items == 0).then(|| sent.elapsed())
}

impl Ctx {
    /// `n` new posts only (the growth batch: always inserts).
    fn queue_changes_new(&self, book: &mut Book, n: usize, rng: &mut StdRng) {
        for _ in 0..n {
            let id = book.next_id;
            book.next_id += 1;
            book.live_posts.push(id);
            book.queue.insert(
                id,
                Change {
                    delete: false,
                    modified: self.fleet.modified(),
                    checksum: rng.gen(),
                    body_len: body_len(rng),
                },
            );
        }
    }

    /// One GET as user 0 (the owner of the probe sites), timed.
    pub async fn timed_user_get(&self, site: &Site, tail: &str) -> Option<Duration> {
        let user = self.fleet.users.first()?;
        let sent = Instant::now();
        let ok = send(
            self.client
                .get(self.integration_url(site, tail))
                .header(AUTHORIZATION, &user.auth),
        )
        .await
        .is_ok();
        ok.then(|| sent.elapsed())
    }
}

/// What each integration must hold of the simulator's objects: (count, sum of checksums), per type.
pub async fn expected(fleet: &Fleet) -> HashMap<(i64, String), (u64, u64)> {
    let mut out = HashMap::new();
    for site in &fleet.sites {
        let book = site.book.lock().await;
        for ((kind, _), checksum) in &book.held {
            let e = out
                .entry((site.integration_id, kind.type_name().to_owned()))
                .or_insert((0u64, 0u64));
            e.0 += 1;
            e.1 += u64::from(*checksum);
        }
    }
    out
}
