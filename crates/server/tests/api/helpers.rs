//! Shared setup: spawn the app on an ephemeral port over a fresh SQLite file, and make the
//! accounts, sites and keys a test story needs.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use igny8_domain::api_key::NewApiKey;
use igny8_server::Settings;
use igny8_store::{NewApiKeyRow, NewUser, Site, Store, User};
use igny8_store_sqlite::SqliteStore;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub addr: SocketAddr,
    /// Where `GET /metrics` answers (`--metrics-addr`).
    pub metrics_addr: SocketAddr,
    pub client: reqwest::Client,
    pub store: Arc<dyn Store>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Everything the server logged in this process, to check no secret reaches the log.
pub fn captured_log() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(move || LogWriter(writer.clone()))
            .try_init();
        buffer
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A signed-in user with one site, its API key and its wordpress integration.
#[derive(Clone)]
pub struct Fixture {
    pub user: User,
    pub site: Site,
    pub key: String,
    pub integration_id: i64,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Settings::default()).await
    }

    pub async fn spawn_with(settings: Settings) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "igny8-api-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("api.db");
        let _ = std::fs::remove_file(&path);
        Self::spawn_on(settings, &format!("sqlite://{}", path.display())).await
    }

    async fn spawn_on(settings: Settings, url: &str) -> Self {
        log_buffer();
        let store = SqliteStore::open(url).await.unwrap();
        store.migrate().await.unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_addr = metrics_listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let server_store = store.clone();
        tokio::spawn(async move {
            igny8_server::launch(
                settings,
                server_store,
                igny8_server::Metrics::new(),
                listener,
                Some(metrics_listener),
                async {
                    let _ = rx.await;
                },
            )
            .await
            .expect("server runs");
        });
        Self {
            addr,
            metrics_addr,
            client: reqwest::Client::new(),
            store,
            shutdown: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn user(&self, email: &str) -> User {
        let hash = igny8_server::auth::password::hash(PASSWORD).await.unwrap();
        self.store
            .create_user_with_account(NewUser {
                email,
                password_hash: &hash,
                account_name: "Acme",
            })
            .await
            .unwrap()
    }

    pub async fn site(&self, account_id: i64) -> Site {
        self.store
            .create_site(account_id, "Blog", "https://blog.example")
            .await
            .unwrap()
    }

    pub async fn key(&self, site_id: i64) -> String {
        let new = NewApiKey::generate();
        self.store
            .create_api_key(NewApiKeyRow {
                site_id,
                prefix: &new.prefix,
                hash: &new.hash,
                label: "test",
            })
            .await
            .unwrap();
        new.secret
    }

    /// A user with a site, a key and the site's integration, created through the API.
    pub async fn fixture(&self, email: &str) -> Fixture {
        let user = self.user(email).await;
        let site = self.site(user.account_id).await;
        let key = self.key(site.id).await;
        let (status, body) = self
            .post(
                "/api/v1/integration/integrations/",
                Some(&key),
                json!({"site": site.id}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let integration_id = body["data"]["id"].as_i64().unwrap();
        Fixture {
            user,
            site,
            key,
            integration_id,
        }
    }

    /// A successful login's `data`: the access and refresh tokens.
    pub async fn login_tokens(&self, email: &str) -> Value {
        let (status, body) = self
            .post(
                "/api/v1/auth/login/",
                None,
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["data"].clone()
    }

    /// A signed-in user's access token.
    pub async fn login(&self, email: &str) -> String {
        self.login_tokens(email).await["access"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn send(
        &self,
        req: reqwest::RequestBuilder,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let response = req.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("answer is JSON: {text}"));
        (status, body)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.send(self.client.get(self.url(path)), token).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(self.client.post(self.url(path)).json(&body), token)
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.send(self.client.patch(self.url(path)).json(&body), token)
            .await
    }

    pub async fn push_structure(&self, fixture: &Fixture, body: Value) -> (StatusCode, Value) {
        self.post(
            &format!(
                "/api/v1/integration/integrations/{}/update-structure/",
                fixture.integration_id
            ),
            Some(&fixture.key),
            body,
        )
        .await
    }

    pub async fn config_json(&self, integration_id: i64) -> Value {
        self.store
            .integration(integration_id)
            .await
            .unwrap()
            .unwrap()
            .config_json
    }
}

/// The seed's update-structure payload (DESIGN.md §2).
pub fn seed_structure() -> Value {
    json!({
        "post_types": {
            "post":    {"label": "Posts",    "count": 123, "enabled": true,  "fetch_limit": 100},
            "page":    {"label": "Pages",    "count": 12,  "enabled": true,  "fetch_limit": 100},
            "product": {"label": "Products", "count": 456, "enabled": false, "fetch_limit": 50}
        },
        "taxonomies": {
            "category":    {"label": "Categories",         "count": 25,  "enabled": true,  "fetch_limit": 100},
            "post_tag":    {"label": "Tags",               "count": 102, "enabled": true,  "fetch_limit": 100},
            "product_cat": {"label": "Product Categories", "count": 15,  "enabled": false, "fetch_limit": 50}
        },
        "plugin_connection_enabled": true,
        "two_way_sync_enabled": true,
        "timestamp": "2025-11-22T10:00:00Z"
    })
}

/// Asserts the failure envelope with its status and code.
pub fn assert_error(status: StatusCode, body: &Value, want_status: StatusCode, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
}
