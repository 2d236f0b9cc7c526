//! A batch read in one pass from its JSON (bytes or an already parsed value) straight into the
//! item fields the rules in `content` judge: no JSON tree of the whole body is built first, an
//! item's text moves into its `Post` instead of being copied, and a field of the wrong type is
//! kept as the value it is, for the rules to answer item by item. Duplicate keys: the last wins,
//! as in a parsed JSON object.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{BatchError, ParsedItem, MAX_BATCH_ITEMS};
use crate::validation::FieldErrors;

/// An item's fields as sent, each any JSON value (`None`: absent).
#[derive(Default)]
pub(super) struct RawItem {
    pub op: Option<Value>,
    pub kind: Option<Value>,
    pub type_name: Option<Value>,
    pub wp_id: Option<Value>,
    pub modified_gmt: Option<Value>,
    pub checksum: Option<Value>,
    pub read_at: Option<Value>,
    pub data: DataField,
}

/// An item's `data`.
#[derive(Default)]
pub(super) enum DataField {
    #[default]
    Absent,
    Null,
    Object(Box<RawData>),
    /// Neither an object nor null.
    Other,
}

/// The fields of a post's or a term's `data` the rules read (others are ignored).
#[derive(Default)]
pub(super) struct RawData {
    pub title: Option<Value>,
    pub slug: Option<Value>,
    pub status: Option<Value>,
    pub content: Option<Value>,
    pub content_truncated: Option<Value>,
    pub excerpt: Option<Value>,
    pub author: Option<Value>,
    pub date_gmt: Option<Value>,
    pub url: Option<Value>,
    pub parent: Option<Value>,
    pub menu_order: Option<Value>,
    pub featured_image: Option<Value>,
    pub terms: Option<Value>,
    pub seo: Option<Value>,
    pub meta: Option<Value>,
    pub name: Option<Value>,
    pub description: Option<Value>,
    pub count: Option<Value>,
}

/// A batch's envelope as sent: its items already parsed one by one.
pub(super) struct RawBatch {
    pub items: Items,
    pub batch_id: Option<Value>,
    pub full_sync: Option<Value>,
}

pub(super) enum Items {
    Absent,
    Null,
    List(Vec<ParsedItem>),
    TooMany,
    /// Neither an array nor null.
    Other,
}

/// The body read: the envelope, or "not an object".
pub(super) struct Body(pub Result<RawBatch, BatchError>);

/// Consumes whatever value comes (an array or object that is not what was expected).
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// A visitor that answers `other` for anything but what `on_map` / `on_seq` / `on_null` take.
macro_rules! any_other {
    ($other:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($other)
        }
    };
}

/// A field name, matched without allocating.
struct Key(Option<usize>);

impl Key {
    fn of<'de, D: Deserializer<'de>>(
        deserializer: D,
        names: &'static [&'static str],
    ) -> Result<Self, D::Error> {
        struct KeyVisitor(&'static [&'static str]);
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(self.0.iter().position(|n| *n == v)))
            }
        }
        deserializer.deserialize_identifier(KeyVisitor(names))
    }
}

/// Seeds for keys of a given set of names.
struct Keys(&'static [&'static str]);

impl<'de> de::DeserializeSeed<'de> for Keys {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        Key::of(deserializer, self.0)
    }
}

const ITEM_FIELDS: &[&str] = &[
    "op",
    "kind",
    "type",
    "wp_id",
    "modified_gmt",
    "checksum",
    "read_at",
    "data",
];

const DATA_FIELDS: &[&str] = &[
    "title",
    "slug",
    "status",
    "content",
    "content_truncated",
    "excerpt",
    "author",
    "date_gmt",
    "url",
    "parent",
    "menu_order",
    "featured_image",
    "terms",
    "seo",
    "meta",
    "name",
    "description",
    "count",
];

const BATCH_FIELDS: &[&str] = &["items", "batch_id", "full_sync"];

impl<'de> Deserialize<'de> for ParsedItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = ParsedItem;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an item")
            }
            any_other!(ParsedItem::not_an_object());
            fn visit_unit<E: de::Error>(self) -> Result<ParsedItem, E> {
                Ok(ParsedItem::not_an_object())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ParsedItem, A::Error> {
                drain_seq(seq)?;
                Ok(ParsedItem::not_an_object())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ParsedItem, A::Error> {
                let mut raw = RawItem::default();
                while let Some(Key(field)) = map.next_key_seed(Keys(ITEM_FIELDS))? {
                    let slot = match field {
                        Some(0) => &mut raw.op,
                        Some(1) => &mut raw.kind,
                        Some(2) => &mut raw.type_name,
                        Some(3) => &mut raw.wp_id,
                        Some(4) => &mut raw.modified_gmt,
                        Some(5) => &mut raw.checksum,
                        Some(6) => &mut raw.read_at,
                        Some(_) => {
                            raw.data = map.next_value()?;
                            continue;
                        }
                        None => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = Some(map.next_value()?);
                }
                Ok(super::parse_raw_item(raw))
            }
        }
        deserializer.deserialize_any(ItemVisitor)
    }
}

impl<'de> Deserialize<'de> for DataField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DataVisitor;
        impl<'de> Visitor<'de> for DataVisitor {
            type Value = DataField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an item's data")
            }
            any_other!(DataField::Other);
            fn visit_unit<E: de::Error>(self) -> Result<DataField, E> {
                Ok(DataField::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<DataField, A::Error> {
                drain_seq(seq)?;
                Ok(DataField::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DataField, A::Error> {
                let mut d = RawData::default();
                while let Some(Key(field)) = map.next_key_seed(Keys(DATA_FIELDS))? {
                    let slot = match field {
                        Some(0) => &mut d.title,
                        Some(1) => &mut d.slug,
                        Some(2) => &mut d.status,
                        Some(3) => &mut d.content,
                        Some(4) => &mut d.content_truncated,
                        Some(5) => &mut d.excerpt,
                        Some(6) => &mut d.author,
                        Some(7) => &mut d.date_gmt,
                        Some(8) => &mut d.url,
                        Some(9) => &mut d.parent,
                        Some(10) => &mut d.menu_order,
                        Some(11) => &mut d.featured_image,
                        Some(12) => &mut d.terms,
                        Some(13) => &mut d.seo,
                        Some(14) => &mut d.meta,
                        Some(15) => &mut d.name,
                        Some(16) => &mut d.description,
                        Some(_) => &mut d.count,
                        None => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = Some(map.next_value()?);
                }
                Ok(DataField::Object(Box::new(d)))
            }
        }
        deserializer.deserialize_any(DataVisitor)
    }
}

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemsVisitor;
        impl<'de> Visitor<'de> for ItemsVisitor {
            type Value = Items;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a batch's items")
            }
            any_other!(Items::Other);
            fn visit_unit<E: de::Error>(self) -> Result<Items, E> {
                Ok(Items::Null)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Items, A::Error> {
                drain_map(map)?;
                Ok(Items::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
                let mut items =
                    Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_BATCH_ITEMS));
                while let Some(item) = seq.next_element::<ParsedItem>()? {
                    if items.len() == MAX_BATCH_ITEMS {
                        // Too many: the rest is only counted past, never parsed.
                        drain_seq(seq)?;
                        return Ok(Items::TooMany);
                    }
                    items.push(item);
                }
                Ok(Items::List(items))
            }
        }
        deserializer.deserialize_any(ItemsVisitor)
    }
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BodyVisitor;
        fn not_an_object() -> Body {
            Body(Err(BatchError::Invalid(FieldErrors::single(
                "",
                "must be a JSON object",
            ))))
        }
        impl<'de> Visitor<'de> for BodyVisitor {
            type Value = Body;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a batch")
            }
            any_other!(not_an_object());
            fn visit_unit<E: de::Error>(self) -> Result<Body, E> {
                Ok(not_an_object())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Body, A::Error> {
                drain_seq(seq)?;
                Ok(not_an_object())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
                let mut raw = RawBatch {
                    items: Items::Absent,
                    batch_id: None,
                    full_sync: None,
                };
                while let Some(Key(field)) = map.next_key_seed(Keys(BATCH_FIELDS))? {
                    match field {
                        Some(0) => raw.items = map.next_value()?,
                        Some(1) => raw.batch_id = Some(map.next_value()?),
                        Some(_) => raw.full_sync = Some(map.next_value()?),
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Body(Ok(raw)))
            }
        }
        deserializer.deserialize_any(BodyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::content::{Batch, BatchError, Change};

    /// Each item's answer, as the API lists it: ok or its errors.
    fn answers(body: &str) -> Vec<String> {
        let batch = Batch::from_json(body.as_bytes())
            .expect("JSON")
            .expect("a batch");
        // The same body read as a value first answers the same.
        let value: Value = serde_json::from_str(body).unwrap();
        assert_eq!(Batch::parse(&value).as_ref(), Ok(&batch), "{body}");
        batch
            .items
            .iter()
            .map(|i| match &i.change {
                Ok(Change::UpsertPost(p)) => format!("post {} {}", p.wp_id, p.title),
                Ok(c) => format!("ok {}", c.key()),
                Err(e) => e.to_string(),
            })
            .collect()
    }

    #[test]
    fn wrong_types_anywhere_are_answered_item_by_item() {
        let got = answers(
            r#"{"items": [1, "x", null, [1, [2]], {"a": {"b": []}},
                {"op": 5, "kind": [], "type": {}, "wp_id": "7"},
                {"op": "upsert", "kind": "post", "type": "post", "wp_id": 1, "modified_gmt": "2025-11-22 10:00:00", "data": []},
                {"op": "upsert", "kind": "post", "type": "post", "wp_id": 2, "modified_gmt": "2025-11-22 10:00:00", "data": "x"},
                {"op": "upsert", "kind": "term", "type": "genre", "wp_id": 3, "data": null},
                {"op": "upsert", "kind": "post", "type": "post", "wp_id": 4, "modified_gmt": 5, "checksum": -1, "read_at": [],
                 "data": {"title": 5, "content": {}, "status": [], "terms": "x", "seo": 1, "meta": [], "parent": "1",
                          "menu_order": 1.5, "content_truncated": "yes", "url": 1, "date_gmt": 7}}]}"#,
        );
        let not_object = ": must be an object";
        assert_eq!(&got[..4], [not_object; 4]);
        assert_eq!(
            got[4],
            "kind: must be \"post\" or \"term\"; op: must be \"upsert\" or \"delete\"; wp_id: is required"
        );
        assert_eq!(
            got[5],
            "kind: must be \"post\" or \"term\"; op: must be \"upsert\" or \"delete\"; wp_id: must be a number"
        );
        assert_eq!(got[6], "data: must be an object");
        assert_eq!(got[7], "data: must be an object");
        assert_eq!(got[8], "data: is required for an upsert");
        assert_eq!(
            got[9],
            "checksum: must be a CRC-32: a whole number from 0 to 4294967295; \
             data.content: must be a string; data.content_truncated: must be true or false; \
             data.date_gmt: must be a string or null; data.menu_order: must be a whole number; \
             data.meta: must be an object; data.parent: must be a number; \
             data.seo: must be an object or null; \
             data.status: must be a post status: 1 to 20 lowercase letters, digits, '_' or '-'; \
             data.terms: must be an object of taxonomy → term ids; data.title: must be a string; \
             data.url: must be a string or null; modified_gmt: must be a string; read_at: must be a string"
        );
    }

    #[test]
    fn the_last_of_duplicate_keys_wins_and_escaped_keys_are_read() {
        let got = answers(
            r#"{"items": [{"op": "upsert", "\u006fp": "delete", "kind": "post", "type": "post", "wp_id": 9,
                           "wp_id": 8, "unknown": {"deep": [1, {"x": null}]}}],
                "items": [{"op": "delete", "kind": "term", "type": "genre", "wp_id": 7}]}"#,
        );
        assert_eq!(got, ["ok term genre 7"]);
        let got = answers(
            r#"{"items": [{"op": "upsert", "\u006fp": "delete", "kind": "post", "type": "post", "wp_id": 9, "wp_id": 8}]}"#,
        );
        assert_eq!(got, ["ok post post 8"]);
    }

    #[test]
    fn the_envelope_is_checked_as_before() {
        let refused = |body: &str| {
            Batch::from_json(body.as_bytes())
                .expect("JSON")
                .unwrap_err()
        };
        let invalid = |body: &str| match refused(body) {
            BatchError::Invalid(e) => e.to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(invalid("[]"), ": must be a JSON object");
        assert_eq!(invalid("\"x\""), ": must be a JSON object");
        assert_eq!(invalid("null"), ": must be a JSON object");
        assert_eq!(invalid("{}"), "items: is required");
        assert_eq!(
            invalid(r#"{"items": {"a": [1]}}"#),
            "items: must be an array of items"
        );
        assert_eq!(
            invalid(r#"{"items": [], "batch_id": 5, "full_sync": []}"#),
            "batch_id: must be a string of 1 to 100 printable characters; \
             full_sync: must be an object with run_id, kind, type, from_id and to_id"
        );
        let many = format!(
            r#"{{"batch_id": 5, "items": [{}"garbage", {{"x": [1]}}]}}"#,
            "{},".repeat(super::MAX_BATCH_ITEMS)
        );
        assert_eq!(refused(&many), BatchError::TooManyItems);
        // Not JSON: the JSON's own error, with its position.
        let e = Batch::from_json(br#"{"items": [{"op": }]}"#).unwrap_err();
        assert_eq!((e.line(), e.column()), (1, 19));
        assert!(Batch::from_json(br#"{"items": []} x"#).is_err());
    }
}
