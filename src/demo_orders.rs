//! The demo's order service: a tiny back end for the bot's flows, so order status, returns and
//! delivery changes work out of the box (`--demo`). A real deployment points `[bot.webhooks]`
//! at its own systems. Orders:
//!
//! | order    | state                                                   |
//! |----------|---------------------------------------------------------|
//! | NW123456 | shipped, arrives Friday (a phone and a case)            |
//! | NW654321 | delivered yesterday                                     |
//! | NW111111 | being packed                                            |
//! | NW666666 | held by our fraud team: the bot hands over              |
//! | NW999999 | the order system hangs (the webhook times out)          |
//!
//! Any other well-formed number is "not found".

use crate::app::App;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/demo/orders/lookup_order", post(lookup))
        .route("/demo/orders/open_return", post(open_return))
        .route("/demo/orders/change_delivery", post(change_delivery))
}

fn order(n: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match n {
        "NW123456" => Some((
            "on its way",
            "It left our warehouse yesterday and should arrive on Friday.",
            "Galaxy A55 phone, clear phone case",
        )),
        "NW654321" => Some((
            "delivered",
            "It was delivered yesterday at 14:05 and signed for at the front door.",
            "USB-C charger",
        )),
        "NW111111" => Some(("being packed", "It should ship tomorrow.", "Pixel 9 phone")),
        _ => None,
    }
}

async fn lookup(Json(args): Json<BTreeMap<String, String>>) -> Response {
    let n = args.get("order_number").cloned().unwrap_or_default();
    match n.as_str() {
        "NW999999" => {
            // A back end that hangs: the bot's timeout must handle it.
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        "NW666666" => Json(json!({
            "status": "on hold", "detail": "Held for a security check.", "items": "iPhone 16",
            "requires_human": true
        }))
        .into_response(),
        _ => match order(&n) {
            Some((status, detail, items)) => {
                Json(json!({"status": status, "detail": detail, "items": items})).into_response()
            }
            None => Json(json!({
                "status": "not in our system",
                "detail": "Please check the number on your confirmation email.",
                "items": "nothing we can find"
            }))
            .into_response(),
        },
    }
}

async fn open_return(
    State(app): State<Arc<App>>,
    Json(args): Json<BTreeMap<String, String>>,
) -> Response {
    let details: Value = json!(args);
    match app.store.open_ticket("return", None, &details.to_string()) {
        Ok(id) => Json(json!({"ticket": id})).into_response(),
        Err(e) => {
            tracing::error!("store: {e:#}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn change_delivery(Json(args): Json<BTreeMap<String, String>>) -> Response {
    Json(json!({"delivery": args.get("date").cloned().unwrap_or_default()})).into_response()
}
