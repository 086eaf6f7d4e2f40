//! Typed identifiers. Every id is a newtype over a string so that a `CallId` can never be
//! passed where an `AgentId` is expected. Server-generated ids are random; user ids come from
//! the account store.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Defines a string-backed id type with `random()`, `as_str()`, `Display` and `From<&str>`.
macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// A fresh random id (16 hex digits).
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
    /// One customer call, from "Call us" to hang-up. Its media room has the same id.
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
    /// One participant's presence in a call's media: a browser's peer connection, or a
    /// server-side voice (the bot, an announcement). Called `peer_id` on the wire.
    ParticipantId
);
typed_id!(
    /// One WebSocket connection.
    SessionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_differ_and_serialize_as_plain_strings() {
        let (a, b) = (CallId::random(), CallId::random());
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 16);
        assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{a}\""));
        let back: CallId = serde_json::from_str(&format!("\"{a}\"")).unwrap();
        assert_eq!(back, a);
    }
}
