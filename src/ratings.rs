//! Customer satisfaction: when a contact ends its customer is sent `rate_prompt {call_id,
//! token}`; with the token (an HMAC of the call id under the server's session key, so nobody
//! else can rate it) `POST /api/ratings {call_id, token, score, comment?}` stores a rating of
//! 1 to 5 once. 201 stored; 400 a bad body, score or comment; 403 a wrong token; 409 rated
//! already (or the contact was never stored).

use crate::app::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;

/// The longest comment (characters).
pub const MAX_COMMENT: usize = 2000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rating {
    call_id: String,
    token: String,
    score: u8,
    comment: Option<String>,
}

use crate::http::{json, json_error as err};

/// `POST /api/ratings` (no account: the token is the proof).
pub async fn post(State(app): State<Arc<App>>, body: String) -> Response {
    let r: Rating = match serde_json::from_str(&body) {
        Ok(r) => r,
        Err(e) => return err(StatusCode::BAD_REQUEST, &format!("bad JSON: {e}")),
    };
    if !(1..=5).contains(&r.score) {
        return err(StatusCode::BAD_REQUEST, "score is 1 to 5");
    }
    let comment = r
        .comment
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    if comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_COMMENT)
    {
        return err(
            StatusCode::BAD_REQUEST,
            &format!("a comment is at most {MAX_COMMENT} characters"),
        );
    }
    if !app.auth.check_rating_token(&r.call_id, &r.token) {
        return err(
            StatusCode::FORBIDDEN,
            "this token does not rate this contact",
        );
    }
    match app.store.rate_call(&r.call_id, r.score, comment.as_deref()) {
        Ok(true) => {
            tracing::info!(call_id = %r.call_id, score = r.score, "rated");
            json(
                StatusCode::CREATED,
                serde_json::json!({ "call_id": r.call_id }),
            )
        }
        Ok(false) => err(StatusCode::CONFLICT, "this contact is rated already"),
        Err(e) => {
            tracing::error!("ratings: {e:#}");
            err(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}
