//! Switchboard's bot, sans-IO: a knowledge base matched by meaning, intents, and the decision
//! to hand a contact over to a person. It reads no clock and opens no socket; the binary feeds
//! it what customers say and carries out what it decides.

pub mod dialogue;
pub mod embed;
pub mod eval;
pub mod flows;
pub mod intents;
pub mod kb;
pub mod matcher;
pub mod slots;
pub mod stats;
pub mod transformer;
pub mod turns;

pub use dialogue::{Brain, Conversation, DialogueConfig, Handoff, QueueNews, Reason, Reply};
pub use embed::{Embedder, UseEncoder};
pub use intents::Intents;
pub use kb::{Entry, Language, MatchMode};
pub use matcher::{MatchConfig, Matcher, Verdict};
