//! The knowledge base over HTTP, for supervisors: list, add or edit, delete, import, ask,
//! statistics. Every change goes to the database first and then to the live bot.
//!
//! - `GET /api/kb` — every entry (JSON array, the import format)
//! - `PUT /api/kb` — add or replace one entry (JSON object of that format)
//! - `DELETE /api/kb/{language}/{id}`
//! - `POST /api/kb/import?replace=true&format=csv&language=zh` — a whole file as the body;
//!   400 with the per-row report and nothing stored if any row is bad
//! - `GET /api/kb/ask?language=en&q=...` — what the bot would answer
//! - `GET /api/kb/stats` — hits and rejections per entry, unanswered questions by meaning

use crate::app::App;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bot::kb::{self, Format, Language};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::http::{json, json_error as err};

fn internal(e: anyhow::Error) -> Response {
    tracing::error!("knowledge base: {e:#}");
    err(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// Supervisors only; and the bot must be on.
async fn supervisor(
    app: &App,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Arc<crate::calls::bot::BotDesk>, Response> {
    let account = crate::http::caller(app, headers, Some(peer.ip())).await?;
    if account.role != crate::store::AccountRole::Supervisor {
        return Err(err(
            StatusCode::FORBIDDEN,
            "the knowledge base is for supervisors",
        ));
    }
    app.bot.clone().ok_or_else(|| {
        err(
            StatusCode::NOT_FOUND,
            "the bot is off on this server (no entry point has bot = true)",
        )
    })
}

fn reload(app: &App, desk: &crate::calls::bot::BotDesk) -> anyhow::Result<usize> {
    let entries = app.store.kb_entries()?;
    let n = entries.len();
    desk.reload(entries, &app.store);
    app.prepare_voice();
    Ok(n)
}

pub async fn list(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = supervisor(&app, &headers, peer).await {
        return r;
    }
    match app.store.kb_entries() {
        Ok(e) => (
            [(header::CONTENT_TYPE, "application/json")],
            kb::write(&e, Format::Json),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

pub async fn put(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let desk = match supervisor(&app, &headers, peer).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let parsed = match kb::parse(&format!("[{body}]"), Format::Json, Language::En) {
        Ok(p) => p,
        Err(e) => return err(StatusCode::BAD_REQUEST, &e),
    };
    if let Some(r) = parsed.rejected.first() {
        return err(StatusCode::BAD_REQUEST, &r.reason);
    }
    let Some(entry) = parsed.entries.into_iter().next() else {
        return err(StatusCode::BAD_REQUEST, "one entry expected");
    };
    let (added, _, _) = match app.store.kb_import(std::slice::from_ref(&entry), false) {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    if let Err(e) = reload(&app, &desk) {
        return internal(e);
    }
    let status = if added > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json(status, serde_json::to_value(&entry).unwrap_or_default())
}

pub async fn delete(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((language, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let desk = match supervisor(&app, &headers, peer).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Some(lang) = Language::parse(&language) else {
        return err(StatusCode::BAD_REQUEST, "language: en or zh");
    };
    match app.store.kb_delete(lang, &id) {
        Ok(true) => match reload(&app, &desk) {
            Ok(_) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => internal(e),
        },
        Ok(false) => err(StatusCode::NOT_FOUND, "no such entry"),
        Err(e) => internal(e),
    }
}

pub async fn import(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let desk = match supervisor(&app, &headers, peer).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let format = match q.get("format").map(String::as_str) {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(_) => return err(StatusCode::BAD_REQUEST, "format: json or csv"),
    };
    let lang = match q.get("language") {
        None => Language::En,
        Some(l) => match Language::parse(l) {
            Some(l) => l,
            None => return err(StatusCode::BAD_REQUEST, "language: en or zh"),
        },
    };
    let replace = q.get("replace").is_some_and(|v| v == "true" || v == "1");
    let parsed = match kb::parse(&body, format, lang) {
        Ok(p) => p,
        Err(e) => return err(StatusCode::BAD_REQUEST, &e),
    };
    if !parsed.rejected.is_empty() {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({
                "error": format!("{} rows rejected; nothing was imported", parsed.rejected.len()),
                "rejected": parsed.rejected,
            }),
        );
    }
    let (added, updated, removed) = match app.store.kb_import(&parsed.entries, replace) {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let total = match reload(&app, &desk) {
        Ok(n) => n,
        Err(e) => return internal(e),
    };
    json(
        StatusCode::OK,
        serde_json::json!({"added": added, "updated": updated, "removed": removed, "entries": total}),
    )
}

pub async fn ask(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let desk = match supervisor(&app, &headers, peer).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let lang = q
        .get("language")
        .and_then(|l| Language::parse(l))
        .unwrap_or(Language::En);
    let text = q.get("q").cloned().unwrap_or_default();
    if text.trim().is_empty() || text.chars().count() > 2000 {
        return err(StatusCode::BAD_REQUEST, "q: 1-2000 characters");
    }
    let (v, answer) = tokio::task::spawn_blocking(move || desk.ask(lang, &text))
        .await
        .unwrap_or_else(|_| {
            (
                bot::Verdict {
                    id: None,
                    confidence: 0.0,
                    candidates: vec![],
                },
                None,
            )
        });
    json(
        StatusCode::OK,
        serde_json::json!({"id": v.id, "answer": answer, "confidence": v.confidence, "candidates": v.candidates}),
    )
}

pub async fn stats(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let desk = match supervisor(&app, &headers, peer).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let read = || -> anyhow::Result<serde_json::Value> {
        let stats = app.store.kb_stats()?;
        let unanswered = app.store.kb_unanswered_list(500)?;
        let groups = desk.group_unanswered(&unanswered);
        Ok(serde_json::json!({
            "entries": stats.iter().map(|(l, id, h, r)| serde_json::json!({"language": l, "id": id, "hits": h, "rejected": r})).collect::<Vec<_>>(),
            "unanswered": groups,
        }))
    };
    match read() {
        Ok(v) => json(StatusCode::OK, v),
        Err(e) => internal(e),
    }
}
