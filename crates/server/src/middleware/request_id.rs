//! Every request has an id: the caller's `X-Request-Id` when it is a sane one (a proxy's or the
//! plugin's), else a fresh one. It is answered in `X-Request-Id` and carried by a `tracing` span
//! around the request, so every log line of the request names it.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

/// Longest id taken from a caller; longer ones are replaced, not cut.
pub const MAX_LEN: usize = 128;

/// The request's id, in the request's extensions for handlers that want it.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// A caller's id is kept when it is 1 to `MAX_LEN` characters of letters, digits and `-_.:/+=`
/// (UUIDs, ULIDs, trace ids, base64): nothing that could break a log line.
pub fn accept(given: &str) -> bool {
    (1..=MAX_LEN).contains(&given.len())
        && given
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b))
}

fn fresh() -> String {
    format!("{:032x}", rand::thread_rng().gen::<u128>())
}

pub async fn layer(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| accept(v))
        .map_or_else(fresh, str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", id = %id);
    let mut response = next.run(req).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::accept;

    #[test]
    fn sane_ids_are_kept_and_others_replaced() {
        for id in [
            "abc-123",
            "0b7c1a4e-5f6e-4c1a-9d2b-1f0e8a7b6c5d",
            "01HZX3ABCDEF",
            "a",
        ] {
            assert!(accept(id), "{id}");
        }
        let long = "a".repeat(129);
        for id in [
            "",
            "two words",
            "line\nbreak",
            "quote\"",
            "é",
            long.as_str(),
        ] {
            assert!(!accept(id), "{id:?}");
        }
    }
}
