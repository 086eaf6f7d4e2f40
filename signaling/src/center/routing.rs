//! Routing rules, as pure functions of the rules, a waiting call and the time it has waited:
//! which agents may take it, which of them is best, and which waiting call goes first.
//!
//! A call waits in a queue (`billing`, `technical`, ...). Each queue needs a skill, held by
//! agents at a proficiency from 1 (basic) to 5 (expert). At first only agents at or above the
//! queue's `min_proficiency` may take its calls; each overflow step, once the call has waited
//! `after_s`, widens that: a lower proficiency, or another queue's agents as well (a fallback
//! group). Among the agents who may take it the call goes to the best tier (the queue's own
//! skill before a fallback group's), then the highest proficiency, then the longest idle.
//!
//! Waiting calls are served by priority (VIP, angry, escalated, set by the shell and the bot),
//! which grows with the time waited so that nobody starves, then in arrival order. A call in
//! no queue (none configured, none chosen) may go to any agent.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// An agent's skills: skill name to proficiency, 1 (basic) to 5 (expert).
pub type Skills = BTreeMap<String, u8>;

/// The highest proficiency.
pub const MAX_PROFICIENCY: u8 = 5;

/// One queue's rules (`[[center.queues]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueRules {
    pub name: String,
    /// The skill its agents need [default: the queue's name].
    pub skill: Option<String>,
    /// The lowest proficiency offered its calls at first.
    pub min_proficiency: u8,
    /// Steps that widen who may take a call as it waits, in order of `after_s`.
    pub overflow: Vec<OverflowStep>,
    /// Calls answered within this many seconds count toward the service level.
    pub service_level_s: u64,
    /// A contact arriving when this many already wait in the queue overflows (`queue_full`).
    pub max_waiting: Option<usize>,
    /// A contact that has waited this long overflows (`wait_too_long`).
    pub max_wait_s: Option<u64>,
    /// A contact overflows (`no_agents`) when no agent who could ever take it (at any
    /// overflow step) is logged in.
    pub overflow_when_no_agents: bool,
    /// Business hours; outside them arriving contacts overflow (`closed`). The shell checks
    /// the clock (`src/hours.rs`).
    pub hours: Option<Hours>,
}

/// When a queue is open: in `timezone` (IANA, e.g. `Europe/Berlin`; default UTC), any of
/// `open` ("mon-fri 08:00-18:00", "sat 10:00-14:00").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Hours {
    pub timezone: Option<String>,
    pub open: Vec<String>,
}

impl Default for QueueRules {
    fn default() -> Self {
        Self {
            name: String::new(),
            skill: None,
            min_proficiency: 1,
            overflow: vec![],
            service_level_s: 20,
            max_waiting: None,
            max_wait_s: None,
            overflow_when_no_agents: true,
            hours: None,
        }
    }
}

impl QueueRules {
    /// The skill the queue's agents need.
    pub fn skill(&self) -> &str {
        self.skill.as_deref().unwrap_or(&self.name)
    }
}

/// After a call has waited `after_s`: agents at `min_proficiency` may take it, and/or those of
/// `queue` (at that queue's own `min_proficiency`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OverflowStep {
    pub after_s: u64,
    pub min_proficiency: Option<u8>,
    pub queue: Option<String>,
}

/// How calls are ordered (`[center.priority]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PriorityRules {
    /// A caller the embedding site vouches for as a VIP (signed metadata).
    pub vip: i32,
    /// A caller the bot handed over because they were upset.
    pub angry: i32,
    /// A caller who asked the bot for a person, or whom the bot could not help.
    pub escalated: i32,
    /// Priority gained per minute waited, so that nobody starves (0: none).
    pub ageing_per_min: f64,
    /// A call whose agent was lost mid-call goes back ahead of the others.
    pub requeued: i32,
    /// A callback the customer asked for (added to the contact's own priority).
    pub callback: i32,
    /// A contact an agent transferred to another queue (added to its priority).
    pub transferred: i32,
}

impl Default for PriorityRules {
    fn default() -> Self {
        Self {
            vip: 5,
            angry: 3,
            escalated: 1,
            ageing_per_min: 1.0,
            requeued: 100,
            callback: 2,
            transferred: 50,
        }
    }
}

/// Who may take a call: agents with `skill` at `min` or above, ranked by `tier` (lower first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Want {
    pub skill: String,
    pub min: u8,
    pub tier: u8,
}

/// The rules of the queue named `name`; a queue not configured needs its name as a skill.
fn rules<'a>(queues: &'a [QueueRules], name: &str) -> std::borrow::Cow<'a, QueueRules> {
    match queues.iter().find(|q| q.name == name) {
        Some(q) => std::borrow::Cow::Borrowed(q),
        None => std::borrow::Cow::Owned(QueueRules {
            name: name.to_string(),
            ..Default::default()
        }),
    }
}

/// Who may take a call of queue `queue` once it has waited `waited`.
pub fn wanted(queues: &[QueueRules], queue: &str, waited: Duration) -> Vec<Want> {
    let q = rules(queues, queue);
    let mut own = Want {
        skill: q.skill().to_string(),
        min: q.min_proficiency.clamp(1, MAX_PROFICIENCY),
        tier: 0,
    };
    let mut others: Vec<Want> = vec![];
    for (i, step) in q.overflow.iter().enumerate() {
        if waited < Duration::from_secs(step.after_s) {
            continue;
        }
        if let Some(m) = step.min_proficiency {
            own.min = own.min.min(m.clamp(1, MAX_PROFICIENCY));
        }
        if let Some(other) = step.queue.as_deref().filter(|o| *o != queue) {
            let o = rules(queues, other);
            others.push(Want {
                skill: o.skill().to_string(),
                min: o.min_proficiency.clamp(1, MAX_PROFICIENCY),
                tier: (i + 1).min(u8::MAX as usize) as u8,
            });
        }
    }
    std::iter::once(own).chain(others).collect()
}

/// How well an agent with `skills` fits a call wanting `wants`: (tier, proficiency missing
/// from the best), lower is better; `None` if they may not take it.
pub fn fit(skills: &Skills, wants: &[Want]) -> Option<(u8, u8)> {
    wants
        .iter()
        .filter_map(|w| {
            let p = *skills.get(&w.skill)?;
            (p >= w.min).then_some((w.tier, MAX_PROFICIENCY.saturating_sub(p)))
        })
        .min()
}

/// How many of `queue`'s overflow steps a call that has waited `waited` has reached (calls at
/// the same count want the same agents).
pub fn steps_taken(queues: &[QueueRules], queue: &str, waited: Duration) -> usize {
    rules(queues, queue)
        .overflow
        .iter()
        .filter(|s| waited >= Duration::from_secs(s.after_s))
        .count()
}

/// When, after it started waiting, a call of `queue` that has waited `waited` is next
/// widened (its next overflow step), if ever.
pub fn next_step(queues: &[QueueRules], queue: &str, waited: Duration) -> Option<Duration> {
    rules(queues, queue)
        .overflow
        .iter()
        .map(|s| Duration::from_secs(s.after_s))
        .filter(|after| *after > waited)
        .min()
}

/// The rules of a configured queue.
pub fn queue<'a>(queues: &'a [QueueRules], name: &str) -> Option<&'a QueueRules> {
    queues.iter().find(|q| q.name == name)
}

/// A waiting call's priority now: its own, plus what waiting earned it.
pub fn effective_priority(rules: &PriorityRules, base: i32, waited: Duration) -> f64 {
    base as f64 + rules.ageing_per_min.max(0.0) * waited.as_secs_f64() / 60.0
}

/// Checks the rules: names unique and not empty, proficiencies 1-5, overflow to known queues.
pub fn check(queues: &[QueueRules]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for q in queues {
        if q.name.trim().is_empty() {
            return Err("a queue has no name".into());
        }
        if !seen.insert(q.name.as_str()) {
            return Err(format!("queue {:?} is defined twice", q.name));
        }
        if !(1..=MAX_PROFICIENCY).contains(&q.min_proficiency) {
            return Err(format!(
                "queue {:?}: min_proficiency must be 1 to 5",
                q.name
            ));
        }
        if q.max_waiting == Some(0) {
            return Err(format!(
                "queue {:?}: max_waiting must be at least 1",
                q.name
            ));
        }
        for s in &q.overflow {
            if s.min_proficiency
                .is_some_and(|m| !(1..=MAX_PROFICIENCY).contains(&m))
            {
                return Err(format!(
                    "queue {:?}: an overflow min_proficiency must be 1 to 5",
                    q.name
                ));
            }
            if let Some(o) = &s.queue {
                if !queues.iter().any(|x| &x.name == o) {
                    return Err(format!(
                        "queue {:?} overflows to {o:?}, which is not a queue",
                        q.name
                    ));
                }
            }
            if s.min_proficiency.is_none() && s.queue.is_none() {
                return Err(format!(
                    "queue {:?}: an overflow step needs min_proficiency or queue",
                    q.name
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn billing() -> Vec<QueueRules> {
        vec![
            QueueRules {
                name: "billing".into(),
                min_proficiency: 3,
                overflow: vec![
                    OverflowStep {
                        after_s: 30,
                        min_proficiency: Some(1),
                        queue: None,
                    },
                    OverflowStep {
                        after_s: 90,
                        queue: Some("general".into()),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            },
            QueueRules {
                name: "general".into(),
                ..Default::default()
            },
        ]
    }

    fn skills(pairs: &[(&str, u8)]) -> Skills {
        pairs.iter().map(|(s, p)| (s.to_string(), *p)).collect()
    }

    #[test]
    fn overflow_widens_to_lower_proficiency_then_to_the_fallback_group() {
        let q = billing();
        let expert = skills(&[("billing", 5)]);
        let novice = skills(&[("billing", 1)]);
        let generalist = skills(&[("general", 4)]);
        let at = |s| wanted(&q, "billing", Duration::from_secs(s));
        assert_eq!(fit(&expert, &at(0)), Some((0, 0)));
        assert_eq!(fit(&novice, &at(0)), None);
        assert_eq!(fit(&generalist, &at(0)), None);
        assert_eq!(fit(&novice, &at(30)), Some((0, 4)));
        assert_eq!(fit(&generalist, &at(30)), None);
        // The fallback group ranks after the queue's own agents, whatever their level.
        assert_eq!(fit(&generalist, &at(90)), Some((2, 1)));
        assert!(fit(&novice, &at(90)) < fit(&generalist, &at(90)));
        assert_eq!(
            next_step(&q, "billing", Duration::ZERO),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            next_step(&q, "billing", Duration::from_secs(30)),
            Some(Duration::from_secs(90))
        );
        assert_eq!(next_step(&q, "billing", Duration::from_secs(90)), None);
    }

    #[test]
    fn a_queue_not_configured_needs_its_name_as_a_skill() {
        let w = wanted(&[], "sales", Duration::ZERO);
        assert_eq!(fit(&skills(&[("sales", 1)]), &w), Some((0, 4)));
        assert_eq!(fit(&skills(&[("billing", 5)]), &w), None);
    }

    #[test]
    fn waiting_earns_priority() {
        let r = PriorityRules::default();
        let vip_new = effective_priority(&r, r.vip, Duration::ZERO);
        let plain_old = effective_priority(&r, 0, Duration::from_secs(6 * 60));
        assert!(plain_old > vip_new);
        assert!(effective_priority(&r, 0, Duration::from_secs(60)) < vip_new);
    }

    #[test]
    fn bad_rules_are_named() {
        let mut q = billing();
        assert_eq!(check(&q), Ok(()));
        q[0].overflow[1].queue = Some("nowhere".into());
        assert!(check(&q).unwrap_err().contains("nowhere"));
        let mut q = billing();
        q.push(q[1].clone());
        assert!(check(&q).unwrap_err().contains("twice"));
        let mut q = billing();
        q[0].min_proficiency = 9;
        assert!(check(&q).is_err());
    }
}
