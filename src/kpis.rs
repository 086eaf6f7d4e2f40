//! The contact centre's KPIs, computed from the stored records (`calls`, `agent_states`), so
//! anyone can reproduce them from the database: docs/kpis.md defines each. `GET /api/kpis`
//! (supervisors) serves them for a window, overall and per queue, optionally per 15 minutes,
//! hour or day.

use crate::app::App;
use crate::store::{AgentStateRow, CallRow};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

/// A contact abandoned within this long of queueing is a short abandon.
pub const SHORT_ABANDON_MS: i64 = 5_000;
/// A contact from the same caller within this long after a handled one means it was not
/// resolved at first contact.
pub const REPEAT_WINDOW_MS: i64 = 72 * 3600 * 1000;
/// The service-level threshold for the whole centre (queues have their own).
pub const OVERALL_SERVICE_LEVEL_S: u64 = 20;

/// Ends that mean the customer left.
const CUSTOMER_LEFT: [&str; 3] = ["customer_hung_up", "customer_disconnected", "media_failed"];

/// The KPIs of one group of contacts (a queue, or all) over one window.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Kpis {
    /// Contacts that started in the window.
    pub contacts: usize,
    /// Of those, contacts that waited for an agent (entered a queue).
    pub offered: usize,
    /// Answered by an agent.
    pub handled: usize,
    /// Left by the customer while waiting.
    pub abandoned: usize,
    /// Of the abandoned, within 5 s of queueing.
    pub abandoned_short: usize,
    /// No agent could take them (turned away on arrival, or later while waiting).
    pub overflowed: usize,
    /// Still waiting now.
    pub waiting: usize,
    /// Seconds the longest-waiting of those has waited.
    pub longest_wait_s: Option<f64>,
    /// The threshold `service_level` counts against.
    pub service_level_s: u64,
    /// Answered within `service_level_s` of queueing, of the offered that did not abandon
    /// within 5 s and are not still waiting.
    pub service_level: Option<f64>,
    /// Average speed of answer: queueing to answer.
    pub asa_s: Option<f64>,
    /// Abandoned over offered.
    pub abandonment_rate: Option<f64>,
    /// Average talk time: answer to end.
    pub talk_s: Option<f64>,
    /// Average after-call work (wrap-up).
    pub acw_s: Option<f64>,
    /// Average handle time: talk plus wrap-up.
    pub aht_s: Option<f64>,
    /// Contacts the bot served first (that have ended).
    pub bot_contacts: usize,
    /// Of those, ended with the bot: never queued for an agent nor turned away.
    pub bot_contained: usize,
    pub containment_rate: Option<f64>,
    /// Handled contacts whose caller made no other contact within 72 h after, of the handled
    /// ones whose caller is known.
    pub first_contact_resolution: Option<f64>,
    /// Transfers between agents or queues (the server has none yet: always 0).
    pub transfers: usize,
    /// Customer satisfaction: the mean rating (1-5) of the contacts rated.
    pub csat: Option<f64>,
    /// How many were rated.
    pub csat_count: usize,
    /// Callbacks customers asked for (work for agents, counted apart from the contacts
    /// above: none of the other KPIs include them).
    pub callbacks: usize,
    /// Of those, taken by an agent.
    pub callbacks_taken: usize,
    /// Of those, still waiting for an agent now.
    pub callbacks_waiting: usize,
    /// Agents' time on calls and in wrap-up over their time logged in and not away (overall
    /// only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occupancy: Option<f64>,
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| round(v.iter().sum::<f64>() / v.len() as f64))
}

fn ratio(n: usize, d: usize) -> Option<f64> {
    (d > 0).then(|| round(n as f64 / d as f64))
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub use crate::store::caller_key;

/// Each known caller's contact start times, in order (for repeat contacts).
pub type Starts = HashMap<String, Vec<i64>>;

/// [`Starts`] of `calls`.
pub fn starts(calls: &[CallRow]) -> Starts {
    let mut starts: Starts = HashMap::new();
    // A callback continues the contact that asked for it: not a contact of its own.
    for r in calls.iter().filter(|r| !is_callback(r)) {
        if let Some(key) = caller_key(&r.caller_json) {
            starts.entry(key).or_default().push(r.started_at);
        }
    }
    for v in starts.values_mut() {
        v.sort_unstable();
    }
    starts
}

/// The KPIs of `rows` (contacts that started in the window), as of `now`. `starts` are the
/// start times of all contacts from the window's start on, by caller (for repeat contacts).
fn is_callback(r: &CallRow) -> bool {
    r.channel.as_deref() == Some("callback")
}

pub fn compute(rows: &[&CallRow], starts: &Starts, now: i64, service_level_s: u64) -> Kpis {
    let (callbacks, rows): (Vec<&CallRow>, Vec<&CallRow>) =
        rows.iter().copied().partition(|r| is_callback(r));
    let mut k = Kpis {
        contacts: rows.len(),
        callbacks: callbacks.len(),
        callbacks_taken: callbacks.iter().filter(|r| r.answered_at.is_some()).count(),
        callbacks_waiting: callbacks
            .iter()
            .filter(|r| r.answered_at.is_none() && r.ended_at.is_none())
            .count(),
        service_level_s,
        ..Default::default()
    };
    let (mut asa, mut talk, mut acw, mut aht, mut waits) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut in_time, mut sl_base) = (0usize, 0usize);
    let (mut fcr_base, mut fcr_ok) = (0usize, 0usize);
    let mut ratings = vec![];

    for r in &rows {
        if let Some(score) = r.csat {
            ratings.push(score as f64);
        }
        if r.overflow.is_some() {
            k.overflowed += 1;
        }
        k.transfers += r.transfers as usize;
        if r.with_bot && r.ended_at.is_some() {
            k.bot_contacts += 1;
            if r.queued_at.is_none() && r.overflow.is_none() {
                k.bot_contained += 1;
            }
        }
        let Some(q) = r.queued_at else { continue };
        k.offered += 1;
        let abandoned = r.answered_at.is_none()
            && r.overflow.is_none()
            && r.end_reason
                .as_deref()
                .is_some_and(|e| CUSTOMER_LEFT.contains(&e));
        let short = abandoned && r.ended_at.is_some_and(|e| e - q < SHORT_ABANDON_MS);
        let waiting = r.answered_at.is_none() && r.ended_at.is_none() && r.overflow.is_none();
        if abandoned {
            k.abandoned += 1;
        }
        if short {
            k.abandoned_short += 1;
        }
        if waiting {
            k.waiting += 1;
            waits.push((now - q) as f64 / 1000.0);
        }
        if !short && !waiting {
            sl_base += 1;
        }
        let Some(a) = r.answered_at else { continue };
        k.handled += 1;
        asa.push((a - q) as f64 / 1000.0);
        if a - q <= service_level_s as i64 * 1000 {
            in_time += 1;
        }
        if let Some(e) = r.ended_at {
            let t = (e - a) as f64 / 1000.0;
            let w = r.wrap_up_ms.unwrap_or(0) as f64 / 1000.0;
            talk.push(t);
            aht.push(t + w);
            if r.wrap_up_ms.is_some() {
                acw.push(w);
            }
            if let Some(key) = caller_key(&r.caller_json) {
                fcr_base += 1;
                let again = starts.get(&key).is_some_and(|v| {
                    let next = v.partition_point(|t| *t <= r.started_at);
                    v.get(next)
                        .is_some_and(|t| *t <= r.started_at + REPEAT_WINDOW_MS)
                });
                if !again {
                    fcr_ok += 1;
                }
            }
        }
    }
    k.longest_wait_s = waits.iter().cloned().fold(None, |m: Option<f64>, w| {
        Some(round(m.map_or(w, |m| m.max(w))))
    });
    k.service_level = ratio(in_time, sl_base);
    k.asa_s = mean(&asa);
    k.abandonment_rate = ratio(k.abandoned, k.offered);
    k.talk_s = mean(&talk);
    k.acw_s = mean(&acw);
    k.aht_s = mean(&aht);
    k.containment_rate = ratio(k.bot_contained, k.bot_contacts);
    k.first_contact_resolution = ratio(fcr_ok, fcr_base);
    k.csat_count = ratings.len();
    k.csat = mean(&ratings);
    k
}

/// Agents' occupancy over `[from, to)`: time `on_call` or in `wrap_up` over time in any state
/// but `away`. `rows` are state changes, oldest first, with each agent's state at `from`.
pub fn occupancy(rows: &[AgentStateRow], from: i64, to: i64) -> Option<f64> {
    let mut last: HashMap<&str, (&str, i64)> = HashMap::new();
    let (mut busy, mut staffed) = (0i64, 0i64);
    let mut add = |state: &str, a: i64, b: i64| {
        let d = b.min(to) - a.max(from);
        if d <= 0 {
            return;
        }
        match state {
            "on_call" | "wrap_up" => {
                busy += d;
                staffed += d;
            }
            "available" | "ringing" => staffed += d,
            _ => {}
        }
    };
    for r in rows {
        if let Some((state, since)) = last.insert(&r.agent, (&r.state, r.at)) {
            add(state, since, r.at);
        }
    }
    for (state, since) in last.values() {
        add(state, *since, to);
    }
    (staffed > 0).then(|| round(busy as f64 / staffed as f64))
}

/// The report for `[from, to)`: overall and per queue, and per bucket when asked.
pub fn report(
    calls: &[CallRow],
    agents: &[AgentStateRow],
    from: i64,
    to: i64,
    now: i64,
    bucket_ms: Option<i64>,
    queue_sl: &dyn Fn(&str) -> u64,
) -> serde_json::Value {
    let starts = starts(calls);
    let section = |a: i64, b: i64| {
        let rows: Vec<&CallRow> = calls
            .iter()
            .filter(|r| r.started_at >= a && r.started_at < b)
            .collect();
        let mut overall = compute(&rows, &starts, now, OVERALL_SERVICE_LEVEL_S);
        overall.occupancy = occupancy(agents, a, b.min(now));
        let mut queues: BTreeMap<&str, Vec<&CallRow>> = BTreeMap::new();
        for r in &rows {
            if let Some(q) = r.queue.as_deref() {
                queues.entry(q).or_default().push(r);
            }
        }
        let queues: BTreeMap<&str, Kpis> = queues
            .into_iter()
            .map(|(q, rows)| (q, compute(&rows, &starts, now, queue_sl(q))))
            .collect();
        serde_json::json!({ "from": a, "to": b, "overall": overall, "queues": queues })
    };
    let mut v = section(from, to);
    if let Some(step) = bucket_ms {
        let mut buckets = vec![];
        let mut a = from - from.rem_euclid(step);
        while a < to {
            buckets.push(section(a.max(from), (a + step).min(to)));
            a += step;
        }
        v["buckets"] = serde_json::Value::Array(buckets);
    }
    v
}

use crate::http::{json, json_error as err};

/// Set `switchboard_kpi{queue, kpi}` to today's figures (since 00:00 UTC): every numeric KPI,
/// overall as `queue="all"`; a KPI with nothing to count is left out.
pub fn refresh_gauges(app: &App) {
    let now = crate::calls::bot::unix_ms() as i64;
    let from = now - now.rem_euclid(24 * 3600 * 1000);
    let read = || -> anyhow::Result<serde_json::Value> {
        let calls = app.store.call_rows(from, now + 1, REPEAT_WINDOW_MS)?;
        let agents = app.store.agent_state_rows(from, now)?;
        let queues = app.queues();
        let sl = |q: &str| {
            signaling::center::routing::queue(&queues, q)
                .map(|r| r.service_level_s)
                .unwrap_or(OVERALL_SERVICE_LEVEL_S)
        };
        Ok(report(&calls, &agents, from, now + 1, now, None, &sl))
    };
    let v = match read() {
        Ok(v) => v,
        Err(e) => {
            tracing::error!("kpis: {e:#}");
            return;
        }
    };
    app.metrics.kpi.reset();
    let set = |queue: &str, k: &serde_json::Value| {
        for (name, value) in k.as_object().into_iter().flatten() {
            if let Some(x) = value.as_f64() {
                app.metrics.kpi.with_label_values(&[queue, name]).set(x);
            }
        }
    };
    set("all", &v["overall"]);
    for (q, k) in v["queues"].as_object().into_iter().flatten() {
        set(q, k);
    }
}

/// `GET /api/kpis?from=&to=&bucket=` (supervisors): `from`/`to` in Unix ms (default: the last
/// 24 hours), `bucket` one of `15m`, `1h`, `1d`.
pub async fn get(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let account = match crate::http::caller(&app, &headers, Some(peer.ip())).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    if account.role != crate::store::AccountRole::Supervisor {
        return err(StatusCode::FORBIDDEN, "the KPIs are for supervisors");
    }
    if let Some(k) = q
        .keys()
        .find(|k| !["from", "to", "bucket"].contains(&k.as_str()))
    {
        return err(StatusCode::BAD_REQUEST, &format!("unknown parameter {k:?}"));
    }
    let now = crate::calls::bot::unix_ms() as i64;
    let time = |k: &str, default: i64| -> Result<i64, String> {
        match q.get(k) {
            None => Ok(default),
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| format!("{k} must be Unix time in ms")),
        }
    };
    let (from, to) = match (time("from", now - 24 * 3600 * 1000), time("to", now)) {
        (Ok(f), Ok(t)) if f < t => (f, t),
        (Ok(_), Ok(_)) => return err(StatusCode::BAD_REQUEST, "from must be before to"),
        (Err(e), _) | (_, Err(e)) => return err(StatusCode::BAD_REQUEST, &e),
    };
    let bucket = match q.get("bucket").map(String::as_str) {
        None => None,
        Some("15m") => Some(15 * 60 * 1000),
        Some("1h") => Some(3600 * 1000),
        Some("1d") => Some(24 * 3600 * 1000),
        Some(_) => return err(StatusCode::BAD_REQUEST, "bucket is 15m, 1h or 1d"),
    };
    if bucket.is_some_and(|b| (to - from) / b > 2000) {
        return err(StatusCode::BAD_REQUEST, "at most 2,000 buckets");
    }
    let read = || -> anyhow::Result<serde_json::Value> {
        let calls = app.store.call_rows(from, to, REPEAT_WINDOW_MS)?;
        let agents = app.store.agent_state_rows(from, to.min(now))?;
        let queues = app.queues();
        let sl = move |q: &str| {
            signaling::center::routing::queue(&queues, q)
                .map(|r| r.service_level_s)
                .unwrap_or(OVERALL_SERVICE_LEVEL_S)
        };
        Ok(report(&calls, &agents, from, to, now, bucket, &sl))
    };
    match read() {
        Ok(v) => json(StatusCode::OK, v),
        Err(e) => {
            tracing::error!("kpis: {e:#}");
            err(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, start: i64) -> CallRow {
        CallRow {
            call_id: id.into(),
            started_at: start,
            caller_json: format!(r#"{{"name":"{id}"}}"#),
            ..Default::default()
        }
    }

    /// Ten contacts worked by hand: every KPI as a person would count it.
    #[test]
    fn a_scripted_day_matches_a_hand_count() {
        let s = 1000;
        let answered = |id: &str, q: i64, a: i64, e: i64, w: i64| CallRow {
            queue: Some("billing".into()),
            queued_at: Some(q * s),
            answered_at: Some(a * s),
            ended_at: Some(e * s),
            end_reason: Some("agent_hung_up".into()),
            wrap_up_ms: Some(w * s),
            ..row(id, q * s)
        };
        let gone = |id: &str, q: i64, e: i64| CallRow {
            queue: Some("billing".into()),
            queued_at: Some(q * s),
            ended_at: Some(e * s),
            end_reason: Some("customer_hung_up".into()),
            ..row(id, q * s)
        };
        let rows = vec![
            answered("a1", 0, 10, 100, 20), // 10 s to answer, 90 s talk, 20 s wrap
            answered("a2", 100, 130, 190, 30), // 30 s: outside 20 s
            answered("a3", 200, 205, 305, 10),
            gone("x1", 300, 303), // short abandon
            gone("x2", 400, 460), // abandoned after a minute
            CallRow {
                overflow: Some("queue_full".into()),
                queue: Some("billing".into()),
                ended_at: Some(510 * s),
                end_reason: Some("message_left".into()),
                ..row("o1", 500 * s)
            },
            // Served by the bot alone; and one it handed over.
            CallRow {
                with_bot: true,
                ended_at: Some(650 * s),
                end_reason: Some("customer_hung_up".into()),
                ..row("b1", 600 * s)
            },
            CallRow {
                with_bot: true,
                ..answered("b2", 700, 705, 805, 0)
            },
            // Still waiting at 1000 s, since 900 s.
            CallRow {
                queue: Some("billing".into()),
                queued_at: Some(900 * s),
                ..row("w1", 900 * s)
            },
            // a1's caller again a day later: a1 was not resolved first time.
            CallRow {
                caller_json: r#"{"name":"A1"}"#.into(),
                ..row("again", 86_400 * s)
            },
        ];
        let window: Vec<&CallRow> = rows.iter().filter(|r| r.started_at < 1000 * s).collect();
        let k = compute(&window, &starts(&rows), 1000 * s, 20);
        assert_eq!(k.contacts, 9);
        assert_eq!(k.offered, 7); // a1 a2 a3 x1 x2 b2 w1
        assert_eq!(k.handled, 4);
        assert_eq!(k.abandoned, 2);
        assert_eq!(k.abandoned_short, 1);
        assert_eq!(k.overflowed, 1);
        assert_eq!(k.waiting, 1);
        assert_eq!(k.longest_wait_s, Some(100.0));
        // In time: a1 (10 s), a3 (5 s), b2 (5 s) of offered − short − waiting = 5.
        assert_eq!(k.service_level, Some(0.6));
        assert_eq!(k.asa_s, Some((10.0 + 30.0 + 5.0 + 5.0) / 4.0));
        assert_eq!(k.abandonment_rate, Some(round(2.0 / 7.0)));
        assert_eq!(k.talk_s, Some((90.0 + 60.0 + 100.0 + 100.0) / 4.0));
        assert_eq!(k.acw_s, Some((20.0 + 30.0 + 10.0 + 0.0) / 4.0));
        assert_eq!(k.aht_s, Some((110.0 + 90.0 + 110.0 + 100.0) / 4.0));
        assert_eq!((k.bot_contacts, k.bot_contained), (2, 1));
        assert_eq!(k.containment_rate, Some(0.5));
        // a1's caller came back within 72 h; a2, a3, b2 did not.
        assert_eq!(k.first_contact_resolution, Some(0.75));
    }

    #[test]
    fn occupancy_counts_talk_and_wrap_up_over_time_not_away() {
        let r = |agent: &str, state: &str, at: i64| AgentStateRow {
            agent: agent.into(),
            state: state.into(),
            at,
        };
        // ann: available 0-10, on_call 10-40, wrap_up 40-50, away 50-100 (not staffed).
        // bob: available before the window (at -5) until 100.
        let rows = vec![
            r("bob", "available", -5),
            r("ann", "available", 0),
            r("ann", "on_call", 10),
            r("ann", "wrap_up", 40),
            r("ann", "away", 50),
        ];
        // busy 40 of staffed 50 (ann) + 100 (bob).
        assert_eq!(occupancy(&rows, 0, 100), Some(round(40.0 / 150.0)));
        assert_eq!(occupancy(&[], 0, 100), None);
    }

    #[test]
    fn callers_are_known_by_what_the_site_says_first() {
        assert_eq!(
            caller_key(r#"{"name":"Ann","metadata":{"email":"Ann@Example.com"}}"#).as_deref(),
            Some("email:ann@example.com")
        );
        assert_eq!(
            caller_key(r#"{"name":" Ann "}"#).as_deref(),
            Some("name:ann")
        );
        assert_eq!(caller_key(r#"{}"#), None);
    }
}
