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
