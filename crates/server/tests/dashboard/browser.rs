//! A small client of chromedriver's W3C WebDriver HTTP API driving Debian's headless Chromium:
//! just what the dashboard story needs (open, find, type, click, read, screenshot), with waits
//! that poll instead of sleeping.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use tokio::process::{Child, Command};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// W3C's key for element references in answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const PATIENCE: Duration = Duration::from_secs(10);

pub struct Browser {
    http: reqwest::Client,
    driver_port: u16,
    session: String,
    _driver: Child,
    profile: PathBuf,
}

#[derive(Clone)]
pub struct Element(String);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver and one headless Chromium session with a fresh profile.
    pub async fn start() -> Browser {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the dashboard's browser tests need Debian's headless Chromium. \
                 Install it with `apt-get install -y chromium chromium-driver` ({package}), as scripts/test.sh does."
            );
        }
        let driver_port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let status_url = format!("http://127.0.0.1:{driver_port}/status");
        let started = Instant::now();
        loop {
            if let Ok(resp) = http.get(&status_url).send().await {
                let body: Value = resp.json().await.unwrap_or_default();
                if body["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = std::env::temp_dir().join(format!(
            "igny8-chromium-{}-{driver_port}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let resp = http
            .post(format!("http://127.0.0.1:{driver_port}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        let session = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("Chromium did not start: {body}"))
            .to_owned();
        Browser {
            http,
            driver_port,
            session,
            _driver: driver,
            profile,
        }
    }

    fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/session/{}{path}",
            self.driver_port, self.session
        )
    }

    /// One WebDriver command; panics with the driver's message on an error.
    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        match self.try_command(method.clone(), path, body).await {
            Ok(v) => v,
            Err(e) => panic!("WebDriver {method} {path}: {e}"),
        }
    }

    async fn try_command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
        let mut req = self.http.request(method, self.url(path));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.unwrap();
        let ok = resp.status().is_success();
        let body: Value = resp.json().await.unwrap_or_default();
        if ok {
            Ok(body["value"].clone())
        } else {
            Err(body["value"].clone())
        }
    }

    pub async fn goto(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn current_url(&self) -> String {
        self.command(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn title(&self) -> String {
        self.command(reqwest::Method::GET, "/title", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let found = self
            .command(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e[ELEMENT].as_str().map(|id| Element(id.to_owned())))
            .collect()
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        let started = Instant::now();
        loop {
            if let Some(e) = self.find_all(css).await.into_iter().next() {
                return e;
            }
            if started.elapsed() > PATIENCE {
                let url = self.current_url().await;
                let source = self.command(reqwest::Method::GET, "/source", None).await;
                panic!(
                    "no element matches {css} on {url}:\n{}",
                    source.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the current address ends with `suffix` (after a form's redirect).
    pub async fn wait_for_url(&self, suffix: &str) -> String {
        let started = Instant::now();
        loop {
            let url = self.current_url().await;
            if url.ends_with(suffix) {
                return url;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "still on {url}, waiting for …{suffix}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the element's text contains `expected`.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> String {
        let started = Instant::now();
        loop {
            // A live page may replace the element between finding it and reading it: a stale
            // element is read again on the next round, like one not there yet.
            let text = match self.find_all(css).await.first() {
                Some(e) => match self
                    .try_command(
                        reqwest::Method::GET,
                        &format!("/element/{}/text", e.0),
                        None,
                    )
                    .await
                {
                    Ok(v) => v.as_str().unwrap_or_default().to_owned(),
                    Err(e) if e["error"] == "stale element reference" => String::new(),
                    Err(e) => panic!("WebDriver reading {css}: {e}"),
                },
                None => String::new(),
            };
            if text.contains(expected) {
                return text;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{css} reads {text:?}, waiting for {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn text(&self, e: &Element) -> String {
        self.command(
            reqwest::Method::GET,
            &format!("/element/{}/text", e.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The element's current property (`value` of an input reflects what was typed).
    pub async fn property(&self, e: &Element, name: &str) -> Value {
        self.command(
            reqwest::Method::GET,
            &format!("/element/{}/property/{name}", e.0),
            None,
        )
        .await
    }

    pub async fn is_selected(&self, e: &Element) -> bool {
        self.command(
            reqwest::Method::GET,
            &format!("/element/{}/selected", e.0),
            None,
        )
        .await
            == true
    }

    pub async fn click(&self, e: &Element) {
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/click", e.0),
            Some(json!({})),
        )
        .await;
    }

    /// Clears a field and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/clear", e.0),
            Some(json!({})),
        )
        .await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Runs `script` in the page (a function body) and answers what it returns.
    pub async fn execute(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Whether a JavaScript dialog (an `alert`) is open: the XSS check's last word.
    pub async fn alert_open(&self) -> bool {
        self.try_command(reqwest::Method::GET, "/alert/text", None)
            .await
            .is_ok()
    }

    pub async fn set_window(&self, width: u32, height: u32) {
        self.command(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Saves a PNG of the viewport under `target/screenshots/`.
    pub async fn screenshot(&self, name: &str) {
        let data = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Browser {
    /// Ends the session (chromedriver then closes Chromium) even when a test panicked; a plain
    /// blocking request, since `Drop` cannot await.
    fn drop(&mut self) {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.driver_port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!(
                "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                self.session, self.driver_port
            );
            if stream.write_all(request.as_bytes()).is_ok() {
                let mut answer = Vec::new();
                let _ = stream.read_to_end(&mut answer);
            }
        }
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
