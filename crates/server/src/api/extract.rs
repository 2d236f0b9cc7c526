//! Reading request bodies: JSON with our own errors for wrong content type, size and syntax.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use igny8_domain::content::MAX_BATCH_BYTES;
use serde_json::Value;

use super::ApiError;
use crate::serve::BodyTimeout;
use crate::AppState;

/// A JSON body as a `Value`, for the domain to parse into its own types with field paths.
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        JsonBytes::from_request(req, state)
            .await?
            .json()
            .map(JsonBody)
    }
}

/// A body not read yet: a handler checks the caller, the integration and the site first, then
/// reads it (`json`, `batch`), so a request that will be refused never has its body read or parsed
/// (another tenant's 8 MiB batch costs nothing).
pub struct LaterBody(Request);

impl FromRequest<AppState> for LaterBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(LaterBody(req))
    }
}

impl LaterBody {
    /// The body as JSON, up to the configured limit.
    pub async fn json(self, state: &AppState) -> Result<Value, ApiError> {
        read_json(self.0, state.settings.max_body_bytes).await
    }

    /// The body's bytes, up to the configured limit, for a handler that reads a valid body
    /// straight into its types (`JsonBytes::json` words the errors).
    pub async fn bytes(self, state: &AppState) -> Result<JsonBytes, ApiError> {
        read_body(self.0, state.settings.max_body_bytes)
            .await
            .map(JsonBytes)
    }

    /// A body up to the content protocol's own limit (`MAX_BATCH_BYTES`): a content batch, or a
    /// change that carries a post's whole content.
    pub async fn content(self) -> Result<Value, ApiError> {
        read_json(self.0, MAX_BATCH_BYTES).await
    }

    /// A content body's bytes (`content`'s limit), for a handler that reads them in one pass
    /// straight into its types with `read_typed`.
    pub async fn content_bytes(self) -> Result<Bytes, ApiError> {
        check_media_type(&self.0)?;
        let announced = self
            .0
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        collect(self.0.into_body(), MAX_BATCH_BYTES, announced).await
    }
}

/// A JSON body as its bytes (media type and size checked), for a handler that reads a valid body
/// straight into its types and falls back to `json` for the errors.
pub struct JsonBytes(pub Bytes);

impl FromRequest<AppState> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        read_body(req, state.settings.max_body_bytes)
            .await
            .map(JsonBytes)
    }
}

impl JsonBytes {
    pub fn json(&self) -> Result<Value, ApiError> {
        parse_json(&self.0)
    }
}

async fn read_json(req: Request, limit: usize) -> Result<Value, ApiError> {
    parse_json(&read_body(req, limit).await?)
}

/// The body's frames copied into one buffer of the announced size, allocated once: a content batch
/// is up to 8 MiB, and growing a buffer by doubling (or gathering the frames, then copying them)
/// left the allocator several large blocks to keep per batch. Only for a caller already checked:
/// a stranger's announced size reserves nothing.
async fn collect(
    mut body: axum::body::Body,
    limit: usize,
    announced: Option<usize>,
) -> Result<Bytes, ApiError> {
    use hyper::body::Body as _;

    let too_large = || ApiError::PayloadTooLarge(limit);
    let mut buf = Vec::with_capacity(announced.unwrap_or(0).min(limit));
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let frame = frame.map_err(|e| {
            if BodyTimeout::caused(&e) {
                ApiError::RequestTimeout
            } else {
                too_large()
            }
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(too_large());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

fn check_media_type(req: &Request) -> Result<(), ApiError> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match content_type {
        Some(ct) if ct != "application/json" && !ct.ends_with("+json") => {
            Err(ApiError::UnsupportedMediaType)
        }
        _ => Ok(()),
    }
}

async fn read_body(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    check_media_type(&req)?;
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|e| {
            if BodyTimeout::caused(&e) {
                ApiError::RequestTimeout
            } else {
                ApiError::PayloadTooLarge(limit)
            }
        })
}

fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    read_typed(body, |b| serde_json::from_slice(b))
}

/// A JSON body read by `read` (into a `Value` or straight into a handler's types), with the
/// answers every body gets when it is empty or not JSON.
pub fn read_typed<T>(
    body: &[u8],
    read: impl FnOnce(&[u8]) -> serde_json::Result<T>,
) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(ApiError::MalformedJson("the body is empty".into()));
    }
    read(body).map_err(|e| {
        ApiError::MalformedJson(format!(
            "{} at line {} column {}",
            classify(&e),
            e.line(),
            e.column()
        ))
    })
}

fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "it ends too early",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "it could not be read",
    }
}
