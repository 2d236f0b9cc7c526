//! The post forms' values: what the edit and new-post forms show, read back from a submission and
//! turned into a change's `fields` and `base`: only what the user changed, judged against what the
//! form showed (carried in the form), never against whatever the platform holds by then.

use std::collections::{BTreeMap, BTreeSet};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use igny8_domain::changes::{get_path, set_path, SEO_FIELDS};
use igny8_domain::content::WpTime;
use rand::Rng;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::view::FormErrors;

/// The statuses the forms offer; the trash has its own button.
pub const FORM_STATUSES: [&str; 5] = ["draft", "pending", "publish", "future", "private"];
/// Past this many terms a taxonomy offers only the post's own as checkboxes; others go by name
/// (WordPress assigns an existing term of that name).
pub const MAX_TERM_CHECKBOXES: usize = 200;

/// A synced taxonomy the forms offer, with its synced terms (id, name).
pub struct TaxonomyTerms {
    pub slug: String,
    pub label: String,
    pub terms: Vec<(i64, String)>,
}

/// Words for a field path, as forms, conflicts and results name it.
pub fn field_label(path: &str) -> String {
    let fixed = match path {
        "title" => "Title",
        "content" => "Content",
        "excerpt" => "Excerpt",
        "slug" => "Slug",
        "status" => "Status",
        "date_gmt" => "Publication date (GMT)",
        "parent" => "Parent",
        "menu_order" => "Menu order",
        "featured_image" => "Featured image URL",
        "seo.title" => "SEO title",
        "seo.description" => "SEO description",
        "seo.focus_keyword" => "Focus keyword",
        "seo.canonical" => "Canonical URL",
        "seo.robots" => "Robots",
        "name" => "Name",
        "description" => "Description",
        "type" => "Type",
        _ => {
            return match path.strip_prefix("terms.") {
                Some(taxonomy) => format!("Terms ({taxonomy})"),
                None => path.to_owned(),
            }
        }
    };
    fixed.to_owned()
}

/// A fresh idempotency key: a form rendered once queues at most one change, however often it is
/// submitted.
pub fn idempotency_key() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    format!("dashboard-{}", B64.encode(bytes))
}

/// What a browser sends back for what a field showed: textareas send CRLF line ends, text inputs
/// drop line breaks altogether.
fn normalize_text(path: &str, text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    if matches!(path, "content" | "excerpt" | "seo.description") {
        text
    } else {
        text.replace('\n', "")
    }
}

/// `2025-11-22T10:00` (a datetime-local input) or `2025-11-22 10:00:00` → `2025-11-22 10:00:00`;
/// WordPress's zero date is no date. Anything else is kept for the domain to judge.
fn normalize_date(raw: &str) -> String {
    let raw = raw.trim();
    if raw.is_empty() || raw.starts_with("0000-00-00") {
        return String::new();
    }
    let spaced = raw.replacen('T', " ", 1);
    if spaced.len() == 16 {
        format!("{spaced}:00")
    } else {
        spaced
    }
}

/// A date as a datetime-local input shows it; what is not a date is shown as typed.
fn date_input(value: Option<&Value>) -> String {
    let raw = value.and_then(Value::as_str).unwrap_or_default();
    let date = normalize_date(raw);
    if date.is_empty() {
        String::new()
    } else if WpTime::parse(&date).is_ok() {
        date.replacen(' ', "T", 1)
    } else {
        raw.to_owned()
    }
}

fn text_of(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// One term of a post's taxonomy: an id, or a name WordPress looks up or creates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum TermRef {
    Id(i64),
    Name(String),
}

fn term_refs(value: Option<&Value>) -> BTreeSet<TermRef> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| match t {
            Value::Number(n) => n.as_i64().map(TermRef::Id),
            Value::String(s) if !s.trim().is_empty() => Some(TermRef::Name(s.trim().to_owned())),
            _ => None,
        })
        .collect()
}

/// Whether a field's submitted value is what the form showed.
fn same(path: &str, shown: Option<&Value>, submitted: Option<&Value>) -> bool {
    if path.starts_with("terms.") {
        return term_refs(shown) == term_refs(submitted);
    }
    if path == "date_gmt" {
        return normalize_date(&text_of(shown)) == normalize_date(&text_of(submitted));
    }
    normalize_text(path, &text_of(shown)) == normalize_text(path, &text_of(submitted))
}

fn sha256(text: &str) -> String {
    B64.encode(Sha256::digest(normalize_text("content", text).as_bytes()))
}

pub struct StatusChoice {
    pub value: String,
    pub label: &'static str,
}

fn status_label(status: &str) -> &'static str {
    match status {
        "draft" => "Draft",
        "pending" => "Pending review",
        "publish" => "Published",
        "future" => "Scheduled",
        "private" => "Private",
        "trash" => "In the trash",
        _ => "Other (kept as it is)",
    }
}

pub struct SeoInput {
    pub name: String,
    pub id: String,
    pub label: String,
    pub value: String,
    pub multiline: bool,
    pub error: Option<String>,
}

pub struct TermChoice {
    pub id: i64,
    pub name: String,
    pub checked: bool,
}

pub struct TaxonomyInput {
    pub slug: String,
    pub label: String,
    pub choices: Vec<TermChoice>,
    /// Some terms were left out of the checkboxes (a large taxonomy).
    pub by_name_only: bool,
    pub new_names: String,
    pub error: Option<String>,
}

/// The post form as a page shows it: the values, the problems beside them, and what the form
/// carries back (what it showed, the idempotency key).
pub struct PostForm {
    pub title: String,
    pub slug: String,
    pub status: String,
    pub status_options: Vec<StatusChoice>,
    pub date_gmt: String,
    pub excerpt: String,
    pub content: String,
    /// False when the platform holds only the start of a long post: its content is edited in
    /// WordPress.
    pub content_editable: bool,
    pub featured_image: String,
    pub seo: Vec<SeoInput>,
    pub taxonomies: Vec<TaxonomyInput>,
    pub errors: FormErrors,
    /// What the form showed (all fields but the content), as JSON.
    pub shown: String,
    /// The content's digest: content can be megabytes, so the form carries its hash, and the
    /// shown content is read back from the platform only while it still has that hash.
    pub content_sha256: String,
    pub base_modified_gmt: String,
    pub idempotency_key: String,
}

impl PostForm {
    /// The form for `values` (the API's field shape of a post).
    pub fn new(
        values: &Map<String, Value>,
        taxonomies: &[TaxonomyTerms],
        content_editable: bool,
    ) -> Self {
        let status = text_of(values.get("status"));
        let mut statuses: Vec<String> = FORM_STATUSES.iter().map(|s| (*s).to_owned()).collect();
        // A status the form does not offer (trash, a plugin's own) still shows, so an untouched
        // form keeps it.
        if !status.is_empty() && !statuses.contains(&status) {
            statuses.push(status.clone());
        }
        let status_options = statuses
            .into_iter()
            .map(|value| StatusChoice {
                label: status_label(&value),
                value,
            })
            .collect();
        let seo = SEO_FIELDS
            .iter()
            .map(|field| {
                let path = format!("seo.{field}");
                SeoInput {
                    id: format!("seo-{}", field.replace('_', "-")),
                    label: field_label(&path),
                    value: text_of(get_path(values, &path)),
                    multiline: *field == "description",
                    error: None,
                    name: path,
                }
            })
            .collect();
        let inputs = taxonomies
            .iter()
            .map(|t| {
                let refs = term_refs(get_path(values, &format!("terms.{}", t.slug)));
                let checked: BTreeSet<i64> = refs
                    .iter()
                    .filter_map(|r| match r {
                        TermRef::Id(id) => Some(*id),
                        TermRef::Name(_) => None,
                    })
                    .collect();
                let by_name_only = t.terms.len() > MAX_TERM_CHECKBOXES;
                let mut choices: Vec<TermChoice> = t
                    .terms
                    .iter()
                    .filter(|(id, _)| !by_name_only || checked.contains(id))
                    .map(|(id, name)| TermChoice {
                        id: *id,
                        name: name.clone(),
                        checked: checked.contains(id),
                    })
                    .collect();
                // A term the platform has not synced still shows, so an untouched form keeps it.
                for id in &checked {
                    if !t.terms.iter().any(|(known, _)| known == id) {
                        choices.push(TermChoice {
                            id: *id,
                            name: format!("Term {id}"),
                            checked: true,
                        });
                    }
                }
                let new_names = refs
                    .iter()
                    .filter_map(|r| match r {
                        TermRef::Name(n) => Some(n.as_str()),
                        TermRef::Id(_) => None,
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                TaxonomyInput {
                    slug: t.slug.clone(),
                    label: t.label.clone(),
                    choices,
                    by_name_only,
                    new_names,
                    error: None,
                }
            })
            .collect();
        let mut shown = Map::new();
        for path in form_paths(taxonomies) {
            if path != "content" {
                let v = get_path(values, &path).cloned().unwrap_or(Value::Null);
                set_path(&mut shown, &path, v);
            }
        }
        let content = text_of(values.get("content"));
        PostForm {
            title: text_of(values.get("title")),
            slug: text_of(values.get("slug")),
            status,
            status_options,
            date_gmt: date_input(values.get("date_gmt")),
            excerpt: text_of(values.get("excerpt")),
            content_sha256: sha256(&content),
            content,
            content_editable,
            featured_image: text_of(values.get("featured_image")),
            seo,
            taxonomies: inputs,
            errors: FormErrors::default(),
            shown: Value::Object(shown).to_string(),
            base_modified_gmt: String::new(),
            idempotency_key: idempotency_key(),
        }
    }

    /// The form again as it was submitted: the user's input kept, with what it carried.
    pub fn resubmitted(
        submission: &Submission,
        taxonomies: &[TaxonomyTerms],
        content_editable: bool,
        errors: FormErrors,
    ) -> Self {
        let mut form = Self::new(&submission.values, taxonomies, content_editable);
        form.shown = Value::Object(submission.shown.clone()).to_string();
        form.content_sha256 = submission.content_sha256.clone().unwrap_or_default();
        form.base_modified_gmt = submission.base_modified_gmt.clone().unwrap_or_default();
        if let Some(key) = &submission.idempotency_key {
            form.idempotency_key = key.clone();
        }
        for input in &mut form.seo {
            input.error = errors.get(&input.name);
        }
        for t in &mut form.taxonomies {
            t.error = errors.get(&format!("terms.{}", t.slug));
        }
        form.errors = errors;
        form
    }

    pub fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field)
    }

    pub fn status_is(&self, status: &str) -> bool {
        self.status == status
    }
}

/// The fields a form offers, in its order: the content only when it can be edited here.
fn form_paths(taxonomies: &[TaxonomyTerms]) -> Vec<String> {
    let mut paths: Vec<String> = [
        "title",
        "slug",
        "status",
        "date_gmt",
        "excerpt",
        "content",
        "featured_image",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    paths.extend(SEO_FIELDS.iter().map(|f| format!("seo.{f}")));
    paths.extend(taxonomies.iter().map(|t| format!("terms.{}", t.slug)));
    paths
}

/// What an edit changes: the fields, and their values as the form showed them.
#[derive(Debug)]
pub struct Edit {
    pub fields: Map<String, Value>,
    pub base: Map<String, Value>,
}

/// A submitted post form, read into the API's field shape.
#[derive(Debug, Default)]
pub struct Submission {
    pub type_name: String,
    /// Every field the form had, as submitted (empty dates, image URLs and SEO fields are null).
    pub values: Map<String, Value>,
    /// The paths of `values`, in the form's order.
    pub paths: Vec<String>,
    /// What the form showed; `None` when it carried nothing readable.
    pub shown: Map<String, Value>,
    pub shown_readable: bool,
    pub content_sha256: Option<String>,
    pub base_modified_gmt: Option<String>,
    pub idempotency_key: Option<String>,
}

impl Submission {
    pub fn read(fields: Vec<(String, String)>) -> Self {
        let mut s = Submission::default();
        let mut term_ids: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut term_names: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (name, raw) in fields {
            let nullable = |text: String| {
                if text.trim().is_empty() {
                    Value::Null
                } else {
                    Value::String(text)
                }
            };
            match name.as_str() {
                "type" => s.type_name = raw.trim().to_owned(),
                "title" | "slug" | "status" | "excerpt" | "content" => {
                    let text = normalize_text(&name, &raw);
                    s.values.insert(name, Value::String(text));
                }
                "date_gmt" => {
                    s.values.insert(name, nullable(normalize_date(&raw)));
                }
                "featured_image" => {
                    s.values.insert(name, nullable(raw.trim().to_owned()));
                }
                "shown" => match serde_json::from_str::<Value>(&raw) {
                    Ok(Value::Object(shown)) => {
                        s.shown = shown;
                        s.shown_readable = true;
                    }
                    _ => s.shown_readable = false,
                },
                "content_sha256" => s.content_sha256 = Some(raw),
                "base_modified_gmt" => s.base_modified_gmt = Some(raw).filter(|r| !r.is_empty()),
                "idempotency_key" => s.idempotency_key = Some(raw).filter(|r| !r.is_empty()),
                _ => {
                    if let Some(field) = name.strip_prefix("seo.") {
                        if SEO_FIELDS.contains(&field) {
                            let text = normalize_text(&name, &raw);
                            set_path(&mut s.values, &name, nullable(text));
                        }
                    } else if let Some(taxonomy) = name.strip_prefix("terms.") {
                        if let Ok(id) = raw.trim().parse::<i64>() {
                            if id > 0 {
                                term_ids
                                    .entry(taxonomy.to_owned())
                                    .or_default()
                                    .push(Value::from(id));
                            }
                        }
                    } else if let Some(taxonomy) = name.strip_prefix("terms_new.") {
                        // The names box is always sent: it tells which taxonomies the form had.
                        let names = term_names.entry(taxonomy.to_owned()).or_default();
                        names.extend(
                            raw.split(',')
                                .map(str::trim)
                                .filter(|n| !n.is_empty())
                                .map(|n| Value::String(n.to_owned())),
                        );
                    }
                }
            }
        }
        for (taxonomy, names) in term_names {
            let mut list = term_ids.remove(&taxonomy).unwrap_or_default();
            list.extend(names);
            set_path(
                &mut s.values,
                &format!("terms.{taxonomy}"),
                Value::Array(list),
            );
        }
        let mut paths: Vec<String> = [
            "title",
            "slug",
            "status",
            "date_gmt",
            "excerpt",
            "content",
            "featured_image",
        ]
        .iter()
        .filter(|p| s.values.contains_key(**p))
        .map(|p| (*p).to_owned())
        .collect();
        for outer in ["seo", "terms"] {
            if let Some(Value::Object(inner)) = s.values.get(outer) {
                paths.extend(inner.keys().map(|k| format!("{outer}.{k}")));
            }
        }
        s.paths = paths;
        s
    }

    /// An edit: the fields whose value differs from what the form showed, and those shown values
    /// as the base. The content's shown value is `current_content` while it still has the
    /// digest the form carried.
    pub fn edit(&self, current_content: &str) -> Result<Edit, FormErrors> {
        let mut errors = FormErrors::default();
        if !self.shown_readable {
            errors.add(
                "shown",
                "this form lost what it showed; reload the page and edit again",
            );
            return Err(errors);
        }
        let mut fields = Map::new();
        let mut base = Map::new();
        for path in &self.paths {
            let submitted = get_path(&self.values, path);
            if path == "content" {
                let text = text_of(submitted);
                let Some(shown_digest) = &self.content_sha256 else {
                    errors.add("content", "this form lost what it showed; reload the page");
                    continue;
                };
                if &sha256(&text) == shown_digest {
                    continue;
                }
                if &sha256(current_content) != shown_digest {
                    errors.add(
                        "content",
                        "changed since this page was opened; copy your text, reload the page and edit again",
                    );
                    continue;
                }
                fields.insert("content".into(), Value::String(text));
                base.insert("content".into(), Value::String(current_content.to_owned()));
                continue;
            }
            let shown = get_path(&self.shown, path);
            if !same(path, shown, submitted) {
                set_path(&mut fields, path, submitted.cloned().unwrap_or(Value::Null));
                set_path(&mut base, path, shown.cloned().unwrap_or(Value::Null));
            }
        }
        if fields.get("status").and_then(Value::as_str) == Some("future")
            && self.values.get("date_gmt").is_none_or(Value::is_null)
        {
            errors.add("date_gmt", "choose when to publish a scheduled post");
        }
        if errors.is_empty() {
            Ok(Edit { fields, base })
        } else {
            Err(errors)
        }
    }

    /// A new post: the title and status, and every other field that was filled in.
    pub fn create(&self) -> Result<Map<String, Value>, FormErrors> {
        let mut errors = FormErrors::default();
        let mut fields = Map::new();
        for path in &self.paths {
            let Some(value) = get_path(&self.values, path) else {
                continue;
            };
            let filled = match value {
                Value::Null => false,
                Value::String(s) => !s.trim().is_empty(),
                Value::Array(list) => !list.is_empty(),
                _ => true,
            };
            if filled || path == "title" || path == "status" {
                set_path(&mut fields, path, value.clone());
            }
        }
        if fields
            .get("title")
            .and_then(Value::as_str)
            .is_none_or(|t| t.trim().is_empty())
        {
            errors.add("title", "give the post a title");
        }
        if fields.get("status").and_then(Value::as_str) == Some("future")
            && !fields.contains_key("date_gmt")
        {
            errors.add("date_gmt", "choose when to publish a scheduled post");
        }
        if self.type_name.is_empty() {
            errors.add("type", "choose a post type");
        }
        if errors.is_empty() {
            Ok(fields)
        } else {
            Err(errors)
        }
    }
}

/// A change's field errors (`fields.seo.description`) by the form field they belong to
/// (`seo.description`).
pub fn form_errors(errors: igny8_domain::FieldErrors) -> FormErrors {
    let mut out = FormErrors::default();
    for (path, whys) in errors.into_map() {
        let field = path.strip_prefix("fields.").unwrap_or(&path).to_owned();
        for why in whys {
            out.add(field.clone(), why);
        }
    }
    out
}

/// Each problem as a line of the form's summary: "SEO description: Must be a string."
pub fn problems(errors: &FormErrors) -> Vec<String> {
    errors
        .all()
        .map(|(field, why)| format!("{}: {why}", field_label(field)))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn taxonomies() -> Vec<TaxonomyTerms> {
        vec![TaxonomyTerms {
            slug: "category".into(),
            label: "Categories".into(),
            terms: vec![(3, "News".into()), (7, "Books".into())],
        }]
    }

    fn values() -> Map<String, Value> {
        json!({"title": "Dune", "slug": "dune", "status": "publish", "date_gmt": "2025-11-20 09:00:00",
               "excerpt": "Line one\nline two", "content": "<p>Body</p>\n<p>More</p>", "featured_image": null,
               "seo": {"title": null, "description": "About", "focus_keyword": "dune", "canonical": null,
                       "robots": "index, follow", "source": "yoast"},
               "terms": {"category": [3]}})
        .as_object()
        .cloned()
        .unwrap()
    }

    /// What a browser sends back for an untouched form, with `changes` applied.
    fn submit(shown: &PostForm, changes: &[(&str, &str)]) -> Vec<(String, String)> {
        let fields = vec![
            ("title", shown.title.clone()),
            ("slug", shown.slug.clone()),
            ("status", shown.status.clone()),
            ("date_gmt", "2025-11-20T09:00".to_owned()),
            ("excerpt", shown.excerpt.replace('\n', "\r\n")),
            ("content", shown.content.replace('\n', "\r\n")),
            ("featured_image", shown.featured_image.clone()),
            ("terms.category", "3".to_owned()),
            ("terms_new.category", String::new()),
            ("shown", shown.shown.clone()),
            ("content_sha256", shown.content_sha256.clone()),
            ("idempotency_key", shown.idempotency_key.clone()),
        ];
        let mut out: Vec<(String, String)> = fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .chain(shown.seo.iter().map(|s| (s.name.clone(), s.value.clone())))
            .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
            .collect();
        out.extend(form(changes));
        out
    }

    #[test]
    fn an_untouched_form_changes_nothing_despite_browser_line_ends_and_dates() {
        let shown = PostForm::new(&values(), &taxonomies(), true);
        assert_eq!(shown.date_gmt, "2025-11-20T09:00:00");
        let s = Submission::read(submit(&shown, &[]));
        let Edit { fields, base } = s.edit(values()["content"].as_str().unwrap()).unwrap();
        assert!(fields.is_empty(), "{fields:?}");
        assert!(base.is_empty());
    }

    #[test]
    fn only_changed_fields_are_sent_with_what_the_form_showed() {
        let shown = PostForm::new(&values(), &taxonomies(), true);
        let s = Submission::read(submit(
            &shown,
            &[
                ("seo.description", "A desert planet."),
                ("seo.canonical", ""),
                ("terms.category", "7"),
                ("terms_new.category", " Sequels , ,Classics"),
                ("featured_image", "https://img.example/dune.png"),
            ],
        ));
        let Edit { fields, base } = s.edit("<p>Body</p>\n<p>More</p>").unwrap();
        assert_eq!(
            Value::Object(fields),
            json!({"seo": {"description": "A desert planet."}, "featured_image": "https://img.example/dune.png",
                   "terms": {"category": [7, "Sequels", "Classics"]}})
        );
        assert_eq!(
            Value::Object(base),
            json!({"seo": {"description": "About"}, "featured_image": null, "terms": {"category": [3]}})
        );
    }

    #[test]
    fn content_is_judged_by_its_digest_and_refused_when_it_moved_on() {
        let shown = PostForm::new(&values(), &taxonomies(), true);
        let s = Submission::read(submit(&shown, &[("content", "<p>New</p>")]));
        let Edit { fields, base } = s.edit("<p>Body</p>\n<p>More</p>").unwrap();
        assert_eq!(fields["content"], "<p>New</p>");
        assert_eq!(base["content"], "<p>Body</p>\n<p>More</p>");
        let e = s.edit("<p>Edited in WordPress</p>").unwrap_err();
        assert!(e.get("content").unwrap().contains("reload the page"));
    }

    #[test]
    fn scheduling_needs_a_date() {
        let mut v = values();
        v.insert("date_gmt".into(), Value::Null);
        let shown = PostForm::new(&v, &taxonomies(), true);
        let mut fields = submit(&shown, &[("status", "future"), ("date_gmt", "")]);
        fields.retain(|(k, v)| k != "date_gmt" || v.is_empty());
        let e = Submission::read(fields)
            .edit("<p>Body</p>\n<p>More</p>")
            .unwrap_err();
        assert!(e.get("date_gmt").is_some());
        let created = Submission::read(form(&[
            ("type", "post"),
            ("title", "T"),
            ("status", "future"),
            ("date_gmt", "2030-01-02T03:04"),
            ("terms_new.category", ""),
            ("seo.title", ""),
        ]))
        .create()
        .unwrap();
        assert_eq!(
            Value::Object(created),
            json!({"title": "T", "status": "future", "date_gmt": "2030-01-02 03:04:00"})
        );
    }

    #[test]
    fn a_new_post_needs_a_title_and_a_type() {
        let e = Submission::read(form(&[("title", "  "), ("status", "draft")]))
            .create()
            .unwrap_err();
        assert!(e.get("title").is_some() && e.get("type").is_some());
    }

    #[test]
    fn a_tampered_form_is_refused() {
        let e = Submission::read(form(&[("title", "x"), ("shown", "not json")]))
            .edit("")
            .unwrap_err();
        assert!(e.get("shown").is_some());
    }

    #[test]
    fn change_errors_land_on_their_form_fields() {
        let mut e = igny8_domain::FieldErrors::new();
        e.add("fields.seo.description", "must be a string");
        e.add("type", "is not a post type this site syncs");
        let f = form_errors(e);
        assert_eq!(f.get("seo.description").unwrap(), "Must be a string.");
        assert_eq!(
            problems(&f),
            [
                "SEO description: Must be a string.",
                "Type: Is not a post type this site syncs."
            ]
        );
    }
}
