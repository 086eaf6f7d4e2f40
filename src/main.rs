//! `switchboard`: the contact-centre media server binary. Wires the `signaling` call center to
//! the `media` SFU, serves the web pages, stores accounts and calls, exposes metrics.

#![forbid(unsafe_code)]

mod admin;
mod adminapi;
mod admincli;
mod app;
mod auth;
mod callbacks;
mod calls;
mod config;
mod demo_orders;
mod demo_shop;
mod hours;
mod http;
mod kbapi;
mod kbcli;
mod kpis;
mod loglimit;
mod metrics;
mod ratings;
mod resume;
mod saycli;
mod store;
mod ticketapi;
mod ws;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use switchboard::speech;

#[derive(Parser, Debug)]
#[command(
    name = "switchboard",
    version,
    about = "Contact-centre media server: browser calls, queue, agents, supervisors"
)]
struct Cli {
    /// TOML configuration file (flags and SWITCHBOARD_* variables override it).
    #[arg(long, env = "SWITCHBOARD_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// HTTP/WebSocket listen address [default: 127.0.0.1:8080].
    #[arg(long, env = "SWITCHBOARD_LISTEN", global = true)]
    listen: Option<SocketAddr>,
    /// Directory for the database [default: ./data].
    #[arg(long, env = "SWITCHBOARD_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Directory holding the web pages and SDK [default: the checkout's web-client/].
    #[arg(long, env = "SWITCHBOARD_WEB_ROOT")]
    web_root: Option<PathBuf>,
    /// Seed demo accounts: agents alice and bob, supervisor sam, password "demo".
    #[arg(long, env = "SWITCHBOARD_DEMO")]
    demo: bool,
    /// Demo only: where the example shop that embeds the call button listens [default: the
    /// listen port + 1].
    #[arg(long, env = "SWITCHBOARD_DEMO_SHOP")]
    demo_shop: Option<SocketAddr>,
    /// TLS certificate (PEM); with --tls-key serves https/wss.
    #[arg(long, env = "SWITCHBOARD_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "SWITCHBOARD_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Local IPs to bind media (UDP) on; repeatable. 0.0.0.0 = every non-loopback interface.
    #[arg(
        long = "media-ip",
        env = "SWITCHBOARD_MEDIA_IPS",
        value_delimiter = ','
    )]
    media_ips: Vec<IpAddr>,
    /// Address to advertise in ICE candidates (public IP behind NAT); repeatable.
    #[arg(
        long = "public-ip",
        env = "SWITCHBOARD_PUBLIC_IPS",
        value_delimiter = ','
    )]
    public_ips: Vec<String>,
    /// UDP port range for media, e.g. 40000-40999.
    #[arg(long, env = "SWITCHBOARD_UDP_PORTS", value_parser = parse_range)]
    udp_ports: Option<(u16, u16)>,
    /// English Whisper model (ggml) for live transcription.
    #[arg(long, env = "SWITCHBOARD_MODEL", global = true)]
    model: Option<PathBuf>,
    /// Multilingual Whisper model (ggml) for other languages, e.g. models/ggml-base.bin.
    #[arg(long, env = "SWITCHBOARD_MULTILINGUAL_MODEL", global = true)]
    multilingual_model: Option<PathBuf>,
    /// Default language of calls (ISO 639-1: en, zh, ...).
    #[arg(long = "call-language", env = "SWITCHBOARD_LANGUAGE")]
    call_language: Option<String>,
    /// ASR worker threads shared by all calls.
    #[arg(long, env = "SWITCHBOARD_ASR_WORKERS")]
    asr_workers: Option<usize>,
    /// Turn live transcription off.
    #[arg(long, env = "SWITCHBOARD_NO_SPEECH")]
    no_speech: bool,
    /// The bot's sentence-encoder directory (`[bot] model_dir`) [default: models/use-m3].
    #[arg(long, env = "SWITCHBOARD_BOT_MODEL", global = true)]
    bot_model: Option<PathBuf>,
    /// WAV file played to customers waiting for an agent (`[calls] queue_announcement`).
    #[arg(long, env = "SWITCHBOARD_QUEUE_ANNOUNCEMENT")]
    queue_announcement: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "SWITCHBOARD_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Create or update an agent or supervisor account.
    AddUser {
        #[arg(long)]
        username: String,
        /// Display name [default: the username].
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = ["agent", "supervisor"])]
        role: String,
        /// The password; if absent it is read from the first line of standard input.
        #[arg(long, env = "SWITCHBOARD_PASSWORD")]
        password: Option<String>,
        /// An agent's skill and proficiency (1-5), e.g. `--skill billing=5`; repeat for
        /// more. Given, they replace the agent's skills; absent, the skills stay.
        #[arg(long = "skill", value_parser = parse_skill)]
        skills: Vec<(String, u8)>,
    },
    /// Accounts, roles and skills: list, set, remove (audited).
    #[command(subcommand)]
    Users(admincli::UsersCommand),
    /// Queues and their overflow rules: list, set, remove (audited).
    #[command(subcommand)]
    Queues(admincli::QueuesCommand),
    /// Who changed which account or queue, when: the newest changes, oldest first.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only changes to this username or queue.
        #[arg(long)]
        target: Option<String>,
    },
    /// The bot's knowledge base: import, export, ask, stats, eval.
    #[command(subcommand)]
    Kb(kbcli::KbCommand),
    /// Speak text with the bot's voice into a WAV file (24 kHz mono); prints one JSON object
    /// with the phrases, the audio length and the synthesis times.
    Say {
        text: String,
        /// en or zh.
        #[arg(long, default_value = "en")]
        language: String,
        /// A voice of the model (models/kokoro/voices) [default: [bot.voice] voice_en/voice_zh].
        #[arg(long)]
        voice: Option<String>,
        /// Pace, 0.5 to 2.0 [default: [bot.voice] speed].
        #[arg(long)]
        speed: Option<f32>,
        /// The WAV file written.
        #[arg(long, short, default_value = "say.wav")]
        out: PathBuf,
    },
    /// Transcribe a WAV recording with the live pipeline (VAD, Whisper, emotion); prints one
    /// JSON object per utterance: start, end, text, emotion, valence, arousal.
    Transcribe {
        /// Any sample rate, mono or stereo, integer or float samples.
        file: PathBuf,
        /// Language spoken (ISO 639-1, or auto) [default: the configured language].
        #[arg(long)]
        language: Option<String>,
    },
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s.split_once('-').ok_or("expected MIN-MAX")?;
    let a: u16 = a.trim().parse().map_err(|_| "bad MIN")?;
    let b: u16 = b.trim().parse().map_err(|_| "bad MAX")?;
    if a == 0 || b < a {
        return Err("need 0 < MIN <= MAX".into());
    }
    Ok((a, b))
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    let mut config = config::Config::load(cli.config.as_deref())?;
    if let Some(l) = cli.listen {
        config.listen = l;
    }
    if let Some(d) = &cli.data_dir {
        config.data_dir = d.clone();
    }
    if let Some(w) = &cli.web_root {
        config.web_root = w.clone();
    }
    config.demo |= cli.demo;
    if cli.demo_shop.is_some() {
        config.demo_shop = cli.demo_shop;
    }
    if cli.tls_cert.is_some() {
        config.tls_cert = cli.tls_cert.clone();
        config.tls_key = cli.tls_key.clone();
    }
    if !cli.media_ips.is_empty() {
        config.media.bind_ips = cli.media_ips.clone();
    }
    if !cli.public_ips.is_empty() {
        config.media.public_ips = cli.public_ips.clone();
    }
    if let Some((a, b)) = cli.udp_ports {
        config.media.port_min = a;
        config.media.port_max = b;
    }

    if let Some(m) = &cli.model {
        config.speech.model = m.clone();
    }
    if let Some(m) = &cli.multilingual_model {
        config.speech.multilingual_model = Some(m.clone());
    }
    if let Some(l) = &cli.call_language {
        config.speech.language = l.clone();
    }
    if let Some(w) = cli.asr_workers {
        config.speech.workers = w.max(1);
    }
    if let Some(p) = &cli.queue_announcement {
        config.calls.queue_announcement = Some(p.clone());
        if config.calls.queue_announcement_repeat_s == 0 {
            config.calls.queue_announcement_repeat_s = 20;
        }
    }
    if let Some(m) = &cli.bot_model {
        config.bot.model_dir = m.clone();
    }
    if cli.no_speech {
        config.speech.enabled = false;
    }
    if !speech::valid_language(&config.speech.language) {
        anyhow::bail!("bad speech.language {:?}", config.speech.language);
    }
    config.validate()?;

    if let Some(Command::Say {
        text,
        language,
        voice,
        speed,
        out,
    }) = &cli.command
    {
        return saycli::run(
            &config.bot.voice,
            text,
            language,
            voice.as_deref(),
            *speed,
            out,
        );
    }
    if let Some(Command::Transcribe { file, language }) = &cli.command {
        return speech::offline::run(file, language.as_deref(), &config.speech);
    }
    if config.demo {
        // The example shop on another origin embeds the call button; the server lets it in.
        let shop = *config.demo_shop.get_or_insert_with(|| {
            SocketAddr::new(config.listen.ip(), config.listen.port().wrapping_add(1))
        });
        for origin in demo_shop::origins(shop) {
            if !config.allowed_origins.contains(&origin) {
                config.allowed_origins.push(origin);
            }
        }
        // The demo's bot answers every contact first, from the Northwind Mobile knowledge base.
        if config.entry_points.is_empty() {
            config.entry_points.push(config::EntryPoint {
                name: "default".into(),
                bot: true,
                language: None,
                voice: None,
                speed: None,
                queue: None,
            });
        }
        let demo_queues = config.center.queues.is_empty();
        if demo_queues {
            // The demo's queues: the customer page offers them; the bot's hand-overs and
            // calls where the customer chose nothing may go to any agent.
            use signaling::center::routing::{OverflowStep, QueueRules};
            let queue = |name: &str| QueueRules {
                name: name.into(),
                min_proficiency: 3,
                overflow: vec![
                    OverflowStep {
                        after_s: 30,
                        min_proficiency: Some(1),
                        queue: None,
                    },
                    OverflowStep {
                        after_s: 60,
                        queue: Some("general".into()),
                        min_proficiency: None,
                    },
                ],
                ..Default::default()
            };
            config.center.queues = vec![
                queue("billing"),
                queue("technical"),
                QueueRules {
                    name: "general".into(),
                    ..Default::default()
                },
            ];
        }
        if demo_queues && config.bot.queues.is_empty() {
            // What the Northwind customers ask about, by the demo's queues (billing goes to
            // billing by its name).
            for (what, queue) in [
                ("data", "technical"),
                ("sim", "technical"),
                ("repair", "technical"),
                ("outages", "technical"),
                ("roaming", "technical"),
                ("plans", "general"),
                ("porting", "general"),
                ("security", "general"),
                ("account", "general"),
                ("order_status", "general"),
                ("return_request", "general"),
                ("change_delivery", "general"),
            ] {
                config.bot.queues.insert(what.into(), queue.into());
            }
        }
        if config.bot.webhooks.is_empty() && config.tls_cert.is_none() {
            // The built-in order service of the demo, on this server.
            let port = config.listen.port();
            for name in ["lookup_order", "open_return", "change_delivery"] {
                config.bot.webhooks.insert(
                    name.into(),
                    config::Webhook {
                        url: format!("http://127.0.0.1:{port}/demo/orders/{name}"),
                        timeout_ms: 3000,
                    },
                );
            }
        }
        if config.bot.flows.is_none() {
            config.bot.flows =
                Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("bot/data/flows.json"));
        }
        if config.bot.seed_kb.is_empty() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/kb");
            config.bot.seed_kb = vec![dir.join("northwind.en.json"), dir.join("northwind.zh.json")];
        }
        config.validate()?;
    }
    let store = store::Store::open(&config.data_dir)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Transcribe { .. } | Command::Say { .. } => unreachable!("handled above"),
        Command::Kb(cmd) => kbcli::run(cmd, &config, &store),
        Command::Users(cmd) => admincli::users(cmd, &store),
        Command::Queues(cmd) => admincli::queues(cmd, &config, &store),
        Command::Audit { limit, target } => admincli::audit(&store, limit.clamp(1, 10_000), target),
        Command::AddUser {
            username,
            name,
            role,
            password,
            skills,
        } => {
            let password = match password {
                Some(p) => p,
                None => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let role = store::AccountRole::parse(&role).context("role")?;
            if !skills.is_empty() && role != store::AccountRole::Agent {
                anyhow::bail!("only agents have skills");
            }
            auth::add_user_as(
                &store,
                &admincli::actor(),
                &username,
                name.as_deref().unwrap_or(&username),
                role,
                &password,
                (!skills.is_empty()).then(|| skills.iter().cloned().collect()),
            )?;
            println!(
                "account {username} ({}) saved in {}",
                role.as_str(),
                config.data_dir.display()
            );
            Ok(())
        }
        Command::Serve => {
            if config.demo {
                auth::seed_demo(&store)?;
            }
            // A previous run that was killed (or crashed) left its live calls open.
            let closed =
                store.close_unfinished(signaling::protocol::EndReason::ServerCrash.as_str())?;
            if closed > 0 {
                tracing::warn!(calls = closed, "closed calls left open by an unclean stop");
            }
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(serve(config, store))
        }
    }
}

fn init_logging(format: &str) {
    // whisper.cpp and ggml log through `tracing` (target whisper_rs) instead of stderr.
    whisper_rs::install_logging_hooks();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        "info,webrtc=warn,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_srtp=error,whisper_rs=warn"
            .into()
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(config: config::Config, store: store::Store) -> anyhow::Result<()> {
    let listen = config.listen;
    let tls = config.tls_cert.clone().zip(config.tls_key.clone());
    let demo = config.demo;
    let app = app::App::start(config, store)?;
    let restored = callbacks::restore(&app)?;
    if restored > 0 {
        tracing::info!(
            callbacks = restored,
            "callbacks waiting from before the restart"
        );
    }
    let router = http::router(app.clone());
    let handle = axum_server::Handle::new();
    if let (true, Some(shop)) = (demo, app.config.demo_shop) {
        demo_shop::spawn(&app, shop, tls.is_some()).await;
    }

    let shutdown_app = app.clone();
    let shutdown_handle = handle.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: ending calls and closing peers");
        shutdown_app.shutdown().await;
        // Let the goodbye frames go out before connections close.
        tokio::time::sleep(Duration::from_millis(300)).await;
        shutdown_handle.graceful_shutdown(Some(Duration::from_secs(5)));
    });

    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(%listen, demo, "switchboard listening");
    eprintln!(
        "Switchboard on {scheme}://{listen}/  (agent: /agent, supervisor: /supervisor{})",
        if demo {
            "; demo logins alice/demo, bob/demo, sam/demo"
        } else {
            ""
        }
    );
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    match tls {
        Some((cert, key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                .await
                .with_context(|| {
                    format!("TLS: cannot load {} / {}", cert.display(), key.display())
                })?;
            axum_server::bind_rustls(listen, tls)
                .handle(handle)
                .serve(service)
                .await?
        }
        None => {
            axum_server::bind(listen)
                .handle(handle)
                .serve(service)
                .await?
        }
    }
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// `billing=5`: a skill and its proficiency, 1 to 5.
fn parse_skill(s: &str) -> Result<(String, u8), String> {
    let (name, level) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: write skill=level, e.g. billing=5"))?;
    let name = name.trim();
    if name.is_empty() || name.len() > 40 {
        return Err(format!("{s:?}: a skill needs a name of 1 to 40 characters"));
    }
    match level.trim().parse::<u8>() {
        Ok(p @ 1..=5) => Ok((name.to_string(), p)),
        _ => Err(format!("{s:?}: the level is 1 to 5")),
    }
}
