//! `content/verify/`: the checksum comparison, bucket by bucket and then item by item, that finds
//! what the platform holds and WordPress does not (or holds differently).

use axum::extract::{Path, State};
use axum::Json;
use igny8_domain::content::requests::VerifyAction;
use serde_json::{json, Value};

use super::{action_of, now, record_request, requester, status_view};
use crate::api::extract::LaterBody;
use crate::api::response::ok;
use crate::api::{ApiError, Caller};
use crate::services::integrations::PluginRequest;
use crate::services::verification;
use crate::AppState;

pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: LaterBody,
) -> Result<Json<Value>, ApiError> {
    let integration = requester(&state, &caller, &id).await?;
    let action = action_of(
        &state,
        &caller,
        body,
        VerifyAction::read,
        VerifyAction::parse,
        VerifyAction::site_only,
    )
    .await?;
    match action {
        VerifyAction::Request => {
            let answer = record_request(&state, &integration, PluginRequest::Verify).await?;
            tracing::info!(integration_id = integration.id, "verification requested");
            Ok(answer)
        }
        VerifyAction::Buckets {
            of,
            bucket_size: size,
            buckets: theirs,
        } => {
            let differing =
                verification::compare_buckets(&state, integration.id, &of, size, &theirs).await?;
            Ok(ok(
                json!({"kind": of.kind.as_str(), "type": of.type_name.as_str(), "bucket_size": size, "differing": differing}),
            ))
        }
        VerifyAction::Items {
            of,
            bucket_size: size,
            start,
            items: theirs,
        } => {
            let diff =
                verification::compare_items(&state, integration.id, &of, size, start, &theirs)
                    .await?;
            Ok(ok(
                json!({"kind": of.kind.as_str(), "type": of.type_name.as_str(), "start": start,
                         "resend": diff.resend, "delete": diff.delete}),
            ))
        }
        VerifyAction::Done => {
            let sync = verification::finish(&state, integration.id, now()).await?;
            let mut view = status_view(&sync, &integration);
            view["result"] = json!(sync.verify_state.as_str());
            Ok(ok(view))
        }
    }
}
