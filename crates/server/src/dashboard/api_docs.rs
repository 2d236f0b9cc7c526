//! `/api/docs`: a short readable reference of the integration API, rendered from the same OpenAPI
//! document the API serves, so the two cannot disagree.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use super::session::SignedIn;
use super::view::{ok, Chrome};
use super::PageError;
use crate::api::openapi;
use crate::AppState;

pub struct Endpoint {
    pub method: String,
    pub path: String,
    pub summary: String,
    pub authenticated: bool,
}

#[derive(Template)]
#[template(path = "dashboard/api_docs.html")]
struct ApiDocsPage {
    chrome: Chrome,
    title: String,
    description: String,
    auth: String,
    endpoints: Vec<Endpoint>,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn endpoints(doc: &Value) -> Vec<Endpoint> {
    const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            // An operation's own empty `security` list means no token is needed.
            let authenticated = op
                .get("security")
                .and_then(Value::as_array)
                .is_none_or(|s| !s.is_empty());
            all.push(Endpoint {
                method: method.to_uppercase(),
                path: path.clone(),
                summary: text(&op["summary"]),
                authenticated,
            });
        }
    }
    all
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let chrome = match SignedIn::from_headers(&state, &headers).await? {
        Some(me) => me.chrome(),
        None => Chrome::anonymous(),
    };
    let doc = openapi::document();
    ok(&ApiDocsPage {
        chrome,
        title: text(&doc["info"]["title"]),
        description: text(&doc["info"]["description"]),
        auth: text(&doc["components"]["securitySchemes"]["bearer"]["description"]),
        endpoints: endpoints(&doc),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_operation_of_the_document_is_listed() {
        let list = super::endpoints(&crate::api::openapi::document());
        assert!(list.iter().any(|e| e.method == "POST"
            && e.path == "/api/v1/integration/integrations/{id}/update-structure/"
            && e.authenticated));
        assert!(list
            .iter()
            .any(|e| e.method == "PATCH" && e.path.ends_with("/content-types/")));
        assert!(list
            .iter()
            .any(|e| e.path == "/api/v1/auth/login/" && !e.authenticated));
        assert!(list.iter().all(|e| !e.summary.is_empty()));
    }
}
