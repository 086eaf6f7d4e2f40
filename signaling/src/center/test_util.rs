//! What the center's virtual-time tests share.

use super::*;

/// Every output the center has for the shell now.
pub fn drain(c: &mut CallCenter) -> Vec<Output> {
    std::iter::from_fn(|| c.poll_output()).collect()
}

/// The offers among `outs`: (agent, call).
pub fn offers(outs: &[Output]) -> Vec<(String, String)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Notify(Recipient::Agent(a), Event::CallOffered { call_id, .. }) => {
                Some((a.0.clone(), call_id.as_str().to_string()))
            }
            _ => None,
        })
        .collect()
}
