//! The API's OpenAPI 3.1 document, served at `/api/v1/openapi.json` and snapshot-tested
//! (`tests/api/openapi.rs`) so any change of the API shows in review.

use axum::Json;
use serde_json::{json, Value};

pub async fn serve() -> Json<Value> {
    Json(document())
}

fn envelope(data: Value) -> Value {
    json!({"type": "object", "required": ["success", "data"], "properties": {"success": {"const": true}, "data": data}})
}

fn answer(description: &str, data: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": envelope(data)}}})
}

fn errors(codes: &[u16]) -> serde_json::Map<String, Value> {
    codes
        .iter()
        .map(|c| {
            (
                c.to_string(),
                json!({"$ref": format!("#/components/responses/E{c}")}),
            )
        })
        .collect()
}

fn responses(ok_status: u16, ok: Value, error_codes: &[u16]) -> Value {
    let mut all = errors(error_codes);
    all.insert(ok_status.to_string(), ok);
    Value::Object(all)
}

fn json_body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}})
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "schema": schema, "description": description})
}

/// The content-sync operations (docs/sync-protocol.md) and the synced content's read side.
fn content_paths() -> Vec<(&'static str, Value)> {
    let status = answer(
        "The sync status.",
        json!({"$ref": "#/components/schemas/ContentSyncStatus"}),
    );
    let post_name = json!({"type": "string", "pattern": "^[a-z0-9_-]{1,20}$"});
    let taxonomy_name = json!({"type": "string", "pattern": "^[a-z0-9_-]{1,32}$"});
    let type_numbers = json!({"type": "object", "additionalProperties": {"type": "integer", "minimum": 0},
        "description": "Keyed by \"post:<post type>\" or \"term:<taxonomy>\"."});
    vec![
        (
            "/api/v1/integration/integrations/{id}/content/",
            json!({"get": {
            "summary": "Synced posts of every post type, newest modification first.",
            "parameters": [id_param(), query("type", post_name.clone(), "Only this post type."),
                query("status", json!({"type": "string"}), "Only this status (publish, draft, trash…)."),
                query("page", json!({"type": "integer", "minimum": 1, "default": 1}), "1-based page."),
                query("page_size", json!({"type": "integer", "minimum": 1, "maximum": 500, "default": 100}), "Posts per page.")],
            "responses": responses(200, answer("A page of posts.", json!({"type": "object", "properties": {
                "count": {"type": "integer"}, "page": {"type": "integer"}, "page_size": {"type": "integer"},
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/ContentSummary"}}}})), &[401, 403, 404, 422])}}),
        ),
        (
            "/api/v1/integration/integrations/{id}/content/{type}/{wp_id}/",
            json!({"get": {
            "summary": "One synced post with its body (content) and excerpt.",
            "parameters": [id_param(), {"name": "type", "in": "path", "required": true, "schema": post_name},
                {"name": "wp_id", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}}],
            "responses": responses(200, answer("The post.", json!({"$ref": "#/components/schemas/ContentItem"})), &[401, 403, 404])}}),
        ),
        (
            "/api/v1/integration/integrations/{id}/terms/",
            json!({"get": {
            "summary": "Every synced term of one taxonomy, by id.",
            "parameters": [id_param(), {"name": "taxonomy", "in": "query", "required": true, "schema": taxonomy_name}],
            "responses": responses(200, answer("The terms.", json!({"type": "array", "items": {"$ref": "#/components/schemas/Term"}})), &[401, 403, 404, 422])}}),
        ),
        (
            "/api/v1/integration/integrations/{id}/content/batch/",
            json!({"post": {
            "summary": "The plugin's batch of changes (at most 500 items and 8 MiB), applied in one transaction; every item is answered by index. Site API key only.",
            "parameters": [id_param()],
            "requestBody": json_body(json!({"type": "object", "required": ["items"], "properties": {
                "batch_id": {"type": "string", "maxLength": 100},
                "items": {"type": "array", "maxItems": 500, "items": {"$ref": "#/components/schemas/ContentChange"}},
                "full_sync": {"type": "object", "description": "Range marker: the batch holds every object of the type with an id in [from_id, to_id]; the platform deletes the others it holds there.",
                    "required": ["type", "from_id", "to_id"], "properties": {"run_id": {"type": "string"}, "kind": {"enum": ["post", "term"], "default": "post"},
                    "type": {"type": "string"}, "from_id": {"type": "integer", "minimum": 0}, "to_id": {"type": "integer", "minimum": 0}}}}})),
            "responses": responses(200, answer("Every item's outcome.", json!({"type": "object", "properties": {
                "batch_id": {"type": ["string", "null"]},
                "results": {"type": "array", "items": {"type": "object", "required": ["index", "status"], "properties": {
                    "index": {"type": "integer"}, "status": {"enum": ["applied", "stale", "rejected"]},
                    "reason": {"type": "string", "description": "Why an item was rejected, with field paths."}}}},
                "applied": {"type": "integer"}, "stale": {"type": "integer"}, "rejected": {"type": "integer"}}})),
                &[400, 401, 403, 404, 413, 415, 422])}}),
        ),
        (
            "/api/v1/integration/integrations/{id}/content/full-sync/",
            json!({"post": {
            "summary": "start and finish a full sync (site API key); request one (site API key or a user of the account).",
            "parameters": [id_param()],
            "requestBody": json_body(json!({"type": "object", "required": ["action"], "properties": {
                "action": {"enum": ["request", "start", "finish"]}, "run_id": {"type": "string", "maxLength": 100},
                "totals": type_numbers.clone(), "max_ids": type_numbers}})),
            "responses": responses(200, status.clone(), &[400, 401, 403, 404, 409, 413, 415, 422])}}),
        ),
        (
            "/api/v1/integration/integrations/{id}/content/status/",
            json!({"get": {
            "summary": "Full-sync progress per type, pending requests, the last verification and sync outcome.",
            "parameters": [id_param()],
            "responses": responses(200, status.clone(), &[401, 403, 404])}}),
        ),
        (
            "/api/v1/integration/integrations/{id}/content/resync-request/",
            json!({"post": {
            "summary": "Ask for a full sync (the plugin's queue overflowed); the plugin's next cron starts it.",
            "parameters": [id_param()],
            "requestBody": json_body(json!({"type": "object", "properties": {"reason": {"type": "string", "maxLength": 200}}})),
            "responses": responses(200, status.clone(), &[400, 401, 403, 404, 413, 415, 422])}}),
        ),
        (
            "/api/v1/integration/integrations/{id}/content/verify/",
            json!({"post": {
            "summary": "Verification: request (site API key or user); then the plugin's buckets, items of differing buckets, and done.",
            "parameters": [id_param()],
            "requestBody": json_body(json!({"type": "object", "required": ["action"], "properties": {
                "action": {"enum": ["request", "buckets", "items", "done"]},
                "kind": {"enum": ["post", "term"], "default": "post"}, "type": {"type": "string"},
                "bucket_size": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 10_000},
                "buckets": {"type": "array", "items": {"type": "object", "properties": {"start": {"type": "integer"}, "count": {"type": "integer"}, "sum": {"type": "integer"}}}},
                "start": {"type": "integer", "description": "items: the first id of the bucket compared."},
                "items": {"type": "array", "items": {"type": "object", "properties": {"wp_id": {"type": "integer"}, "checksum": {"type": "integer", "minimum": 0, "maximum": 4_294_967_295_u64}}}}}})),
            "responses": responses(200, answer("request/done: the sync status; buckets: {differing: [{start, count, sum}]} (the platform's values); items: {resend: [ids], delete: [ids]}; done: the status with result in_sync or out_of_sync.",
                json!({"type": "object"})), &[400, 401, 403, 404, 413, 415, 422])}}),
        ),
    ]
}

/// The document; paths carry the trailing slash the plugin uses (both forms are served).
pub fn document() -> Value {
    let type_entry = json!({"type": "object", "required": ["label", "count", "enabled", "fetch_limit"], "properties": {
        "label": {"type": "string", "maxLength": 200}, "count": {"type": "integer", "minimum": 0},
        "enabled": {"type": "boolean"}, "fetch_limit": {"type": "integer", "minimum": 1, "maximum": 1_000_000}}});
    let type_map = json!({"type": "object", "additionalProperties": {"$ref": "#/components/schemas/TypeEntry"},
        "description": "Keyed by WordPress name: lowercase letters, digits, '_' and '-'; post types at most 20 characters, taxonomies 32."});
    let content_types_view = json!({"type": "object", "properties": {
        "post_types": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/ContentTypeView"}},
        "taxonomies": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/ContentTypeView"}},
        "last_structure_fetch": {"type": ["string", "null"], "format": "date-time"},
        "plugin_connection_enabled": {"type": "boolean"}, "two_way_sync_enabled": {"type": "boolean"}}});
    let settings = json!({"type": "object", "properties": {"enabled": {"type": "boolean"}, "fetch_limit": {"type": "integer", "minimum": 1}}});
    let tokens = json!({"type": "object", "properties": {"access": {"type": "string"}, "refresh": {"type": "string"},
        "access_expires_at": {"type": "string", "format": "date-time"}, "refresh_expires_at": {"type": "string", "format": "date-time"},
        "user": {"type": "object", "properties": {"id": {"type": "integer"}, "email": {"type": "string"}, "account_id": {"type": "integer"}}}}});
    let error_response = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let summary_props = json!({"wp_id": {"type": "integer"}, "type": {"type": "string"}, "title": {"type": "string"},
        "slug": {"type": "string"}, "status": {"type": "string"}, "parent": {"type": "integer"},
        "modified_gmt": {"type": "string", "description": "WordPress's post_modified_gmt, YYYY-MM-DD HH:MM:SS."},
        "url": {"type": ["string", "null"]}, "terms": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "integer"}}},
        "seo": {"type": ["object", "null"], "properties": {"title": {"type": ["string", "null"]}, "description": {"type": ["string", "null"]},
            "focus_keyword": {"type": ["string", "null"]}, "canonical": {"type": ["string", "null"]}, "robots": {"type": ["string", "null"]},
            "source": {"type": ["string", "null"]}, "raw": {"type": "object"}}},
        "synced_at": {"type": "string", "format": "date-time"}});
    let mut item_props = summary_props.clone();
    for (k, v) in [
        ("content", json!({"type": "string"})),
        ("content_truncated", json!({"type": "boolean"})),
        ("excerpt", json!({"type": "string"})),
        ("author", json!({"type": "string"})),
        ("date_gmt", json!({"type": ["string", "null"]})),
        ("menu_order", json!({"type": "integer"})),
        ("featured_image", json!({"type": ["string", "null"]})),
        ("meta", json!({"type": "object"})),
        ("checksum", json!({"type": "integer"})),
        ("source", json!({"const": "wordpress"})),
    ] {
        item_props[k] = v;
    }
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {"title": "IGNY8 integration API", "version": "1",
                 "description": "What WordPress sites and platform clients call. Every answer is an envelope: {\"success\": true, \"data\": …} or {\"success\": false, \"error\", \"code\", \"errors\"}."},
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/auth/login/": {"post": {"summary": "Sign in with email and password; answers access and refresh tokens.", "security": [],
                "requestBody": json_body(json!({"type": "object", "required": ["email", "password"], "properties": {"email": {"type": "string"}, "password": {"type": "string"}}})),
                "responses": responses(200, answer("Signed in.", tokens.clone()), &[400, 401, 413, 415, 422, 429])}},
            "/api/v1/auth/refresh/": {"post": {"summary": "Trade a refresh token for a new pair.", "security": [],
                "requestBody": json_body(json!({"type": "object", "required": ["refresh"], "properties": {"refresh": {"type": "string"}}})),
                "responses": responses(200, answer("A new pair.", tokens), &[400, 401, 413, 415, 422])}},
            "/api/v1/auth/sites/": {"get": {"summary": "The sites this credential reaches: an API key's one site, or the user's account's sites.",
                "responses": responses(200, answer("The sites.", json!({"type": "array", "items": {"$ref": "#/components/schemas/Site"}})), &[401, 403])}},
            "/api/v1/integration/integrations/": {
                "get": {"summary": "A site's integrations.", "parameters": [{"name": "site", "in": "query", "schema": {"type": "integer"}}],
                    "responses": responses(200, answer("The integrations.", json!({"type": "array", "items": {"$ref": "#/components/schemas/SiteIntegration"}})), &[401, 403, 404, 422])},
                "post": {"summary": "Create the site's WordPress integration; answers the existing one (200) when it exists.",
                    "requestBody": json_body(json!({"type": "object", "required": ["site"], "properties": {"site": {"type": "integer"}, "platform": {"const": "wordpress"}}})),
                    "responses": {"201": answer("Created.", json!({"$ref": "#/components/schemas/SiteIntegration"})),
                                  "200": answer("It already existed.", json!({"$ref": "#/components/schemas/SiteIntegration"})),
                                  "400": {"$ref": "#/components/responses/E400"}, "401": {"$ref": "#/components/responses/E401"}, "403": {"$ref": "#/components/responses/E403"},
                                  "404": {"$ref": "#/components/responses/E404"}, "422": {"$ref": "#/components/responses/E422"}}}},
            "/api/v1/integration/integrations/{id}/": {"get": {"summary": "One integration.", "parameters": [id_param()],
                "responses": responses(200, answer("The integration.", json!({"$ref": "#/components/schemas/SiteIntegration"})), &[401, 403, 404])}},
            "/api/v1/integration/integrations/{id}/update-structure/": {"post": {"summary": "Push the site's post types and taxonomies with counts; answers the effective sync settings.",
                "parameters": [id_param()],
                "requestBody": json_body(json!({"type": "object", "required": ["post_types", "taxonomies"], "properties": {
                    "post_types": type_map.clone(), "taxonomies": type_map,
                    "plugin_connection_enabled": {"type": "boolean", "default": true}, "two_way_sync_enabled": {"type": "boolean", "default": false},
                    "timestamp": {"type": "string", "format": "date-time"}}})),
                "responses": responses(200, answer("Stored.", json!({"type": "object", "properties": {
                    "message": {"type": "string"}, "post_types_count": {"type": "integer"}, "taxonomies_count": {"type": "integer"},
                    "last_structure_fetch": {"type": "string", "format": "date-time"},
                    "content_types": {"type": "object", "description": "Effective settings: the platform's choices win over the plugin's."}}})),
                    &[400, 401, 403, 404, 413, 415, 422])}},
            "/api/v1/integration/integrations/{id}/content-types/": {
                "get": {"summary": "Post types and taxonomies with counts, settings and what the platform holds.", "parameters": [id_param()],
                    "responses": responses(200, answer("The content types.", content_types_view.clone()), &[401, 403, 404])},
                "patch": {"summary": "Change the platform-owned settings (enabled, fetch_limit) of reported types. Platform users only.", "parameters": [id_param()],
                    "requestBody": json_body(json!({"type": "object", "properties": {
                        "post_types": {"type": "object", "additionalProperties": settings.clone()},
                        "taxonomies": {"type": "object", "additionalProperties": settings}}})),
                    "responses": responses(200, answer("The content types after the change.", content_types_view), &[400, 401, 403, 404, 413, 415, 422])}},
            "/api/v1/openapi.json": {"get": {"summary": "This document.", "security": [], "responses": {"200": {"description": "OpenAPI 3.1."}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "A site API key (igny8_<prefix>_<secret>, one site) or a JWT access token from login (the user's account)."}},
            "schemas": {
                "TypeEntry": type_entry,
                "ContentTypeView": {"type": "object", "properties": {"label": {"type": "string"}, "count": {"type": "integer"}, "enabled": {"type": "boolean"},
                    "fetch_limit": {"type": "integer"}, "synced_count": {"type": "integer"}, "last_synced_at": {"type": ["string", "null"], "format": "date-time"}}},
                "Site": {"type": "object", "properties": {"id": {"type": "integer"}, "account_id": {"type": "integer"}, "name": {"type": "string"},
                    "url": {"type": "string"}, "is_active": {"type": "boolean"}, "created_at": {"type": "string", "format": "date-time"}}},
                "SiteIntegration": {"type": "object", "properties": {"id": {"type": "integer"}, "site": {"type": "integer"}, "platform": {"const": "wordpress"},
                    "is_active": {"type": "boolean"}, "config_json": {"type": "object"}, "sync_status": {"type": "string"},
                    "last_sync_at": {"type": ["string", "null"], "format": "date-time"}, "last_error": {"type": ["string", "null"]},
                    "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"}}},
                "ContentSummary": {"type": "object", "properties": summary_props},
                "ContentItem": {"type": "object", "properties": item_props},
                "Term": {"type": "object", "properties": {"wp_id": {"type": "integer"}, "name": {"type": "string"}, "slug": {"type": "string"},
                    "parent": {"type": "integer", "description": "A WordPress term id; 0 for a root."}, "count": {"type": "integer"},
                    "description": {"type": "string"}, "synced_at": {"type": "string", "format": "date-time"}}},
                "ContentChange": {"type": "object", "required": ["op", "kind", "type", "wp_id"], "description": "One change of one post or term (docs/sync-protocol.md, Items).",
                    "properties": {"op": {"enum": ["upsert", "delete"]}, "kind": {"enum": ["post", "term"]}, "type": {"type": "string"},
                        "wp_id": {"type": "integer", "minimum": 1}, "modified_gmt": {"type": "string", "description": "Required for post upserts: YYYY-MM-DD HH:MM:SS."},
                        "checksum": {"type": "integer", "minimum": 0, "maximum": 4_294_967_295_u64, "description": "Upserts: the plugin's integrity checksum of every synced field (docs/sync-protocol.md, Integrity); verification compares it."},
                        "read_at": {"type": "string", "description": "Upserts: when the plugin's database read the object, YYYY-MM-DD HH:MM:SS.ffffff; the version read later wins a same-second tie."},
                        "data": {"type": "object", "description": "Posts: title, slug, status, content (at most 4 MiB), content_truncated, excerpt, author, date_gmt, url, parent, menu_order, featured_image, terms, seo, meta. Terms: name, slug, parent, count, description."}}},
                "ContentSyncStatus": {"type": "object", "properties": {
                    "full_sync": {"type": ["object", "null"], "properties": {"run_id": {"type": "string"}, "status": {"enum": ["running", "done"]},
                        "started_at": {"type": "string", "format": "date-time"}, "finished_at": {"type": ["string", "null"], "format": "date-time"},
                        "types": {"type": "object", "additionalProperties": {"type": "object", "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}}}}}},
                    "full_sync_requested": {"type": "boolean"}, "verify_requested": {"type": "boolean"},
                    "verify": {"type": "object", "properties": {"state": {"enum": ["never", "checking", "in_sync", "out_of_sync"]},
                        "differences": {"type": "integer"}, "verified_at": {"type": ["string", "null"], "format": "date-time"}}},
                    "sync_status": {"type": "string"}, "last_sync_at": {"type": ["string", "null"], "format": "date-time"},
                    "last_error": {"type": ["string", "null"]}, "deleted": {"type": "integer", "description": "finish: objects deleted."}}},
                "Error": {"type": "object", "required": ["success", "error", "code"], "properties": {"success": {"const": false}, "error": {"type": "string"},
                    "code": {"type": "string"}, "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}}},
            },
            "responses": {
                "E400": error_response("malformed_json"),
                "E401": error_response("not_authenticated, invalid_token, token_expired or invalid_credentials"),
                "E403": error_response("forbidden, api_key_revoked or site_inactive"),
                "E404": error_response("not_found"),
                "E409": error_response("conflict; for changes also site_inactive, two_way_sync_disabled, stale_base, not_pending, not_in_conflict"),
                "E413": error_response("payload_too_large (body, or a batch over 500 items)"),
                "E415": error_response("unsupported_media_type"),
                "E422": error_response("validation_error, with field paths in 'errors'"),
                "E429": error_response("rate_limited; see Retry-After"),
            },
        },
    });
    if let Some(paths) = doc["paths"].as_object_mut() {
        paths.extend(content_paths().into_iter().map(|(p, v)| (p.to_owned(), v)));
        paths.extend(changes_paths().into_iter().map(|(p, v)| (p.to_owned(), v)));
    }
    doc["paths"]["/api/v1/integration/integrations/{id}/"]["patch"] = json!({
        "summary": "Change the platform-owned integration settings: the conflict policy of new two-way changes. Platform users only.",
        "parameters": [id_param()],
        "requestBody": json_body(json!({"type": "object", "required": ["conflict_policy"], "properties": {
            "conflict_policy": {"enum": ["manual", "merge", "platform_wins", "wordpress_wins"]}}})),
        "responses": responses(200, answer("The integration.", json!({"$ref": "#/components/schemas/SiteIntegration"})), &[400, 401, 403, 404, 415, 422])});
    site_url_document(&mut doc);
    doc["components"]["schemas"]["Change"] = change_schema();
    doc["components"]["schemas"]["ContentSyncStatus"]["properties"]["changes_pending"] =
        json!({"type": "integer", "description": "Two-way changes waiting for the plugin."});
    doc
}

/// Staging copies and moved sites (docs/sync-protocol.md, "Copies and moves"): the address the
/// plugin reports, what the integration knows of it, and the owner's "the site moved".
fn site_url_document(doc: &mut Value) {
    // Every request to an integration with the site's key may come from a copy.
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, operations) in paths.iter_mut() {
            if !path.starts_with("/api/v1/integration/integrations/{id}/") {
                continue;
            }
            for operation in operations
                .as_object_mut()
                .into_iter()
                .flat_map(|o| o.values_mut())
            {
                if let Some(responses) = operation["responses"].as_object_mut() {
                    responses
                        .entry("409")
                        .or_insert_with(|| json!({"$ref": "#/components/responses/E409"}));
                }
            }
        }
    }
    let header = json!({"name": "X-Igny8-Site-Url", "in": "header", "schema": {"type": "string", "format": "uri", "maxLength": 2000},
        "description": "The address the site runs at (WordPress's home). Sent by the plugin with its key on every request; a request from another address than the integration's is refused with 409 site_url_mismatch."});
    doc["paths"]["/api/v1/integration/integrations/{id}/site-url/"] = json!({"post": {
        "summary": "The site moved: the address becomes the integration's and a recorded copy is forgotten. The site's key only, from the plugin's settings (the site's owner chooses); logged.",
        "parameters": [id_param(), header],
        "requestBody": json_body(json!({"type": "object", "required": ["site_url"], "properties": {
            "site_url": {"type": "string", "format": "uri", "maxLength": 2000, "description": "http(s), no credentials, query or fragment; the address X-Igny8-Site-Url reports, when sent."}}})),
        "responses": responses(200, answer("The integration.", json!({"$ref": "#/components/schemas/SiteIntegration"})), &[400, 401, 403, 404, 413, 415, 422])}});
    let description = doc["info"]["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    doc["info"]["description"] = json!(format!(
        "{description} The plugin sends the site's address with its key (X-Igny8-Site-Url): a copy of the site at another address gets 409 site_url_mismatch until its owner chooses in the plugin."
    ));
    let properties = &mut doc["components"]["schemas"]["SiteIntegration"]["properties"];
    properties["site_url"] = json!({"type": ["string", "null"], "description": "The address the site's plugin reports: the first one, or the one the site moved to."});
    properties["site_url_mismatch"] = json!({"type": ["string", "null"], "description": "The last other address a copy of the site reported (refused until the site's owner chooses in the plugin)."});
    properties["site_url_mismatch_at"] = json!({"type": ["string", "null"], "format": "date-time"});
    doc["components"]["responses"]["E409"]["description"] = json!(
        "conflict; site_url_mismatch (a copy of the site at another address); for changes also site_inactive, two_way_sync_disabled, stale_base, not_pending, not_in_conflict"
    );
}

fn change_schema() -> Value {
    json!({"type": "object", "description": "One platform edit of one WordPress object (docs/sync-protocol.md, Two-way sync).",
        "properties": {"id": {"type": "integer"}, "seq": {"type": "integer", "description": "1, 2, 3… per integration, in queue order."},
            "op": {"enum": ["create", "update", "trash"]}, "kind": {"enum": ["post", "term"]}, "type": {"type": "string"},
            "wp_id": {"type": ["integer", "null"]},
            "fields": {"type": "object", "description": "Posts: title, content, excerpt, slug, status, date_gmt, parent, menu_order, terms (taxonomy → ids or names), seo (title, description, focus_keyword, canonical, robots), featured_image. Terms: name, slug, description, parent."},
            "base": {"type": "object", "description": "The written fields' values in the version the edit started from."},
            "base_modified_gmt": {"type": ["string", "null"]},
            "policy": {"enum": ["manual", "merge", "platform_wins", "wordpress_wins"]},
            "status": {"enum": ["pending", "applied", "conflict", "rejected", "refused", "cancelled", "resolved"]},
            "attempt": {"type": "integer", "description": "How often the plugin was handed the change."},
            "result": {"type": ["object", "null"], "description": "The plugin's outcome: wp_id, modified_gmt, overwritten, dropped, conflicts, applied, reason; resolution once resolved."},
            "idempotency_key": {"type": ["string", "null"]}, "created_by": {"type": ["integer", "null"]},
            "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
            "applied_at": {"type": ["string", "null"], "format": "date-time"}}})
}

/// Two-way sync (docs/sync-protocol.md): users' changes and the plugin's pull.
fn changes_paths() -> Vec<(&'static str, Value)> {
    let change = || {
        answer(
            "The change.",
            json!({"$ref": "#/components/schemas/Change"}),
        )
    };
    let cid = json!({"name": "cid", "in": "path", "required": true, "schema": {"type": "integer", "minimum": 1}});
    vec![
        (
            "/api/v1/integration/integrations/{id}/changes/",
            json!({
            "get": {"summary": "The integration's changes, newest first. Platform users only.",
                "parameters": [id_param(),
                    query("status", json!({"enum": ["pending", "applied", "conflict", "rejected", "refused", "cancelled", "resolved"]}), "Only this status."),
                    query("object", json!({"type": "string"}), "One object's changes: post:12, page:7, term:category:5."),
                    query("page", json!({"type": "integer", "minimum": 1, "default": 1}), "1-based page."),
                    query("page_size", json!({"type": "integer", "minimum": 1, "maximum": 200, "default": 50}), "Changes per page.")],
                "responses": responses(200, answer("A page of changes.", json!({"type": "object", "properties": {
                    "count": {"type": "integer"}, "page": {"type": "integer"}, "page_size": {"type": "integer"},
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Change"}}}})), &[401, 403, 404, 422])},
            "post": {"summary": "Queue a change for WordPress (202); a repeated Idempotency-Key answers the first change (200). Platform users only.",
                "parameters": [id_param(), {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 200}}],
                "requestBody": json_body(json!({"type": "object", "required": ["op", "type"], "properties": {
                    "op": {"enum": ["create", "update", "trash"]}, "kind": {"enum": ["post", "term"], "default": "post"},
                    "type": {"type": "string"}, "wp_id": {"type": "integer", "minimum": 1}, "fields": {"type": "object"},
                    "base": {"type": "object"}, "base_modified_gmt": {"type": "string"},
                    "policy": {"enum": ["manual", "merge", "platform_wins", "wordpress_wins"]},
                    "idempotency_key": {"type": "string", "maxLength": 200}}})),
                "responses": {"202": answer("Queued.", json!({"$ref": "#/components/schemas/Change"})),
                    "200": answer("Queued before with this idempotency key.", json!({"$ref": "#/components/schemas/Change"})),
                    "400": {"$ref": "#/components/responses/E400"}, "401": {"$ref": "#/components/responses/E401"},
                    "403": {"$ref": "#/components/responses/E403"}, "404": {"$ref": "#/components/responses/E404"},
                    "409": {"$ref": "#/components/responses/E409"}, "413": {"$ref": "#/components/responses/E413"},
                    "415": {"$ref": "#/components/responses/E415"}, "422": {"$ref": "#/components/responses/E422"}}}}),
        ),
        (
            "/api/v1/integration/integrations/{id}/changes/{cid}/",
            json!({"get": {"summary": "One change. Platform users only.", "parameters": [id_param(), cid.clone()],
                "responses": responses(200, change(), &[401, 403, 404])}}),
        ),
        (
            "/api/v1/integration/integrations/{id}/changes/{cid}/cancel/",
            json!({"post": {"summary": "Cancel a pending change. Platform users only.", "parameters": [id_param(), cid.clone()],
                "responses": responses(200, change(), &[401, 403, 404, 409])}}),
        ),
        (
            "/api/v1/integration/integrations/{id}/changes/{cid}/resolve/",
            json!({"post": {"summary": "Choose per conflicting field; the fields chosen platform go to WordPress as a new change (201). Platform users only.",
                "parameters": [id_param(), cid],
                "requestBody": json_body(json!({"type": "object", "required": ["choices"], "properties": {
                    "choices": {"type": "object", "additionalProperties": {"enum": ["platform", "wordpress"]}}}})),
                "responses": {"201": answer("The new change.", json!({"$ref": "#/components/schemas/Change"})),
                    "200": answer("Resolved; nothing to send.", json!({"$ref": "#/components/schemas/Change"})),
                    "400": {"$ref": "#/components/responses/E400"}, "401": {"$ref": "#/components/responses/E401"},
                    "403": {"$ref": "#/components/responses/E403"}, "404": {"$ref": "#/components/responses/E404"},
                    "409": {"$ref": "#/components/responses/E409"}, "422": {"$ref": "#/components/responses/E422"}}}}),
        ),
        (
            "/api/v1/integration/integrations/{id}/changes/pending/",
            json!({"get": {"summary": "The oldest pending changes in seq order, each delivery counted. The site's key only.",
                "parameters": [id_param(), query("limit", json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 50}), "Changes to take.")],
                "responses": responses(200, answer("Pending changes.", json!({"type": "object", "properties": {
                    "changes": {"type": "array", "items": {"$ref": "#/components/schemas/Change"}}, "more": {"type": "boolean"},
                    "two_way_sync_enabled": {"type": "boolean"}}})), &[401, 403, 404, 422])}}),
        ),
        (
            "/api/v1/integration/integrations/{id}/changes/results/",
            json!({"post": {"summary": "The plugin's outcomes (applied, conflict, rejected, refused), acknowledged one by one. The site's key only.",
                "parameters": [id_param()],
                "requestBody": json_body(json!({"type": "object", "required": ["results"], "properties": {
                    "results": {"type": "array", "maxItems": 100, "items": {"type": "object", "required": ["id", "status"], "properties": {
                        "id": {"type": "integer"}, "status": {"enum": ["applied", "conflict", "rejected", "refused"]},
                        "wp_id": {"type": "integer"}, "modified_gmt": {"type": "string"}, "overwritten": {"type": "object"},
                        "dropped": {"type": "object"}, "conflicts": {"type": "object"}, "applied": {"type": "array", "items": {"type": "string"}},
                        "reason": {"type": "string"}}}}}})),
                "responses": responses(200, answer("One acknowledgement per outcome.", json!({"type": "object", "properties": {
                    "results": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": ["integer", "null"]},
                        "status": {"enum": ["recorded", "unknown", "invalid"]}, "reason": {"type": "string"}}}}}})), &[400, 401, 403, 404, 413, 415, 422])}}),
        ),
        (
            "/api/v1/integration/integrations/{id}/changes/receiver/",
            json!({"post": {"summary": "Where and with which secret the platform nudges the site when a change is queued. The site's key only.",
                "parameters": [id_param()],
                "requestBody": json_body(json!({"type": "object", "required": ["url", "secret"], "properties": {
                    "url": {"type": "string", "format": "uri"}, "secret": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}}})),
                "responses": responses(200, answer("Registered.", json!({"type": "object", "properties": {"registered": {"const": true}}})), &[400, 401, 403, 404, 415, 422])}}),
        ),
    ]
}
