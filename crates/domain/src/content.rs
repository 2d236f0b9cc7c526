//! Content as the plugin sends it (docs/sync-protocol.md, "Items" and "Sending a batch"): each item
//! is parsed on its own into a `Change`, or rejected with its field paths, so one hostile item
//! never fails the rest of its batch; and the staleness rule that makes every retry idempotent.

use std::fmt;

use serde_json::{Map, Value};

use crate::checksum::{post_checksum, term_checksum};
use crate::names::{TypeKind, TypeName};
use crate::validation::FieldErrors;

pub mod requests;
pub mod sync;
mod wire;

use serde::Deserialize;
use sync::{SyncOutcome, SyncStatus};
use wire::{Body, DataField, Items, RawData, RawItem};

/// At most this many items per batch, and this many bytes of body (413 above either).
pub const MAX_BATCH_ITEMS: usize = 500;
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// A post's `content` above this is sent truncated, flagged with `content_truncated`.
pub const MAX_CONTENT_BYTES: usize = 4 * 1024 * 1024;
/// WordPress's own column sizes: TEXT (64 KiB) titles and excerpts, varchar(200) slugs and term
/// names, varchar(20) statuses, varchar(250) author names.
pub const MAX_TEXT_BYTES: usize = 65_535;
pub const MAX_SLUG_CHARS: usize = 200;
pub const MAX_STATUS_CHARS: usize = 20;
pub const MAX_AUTHOR_CHARS: usize = 250;
pub const MAX_URL_BYTES: usize = 8_192;
/// Term descriptions are LONGTEXT in WordPress; a megabyte is far beyond any real one.
pub const MAX_DESCRIPTION_BYTES: usize = 1024 * 1024;
/// Term links of one post: taxonomies, and ids per taxonomy.
pub const MAX_TERM_TAXONOMIES: usize = 100;
pub const MAX_TERMS_PER_TAXONOMY: usize = 10_000;
/// Batch and run ids are the plugin's UUIDs; anything printable this short is accepted.
pub const MAX_ID_CHARS: usize = 100;

/// Posts (any post type) or terms (any taxonomy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Post,
    Term,
}

impl ItemKind {
    pub const ALL: [ItemKind; 2] = [ItemKind::Post, ItemKind::Term];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Post => "post",
            ItemKind::Term => "term",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "post" => Some(ItemKind::Post),
            "term" => Some(ItemKind::Term),
            _ => None,
        }
    }

    /// Which naming rule the item's `type` follows.
    pub fn type_kind(self) -> TypeKind {
        match self {
            ItemKind::Post => TypeKind::PostType,
            ItemKind::Term => TypeKind::Taxonomy,
        }
    }

    /// The items whose `type` is a `kind`: posts of a post type, terms of a taxonomy.
    pub fn of_type_kind(kind: TypeKind) -> Self {
        match kind {
            TypeKind::PostType => ItemKind::Post,
            TypeKind::Taxonomy => ItemKind::Term,
        }
    }

    /// `post:book`, `term:genre`: how totals and progress are keyed.
    pub fn key(self, type_name: &str) -> String {
        format!("{}:{type_name}", self.as_str())
    }
}

impl fmt::Display for ItemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// WordPress's `post_modified_gmt` as stored, `YYYY-MM-DD HH:MM:SS`. In this fixed format text
/// order is time order, so both databases compare it as text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WpTime(String);

impl WpTime {
    /// Accepts WordPress's zero date (`0000-00-00 00:00:00`) too: drafts carry it.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let b = raw.as_bytes();
        let digits = |range: std::ops::Range<usize>| -> Option<u32> {
            b[range].iter().try_fold(0u32, |n, c| {
                c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
            })
        };
        let well_formed = b.len() == 19
            && b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b' '
            && b[13] == b':'
            && b[16] == b':';
        let fields = well_formed
            .then(|| {
                Some([
                    digits(0..4)?,
                    digits(5..7)?,
                    digits(8..10)?,
                    digits(11..13)?,
                    digits(14..16)?,
                    digits(17..19)?,
                ])
            })
            .flatten();
        match fields {
            Some([_, month, day, hour, minute, second])
                if month <= 12 && day <= 31 && hour <= 23 && minute <= 59 && second <= 59 =>
            {
                Ok(Self(raw.to_owned()))
            }
            _ => Err("must be a GMT time as WordPress stores it: YYYY-MM-DD HH:MM:SS".into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WpTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// When the plugin read an item: the database's `UTC_TIMESTAMP(6)` in the statement that read it,
/// `YYYY-MM-DD HH:MM:SS.ffffff` (kept with six decimals, so text order is time order). It breaks
/// the tie between two versions of a post with the same one-second `modified_gmt`: the one read
/// later wins, whatever order they arrive in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReadAt(String);

impl ReadAt {
    /// Accepts 0 to 6 decimals and keeps six.
    pub fn parse(raw: &str) -> Result<Self, String> {
        const WHY: &str = "must be a GMT time with microseconds: YYYY-MM-DD HH:MM:SS.ffffff";
        let (seconds, fraction) = raw.split_once('.').unwrap_or((raw, ""));
        let fraction_ok = fraction.len() <= 6 && fraction.bytes().all(|b| b.is_ascii_digit());
        if !fraction_ok || (raw.contains('.') && fraction.is_empty()) {
            return Err(WHY.into());
        }
        let seconds = WpTime::parse(seconds).map_err(|_| WHY.to_owned())?;
        Ok(Self(format!("{}.{fraction:0<6}", seconds.as_str())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The staleness rule: a change of a post older than the copy the platform holds is ignored;
/// an equal one is applied again, so a re-delivery is harmless.
pub fn is_stale(held: &WpTime, incoming: &WpTime) -> bool {
    incoming < held
}

/// Which object an item is about: what acknowledgement, range markers and verification key on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemKey {
    pub kind: ItemKind,
    pub type_name: TypeName,
    pub wp_id: i64,
}

impl fmt::Display for ItemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.kind, self.type_name, self.wp_id)
    }
}

/// A post, page or custom-type item as the platform keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub post_type: TypeName,
    pub wp_id: i64,
    pub modified_gmt: WpTime,
    pub title: String,
    pub slug: String,
    pub status: String,
    pub content: String,
    pub content_truncated: bool,
    pub excerpt: String,
    pub author: String,
    pub date_gmt: Option<WpTime>,
    pub url: Option<String>,
    pub parent: i64,
    pub menu_order: i64,
    pub featured_image: Option<String>,
    /// Taxonomy → term ids: `{"genre": [3, 7]}`.
    pub terms: Value,
    /// `{"title", "description", "focus_keyword", "canonical", "robots", "source", "raw"}`, or
    /// null when the site runs no SEO plugin.
    pub seo: Value,
    pub meta: Value,
    /// The plugin's checksum of everything the platform keeps of this post (docs/sync-protocol.md,
    /// "Integrity"), when it sent one.
    pub sent_checksum: Option<u32>,
    pub read_at: Option<ReadAt>,
}

impl Post {
    /// What verification compares: the plugin's checksum, or for a plugin that sends none the
    /// checksum of id, modified time and status.
    pub fn checksum(&self) -> u32 {
        self.sent_checksum
            .unwrap_or_else(|| post_checksum(self.wp_id, self.modified_gmt.as_str(), &self.status))
    }
}

/// A term of a taxonomy as the platform keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub taxonomy: TypeName,
    pub wp_id: i64,
    pub name: String,
    pub slug: String,
    /// A WordPress term id; 0 for a root.
    pub parent: i64,
    pub count: i64,
    pub description: String,
    /// As a post's.
    pub sent_checksum: Option<u32>,
    pub read_at: Option<ReadAt>,
}

impl Term {
    /// As [`Post::checksum`]: the plugin's, or id, parent and slug's.
    pub fn checksum(&self) -> u32 {
        self.sent_checksum
            .unwrap_or_else(|| term_checksum(self.wp_id, self.parent, &self.slug))
    }
}

/// One valid item: what to do to which object.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    UpsertPost(Box<Post>),
    /// Without `modified_gmt` (the post is gone when the plugin builds the batch) it always
    /// applies; with it, the staleness rule decides.
    DeletePost {
        post_type: TypeName,
        wp_id: i64,
        modified_gmt: Option<WpTime>,
    },
    UpsertTerm(Term),
    DeleteTerm {
        taxonomy: TypeName,
        wp_id: i64,
    },
}

impl Change {
    pub fn key(&self) -> ItemKey {
        let (kind, type_name, wp_id) = match self {
            Change::UpsertPost(p) => (ItemKind::Post, &p.post_type, p.wp_id),
            Change::DeletePost {
                post_type, wp_id, ..
            } => (ItemKind::Post, post_type, *wp_id),
            Change::UpsertTerm(t) => (ItemKind::Term, &t.taxonomy, t.wp_id),
            Change::DeleteTerm { taxonomy, wp_id } => (ItemKind::Term, taxonomy, *wp_id),
        };
        ItemKey {
            kind,
            type_name: type_name.clone(),
            wp_id,
        }
    }
}

/// What became of one item of a batch, as the answer lists it by index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    Applied,
    /// Older than the copy the platform holds: acknowledged, not applied.
    Stale,
    /// Invalid; the reason names the fields (`data.title: must be a string`).
    Rejected(String),
}

impl ItemOutcome {
    pub fn status(&self) -> &'static str {
        match self {
            ItemOutcome::Applied => "applied",
            ItemOutcome::Stale => "stale",
            ItemOutcome::Rejected(_) => "rejected",
        }
    }
}

/// One item of a batch: the object it names when that much could be read (so a range marker
/// does not delete an object whose new version was rejected), and the change or why not.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedItem {
    pub key: Option<ItemKey>,
    pub change: Result<Change, FieldErrors>,
}

/// A batch's range marker: it holds every object of `type` with an id in `[from_id, to_id]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeMarker {
    pub run_id: Option<String>,
    pub kind: ItemKind,
    pub type_name: TypeName,
    pub from_id: i64,
    pub to_id: i64,
}

impl RangeMarker {
    pub fn key(&self) -> String {
        self.kind.key(self.type_name.as_str())
    }
}

/// A batch the whole of which is refused (the items are never looked at).
#[derive(Debug, Clone, PartialEq)]
pub enum BatchError {
    TooManyItems,
    Invalid(FieldErrors),
}

/// A parsed `content/batch/` body.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub batch_id: Option<String>,
    pub items: Vec<ParsedItem>,
    pub range: Option<RangeMarker>,
}

impl Batch {
    /// Checks the envelope (`items`, `batch_id`, `full_sync`) as a whole, then each item on its own.
    /// The API reads a batch from its bytes (`from_json`); tests and the stores' conformance suite
    /// (other crates, so this cannot be `cfg(test)`) build theirs from a value.
    pub fn parse(body: &Value) -> Result<Self, BatchError> {
        match Body::deserialize(body) {
            Ok(body) => Self::from_body(body),
            // Reading a parsed value into the item fields takes any value: never reached.
            Err(e) => Err(BatchError::Invalid(FieldErrors::single("", e.to_string()))),
        }
    }

    /// `parse` in one pass from the body's bytes (`wire`): the outer error is the JSON's own
    /// (syntax, an early end), the inner one the batch's as `parse` answers it.
    pub fn from_json(body: &[u8]) -> Result<Result<Self, BatchError>, serde_json::Error> {
        serde_json::from_slice::<Body>(body).map(Self::from_body)
    }

    fn from_body(Body(body): Body) -> Result<Self, BatchError> {
        let body = body?;
        let mut errors = FieldErrors::new();
        let items = match body.items {
            Items::TooMany => return Err(BatchError::TooManyItems),
            Items::List(items) => items,
            Items::Absent | Items::Null => {
                errors.add("items", "is required");
                Vec::new()
            }
            Items::Other => {
                errors.add("items", "must be an array of items");
                Vec::new()
            }
        };
        let batch_id = optional_id(body.batch_id.as_ref(), "batch_id", &mut errors);
        let range = match &body.full_sync {
            None | Some(Value::Null) => None,
            Some(marker) => parse_marker(marker, &mut errors),
        };
        if !errors.is_empty() {
            return Err(BatchError::Invalid(errors));
        }
        Ok(Batch {
            batch_id,
            items,
            range,
        })
    }

    /// The ids of `kind`/`type` this batch names, valid or not: a range marker keeps them.
    pub fn present_ids(&self, kind: ItemKind, type_name: &TypeName) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .items
            .iter()
            .filter_map(|i| i.key.as_ref())
            .filter(|k| k.kind == kind && &k.type_name == type_name)
            .map(|k| k.wp_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// What the batch records once its items have these outcomes: its last rejection, named by
    /// the item's object (or its index when that could not be read), makes it `partial`.
    pub fn sync_outcome(&self, outcomes: &[ItemOutcome]) -> SyncOutcome {
        let last_rejection = self
            .items
            .iter()
            .zip(outcomes)
            .enumerate()
            .filter_map(|(index, (item, outcome))| match outcome {
                ItemOutcome::Rejected(why) => Some((index, item, why)),
                _ => None,
            })
            .next_back()
            .map(|(index, item, why)| {
                let which = item
                    .key
                    .as_ref()
                    .map_or_else(|| format!("item {index}"), |k| k.to_string());
                format!("Rejected {which}: {why}")
            });
        match last_rejection {
            Some(error) => SyncOutcome {
                status: SyncStatus::Partial,
                error: Some(error),
            },
            None => SyncOutcome {
                status: SyncStatus::Success,
                error: None,
            },
        }
    }

    /// How many distinct objects of the range marker's type and range this batch leaves held
    /// (upserts applied or stale): what a marker continuing the walk adds to the run's progress.
    pub fn held_in_range(&self, outcomes: &[ItemOutcome]) -> u64 {
        let Some(m) = &self.range else { return 0 };
        let mut ids: Vec<i64> = self
            .items
            .iter()
            .zip(outcomes)
            .filter_map(|(item, outcome)| match (&item.change, outcome) {
                (Ok(Change::UpsertPost(p)), ItemOutcome::Applied | ItemOutcome::Stale)
                    if m.kind == ItemKind::Post && p.post_type == m.type_name =>
                {
                    Some(p.wp_id)
                }
                (Ok(Change::UpsertTerm(t)), ItemOutcome::Applied | ItemOutcome::Stale)
                    if m.kind == ItemKind::Term && t.taxonomy == m.type_name =>
                {
                    Some(t.wp_id)
                }
                _ => None,
            })
            .filter(|id| (m.from_id..=m.to_id).contains(id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len() as u64
    }
}

fn optional_id(value: Option<&Value>, path: &str, errors: &mut FieldErrors) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s))
            if !s.is_empty()
                && s.chars().count() <= MAX_ID_CHARS
                && !s.chars().any(char::is_control) =>
        {
            Some(s.clone())
        }
        Some(_) => {
            errors.add(
                path,
                format!("must be a string of 1 to {MAX_ID_CHARS} printable characters"),
            );
            None
        }
    }
}

fn parse_marker(value: &Value, errors: &mut FieldErrors) -> Option<RangeMarker> {
    let Some(obj) = value.as_object() else {
        errors.add(
            "full_sync",
            "must be an object with run_id, kind, type, from_id and to_id",
        );
        return None;
    };
    let before = errors.as_map().len();
    let run_id = optional_id(obj.get("run_id"), "full_sync.run_id", errors);
    let kind = match obj.get("kind") {
        // The kind may be left out for posts, the common case.
        None | Some(Value::Null) => Some(ItemKind::Post),
        Some(Value::String(k)) => ItemKind::parse(k).or_else(|| {
            errors.add("full_sync.kind", "must be \"post\" or \"term\"");
            None
        }),
        Some(_) => {
            errors.add("full_sync.kind", "must be \"post\" or \"term\"");
            None
        }
    };
    let type_name = kind.and_then(|k| type_name(obj.get("type"), k, "full_sync.type", errors));
    let from_id = whole(obj.get("from_id"), "full_sync.from_id", 0, errors);
    let to_id = whole(obj.get("to_id"), "full_sync.to_id", 0, errors);
    if let (Some(from), Some(to)) = (from_id, to_id) {
        if to < from {
            errors.add("full_sync.to_id", "must not be below from_id");
        }
    }
    if errors.as_map().len() != before {
        return None;
    }
    Some(RangeMarker {
        run_id,
        kind: kind?,
        type_name: type_name?,
        from_id: from_id?,
        to_id: to_id?,
    })
}

impl ParsedItem {
    fn not_an_object() -> Self {
        ParsedItem {
            key: None,
            change: Err(FieldErrors::single("", "must be an object")),
        }
    }
}

/// Parses one item; every problem is reported with its path inside the item.
pub fn parse_item(value: &Value) -> ParsedItem {
    // Reading a parsed value into the item fields takes any value: the error is never reached.
    ParsedItem::deserialize(value).unwrap_or_else(|e| ParsedItem {
        key: None,
        change: Err(FieldErrors::single("", e.to_string())),
    })
}

/// The rules of one item over its fields as sent (`wire`).
fn parse_raw_item(raw: RawItem) -> ParsedItem {
    let mut errors = FieldErrors::new();
    let kind = match &raw.kind {
        Some(Value::String(k)) => ItemKind::parse(k),
        _ => None,
    };
    if kind.is_none() {
        errors.add("kind", "must be \"post\" or \"term\"");
    }
    let type_name = kind.and_then(|k| type_name(raw.type_name.as_ref(), k, "type", &mut errors));
    let wp_id = whole(raw.wp_id.as_ref(), "wp_id", 1, &mut errors);
    let key = match (kind, &type_name, wp_id) {
        (Some(kind), Some(type_name), Some(wp_id)) => Some(ItemKey {
            kind,
            type_name: type_name.clone(),
            wp_id,
        }),
        _ => None,
    };
    let op = match &raw.op {
        Some(Value::String(op)) if op == "upsert" || op == "delete" => Some(op.as_str()),
        _ => {
            errors.add("op", "must be \"upsert\" or \"delete\"");
            None
        }
    };
    let change = match (&key, op) {
        (Some(key), Some(op)) => {
            let op = if op == "delete" {
                Op::Delete
            } else {
                Op::Upsert
            };
            parse_change(raw, key, op, &mut errors)
        }
        _ => None,
    };
    let change = match change {
        Some(change) if errors.is_empty() => Ok(change),
        _ => Err(errors),
    };
    ParsedItem { key, change }
}

#[derive(Clone, Copy)]
enum Op {
    Upsert,
    Delete,
}

fn parse_change(raw: RawItem, key: &ItemKey, op: Op, errors: &mut FieldErrors) -> Option<Change> {
    let modified_gmt = match &raw.modified_gmt {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => WpTime::parse(s)
            .map_err(|why| errors.add("modified_gmt", why))
            .ok(),
        Some(_) => {
            errors.add("modified_gmt", "must be a string");
            None
        }
    };
    let stamp = |errors: &mut FieldErrors| Stamp {
        checksum: match &raw.checksum {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_u64().is_some_and(|v| u32::try_from(v).is_ok()) => {
                n.as_u64().and_then(|v| u32::try_from(v).ok())
            }
            Some(_) => {
                errors.add(
                    "checksum",
                    "must be a CRC-32: a whole number from 0 to 4294967295",
                );
                None
            }
        },
        read_at: match &raw.read_at {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => ReadAt::parse(s)
                .map_err(|why| errors.add("read_at", why))
                .ok(),
            Some(_) => {
                errors.add("read_at", "must be a string");
                None
            }
        },
    };
    match (key.kind, op) {
        (ItemKind::Post, Op::Delete) => Some(Change::DeletePost {
            post_type: key.type_name.clone(),
            wp_id: key.wp_id,
            modified_gmt,
        }),
        (ItemKind::Term, Op::Delete) => Some(Change::DeleteTerm {
            taxonomy: key.type_name.clone(),
            wp_id: key.wp_id,
        }),
        (ItemKind::Post, _) => {
            if modified_gmt.is_none() && !errors.as_map().contains_key("modified_gmt") {
                errors.add("modified_gmt", "is required");
            }
            let stamp = stamp(errors);
            let data = data_object(raw.data, errors)?;
            let post = parse_post(*data, key, modified_gmt, stamp, errors);
            post.map(|p| Change::UpsertPost(Box::new(p)))
        }
        (ItemKind::Term, _) => {
            let stamp = stamp(errors);
            let data = data_object(raw.data, errors)?;
            parse_term(*data, key, stamp, errors).map(Change::UpsertTerm)
        }
    }
}

/// What an upsert item carries beside its data: the plugin's checksum and when it read the object.
struct Stamp {
    checksum: Option<u32>,
    read_at: Option<ReadAt>,
}

fn data_object(data: DataField, errors: &mut FieldErrors) -> Option<Box<RawData>> {
    match data {
        DataField::Object(data) => Some(data),
        DataField::Absent | DataField::Null => {
            errors.add("data", "is required for an upsert");
            None
        }
        DataField::Other => {
            errors.add("data", "must be an object");
            None
        }
    }
}

fn parse_post(
    data: RawData,
    key: &ItemKey,
    modified_gmt: Option<WpTime>,
    stamp: Stamp,
    errors: &mut FieldErrors,
) -> Option<Post> {
    let before = errors.as_map().len();
    let title = take_text(
        data.title,
        "data.title",
        true,
        Limit::Bytes(MAX_TEXT_BYTES),
        errors,
    );
    let slug = take_text(
        data.slug,
        "data.slug",
        false,
        Limit::Chars(MAX_SLUG_CHARS),
        errors,
    );
    let content = take_text(
        data.content,
        "data.content",
        false,
        Limit::Bytes(MAX_CONTENT_BYTES),
        errors,
    );
    let excerpt = take_text(
        data.excerpt,
        "data.excerpt",
        false,
        Limit::Bytes(MAX_TEXT_BYTES),
        errors,
    );
    let author = take_text(
        data.author,
        "data.author",
        false,
        Limit::Chars(MAX_AUTHOR_CHARS),
        errors,
    );
    let url = take_optional_text(data.url, "data.url", MAX_URL_BYTES, errors);
    let featured_image = take_optional_text(
        data.featured_image,
        "data.featured_image",
        MAX_URL_BYTES,
        errors,
    );
    let status = match data.status {
        Some(Value::String(s)) if is_status(&s) => Some(s),
        None | Some(Value::Null) => {
            errors.add("data.status", "is required");
            None
        }
        Some(_) => {
            errors.add(
                "data.status",
                format!(
                    "must be a post status: 1 to {MAX_STATUS_CHARS} lowercase letters, digits, '_' or '-'"
                ),
            );
            None
        }
    };
    let date_gmt = match &data.date_gmt {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => WpTime::parse(s)
            .map_err(|why| errors.add("data.date_gmt", why))
            .ok(),
        Some(_) => {
            errors.add("data.date_gmt", "must be a string or null");
            None
        }
    };
    let parent = optional_whole(data.parent.as_ref(), "data.parent", 0, errors);
    let menu_order = match &data.menu_order {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|v| i32::try_from(v).is_ok()) => {
            n.as_i64().unwrap_or(0)
        }
        Some(_) => {
            errors.add("data.menu_order", "must be a whole number");
            0
        }
    };
    let content_truncated = match &data.content_truncated {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.add("data.content_truncated", "must be true or false");
            false
        }
    };
    let terms = parse_terms(data.terms, errors);
    let seo = parse_seo(data.seo, errors);
    let meta = match data.meta {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(meta @ Value::Object(_)) => {
            no_nul(&meta, "data.meta", errors);
            meta
        }
        Some(_) => {
            errors.add("data.meta", "must be an object");
            Value::Null
        }
    };
    if errors.as_map().len() != before {
        return None;
    }
    Some(Post {
        post_type: key.type_name.clone(),
        wp_id: key.wp_id,
        modified_gmt: modified_gmt?,
        title: title?,
        slug: slug?,
        status: status?,
        content: content?,
        content_truncated,
        excerpt: excerpt?,
        author: author?,
        date_gmt,
        url,
        parent,
        menu_order,
        featured_image,
        terms,
        seo,
        meta,
        sent_checksum: stamp.checksum,
        read_at: stamp.read_at,
    })
}

fn parse_term(
    data: RawData,
    key: &ItemKey,
    stamp: Stamp,
    errors: &mut FieldErrors,
) -> Option<Term> {
    let before = errors.as_map().len();
    let name = take_text(
        data.name,
        "data.name",
        true,
        Limit::Chars(MAX_SLUG_CHARS),
        errors,
    );
    let slug = take_text(
        data.slug,
        "data.slug",
        true,
        Limit::Chars(MAX_SLUG_CHARS),
        errors,
    );
    let description = take_text(
        data.description,
        "data.description",
        false,
        Limit::Bytes(MAX_DESCRIPTION_BYTES),
        errors,
    );
    let parent = optional_whole(data.parent.as_ref(), "data.parent", 0, errors);
    let count = optional_whole(data.count.as_ref(), "data.count", 0, errors);
    if errors.as_map().len() != before {
        return None;
    }
    Some(Term {
        taxonomy: key.type_name.clone(),
        wp_id: key.wp_id,
        name: name?,
        slug: slug?,
        parent,
        count,
        description: description?,
        sent_checksum: stamp.checksum,
        read_at: stamp.read_at,
    })
}

pub(crate) fn is_status(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_STATUS_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// `{"genre": [3, 7]}`: taxonomy names by WordPress's rules, each with positive term ids.
fn parse_terms(value: Option<Value>, errors: &mut FieldErrors) -> Value {
    let map = match value {
        None | Some(Value::Null) => return Value::Object(Map::new()),
        Some(Value::Array(a)) if a.is_empty() => return Value::Object(Map::new()),
        Some(Value::Object(map)) if map.len() <= MAX_TERM_TAXONOMIES => map,
        Some(Value::Object(_)) => {
            errors.add(
                "data.terms",
                format!("must name at most {MAX_TERM_TAXONOMIES} taxonomies"),
            );
            return Value::Null;
        }
        Some(_) => {
            errors.add("data.terms", "must be an object of taxonomy → term ids");
            return Value::Null;
        }
    };
    let mut out = Map::new();
    for (taxonomy, ids) in map {
        if let Err(why) = TypeName::parse(TypeKind::Taxonomy, &taxonomy) {
            errors.add(format!("data.terms.{taxonomy}"), why);
            continue;
        }
        match ids {
            Value::Array(ids)
                if ids.len() <= MAX_TERMS_PER_TAXONOMY
                    && ids.iter().all(|id| id.as_i64().is_some_and(|v| v > 0)) =>
            {
                out.insert(taxonomy, Value::Array(ids));
            }
            _ => errors.add(
                format!("data.terms.{taxonomy}"),
                format!("must be a list of at most {MAX_TERMS_PER_TAXONOMY} positive term ids"),
            ),
        }
    }
    Value::Object(out)
}

/// The SEO fields the plugin normalised from Yoast, Rank Math, SEOPress or AIOSEO; only their
/// shapes are checked here. Missing fields become null, so every item answers the same keys.
fn parse_seo(value: Option<Value>, errors: &mut FieldErrors) -> Value {
    let mut obj = match value {
        None | Some(Value::Null) => return Value::Null,
        Some(Value::Object(obj)) => obj,
        Some(_) => {
            errors.add("data.seo", "must be an object or null");
            return Value::Null;
        }
    };
    let mut out = Map::new();
    for (field, path) in [
        ("title", "data.seo.title"),
        ("description", "data.seo.description"),
        ("focus_keyword", "data.seo.focus_keyword"),
        ("canonical", "data.seo.canonical"),
        ("robots", "data.seo.robots"),
    ] {
        let v = take_optional_text(obj.remove(field), path, MAX_TEXT_BYTES, errors);
        out.insert(field.to_owned(), v.map_or(Value::Null, Value::String));
    }
    let source = match obj.remove("source") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) if TypeName::parse(TypeKind::Taxonomy, &s).is_ok() => {
            Value::String(s)
        }
        Some(_) => {
            errors.add(
                "data.seo.source",
                "must name the SEO plugin (yoast, rankmath, seopress, aioseo) or be null",
            );
            Value::Null
        }
    };
    out.insert("source".into(), source);
    let raw = match obj.remove("raw") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(raw @ Value::Object(_)) => {
            no_nul(&raw, "data.seo.raw", errors);
            raw
        }
        Some(_) => {
            errors.add("data.seo.raw", "must be an object of meta key → value");
            Value::Null
        }
    };
    out.insert("raw".into(), raw);
    Value::Object(out)
}

#[derive(Clone, Copy)]
pub(crate) enum Limit {
    Bytes(usize),
    Chars(usize),
}

/// A string field; absent or null is "" unless required. Strings must not hold NUL, which
/// neither database keeps in text.
pub(crate) fn text_field(
    value: Option<&Value>,
    path: &str,
    required: bool,
    limit: Limit,
    errors: &mut FieldErrors,
) -> Option<String> {
    take_text(value.cloned(), path, required, limit, errors)
}

/// `text_field` over a value it may keep: a valid string moves into the answer, uncopied.
fn take_text(
    value: Option<Value>,
    path: &str,
    required: bool,
    limit: Limit,
    errors: &mut FieldErrors,
) -> Option<String> {
    match value {
        None | Some(Value::Null) if required => {
            errors.add(path, "is required");
            None
        }
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(s)) => {
            let fits = match limit {
                Limit::Bytes(max) => s.len() <= max,
                Limit::Chars(max) => s.len() <= max || s.chars().count() <= max,
            };
            if !fits {
                let why = match limit {
                    Limit::Bytes(max) if max == MAX_CONTENT_BYTES => format!(
                        "must be at most {max} bytes of UTF-8 (send it truncated with \"content_truncated\": true)"
                    ),
                    Limit::Bytes(max) => format!("must be at most {max} bytes of UTF-8"),
                    Limit::Chars(max) => format!("must be at most {max} characters"),
                };
                errors.add(path, why);
                None
            } else if s.contains('\0') {
                errors.add(path, "must not contain NUL characters");
                None
            } else {
                Some(s)
            }
        }
        Some(_) => {
            errors.add(path, "must be a string");
            None
        }
    }
}

fn take_optional_text(
    value: Option<Value>,
    path: &str,
    max_bytes: usize,
    errors: &mut FieldErrors,
) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(value @ Value::String(_)) => {
            take_text(Some(value), path, false, Limit::Bytes(max_bytes), errors)
        }
        Some(_) => {
            errors.add(path, "must be a string or null");
            None
        }
    }
}

pub(crate) fn type_name(
    value: Option<&Value>,
    kind: ItemKind,
    path: &str,
    errors: &mut FieldErrors,
) -> Option<TypeName> {
    match value {
        Some(Value::String(s)) => TypeName::parse(kind.type_kind(), s)
            .map_err(|why| errors.add(path, why))
            .ok(),
        None | Some(Value::Null) => {
            errors.add(path, "is required");
            None
        }
        Some(_) => {
            errors.add(path, "must be a string");
            None
        }
    }
}

/// A whole number `min..=i64::MAX`.
pub(crate) fn whole(
    value: Option<&Value>,
    path: &str,
    min: i64,
    errors: &mut FieldErrors,
) -> Option<i64> {
    match value {
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if v >= min => Some(v),
            _ => {
                let why = if min > 0 {
                    "must be a positive whole number"
                } else {
                    "must be a whole number, not negative"
                };
                errors.add(path, why);
                None
            }
        },
        None | Some(Value::Null) => {
            errors.add(path, "is required");
            None
        }
        Some(_) => {
            errors.add(path, "must be a number");
            None
        }
    }
}

fn optional_whole(value: Option<&Value>, path: &str, min: i64, errors: &mut FieldErrors) -> i64 {
    match value {
        None | Some(Value::Null) => min,
        Some(_) => whole(value, path, min, errors).unwrap_or(min),
    }
}

/// Free-form JSON (meta, raw SEO values) must not hold NUL anywhere, keys included.
pub(crate) fn no_nul(value: &Value, path: &str, errors: &mut FieldErrors) {
    let found = match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => {
            for v in a {
                no_nul(v, path, errors);
            }
            false
        }
        Value::Object(o) => {
            for (k, v) in o {
                if k.contains('\0') {
                    errors.add(path, "must not contain NUL characters");
                    return;
                }
                no_nul(v, path, errors);
            }
            false
        }
        _ => false,
    };
    if found && !errors.as_map().contains_key(path) {
        errors.add(path, "must not contain NUL characters");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn post_item() -> Value {
        json!({"op": "upsert", "kind": "post", "type": "book", "wp_id": 12,
               "modified_gmt": "2025-11-22 10:00:00",
               "data": {"title": "Dune", "slug": "dune", "status": "publish", "content": "<p>Spice</p>",
                        "excerpt": "", "author": "Ann", "date_gmt": "2025-11-20 09:00:00",
                        "url": "https://blog.example/dune/", "parent": 0, "menu_order": 0,
                        "featured_image": null, "terms": {"genre": [3, 7]},
                        "seo": {"title": "%title% %sep% %sitename%", "description": "Desert", "source": "yoast",
                                "raw": {"_yoast_wpseo_title": "%title% %sep% %sitename%"}},
                        "meta": {"isbn": "978"}, "unknown_field": true}})
    }

    fn reason(item: Value) -> String {
        parse_item(&item).change.unwrap_err().to_string()
    }

    #[test]
    fn posts_follow_post_types_and_terms_taxonomies_both_ways() {
        assert_eq!(ItemKind::Post.type_kind(), TypeKind::PostType);
        assert_eq!(ItemKind::Term.type_kind(), TypeKind::Taxonomy);
        for kind in ItemKind::ALL {
            assert_eq!(ItemKind::of_type_kind(kind.type_kind()), kind);
        }
        for kind in TypeKind::ALL {
            assert_eq!(ItemKind::of_type_kind(kind).type_kind(), kind);
        }
    }

    #[test]
    fn a_post_upsert_parses_with_seo_fields_normalised() {
        let parsed = parse_item(&post_item());
        let Ok(Change::UpsertPost(post)) = parsed.change else {
            panic!("{parsed:?}")
        };
        assert_eq!(parsed.key.unwrap().to_string(), "post book 12");
        assert_eq!(
            (post.title.as_str(), post.status.as_str(), post.parent),
            ("Dune", "publish", 0)
        );
        assert_eq!(post.terms, json!({"genre": [3, 7]}));
        assert_eq!(
            post.seo,
            json!({"title": "%title% %sep% %sitename%", "description": "Desert", "focus_keyword": null,
                   "canonical": null, "robots": null, "source": "yoast",
                   "raw": {"_yoast_wpseo_title": "%title% %sep% %sitename%"}})
        );
        assert_eq!(
            post.checksum(),
            crate::checksum::crc32(b"12#2025-11-22 10:00:00#publish")
        );
    }

    #[test]
    fn the_plugins_checksum_and_read_time_are_kept_and_the_checksum_preferred() {
        let mut item = post_item();
        item["checksum"] = json!(4_294_967_295u64);
        item["read_at"] = json!("2025-11-22 10:00:00.25");
        let Ok(Change::UpsertPost(post)) = parse_item(&item).change else {
            panic!()
        };
        assert_eq!(post.checksum(), u32::MAX);
        assert_eq!(
            post.read_at.as_ref().map(ReadAt::as_str),
            Some("2025-11-22 10:00:00.250000")
        );
        let mut term = json!({"op": "upsert", "kind": "term", "type": "genre", "wp_id": 3,
                              "checksum": 7, "read_at": "2025-11-22 10:00:00",
                              "data": {"name": "Sci-fi", "slug": "sci-fi"}});
        let Ok(Change::UpsertTerm(t)) = parse_item(&term).change else {
            panic!()
        };
        assert_eq!(
            (t.checksum(), t.read_at.unwrap().as_str()),
            (7, "2025-11-22 10:00:00.000000")
        );
        for (checksum, read_at) in [
            (json!(-1), json!(null)),
            (json!(4_294_967_296u64), json!(null)),
            (json!("12"), json!(null)),
            (json!(1.5), json!(null)),
            (json!(null), json!("2025-11-22 10:00:00.1234567")),
            (json!(null), json!("2025-11-22 10:00:00.")),
            (json!(null), json!("2025-11-22 10:00:00.12a")),
            (json!(null), json!("2025-13-22 10:00:00.1")),
            (json!(null), json!(1_732_269_600)),
            (json!(null), json!("<script>")),
        ] {
            term["checksum"] = checksum.clone();
            term["read_at"] = read_at.clone();
            let why = reason(term.clone());
            assert!(
                why.starts_with("checksum") || why.starts_with("read_at"),
                "{checksum} {read_at}: {why}"
            );
        }
    }

    #[test]
    fn read_times_order_as_text_whatever_decimals_were_sent() {
        let t = |s: &str| ReadAt::parse(s).unwrap();
        assert!(t("2025-11-22 10:00:00") < t("2025-11-22 10:00:00.000001"));
        assert!(t("2025-11-22 10:00:00.05") < t("2025-11-22 10:00:00.1"));
        assert!(t("2025-11-22 10:00:00.999999") < t("2025-11-22 10:00:01"));
    }

    #[test]
    fn each_problem_is_reported_with_its_field_path() {
        let mut item = post_item();
        item["data"]["title"] = json!(42);
        item["data"]["terms"] = json!({"genre": [-1]});
        item["data"]["seo"]["robots"] = json!(["noindex"]);
        assert_eq!(
            reason(item),
            "data.seo.robots: must be a string or null; data.terms.genre: must be a list of at most 10000 positive term ids; data.title: must be a string"
        );
        let mut item = post_item();
        item["wp_id"] = json!(-5);
        item["type"] = json!("Bad Type");
        let parsed = parse_item(&item);
        assert_eq!(parsed.key, None);
        assert_eq!(
            parsed.change.unwrap_err().to_string(),
            "type: may hold only lowercase letters, digits, '_' and '-'; wp_id: must be a positive whole number"
        );
        assert_eq!(reason(json!("nope")), ": must be an object");
        assert_eq!(
            reason(json!({"op": "merge", "kind": "page", "wp_id": 1})),
            "kind: must be \"post\" or \"term\"; op: must be \"upsert\" or \"delete\""
        );
    }

    #[test]
    fn a_rejected_item_still_names_its_object_when_it_can() {
        let mut item = post_item();
        item["data"]["status"] = json!("<script>");
        let parsed = parse_item(&item);
        assert!(parsed.change.is_err());
        assert_eq!(parsed.key.unwrap().wp_id, 12);
    }

    #[test]
    fn bodies_over_the_limit_are_rejected_unless_sent_truncated() {
        let mut item = post_item();
        item["data"]["content"] = json!("x".repeat(MAX_CONTENT_BYTES + 1));
        assert!(reason(item.clone()).starts_with("data.content: must be at most 4194304 bytes"));
        item["data"]["content"] = json!("x".repeat(MAX_CONTENT_BYTES));
        item["data"]["content_truncated"] = json!(true);
        let Ok(Change::UpsertPost(post)) = parse_item(&item).change else {
            panic!()
        };
        assert!(post.content_truncated);
    }

    #[test]
    fn nul_characters_are_refused_anywhere() {
        let mut item = post_item();
        item["data"]["title"] = json!("a\u{0}b");
        assert_eq!(reason(item), "data.title: must not contain NUL characters");
        let mut item = post_item();
        item["data"]["meta"] = json!({"k": ["ok", {"deep": "x\u{0}"}]});
        assert_eq!(reason(item), "data.meta: must not contain NUL characters");
    }

    #[test]
    fn markup_and_sql_are_just_text() {
        let mut item = post_item();
        item["data"]["title"] = json!("<script>alert(1)</script>'; DROP TABLE content; --");
        let Ok(Change::UpsertPost(post)) = parse_item(&item).change else {
            panic!()
        };
        assert_eq!(
            post.title,
            "<script>alert(1)</script>'; DROP TABLE content; --"
        );
    }

    #[test]
    fn deletes_need_no_data_and_terms_no_time() {
        let del = parse_item(&json!({"op": "delete", "kind": "post", "type": "book", "wp_id": 13}));
        assert_eq!(
            del.change.unwrap(),
            Change::DeletePost {
                post_type: TypeName::parse(TypeKind::PostType, "book").unwrap(),
                wp_id: 13,
                modified_gmt: None
            }
        );
        let term = parse_item(
            &json!({"op": "upsert", "kind": "term", "type": "genre", "wp_id": 3,
            "data": {"name": "Sci-Fi", "slug": "sci-fi", "parent": 0, "count": 4, "description": ""}}),
        );
        let Ok(Change::UpsertTerm(term)) = term.change else {
            panic!()
        };
        assert_eq!(term.checksum(), crate::checksum::crc32(b"3#0#sci-fi"));
        assert_eq!(
            reason(
                json!({"op": "upsert", "kind": "post", "type": "book", "wp_id": 1, "data": {"title": "t", "status": "draft"}})
            ),
            "modified_gmt: is required"
        );
    }

    #[test]
    fn modified_times_follow_wordpress_format_and_order() {
        assert!(WpTime::parse("2025-11-22 10:00:00").is_ok());
        assert!(WpTime::parse("0000-00-00 00:00:00").is_ok());
        for bad in [
            "2025-11-22T10:00:00Z",
            "2025-13-01 00:00:00",
            "2025-11-22 24:00:00",
            "2025-1-22 10:00:00",
            "",
        ] {
            assert!(WpTime::parse(bad).is_err(), "{bad}");
        }
        let t = |s| WpTime::parse(s).unwrap();
        assert!(is_stale(
            &t("2025-11-22 10:00:01"),
            &t("2025-11-22 10:00:00")
        ));
        assert!(!is_stale(
            &t("2025-11-22 10:00:00"),
            &t("2025-11-22 10:00:00")
        ));
        assert!(!is_stale(
            &t("2025-11-22 10:00:00"),
            &t("2026-01-01 00:00:00")
        ));
    }

    #[test]
    fn a_batch_is_checked_as_a_whole_then_item_by_item() {
        let items: Vec<Value> = (0..=MAX_BATCH_ITEMS).map(|_| post_item()).collect();
        assert_eq!(
            Batch::parse(&json!({"items": items})),
            Err(BatchError::TooManyItems)
        );
        let Err(BatchError::Invalid(e)) = Batch::parse(
            &json!({"items": {}, "full_sync": {"type": "book", "from_id": 9, "to_id": 1}}),
        ) else {
            panic!()
        };
        assert_eq!(
            e.to_string(),
            "full_sync.to_id: must not be below from_id; items: must be an array of items"
        );
        let batch = Batch::parse(&json!({"batch_id": "b-1", "items": [post_item(), {"kind": "post"},
            {"op": "upsert", "kind": "post", "type": "book", "wp_id": 20, "data": 1}],
            "full_sync": {"run_id": "r", "kind": "post", "type": "book", "from_id": 1, "to_id": 500}}))
        .unwrap();
        assert_eq!(batch.items.len(), 3);
        assert!(batch.items[0].change.is_ok() && batch.items[1].change.is_err());
        let book = TypeName::parse(TypeKind::PostType, "book").unwrap();
        assert_eq!(batch.present_ids(ItemKind::Post, &book), vec![12, 20]);
        let outcomes = [
            ItemOutcome::Stale,
            ItemOutcome::Rejected("x".into()),
            ItemOutcome::Rejected("y".into()),
        ];
        assert_eq!(batch.held_in_range(&outcomes), 1);
        assert_eq!(batch.range.unwrap().key(), "post:book");
    }

    #[test]
    fn the_last_rejection_is_recorded_and_a_clean_batch_keeps_the_last_error() {
        let post = |id: i64| json!({"op": "delete", "kind": "post", "type": "post", "wp_id": id});
        let batch = |items: Value| Batch::parse(&json!({"items": items})).unwrap();
        assert_eq!(
            batch(json!([post(1)])).sync_outcome(&[ItemOutcome::Applied]),
            SyncOutcome {
                status: SyncStatus::Success,
                error: None
            }
        );
        let mixed = batch(json!([post(1), {"op": "nope"}, post(3)]));
        let outcomes = [
            ItemOutcome::Rejected("first".into()),
            ItemOutcome::Rejected("second".into()),
            ItemOutcome::Stale,
        ];
        let recorded = mixed.sync_outcome(&outcomes);
        assert_eq!(recorded.status, SyncStatus::Partial);
        assert_eq!(recorded.error.as_deref(), Some("Rejected item 1: second"));
        // An item whose object could be read is named by it.
        let recorded = mixed.sync_outcome(&[
            ItemOutcome::Applied,
            ItemOutcome::Rejected("second".into()),
            ItemOutcome::Rejected("third".into()),
        ]);
        assert_eq!(
            recorded.error.as_deref(),
            Some("Rejected post post 3: third")
        );
    }
}
