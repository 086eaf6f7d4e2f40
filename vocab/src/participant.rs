//! Who takes part in a call.

use serde::{Deserialize, Serialize};

/// How a supervisor takes part in a call they supervise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SupervisorMode {
    /// Hears both sides; nobody hears the supervisor.
    #[default]
    Listen,
    /// Hears both sides; only the agent hears the supervisor (coaching).
    Whisper,
    /// Hears both sides; both the agent and the customer hear the supervisor.
    Barge,
}

impl SupervisorMode {
    pub const ALL: [SupervisorMode; 3] = [Self::Listen, Self::Whisper, Self::Barge];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Listen => "listen",
            Self::Whisper => "whisper",
            Self::Barge => "barge",
        }
    }
}

/// The one kind of a participant, used in every layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParticipantKind {
    /// The caller, in a browser.
    Customer,
    /// The human agent handling the call.
    Agent,
    /// A supervisor, listening, whispering to the agent or barging in.
    Supervisor(SupervisorMode),
    /// A server-side voice: the voice bot, queue announcements.
    Bot,
}

impl ParticipantKind {
    /// The kind's name without a supervisor's mode: `customer`, `agent`, `supervisor`, `bot`
    /// (the store's speaker column, metric labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Agent => "agent",
            Self::Supervisor(_) => "supervisor",
            Self::Bot => "bot",
        }
    }

    /// Whether two kinds are the same ignoring a supervisor's mode.
    pub fn same_as(self, other: ParticipantKind) -> bool {
        std::mem::discriminant(&self) == std::mem::discriminant(&other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_wire_names_and_modes_do_not_change_the_kind() {
        for m in SupervisorMode::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
            assert!(ParticipantKind::Supervisor(m)
                .same_as(ParticipantKind::Supervisor(SupervisorMode::Listen)));
        }
        let kinds = [
            ParticipantKind::Customer,
            ParticipantKind::Agent,
            ParticipantKind::Supervisor(SupervisorMode::Barge),
            ParticipantKind::Bot,
        ];
        let names: std::collections::BTreeSet<_> = kinds.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), kinds.len());
        assert!(!ParticipantKind::Customer.same_as(ParticipantKind::Agent));
    }
}
