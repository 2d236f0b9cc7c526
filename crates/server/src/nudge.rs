//! Nudges: when a change is queued, a small signed `POST` tells the site to pull now
//! (docs/sync-protocol.md). The platform's outgoing requests never reach private, loopback or
//! link-local addresses (checked on the resolved addresses the connection uses) unless the server
//! was started with `--allow-private-targets`; later outgoing features reuse `OutgoingClient`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hmac::{Hmac, Mac};
use rand::Rng;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;
use sha2::Sha256;

use crate::AppState;

/// How long a nudge may take; the next status check pulls anyway.
const NUDGE_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether an address is one the platform may reach on the open internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || (a == 198 && (b == 18 || b == 19))) // benchmarking
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link-local
        }
    }
}

/// An http(s) URL with a host, as receivers must be.
pub fn parse_target(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || raw.len() > 2048 {
        return Err("not an http(s) URL with a host".into());
    }
    Ok(url)
}

/// Resolves names, then drops the addresses the platform may not reach; a name with none left
/// fails, so the connection can only use an address that was checked.
struct CheckedResolver {
    allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!(
                    "{} resolves only to private, loopback or link-local addresses",
                    name.as_str()
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The platform's HTTP client for requests to sites.
#[derive(Clone)]
pub struct OutgoingClient {
    client: reqwest::Client,
    allow_private: bool,
}

impl OutgoingClient {
    pub fn new(allow_private: bool) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver { allow_private }))
            .timeout(NUDGE_TIMEOUT)
            .connect_timeout(NUDGE_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("IGNY8/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            allow_private,
        })
    }

    /// A request to `url`, refused before any connection when its host is a literal address the
    /// platform may not reach (names are checked by the resolver).
    pub fn post(&self, url: &Url) -> Result<reqwest::RequestBuilder, String> {
        let literal = url
            .host_str()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
            .and_then(|h| h.parse::<IpAddr>().ok());
        if let Some(ip) = literal {
            if !self.allow_private && !is_public(ip) {
                return Err(format!("{ip} is a private, loopback or link-local address"));
            }
        }
        Ok(self.client.post(url.clone()))
    }
}

/// `sha256=<hex>` of HMAC-SHA256 over `"<timestamp>.<body>"`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Nudges the integration's site in the background, after the change is committed.
pub fn spawn(state: &AppState, integration_id: i64) {
    let state = state.clone();
    tokio::spawn(async move {
        let outcome = send(&state, integration_id).await;
        let error = match &outcome {
            Ok(Sent::NoReceiver) => return,
            Ok(Sent::Delivered) => {
                state.metrics.nudge("delivered");
                None
            }
            Err(why) => {
                state.metrics.nudge("failed");
                tracing::info!(integration_id, error = %why, "nudge failed; the site pulls at its next status check");
                Some(why.as_str())
            }
        };
        if let Err(e) = state
            .store
            .record_nudge(integration_id, Utc::now(), error)
            .await
        {
            tracing::warn!(integration_id, error = %e, "could not record the nudge");
        }
    });
}

/// What became of a nudge that did not fail.
enum Sent {
    Delivered,
    /// The site registered no receiver (yet): nothing to send, nothing to record.
    NoReceiver,
}

async fn send(state: &AppState, integration_id: i64) -> Result<Sent, String> {
    let receiver = match state.store.change_receiver(integration_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(Sent::NoReceiver),
        Err(e) => return Err(format!("store: {e}")),
    };
    let pending = state
        .store
        .count_pending_changes(integration_id)
        .await
        .map_err(|e| format!("store: {e}"))?;
    let nonce: String = {
        let bytes: [u8; 16] = rand::thread_rng().gen();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    let body =
        serde_json::json!({"integration_id": integration_id, "nonce": nonce, "pending": pending})
            .to_string();
    let timestamp = Utc::now().timestamp();
    let url = parse_target(&receiver.url)?;
    let answer = state
        .outgoing
        .post(&url)?
        .header("Content-Type", "application/json")
        .header("X-IGNY8-Timestamp", timestamp.to_string())
        .header(
            "X-IGNY8-Signature",
            signature(&receiver.secret, timestamp, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    if answer.status().is_success() {
        tracing::debug!(integration_id, "nudge delivered");
        Ok(Sent::Delivered)
    } else {
        Err(format!("the site answered {}", answer.status()))
    }
}

/// A reqwest error's chain in one line (its Display alone says only "error sending request").
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn signatures_are_hmac_sha256_over_timestamp_and_body() {
        // Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        let sig = signature("key", 1700000000, b"{}");
        assert_eq!(
            sig,
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_ne!(sig, signature("key", 1700000001, b"{}"));
        assert_ne!(sig, signature("other", 1700000000, b"{}"));
    }

    #[test]
    fn only_http_urls_with_a_host_are_targets() {
        assert!(parse_target("https://blog.example/wp-json/igny8/v1/nudge").is_ok());
        assert!(parse_target("http://127.0.0.1:8080/?rest_route=/igny8/v1/nudge").is_ok());
        for bad in [
            "ftp://x.example/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "not a url",
        ] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn literal_private_addresses_are_refused_unless_allowed() {
        let url = Url::parse("http://127.0.0.1:9/").unwrap();
        assert!(OutgoingClient::new(false).unwrap().post(&url).is_err());
        assert!(OutgoingClient::new(true).unwrap().post(&url).is_ok());
    }
}
