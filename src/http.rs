//! HTTP routes: the WebSocket endpoint, health, metrics, and the web pages.

use crate::app::App;
use axum::extract::{Path, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use tower_http::services::{ServeDir, ServeFile};

pub fn router(app: Arc<App>) -> Router {
    let root = app.config.web_root.clone();
    Router::new()
        .route("/ws", get(ws))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/api/calls/{call_id}/transcript", get(transcript))
        .route_service("/", ServeFile::new(root.join("index.html")))
        .route_service("/agent", ServeFile::new(root.join("agent.html")))
        .route_service("/supervisor", ServeFile::new(root.join("supervisor.html")))
        .fallback_service(ServeDir::new(root))
        .with_state(app)
}

async fn ws(State(app): State<Arc<App>>, upgrade: WebSocketUpgrade) -> Response {
    // Frames above the protocol limit are read (up to 1 MiB) so they can be refused with a
    // `too_large` error instead of a dropped connection.
    upgrade
        .max_message_size(1 << 20)
        .on_upgrade(move |socket| crate::ws::run(app, socket))
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
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}

fn json_error(status: StatusCode, message: &str) -> Response {
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

/// A call's stored transcript. Supervisors may read any call; agents only calls they answered.
async fn transcript(
    State(app): State<Arc<App>>,
    Path(call_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some((user, password)) = basic_credentials(&headers) else {
        return json_error(StatusCode::UNAUTHORIZED, "HTTP Basic credentials required");
    };
    let store_app = app.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let account = crate::auth::authenticate(&store_app.store, &user, &password)?;
        let Some(account) = account else {
            return Ok::<_, anyhow::Error>(Err(StatusCode::UNAUTHORIZED));
        };
        let Some(utterances) = store_app.store.transcript(&call_id)? else {
            return Ok(Err(StatusCode::NOT_FOUND));
        };
        if account.role == crate::store::AccountRole::Agent
            && store_app.store.call_agent(&call_id)?.as_deref() != Some(account.username.as_str())
        {
            return Ok(Err(StatusCode::FORBIDDEN));
        }
        Ok(Ok(
            serde_json::json!({ "call_id": call_id, "utterances": utterances }),
        ))
    })
    .await;
    match checked {
        Ok(Ok(Ok(body))) => (
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response(),
        Ok(Ok(Err(StatusCode::UNAUTHORIZED))) => {
            json_error(StatusCode::UNAUTHORIZED, "bad username or password")
        }
        Ok(Ok(Err(StatusCode::FORBIDDEN))) => json_error(
            StatusCode::FORBIDDEN,
            "agents may read only calls they answered",
        ),
        Ok(Ok(Err(s))) => json_error(s, "no such call"),
        Ok(Err(e)) => {
            tracing::error!("transcript: {e:#}");
            json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
        Err(_) => json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}
