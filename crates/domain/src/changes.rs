//! Changes the platform makes to WordPress (two-way sync, docs/sync-protocol.md): what a change
//! request may say, the base it is judged against, the outcomes the plugin reports, and how a
//! person's choices in a conflict become the next change. The three-way merge itself runs in the
//! plugin, on the live object; these rules decide everything the platform stores.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::content::{
    is_status, no_nul, text_field, type_name, whole, ItemKind, Limit, WpTime, MAX_CONTENT_BYTES,
    MAX_DESCRIPTION_BYTES, MAX_SLUG_CHARS, MAX_TERMS_PER_TAXONOMY, MAX_TERM_TAXONOMIES,
    MAX_TEXT_BYTES, MAX_URL_BYTES,
};
use crate::names::{TypeKind, TypeName};
use crate::validation::FieldErrors;

/// An idempotency key is the client's own token; anything printable this short is accepted.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;
/// Outcomes one results request may report, and changes one pull may take.
pub const MAX_OUTCOMES: usize = 100;
pub const MAX_PULL: u64 = 100;
/// A rejection's or refusal's reason, as the plugin words it.
pub const MAX_REASON_CHARS: usize = 1_000;
/// The post statuses a change may set (WordPress's own, less `auto-draft` and `inherit`).
pub const WRITABLE_STATUSES: [&str; 6] =
    ["draft", "pending", "publish", "future", "private", "trash"];
pub const SEO_FIELDS: [&str; 5] = [
    "title",
    "description",
    "focus_keyword",
    "canonical",
    "robots",
];

string_enum!(
    /// What a change does to its object. There is no permanent delete from the platform.
    ChangeOp { Create = "create", Update = "update", Trash = "trash" }
);

string_enum!(
    /// Where a change is: `pending` until the plugin reports an outcome; `resolved` once a person
    /// chose in its conflict.
    ChangeStatus {
        Pending = "pending",
        Applied = "applied",
        Conflict = "conflict",
        Rejected = "rejected",
        Refused = "refused",
        Cancelled = "cancelled",
        Resolved = "resolved",
    }
);

string_enum!(
    /// What happens to fields WordPress changed since the change's base (DESIGN.md §7).
    ConflictPolicy {
        Manual = "manual",
        Merge = "merge",
        PlatformWins = "platform_wins",
        WordpressWins = "wordpress_wins",
    }
);

/// A platform user's request for a change, checked: every field valid for its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRequest {
    pub op: ChangeOp,
    pub kind: ItemKind,
    pub type_name: TypeName,
    pub wp_id: Option<i64>,
    /// The fields to write, in their API shape (`seo` and `terms` nested).
    pub fields: Map<String, Value>,
    /// The client's base, restricted to the paths of `fields`; `None` when it sent none.
    pub base: Option<Map<String, Value>>,
    pub base_modified_gmt: Option<WpTime>,
    pub policy: Option<ConflictPolicy>,
    pub idempotency_key: Option<String>,
}

impl ChangeRequest {
    /// Parses `POST …/changes/`; `header_key` is the `Idempotency-Key` header, used when the
    /// body names none.
    pub fn parse(body: &Value, header_key: Option<&str>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Some(obj) = body.as_object() else {
            return Err(FieldErrors::single("", "must be an object"));
        };
        let op = match obj.get("op") {
            Some(Value::String(op)) => ChangeOp::parse(op),
            _ => None,
        };
        if op.is_none() {
            errors.add("op", "must be \"create\", \"update\" or \"trash\"");
        }
        let kind = match obj.get("kind") {
            None | Some(Value::Null) => Some(ItemKind::Post),
            Some(Value::String(k)) => ItemKind::parse(k),
            Some(_) => None,
        };
        if kind.is_none() {
            errors.add("kind", "must be \"post\" or \"term\"");
        }
        let type_name = kind.and_then(|k| type_name(obj.get("type"), k, "type", &mut errors));
        let wp_id = match (op, obj.get("wp_id")) {
            (Some(ChangeOp::Create), None | Some(Value::Null)) => None,
            (Some(ChangeOp::Create), Some(_)) => {
                errors.add("wp_id", "must be left out when creating");
                None
            }
            (_, value) => whole(value, "wp_id", 1, &mut errors),
        };
        let fields = match (kind, obj.get("fields")) {
            (_, None | Some(Value::Null)) => Map::new(),
            (Some(kind), Some(Value::Object(fields))) => parse_fields(kind, fields, &mut errors),
            (_, Some(_)) => {
                errors.add("fields", "must be an object");
                Map::new()
            }
        };
        match (op, kind) {
            (Some(ChangeOp::Trash), Some(ItemKind::Term)) => {
                errors.add("op", "terms have no trash; only posts can be trashed")
            }
            (Some(ChangeOp::Trash), _) if !fields.is_empty() => {
                errors.add("fields", "must be empty when trashing")
            }
            (Some(ChangeOp::Update), _) if fields.is_empty() => {
                errors.add("fields", "must name at least one field to change")
            }
            (Some(ChangeOp::Create), Some(ItemKind::Post)) if !fields.contains_key("title") => {
                errors.add("fields.title", "is required when creating a post")
            }
            (Some(ChangeOp::Create), Some(ItemKind::Term)) if !fields.contains_key("name") => {
                errors.add("fields.name", "is required when creating a term")
            }
            _ => {}
        }
        let base = match obj.get("base") {
            None | Some(Value::Null) => None,
            Some(Value::Object(base)) => {
                no_nul(&Value::Object(base.clone()), "base", &mut errors);
                Some(restrict_to_fields(base, &fields))
            }
            Some(_) => {
                errors.add("base", "must be an object");
                None
            }
        };
        let base_modified_gmt = match obj.get("base_modified_gmt") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => WpTime::parse(s)
                .map_err(|why| errors.add("base_modified_gmt", why))
                .ok(),
            Some(_) => {
                errors.add("base_modified_gmt", "must be a string");
                None
            }
        };
        let policy = match obj.get("policy") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if ConflictPolicy::parse(p).is_some() => {
                ConflictPolicy::parse(p)
            }
            Some(_) => {
                errors.add(
                    "policy",
                    "must be \"manual\", \"merge\", \"platform_wins\" or \"wordpress_wins\"",
                );
                None
            }
        };
        let idempotency_key = match obj.get("idempotency_key") {
            None | Some(Value::Null) => header_key.map(str::to_owned),
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => {
                errors.add("idempotency_key", "must be a string");
                None
            }
        };
        if let Some(k) = &idempotency_key {
            if k.is_empty()
                || k.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS
                || k.chars().any(char::is_control)
            {
                errors.add(
                    "idempotency_key",
                    format!("must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable characters"),
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ChangeRequest {
            op: op.expect("checked"),
            kind: kind.expect("checked"),
            type_name: type_name.expect("checked"),
            wp_id,
            fields,
            base,
            base_modified_gmt,
            policy,
            idempotency_key,
        })
    }
}

fn parse_fields(
    kind: ItemKind,
    fields: &Map<String, Value>,
    errors: &mut FieldErrors,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (name, value) in fields {
        let path = format!("fields.{name}");
        let checked = match (kind, name.as_str()) {
            (ItemKind::Post, "title" | "excerpt") => {
                text(value, &path, Limit::Bytes(MAX_TEXT_BYTES), errors)
            }
            (ItemKind::Post, "content") => {
                text(value, &path, Limit::Bytes(MAX_CONTENT_BYTES), errors)
            }
            (_, "slug") => text(value, &path, Limit::Chars(MAX_SLUG_CHARS), errors),
            (ItemKind::Post, "status") => match value {
                Value::String(s) if is_status(s) && WRITABLE_STATUSES.contains(&s.as_str()) => {
                    Some(value.clone())
                }
                _ => {
                    errors.add(
                        path,
                        format!("must be one of {}", WRITABLE_STATUSES.join(", ")),
                    );
                    None
                }
            },
            (ItemKind::Post, "date_gmt") => match value {
                Value::Null => Some(Value::Null),
                Value::String(s) => WpTime::parse(s)
                    .map(|_| value.clone())
                    .map_err(|why| errors.add(&path, why))
                    .ok(),
                _ => {
                    errors.add(path, "must be a time (YYYY-MM-DD HH:MM:SS) or null");
                    None
                }
            },
            (_, "parent") => whole(Some(value), &path, 0, errors).map(Value::from),
            (ItemKind::Post, "menu_order") => match value.as_i64() {
                Some(v) if (0..=i64::from(i32::MAX)).contains(&v) => Some(value.clone()),
                _ => {
                    errors.add(path, "must be a whole number, not negative");
                    None
                }
            },
            (ItemKind::Post, "featured_image") => match value {
                Value::Null => Some(Value::Null),
                Value::String(url) if is_http_url(url) => Some(value.clone()),
                _ => {
                    errors.add(
                        path,
                        "must be an http(s) URL of an image, or null to remove it",
                    );
                    None
                }
            },
            (ItemKind::Post, "terms") => parse_term_choices(value, &path, errors),
            (ItemKind::Post, "seo") => parse_seo_fields(value, &path, errors),
            (ItemKind::Term, "name") => {
                match text(value, &path, Limit::Chars(MAX_SLUG_CHARS), errors) {
                    Some(Value::String(s)) if s.trim().is_empty() => {
                        errors.add(path, "must not be empty");
                        None
                    }
                    other => other,
                }
            }
            (ItemKind::Term, "description") => {
                text(value, &path, Limit::Bytes(MAX_DESCRIPTION_BYTES), errors)
            }
            _ => {
                errors.add(
                    path,
                    format!("is not a field a change can write to a {kind}"),
                );
                None
            }
        };
        if let Some(v) = checked {
            out.insert(name.clone(), v);
        }
    }
    out
}

fn text(value: &Value, path: &str, limit: Limit, errors: &mut FieldErrors) -> Option<Value> {
    if !value.is_string() {
        errors.add(path, "must be a string");
        return None;
    }
    text_field(Some(value), path, true, limit, errors).map(Value::String)
}

fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    url.len() <= MAX_URL_BYTES
        && rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
        && !url.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// `{"category": [3, "New name"]}`: ids of existing terms, or names (created when missing).
fn parse_term_choices(value: &Value, path: &str, errors: &mut FieldErrors) -> Option<Value> {
    let Some(map) = value.as_object() else {
        errors.add(path, "must be an object of taxonomy → term ids or names");
        return None;
    };
    if map.len() > MAX_TERM_TAXONOMIES {
        errors.add(
            path,
            format!("must name at most {MAX_TERM_TAXONOMIES} taxonomies"),
        );
        return None;
    }
    let before = errors.as_map().len();
    for (taxonomy, terms) in map {
        let path = format!("{path}.{taxonomy}");
        if let Err(why) = TypeName::parse(TypeKind::Taxonomy, taxonomy) {
            errors.add(path, why);
            continue;
        }
        let ok = terms.as_array().is_some_and(|list| {
            list.len() <= MAX_TERMS_PER_TAXONOMY
                && list.iter().all(|t| match t {
                    Value::Number(n) => n.as_i64().is_some_and(|id| id > 0),
                    Value::String(name) => {
                        !name.trim().is_empty()
                            && name.chars().count() <= MAX_SLUG_CHARS
                            && !name.contains('\0')
                    }
                    _ => false,
                })
        });
        if !ok {
            errors.add(
                path,
                format!(
                    "must be a list of at most {MAX_TERMS_PER_TAXONOMY} term ids or names (1 to {MAX_SLUG_CHARS} characters)"
                ),
            );
        }
    }
    (errors.as_map().len() == before).then(|| value.clone())
}

fn parse_seo_fields(value: &Value, path: &str, errors: &mut FieldErrors) -> Option<Value> {
    let Some(map) = value.as_object() else {
        errors.add(path, "must be an object");
        return None;
    };
    if map.is_empty() {
        errors.add(path, "must name at least one SEO field");
        return None;
    }
    let before = errors.as_map().len();
    for (field, v) in map {
        let path = format!("{path}.{field}");
        if !SEO_FIELDS.contains(&field.as_str()) {
            errors.add(path, format!("must be one of {}", SEO_FIELDS.join(", ")));
        } else if !v.is_null() {
            text(v, &path, Limit::Bytes(MAX_TEXT_BYTES), errors);
        }
    }
    (errors.as_map().len() == before).then(|| value.clone())
}

/// A field's path as conflicts, choices and results name it: `title`, `seo.description`,
/// `terms.category`.
pub fn field_paths(fields: &Map<String, Value>) -> Vec<String> {
    let mut paths = Vec::new();
    for (name, value) in fields {
        match (name.as_str(), value) {
            ("seo" | "terms", Value::Object(inner)) => {
                paths.extend(inner.keys().map(|k| format!("{name}.{k}")))
            }
            _ => paths.push(name.clone()),
        }
    }
    paths
}

/// The value at a path of a fields-shaped object.
pub fn get_path<'a>(fields: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    match path.split_once('.') {
        Some((outer, inner)) => fields.get(outer)?.as_object()?.get(inner),
        None => fields.get(path),
    }
}

/// Sets the value at a path, creating the nested object when needed.
pub fn set_path(fields: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        Some((outer, inner)) => {
            let slot = fields
                .entry(outer.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Value::Object(map) = slot {
                map.insert(inner.to_owned(), value);
            }
        }
        None => {
            fields.insert(path.to_owned(), value);
        }
    }
}

fn restrict_to_fields(
    base: &Map<String, Value>,
    fields: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for path in field_paths(fields) {
        if let Some(v) = get_path(base, &path) {
            set_path(&mut out, &path, v.clone());
        }
    }
    out
}

/// The platform's best knowledge of WordPress's current object: its synced copy (`current`, the
/// API's field shape) overlaid with an earlier change's `fields` that WordPress has not echoed back
/// yet, less those WordPress kept (`kept`: the outcome's `dropped` under `wordpress_wins`).
pub fn overlay(
    current: &mut Map<String, Value>,
    fields: &Map<String, Value>,
    kept: Option<&Map<String, Value>>,
) {
    for path in field_paths(fields) {
        if kept.is_some_and(|k| k.contains_key(&path)) {
            continue;
        }
        if let Some(v) = get_path(fields, &path) {
            set_path(current, &path, v.clone());
        }
    }
}

/// The base of a change: for each field it writes, the client's base value when it sent one, else
/// the object's current value (`overlay`). A path found nowhere is null.
pub fn fill_base(
    fields: &Map<String, Value>,
    client: Option<&Map<String, Value>>,
    current: &Map<String, Value>,
) -> Map<String, Value> {
    let mut base = Map::new();
    for path in field_paths(fields) {
        let value = client
            .and_then(|c| get_path(c, &path))
            .or_else(|| get_path(current, &path))
            .cloned()
            .unwrap_or(Value::Null);
        set_path(&mut base, &path, value);
    }
    base
}

/// Whether a client's base is complete for the fields it writes.
pub fn base_covers(base: &Map<String, Value>, fields: &Map<String, Value>) -> bool {
    field_paths(fields)
        .iter()
        .all(|p| get_path(base, p).is_some())
}

/// What the plugin reports for one change (`POST …/changes/results/`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeOutcome {
    pub id: i64,
    pub status: ChangeStatus,
    /// What the change's `result` becomes: the outcome less `id` and `status`.
    pub result: Map<String, Value>,
}

/// An outcome the platform cannot record: the change's id when it was readable, and why.
pub type BadOutcome = (Option<i64>, String);

/// A results body: each outcome parsed on its own, so one bad outcome never fails the others.
pub fn parse_outcomes(body: &Value) -> Result<Vec<Result<ChangeOutcome, BadOutcome>>, FieldErrors> {
    let list = match body.get("results") {
        Some(Value::Array(list)) if list.len() <= MAX_OUTCOMES => list,
        Some(Value::Array(_)) => {
            return Err(FieldErrors::single(
                "results",
                format!("must hold at most {MAX_OUTCOMES} outcomes"),
            ))
        }
        _ => return Err(FieldErrors::single("results", "must be a list of outcomes")),
    };
    Ok(list.iter().map(parse_outcome).collect())
}

fn parse_outcome(value: &Value) -> Result<ChangeOutcome, BadOutcome> {
    let obj = value
        .as_object()
        .ok_or((None, "an outcome must be an object".to_owned()))?;
    let id = obj
        .get("id")
        .and_then(Value::as_i64)
        .filter(|id| *id > 0)
        .ok_or((None, "id: must be a positive whole number".to_owned()))?;
    let bad = |why: &str| (Some(id), why.to_owned());
    let status = match obj.get("status").and_then(Value::as_str) {
        Some("applied") => ChangeStatus::Applied,
        Some("conflict") => ChangeStatus::Conflict,
        Some("rejected") => ChangeStatus::Rejected,
        Some("refused") => ChangeStatus::Refused,
        _ => {
            return Err(bad(
                "status: must be applied, conflict, rejected or refused",
            ))
        }
    };
    let mut errors = FieldErrors::new();
    let mut result = Map::new();
    for (name, v) in obj {
        match name.as_str() {
            "id" | "status" => {}
            "wp_id" => {
                if let Some(wp_id) = whole(Some(v), "wp_id", 1, &mut errors) {
                    result.insert(name.clone(), wp_id.into());
                }
            }
            "modified_gmt" => match v.as_str().map(WpTime::parse) {
                Some(Ok(_)) => {
                    result.insert(name.clone(), v.clone());
                }
                _ => errors.add("modified_gmt", "must be a time (YYYY-MM-DD HH:MM:SS)"),
            },
            "overwritten" | "dropped" | "conflicts" => match v {
                Value::Object(_) => {
                    no_nul(v, name, &mut errors);
                    result.insert(name.clone(), v.clone());
                }
                _ => errors.add(name.as_str(), "must be an object of field path → value"),
            },
            "applied" => match v {
                Value::Array(paths) if paths.iter().all(Value::is_string) => {
                    result.insert(name.clone(), v.clone());
                }
                _ => errors.add("applied", "must be a list of field paths"),
            },
            "reason" => match v.as_str() {
                Some(r) if r.chars().count() <= MAX_REASON_CHARS && !r.contains('\0') => {
                    result.insert(name.clone(), v.clone());
                }
                _ => errors.add(
                    "reason",
                    format!("must be a string of at most {MAX_REASON_CHARS} characters"),
                ),
            },
            // Unknown fields are ignored: sites run many plugin versions.
            _ => {}
        }
    }
    match status {
        ChangeStatus::Applied if !result.contains_key("wp_id") => {
            errors.add("wp_id", "is required when applied")
        }
        ChangeStatus::Conflict
            if result
                .get("conflicts")
                .and_then(Value::as_object)
                .is_none_or(|c| c.is_empty()) =>
        {
            errors.add("conflicts", "must name the conflicting fields")
        }
        ChangeStatus::Rejected | ChangeStatus::Refused if !result.contains_key("reason") => {
            errors.add("reason", "is required")
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err((Some(id), errors.to_string()));
    }
    Ok(ChangeOutcome { id, status, result })
}

/// What recording an outcome does to a change: its new status and result, or `None` to keep it
/// as it is (a change a person already resolved). WordPress's outcome is recorded over a
/// cancellation, because it is what happened.
pub fn record_outcome(
    current: ChangeStatus,
    outcome: &ChangeOutcome,
) -> Option<(ChangeStatus, Map<String, Value>)> {
    let mut result = outcome.result.clone();
    match current {
        ChangeStatus::Resolved => None,
        ChangeStatus::Cancelled => {
            result.insert("cancelled_late".into(), Value::Bool(true));
            Some((outcome.status, result))
        }
        _ => Some((outcome.status, result)),
    }
}

/// A person's choice for one conflicting field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Platform,
    Wordpress,
}

/// The change a person's choices make: `None` when every field keeps WordPress's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    pub choices: BTreeMap<String, Choice>,
    /// The new change's fields and base.
    pub next: Option<(Map<String, Value>, Map<String, Value>)>,
}

impl Resolution {
    /// The `result.resolution` the resolved change keeps.
    pub fn record(&self, next_id: Option<i64>) -> Value {
        let choices: Map<String, Value> = self
            .choices
            .iter()
            .map(|(p, c)| {
                let c = match c {
                    Choice::Platform => "platform",
                    Choice::Wordpress => "wordpress",
                };
                (p.clone(), Value::from(c))
            })
            .collect();
        serde_json::json!({"change_id": next_id, "choices": choices})
    }
}

/// Checks a person's choices against a conflict and builds the next change: the platform's
/// values of the fields chosen `platform` (and, when the conflict applied nothing, the change's
/// other fields), based on WordPress's values as the conflict reported them.
pub fn resolve(
    fields: &Map<String, Value>,
    base: &Map<String, Value>,
    policy: ConflictPolicy,
    result: &Map<String, Value>,
    body: &Value,
) -> Result<Resolution, FieldErrors> {
    let conflicts = result
        .get("conflicts")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let Some(raw) = body.get("choices").and_then(Value::as_object) else {
        return Err(FieldErrors::single(
            "choices",
            "must be an object of field path → \"platform\" or \"wordpress\"",
        ));
    };
    let mut errors = FieldErrors::new();
    let mut choices = BTreeMap::new();
    for (path, choice) in raw {
        let path_key = format!("choices.{path}");
        if !conflicts.contains_key(path) {
            errors.add(path_key, "is not a conflicting field of this change");
            continue;
        }
        match choice.as_str() {
            Some("platform") => {
                choices.insert(path.clone(), Choice::Platform);
            }
            Some("wordpress") => {
                choices.insert(path.clone(), Choice::Wordpress);
            }
            _ => errors.add(path_key, "must be \"platform\" or \"wordpress\""),
        }
    }
    for path in conflicts.keys() {
        if !raw.contains_key(path) {
            errors.add(format!("choices.{path}"), "needs a choice");
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut next_fields = Map::new();
    let mut next_base = Map::new();
    for (path, choice) in &choices {
        if *choice == Choice::Platform {
            if let Some(v) = get_path(fields, path) {
                set_path(&mut next_fields, path, v.clone());
                let wordpress = conflicts
                    .get(path)
                    .and_then(|c| c.get("wordpress"))
                    .cloned()
                    .unwrap_or(Value::Null);
                set_path(&mut next_base, path, wordpress);
            }
        }
    }
    // Under `manual` nothing was applied: the fields that did not conflict still wait.
    if policy == ConflictPolicy::Manual {
        for path in field_paths(fields) {
            if !conflicts.contains_key(&path) {
                if let Some(v) = get_path(fields, &path) {
                    set_path(&mut next_fields, &path, v.clone());
                    let b = get_path(base, &path).cloned().unwrap_or(Value::Null);
                    set_path(&mut next_base, &path, b);
                }
            }
        }
    }
    let next = (!next_fields.is_empty()).then_some((next_fields, next_base));
    Ok(Resolution { choices, next })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn an_update_with_valid_fields_parses() {
        let r = ChangeRequest::parse(
            &json!({"op": "update", "type": "post", "wp_id": 12,
                    "fields": {"title": "New", "seo": {"description": "D"}, "terms": {"category": [3, "Fresh"]},
                               "status": "publish", "featured_image": "https://img.example/a.png"},
                    "policy": "merge"}),
            Some("k-1"),
        )
        .unwrap();
        assert_eq!(r.op, ChangeOp::Update);
        assert_eq!(r.kind, ItemKind::Post);
        assert_eq!(r.wp_id, Some(12));
        assert_eq!(r.policy, Some(ConflictPolicy::Merge));
        assert_eq!(r.idempotency_key.as_deref(), Some("k-1"));
        let mut paths = field_paths(&r.fields);
        paths.sort();
        assert_eq!(
            paths,
            [
                "featured_image",
                "seo.description",
                "status",
                "terms.category",
                "title"
            ]
        );
    }

    #[test]
    fn bad_fields_are_reported_by_path() {
        let e = ChangeRequest::parse(
            &json!({"op": "update", "type": "post", "wp_id": 0,
                    "fields": {"title": 5, "status": "inherit", "seo": {"bogus": "x"}, "terms": {"category": [0]},
                               "featured_image": "javascript:alert(1)", "author": "me", "content": "a\u{0}b"}}),
            None,
        )
        .unwrap_err();
        let m = e.as_map();
        for path in [
            "wp_id",
            "fields.title",
            "fields.status",
            "fields.seo.bogus",
            "fields.terms.category",
            "fields.featured_image",
            "fields.author",
            "fields.content",
        ] {
            assert!(m.contains_key(path), "{path} missing in {m:?}");
        }
    }

    #[test]
    fn op_rules_hold() {
        let e = |body: Value| ChangeRequest::parse(&body, None).unwrap_err();
        assert!(
            e(json!({"op": "create", "type": "post", "wp_id": 3, "fields": {"title": "t"}}))
                .as_map()
                .contains_key("wp_id")
        );
        assert!(
            e(json!({"op": "create", "type": "post", "fields": {"content": "c"}}))
                .as_map()
                .contains_key("fields.title")
        );
        assert!(
            e(json!({"op": "trash", "type": "post", "wp_id": 3, "fields": {"title": "t"}}))
                .as_map()
                .contains_key("fields")
        );
        assert!(
            e(json!({"op": "trash", "kind": "term", "type": "category", "wp_id": 3}))
                .as_map()
                .contains_key("op")
        );
        assert!(e(json!({"op": "update", "type": "post", "wp_id": 3}))
            .as_map()
            .contains_key("fields"));
        assert!(e(json!({"op": "delete", "type": "post", "wp_id": 3}))
            .as_map()
            .contains_key("op"));
        assert!(e(json!({"op": "update", "kind": "term", "type": "category", "wp_id": 3, "fields": {"title": "x"}})).as_map().contains_key("fields.title"));
        assert!(e(
            json!({"op": "update", "type": "Bad Type!", "wp_id": 3, "fields": {"title": "x"}})
        )
        .as_map()
        .contains_key("type"));
        assert!(e(json!({"op": "update", "type": "post", "wp_id": 3, "fields": {"title": "x"}, "idempotency_key": ""})).as_map().contains_key("idempotency_key"));
        assert!(ChangeRequest::parse(&json!([1]), None).is_err());
        let trash = ChangeRequest::parse(&json!({"op": "trash", "type": "page", "wp_id": 3}), None)
            .unwrap();
        assert!(trash.fields.is_empty());
    }

    #[test]
    fn base_prefers_the_client_then_unechoed_changes_then_the_copy() {
        // (Unechoed changes are overlaid on the copy first; what WordPress kept is not.)
        let fields = obj(
            json!({"title": "New", "seo": {"description": "D2", "title": "T2"}, "excerpt": "E2"}),
        );
        let client = obj(json!({"title": "Client saw"}));
        let copy = obj(
            json!({"title": "Copy", "excerpt": "Copy excerpt", "seo": {"description": "Copy D", "title": null}}),
        );
        let earlier = obj(json!({"seo": {"description": "Queued D"}, "excerpt": "Dropped E"}));
        let mut current = copy.clone();
        overlay(
            &mut current,
            &earlier,
            Some(&obj(json!({"excerpt": "Dropped E"}))),
        );
        let base = fill_base(&fields, Some(&client), &current);
        assert_eq!(
            Value::Object(base),
            json!({"title": "Client saw", "excerpt": "Copy excerpt", "seo": {"description": "Queued D", "title": null}})
        );
        assert!(!base_covers(&client, &fields));
    }

    #[test]
    fn outcomes_are_checked_one_by_one() {
        let parsed = parse_outcomes(&json!({"results": [
            {"id": 1, "status": "applied", "wp_id": 12, "modified_gmt": "2025-11-22 10:00:05", "overwritten": {"title": "old"}},
            {"id": 2, "status": "conflict", "conflicts": {"title": {"wordpress": "WP"}}, "applied": ["seo.description"]},
            {"id": 3, "status": "rejected"},
            {"id": 4, "status": "bogus"},
            "nope",
            {"id": 5, "status": "refused", "reason": "two_way_sync_disabled", "extra": 1}
        ]}))
        .unwrap();
        assert_eq!(parsed[0].as_ref().unwrap().status, ChangeStatus::Applied);
        assert_eq!(
            parsed[0].as_ref().unwrap().result["overwritten"],
            json!({"title": "old"})
        );
        assert_eq!(parsed[1].as_ref().unwrap().status, ChangeStatus::Conflict);
        assert_eq!(parsed[2].as_ref().unwrap_err().0, Some(3));
        assert_eq!(parsed[3].as_ref().unwrap_err().0, Some(4));
        assert_eq!(parsed[4].as_ref().unwrap_err().0, None);
        assert!(!parsed[5].as_ref().unwrap().result.contains_key("extra"));
        assert!(parse_outcomes(&json!({"results": {}})).is_err());
    }

    #[test]
    fn a_late_outcome_is_recorded_over_a_cancellation_but_not_over_a_resolution() {
        let outcome = ChangeOutcome {
            id: 1,
            status: ChangeStatus::Applied,
            result: obj(json!({"wp_id": 3})),
        };
        let (status, result) = record_outcome(ChangeStatus::Cancelled, &outcome).unwrap();
        assert_eq!(status, ChangeStatus::Applied);
        assert_eq!(result["cancelled_late"], json!(true));
        assert!(record_outcome(ChangeStatus::Resolved, &outcome).is_none());
        assert_eq!(
            record_outcome(ChangeStatus::Pending, &outcome).unwrap().1,
            outcome.result
        );
    }

    #[test]
    fn choices_make_the_next_change() {
        let fields =
            obj(json!({"title": "P title", "seo": {"description": "P desc"}, "excerpt": "P ex"}));
        let base =
            obj(json!({"title": "B title", "seo": {"description": "B desc"}, "excerpt": "B ex"}));
        let result = obj(
            json!({"conflicts": {"title": {"wordpress": "W title"}, "seo.description": {"wordpress": "W desc"}}}),
        );
        let r = resolve(
            &fields,
            &base,
            ConflictPolicy::Manual,
            &result,
            &json!({"choices": {"title": "platform", "seo.description": "wordpress"}}),
        )
        .unwrap();
        let (f, b) = r.next.clone().unwrap();
        assert_eq!(
            Value::Object(f),
            json!({"title": "P title", "excerpt": "P ex"})
        );
        assert_eq!(
            Value::Object(b),
            json!({"title": "W title", "excerpt": "B ex"})
        );
        // Under merge the other fields were applied already; only WordPress chosen: nothing to do.
        let r = resolve(
            &fields,
            &base,
            ConflictPolicy::Merge,
            &result,
            &json!({"choices": {"title": "wordpress", "seo.description": "wordpress"}}),
        )
        .unwrap();
        assert!(r.next.is_none());
        assert_eq!(r.record(None)["choices"]["title"], json!("wordpress"));
        // Every conflicting field needs a choice, and only those.
        let e = resolve(
            &fields,
            &base,
            ConflictPolicy::Merge,
            &result,
            &json!({"choices": {"title": "platform", "excerpt": "platform"}}),
        )
        .unwrap_err();
        assert!(e.as_map().contains_key("choices.seo.description"));
        assert!(e.as_map().contains_key("choices.excerpt"));
        assert!(resolve(
            &fields,
            &base,
            ConflictPolicy::Merge,
            &result,
            &json!({"choices": {"title": "both", "seo.description": "wordpress"}})
        )
        .is_err());
    }
}
