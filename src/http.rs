//! HTTP routes: the WebSocket endpoint, health, metrics, and the web pages.

use crate::app::App;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{header, StatusCode};
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
