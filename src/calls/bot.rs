//! The bot's desk: the shell around `bot`. The center says what the bot of a contact must hear
//! (`Output::Bot`); the desk runs the conversation off the async threads (embedding a sentence
//! takes milliseconds), records what the statistics need, and gives the center the bot's turn
//! back (`Input::BotSaid`).

use crate::app::App;
use crate::config::BotConfig;
use bot::kb::Language;
use bot::{Brain, Conversation, Entry, Intents, Matcher, UseEncoder};
use signaling::center::{BotInput, BotTurn, Input, QueueNews};
use signaling::ids::CallId;
use signaling::protocol::{ChatFrom, ChatLine, EscalationReason, HandoffCard};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::mpsc;

/// The knowledge, the intents and every live conversation.
pub struct BotDesk {
    brain: RwLock<Brain>,
    conversations: Mutex<HashMap<CallId, Conversation>>,
}

impl std::fmt::Debug for BotDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotDesk").finish_non_exhaustive()
    }
}

/// The model tag of stored sentence vectors.
pub const VECTOR_MODEL: &str = "use-m3";

/// Loads the sentence encoder, the intents and flows, and indexes `entries`, reusing the
/// vectors `store` kept from earlier starts (and keeping the new ones).
pub fn load_brain_with(
    config: &BotConfig,
    entries: Vec<Entry>,
    store: &crate::store::Store,
) -> anyhow::Result<Brain> {
    let known = store.kb_vectors(VECTOR_MODEL)?;
    let mut brain = load_brain_from(config, vec![], known)?;
    brain
        .matcher
        .remember_second(store.kb_vectors(brain.matcher.second_tag())?);
    index(&mut brain.matcher, entries, store);
    Ok(brain)
}

fn index(matcher: &mut Matcher, entries: Vec<Entry>, store: &crate::store::Store) {
    let t0 = std::time::Instant::now();
    let n = entries.len();
    matcher.load(entries);
    let fresh = matcher.take_new_vectors();
    if let Err(e) = store.put_kb_vectors(VECTOR_MODEL, &fresh) {
        tracing::error!("store: {e:#}");
    }
    let second = matcher.take_new_second_vectors();
    if let Err(e) = store.put_kb_vectors(matcher.second_tag(), &second) {
        tracing::error!("store: {e:#}");
    }
    tracing::info!(
        entries = n,
        embedded = fresh.len(),
        ms = t0.elapsed().as_millis() as u64,
        "knowledge base indexed"
    );
}

/// Loads the sentence encoder and the built-in (or configured) intents.
pub fn load_brain(config: &BotConfig, entries: Vec<Entry>) -> anyhow::Result<Brain> {
    load_brain_from(config, entries, vec![])
}

fn load_brain_from(
    config: &BotConfig,
    entries: Vec<Entry>,
    known: Vec<(String, Vec<f32>)>,
) -> anyhow::Result<Brain> {
    let t0 = std::time::Instant::now();
    let encoder = Arc::new(
        UseEncoder::load(&config.model_dir).map_err(|e| anyhow::anyhow!("[bot] model_dir: {e}"))?,
    );
    let intents_text = match &config.intents {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| anyhow::anyhow!("[bot] intents {}: {e}", p.display()))?,
        None => bot::intents::BUILT_IN.to_string(),
    };
    let intents = Intents::load(&intents_text, encoder.as_ref()).map_err(anyhow::Error::msg)?;
    // Flows are a deployment's own (its back ends); the demo brings the built-in ones.
    let mut flows = match &config.flows {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow::anyhow!("[bot] flows {}: {e}", p.display()))?;
            bot::flows::Flows::load(&text, encoder.as_ref()).map_err(anyhow::Error::msg)?
        }
        None => bot::flows::Flows::default(),
    };
    let mut matcher = Matcher::new(encoder, config.matching.clone());
    matcher.remember(known);
    // English questions get a second opinion when its model is there.
    let english = &config.english_model_dir;
    if english.join("model.onnx").is_file() {
        let m = bot::transformer::TransformerEncoder::load(english, &config.voice.runtime)
            .map_err(|e| anyhow::anyhow!("[bot] english_model_dir: {e}"))?;
        let dim = m.dim();
        flows.set_second(Language::En, &m);
        // Vectors are kept per conversion: the size of the graph tells an 8-bit one from a
        // float one (`tools/mpnet_to_onnx.py --float`) or a newer converter's.
        let size = std::fs::metadata(english.join("model.onnx")).map_or(0, |m| m.len());
        let tag = format!("all-mpnet-base-v2-{size}");
        matcher.set_second(Language::En, Arc::new(m), dim, tag);
    } else {
        tracing::info!(
            dir = %english.display(),
            "no second sentence encoder for English (scripts/fetch-models.sh fetches it)"
        );
    }
    let n = entries.len();
    matcher.load(entries);
    tracing::info!(
        entries = n,
        ms = t0.elapsed().as_millis() as u64,
        "bot loaded"
    );
    let mut brain = Brain::new(matcher, intents, config.escalation.clone());
    brain.flows = flows;
    Ok(brain)
}

impl BotDesk {
    pub fn new(brain: Brain) -> Self {
        Self {
            brain: RwLock::new(brain),
            conversations: Mutex::new(HashMap::new()),
        }
    }

    /// The bot's greeting in a language.
    pub fn greeting(&self, language: Language) -> String {
        let b = self.brain.read().expect("brain lock");
        b.phrases(language).greeting.clone()
    }

    /// What the bot says word for word in `language`: its fixed lines and every answer of
    /// the knowledge base (their first phrases are synthesised before anyone asks).
    pub fn spoken_lines(&self, language: Language) -> Vec<String> {
        let b = self.brain.read().expect("brain lock");
        let p = b.phrases(language);
        let mut out = vec![
            p.greeting.clone(),
            p.fallback.clone(),
            p.handing_over.clone(),
            p.already_queued.clone(),
            p.goodbye.clone(),
            p.rephrase.clone(),
            p.ask_rating.clone(),
        ];
        out.extend(b.matcher.entries(language).map(|e| e.answer.clone()));
        out
    }

    /// The language a contact's conversation is in now.
    pub fn language_of(&self, call: &CallId) -> Option<Language> {
        self.conversations
            .lock()
            .ok()
            .and_then(|c| c.get(call).map(|c| c.language))
    }

    /// Replaces the knowledge base (after an import or an edit).
    pub fn reload(&self, entries: Vec<Entry>, store: &crate::store::Store) {
        let mut b = self.brain.write().expect("brain lock");
        index(&mut b.matcher, entries, store);
    }

    /// What the bot would reply if the caller's turn ended with `text` now, without changing
    /// the conversation (for work started before the final transcript: speculation).
    pub fn predict(&self, call: &CallId, text: &str) -> Option<String> {
        let brain = self.brain.read().ok()?;
        let mut c = self.conversations.lock().ok()?.get(call)?.clone();
        let reply = c.hear(&brain, text, None, unix_ms());
        (!reply.text.is_empty()).then_some(reply.text)
    }

    /// Answers one question without a conversation (`kb ask`, the knowledge page).
    pub fn ask(&self, language: Language, text: &str) -> (bot::Verdict, Option<String>) {
        let b = self.brain.read().expect("brain lock");
        let v = b.matcher.ask(language, text);
        let answer =
            v.id.as_deref()
                .and_then(|id| b.matcher.entry(language, id))
                .map(|e| e.answer.clone());
        (v, answer)
    }

    /// Unanswered questions grouped by meaning, for the statistics.
    pub fn group_unanswered(&self, questions: &[(String, String)]) -> Vec<bot::stats::Group> {
        let b = self.brain.read().expect("brain lock");
        bot::stats::group_by_meaning(b.embedder(), questions, 0.7)
    }

    /// The back end answered a flow's webhook (or failed): the conversation goes on.
    fn webhook_done(
        &self,
        app: &App,
        call: &CallId,
        result: Result<std::collections::BTreeMap<String, String>, String>,
        at_ms: u64,
    ) -> Option<(BotTurn, Option<bot::dialogue::WebhookCall>)> {
        let brain = self.brain.read().expect("brain lock");
        let mut convs = self.conversations.lock().expect("conversations lock");
        let c = convs.get_mut(call)?;
        let reply = c.webhook_done(&brain, result, at_ms);
        let webhook = reply.webhook.clone();
        Some((self.finish(app, &brain, call, c, reply, at_ms), webhook))
    }

    /// One input for a contact's bot; the bot's turn, if it says something, and the webhook
    /// its flow needs next.
    fn turn(
        &self,
        app: &App,
        call: &CallId,
        input: BotInput,
        default_language: Language,
        at_ms: u64,
    ) -> Option<(BotTurn, Option<bot::dialogue::WebhookCall>)> {
        let brain = self.brain.read().expect("brain lock");
        let mut convs = self.conversations.lock().expect("conversations lock");
        match input {
            BotInput::Start { language, voice } => {
                let lang = language
                    .as_deref()
                    .and_then(Language::parse)
                    .unwrap_or(default_language);
                let mut c = Conversation::new(lang);
                c.ask_rating_by_voice(voice && app.config.bot.ask_rating_by_voice);
                let text = c.greet(&brain, at_ms);
                convs.insert(call.clone(), c);
                Some((
                    BotTurn {
                        text,
                        entry_id: None,
                        escalate: None,
                        queue: None,
                    },
                    None,
                ))
            }
            BotInput::Stop => {
                convs.remove(call);
                None
            }
            BotInput::Queued {
                position,
                estimated_wait_s,
                news,
            } => {
                let c = convs.get_mut(call)?;
                let news = match news {
                    QueueNews::Joined => bot::QueueNews::Joined,
                    QueueNews::MovedUp => bot::QueueNews::MovedUp,
                    QueueNews::Unchanged => bot::QueueNews::Unchanged,
                };
                let reply = c.queued(position, estimated_wait_s, news);
                Some((self.finish(app, &brain, call, c, reply, at_ms), None))
            }
            BotInput::Text { text, valence } => {
                let c = convs.get_mut(call)?;
                let reply = c.hear(&brain, &text, valence, at_ms);
                let lang = c.language;
                if let Some((l, id)) = &reply.rejected {
                    log_err(app.store.kb_count(*l, id, true));
                }
                if let Some(id) = &reply.entry {
                    log_err(app.store.kb_count(lang, id, false));
                }
                if reply.unanswered {
                    log_err(app.store.kb_unanswered(lang, &text, call.as_str()));
                }
                if let Some(score) = reply.rating {
                    tracing::info!(call_id = %call, score, "rated by voice");
                    log_err(app.store.rate_live_call(call.as_str(), score).map(|_| ()));
                }
                let webhook = reply.webhook.clone();
                Some((self.finish(app, &brain, call, c, reply, at_ms), webhook))
            }
            BotInput::RequestAgent => {
                let c = convs.get_mut(call)?;
                let reply = c.request_agent(&brain);
                Some((self.finish(app, &brain, call, c, reply, at_ms), None))
            }
            BotInput::RejectAnswer => {
                let c = convs.get_mut(call)?;
                let (rejected, reply) = c.reject_answer(&brain);
                if let Some((l, id)) = rejected {
                    log_err(app.store.kb_count(l, &id, true));
                }
                Some((self.finish(app, &brain, call, c, reply, at_ms), None))
            }
        }
    }

    fn finish(
        &self,
        app: &App,
        brain: &Brain,
        call: &CallId,
        c: &mut Conversation,
        reply: bot::Reply,
        at_ms: u64,
    ) -> BotTurn {
        if !reply.text.is_empty() {
            c.record("bot", &reply.text, at_ms);
        }
        let escalate = reply.escalate.and_then(|_| c.handoff()).map(|h| {
            let card = card(&h);
            if let Ok(json) = serde_json::to_string(&card) {
                log_err(app.store.escalated(call.as_str(), h.reason.as_str(), &json));
            }
            app.metrics
                .bot_escalations
                .with_label_values(&[h.reason.as_str()])
                .inc();
            (card.reason, card)
        });
        let queue = escalate
            .as_ref()
            .and_then(|(_, card)| card.intent.as_deref())
            .and_then(|i| intent_queue(app, brain, c.language, i));
        BotTurn {
            text: reply.text,
            entry_id: reply.entry,
            escalate,
            queue,
        }
    }
}

/// The queue a hand-over goes to by what the customer last asked about (`[bot] queues`): the
/// knowledge-base entry or flow by name, else the entry's category; a category that names a
/// queue goes there. `None`: the contact's own queue.
fn intent_queue(app: &App, brain: &Brain, language: Language, intent: &str) -> Option<String> {
    let routes = &app.config.bot.queues;
    let category = brain
        .matcher
        .entry(language, intent)
        .map(|e| e.category.trim().to_string())
        .filter(|c| !c.is_empty());
    let queue = routes.get(intent).cloned().or_else(|| {
        let c = category?;
        routes.get(&c).cloned().or(Some(c))
    })?;
    app.queues()
        .iter()
        .any(|q| q.name == queue)
        .then_some(queue)
}

fn log_err(r: anyhow::Result<()>) {
    if let Err(e) = r {
        tracing::error!("store: {e:#}");
    }
}

/// The wire form of the bot's handoff card.
fn card(h: &bot::Handoff) -> HandoffCard {
    HandoffCard {
        reason: match h.reason {
            bot::Reason::AskedForHuman => EscalationReason::AskedForHuman,
            bot::Reason::NegativeEmotion => EscalationReason::NegativeEmotion,
            bot::Reason::NoAnswerRepeated => EscalationReason::NoAnswerRepeated,
            bot::Reason::Flow => EscalationReason::Flow,
        },
        intent: h.intent.clone(),
        slots: h.slots.clone(),
        conversation: h
            .conversation
            .iter()
            .map(|l| ChatLine {
                from: ChatFrom::from_speaker(&l.from),
                text: l.text.clone(),
                at_ms: l.at_ms,
            })
            .collect(),
        sentiment: h
            .sentiment
            .iter()
            .map(|v| (v * 100.0).round() / 100.0)
            .collect(),
        summary: h.summary.clone(),
    }
}

pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The desk's task: one bot input at a time per server (turns take milliseconds), in order,
/// each on a blocking thread; the turn goes back to the center.
pub async fn run(app: std::sync::Weak<App>, mut rx: mpsc::UnboundedReceiver<(CallId, BotInput)>) {
    while let Some((call, input)) = rx.recv().await {
        let Some(a) = app.upgrade() else { return };
        let Some(desk) = a.bot.clone() else { continue };
        let lang = a.bot_language(&call);
        let a2 = a.clone();
        let call2 = call.clone();
        let at = unix_ms();
        let turn = tokio::task::spawn_blocking(move || desk.turn(&a2, &call2, input, lang, at))
            .await
            .ok()
            .flatten();
        if let Some((turn, webhook)) = turn {
            if !turn.text.is_empty() {
                a.center.tell(Input::BotSaid {
                    call: call.clone(),
                    turn: Box::new(turn),
                    at_ms: unix_ms(),
                });
            }
            if let Some(w) = webhook {
                tokio::spawn(call_webhook(a.clone(), call, w));
            }
        }
    }
}

/// Calls a flow's back end, then lets the conversation go on with its answer; a chain of
/// calls (lookup, then open a ticket) continues here.
async fn call_webhook(app: Arc<App>, call: CallId, mut w: bot::dialogue::WebhookCall) {
    loop {
        let result = post(&app, &call, &w).await;
        if let Err(e) = &result {
            tracing::warn!(call_id = %call, webhook = %w.name, "webhook failed: {e}");
        }
        let Some(desk) = app.bot.clone() else { return };
        let (a2, c2) = (app.clone(), call.clone());
        let at = unix_ms();
        let next = tokio::task::spawn_blocking(move || desk.webhook_done(&a2, &c2, result, at))
            .await
            .ok()
            .flatten();
        let Some((turn, webhook)) = next else { return };
        if !turn.text.is_empty() {
            app.center.tell(Input::BotSaid {
                call: call.clone(),
                turn: Box::new(turn),
                at_ms: unix_ms(),
            });
        }
        match webhook {
            Some(next) => w = next,
            None => return,
        }
    }
}

/// POSTs the call's slots as JSON (with the contact's id); a JSON object back, its values as
/// strings.
async fn post(
    app: &App,
    call: &CallId,
    w: &bot::dialogue::WebhookCall,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let hook = app
        .config
        .bot
        .webhooks
        .get(&w.name)
        .ok_or_else(|| format!("no [bot.webhooks.{}] configured", w.name))?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(hook.timeout_ms))
        .build()
        .map_err(|e| e.to_string())?;
    let mut body = w.args.clone();
    body.insert("contact_id".into(), call.to_string());
    let resp = client
        .post(&hook.url)
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "timed out".to_string()
            } else {
                e.to_string()
            }
        })?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let v: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
    let obj = v.as_object().ok_or("the answer is not a JSON object")?;
    Ok(obj
        .iter()
        .map(|(k, v)| {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            (k.clone(), s)
        })
        .collect())
}
