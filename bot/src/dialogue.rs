//! One contact's conversation with the bot: what it answers, and when it hands the customer
//! over to a person, with the reason and a handoff card.
//!
//! Per customer turn, in this order of precedence when several apply:
//! 1. **asked_for_human**: a request for a person ("put me through to an agent", 转人工), unless
//!    the same turn declines one ("no, I don't need a human");
//! 2. **negative_emotion**: clear anger, insults, threats to complain or leave, sarcasm after the
//!    conversation has started, or (voice) a strongly negative speech-emotion score;
//! 3. **no_answer_repeated**: the second question in a row the knowledge base cannot answer;
//! 4. **flow**: what only an agent may handle: suspected fraud or account takeover, a safety
//!    hazard, or a charge disputed after the bot has answered.
//!
//! Each reason can be switched off. After the hand-over the bot keeps answering from the
//! knowledge base until an agent accepts; it does not hand over twice.

use crate::embed::Embedder;
use crate::flows::{fill, is_cancel, Flows, Step};
use crate::intents::{Intent, Intents, Signals};
use crate::kb::Language;
use crate::matcher::{normalize, Matcher, Verdict};
use crate::slots;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why the bot handed a contact to a person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    AskedForHuman,
    NegativeEmotion,
    NoAnswerRepeated,
    Flow,
}

impl Reason {
    /// Every reason, for metrics that carry each series from the start.
    pub const ALL: [Reason; 4] = [
        Reason::AskedForHuman,
        Reason::NegativeEmotion,
        Reason::NoAnswerRepeated,
        Reason::Flow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::AskedForHuman => "asked_for_human",
            Reason::NegativeEmotion => "negative_emotion",
            Reason::NoAnswerRepeated => "no_answer_repeated",
            Reason::Flow => "flow",
        }
    }

    fn words(self, lang: Language) -> &'static str {
        match (self, lang) {
            (Reason::AskedForHuman, Language::En) => "asked for a person",
            (Reason::NegativeEmotion, Language::En) => "upset",
            (Reason::NoAnswerRepeated, Language::En) => "questions the bot could not answer",
            (Reason::Flow, Language::En) => "needs an agent by policy",
            (Reason::AskedForHuman, Language::Zh) => "要求人工",
            (Reason::NegativeEmotion, Language::Zh) => "情绪激动",
            (Reason::NoAnswerRepeated, Language::Zh) => "机器人连续无法回答",
            (Reason::Flow, Language::Zh) => "按规定需人工处理",
        }
    }
}

/// Which hand-over reasons are on, and the bot's words.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DialogueConfig {
    pub asked_for_human: bool,
    pub negative_emotion: bool,
    pub no_answer_repeated: bool,
    pub flow: bool,
    /// Unanswered questions in a row that hand over.
    pub unanswered_limit: u32,
    /// A voice turn whose emotion valence is at or under this counts as clearly negative.
    pub negative_valence: f32,
}

impl Default for DialogueConfig {
    fn default() -> Self {
        Self {
            asked_for_human: true,
            negative_emotion: true,
            no_answer_repeated: true,
            flow: true,
            unanswered_limit: 2,
            negative_valence: -0.6,
        }
    }
}

/// What the bot says, per language.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Phrases {
    pub greeting: String,
    pub fallback: String,
    pub handing_over: String,
    pub already_queued: String,
    pub goodbye: String,
    pub rephrase: String,
    /// Said by the server when a caller's agent was lost mid-call.
    pub agent_lost: String,
    /// Said by the server when no agent can take a call (the page offers the choices).
    pub overflow: String,
    /// Said by the server when the caller's agent transferred the call to another queue.
    pub transferred: String,
    /// A voice caller the bot helped says goodbye: the bot asks for a rating.
    pub ask_rating: String,
    /// The caller gave a rating; `{score}` is replaced by it.
    pub rating_thanks: String,
}

impl Phrases {
    pub fn default_for(lang: Language) -> Self {
        match lang {
            Language::En => Self {
                greeting: "Hi, I'm the virtual assistant. Ask me anything about your account, or say \"agent\" at any time to reach a person.".into(),
                fallback: "I'm not sure I understood; could you put it another way?".into(),
                handing_over: "I'm passing you to one of our team now; they will see our conversation so far. I can keep answering questions while you wait.".into(),
                already_queued: "You're in the queue for an agent; they'll be with you as soon as possible.".into(),
                goodbye: "You're welcome. Is there anything else I can help with?".into(),
                rephrase: "Sorry about that. Could you tell me a bit more about what you need?".into(),
                agent_lost: "Sorry, we lost the connection to your agent. You're at the front of the queue; the next agent will be with you shortly.".into(),
                overflow: "Sorry, none of our agents can take your call right now. You can leave a message: say it now, then press Send message. Or ask us to call you back.".into(),
                transferred: "I'm transferring you now; please hold, the next agent will see what was said so far.".into(),
                ask_rating: "You're welcome. Before you go: how would you rate this call, from one to five?".into(),
                rating_thanks: "Thank you, I've noted {score} out of five. Anything else I can help with?".into(),
            },
            Language::Zh => Self {
                greeting: "您好，我是智能助手。有什么可以帮您？随时说“转人工”即可联系客服人员。".into(),
                fallback: "抱歉，我没太明白，您能换个说法吗？".into(),
                handing_over: "我现在为您转接人工客服，他们会看到我们刚才的对话。等待期间我可以继续回答您的问题。".into(),
                already_queued: "您已在人工客服的队列中，客服人员会尽快为您服务。".into(),
                goodbye: "不客气。还有其他可以帮您的吗？".into(),
                rephrase: "抱歉。能再具体说说您需要什么吗？".into(),
                agent_lost: "抱歉，与您的客服人员的连接中断了。您已排在队列最前面，下一位客服人员会尽快为您服务。".into(),
                overflow: "抱歉，目前没有客服人员可以接听您的电话。您可以留言：现在说出留言，然后点击“发送留言”；或者请我们给您回电。".into(),
                transferred: "正在为您转接，请稍候。下一位客服人员会看到之前的对话。".into(),
                ask_rating: "不客气。挂断之前，请您为这次通话打个分，一到五分，您给几分？".into(),
                rating_thanks: "谢谢，已记下{score}分。还有其他可以帮您的吗？".into(),
            },
        }
    }
}

/// One line of the conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// `customer`, `bot` or `agent`.
    pub from: String,
    pub text: String,
    pub at_ms: u64,
}

/// What the agent is given with an escalated contact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    pub reason: Reason,
    /// The last knowledge-base entry or intent the customer's words matched.
    pub intent: Option<String>,
    pub slots: BTreeMap<String, String>,
    pub conversation: Vec<Line>,
    /// One valence (-1..1) per customer turn, oldest first.
    pub sentiment: Vec<f32>,
    pub summary: String,
}

/// Why the bot tells a waiting customer their queue position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueNews {
    /// They just joined the queue.
    Joined,
    /// They moved up since they were last told.
    MovedUp,
    /// A reminder after a while without news.
    Unchanged,
}

/// The bot's response to one customer turn.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub text: String,
    /// The knowledge-base entry answered, if any.
    pub entry: Option<String>,
    pub confidence: f32,
    /// Set on the turn the bot hands over.
    pub escalate: Option<Reason>,
    /// The turn's question found no answer (for the unanswered statistics).
    pub unanswered: bool,
    /// A flow step needs the back end: call this webhook, then give the result to
    /// [`Conversation::webhook_done`].
    pub webhook: Option<WebhookCall>,
    /// The customer said the answer from this entry was not what they asked.
    pub rejected: Option<(Language, String)>,
    /// The customer rated the contact (1-5) when the bot asked.
    pub rating: Option<u8>,
}

/// A back-end call a flow asks for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WebhookCall {
    pub name: String,
    pub args: BTreeMap<String, String>,
}

/// A flow in progress.
#[derive(Clone, Debug)]
struct Active {
    flow: usize,
    step: usize,
    tries: u32,
    waiting: bool,
}

/// Tries at one slot before the bot hands over.
const SLOT_TRIES: u32 = 3;

/// What the bot knows: the knowledge base, the intents, its settings and words.
pub struct Brain {
    pub matcher: Matcher,
    pub intents: Intents,
    pub flows: Flows,
    pub config: DialogueConfig,
    pub phrases: BTreeMap<Language, Phrases>,
}

impl Brain {
    pub fn new(matcher: Matcher, intents: Intents, config: DialogueConfig) -> Self {
        let phrases = [Language::En, Language::Zh]
            .into_iter()
            .map(|l| (l, Phrases::default_for(l)))
            .collect();
        Self {
            matcher,
            intents,
            flows: Flows::default(),
            config,
            phrases,
        }
    }

    pub fn embedder(&self) -> &dyn Embedder {
        self.matcher.embedder().as_ref()
    }

    pub fn phrases(&self, lang: Language) -> &Phrases {
        &self.phrases[&lang]
    }
}

/// The language of a text: Chinese if it has Han characters, else `default`.
pub fn language_of(text: &str, default: Language) -> Language {
    let han = text
        .chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c) || ('\u{3400}'..='\u{4dbf}').contains(c))
        .count();
    if han > 0 {
        Language::Zh
    } else if text.chars().any(|c| c.is_ascii_alphabetic()) {
        Language::En
    } else {
        default
    }
}

/// One contact's conversation state.
#[derive(Clone, Debug)]
pub struct Conversation {
    pub language: Language,
    lines: Vec<Line>,
    sentiment: Vec<f32>,
    unanswered_in_row: u32,
    answered: u32,
    escalated: Option<Reason>,
    last_entry: Option<String>,
    /// The language of `last_entry`'s knowledge base.
    last_entry_language: Language,
    topics: Vec<String>,
    open_questions: Vec<String>,
    flow: Option<Active>,
    /// Values the customer gave and the back end returned, across flows.
    slots: BTreeMap<String, String>,
    /// The flow running or last run.
    last_flow: Option<String>,
    /// The bot asks a voice caller it helped for a rating when they say goodbye.
    asks_rating: bool,
    rating: RatingAsk,
}

/// Where asking for a rating by voice stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RatingAsk {
    NotAsked,
    /// Asked on the last turn: this turn may be the score.
    Asked,
    /// Given, or the caller went on to something else: not asked again.
    Done,
}

impl Conversation {
    pub fn new(language: Language) -> Self {
        Self {
            language,
            lines: vec![],
            sentiment: vec![],
            unanswered_in_row: 0,
            answered: 0,
            escalated: None,
            last_entry: None,
            last_entry_language: language,
            topics: vec![],
            open_questions: vec![],
            flow: None,
            slots: BTreeMap::new(),
            last_flow: None,
            asks_rating: false,
            rating: RatingAsk::NotAsked,
        }
    }

    /// Ask for a rating by voice when a caller the bot helped says goodbye (voice contacts:
    /// a chat's page asks with a form).
    pub fn ask_rating_by_voice(&mut self, on: bool) {
        self.asks_rating = on;
    }

    /// The name of the flow in progress.
    pub fn flow(&self, brain: &Brain) -> Option<String> {
        self.flow
            .as_ref()
            .map(|a| brain.flows.flows[a.flow].name.clone())
    }

    /// Runs the active flow from its current step until it needs the customer or the back
    /// end, or ends. `lead` is said first.
    fn run_flow(&mut self, brain: &Brain, lead: Vec<String>) -> Reply {
        let lang = self.language;
        let mut said = lead;
        while let Some(active) = self.flow.as_mut() {
            let flow = &brain.flows.flows[active.flow];
            let Some(step) = flow.steps.get(active.step) else {
                self.flow = None;
                break;
            };
            match step {
                Step::Say { say } => {
                    said.push(fill(say.get(lang), &self.slots));
                    active.step += 1;
                }
                Step::Ask { prompt, .. } => {
                    said.push(fill(prompt.get(lang), &self.slots));
                    break;
                }
                Step::Confirm { confirm, .. } => {
                    said.push(fill(confirm.get(lang), &self.slots));
                    break;
                }
                Step::Call { call, with, .. } => {
                    active.waiting = true;
                    if said.is_empty() {
                        said.push(
                            if lang == Language::Zh {
                                "请稍等，我查一下。"
                            } else {
                                "One moment, let me check."
                            }
                            .to_string(),
                        );
                    }
                    let args = with
                        .iter()
                        .filter_map(|k| self.slots.get(k).map(|v| (k.clone(), v.clone())))
                        .collect();
                    let mut r = self.say(said.join(" "), None, 0.0, None);
                    r.webhook = Some(WebhookCall {
                        name: call.clone(),
                        args,
                    });
                    return r;
                }
                Step::Handover { .. } => {
                    self.flow = None;
                    return self.hand_over(brain, Reason::Flow, said);
                }
            }
        }
        if said.is_empty() {
            said.push(brain.phrases(lang).goodbye.clone());
        }
        self.say(said.join(" "), None, 0.0, None)
    }

    fn hand_over(&mut self, brain: &Brain, reason: Reason, mut said: Vec<String>) -> Reply {
        if self.escalated.is_some() {
            said.push(brain.phrases(self.language).already_queued.clone());
            return self.say(said.join(" "), None, 0.0, None);
        }
        self.escalated = Some(reason);
        said.push(brain.phrases(self.language).handing_over.clone());
        self.say(said.join(" "), None, 0.0, Some(reason))
    }

    /// The back end answered a flow's call (`Ok`: its fields) or failed (`Err`: why).
    pub fn webhook_done(
        &mut self,
        brain: &Brain,
        result: Result<BTreeMap<String, String>, String>,
        at_ms: u64,
    ) -> Reply {
        let _ = at_ms;
        let lang = self.language;
        let Some(active) = self.flow.as_mut().filter(|a| a.waiting) else {
            return self.say(brain.phrases(lang).fallback.clone(), None, 0.0, None);
        };
        active.waiting = false;
        let step = brain.flows.flows[active.flow]
            .steps
            .get(active.step)
            .cloned();
        match result {
            Err(_) => {
                let text = match step {
                    Some(Step::Call { on_error, .. }) => on_error.get(lang).to_string(),
                    _ => brain.phrases(lang).fallback.clone(),
                };
                self.flow = None;
                // A failed task is a question the bot could not answer.
                self.unanswered_in_row += 1;
                let mut r = self.say(text, None, 0.0, None);
                r.unanswered = true;
                r
            }
            Ok(fields) => {
                if fields.get("requires_human").is_some_and(|v| v == "true") {
                    self.slots
                        .extend(fields.into_iter().filter(|(k, _)| k != "requires_human"));
                    self.flow = None;
                    return self.hand_over(brain, Reason::Flow, vec![]);
                }
                self.slots.extend(fields);
                active.step += 1;
                self.run_flow(brain, vec![])
            }
        }
    }

    /// A turn inside a flow: the value asked for, a yes/no, or leaving the flow.
    fn flow_turn(&mut self, brain: &Brain, text: &str, at_ms: u64) -> Reply {
        let lang = self.language;
        let active = self.flow.clone().expect("in a flow");
        if active.waiting {
            let t = if lang == Language::Zh {
                "请稍等，正在查询。"
            } else {
                "One moment, I'm still checking."
            };
            return self.say(t.into(), None, 0.0, None);
        }
        if is_cancel(text, lang) {
            self.flow = None;
            let t = if lang == Language::Zh {
                "好的，已取消。还有别的需要吗？"
            } else {
                "OK, cancelled. Is there anything else?"
            };
            return self.say(t.into(), None, 0.0, None);
        }
        let step = brain.flows.flows[active.flow].steps[active.step].clone();
        match step {
            Step::Ask {
                ask, kind, invalid, ..
            } => {
                let today = slots::date_of_unix_ms(at_ms);
                match slots::read(&kind, text, today, lang) {
                    Some(v) => {
                        self.slots.insert(ask, v);
                        if let Some(a) = self.flow.as_mut() {
                            a.step += 1;
                            a.tries = 0;
                        }
                        self.run_flow(brain, vec![])
                    }
                    None => {
                        let tries = active.tries + 1;
                        if tries >= SLOT_TRIES {
                            self.flow = None;
                            return self.hand_over(brain, Reason::Flow, vec![]);
                        }
                        if let Some(a) = self.flow.as_mut() {
                            a.tries = tries;
                        }
                        self.say(invalid.get(lang).to_string(), None, 0.0, None)
                    }
                }
            }
            Step::Confirm { confirm, declined } => match slots::yes_no(text, lang) {
                Some(true) => {
                    if let Some(a) = self.flow.as_mut() {
                        a.step += 1;
                    }
                    self.run_flow(brain, vec![])
                }
                Some(false) => {
                    self.flow = None;
                    self.say(declined.get(lang).to_string(), None, 0.0, None)
                }
                None => self.say(fill(confirm.get(lang), &self.slots), None, 0.0, None),
            },
            _ => self.run_flow(brain, vec![]),
        }
    }

    /// The greeting, recorded as the conversation's first line.
    pub fn greet(&mut self, brain: &Brain, at_ms: u64) -> String {
        let text = brain.phrases(self.language).greeting.clone();
        self.record("bot", &text, at_ms);
        text
    }

    pub fn escalated(&self) -> Option<Reason> {
        self.escalated
    }

    pub fn last_entry(&self) -> Option<&str> {
        self.last_entry.as_deref()
    }

    /// Records a line someone else said (the agent, or the bot's words sent by the shell).
    pub fn record(&mut self, from: &str, text: &str, at_ms: u64) {
        self.lines.push(Line {
            from: from.into(),
            text: text.into(),
            at_ms,
        });
    }

    /// The customer asked for a person with the page's button.
    pub fn request_agent(&mut self, brain: &Brain) -> Reply {
        let lang = self.language;
        if self.escalated.is_some() {
            return self.say(brain.phrases(lang).already_queued.clone(), None, 0.0, None);
        }
        self.escalated = Some(Reason::AskedForHuman);
        let text = brain.phrases(lang).handing_over.clone();
        self.say(text, None, 0.0, Some(Reason::AskedForHuman))
    }

    /// Where the customer stands in the queue, in their language.
    pub fn queued(&mut self, position: usize, estimated_wait_s: u64, news: QueueNews) -> Reply {
        let minutes = estimated_wait_s.div_ceil(60).max(1);
        let s = if minutes == 1 { "" } else { "s" };
        let text = match (self.language, news, position) {
            (Language::En, QueueNews::MovedUp, 1) => format!(
                "You're next in the queue now; the expected wait is about {minutes} minute{s}."
            ),
            (Language::En, QueueNews::MovedUp, _) => format!(
                "You've moved up: you're number {position} in the queue now; the expected wait is about {minutes} minute{s}."
            ),
            (Language::En, QueueNews::Unchanged, 1) => format!(
                "Thank you for waiting. You're next in the queue; the expected wait is about {minutes} minute{s}."
            ),
            (Language::En, QueueNews::Unchanged, _) => format!(
                "Thank you for waiting. You're number {position} in the queue; the expected wait is about {minutes} minute{s}."
            ),
            (Language::En, QueueNews::Joined, _) => format!(
                "You're number {position} in the queue; the expected wait is about {minutes} minute{s}."
            ),
            (Language::Zh, QueueNews::MovedUp, 1) => {
                format!("下一位就是您了，预计等待约{minutes}分钟。")
            }
            (Language::Zh, QueueNews::MovedUp, _) => {
                format!("您的排队位置已前进，现在排在第{position}位，预计等待约{minutes}分钟。")
            }
            (Language::Zh, QueueNews::Unchanged, _) => {
                format!("感谢您的耐心等待。您目前排在第{position}位，预计等待约{minutes}分钟。")
            }
            (Language::Zh, QueueNews::Joined, _) => {
                format!("您目前排在第{position}位，预计等待约{minutes}分钟。")
            }
        };
        self.say(text, None, 0.0, None)
    }

    /// The customer said the last answer was not what they asked.
    pub fn reject_answer(&mut self, brain: &Brain) -> (Option<(Language, String)>, Reply) {
        let rejected = self
            .last_entry
            .take()
            .map(|id| (self.last_entry_language, id));
        self.unanswered_in_row += 1;
        let text = brain.phrases(self.language).rephrase.clone();
        (rejected, self.say(text, None, 0.0, None))
    }

    /// The customer said `text` (typed, or a final transcript); `valence` is the speech emotion
    /// of a voice turn.
    pub fn hear(&mut self, brain: &Brain, text: &str, valence: Option<f32>, at_ms: u64) -> Reply {
        let lang = language_of(text, self.language);
        self.language = lang;
        self.record("customer", text, at_ms);
        if self.rating == RatingAsk::Asked {
            // Asked last turn: a score ends it; anything else is a new turn as usual.
            self.rating = RatingAsk::Done;
            if let Some(score) = rating_in(text) {
                let phrases = brain.phrases(lang);
                let mut r = self.say(
                    phrases.rating_thanks.replace("{score}", &score.to_string()),
                    None,
                    0.0,
                    None,
                );
                r.rating = Some(score);
                return r;
            }
        }
        let norm = normalize(text, lang);
        let vec = brain.embedder().embed(&norm);
        let signals = brain.intents.detect(lang, &norm, &vec);
        let vec2 = brain.matcher.second_vector(lang, &norm);
        let verdict = brain
            .matcher
            .ask_embedded_with(lang, &norm, &vec, vec2.as_deref());
        let cfg = &brain.config;
        let phrases = brain.phrases(lang);

        let mood = text_valence(&signals, text, lang);
        let turn_valence = valence.map_or(mood, |v| v.min(mood));
        self.sentiment.push(turn_valence);

        // "That's not what I asked" about the last answer: a rejection, then a rephrase.
        if self.last_entry.is_some()
            && signals.has(Intent::Rejection)
            && !signals.has(Intent::HumanRequest)
        {
            let (rejected, mut r) = self.reject_answer(brain);
            r.rejected = rejected;
            return r;
        }
        // Declining is told by its words ("don't need", 不用): a request and its negation are
        // close in meaning.
        let declines = signals.cue(Intent::HumanDecline)
            || signals.similarity(Intent::HumanDecline) >= DECLINE_BY_MEANING;
        let human = signals.has(Intent::HumanRequest) && !declines;
        let thanks = signals.has(Intent::Goodbye);
        // Sarcasm needs a conversation to be sarcastic about, and thanks are not sarcasm unless
        // a sarcastic turn of phrase says so.
        let sarcastic = signals.has(Intent::Sarcasm)
            && self.turns() > 1
            && (signals.cue(Intent::Sarcasm) || !thanks);
        // Strongly negative words that are also near the anger examples: anger the examples
        // did not phrase ("I'm sick of paying for nothing").
        let strongly_negative = mood <= STRONGLY_NEGATIVE
            && signals.similarity(Intent::Anger) >= signals_threshold_near_anger();
        let angry = signals.has(Intent::Anger)
            || sarcastic
            || strongly_negative
            || valence.is_some_and(|v| v <= cfg.negative_valence);
        let goodbye = thanks && verdict.id.is_none();
        let declined_only = declines && verdict.id.is_none();
        let unanswered = verdict.id.is_none() && !goodbye && !human && !angry && !declined_only;
        if std::env::var_os("SB_BOT_TRACE").is_some() {
            eprintln!(
                "turn {text:?}: {signals:?} kb={:?} {}",
                verdict.id, verdict.confidence
            );
        }
        // Inside a flow the customer is answering the bot's question, unless they want out.
        if self.flow.is_some() && !human && !angry {
            return self.flow_turn(brain, text, at_ms);
        }
        if self.flow.is_some() {
            self.flow = None;
        }
        if !human && !angry {
            if let Some((i, sim)) = brain.flows.trigger(
                lang,
                &norm,
                &vec,
                vec2.as_deref().map(|v| (v, brain.matcher.second_shift())),
            ) {
                if sim >= verdict.confidence {
                    self.flow = Some(Active {
                        flow: i,
                        step: 0,
                        tries: 0,
                        waiting: false,
                    });
                    self.last_flow = Some(brain.flows.flows[i].name.clone());
                    self.unanswered_in_row = 0;
                    return self.run_flow(brain, vec![]);
                }
            }
        }

        // Only questions count towards "two questions in a row": a statement that follows up
        // ("but I really didn't use it") is not a new question the bot failed.
        let unanswered_question = unanswered && is_question(text, lang);
        if unanswered_question {
            self.unanswered_in_row += 1;
            self.open_questions.push(text.to_string());
        } else if verdict.id.is_some() {
            self.unanswered_in_row = 0;
        }
        let policy = signals.has(Intent::Fraud)
            || signals.has(Intent::Safety)
            || (signals.has(Intent::Dispute) && self.answered > 0);

        let reason = if cfg.asked_for_human && human {
            Some(Reason::AskedForHuman)
        } else if cfg.negative_emotion && angry {
            Some(Reason::NegativeEmotion)
        } else if cfg.no_answer_repeated && self.unanswered_in_row >= cfg.unanswered_limit {
            Some(Reason::NoAnswerRepeated)
        } else if cfg.flow && policy {
            Some(Reason::Flow)
        } else {
            None
        };

        if let Some(id) = &verdict.id {
            self.answered += 1;
            self.last_entry = Some(id.clone());
            self.last_entry_language = lang;
            if let Some(e) = brain.matcher.entry(lang, id) {
                if !self.topics.contains(&e.question) {
                    self.topics.push(e.question.clone());
                }
            }
        }
        let answer = verdict
            .id
            .as_deref()
            .and_then(|id| brain.matcher.entry(lang, id))
            .map(|e| e.answer.clone());

        if let Some(r) = reason {
            if self.escalated.is_none() {
                self.escalated = Some(r);
                // A policy hand-over still gives the answer the customer can act on now.
                let text = match (&answer, r) {
                    (Some(a), Reason::Flow) => format!("{a} {}", phrases.handing_over),
                    _ => phrases.handing_over.clone(),
                };
                return self.say_verdict(text, &verdict, Some(r), unanswered);
            }
            if r == Reason::AskedForHuman {
                return self.say_verdict(phrases.already_queued.clone(), &verdict, None, false);
            }
        }
        let ask_rating = goodbye
            && self.asks_rating
            && self.rating == RatingAsk::NotAsked
            && self.answered > 0
            && self.escalated.is_none();
        if ask_rating {
            self.rating = RatingAsk::Asked;
        }
        let text = match answer {
            Some(a) => a,
            None if ask_rating => phrases.ask_rating.clone(),
            None if goodbye => phrases.goodbye.clone(),
            None if declined_only => phrases.goodbye.clone(),
            None => phrases.fallback.clone(),
        };
        self.say_verdict(text, &verdict, None, unanswered)
    }

    fn turns(&self) -> usize {
        self.lines.iter().filter(|l| l.from == "customer").count()
    }

    fn say_verdict(
        &mut self,
        text: String,
        v: &Verdict,
        escalate: Option<Reason>,
        unanswered: bool,
    ) -> Reply {
        let mut r = self.say(text, v.id.clone(), v.confidence, escalate);
        r.unanswered = unanswered;
        r
    }

    fn say(
        &mut self,
        text: String,
        entry: Option<String>,
        confidence: f32,
        escalate: Option<Reason>,
    ) -> Reply {
        Reply {
            text,
            entry,
            confidence,
            escalate,
            unanswered: false,
            webhook: None,
            rejected: None,
            rating: None,
        }
    }

    /// The card an agent gets with the contact.
    pub fn handoff(&self) -> Option<Handoff> {
        let reason = self.escalated?;
        let lang = self.language;
        let mut summary = String::new();
        let (asked, open, then) = match lang {
            Language::En => ("Asked about: ", "Unanswered: ", "Handed over: "),
            Language::Zh => ("咨询：", "未解答：", "转人工原因："),
        };
        if !self.topics.is_empty() {
            summary.push_str(asked);
            summary.push_str(&self.topics.join("; "));
            summary.push_str(". ");
        }
        if !self.open_questions.is_empty() {
            summary.push_str(open);
            let quoted: Vec<String> = self
                .open_questions
                .iter()
                .rev()
                .take(3)
                .rev()
                .map(|q| format!("\"{q}\""))
                .collect();
            summary.push_str(&quoted.join("; "));
            summary.push_str(". ");
        }
        summary.push_str(then);
        summary.push_str(reason.words(lang));
        summary.push('.');
        Some(Handoff {
            reason,
            intent: self.last_flow.clone().or_else(|| self.last_entry.clone()),
            slots: self.slots.clone(),
            conversation: self.lines.clone(),
            sentiment: self.sentiment.clone(),
            summary,
        })
    }
}

/// A typed turn this negative (VADER compound, English) ...
const STRONGLY_NEGATIVE: f32 = -0.6;

/// ... and at least this close to an anger example counts as anger.
fn signals_threshold_near_anger() -> f32 {
    0.45
}

/// A decline recognised by meaning alone must be this close to an example.
const DECLINE_BY_MEANING: f32 = 0.85;

/// Whether a turn asks something: a question mark, a question word or a question particle.
/// The score (1-5) in a caller's answer to "how would you rate this call": a digit or a
/// number word ("five", "I'd give it a 4", "four out of five", "五分", "给四分"). `None` when
/// there is none, more than one, or a number outside 1-5 ("ten", "7"): better no rating than
/// a wrong one.
pub fn rating_in(text: &str) -> Option<u8> {
    let lower = text.to_lowercase();
    // The scale itself is not a score.
    let mut t = lower.clone();
    for scale in [
        "out of five",
        "out of 5",
        "from one to five",
        "one to five",
        "1 to 5",
        "1-5",
        "满分五分",
        "满分5分",
        "一到五",
        "1到5",
        "no one",
        "one more",
        "one moment",
        "one thing",
        "one question",
        "one sec",
    ] {
        t = t.replace(scale, " ");
    }
    let mut found: Vec<u8> = vec![];
    let words: Vec<&str> = t
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    for w in &words {
        let n = match *w {
            "one" | "1" => Some(1),
            "two" | "2" => Some(2),
            "three" | "3" => Some(3),
            "four" | "4" => Some(4),
            "five" | "5" => Some(5),
            "zero" | "six" | "seven" | "eight" | "nine" | "ten" => Some(0),
            w if w.chars().all(|c| c.is_ascii_digit()) => Some(0),
            _ => None,
        };
        if let Some(n) = n {
            found.push(n);
        }
    }
    // Chinese: a numeral with 分 or 星 after it, or the numeral alone.
    let chars: Vec<char> = t.chars().filter(|c| !c.is_whitespace()).collect();
    let han: Vec<char> = chars
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_punctuation() && !"，。！？、".contains(*c))
        .collect();
    for (i, c) in chars.iter().enumerate() {
        let n = match c {
            '一' => 1,
            '二' | '两' => 2,
            '三' => 3,
            '四' => 4,
            '五' => 5,
            '六' | '七' | '八' | '九' | '十' | '零' => 0,
            _ => continue,
        };
        let scored = matches!(chars.get(i + 1), Some('分') | Some('星') | Some('颗'));
        if scored || han.len() == 1 {
            found.push(n);
        }
    }
    found.sort_unstable();
    found.dedup();
    match found.as_slice() {
        [n] if (1..=5).contains(n) => Some(*n),
        _ => None,
    }
}

pub fn is_question(text: &str, lang: Language) -> bool {
    if text.contains('?') || text.contains('？') {
        return true;
    }
    if lang == Language::Zh {
        // "什么都没干", "没怎么用": question words in statements.
        let mut t = text.to_string();
        for s in [
            "什么都",
            "什么也",
            "没什么",
            "不怎么",
            "没怎么",
            "怎么也",
            "怎么都",
            "多少有点",
        ] {
            t = t.replace(s, "");
        }
        let text = t.as_str();
        const MARKS: &[&str] = &[
            "吗",
            "呢",
            "么",
            "怎么",
            "什么",
            "多少",
            "几",
            "哪",
            "为什么",
            "是不是",
            "能不能",
            "可不可以",
            "有没有",
            "会不会",
            "要不要",
            "如何",
            "咋",
        ];
        return MARKS.iter().any(|m| text.contains(m));
    }
    let norm = normalize(text, lang);
    const STARTS: &[&str] = &[
        "how", "what", "what's", "whats", "why", "when", "where", "which", "who", "whose", "can",
        "could", "do", "does", "did", "is", "are", "was", "will", "would", "should", "may", "have",
        "has", "any", "am", "shall",
    ];
    // The question may follow a lead-in: "ok thanks. is it ...", "hmm then do you know ...".
    text.split(['.', ',', ';', '!'])
        .map(|part| normalize(part, lang))
        .chain(std::iter::once(norm.clone()))
        .any(|part| {
            let mut words = part.split_whitespace();
            let first = words.next().unwrap_or("");
            let first = if matches!(
                first,
                "ok" | "okay" | "so" | "and" | "but" | "then" | "hmm" | "right" | "also" | "well"
            ) {
                words.next().unwrap_or("")
            } else {
                first
            };
            STARTS.contains(&first)
        })
        || [
            "do you know",
            "i need to know",
            "i want to know",
            "tell me",
            "wondering",
        ]
        .iter()
        .any(|p| norm.contains(p))
}

/// A rough valence of a typed turn: strongly negative with anger, negative with sarcasm,
/// otherwise from VADER (English) or neutral.
fn text_valence(signals: &Signals, text: &str, lang: Language) -> f32 {
    if signals.has(Intent::Anger) {
        return -0.8;
    }
    if signals.has(Intent::Sarcasm) {
        return -0.5;
    }
    if lang == Language::En {
        static VADER: std::sync::OnceLock<vader_sentiment::SentimentIntensityAnalyzer<'static>> =
            std::sync::OnceLock::new();
        let s = VADER
            .get_or_init(vader_sentiment::SentimentIntensityAnalyzer::new)
            .polarity_scores(text);
        return s.get("compound").copied().unwrap_or(0.0) as f32;
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::rating_in;

    #[test]
    fn a_score_is_read_from_what_a_caller_says_and_nothing_else_is() {
        for (said, want) in [
            ("Five.", Some(5)),
            ("5", Some(5)),
            ("I'd give it a 4.", Some(4)),
            ("Four out of five.", Some(4)),
            ("um, three I guess", Some(3)),
            ("One to five? Two.", Some(2)),
            ("One.", Some(1)),
            ("五分", Some(5)),
            ("给四分吧。", Some(4)),
            ("三", Some(3)),
            ("满分五分的话，我给两分", Some(2)),
            // No score, two scores, or one off the scale: no rating.
            ("Actually, how do I change my password?", None),
            ("No one could have done better", None),
            ("four or five", None),
            ("ten", None),
            ("7 out of 10", None),
            ("我还有一个问题", None),
            ("", None),
        ] {
            assert_eq!(rating_in(said), want, "{said:?}");
        }
    }
}
