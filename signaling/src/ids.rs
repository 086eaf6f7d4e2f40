//! Typed identifiers shared across the signalling layer.
//!
//! Every id is a newtype over a string so that a `CallId` can never be passed where an
//! `AgentId` is expected. Server-generated ids are random UUIDs; user ids come from the
//! account store.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// A fresh random id.
            pub fn random() -> Self {
                Self(uuid::Uuid::new_v4().simple().to_string()[..16].to_string())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }
    };
}

typed_id!(
    /// One customer call, from "Call us" to hang-up.
    CallId
);
typed_id!(
    /// An authenticated agent (the account's username).
    AgentId
);
typed_id!(
    /// An authenticated supervisor (the account's username).
    SupervisorId
);
typed_id!(
    /// One WebRTC peer connection of one participant.
    PeerId
);
typed_id!(
    /// One WebSocket connection.
    SessionId
);
