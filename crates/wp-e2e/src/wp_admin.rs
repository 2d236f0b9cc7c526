//! wp-admin as a site owner uses it: sign in (cookies), open Settings → IGNY8 API, submit its forms.

use anyhow::{anyhow, bail, Context, Result};
use std::time::Duration;

pub struct WpAdmin {
    http: reqwest::Client,
    site_url: String,
}

/// The settings page's URL path.
pub const SETTINGS_PAGE: &str = "/wp-admin/options-general.php?page=igny8-settings";

impl WpAdmin {
    /// Signs in at wp-login.php as a browser would (test cookie first, then the form).
    pub async fn login(site_url: &str, user: &str, password: &str) -> Result<WpAdmin> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(60))
            .build()?;
        let login_url = format!("{site_url}/wp-login.php");
        http.get(&login_url).send().await?.error_for_status()?;
        let res = http
            .post(&login_url)
            .form(&[
                ("log", user),
                ("pwd", password),
                ("wp-submit", "Log In"),
                ("testcookie", "1"),
                ("redirect_to", &format!("{site_url}/wp-admin/")),
            ])
            .send()
            .await?;
        let landed = res.url().to_string();
        let body = res.text().await?;
        if !landed.contains("/wp-admin/") || landed.contains("wp-login.php") {
            bail!(
                "wp-admin login as {user} failed: ended at {landed}: {}",
                text_of(&body).chars().take(400).collect::<String>()
            );
        }
        Ok(WpAdmin {
            http,
            site_url: site_url.to_owned(),
        })
    }

    /// GET a wp-admin page; returns its HTML.
    pub async fn get(&self, path: &str) -> Result<String> {
        let res = self
            .http
            .get(format!("{}{}", self.site_url, path))
            .send()
            .await?;
        let status = res.status();
        let body = res.text().await?;
        if !status.is_success() {
            bail!(
                "GET {path} -> {status}: {}",
                text_of(&body).chars().take(400).collect::<String>()
            );
        }
        Ok(body)
    }

    /// Settings → IGNY8 API.
    pub async fn settings_page(&self) -> Result<String> {
        self.get(SETTINGS_PAGE).await
    }

    /// Opens the settings page, fills in one of its forms (the one posting `action`) and submits it with
    /// the nonce the page gave; returns the page shown afterwards (admin-post.php redirects back).
    pub async fn submit(&self, action: &str, fields: &[(&str, &str)]) -> Result<String> {
        let page = self.settings_page().await?;
        let nonce_field = format!("{action}_nonce");
        let nonce = input_value(&page, &nonce_field)
            .ok_or_else(|| anyhow!("no {nonce_field} on the settings page"))?;
        let mut form: Vec<(&str, &str)> = vec![("action", action), (&nonce_field, &nonce)];
        form.extend_from_slice(fields);
        let res = self
            .http
            .post(format!("{}/wp-admin/admin-post.php", self.site_url))
            .form(&form)
            .send()
            .await
            .with_context(|| format!("submitting {action}"))?;
        let status = res.status();
        let landed = res.url().to_string();
        let body = res.text().await?;
        if !status.is_success() || !landed.contains("page=igny8-settings") {
            bail!(
                "{action}: {status} at {landed}: {}",
                text_of(&body).chars().take(600).collect::<String>()
            );
        }
        Ok(body)
    }
}

/// The value of `<input … name="NAME" value="…">`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + "value=\"".len();
    let len = tag[v..].find('"')?;
    Some(decode_entities(&tag[v..v + len]))
}

/// The admin notices on a page as (kind, text): ("success", "Successfully connected …").
pub fn notices(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<div class=\"notice notice-") {
        rest = &rest[at + "<div class=\"notice notice-".len()..];
        let kind: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        let Some(end) = rest.find("</div>") else {
            break;
        };
        let Some(open_end) = rest.find('>') else {
            break;
        };
        out.push((kind, text_of(&rest[open_end + 1..end])));
        rest = &rest[end..];
    }
    out
}

/// The notice texts of one kind.
pub fn notices_of(html: &str, kind: &str) -> Vec<String> {
    notices(html)
        .into_iter()
        .filter(|(k, _)| k == kind)
        .map(|(_, t)| t)
        .collect()
}

/// Visible text: tags removed, entities decoded, whitespace collapsed.
pub fn text_of(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    decode_entities(&text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn decode_entities(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#8217;", "’")
        .replace("&rarr;", "→")
        .replace("&amp;", "&")
}
