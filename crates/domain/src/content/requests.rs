//! The sync requests' bodies as types (docs/sync-protocol.md): a full-sync step, a verification
//! step, a resync request. A valid body is read once from its bytes into its action; a refused one
//! is read again as JSON to word every problem with its field path, by the same rules.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ItemKind, MAX_ID_CHARS};
use crate::checksum::{bucket_start, Bucket, BUCKET_SIZE, MAX_BUCKET_SIZE};
use crate::names::TypeName;
use crate::validation::FieldErrors;

/// Totals and max ids name at most this many types.
pub const MAX_TYPES: usize = 2_000;
/// A resync request's reason is kept for the log, this short.
pub const MAX_REASON_CHARS: usize = 200;

/// A body whose fields break the rules: which fields and why, and whether the action it named is
/// the site's own (a user asking for one is refused for that, before the fields are judged).
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub site_only: bool,
    pub errors: FieldErrors,
}

impl Refused {
    fn of(site_only: bool) -> impl Fn(FieldErrors) -> Refused {
        move |errors| Refused { site_only, errors }
    }

    fn field(path: &str, why: &str) -> Refused {
        Refused {
            site_only: false,
            errors: FieldErrors::single(path, why),
        }
    }
}

/// A valid body straight from its bytes; `None` when `parse` must word what is wrong. Only an
/// object: serde would read a list as a struct (its first entry as the action), JSON never does.
fn read<W: for<'de> Deserialize<'de>, T>(
    body: &[u8],
    typed: impl FnOnce(W) -> Result<T, FieldErrors>,
) -> Option<T> {
    if body.trim_ascii_start().first() != Some(&b'{') {
        return None;
    }
    serde_json::from_slice(body)
        .ok()
        .and_then(|w| typed(w).ok())
}

/// The `action` a body names.
fn action(body: &Value) -> Result<&str, Refused> {
    match body.get("action") {
        Some(Value::String(a)) => Ok(a),
        None | Some(Value::Null) => Err(Refused::field("action", "is required")),
        Some(_) => Err(Refused::field("action", "must be a string")),
    }
}

/// A full sync's id: the plugin's UUID, or anything printable this short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunId(String);

impl RunId {
    const RULE: &'static str = "must be a string of 1 to 100 printable characters";

    fn new(raw: &str) -> Result<Self, FieldErrors> {
        let valid = !raw.is_empty()
            && raw.chars().count() <= MAX_ID_CHARS
            && !raw.chars().any(char::is_control);
        if valid {
            Ok(RunId(raw.to_owned()))
        } else {
            Err(FieldErrors::single("run_id", Self::RULE))
        }
    }

    fn from_json(body: &Value) -> Result<Self, FieldErrors> {
        match body.get("run_id") {
            Some(Value::String(s)) => Self::new(s),
            None | Some(Value::Null) => Err(FieldErrors::single("run_id", "is required")),
            Some(_) => Err(FieldErrors::single("run_id", Self::RULE)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `{"post:book": 12, "term:genre": 3}`: counts or ids by type, each key checked on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeNumbers(BTreeMap<(ItemKind, String), u64>);

impl TypeNumbers {
    /// `entries` are the keys with their numbers (`None`: not a whole number, not negative).
    fn new<'a>(
        field: &str,
        entries: impl ExactSizeIterator<Item = (&'a str, Option<u64>)>,
    ) -> Result<Self, FieldErrors> {
        if entries.len() > MAX_TYPES {
            return Err(Self::not_an_object(field));
        }
        let mut errors = FieldErrors::new();
        let mut out = BTreeMap::new();
        for (key, n) in entries {
            let path = format!("{field}.{key}");
            let parsed = key
                .split_once(':')
                .and_then(|(k, t)| ItemKind::parse(k).map(|k| (k, t)))
                .ok_or_else(|| {
                    "must be named \"post:<post type>\" or \"term:<taxonomy>\"".to_owned()
                })
                .and_then(|(kind, t)| TypeName::parse(kind.type_kind(), t).map(|t| (kind, t)));
            match (parsed, n) {
                (Err(why), _) => errors.add(path, why),
                (Ok(_), None) => errors.add(path, "must be a whole number, not negative"),
                (Ok((kind, t)), Some(n)) => {
                    out.insert((kind, t.as_str().to_owned()), n);
                }
            }
        }
        errors.into_result(TypeNumbers(out))
    }

    fn not_an_object(field: &str) -> FieldErrors {
        FieldErrors::single(
            field,
            "must be an object keyed by \"post:<post type>\" or \"term:<taxonomy>\"",
        )
    }

    fn from_json(body: &Value, field: &str) -> Result<Self, FieldErrors> {
        match body.get(field) {
            None | Some(Value::Null) => Ok(TypeNumbers::default()),
            Some(Value::Object(map)) => {
                Self::new(field, map.iter().map(|(k, n)| (k.as_str(), n.as_u64())))
            }
            Some(_) => Err(Self::not_an_object(field)),
        }
    }

    fn from_wire(field: &str, wire: Option<BTreeMap<String, u64>>) -> Result<Self, FieldErrors> {
        let wire = wire.unwrap_or_default();
        Self::new(field, wire.iter().map(|(k, n)| (k.as_str(), Some(*n))))
    }

    /// The number of the type `name` of `kind`, if the body named it.
    pub fn get(&self, kind: ItemKind, name: &str) -> Option<u64> {
        self.0.get(&(kind, name.to_owned())).copied()
    }

    /// Every type named, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (ItemKind, &str, u64)> {
        self.0.iter().map(|((k, t), n)| (*k, t.as_str(), *n))
    }
}

/// One step of a full sync (`POST …/content/full-sync/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FullSyncAction {
    /// A user (or the plugin) asks for a full sync at the plugin's next cron run.
    Request,
    /// The plugin starts a run, with how many items of each type it will send.
    Start { run_id: RunId, totals: TypeNumbers },
    /// The plugin finished a run; what lies above WordPress's largest ids is pruned.
    Finish { run_id: RunId, max_ids: TypeNumbers },
}

#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
enum FullSyncWire {
    Request,
    Start {
        run_id: String,
        #[serde(default)]
        totals: Option<BTreeMap<String, u64>>,
    },
    Finish {
        run_id: String,
        #[serde(default)]
        max_ids: Option<BTreeMap<String, u64>>,
    },
}

impl FullSyncAction {
    /// Only the site's own key starts and finishes runs.
    pub fn site_only(&self) -> bool {
        !matches!(self, FullSyncAction::Request)
    }

    /// A valid body read once; `None` when `parse` must word what is wrong.
    pub fn read(body: &[u8]) -> Option<Self> {
        read(body, |wire| match wire {
            FullSyncWire::Request => Ok(FullSyncAction::Request),
            FullSyncWire::Start { run_id, totals } => Ok(FullSyncAction::Start {
                run_id: RunId::new(&run_id)?,
                totals: TypeNumbers::from_wire("totals", totals)?,
            }),
            FullSyncWire::Finish { run_id, max_ids } => Ok(FullSyncAction::Finish {
                run_id: RunId::new(&run_id)?,
                max_ids: TypeNumbers::from_wire("max_ids", max_ids)?,
            }),
        })
    }

    /// The body as JSON, every problem worded: the first field that fails, in the order
    /// `action`, `run_id`, then the numbers (all of their keys).
    pub fn parse(body: &Value) -> Result<Self, Refused> {
        match action(body)? {
            "request" => Ok(FullSyncAction::Request),
            "start" => Ok(FullSyncAction::Start {
                run_id: RunId::from_json(body).map_err(Refused::of(true))?,
                totals: TypeNumbers::from_json(body, "totals").map_err(Refused::of(true))?,
            }),
            "finish" => Ok(FullSyncAction::Finish {
                run_id: RunId::from_json(body).map_err(Refused::of(true))?,
                max_ids: TypeNumbers::from_json(body, "max_ids").map_err(Refused::of(true))?,
            }),
            _ => Err(Refused::field(
                "action",
                "must be \"request\", \"start\" or \"finish\"",
            )),
        }
    }
}

/// The type a verification step compares: `kind` (posts unless named) and `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedType {
    pub kind: ItemKind,
    pub type_name: TypeName,
}

impl VerifiedType {
    const KIND_RULE: &'static str = "must be \"post\" or \"term\"";

    fn new(kind: Option<&str>, type_name: Option<&str>) -> Result<Self, FieldErrors> {
        let kind = match kind {
            None => ItemKind::Post,
            Some(k) => {
                ItemKind::parse(k).ok_or_else(|| FieldErrors::single("kind", Self::KIND_RULE))?
            }
        };
        let Some(raw) = type_name else {
            return Err(FieldErrors::single("type", "is required"));
        };
        let type_name = TypeName::parse(kind.type_kind(), raw)
            .map_err(|why| FieldErrors::single("type", why))?;
        Ok(VerifiedType { kind, type_name })
    }

    fn from_json(body: &Value) -> Result<Self, FieldErrors> {
        let kind = match body.get("kind") {
            None | Some(Value::Null) => None,
            Some(Value::String(k)) => Some(k.as_str()),
            Some(_) => return Err(FieldErrors::single("kind", Self::KIND_RULE)),
        };
        Self::new(kind, body.get("type").and_then(Value::as_str))
    }
}

/// How many ids a bucket spans: `BUCKET_SIZE` unless named, at most `MAX_BUCKET_SIZE`.
fn bucket_size(raw: Option<Option<i64>>) -> Result<i64, FieldErrors> {
    match raw {
        None => Ok(BUCKET_SIZE),
        Some(n) => n
            .filter(|n| (1..=MAX_BUCKET_SIZE).contains(n))
            .ok_or_else(|| {
                FieldErrors::single(
                    "bucket_size",
                    format!("must be a whole number from 1 to {MAX_BUCKET_SIZE}"),
                )
            }),
    }
}

fn bucket_size_from_json(body: &Value) -> Result<i64, FieldErrors> {
    bucket_size(match body.get("bucket_size") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64()),
    })
}

/// A whole number from 0 to `max` at `{path}.{key}` (`None`: not a whole number at all).
fn at_most(
    n: Option<u64>,
    max: u64,
    path: &str,
    key: &str,
    errors: &mut FieldErrors,
) -> Option<u64> {
    let n = n.filter(|n| *n <= max);
    if n.is_none() {
        errors.add(
            format!("{path}.{key}"),
            format!("must be a whole number from 0 to {max}"),
        );
    }
    n
}

/// One of WordPress's buckets: `start` not negative, `count` at most the bucket's size, `sum`
/// within 63 bits.
fn bucket(
    (start, count, sum): (Option<i64>, Option<u64>, Option<u64>),
    size: i64,
    path: &str,
    errors: &mut FieldErrors,
) -> Option<Bucket> {
    let start = start.filter(|s| *s >= 0);
    if start.is_none() {
        errors.add(
            format!("{path}.start"),
            "must be a whole number, not negative",
        );
    }
    let count = at_most(
        count,
        u64::try_from(size).unwrap_or(0),
        path,
        "count",
        errors,
    );
    let sum = at_most(sum, i64::MAX as u64, path, "sum", errors);
    Some(Bucket {
        start: start?,
        count: count?,
        sum: sum?,
    })
}

/// The first id of the bucket an `items` step names: any other `start` would name (and delete)
/// ids the bucket comparison never looked at.
fn bucket_first_id(start: Option<i64>, size: i64) -> Result<i64, FieldErrors> {
    start
        .filter(|s| *s >= 0 && bucket_start(*s, size) == *s)
        .ok_or_else(|| {
            FieldErrors::single(
                "start",
                "must be the bucket's first id, a whole number, not negative",
            )
        })
}

/// One of WordPress's items in the bucket `[start, end]`: its id and 32-bit checksum.
fn item(
    (wp_id, checksum): (Option<i64>, Option<u64>),
    (start, end): (i64, i64),
    path: &str,
    errors: &mut FieldErrors,
) -> Option<(i64, u32)> {
    let wp_id = wp_id.filter(|id| (start..=end).contains(id));
    if wp_id.is_none() {
        errors.add(
            format!("{path}.wp_id"),
            format!("must be an id in the bucket [{start}, {end}]"),
        );
    }
    let checksum = at_most(checksum, u64::from(u32::MAX), path, "checksum", errors);
    Some((wp_id?, u32::try_from(checksum?).ok()?))
}

/// A list of entries each checked by `check` with its path (`field.3`), every problem kept.
fn list<E, T>(
    field: &str,
    entries: impl ExactSizeIterator<Item = Option<E>>,
    mut check: impl FnMut(E, &str, &mut FieldErrors) -> Option<T>,
) -> Result<Vec<T>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.enumerate() {
        let path = format!("{field}.{i}");
        match entry {
            Some(entry) => out.extend(check(entry, &path, &mut errors)),
            None => errors.add(path, "must be an object"),
        }
    }
    errors.into_result(out)
}

/// A list of objects in a JSON body, for `list`.
fn objects<'a>(
    body: &'a Value,
    field: &str,
) -> Result<impl ExactSizeIterator<Item = Option<&'a Map<String, Value>>>, FieldErrors> {
    body.get(field)
        .and_then(Value::as_array)
        .map(|l| l.iter().map(Value::as_object))
        .ok_or_else(|| FieldErrors::single(field, "must be a list"))
}

fn int(obj: &Map<String, Value>, key: &str) -> Option<i64> {
    obj.get(key).and_then(Value::as_i64)
}

fn whole(obj: &Map<String, Value>, key: &str) -> Option<u64> {
    obj.get(key).and_then(Value::as_u64)
}

/// One step of a verification (`POST …/content/verify/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyAction {
    /// A user (or the plugin) asks for a verification at the plugin's next cron run.
    Request,
    /// WordPress's buckets of one type, compared with the platform's.
    Buckets {
        of: VerifiedType,
        bucket_size: i64,
        buckets: Vec<Bucket>,
    },
    /// WordPress's items of one differing bucket, `[start, start + bucket_size - 1]`.
    Items {
        of: VerifiedType,
        bucket_size: i64,
        start: i64,
        items: Vec<(i64, u32)>,
    },
    /// The plugin compared every type.
    Done,
}

#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
enum VerifyWire {
    Request,
    Buckets {
        #[serde(default)]
        kind: Option<String>,
        #[serde(rename = "type")]
        type_name: String,
        #[serde(default)]
        bucket_size: Option<i64>,
        buckets: Vec<Map<String, Value>>,
    },
    Items {
        #[serde(default)]
        kind: Option<String>,
        #[serde(rename = "type")]
        type_name: String,
        #[serde(default)]
        bucket_size: Option<i64>,
        start: i64,
        items: Vec<Map<String, Value>>,
    },
    Done,
}

impl VerifyAction {
    /// Only the site's own key sends buckets, items and the end of a verification.
    pub fn site_only(&self) -> bool {
        !matches!(self, VerifyAction::Request)
    }

    /// A valid body read once; `None` when `parse` must word what is wrong.
    pub fn read(body: &[u8]) -> Option<Self> {
        read(body, |wire| match wire {
            VerifyWire::Request => Ok(VerifyAction::Request),
            VerifyWire::Done => Ok(VerifyAction::Done),
            VerifyWire::Buckets {
                kind,
                type_name,
                bucket_size: size,
                buckets,
            } => {
                let of = VerifiedType::new(kind.as_deref(), Some(&type_name))?;
                let size = bucket_size(size.map(Some))?;
                let buckets = list("buckets", buckets.iter().map(Some), |b, path, e| {
                    bucket(
                        (int(b, "start"), whole(b, "count"), whole(b, "sum")),
                        size,
                        path,
                        e,
                    )
                })?;
                Ok(VerifyAction::Buckets {
                    of,
                    bucket_size: size,
                    buckets,
                })
            }
            VerifyWire::Items {
                kind,
                type_name,
                bucket_size: size,
                start,
                items,
            } => {
                let of = VerifiedType::new(kind.as_deref(), Some(&type_name))?;
                let size = bucket_size(size.map(Some))?;
                let start = bucket_first_id(Some(start), size)?;
                let end = start.saturating_add(size - 1);
                let items = list("items", items.iter().map(Some), |i, path, e| {
                    item(
                        (int(i, "wp_id"), whole(i, "checksum")),
                        (start, end),
                        path,
                        e,
                    )
                })?;
                Ok(VerifyAction::Items {
                    of,
                    bucket_size: size,
                    start,
                    items,
                })
            }
        })
    }

    /// The body as JSON, every problem worded: the first field that fails, in the order
    /// `action`, `kind`, `type`, `bucket_size`, `start`, then the list (all of its entries).
    pub fn parse(body: &Value) -> Result<Self, Refused> {
        let site = Refused::of(true);
        match action(body)? {
            "request" => Ok(VerifyAction::Request),
            "done" => Ok(VerifyAction::Done),
            "buckets" => {
                let of = VerifiedType::from_json(body).map_err(&site)?;
                let size = bucket_size_from_json(body).map_err(&site)?;
                let entries = objects(body, "buckets").map_err(&site)?;
                let buckets = list("buckets", entries, |b, path, e| {
                    bucket(
                        (int(b, "start"), whole(b, "count"), whole(b, "sum")),
                        size,
                        path,
                        e,
                    )
                })
                .map_err(&site)?;
                Ok(VerifyAction::Buckets {
                    of,
                    bucket_size: size,
                    buckets,
                })
            }
            "items" => {
                let of = VerifiedType::from_json(body).map_err(&site)?;
                let size = bucket_size_from_json(body).map_err(&site)?;
                let start = bucket_first_id(body.get("start").and_then(Value::as_i64), size)
                    .map_err(&site)?;
                let end = start.saturating_add(size - 1);
                let entries = objects(body, "items").map_err(&site)?;
                let items = list("items", entries, |i, path, e| {
                    item(
                        (int(i, "wp_id"), whole(i, "checksum")),
                        (start, end),
                        path,
                        e,
                    )
                })
                .map_err(&site)?;
                Ok(VerifyAction::Items {
                    of,
                    bucket_size: size,
                    start,
                    items,
                })
            }
            _ => Err(Refused::field(
                "action",
                "must be \"request\", \"buckets\", \"items\" or \"done\"",
            )),
        }
    }
}

/// The plugin asks for a full sync (`POST …/content/resync-request/`), saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResyncRequest {
    /// For the log: `unspecified` unless the plugin said.
    reason: Option<String>,
}

impl ResyncRequest {
    /// The body: an object whose `reason`, if any, is a short printable string.
    pub fn parse(body: &Value) -> Result<Self, FieldErrors> {
        let Value::Object(body) = body else {
            return Err(FieldErrors::single("", "must be a JSON object"));
        };
        match body.get("reason") {
            None | Some(Value::Null) => Ok(ResyncRequest { reason: None }),
            Some(Value::String(r))
                if r.chars().count() <= MAX_REASON_CHARS && !r.chars().any(char::is_control) =>
            {
                Ok(ResyncRequest {
                    reason: Some(r.clone()),
                })
            }
            Some(_) => Err(FieldErrors::single(
                "reason",
                "must be a string of at most 200 printable characters",
            )),
        }
    }

    pub fn reason(&self) -> &str {
        self.reason.as_deref().unwrap_or("unspecified")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// What a body becomes: read once from its bytes when valid, else parsed with its problems.
    fn full_sync(body: Value) -> Result<FullSyncAction, Refused> {
        let bytes = serde_json::to_vec(&body).unwrap();
        let parsed = FullSyncAction::parse(&body);
        match FullSyncAction::read(&bytes) {
            // The typed read and the worded parse follow the same rules.
            Some(read) => assert_eq!(Ok(&read), parsed.as_ref(), "{body}"),
            None => assert!(parsed.is_err(), "read refused what parse accepts: {body}"),
        }
        parsed
    }

    fn verify(body: Value) -> Result<VerifyAction, Refused> {
        let bytes = serde_json::to_vec(&body).unwrap();
        let parsed = VerifyAction::parse(&body);
        match VerifyAction::read(&bytes) {
            Some(read) => assert_eq!(Ok(&read), parsed.as_ref(), "{body}"),
            None => assert!(parsed.is_err(), "read refused what parse accepts: {body}"),
        }
        parsed
    }

    fn errors(refused: Refused) -> (bool, Vec<(String, Vec<String>)>) {
        (
            refused.site_only,
            refused.errors.into_map().into_iter().collect(),
        )
    }

    fn one(site_only: bool, path: &str, why: &str) -> (bool, Vec<(String, Vec<String>)>) {
        (site_only, vec![(path.to_owned(), vec![why.to_owned()])])
    }

    #[test]
    fn full_sync_steps_read_into_their_actions() {
        assert_eq!(
            full_sync(json!({"action": "request"})),
            Ok(FullSyncAction::Request)
        );
        let Ok(FullSyncAction::Start { run_id, totals }) = full_sync(
            json!({"action": "start", "run_id": "r-1", "totals": {"post:book": 12, "term:genre": 3}, "extra": 1}),
        ) else {
            panic!("a valid start");
        };
        assert_eq!(run_id.as_str(), "r-1");
        assert_eq!(
            totals.iter().collect::<Vec<_>>(),
            vec![(ItemKind::Post, "book", 12), (ItemKind::Term, "genre", 3)]
        );
        let Ok(FullSyncAction::Finish { max_ids, .. }) =
            full_sync(json!({"action": "finish", "run_id": "r-1", "max_ids": null}))
        else {
            panic!("a valid finish");
        };
        assert_eq!(max_ids, TypeNumbers::default());
    }

    #[test]
    fn a_missing_wrong_typed_or_unknown_action_is_named() {
        let cases = [
            (json!({}), "is required"),
            (json!({"action": null}), "is required"),
            (json!([]), "is required"),
            (json!(["start", "r-1"]), "is required"),
            (json!("start"), "is required"),
            (json!({"action": 1}), "must be a string"),
            (
                json!({"action": "pause"}),
                "must be \"request\", \"start\" or \"finish\"",
            ),
            (
                json!({"action": "Start", "run_id": "r"}),
                "must be \"request\", \"start\" or \"finish\"",
            ),
        ];
        for (body, why) in cases {
            assert_eq!(
                errors(full_sync(body.clone()).unwrap_err()),
                one(false, "action", why),
                "{body}"
            );
        }
        assert_eq!(
            errors(verify(json!({"action": "finish"})).unwrap_err()),
            one(
                false,
                "action",
                "must be \"request\", \"buckets\", \"items\" or \"done\""
            )
        );
    }

    #[test]
    fn a_run_needs_a_printable_run_id_before_its_numbers_are_judged() {
        let rule = "must be a string of 1 to 100 printable characters";
        for (run_id, why) in [
            (None, "is required"),
            (Some(json!(null)), "is required"),
            (Some(json!(7)), rule),
            (Some(json!("")), rule),
            (Some(json!("a\u{7}b")), rule),
            (Some(json!("x".repeat(101))), rule),
        ] {
            let mut body = json!({"action": "finish", "max_ids": {"nope": -1}});
            if let Some(id) = run_id {
                body["run_id"] = id;
            }
            assert_eq!(
                errors(full_sync(body.clone()).unwrap_err()),
                one(true, "run_id", why),
                "{body}"
            );
        }
        assert!(full_sync(json!({"action": "start", "run_id": "x".repeat(100)})).is_ok());
    }

    #[test]
    fn every_bad_type_key_and_number_is_named_at_once() {
        let refused = full_sync(json!({"action": "start", "run_id": "r", "totals": {
            "post:book": 1, "book": 2, "page:x": 3, "post:ok": -1, "term:genre": 1.5, "post:Bad Name": 1,
        }}))
        .unwrap_err();
        let (site_only, errors) = errors(refused);
        assert!(site_only);
        let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "totals.book",
                "totals.page:x",
                "totals.post:Bad Name",
                "totals.post:ok",
                "totals.term:genre"
            ]
        );
        assert_eq!(
            errors[3].1,
            ["must be a whole number, not negative".to_owned()]
        );
        for totals in [json!([]), json!(3), json!("post:book")] {
            assert_eq!(
                errors_of(full_sync(
                    json!({"action": "start", "run_id": "r", "totals": totals})
                )),
                one(
                    true,
                    "totals",
                    "must be an object keyed by \"post:<post type>\" or \"term:<taxonomy>\""
                )
            );
        }
        let many: Map<String, Value> = (0..=MAX_TYPES)
            .map(|i| (format!("post:t{i}"), json!(1)))
            .collect();
        assert_eq!(
            errors_of(full_sync(
                json!({"action": "start", "run_id": "r", "totals": many})
            ))
            .1[0]
                .0,
            "totals"
        );
    }

    fn errors_of<T: std::fmt::Debug>(r: Result<T, Refused>) -> (bool, Vec<(String, Vec<String>)>) {
        errors(r.unwrap_err())
    }

    #[test]
    fn verification_steps_read_into_their_actions() {
        assert_eq!(
            verify(json!({"action": "request"})),
            Ok(VerifyAction::Request)
        );
        assert_eq!(verify(json!({"action": "done"})), Ok(VerifyAction::Done));
        let Ok(VerifyAction::Buckets {
            of,
            bucket_size,
            buckets,
        }) = verify(json!({"action": "buckets", "kind": "term", "type": "genre",
                           "buckets": [{"start": 0, "count": 2, "sum": 9}]}))
        else {
            panic!("valid buckets");
        };
        assert_eq!((of.kind, of.type_name.as_str()), (ItemKind::Term, "genre"));
        assert_eq!(bucket_size, BUCKET_SIZE);
        assert_eq!(
            buckets,
            [Bucket {
                start: 0,
                count: 2,
                sum: 9
            }]
        );
        let Ok(VerifyAction::Items { start, items, .. }) = verify(json!({"action": "items",
            "type": "post", "bucket_size": 10, "start": 20, "items": [{"wp_id": 29, "checksum": 4_294_967_295u64}]}))
        else {
            panic!("valid items");
        };
        assert_eq!((start, items), (20, vec![(29, u32::MAX)]));
    }

    #[test]
    fn a_verification_step_names_its_first_bad_field() {
        let kind_rule = "must be \"post\" or \"term\"";
        let size_rule = format!("must be a whole number from 1 to {MAX_BUCKET_SIZE}");
        let cases = [
            (
                json!({"action": "buckets", "kind": "page", "type": "post", "buckets": []}),
                "kind",
                kind_rule.to_owned(),
            ),
            (
                json!({"action": "buckets", "kind": 1, "type": "post", "buckets": []}),
                "kind",
                kind_rule.to_owned(),
            ),
            (
                json!({"action": "buckets", "buckets": []}),
                "type",
                "is required".to_owned(),
            ),
            (
                json!({"action": "buckets", "type": 5, "buckets": []}),
                "type",
                "is required".to_owned(),
            ),
            (
                json!({"action": "buckets", "type": "post", "bucket_size": 0, "buckets": []}),
                "bucket_size",
                size_rule.clone(),
            ),
            (
                json!({"action": "items", "type": "post", "bucket_size": "10", "start": 0, "items": []}),
                "bucket_size",
                size_rule.clone(),
            ),
            (
                json!({"action": "buckets", "type": "post", "buckets": {}}),
                "buckets",
                "must be a list".to_owned(),
            ),
            (
                json!({"action": "buckets", "type": "post"}),
                "buckets",
                "must be a list".to_owned(),
            ),
            (
                json!({"action": "items", "type": "post", "items": []}),
                "start",
                "must be the bucket's first id, a whole number, not negative".to_owned(),
            ),
            (
                json!({"action": "items", "type": "post", "bucket_size": 10, "start": 5, "items": []}),
                "start",
                "must be the bucket's first id, a whole number, not negative".to_owned(),
            ),
            (
                json!({"action": "items", "type": "post", "start": 0, "items": null}),
                "items",
                "must be a list".to_owned(),
            ),
        ];
        for (body, path, why) in cases {
            assert_eq!(
                errors_of(verify(body.clone())),
                one(true, path, &why),
                "{body}"
            );
        }
    }

    #[test]
    fn every_bad_bucket_and_item_is_named_with_its_path() {
        let (_, errors) = errors_of(verify(
            json!({"action": "buckets", "type": "post", "bucket_size": 10,
            "buckets": [{"start": 0, "count": 10, "sum": 1}, [0, 1, 1], {"start": -1, "count": 11, "sum": -1}]}),
        ));
        assert_eq!(
            errors,
            vec![
                ("buckets.1".to_owned(), vec!["must be an object".to_owned()]),
                (
                    "buckets.2.count".to_owned(),
                    vec!["must be a whole number from 0 to 10".to_owned()]
                ),
                (
                    "buckets.2.start".to_owned(),
                    vec!["must be a whole number, not negative".to_owned()]
                ),
                (
                    "buckets.2.sum".to_owned(),
                    vec![format!("must be a whole number from 0 to {}", i64::MAX)]
                ),
            ]
        );
        let (_, errors) = errors_of(verify(
            json!({"action": "items", "type": "post", "bucket_size": 10,
            "start": 10, "items": [{"wp_id": 9, "checksum": 1}, {"wp_id": 10, "checksum": 4_294_967_296u64}, 3]}),
        ));
        assert_eq!(
            errors,
            vec![
                (
                    "items.0.wp_id".to_owned(),
                    vec!["must be an id in the bucket [10, 19]".to_owned()]
                ),
                (
                    "items.1.checksum".to_owned(),
                    vec![format!("must be a whole number from 0 to {}", u32::MAX)]
                ),
                ("items.2".to_owned(), vec!["must be an object".to_owned()]),
            ]
        );
    }

    #[test]
    fn a_resync_request_is_an_object_with_a_short_printable_reason() {
        assert_eq!(
            ResyncRequest::parse(&json!({})).unwrap().reason(),
            "unspecified"
        );
        assert_eq!(
            ResyncRequest::parse(&json!({"reason": "queue_overflow"}))
                .unwrap()
                .reason(),
            "queue_overflow"
        );
        for body in [json!([]), json!("x"), json!(null)] {
            assert_eq!(
                ResyncRequest::parse(&body).unwrap_err(),
                FieldErrors::single("", "must be a JSON object")
            );
        }
        for reason in [json!(3), json!("a\nb"), json!("r".repeat(201))] {
            assert!(ResyncRequest::parse(&json!({ "reason": reason }))
                .unwrap_err()
                .as_map()
                .contains_key("reason"));
        }
    }
}
