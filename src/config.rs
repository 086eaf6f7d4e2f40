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
    pub media: MediaConfig,
    pub center: CenterConfig,
    pub speech: crate::speech::SpeechConfig,
    pub auth: crate::auth::AuthConfig,
    pub calls: CallsConfig,
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
            media: MediaConfig::default(),
            center: CenterConfig::default(),
            speech: crate::speech::SpeechConfig::default(),
            auth: crate::auth::AuthConfig::default(),
            calls: CallsConfig::default(),
        }
    }
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
        if self.center.ring_timeout_s == 0 {
            anyhow::bail!("[center] ring_timeout_s must be above 0");
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            anyhow::bail!("tls_cert and tls_key go together");
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
