//! The shared setup of every dashboard test: the app on an ephemeral port over a fresh SQLite file,
//! users made straight in the store, a visitor (an HTTP client that keeps cookies and reads forms)
//! and a WordPress plugin stand-in that calls the API with a site's key.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use igny8_server::auth::password;
use igny8_server::Settings;
use igny8_store::{NewUser, Store, User};
use igny8_store_sqlite::SqliteStore;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    pub store: Arc<dyn Store>,
    dir: PathBuf,
    _shutdown: oneshot::Sender<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub async fn spawn() -> TestApp {
    spawn_with(Settings::default()).await
}

pub async fn spawn_with(settings: Settings) -> TestApp {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "igny8-dashboard-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(&format!("sqlite://{}", dir.join("test.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let served = store.clone();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = rx.await;
        };
        if let Err(e) =
            igny8_server::launch_with_listener(settings, served, listener, shutdown).await
        {
            panic!("the app stopped: {e:#}");
        }
    });
    TestApp {
        address,
        store,
        dir,
        _shutdown: tx,
    }
}

impl TestApp {
    /// A user with their own account, made straight in the store.
    pub async fn create_user(&self, email: &str, account_name: &str) -> User {
        let hash = password::hash(PASSWORD).await.unwrap();
        self.store
            .create_user_with_account(NewUser {
                email,
                password_hash: &hash,
                account_name,
            })
            .await
            .unwrap()
    }

    pub fn visitor(&self) -> Visitor {
        Visitor {
            address: self.address.clone(),
            http: no_redirects(),
            cookies: BTreeMap::new(),
            origin: None,
        }
    }

    /// A visitor already signed in as a new user of a new account.
    pub async fn signed_in(&self, email: &str) -> Visitor {
        self.create_user(email, &format!("Account of {email}"))
            .await;
        let mut v = self.visitor();
        v.sign_in(email, PASSWORD).await;
        v
    }

    pub fn plugin(&self, key: &str) -> Plugin {
        Plugin {
            address: self.address.clone(),
            key: key.to_owned(),
            http: no_redirects(),
        }
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// One answer as a test reads it.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The `Set-Cookie` line for `name`, flags included.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The CSRF token of the page's (first) form.
    pub fn csrf(&self) -> String {
        self.attribute_after(r#"name="csrf" value=""#)
            .unwrap_or_else(|| panic!("no CSRF token on the page:\n{}", self.body))
    }

    /// The text between `marker` and the next double quote.
    pub fn attribute_after(&self, marker: &str) -> Option<String> {
        let start = self.body.find(marker)? + marker.len();
        let len = self.body[start..].find('"')?;
        Some(self.body[start..start + len].to_owned())
    }

    /// What a browser sends for the form holding `id`: its inputs (checkboxes and radios only
    /// when checked), textareas and selected options, in page order. Values are unescaped.
    pub fn form(&self, id: &str) -> Vec<(String, String)> {
        let marker = format!(r#"id="{id}""#);
        let at = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no #{id} on the page:\n{}", self.body));
        let start = self.body[..at].rfind("<form").expect("inside a form");
        let end = start + self.body[start..].find("</form>").expect("the form ends");
        let html = &self.body[start..end];
        let mut fields = Vec::new();
        let mut rest = html;
        while let Some(open) = rest.find('<') {
            rest = &rest[open + 1..];
            let close = rest.find('>').unwrap();
            let tag = &rest[..close];
            let name_end = tag.find(|c: char| c.is_whitespace()).unwrap_or(tag.len());
            let attrs = attributes(&tag[name_end..]);
            let attr = |k: &str| {
                attrs
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone().unwrap_or_default())
            };
            let Some(name) = attr("name") else {
                continue;
            };
            match &tag[..name_end] {
                "input" => {
                    let kind = attr("type").unwrap_or_else(|| "text".into());
                    if matches!(kind.as_str(), "checkbox" | "radio") && attr("checked").is_none() {
                        continue;
                    }
                    fields.push((name, attr("value").unwrap_or_default()));
                }
                "textarea" => {
                    let body = &rest[close + 1..];
                    let text = &body[..body.find("</textarea>").unwrap()];
                    // The HTML parser drops one newline right after the start tag.
                    let text = text.strip_prefix('\n').unwrap_or(text);
                    fields.push((name, unescape(text)));
                }
                "select" => {
                    let body = &rest[close + 1..];
                    let options = &body[..body.find("</select>").unwrap()];
                    let mut first = None;
                    let mut chosen = None;
                    for option in options.split("<option").skip(1) {
                        let attrs = attributes(&option[..option.find('>').unwrap()]);
                        let value = attrs
                            .iter()
                            .find(|(n, _)| n == "value")
                            .and_then(|(_, v)| v.clone())
                            .unwrap_or_default();
                        first.get_or_insert(value.clone());
                        if attrs.iter().any(|(n, _)| n == "selected") {
                            chosen = Some(value);
                        }
                    }
                    fields.push((name, chosen.or(first).unwrap_or_default()));
                }
                _ => {}
            }
        }
        fields
    }

    pub fn assert_redirect(&self, to: &str) {
        assert_eq!(
            self.status,
            StatusCode::SEE_OTHER,
            "expected a redirect to {to}; body:\n{}",
            self.body
        );
        assert_eq!(self.location(), Some(to));
    }
}

/// A tag's attributes: `name="value"` pairs and bare names, values unescaped.
fn attributes(tag: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut rest = tag.trim_start();
    while !rest.is_empty() && !rest.starts_with('/') {
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(rest.len());
        let name = rest[..end].to_owned();
        rest = &rest[end..];
        if let Some(quoted) = rest.strip_prefix("=\"") {
            let close = quoted.find('"').unwrap();
            out.push((name, Some(unescape(&quoted[..close]))));
            rest = &quoted[close + 1..];
        } else {
            out.push((name, None));
        }
        rest = rest.trim_start();
    }
    out
}

/// Undoes the templates' HTML escaping.
pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A browser without JavaScript: keeps cookies, sends forms, never follows redirects by itself.
pub struct Visitor {
    address: String,
    http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    /// Sent as `Origin` with forms, to act as a page on another site.
    pub origin: Option<String>,
}

impl Visitor {
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        // What a browser sends, so unknown addresses answer a page rather than JSON.
        let req = req.header("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header("cookie", self.cookie_header())
        };
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        for line in headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let pair = line.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || line.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let body = resp.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.address));
        self.send(req).await
    }

    /// Posts a form as given (add the `csrf` field yourself, or leave it out to test the refusal).
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut req = self
            .http
            .post(format!("{}{path}", self.address))
            .form(fields);
        if let Some(origin) = &self.origin {
            req = req.header("origin", origin);
        }
        self.send(req).await
    }

    /// Posts fields read from a page (see `Page::form`).
    pub async fn post_fields(&mut self, path: &str, fields: &[(String, String)]) -> Page {
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post(path, &pairs).await
    }

    /// Opens `page_path`, then posts its form with the page's CSRF token and `fields`.
    pub async fn submit(&mut self, page_path: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(page_path).await;
        assert_eq!(page.status, StatusCode::OK, "{page_path}: {}", page.body);
        let csrf = page.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let page = self
            .submit(
                "/login",
                "/login",
                &[("email", email), ("password", password)],
            )
            .await;
        page.assert_redirect("/sites");
        assert!(self.cookies.contains_key("igny8_session"));
        page
    }

    /// Adds a site through the form; answers its id.
    pub async fn add_site(&mut self, name: &str, url: &str) -> i64 {
        let page = self
            .submit("/sites", "/sites", &[("name", name), ("url", url)])
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let location = page.location().unwrap();
        location
            .strip_prefix("/sites/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("unexpected redirect {location}"))
    }

    /// Creates an API key through the form; answers the key the page shows once.
    pub async fn create_key(&mut self, site_id: i64) -> String {
        let path = format!("/sites/{site_id}/settings/api-keys");
        let page = self.submit(&path, &path, &[("label", "Test")]).await;
        assert_eq!(page.status, StatusCode::CREATED, "{}", page.body);
        page.attribute_after(r#"id="new-key" class="mono" readonly value=""#)
            .expect("the new key is shown")
    }
}

/// What the WordPress plugin does over the API with a site's key.
pub struct Plugin {
    address: String,
    pub key: String,
    http: reqwest::Client,
}

impl Plugin {
    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.address))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.address))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Finds or creates the site's integration, as the plugin does when it connects.
    pub async fn connect(&self, site_id: i64) -> i64 {
        let (status, body) = self
            .post(
                "/api/v1/integration/integrations/",
                &json!({"site": site_id}),
            )
            .await;
        assert!(status.is_success(), "{status} {body}");
        body["data"]["id"].as_i64().unwrap()
    }

    pub async fn push_structure(
        &self,
        integration_id: i64,
        structure: &Value,
    ) -> (StatusCode, Value) {
        self.post(
            &format!("/api/v1/integration/integrations/{integration_id}/update-structure/"),
            structure,
        )
        .await
    }

    /// Sends a batch of one post the API rejects for a taxonomy named in markup: the integration
    /// records `partial` with `MARKUP_REJECTION` as its last error, and holds no content.
    pub async fn send_rejected_markup(&self, integration_id: i64) {
        let item = json!({"op": "upsert", "kind": "post", "type": "post", "wp_id": 1,
            "modified_gmt": "2025-11-22 10:00:00",
            "data": {"title": "Hello", "status": "publish", "terms": {"<b>boom</b>": [1]}}});
        let (status, body) = self
            .post(
                &format!("/api/v1/integration/integrations/{integration_id}/content/batch/"),
                &json!({"items": [item]}),
            )
            .await;
        assert_eq!(
            (status, body["data"]["rejected"].as_i64()),
            (StatusCode::OK, Some(1)),
            "{body}"
        );
    }
}

/// The last error `Plugin::send_rejected_markup` leaves: the rejection, markup included.
pub const MARKUP_REJECTION: &str =
    "Rejected post post 1: data.terms.<b>boom</b>: may hold only lowercase letters, digits, '_' and '-'";

pub const XSS_LABEL: &str = "<img src=x onerror=alert(1)>";

/// A structure push like the plugin's, with one post type whose label is markup.
pub fn structure() -> Value {
    json!({
        "post_types": {
            "post": {"label": "Posts", "count": 123, "enabled": true, "fetch_limit": 100},
            "page": {"label": "Pages", "count": 12, "enabled": true, "fetch_limit": 100},
            "book": {"label": XSS_LABEL, "count": 7, "enabled": true, "fetch_limit": 50}
        },
        "taxonomies": {
            "category": {"label": "Categories", "count": 25, "enabled": true, "fetch_limit": 100},
            "post_tag": {"label": "Tags", "count": 102, "enabled": false, "fetch_limit": 100}
        },
        "plugin_connection_enabled": true,
        "two_way_sync_enabled": false,
        "timestamp": "2025-11-22T10:00:00Z"
    })
}
