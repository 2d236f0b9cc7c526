//! A site's structure (post types and taxonomies with counts) as the plugin pushes it, and the rule
//! that merges a push into the integration's `config_json` without losing platform-owned settings.
//!
//! WordPress reports what exists and how many; the platform owns `enabled` and `fetch_limit`. A type
//! seen for the first time takes the plugin's values; a setting changed in the platform is kept in
//! `config_json.platform_settings` and wins over every later push.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::names::{TypeKind, TypeName};
use crate::validation::FieldErrors;

/// Bounds that keep one push reasonable; WordPress sites have tens of types, not thousands.
pub const MAX_TYPES_PER_KIND: usize = 1_000;
pub const MAX_LABEL_CHARS: usize = 200;
pub const MAX_FETCH_LIMIT: u64 = 1_000_000;
pub const MAX_COUNT: u64 = 1_000_000_000_000;
/// What a push that leaves the flags out means.
const PLUGIN_CONNECTION_DEFAULT: bool = true;
const TWO_WAY_SYNC_DEFAULT: bool = false;

/// One post type or taxonomy as stored and answered: what WordPress reported plus the effective
/// sync settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeEntry {
    pub label: String,
    pub count: u64,
    pub enabled: bool,
    pub fetch_limit: u64,
}

/// Post types and taxonomies by name: `config_json.content_types`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentTypes {
    #[serde(default)]
    pub post_types: BTreeMap<String, TypeEntry>,
    #[serde(default)]
    pub taxonomies: BTreeMap<String, TypeEntry>,
}

impl ContentTypes {
    pub fn of_kind(&self, kind: TypeKind) -> &BTreeMap<String, TypeEntry> {
        match kind {
            TypeKind::PostType => &self.post_types,
            TypeKind::Taxonomy => &self.taxonomies,
        }
    }

    fn of_kind_mut(&mut self, kind: TypeKind) -> &mut BTreeMap<String, TypeEntry> {
        match kind {
            TypeKind::PostType => &mut self.post_types,
            TypeKind::Taxonomy => &mut self.taxonomies,
        }
    }
}

/// A validated `update-structure` request.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteStructure {
    pub content_types: ContentTypes,
    pub plugin_connection_enabled: bool,
    pub two_way_sync_enabled: bool,
    pub timestamp: DateTime<Utc>,
}

impl SiteStructure {
    /// Parses a push, collecting every problem with its field path. Unknown fields are ignored
    /// (sites run many plugin versions); `timestamp` defaults to `now` when absent.
    pub fn parse(body: &Value, now: DateTime<Utc>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Some(obj) = body.as_object() else {
            return Err(FieldErrors::single("", "must be a JSON object"));
        };
        let mut content_types = ContentTypes::default();
        for kind in TypeKind::ALL {
            let field = kind.field();
            match obj.get(field) {
                None | Some(Value::Null) => errors.add(field, "is required"),
                Some(Value::Object(map)) => {
                    if map.len() > MAX_TYPES_PER_KIND {
                        errors.add(
                            field,
                            format!("must hold at most {MAX_TYPES_PER_KIND} entries"),
                        );
                        continue;
                    }
                    for (name, entry) in map {
                        let path = format!("{field}.{name}");
                        match TypeName::parse(kind, name) {
                            Err(why) => errors.add(path, why),
                            Ok(name) => {
                                if let Some(entry) = parse_entry(entry, &path, &mut errors) {
                                    content_types
                                        .of_kind_mut(kind)
                                        .insert(name.as_str().to_owned(), entry);
                                }
                            }
                        }
                    }
                }
                Some(_) => errors.add(field, "must be an object keyed by name"),
            }
        }
        let plugin_connection_enabled = optional_bool(
            obj,
            "plugin_connection_enabled",
            PLUGIN_CONNECTION_DEFAULT,
            &mut errors,
        );
        let two_way_sync_enabled = optional_bool(
            obj,
            "two_way_sync_enabled",
            TWO_WAY_SYNC_DEFAULT,
            &mut errors,
        );
        let timestamp = match obj.get("timestamp") {
            None | Some(Value::Null) => now,
            Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
                Ok(t) => t.with_timezone(&Utc),
                Err(_) => {
                    errors.add(
                        "timestamp",
                        "must be an RFC 3339 time such as 2025-11-22T10:00:00Z",
                    );
                    now
                }
            },
            Some(_) => {
                errors.add("timestamp", "must be a string");
                now
            }
        };
        errors.into_result(SiteStructure {
            content_types,
            plugin_connection_enabled,
            two_way_sync_enabled,
            timestamp,
        })
    }
}

impl SiteStructure {
    /// The pushed types with the platform's own settings winning over the plugin's values.
    fn merged_with(&self, overrides: &PlatformSettings) -> ContentTypes {
        let mut merged = self.content_types.clone();
        for kind in TypeKind::ALL {
            for (name, entry) in merged.of_kind_mut(kind).iter_mut() {
                if let Some(o) = overrides.of_kind(kind).get(name) {
                    entry.enabled = o.enabled.unwrap_or(entry.enabled);
                    entry.fetch_limit = o.fetch_limit.unwrap_or(entry.fetch_limit);
                }
            }
        }
        merged
    }

    /// The keys of `config_json` a push sets, given its merged types, as JSON text. (Writing
    /// these plain values cannot fail.)
    fn config_fields(
        &self,
        merged: &ContentTypes,
    ) -> serde_json::Result<[(&'static str, Box<RawValue>); 4]> {
        use serde_json::value::to_raw_value as raw;
        let fetched = self.timestamp.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        Ok([
            ("content_types", raw(merged)?),
            ("last_structure_fetch", raw(&fetched)?),
            (
                "plugin_connection_enabled",
                raw(&self.plugin_connection_enabled)?,
            ),
            ("two_way_sync_enabled", raw(&self.two_way_sync_enabled)?),
        ])
    }
}

/// A push as its JSON reads when it is valid: `SiteStructure::parse_valid` reads this straight
/// from the body (unknown fields ignored), then checks the rules `parse` checks.
#[derive(Deserialize)]
struct ValidPush {
    post_types: BTreeMap<String, TypeEntry>,
    taxonomies: BTreeMap<String, TypeEntry>,
    plugin_connection_enabled: Option<bool>,
    two_way_sync_enabled: Option<bool>,
    timestamp: Option<String>,
}

impl SiteStructure {
    /// The push in a valid body, read straight into its types: the request every connected site
    /// repeats, without building the body's tree. `None` when anything in it is off; `parse`
    /// then names every problem with its field path.
    pub fn parse_valid(body: &[u8], now: DateTime<Utc>) -> Option<Self> {
        let push: ValidPush = serde_json::from_slice(body).ok()?;
        let content_types = ContentTypes {
            post_types: push.post_types,
            taxonomies: push.taxonomies,
        };
        for kind in TypeKind::ALL {
            let entries = content_types.of_kind(kind);
            let valid = entries.len() <= MAX_TYPES_PER_KIND
                && entries.iter().all(|(name, e)| {
                    TypeName::parse(kind, name).is_ok()
                        && label_problem(&e.label).is_none()
                        && e.count <= MAX_COUNT
                        && (1..=MAX_FETCH_LIMIT).contains(&e.fetch_limit)
                });
            if !valid {
                return None;
            }
        }
        let timestamp = match push.timestamp {
            None => now,
            Some(t) => DateTime::parse_from_rfc3339(&t).ok()?.with_timezone(&Utc),
        };
        Some(SiteStructure {
            content_types,
            plugin_connection_enabled: push
                .plugin_connection_enabled
                .unwrap_or(PLUGIN_CONNECTION_DEFAULT),
            two_way_sync_enabled: push.two_way_sync_enabled.unwrap_or(TWO_WAY_SYNC_DEFAULT),
            timestamp,
        })
    }
}

fn optional_bool(
    obj: &Map<String, Value>,
    key: &str,
    default: bool,
    errors: &mut FieldErrors,
) -> bool {
    match obj.get(key) {
        None | Some(Value::Null) => default,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.add(key, "must be true or false");
            default
        }
    }
}

fn parse_entry(entry: &Value, path: &str, errors: &mut FieldErrors) -> Option<TypeEntry> {
    let Some(obj) = entry.as_object() else {
        errors.add(
            path,
            "must be an object with label, count, enabled and fetch_limit",
        );
        return None;
    };
    let before = errors.as_map().len();
    let label = match obj.get("label") {
        Some(Value::String(s)) => match label_problem(s) {
            Some(why) => {
                errors.add(format!("{path}.label"), why);
                String::new()
            }
            None => s.clone(),
        },
        None | Some(Value::Null) => {
            errors.add(format!("{path}.label"), "is required");
            String::new()
        }
        Some(_) => {
            errors.add(format!("{path}.label"), "must be a string");
            String::new()
        }
    };
    let count = bounded_u64(
        obj.get("count"),
        &format!("{path}.count"),
        0,
        MAX_COUNT,
        errors,
    );
    let enabled = match obj.get("enabled") {
        Some(Value::Bool(b)) => *b,
        None | Some(Value::Null) => {
            errors.add(format!("{path}.enabled"), "is required");
            false
        }
        Some(_) => {
            errors.add(format!("{path}.enabled"), "must be true or false");
            false
        }
    };
    let fetch_limit = bounded_u64(
        obj.get("fetch_limit"),
        &format!("{path}.fetch_limit"),
        1,
        MAX_FETCH_LIMIT,
        errors,
    );
    (errors.as_map().len() == before).then_some(TypeEntry {
        label,
        count,
        enabled,
        fetch_limit,
    })
}

/// What is wrong with a type's label, if anything.
fn label_problem(label: &str) -> Option<String> {
    if label.chars().any(char::is_control) {
        Some("must not contain control characters".into())
    } else if label.chars().count() > MAX_LABEL_CHARS {
        Some(format!("must be at most {MAX_LABEL_CHARS} characters"))
    } else {
        None
    }
}

/// An integer in `min..=max`; `None` (with an error recorded) otherwise.
pub fn bounded_u64(
    value: Option<&Value>,
    path: &str,
    min: u64,
    max: u64,
    errors: &mut FieldErrors,
) -> u64 {
    match value {
        None | Some(Value::Null) => {
            errors.add(path, "is required");
            0
        }
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if (min..=max).contains(&v) => v,
            _ if n.as_i64().is_some_and(|v| v < 0) && min == 0 => {
                errors.add(path, "must not be negative");
                0
            }
            _ => {
                errors.add(path, format!("must be a whole number from {min} to {max}"));
                0
            }
        },
        Some(_) => {
            errors.add(path, "must be a number");
            0
        }
    }
}

/// Platform-owned overrides of one type: set by the dashboard or the PATCH operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetch_limit: Option<u64>,
}

/// `config_json.platform_settings`: the settings the platform changed, per kind and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformSettings {
    #[serde(default)]
    pub post_types: BTreeMap<String, SettingsOverride>,
    #[serde(default)]
    pub taxonomies: BTreeMap<String, SettingsOverride>,
}

impl PlatformSettings {
    fn of_kind(&self, kind: TypeKind) -> &BTreeMap<String, SettingsOverride> {
        match kind {
            TypeKind::PostType => &self.post_types,
            TypeKind::Taxonomy => &self.taxonomies,
        }
    }

    fn of_kind_mut(&mut self, kind: TypeKind) -> &mut BTreeMap<String, SettingsOverride> {
        match kind {
            TypeKind::PostType => &mut self.post_types,
            TypeKind::Taxonomy => &mut self.taxonomies,
        }
    }
}

/// The typed view of an integration's `config_json`, keeping every key it does not know.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IntegrationConfig {
    raw: Map<String, Value>,
}

impl IntegrationConfig {
    /// Reads a stored config; anything that is not an object starts empty.
    pub fn from_json(value: Value) -> Self {
        match value {
            Value::Object(raw) => Self { raw },
            _ => Self::default(),
        }
    }

    pub fn into_json(self) -> Value {
        Value::Object(self.raw)
    }

    pub fn content_types(&self) -> ContentTypes {
        self.raw
            .get("content_types")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    pub fn platform_settings(&self) -> PlatformSettings {
        self.raw
            .get("platform_settings")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    }

    pub fn last_structure_fetch(&self) -> Option<DateTime<Utc>> {
        self.raw
            .get("last_structure_fetch")
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    pub fn plugin_connection_enabled(&self) -> bool {
        self.raw
            .get("plugin_connection_enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    pub fn two_way_sync_enabled(&self) -> bool {
        self.raw
            .get("two_way_sync_enabled")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    fn set<T: Serialize>(&mut self, key: &str, value: T) {
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.raw.insert(key.to_owned(), value);
    }

    /// Merges a structure push: WordPress's labels and counts replace the stored ones, types that
    /// no longer exist leave, and platform-owned settings win over the plugin's values. Answers
    /// the content types as stored.
    pub fn apply_structure(&mut self, push: &SiteStructure) -> ContentTypes {
        let merged = push.merged_with(&self.platform_settings());
        for (key, value) in push.config_fields(&merged).into_iter().flatten() {
            let value = serde_json::from_str(value.get()).unwrap_or(Value::Null);
            self.raw.insert(key.to_owned(), value);
        }
        merged
    }

    /// `apply_structure` on a stored config's text, without building its tree: keys a push does
    /// not set are copied as they are, so the text holds what `apply_structure` then `into_json`
    /// would (keys inside the pushed types in their declared order). `None` when the text is not a plain JSON object (a key with
    /// escapes, for one); `from_json` handles every case.
    pub fn apply_structure_to_text(
        stored: &str,
        push: &SiteStructure,
    ) -> Option<(String, ContentTypes)> {
        let mut raw: BTreeMap<&str, &RawValue> = serde_json::from_str(stored).ok()?;
        let overrides = raw
            .get("platform_settings")
            .and_then(|v| serde_json::from_str(v.get()).ok())
            .unwrap_or_default();
        let merged = push.merged_with(&overrides);
        let fields = push.config_fields(&merged).ok()?;
        for (key, value) in &fields {
            raw.insert(key, value);
        }
        Some((serde_json::to_string(&raw).ok()?, merged))
    }

    /// Applies the platform's own change of settings; names the site has not reported are refused.
    pub fn apply_settings(&mut self, change: &SettingsChange) -> Result<(), FieldErrors> {
        let mut types = self.content_types();
        let mut overrides = self.platform_settings();
        let mut errors = FieldErrors::new();
        for kind in TypeKind::ALL {
            for (name, o) in change.of_kind(kind) {
                let Some(entry) = types.of_kind_mut(kind).get_mut(name) else {
                    errors.add(
                        format!("{}.{name}", kind.field()),
                        "is not a type this site has reported",
                    );
                    continue;
                };
                let stored = overrides.of_kind_mut(kind).entry(name.clone()).or_default();
                if let Some(enabled) = o.enabled {
                    entry.enabled = enabled;
                    stored.enabled = Some(enabled);
                }
                if let Some(limit) = o.fetch_limit {
                    entry.fetch_limit = limit;
                    stored.fetch_limit = Some(limit);
                }
            }
        }
        errors.into_result(())?;
        self.set("content_types", types);
        self.set("platform_settings", overrides);
        Ok(())
    }
}

/// A validated settings change: `{"post_types": {"book": {"enabled": true, "fetch_limit": 500}}}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsChange {
    pub post_types: BTreeMap<String, SettingsOverride>,
    pub taxonomies: BTreeMap<String, SettingsOverride>,
}

impl SettingsChange {
    fn of_kind(&self, kind: TypeKind) -> &BTreeMap<String, SettingsOverride> {
        match kind {
            TypeKind::PostType => &self.post_types,
            TypeKind::Taxonomy => &self.taxonomies,
        }
    }

    pub fn parse(body: &Value) -> Result<Self, FieldErrors> {
        let Some(obj) = body.as_object() else {
            return Err(FieldErrors::single("", "must be a JSON object"));
        };
        let mut errors = FieldErrors::new();
        let mut change = SettingsChange::default();
        for kind in TypeKind::ALL {
            let field = kind.field();
            let map = match obj.get(field) {
                None | Some(Value::Null) => continue,
                Some(Value::Object(map)) => map,
                Some(_) => {
                    errors.add(field, "must be an object keyed by name");
                    continue;
                }
            };
            for (name, settings) in map {
                let path = format!("{field}.{name}");
                if let Err(why) = TypeName::parse(kind, name) {
                    errors.add(path, why);
                    continue;
                }
                let Some(settings) = settings.as_object() else {
                    errors.add(path, "must be an object with enabled and/or fetch_limit");
                    continue;
                };
                let mut o = SettingsOverride::default();
                match settings.get("enabled") {
                    None | Some(Value::Null) => {}
                    Some(Value::Bool(b)) => o.enabled = Some(*b),
                    Some(_) => errors.add(format!("{path}.enabled"), "must be true or false"),
                }
                if let Some(v) = settings.get("fetch_limit").filter(|v| !v.is_null()) {
                    let limit = bounded_u64(
                        Some(v),
                        &format!("{path}.fetch_limit"),
                        1,
                        MAX_FETCH_LIMIT,
                        &mut errors,
                    );
                    o.fetch_limit = Some(limit);
                }
                let target = match kind {
                    TypeKind::PostType => &mut change.post_types,
                    TypeKind::Taxonomy => &mut change.taxonomies,
                };
                target.insert(name.clone(), o);
            }
        }
        errors.into_result(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seed() -> Value {
        json!({
            "post_types": {
                "post":    {"label": "Posts",    "count": 123, "enabled": true,  "fetch_limit": 100},
                "page":    {"label": "Pages",    "count": 12,  "enabled": true,  "fetch_limit": 100},
                "product": {"label": "Products", "count": 456, "enabled": false, "fetch_limit": 50}
            },
            "taxonomies": {
                "category":    {"label": "Categories", "count": 25,  "enabled": true,  "fetch_limit": 100},
                "post_tag":    {"label": "Tags",       "count": 102, "enabled": true,  "fetch_limit": 100},
                "product_cat": {"label": "Product Categories", "count": 15, "enabled": false, "fetch_limit": 50}
            },
            "plugin_connection_enabled": true,
            "two_way_sync_enabled": true,
            "timestamp": "2025-11-22T10:00:00Z"
        })
    }

    fn parse(v: &Value) -> Result<SiteStructure, FieldErrors> {
        SiteStructure::parse(v, Utc::now())
    }

    #[test]
    fn the_seed_payload_parses() {
        let s = parse(&seed()).unwrap();
        assert_eq!(s.content_types.post_types.len(), 3);
        assert_eq!(s.content_types.taxonomies["product_cat"].fetch_limit, 50);
        assert!(s.two_way_sync_enabled);
        assert_eq!(s.timestamp.to_rfc3339(), "2025-11-22T10:00:00+00:00");
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let mut body = seed();
        body["post_types"]["post"]["count"] = json!(-1);
        body["post_types"]["page"]["enabled"] = json!("yes");
        body["post_types"]["Bad Name"] =
            json!({"label": "x", "count": 1, "enabled": true, "fetch_limit": 1});
        body["taxonomies"]["category"]["fetch_limit"] = json!(0);
        body["taxonomies"]["post_tag"]
            .as_object_mut()
            .unwrap()
            .remove("label");
        body["timestamp"] = json!("yesterday");
        let errors = parse(&body).unwrap_err().into_map();
        assert_eq!(
            errors["post_types.post.count"],
            vec!["must not be negative"]
        );
        assert_eq!(
            errors["post_types.page.enabled"],
            vec!["must be true or false"]
        );
        assert!(errors.contains_key("post_types.Bad Name"));
        assert!(errors.contains_key("taxonomies.category.fetch_limit"));
        assert_eq!(errors["taxonomies.post_tag.label"], vec!["is required"]);
        assert!(errors.contains_key("timestamp"));
    }

    #[test]
    fn missing_maps_are_required_and_unknown_fields_ignored() {
        let errors = parse(&json!({"hello": 1})).unwrap_err().into_map();
        assert!(errors.contains_key("post_types") && errors.contains_key("taxonomies"));
        let mut body = seed();
        body["future_field"] = json!({"a": 1});
        body["post_types"]["post"]["future"] = json!(true);
        assert!(parse(&body).is_ok());
        assert!(parse(&json!([1, 2])).is_err());
    }

    #[test]
    fn structure_push_keeps_other_config_keys() {
        let mut config = IntegrationConfig::from_json(
            json!({"api_base": "x", "content_types": {"post_types": {"gone": {"label": "Gone", "count": 1, "enabled": true, "fetch_limit": 1}}}}),
        );
        config.apply_structure(&parse(&seed()).unwrap());
        let json = config.clone().into_json();
        assert_eq!(json["api_base"], "x");
        assert_eq!(json["last_structure_fetch"], "2025-11-22T10:00:00Z");
        assert_eq!(json["content_types"]["post_types"]["post"]["count"], 123);
        assert!(json["content_types"]["post_types"].get("gone").is_none());
        assert_eq!(
            config.last_structure_fetch().unwrap().to_rfc3339(),
            "2025-11-22T10:00:00+00:00"
        );
    }

    #[test]
    fn structure_push_keeps_platform_owned_settings() {
        let mut config = IntegrationConfig::default();
        config.apply_structure(&parse(&seed()).unwrap());
        let change = SettingsChange::parse(&json!({"post_types": {"product": {"enabled": true, "fetch_limit": 500}}, "taxonomies": {"category": {"enabled": false}}})).unwrap();
        config.apply_settings(&change).unwrap();
        // The plugin pushes its own values again: the platform's changes win, the rest follows the plugin.
        let mut again = seed();
        again["post_types"]["product"]["count"] = json!(999);
        again["post_types"]["post"]["fetch_limit"] = json!(10);
        config.apply_structure(&parse(&again).unwrap());
        let types = config.content_types();
        assert_eq!(
            types.post_types["product"],
            TypeEntry {
                label: "Products".into(),
                count: 999,
                enabled: true,
                fetch_limit: 500
            }
        );
        assert_eq!(types.post_types["post"].fetch_limit, 10);
        assert!(!types.taxonomies["category"].enabled);
        assert_eq!(types.taxonomies["category"].fetch_limit, 100);
    }

    #[test]
    fn the_typed_reading_accepts_exactly_what_parse_accepts_and_agrees() {
        let now = Utc::now();
        let with = |f: &dyn Fn(&mut Value)| {
            let mut body = seed();
            f(&mut body);
            body
        };
        let long_label = "é".repeat(MAX_LABEL_CHARS + 1);
        let many: Map<String, Value> = (0..=MAX_TYPES_PER_KIND)
            .map(|i| (format!("t{i}"), seed()["post_types"]["post"].clone()))
            .collect();
        let bodies = [
            seed(),
            with(&|b| b["future_field"] = json!({"a": 1})),
            with(&|b| b["post_types"]["post"]["future"] = json!(true)),
            with(&|b| {
                b.as_object_mut()
                    .unwrap()
                    .remove("timestamp")
                    .map(drop)
                    .unwrap()
            }),
            with(&|b| b["timestamp"] = Value::Null),
            with(&|b| b["plugin_connection_enabled"] = Value::Null),
            with(&|b| b["two_way_sync_enabled"] = json!(true)),
            with(&|b| b["post_types"] = json!({})),
            with(&|b| b["post_types"]["post"]["label"] = json!("<b>Posts</b> \"é\" 📝")),
            // Every one of these is refused, by both readings.
            with(&|b| b["post_types"]["post"]["label"] = json!(long_label)),
            with(&|b| b["post_types"]["post"]["label"] = json!("a\u{7}b")),
            with(&|b| b["post_types"]["post"]["count"] = json!(-1)),
            with(&|b| b["post_types"]["post"]["count"] = json!(1.5)),
            with(&|b| b["post_types"]["post"]["count"] = json!(MAX_COUNT + 1)),
            with(&|b| b["post_types"]["post"]["fetch_limit"] = json!(0)),
            with(&|b| b["post_types"]["post"]["fetch_limit"] = json!(MAX_FETCH_LIMIT + 1)),
            with(&|b| b["post_types"]["post"]["enabled"] = json!("yes")),
            with(&|b| {
                b["post_types"]["post"]
                    .as_object_mut()
                    .unwrap()
                    .remove("label")
                    .map(drop)
                    .unwrap()
            }),
            with(&|b| b["post_types"]["Bad Name"] = b["post_types"]["post"].clone()),
            with(&|b| b["taxonomies"]["x".repeat(40)] = b["post_types"]["post"].clone()),
            with(&|b| b["post_types"] = Value::Object(many.clone())),
            with(&|b| b["post_types"] = Value::Null),
            with(&|b| b["taxonomies"] = json!([])),
            with(&|b| b["timestamp"] = json!("yesterday")),
            with(&|b| b["timestamp"] = json!(5)),
            with(&|b| b["plugin_connection_enabled"] = json!(1)),
            json!([]),
            json!("post_types"),
        ];
        for body in bodies {
            let typed = SiteStructure::parse_valid(body.to_string().as_bytes(), now);
            assert_eq!(typed, SiteStructure::parse(&body, now).ok(), "{body}");
        }
    }

    #[test]
    fn a_push_on_the_stored_text_writes_what_the_tree_writes() {
        let mut config =
            IntegrationConfig::from_json(json!({"api_base": "x", "z": [1, {"b": null}]}));
        config.apply_structure(&parse(&seed()).unwrap());
        let change =
            SettingsChange::parse(&json!({"post_types": {"product": {"enabled": true}}})).unwrap();
        config.apply_settings(&change).unwrap();
        let mut again = seed();
        again["post_types"]["product"]["count"] = json!(7);
        again["timestamp"] = json!("2026-01-02T03:04:05.5Z");
        let push = parse(&again).unwrap();
        let stored = config.clone().into_json().to_string();

        let (text, types) = IntegrationConfig::apply_structure_to_text(&stored, &push).unwrap();
        let tree_types = config.apply_structure(&push);
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            config.into_json()
        );
        assert!(
            text.contains(r#""z":[1,{"b":null}]"#),
            "other keys are copied as they are"
        );
        assert_eq!(types, tree_types);
        assert!(types.post_types["product"].enabled);
        // What the text path does not read, the tree path handles.
        for odd in ["[]", "null", "{\"k\\u00e9y\": 1}", "not json"] {
            assert!(IntegrationConfig::apply_structure_to_text(odd, &push).is_none());
        }
    }

    #[test]
    fn settings_for_unreported_types_are_refused_and_change_nothing() {
        let mut config = IntegrationConfig::default();
        config.apply_structure(&parse(&seed()).unwrap());
        let before = config.clone();
        let change = SettingsChange::parse(
            &json!({"post_types": {"post": {"enabled": false}, "book": {"enabled": true}}}),
        )
        .unwrap();
        let errors = config.apply_settings(&change).unwrap_err().into_map();
        assert!(errors.contains_key("post_types.book"));
        assert_eq!(config, before);
    }

    #[test]
    fn settings_change_rejects_wrong_types() {
        let errors = SettingsChange::parse(
            &json!({"post_types": {"post": {"enabled": 1, "fetch_limit": -5}}, "taxonomies": 3}),
        )
        .unwrap_err()
        .into_map();
        assert!(errors.contains_key("post_types.post.enabled"));
        assert!(errors.contains_key("post_types.post.fetch_limit"));
        assert!(errors.contains_key("taxonomies"));
    }
}
