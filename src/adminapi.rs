//! Administration over HTTP, for supervisors (the same authentication as the other APIs):
//!
//! - `GET /api/admin/users`: every account with its role and skills (never a password).
//! - `GET /api/admin/users/{username}`, `PUT` it (`{name?, role?, password?, skills?}`;
//!   creating needs role and password; 201 when created), `DELETE` it.
//! - `GET /api/admin/queues`: every queue's rules (the format of `[[center.queues]]`) and how
//!   many contacts wait in it; `GET`/`PUT`/`DELETE /api/admin/queues/{name}`.
//! - `GET /api/admin/audit?after=&actor=&target=&action=&limit=`: who changed what, when.
//!
//! A change is stored and audited, then applied to the running server at once: new rules to
//! the queues, new skills to logged-in agents; a deleted account's sessions, or those of an
//! account whose role or password changed, are ended. Errors are `{"error": "..."}` with 400
//! (the change breaks a rule), 401, 403 (not a supervisor), 404, 409 (the last supervisor, a
//! queue something still names or contacts wait in), 429; nothing is changed by any of them.

use crate::admin::{self, AdminError, UserInput};
use crate::app::App;
use crate::store::{Account, AccountRole, AuditFilter};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use signaling::center::routing::QueueRules;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::http::{json, json_error as err};

fn refused(e: AdminError) -> Response {
    match e {
        AdminError::Invalid(m) => err(StatusCode::BAD_REQUEST, &m),
        AdminError::NotFound(m) => err(StatusCode::NOT_FOUND, &m),
        AdminError::Conflict(m) => err(StatusCode::CONFLICT, &m),
        AdminError::Internal(e) => {
            tracing::error!("administration: {e:#}");
            err(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

async fn supervisor(app: &App, headers: &HeaderMap, peer: SocketAddr) -> Result<Account, Response> {
    let a = crate::http::caller(app, headers, Some(peer.ip())).await?;
    if a.role != AccountRole::Supervisor {
        return Err(err(
            StatusCode::FORBIDDEN,
            "administration is for supervisors",
        ));
    }
    Ok(a)
}

/// The request's JSON body, or why it is not one (a 400's message).
fn parse<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, String> {
    serde_json::from_str(body).map_err(|e| format!("bad JSON: {e}"))
}

// ---- users ---------------------------------------------------------------------------------

pub async fn users(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = supervisor(&app, &headers, peer).await {
        return r;
    }
    match app.store.users() {
        Ok(u) => json(StatusCode::OK, serde_json::json!(u)),
        Err(e) => refused(e.into()),
    }
}

pub async fn user(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = supervisor(&app, &headers, peer).await {
        return r;
    }
    match app.store.user(&username) {
        Ok(Some(u)) => json(StatusCode::OK, serde_json::json!(u)),
        Ok(None) => err(StatusCode::NOT_FOUND, &format!("no user {username:?}")),
        Err(e) => refused(e.into()),
    }
}

pub async fn put_user(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(username): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let actor = match supervisor(&app, &headers, peer).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let input: UserInput = match parse(&body) {
        Ok(i) => i,
        Err(m) => return err(StatusCode::BAD_REQUEST, &m),
    };
    let role = match admin::check_user(&app.store, &username, &input, admin::MIN_PASSWORD) {
        Ok(r) => r,
        Err(e) => return refused(e),
    };
    let hash = match &input.password {
        Some(p) => match app.auth.hash_new(p).await {
            Ok(h) => Some(h),
            Err(crate::auth::AuthError::Busy) => {
                return crate::http::retry_later(
                    "the server is busy checking logins; try again shortly",
                    std::time::Duration::from_secs(1),
                )
            }
            Err(_) => return refused(AdminError::Internal(anyhow::anyhow!("hashing failed"))),
        },
        None => None,
    };
    let saved = match admin::save_user(&app.store, &actor.username, &username, &input, role, hash) {
        Ok(s) => s,
        Err(e) => return refused(e),
    };
    admin::sync(&app).await;
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    match app.store.user(&username) {
        Ok(Some(u)) => json(status, serde_json::json!(u)),
        Ok(None) => err(StatusCode::NOT_FOUND, &format!("no user {username:?}")),
        Err(e) => refused(e.into()),
    }
}

pub async fn delete_user(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(username): Path<String>,
    headers: HeaderMap,
) -> Response {
    let actor = match supervisor(&app, &headers, peer).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Err(e) = admin::delete_user(&app.store, &actor.username, &username) {
        return refused(e);
    }
    admin::sync(&app).await;
    json(StatusCode::OK, serde_json::json!({ "deleted": username }))
}

// ---- queues --------------------------------------------------------------------------------

async fn waiting(app: &App) -> HashMap<String, usize> {
    let names: Vec<String> = app.queues().iter().map(|q| q.name.clone()).collect();
    app.center
        .read(move |c, _| {
            names
                .into_iter()
                .map(|n| {
                    let w = c.waiting_in(&n);
                    (n, w)
                })
                .collect()
        })
        .await
        .unwrap_or_default()
}

fn queue_json(q: &QueueRules, waiting: usize) -> serde_json::Value {
    let mut v = serde_json::json!(q);
    v["waiting"] = serde_json::json!(waiting);
    v
}

pub async fn queues(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = supervisor(&app, &headers, peer).await {
        return r;
    }
    let w = waiting(&app).await;
    let list: Vec<_> = app
        .queues()
        .iter()
        .map(|q| queue_json(q, w.get(&q.name).copied().unwrap_or(0)))
        .collect();
    json(StatusCode::OK, serde_json::json!(list))
}

pub async fn queue(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = supervisor(&app, &headers, peer).await {
        return r;
    }
    let w = waiting(&app).await;
    match app.queues().iter().find(|q| q.name == name) {
        Some(q) => json(
            StatusCode::OK,
            queue_json(q, w.get(&name).copied().unwrap_or(0)),
        ),
        None => err(StatusCode::NOT_FOUND, &format!("no queue {name:?}")),
    }
}

pub async fn put_queue(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let actor = match supervisor(&app, &headers, peer).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut v: serde_json::Value = match parse(&body) {
        Ok(v) => v,
        Err(m) => return err(StatusCode::BAD_REQUEST, &m),
    };
    // The name is the path's; a body may repeat it, not contradict it.
    match v.as_object_mut() {
        Some(o) => {
            // What GET adds; a page may send back what it read.
            o.remove("waiting");
            match o.get("name") {
                Some(serde_json::Value::String(n)) if *n != name => {
                    return err(
                        StatusCode::BAD_REQUEST,
                        &format!("the body names {n:?}, the path {name:?}"),
                    )
                }
                _ => {
                    o.insert("name".into(), serde_json::json!(name));
                }
            }
        }
        None => return err(StatusCode::BAD_REQUEST, "the body must be a JSON object"),
    }
    let rules: QueueRules = match serde_json::from_value(v) {
        Ok(r) => r,
        Err(e) => return err(StatusCode::BAD_REQUEST, &format!("bad queue rules: {e}")),
    };
    let (rules, created) = match admin::put_queue(&app.store, &actor.username, &rules) {
        Ok(c) => c,
        Err(e) => return refused(e),
    };
    admin::sync(&app).await;
    let w = waiting(&app).await;
    json(
        if created == Some(true) {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        queue_json(&rules, w.get(&name).copied().unwrap_or(0)),
    )
}

pub async fn delete_queue(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let actor = match supervisor(&app, &headers, peer).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let w = waiting(&app).await.get(&name).copied().unwrap_or(0);
    if let Err(e) = admin::delete_queue(
        &app.store,
        &actor.username,
        &name,
        &app.config.entry_points,
        w,
    ) {
        return refused(e);
    }
    admin::sync(&app).await;
    json(StatusCode::OK, serde_json::json!({ "deleted": name }))
}

// ---- audit ---------------------------------------------------------------------------------

pub async fn audit(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = supervisor(&app, &headers, peer).await {
        return r;
    }
    if let Some(k) = q
        .keys()
        .find(|k| !["after", "actor", "target", "action", "limit"].contains(&k.as_str()))
    {
        return err(StatusCode::BAD_REQUEST, &format!("unknown parameter {k:?}"));
    }
    let text = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let after = match text("after").map(|v| v.parse::<i64>()) {
        None => None,
        Some(Ok(v)) if v >= 0 => Some(v),
        Some(_) => return err(StatusCode::BAD_REQUEST, "after is an audit id (0 or more)"),
    };
    let limit = match text("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(l)) if (1..=1000).contains(&l) => l,
        Some(_) => return err(StatusCode::BAD_REQUEST, "limit is 1 to 1000"),
    };
    let f = AuditFilter {
        after,
        actor: text("actor"),
        target: text("target"),
        action: text("action"),
        limit,
    };
    match app.store.audit_log(&f) {
        Ok(rows) => json(StatusCode::OK, serde_json::json!(rows)),
        Err(e) => refused(e.into()),
    }
}
