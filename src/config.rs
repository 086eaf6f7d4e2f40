//! The server's configuration: one TOML file, overridden by flags and `SWITCHBOARD_*`
//! environment variables (see `switchboard --help` and the README).

use media::MediaConfig;
use serde::{Deserialize, Serialize};
use signaling::center::CenterConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// HTTP/WebSocket listen address.
    pub listen: SocketAddr,
    /// Where the database lives.
    pub data_dir: PathBuf,
    /// Directory of the web pages and SDK.
    pub web_root: PathBuf,
    /// Seed demo accounts (agents alice and bob, supervisor sam; password "demo").
    pub demo: bool,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Origins (`https://shop.example.com`) whose pages may open the WebSocket, besides the
    /// server's own. `["*"]` allows any. Clients that send no `Origin` (not a browser) are
    /// not affected.
    pub allowed_origins: Vec<String>,
    /// Demo only: where an example shop (another origin) that embeds the call button is
    /// served; listen port + 1 when absent. Its origin is allowed.
    pub demo_shop: Option<SocketAddr>,
    pub media: MediaConfig,
    pub center: CenterConfig,
    pub speech: crate::speech::SpeechConfig,
    pub auth: crate::auth::AuthConfig,
    pub calls: CallsConfig,
    pub session: SessionConfig,
    pub bot: BotConfig,
    /// Where contacts come from (a web page, a campaign); each says whether the bot answers
    /// first. `start_call`/`start_chat` name one with `entry`; absent, the first is used.
    pub entry_points: Vec<EntryPoint>,
}

/// The bot that answers contacts first.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotConfig {
    /// The sentence encoder's directory (weights.npz, sp.model; scripts/fetch-models.sh).
    pub model_dir: PathBuf,
    /// all-mpnet-base-v2 as ONNX (model.onnx, tokenizer.json; scripts/fetch-models.sh): a
    /// second opinion on English questions, run with `[bot.voice] runtime`. Absent: USE alone.
    pub english_model_dir: PathBuf,
    /// Knowledge-base files imported (merged) at start when the knowledge base is empty.
    pub seed_kb: Vec<PathBuf>,
    /// An intent file replacing the built-in one (the format of bot/data/intents.json).
    pub intents: Option<PathBuf>,
    /// The flow file (the format of bot/data/flows.json; `--demo` uses that one). No flows
    /// when absent.
    pub flows: Option<PathBuf>,
    /// Where a hand-over waits, by what the customer last asked about: a knowledge-base
    /// entry id, an entry category or a flow name → a queue (`[[center.queues]]`). Unlisted,
    /// a category that names a queue goes to it; else the contact's own queue. A queue the
    /// customer chose is kept.
    pub queues: std::collections::BTreeMap<String, String>,
    /// The back ends flows call, by name: `[bot.webhooks.lookup_order] url = "..."`.
    pub webhooks: std::collections::BTreeMap<String, Webhook>,
    #[serde(rename = "match")]
    pub matching: bot::MatchConfig,
    pub escalation: bot::DialogueConfig,
    /// In a voice contact the bot helped, it asks for a rating (1-5) when the caller says
    /// goodbye, and stores the score it hears (then the page does not ask again).
    pub ask_rating_by_voice: bool,
    /// The bot's voice in voice calls.
    pub voice: VoiceConfig,
}

/// The bot's voice: speech synthesis on the server (Kokoro-82M; scripts/fetch-models.sh).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VoiceConfig {
    /// Speak the bot's replies in voice calls. Off: they appear as text on the customer page.
    pub enabled: bool,
    /// The model's directory (kokoro-v1.0.int8.onnx, config.json, voices/).
    pub dir: PathBuf,
    /// ONNX Runtime's shared library.
    pub runtime: PathBuf,
    /// The espeak-ng program (English phonemes).
    pub espeak: String,
    /// Phrases synthesised at the same time (one model session each).
    pub sessions: usize,
    /// Threads each of them computes with.
    pub threads: usize,
    /// Default voices by language; an entry point may choose its own.
    pub voice_en: String,
    pub voice_zh: String,
    /// 1.0 is the voice's own pace (0.5 to 2.0).
    pub speed: f32,
    /// A caller talking over the bot this long (ms) stops it; shorter sounds ("mhm") do not.
    pub barge_in_ms: u64,
    /// A caller's words that stop mid-sentence ("my order number is") wait this long (ms)
    /// for the rest before the bot answers; 0: never wait.
    pub turn_hold_ms: u64,
    /// The longest such wait in all, counting the pauses but not while the caller talks (ms).
    pub turn_max_hold_ms: u64,
    /// Make what the bot says word for word ready at start and after each knowledge-base
    /// change, in the background at low priority: its fixed lines and the first phrase of
    /// every answer, so an answer starts without waiting for synthesis.
    pub prepare: bool,
    /// Where prepared phrases are kept between runs (raw 16-bit PCM, one file each; safe to
    /// delete). Empty: `voice-cache` in `data_dir`.
    pub cache_dir: PathBuf,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dir: in_models("models/kokoro"),
            runtime: in_models("models/onnxruntime/libonnxruntime.so.1.32.0"),
            espeak: "espeak-ng".into(),
            sessions: 1,
            threads: 2,
            voice_en: "af_heart".into(),
            voice_zh: "zf_xiaoxiao".into(),
            speed: 1.0,
            barge_in_ms: 300,
            turn_hold_ms: 2000,
            turn_max_hold_ms: 6000,
            prepare: true,
            cache_dir: PathBuf::new(),
        }
    }
}

impl VoiceConfig {
    pub fn kokoro(&self) -> tts::KokoroConfig {
        tts::KokoroConfig {
            dir: self.dir.clone(),
            runtime: self.runtime.clone(),
            espeak: self.espeak.clone(),
            sessions: self.sessions.max(1),
            threads: self.threads.max(1),
        }
    }
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            model_dir: default_bot_model(),
            english_model_dir: in_models("models/mpnet"),
            seed_kb: vec![],
            intents: None,
            flows: None,
            queues: Default::default(),
            webhooks: Default::default(),
            matching: bot::MatchConfig::default(),
            escalation: bot::DialogueConfig::default(),
            ask_rating_by_voice: true,
            voice: VoiceConfig::default(),
        }
    }
}

/// A back end a flow calls: an HTTP POST of the step's slots as a JSON object; the answer is
/// a JSON object whose fields become slots.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    /// Longer than this and the customer is told the system cannot be reached.
    #[serde(default = "default_webhook_timeout")]
    pub timeout_ms: u64,
}

fn default_webhook_timeout() -> u64 {
    3000
}

/// One way in for customers.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryPoint {
    pub name: String,
    /// The bot answers every new contact from here first.
    #[serde(default)]
    pub bot: bool,
    /// The language of contacts here (en or zh) unless `start_call`/`start_chat` names one:
    /// what the bot starts in and, for calls, what live transcription listens for (else
    /// `[speech] language`). The customer's own words switch the bot's language.
    #[serde(default)]
    pub language: Option<String>,
    /// The bot's voice here (a name in the model's voices/), instead of `[bot.voice]`'s.
    #[serde(default)]
    pub voice: Option<String>,
    /// The bot's pace here, instead of `[bot.voice] speed`.
    #[serde(default)]
    pub speed: Option<f32>,
    /// The queue (`[[center.queues]]`) its contacts wait in for an agent unless the customer
    /// chose one; none: any agent.
    #[serde(default)]
    pub queue: Option<String>,
}

impl EntryPoint {
    /// The bot's language here (`en` unless set).
    pub fn bot_language(&self) -> &str {
        self.language.as_deref().unwrap_or("en")
    }
}

impl Config {
    /// The entry point named `name`, or the first; `None` means no such entry point.
    pub fn entry_point(&self, name: Option<&str>) -> Option<EntryPoint> {
        match name {
            None => Some(self.entry_points.first().cloned().unwrap_or(EntryPoint {
                name: "default".into(),
                bot: false,
                language: None,
                voice: None,
                speed: None,
                queue: None,
            })),
            Some(n) => self.entry_points.iter().find(|e| e.name == n).cloned(),
        }
    }

    /// Whether any entry point has the bot.
    pub fn bot_enabled(&self) -> bool {
        self.entry_points.iter().any(|e| e.bot)
    }
}

/// What the server does in a call by itself.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallsConfig {
    /// A WAV file (any rate, mono or stereo) played to a customer while their call waits for
    /// an agent: a greeting, hold music. The server's own voice in the call; it stops when an
    /// agent answers.
    pub queue_announcement: Option<PathBuf>,
    /// Play the announcement again this many seconds after it ends, while the call waits.
    /// 0: once.
    pub queue_announcement_repeat_s: u64,
    /// What the customer page and the call button tell customers about transcription before
    /// they call or chat (`GET /api/customer-page`). Absent: a default sentence; "": none.
    pub transcription_notice: Option<String>,
}

/// The transcription notice when the config has none.
pub const DEFAULT_TRANSCRIPTION_NOTICE: &str = "Calls and chats are transcribed (turned into text) and kept so that our team can help you and improve our service.";

/// How the server notices a WebSocket session whose client is gone without closing it (a
/// laptop shut, a network cut with no reset): it pings, and a session from which nothing
/// (no frame, no pong) arrived for `idle_timeout_ms` is closed like a client that left.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// A WebSocket ping this often (milliseconds). 0: the server does not ping.
    pub ping_interval_ms: u64,
    /// A session silent this long is closed (milliseconds). 0: never.
    pub idle_timeout_ms: u64,
    /// A session whose connection drops (no close frame from the client, or 1001: a page
    /// going away) is kept
    /// this long for a `resume` (milliseconds): its calls go on while their media is up, and
    /// what the server sends meanwhile is kept for the new connection. 0: no resume.
    pub resume_grace_ms: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            ping_interval_ms: 15_000,
            idle_timeout_ms: 45_000,
            resume_grace_ms: 20_000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid"),
            data_dir: PathBuf::from("data"),
            web_root: default_web_root(),
            demo: false,
            tls_cert: None,
            tls_key: None,
            allowed_origins: vec![],
            demo_shop: None,
            media: MediaConfig::default(),
            center: CenterConfig::default(),
            speech: crate::speech::SpeechConfig::default(),
            auth: crate::auth::AuthConfig::default(),
            calls: CallsConfig::default(),
            session: SessionConfig::default(),
            bot: BotConfig::default(),
            entry_points: vec![],
        }
    }
}

/// `models/use-m3` of the working directory, else of the checkout.
/// `rel` under the working directory when it is there, else next to the sources.
fn in_models(rel: &str) -> PathBuf {
    let here = PathBuf::from(rel);
    if here.exists() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn default_bot_model() -> PathBuf {
    let here = PathBuf::from("models/use-m3");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/use-m3")
}

/// `web-client/` next to the sources when run from a checkout, else next to the binary.
fn default_web_root() -> PathBuf {
    let in_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("web-client");
    if in_tree.is_dir() {
        return in_tree;
    }
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("web-client")))
        .unwrap_or_else(|| PathBuf::from("web-client"))
}

impl Config {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", p.display()))?;
                toml::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("bad config {}: {e}", p.display()))
            }
            None => Ok(Self::default()),
        }
    }
}

impl Config {
    /// Checks values that parse but make no sense, with a message naming the setting; the
    /// server refuses to start rather than fail later.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.media
            .validate()
            .map_err(|e| anyhow::anyhow!("[media]: {e}"))?;
        let s = &self.session;
        if s.idle_timeout_ms > 0
            && (s.ping_interval_ms == 0 || s.idle_timeout_ms <= s.ping_interval_ms)
        {
            anyhow::bail!(
                "[session] idle_timeout_ms must be above ping_interval_ms (and pings on), or 0"
            );
        }
        if self.center.ring_timeout_s == 0 {
            anyhow::bail!("[center] ring_timeout_s must be above 0");
        }
        signaling::center::routing::check(&self.center.queues)
            .map_err(|e| anyhow::anyhow!("[[center.queues]]: {e}"))?;
        for q in &self.center.queues {
            if let Some(h) = &q.hours {
                crate::hours::Schedule::parse(h)
                    .map_err(|e| anyhow::anyhow!("[[center.queues]] {}: hours: {e}", q.name))?;
            }
        }
        // Entry points' queues are checked when the app starts, against the database's
        // queues (`src/admin.rs`).
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            anyhow::bail!("tls_cert and tls_key go together");
        }
        for e in &self.entry_points {
            if e.language
                .as_deref()
                .is_some_and(|l| bot::Language::parse(l).is_none())
            {
                anyhow::bail!("[[entry_points]] {}: language must be en or zh", e.name);
            }
        }
        if self.bot_enabled() && !self.bot.model_dir.join("weights.npz").is_file() {
            anyhow::bail!(
                "[bot] model_dir {} has no weights.npz: run scripts/fetch-models.sh",
                self.bot.model_dir.display()
            );
        }
        let v = &self.bot.voice;
        if self.bot_enabled() && v.enabled {
            if !v.dir.join("kokoro-v1.0.int8.onnx").is_file() {
                anyhow::bail!(
                    "[bot.voice] dir {} has no kokoro-v1.0.int8.onnx: run scripts/fetch-models.sh \
                     (or set [bot.voice] enabled = false)",
                    v.dir.display()
                );
            }
            if !v.runtime.is_file() {
                anyhow::bail!(
                    "[bot.voice] runtime {}: no such file: run scripts/fetch-models.sh",
                    v.runtime.display()
                );
            }
            if !(0.5..=2.0).contains(&v.speed) {
                anyhow::bail!("[bot.voice] speed must be between 0.5 and 2.0");
            }
        }
        for e in &self.entry_points {
            if e.speed.is_some_and(|s| !(0.5..=2.0).contains(&s)) {
                anyhow::bail!(
                    "[[entry_points]] {}: speed must be between 0.5 and 2.0",
                    e.name
                );
            }
        }
        // Decoded once, when the app starts (a file that is not audio stops it there).
        if let Some(p) = &self.calls.queue_announcement {
            if !p.is_file() {
                anyhow::bail!("[calls] queue_announcement {}: no such file", p.display());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_min_without_port_max_is_refused_at_start() {
        let c: Config = toml::from_str("[media]\nport_min = 40000\n").unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("port_min = 40000 needs port_max"), "{e}");
        let ok: Config = toml::from_str("[media]\nport_min = 40000\nport_max = 40100\n").unwrap();
        ok.validate().unwrap();
        Config::default().validate().unwrap();
    }

    #[test]
    fn a_missing_announcement_is_refused_at_start() {
        let c: Config =
            toml::from_str("[calls]\nqueue_announcement = \"/nonexistent/hello.wav\"\n").unwrap();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("queue_announcement"), "{e}");
    }
}
