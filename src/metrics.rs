//! Prometheus metrics of the server (`/metrics`). Media metrics are registered by `media`.

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use signaling::center::Census;

#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub active_calls: IntGauge,
    pub calls_by_state: IntGaugeVec,
    pub queue_length: IntGauge,
    pub agents_by_state: IntGaugeVec,
    pub calls_ended: IntCounterVec,
    pub bot_escalations: IntCounterVec,
    pub tickets: IntCounterVec,
    /// Today's KPIs, refreshed at each scrape (`crate::kpis::refresh_gauges`).
    pub kpi: GaugeVec,
    pub bot_synthesis: Histogram,
    pub bot_first_audio: Histogram,
    pub bot_barge_ins: IntCounter,
    pub bot_voice_errors: IntCounter,
    pub bot_turn_stage: HistogramVec,
    pub bot_speculative: IntCounterVec,
    pub bot_prepared: IntCounterVec,
    pub bot_preparing: IntGauge,
    pub call_setup: HistogramVec,
    pub call_duration: Histogram,
    pub ws_sessions: IntGauge,
    pub ws_errors: IntCounterVec,
    pub ws_idle_closed: IntCounter,
    pub ws_parked: IntGauge,
    pub ws_resumes: IntCounterVec,
    pub auth_checks: IntCounterVec,
    pub log_suppressed: IntCounterVec,
    pub http_errors: IntCounterVec,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let setup_buckets = vec![
            0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
        ];
        let m = Self {
            active_calls: IntGauge::new("switchboard_active_calls", "Calls not yet ended")?,
            calls_by_state: IntGaugeVec::new(
                Opts::new("switchboard_calls", "Live calls by state"),
                &["state"],
            )?,
            queue_length: IntGauge::new("switchboard_queue_length", "Calls waiting for an agent")?,
            agents_by_state: IntGaugeVec::new(
                Opts::new("switchboard_agents", "Logged-in agents by state"),
                &["state"],
            )?,
            bot_escalations: IntCounterVec::new(
                Opts::new(
                    "switchboard_bot_escalations_total",
                    "Contacts the bot handed to the agents' queue, by reason",
                ),
                &["reason"],
            )?,
            tickets: IntCounterVec::new(
                Opts::new(
                    "switchboard_tickets_total",
                    "Contact tickets opened or updated, by the kind they took",
                ),
                &["kind"],
            )?,
            kpi: GaugeVec::new(
                Opts::new(
                    "switchboard_kpi",
                    "Today's KPIs since 00:00 UTC (docs/kpis.md), overall (queue=\"all\") and per queue",
                ),
                &["queue", "kpi"],
            )?,
            bot_synthesis: Histogram::with_opts(
                HistogramOpts::new(
                    "switchboard_bot_synthesis_seconds",
                    "Time to synthesise one phrase of the bot's voice",
                )
                .buckets(vec![0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0]),
            )?,
            bot_first_audio: Histogram::with_opts(
                HistogramOpts::new(
                    "switchboard_bot_first_audio_seconds",
                    "From the bot's reply to its first phrase of audio queued in the call",
                )
                .buckets(vec![0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0]),
            )?,
            bot_barge_ins: IntCounter::new(
                "switchboard_bot_barge_ins_total",
                "Times a caller talking over the bot's voice stopped it",
            )?,
            bot_voice_errors: IntCounter::new(
                "switchboard_bot_voice_errors_total",
                "Bot replies that could not be spoken (synthesis failed); they stay as text",
            )?,
            bot_turn_stage: HistogramVec::new(
                HistogramOpts::new(
                    "switchboard_bot_turn_stage_seconds",
                    "Where a voice turn's time goes, from the caller's last word to the bot's first \
                     phrase: endpointing (silence that ends the utterance), recognition (then to \
                     the final transcript), answer (then to the bot's reply), first_phrase (then \
                     to its first audio queued)",
                )
                .buckets(vec![
                    0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0,
                ]),
                &["stage"],
            )?,
            bot_speculative: IntCounterVec::new(
                Opts::new(
                    "switchboard_bot_speculative_phrases_total",
                    "First phrases of a predicted answer made before the final transcript \
                     (made), and those the bot then said (used)",
                ),
                &["result"],
            )?,
            bot_prepared: IntCounterVec::new(
                Opts::new(
                    "switchboard_bot_prepared_phrases_total",
                    "Phrases the bot says word for word (its fixed lines, the first phrase of \
                     every knowledge-base answer) made ready before anyone asks: synthesised \
                     now, or read back from the voice cache on disk",
                ),
                &["source"],
            )?,
            bot_preparing: IntGauge::new(
                "switchboard_bot_voice_preparing",
                "1 while the bot's voice is making its fixed lines and answers ready (at start, \
                 after a knowledge-base change), else 0",
            )?,
            calls_ended: IntCounterVec::new(
                Opts::new("switchboard_calls_ended_total", "Ended calls by reason"),
                &["reason"],
            )?,
            call_setup: HistogramVec::new(
                HistogramOpts::new(
                    "switchboard_call_setup_seconds",
                    "Call setup time: offer_to_connected (customer offer to media up), accept_to_two_way (agent accept to both sides' media up)",
                )
                .buckets(setup_buckets),
                &["phase"],
            )?,
            call_duration: Histogram::with_opts(
                HistogramOpts::new("switchboard_call_duration_seconds", "Call duration, start to end")
                    .buckets(vec![10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 3600.0]),
            )?,
            ws_sessions: IntGauge::new("switchboard_ws_sessions", "Open WebSocket sessions")?,
            ws_errors: IntCounterVec::new(
                Opts::new("switchboard_ws_errors_total", "Errors sent to clients, by code"),
                &["code"],
            )?,
            ws_idle_closed: IntCounter::new(
                "switchboard_ws_idle_closed_total",
                "WebSocket sessions closed because nothing (no frame, no pong) came for [session] idle_timeout_ms",
            )?,
            ws_parked: IntGauge::new(
                "switchboard_ws_parked_sessions",
                "Sessions whose connection dropped, kept for [session] resume_grace_ms",
            )?,
            ws_resumes: IntCounterVec::new(
                Opts::new(
                    "switchboard_ws_resumes_total",
                    "Dropped sessions, by outcome: resumed (a new connection took over), expired (the grace ran out), ended (closed early while parked)",
                ),
                &["outcome"],
            )?,
            auth_checks: IntCounterVec::new(
                Opts::new(
                    "switchboard_auth_checks_total",
                    "Login and API credential checks by result: ok, bad_credentials, locked, busy, token, bad_token, basic_cached",
                ),
                &["result"],
            )?,
            log_suppressed: IntCounterVec::new(
                Opts::new(
                    "switchboard_log_suppressed_total",
                    "Log lines not written because the same client fault repeated, by kind",
                ),
                &["kind"],
            )?,
            http_errors: IntCounterVec::new(
                Opts::new("switchboard_http_errors_total", "HTTP responses 4xx/5xx by status"),
                &["status"],
            )?,
            registry,
        };
        m.registry.register(Box::new(m.active_calls.clone()))?;
        m.registry.register(Box::new(m.calls_by_state.clone()))?;
        m.registry.register(Box::new(m.queue_length.clone()))?;
        m.registry.register(Box::new(m.agents_by_state.clone()))?;
        m.registry.register(Box::new(m.calls_ended.clone()))?;
        m.registry.register(Box::new(m.bot_escalations.clone()))?;
        m.registry.register(Box::new(m.tickets.clone()))?;
        m.registry.register(Box::new(m.kpi.clone()))?;
        m.registry.register(Box::new(m.bot_synthesis.clone()))?;
        m.registry.register(Box::new(m.bot_first_audio.clone()))?;
        m.registry.register(Box::new(m.bot_barge_ins.clone()))?;
        m.registry.register(Box::new(m.bot_voice_errors.clone()))?;
        m.registry.register(Box::new(m.bot_turn_stage.clone()))?;
        m.registry.register(Box::new(m.bot_speculative.clone()))?;
        m.registry.register(Box::new(m.bot_prepared.clone()))?;
        m.registry.register(Box::new(m.bot_preparing.clone()))?;
        m.registry.register(Box::new(m.call_setup.clone()))?;
        m.registry.register(Box::new(m.call_duration.clone()))?;
        m.registry.register(Box::new(m.ws_sessions.clone()))?;
        m.registry.register(Box::new(m.ws_errors.clone()))?;
        m.registry.register(Box::new(m.ws_idle_closed.clone()))?;
        m.registry.register(Box::new(m.ws_parked.clone()))?;
        m.registry.register(Box::new(m.ws_resumes.clone()))?;
        m.registry.register(Box::new(m.auth_checks.clone()))?;
        m.registry.register(Box::new(m.log_suppressed.clone()))?;
        m.registry.register(Box::new(m.http_errors.clone()))?;
        m.prime();
        Ok(m)
    }

    /// Create every labelled series at zero, so each family named in the README is on
    /// `/metrics` from the start, not only after its first event.
    fn prime(&self) {
        for s in ["queued", "ringing", "connected", "overflow", "scheduled"] {
            self.calls_by_state.with_label_values(&[s]);
        }
        for s in ["away", "available", "ringing", "on_call", "wrap_up"] {
            self.agents_by_state.with_label_values(&[s]);
        }
        for r in signaling::protocol::EndReason::ALL {
            self.calls_ended.with_label_values(&[r.as_str()]);
        }
        for k in ["escalated", "abandoned", "overflow", "message", "callback"] {
            self.tickets.with_label_values(&[k]);
        }
        for r in bot::Reason::ALL {
            self.bot_escalations.with_label_values(&[r.as_str()]);
        }
        for s in ["endpointing", "recognition", "answer", "first_phrase"] {
            self.bot_turn_stage.with_label_values(&[s]);
        }
        for r in ["made", "used"] {
            self.bot_speculative.with_label_values(&[r]);
        }
        for r in ["synthesised", "disk"] {
            self.bot_prepared.with_label_values(&[r]);
        }
        for p in ["offer_to_connected", "accept_to_two_way"] {
            self.call_setup.with_label_values(&[p]);
        }
        for c in signaling::ErrorCode::ALL {
            self.ws_errors.with_label_values(&[c.as_str()]);
        }
        for o in ["resumed", "expired", "ended"] {
            self.ws_resumes.with_label_values(&[o]);
        }
        for r in [
            "ok",
            "bad_credentials",
            "locked",
            "busy",
            "token",
            "bad_token",
            "basic_cached",
        ] {
            self.auth_checks.with_label_values(&[r]);
        }
        for st in ["400", "401", "403", "404", "414", "429", "500", "503"] {
            self.http_errors.with_label_values(&[st]);
        }
        for k in ["slow_client", "http"] {
            self.log_suppressed.with_label_values(&[k]);
        }
    }

    /// Set the gauges from the call center's counts.
    pub fn set_census(&self, c: &Census, queue_len: usize) {
        let active = c.calls_queued + c.calls_ringing + c.calls_connected;
        self.active_calls.set(active as i64);
        self.calls_by_state
            .with_label_values(&["queued"])
            .set(c.calls_queued as i64);
        self.calls_by_state
            .with_label_values(&["ringing"])
            .set(c.calls_ringing as i64);
        self.calls_by_state
            .with_label_values(&["connected"])
            .set(c.calls_connected as i64);
        self.calls_by_state
            .with_label_values(&["overflow"])
            .set(c.calls_overflow as i64);
        self.calls_by_state
            .with_label_values(&["scheduled"])
            .set(c.calls_scheduled as i64);
        self.queue_length.set(queue_len as i64);
        for (state, n) in &c.agents {
            self.agents_by_state
                .with_label_values(&[state])
                .set(*n as i64);
        }
    }

    pub fn render(&self) -> String {
        let mut buf = vec![];
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding");
        String::from_utf8(buf).unwrap_or_default()
    }
}
