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
    json!({
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
                "Error": {"type": "object", "required": ["success", "error", "code"], "properties": {"success": {"const": false}, "error": {"type": "string"},
                    "code": {"type": "string"}, "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}}},
            },
            "responses": {
                "E400": error_response("malformed_json"),
                "E401": error_response("not_authenticated, invalid_token, token_expired or invalid_credentials"),
                "E403": error_response("forbidden, api_key_revoked or site_inactive"),
                "E404": error_response("not_found"),
                "E413": error_response("payload_too_large"),
                "E415": error_response("unsupported_media_type"),
                "E422": error_response("validation_error, with field paths in 'errors'"),
                "E429": error_response("rate_limited; see Retry-After"),
            },
        },
    })
}
