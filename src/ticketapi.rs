//! The tickets API (agents and supervisors; same authentication as the transcript API):
//!
//! - `GET /api/tickets?status=&kind=&caller=&q=&assignee=&from=&to=&limit=`: newest first.
//! - `POST /api/tickets {call_id?, message?}`: an agent opens one (a contact that has one
//!   already gets it back).
//! - `GET /api/tickets/{id}`: one, with its comments and (for supervisors, the contact's agent
//!   and the assignee) the contact's transcript.
//! - `PATCH /api/tickets/{id} {status?, assignee?, notes?, disposition?}`.
//! - `POST /api/tickets/{id}/comments {text}`.
//!
//! Errors are `{"error": "..."}` with 400 (bad request), 401 (no or bad credentials), 403, 404.

use crate::app::App;
use crate::store::{AccountRole, Ticket, TicketChange, TicketFilter};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// Ticket statuses.
pub const STATUSES: [&str; 3] = ["open", "pending", "solved"];
/// The longest notes, message or comment (characters).
const MAX_TEXT: usize = 4000;
/// The longest disposition code (characters).
const MAX_DISPOSITION: usize = 64;

use crate::http::{json, json_error as err};

fn internal(e: anyhow::Error) -> Response {
    tracing::error!("tickets: {e:#}");
    err(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// A voice message's words are the customer's since the overflow.
fn complete(app: &App, mut t: Ticket) -> anyhow::Result<Ticket> {
    if let (None, Some(call), Some(since)) = (
        &t.message,
        &t.call_id,
        t.details["voice_message_since"].as_i64(),
    ) {
        let words = app.store.customer_words_since(call, since)?;
        if !words.is_empty() {
            t.message = Some(words);
        }
    }
    Ok(t)
}

/// The request's JSON body, or why it is not one (a 400's message).
fn parse<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, String> {
    serde_json::from_str(body).map_err(|e| format!("bad JSON: {e}"))
}

fn too_long(what: &str, text: &Option<String>, max: usize) -> Option<Response> {
    text.as_ref().filter(|t| t.chars().count() > max).map(|_| {
        err(
            StatusCode::BAD_REQUEST,
            &format!("{what} is at most {max} characters"),
        )
    })
}

/// `GET /api/tickets`.
pub async fn list(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = crate::http::caller(&app, &headers, Some(peer.ip())).await {
        return r;
    }
    let text = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let number = |k: &str| -> Result<Option<i64>, String> {
        text(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| format!("{k} must be Unix time in ms"))
            })
            .transpose()
    };
    if let Some(k) = q.keys().find(|k| {
        ![
            "status", "kind", "caller", "q", "assignee", "from", "to", "limit",
        ]
        .contains(&k.as_str())
    }) {
        return err(StatusCode::BAD_REQUEST, &format!("unknown parameter {k:?}"));
    }
    let status = text("status");
    if status.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
        return err(StatusCode::BAD_REQUEST, "status is open, pending or solved");
    }
    let (from_ms, to_ms) = match (number("from"), number("to")) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return err(StatusCode::BAD_REQUEST, &e),
    };
    let limit = match text("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(l)) if (1..=500).contains(&l) => l,
        Some(_) => return err(StatusCode::BAD_REQUEST, "limit is 1 to 500"),
    };
    let filter = TicketFilter {
        status,
        kind: text("kind"),
        caller: text("caller"),
        text: text("q"),
        assignee: text("assignee"),
        from_ms,
        to_ms,
        limit,
    };
    let read = || -> anyhow::Result<Vec<Ticket>> {
        app.store
            .tickets(&filter)?
            .into_iter()
            .map(|t| complete(&app, t))
            .collect()
    };
    match read() {
        Ok(tickets) => json(StatusCode::OK, serde_json::json!({ "tickets": tickets })),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTicket {
    call_id: Option<String>,
    message: Option<String>,
}

/// `POST /api/tickets`.
pub async fn create(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let account = match crate::http::caller(&app, &headers, Some(peer.ip())).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let new: NewTicket = match parse(&body) {
        Ok(n) => n,
        Err(e) => return err(StatusCode::BAD_REQUEST, &e),
    };
    let message = new
        .message
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty());
    // A callback's ticket is the one of the contact that asked for it.
    let call_id = match new.call_id {
        Some(c) => match app.store.callback_of(&c) {
            Ok(of) => Some(of.unwrap_or(c)),
            Err(e) => return internal(e),
        },
        None => None,
    };
    if let Some(r) = too_long("message", &message, MAX_TEXT) {
        return r;
    }
    let caller = match &call_id {
        Some(call) => match app.store.call_caller(call) {
            Ok(Some(c)) => c,
            Ok(None) => return err(StatusCode::NOT_FOUND, "no such call"),
            Err(e) => return internal(e),
        },
        None if message.is_none() => {
            return err(
                StatusCode::BAD_REQUEST,
                "a ticket needs a call_id or a message",
            )
        }
        None => "{}".into(),
    };
    match app.store.agent_ticket(
        call_id.as_deref(),
        &caller,
        message.as_deref(),
        &account.username,
    ) {
        Ok(id) => json(StatusCode::CREATED, serde_json::json!({ "ticket": id })),
        Err(e) => internal(e),
    }
}

/// `GET /api/tickets/{id}`.
pub async fn get(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let account = match crate::http::caller(&app, &headers, Some(peer.ip())).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let read = || -> anyhow::Result<Option<serde_json::Value>> {
        let Some(t) = app.store.ticket_full(&id)? else {
            return Ok(None);
        };
        let t = complete(&app, t)?;
        let comments = app.store.ticket_comments(&id)?;
        // The transcript: for supervisors, the contact's agent and the ticket's assignee.
        let transcript = match &t.call_id {
            Some(call)
                if account.role == AccountRole::Supervisor
                    || t.assignee.as_deref() == Some(account.username.as_str())
                    || app.store.call_agent(call)?.as_deref()
                        == Some(account.username.as_str()) =>
            {
                app.store.transcript(call)?
            }
            _ => None,
        };
        let mut v = serde_json::to_value(&t)?;
        v["comments"] = serde_json::to_value(comments)?;
        if let Some(u) = transcript {
            v["transcript"] = serde_json::to_value(u)?;
        }
        Ok(Some(v))
    };
    match read() {
        Ok(Some(v)) => json(StatusCode::OK, v),
        Ok(None) => err(StatusCode::NOT_FOUND, "no such ticket"),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    status: Option<String>,
    assignee: Option<String>,
    notes: Option<String>,
    disposition: Option<String>,
}

/// `PATCH /api/tickets/{id}`.
pub async fn update(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Err(r) = crate::http::caller(&app, &headers, Some(peer.ip())).await {
        return r;
    }
    let c: Change = match parse(&body) {
        Ok(c) => c,
        Err(e) => return err(StatusCode::BAD_REQUEST, &e),
    };
    if c.status.as_deref().is_some_and(|s| !STATUSES.contains(&s)) {
        return err(StatusCode::BAD_REQUEST, "status is open, pending or solved");
    }
    if let Some(r) = too_long("notes", &c.notes, MAX_TEXT)
        .or_else(|| too_long("disposition", &c.disposition, MAX_DISPOSITION))
    {
        return r;
    }
    if let Some(a) = c.assignee.as_deref().filter(|a| !a.is_empty()) {
        match app.store.account(a) {
            Ok(Some(_)) => {}
            Ok(None) => return err(StatusCode::BAD_REQUEST, "the assignee is not a user"),
            Err(e) => return internal(e),
        }
    }
    let change = TicketChange {
        status: c.status,
        assignee: c.assignee,
        notes: c.notes,
        disposition: c.disposition.map(|d| d.trim().to_string()),
    };
    match app.store.update_ticket(&id, &change) {
        Ok(true) => match app.store.ticket_full(&id) {
            Ok(Some(t)) => json(StatusCode::OK, serde_json::to_value(t).unwrap_or_default()),
            Ok(None) => err(StatusCode::NOT_FOUND, "no such ticket"),
            Err(e) => internal(e),
        },
        Ok(false) => err(StatusCode::NOT_FOUND, "no such ticket"),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewComment {
    text: String,
}

/// `POST /api/tickets/{id}/comments`.
pub async fn comment(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let account = match crate::http::caller(&app, &headers, Some(peer.ip())).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let c: NewComment = match parse(&body) {
        Ok(c) => c,
        Err(e) => return err(StatusCode::BAD_REQUEST, &e),
    };
    let text = c.text.trim().to_string();
    if text.is_empty() {
        return err(StatusCode::BAD_REQUEST, "a comment needs text");
    }
    if let Some(r) = too_long("a comment", &Some(text.clone()), MAX_TEXT) {
        return r;
    }
    match app.store.comment_ticket(&id, &account.username, &text) {
        Ok(true) => json(StatusCode::CREATED, serde_json::json!({ "ticket": id })),
        Ok(false) => err(StatusCode::NOT_FOUND, "no such ticket"),
        Err(e) => internal(e),
    }
}
