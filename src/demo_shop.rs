//! The demo's example shop: a page on another origin (the listen port + 1) that embeds the
//! call button with one script tag, as a customer's own website would.

use crate::app::App;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// The origins a browser may give the shop at `addr` (its IP, and `localhost` on loopback).
pub fn origins(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    let mut v = vec![];
    let ip = addr.ip();
    if ip.is_loopback() || ip.is_unspecified() {
        v.push(format!("http://localhost:{port}"));
        v.push(format!("http://127.0.0.1:{port}"));
    }
    if !ip.is_unspecified() {
        let host = match ip {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        };
        let o = format!("http://{host}:{port}");
        if !v.contains(&o) {
            v.push(o);
        }
    }
    v
}

struct Shop {
    app: Arc<App>,
    https: bool,
}

/// Serve the shop at `addr`; a port already taken is logged and the demo goes on without it.
pub async fn spawn(app: &Arc<App>, addr: SocketAddr, https: bool) {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(%addr, "demo shop not started: {e}");
            return;
        }
    };
    let state = Arc::new(Shop {
        app: app.clone(),
        https,
    });
    let router = axum::Router::new()
        .route("/", axum::routing::get(page))
        .with_state(state);
    eprintln!("Example shop embedding the call button on http://{addr}/");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!("demo shop stopped: {e}");
        }
    });
}

/// The shop's page, its script tag pointing at the Switchboard server on the host the
/// browser used for the shop, with a strict Content-Security-Policy of the shop's own.
async fn page(State(shop): State<Arc<Shop>>, headers: HeaderMap) -> Response {
    let file = shop.app.config.web_root.join("embed").join("shop.html");
    let Ok(html) = tokio::fs::read_to_string(&file).await else {
        return (StatusCode::NOT_FOUND, "no embed/shop.html in the web root").into_response();
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| match h.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            _ => h,
        })
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c))
        })
        .unwrap_or("127.0.0.1")
        .to_string();
    let (scheme, ws) = if shop.https {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    let port = shop.app.config.listen.port();
    let server = format!("{scheme}://{host}:{port}");
    // The shop is strict about what its page may load, as a careful site is: the button works
    // with the Switchboard server allowed for scripts and connections, and nothing else.
    // (Its own style sheet goes by a nonce: the button's styles need no 'unsafe-inline'.)
    let nonce = crate::resume::new_token();
    let csp = format!(
        "default-src 'none'; script-src {server}; connect-src {server} {ws}://{host}:{port}; \
         style-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    let html = html
        .replace("{{SERVER}}", &server)
        .replace("{{NONCE}}", &nonce);
    ([(header::CONTENT_SECURITY_POLICY, csp)], Html(html)).into_response()
}
