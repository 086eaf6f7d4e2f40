//! HTTP routes: the WebSocket endpoint, health, metrics, and the web pages.

use crate::app::App;
use axum::extract::{ConnectInfo, Path, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::services::{ServeDir, ServeFile};

/// The Content-Security-Policy of every page: scripts, styles and connections from this
/// server only, no inline script, no plugins, not framed by other sites.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; media-src 'self' blob: data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'self'";

/// Longest request path served; longer ones get `414 URI Too Long`.
const MAX_PATH_BYTES: usize = 2048;

pub fn router(app: Arc<App>) -> Router {
    let root = app.config.web_root.clone();
    let errors_app = app.clone();
    let demo = app.config.demo;
    let router = Router::new();
    let router = if demo {
        router.merge(crate::demo_orders::routes())
    } else {
        router
    };
    router
        .route("/ws", get(ws))
        .route("/healthz", get(healthz))
        .route("/api/queues", get(queues))
        .route("/api/customer-page", get(customer_page))
        .route("/metrics", get(metrics))
        .route("/api/calls/{call_id}/transcript", get(transcript))
        .route("/api/calls/{call_id}/contacts", get(earlier_contacts))
        .route("/api/kb", get(crate::kbapi::list).put(crate::kbapi::put))
        .route("/api/kb/import", axum::routing::post(crate::kbapi::import))
        .route("/api/kb/ask", get(crate::kbapi::ask))
        .route("/api/kb/stats", get(crate::kbapi::stats))
        .route("/api/kpis", get(crate::kpis::get))
        .route("/api/admin/users", get(crate::adminapi::users))
        .route(
            "/api/admin/users/{username}",
            get(crate::adminapi::user)
                .put(crate::adminapi::put_user)
                .delete(crate::adminapi::delete_user),
        )
        .route("/api/admin/queues", get(crate::adminapi::queues))
        .route(
            "/api/admin/queues/{name}",
            get(crate::adminapi::queue)
                .put(crate::adminapi::put_queue)
                .delete(crate::adminapi::delete_queue),
        )
        .route("/api/admin/audit", get(crate::adminapi::audit))
        .route("/api/ratings", axum::routing::post(crate::ratings::post))
        .route(
            "/api/tickets",
            get(crate::ticketapi::list).post(crate::ticketapi::create),
        )
        .route(
            "/api/tickets/{id}",
            get(crate::ticketapi::get).patch(crate::ticketapi::update),
        )
        .route(
            "/api/tickets/{id}/comments",
            axum::routing::post(crate::ticketapi::comment),
        )
        .route(
            "/api/kb/{language}/{id}",
            axum::routing::delete(crate::kbapi::delete),
        )
        .route_service("/", ServeFile::new(root.join("index.html")))
        .route_service("/agent", ServeFile::new(root.join("agent.html")))
        .route_service("/supervisor", ServeFile::new(root.join("supervisor.html")))
        .route_service("/knowledge", ServeFile::new(root.join("knowledge.html")))
        .route_service("/admin", ServeFile::new(root.join("admin.html")))
        .fallback_service(ServeDir::new(root))
        .layer(axum::middleware::from_fn(move |req, next| {
            edges(errors_app.clone(), req, next)
        }))
        .with_state(app)
}

/// Every request: refuse overlong paths before they reach the file server (which answered
/// 500 and logged an ERROR for a 20,000-character name), turn a 5xx from the file server
/// into 404, and count error statuses.
async fn edges(
    app: Arc<App>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if req.uri().path().len() > MAX_PATH_BYTES {
        app.metrics.http_errors.with_label_values(&["414"]).inc();
        return json_error(StatusCode::URI_TOO_LONG, "the request path is too long");
    }
    let is_api = {
        let p = req.uri().path();
        p == "/ws" || p == "/metrics" || p == "/healthz" || p.starts_with("/api/")
    };
    // No file of ours has a name the file system would refuse (over 255 bytes): answer 404
    // here rather than let the file server fail (and log an ERROR) on it.
    if !is_api && req.uri().path().split('/').any(|seg| seg.len() > 255) {
        app.metrics.http_errors.with_label_values(&["404"]).inc();
        return json_error(StatusCode::NOT_FOUND, "not found");
    }
    // The public endpoints an embedded call button uses from another site: the allowed
    // origins (`allowed_origins`) may read them; a preflight is answered here.
    let cors_api = matches!(
        req.uri().path(),
        "/api/queues" | "/api/ratings" | "/api/customer-page"
    );
    let embedder = req
        .headers()
        .get(header::ORIGIN)
        .filter(|_| cors_api && origin_allowed(&app, req.headers()))
        .cloned();
    if cors_api && req.method() == axum::http::Method::OPTIONS {
        let Some(origin) = embedder else {
            return json_error(
                StatusCode::FORBIDDEN,
                "this origin is not in allowed_origins",
            );
        };
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            header::HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            header::HeaderValue::from_static("content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            header::HeaderValue::from_static("600"),
        );
        h.insert(header::VARY, header::HeaderValue::from_static("origin"));
        return r;
    }
    let mut r = next.run(req).await;
    if r.status().is_server_error() && !is_api {
        // The file server's I/O errors (a name the file system refuses) are a missing page.
        r = json_error(StatusCode::NOT_FOUND, "not found");
    }
    let h = r.headers_mut();
    if let Some(origin) = embedder {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::VARY, header::HeaderValue::from_static("origin"));
    }
    let page = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if page {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            header::HeaderValue::from_static(PAGE_CSP),
        );
        h.insert(
            header::REFERRER_POLICY,
            header::HeaderValue::from_static("same-origin"),
        );
    } else if !is_api {
        // Scripts and styles are public code: any site may load them (the call button's
        // widget.js imports the SDK and ui.js from here).
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::HeaderValue::from_static("*"),
        );
        h.insert(
            "cross-origin-resource-policy",
            header::HeaderValue::from_static("cross-origin"),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    if r.status().is_client_error() || r.status().is_server_error() {
        app.metrics
            .http_errors
            .with_label_values(&[r.status().as_str()])
            .inc();
    }
    r
}

/// Browsers send `Origin` with every WebSocket upgrade. Allowed: the server's own origin
/// (same host as the `Host` header), the configured `allowed_origins`, and requests without
/// an `Origin` (not from a page).
fn origin_allowed(app: &App, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let allowed = &app.config.allowed_origins;
    if allowed
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/') == origin)
    {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or("");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

async fn ws(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&app, &headers) {
        return json_error(
            StatusCode::FORBIDDEN,
            "this page's origin may not connect; add it to allowed_origins",
        );
    }
    // Frames above the protocol limit are read (up to 1 MiB) so they can be refused with a
    // `too_large` error instead of a dropped connection. The read buffer starts at 4 KiB and
    // grows for a larger frame (an SDP, an import): the default 128 KiB, allocated up front,
    // was the largest single cost of an idle session (heaptrack, 50 loadgen calls).
    upgrade
        .max_message_size(1 << 20)
        .read_buffer_size(4096)
        .on_upgrade(move |socket| crate::ws::run(app, socket, Some(peer.ip())))
}

/// The queues a customer may choose (public: the customer page lists them).
async fn queues(State(app): State<Arc<App>>) -> Response {
    let list: Vec<serde_json::Value> = app
        .queues()
        .iter()
        .map(|q| serde_json::json!({ "name": q.name }))
        .collect();
    axum::Json(list).into_response()
}

/// What the customer page and the call button show before a contact (public).
async fn customer_page(State(app): State<Arc<App>>) -> Response {
    let notice = app
        .config
        .calls
        .transcription_notice
        .clone()
        .unwrap_or_else(|| crate::config::DEFAULT_TRANSCRIPTION_NOTICE.to_string());
    axum::Json(serde_json::json!({ "transcription_notice": notice })).into_response()
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    if app.shutting_down.load(std::sync::atomic::Ordering::Relaxed) {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    let body = serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "rooms": app.sfu.room_count(),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    // A few milliseconds of SQLite for a day's contacts: here rather than on a blocking
    // thread, whose pool would grow and shrink with scrapes.
    crate::kpis::refresh_gauges(&app);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, v: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

/// `{"error": message}` with `status` (and, for 401, the `WWW-Authenticate` challenge).
pub(crate) fn json_error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut r = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"switchboard\""),
        );
    }
    r
}

/// `Authorization: Basic ...` → (username, password).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Who is asking, from `Authorization: Bearer <token>` (a session token from `logged_in`) or
/// `Authorization: Basic` (checked once, then cached; see `crate::auth`).
pub(crate) async fn caller(
    app: &App,
    headers: &HeaderMap,
    addr: Option<std::net::IpAddr>,
) -> Result<crate::store::Account, Response> {
    use crate::auth::AuthError;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string());
    let checked = if let Some(token) = bearer {
        app.auth.token(&app.store, &token).map(|(a, _)| a)
    } else if let Some((user, password)) = basic_credentials(headers) {
        app.auth.basic(&app.store, &user, &password, addr).await
    } else {
        return Err(json_error(
            StatusCode::UNAUTHORIZED,
            "credentials required: Authorization: Bearer <token> or Basic",
        ));
    };
    checked.map_err(|e| match e {
        AuthError::BadCredentials => {
            json_error(StatusCode::UNAUTHORIZED, "bad username or password")
        }
        AuthError::Locked(wait) => retry_later(
            &format!(
                "too many failed logins; try again in {} s",
                wait.as_secs().max(1)
            ),
            wait,
        ),
        AuthError::Busy => retry_later(
            "the server is busy checking other logins; try again shortly",
            std::time::Duration::from_secs(1),
        ),
        AuthError::Internal(e) => {
            tracing::error!("auth: {e:#}");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    })
}

pub(crate) fn retry_later(message: &str, wait: std::time::Duration) -> Response {
    let mut r = json_error(StatusCode::TOO_MANY_REQUESTS, message);
    if let Ok(v) = header::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// The caller's earlier contacts (newest first, at most 20), for the agent taking this one:
/// supervisors for any contact, agents for one ringing for them, theirs now, or answered by
/// them.
async fn earlier_contacts(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(call_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let account = match caller(&app, &headers, Some(peer.ip())).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let found = match app.store.earlier_contacts(&call_id, 20) {
        Ok(Some(found)) => found,
        Ok(None) => return json_error(StatusCode::NOT_FOUND, "no such call"),
        Err(e) => {
            tracing::error!("earlier contacts: {e:#}");
            return json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    };
    if account.role == crate::store::AccountRole::Agent {
        let live = app
            .center
            .read({
                let call = signaling::CallId::from(call_id.as_str());
                move |c, _| c.agent_of(&call)
            })
            .await
            .ok()
            .flatten();
        let answered = app.store.call_agent(&call_id).ok().flatten();
        let me = account.username.as_str();
        if live.as_ref().map(|a| a.as_str()) != Some(me) && answered.as_deref() != Some(me) {
            return json_error(
                StatusCode::FORBIDDEN,
                "agents may read the history of their own contacts only",
            );
        }
    }
    let (matched_by, contacts) = found;
    axum::Json(serde_json::json!({
        "call_id": call_id,
        "matched_by": matched_by,
        "contacts": contacts,
    }))
    .into_response()
}

/// A call's stored transcript. Supervisors may read any call; agents only calls they answered.
async fn transcript(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(call_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let account = match caller(&app, &headers, Some(peer.ip())).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let read = (|| {
        let Some(utterances) = app.store.transcript(&call_id)? else {
            return Ok::<_, anyhow::Error>(Err(StatusCode::NOT_FOUND));
        };
        if account.role == crate::store::AccountRole::Agent
            && app.store.call_agent(&call_id)?.as_deref() != Some(account.username.as_str())
        {
            return Ok(Err(StatusCode::FORBIDDEN));
        }
        Ok(Ok(
            serde_json::json!({ "call_id": call_id, "utterances": utterances }),
        ))
    })();
    match read {
        Ok(Ok(body)) => (
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response(),
        Ok(Err(StatusCode::FORBIDDEN)) => json_error(
            StatusCode::FORBIDDEN,
            "agents may read only calls they answered",
        ),
        Ok(Err(s)) => json_error(s, "no such call"),
        Err(e) => {
            tracing::error!("transcript: {e:#}");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}
