//! Administration: accounts, roles, skills, queues and their overflow rules, changed through
//! the REST API (`src/adminapi.rs`), the command line (`switchboard users|queues|audit`) or the
//! administration page; checked here, stored and audited in the database
//! (`src/store/admin.rs`), and applied to the running server by [`sync`].
//!
//! Every change, wherever it was made, lands in the audit log first. A running server applies
//! the log's new entries: at once for its own API, within [`WATCH_EVERY`] for another process
//! (the command line). Applying is idempotent: it reloads what an entry names.

use crate::app::App;
use crate::store::{AccountRole, Store, UserChange, UserSaved};
use serde::Deserialize;
use signaling::center::routing::{QueueRules, Skills, MAX_PROFICIENCY};
use signaling::center::Input;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often a running server looks for changes made by another process.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

/// Why a change was refused; nothing was changed.
#[derive(Debug)]
pub enum AdminError {
    /// The request is malformed or breaks a rule (400).
    Invalid(String),
    /// No such user or queue (404).
    NotFound(String),
    /// The change would break something in use (409): the last supervisor, a queue an entry
    /// point or another queue names, a queue with waiting contacts.
    Conflict(String),
    Internal(anyhow::Error),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::Invalid(m) | AdminError::NotFound(m) | AdminError::Conflict(m) => {
                f.write_str(m)
            }
            AdminError::Internal(e) => write!(f, "internal error: {e:#}"),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<anyhow::Error> for AdminError {
    fn from(e: anyhow::Error) -> Self {
        AdminError::Internal(e)
    }
}

/// A user as the API and the command line give it; absent fields keep what is there.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// The display name (1-100 characters).
    pub name: Option<String>,
    /// `agent` or `supervisor`.
    pub role: Option<String>,
    /// At least 8 characters (4 for the command line's `add-user`, as before).
    pub password: Option<String>,
    /// Skill to proficiency 1-5; replaces the agent's skills.
    pub skills: Option<Skills>,
}

pub const MIN_PASSWORD: usize = 8;

pub fn check_username(u: &str) -> Result<(), AdminError> {
    let ok = !u.is_empty()
        && u.len() <= 64
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AdminError::Invalid(
            "username must be 1-64 characters of letters, digits, '.', '_', '-', '@'".into(),
        ))
    }
}

/// A skill or queue name: 1-64 characters of lower-case letters, digits, '-', '_', '.'.
pub fn check_name(what: &str, n: &str) -> Result<(), AdminError> {
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "{what} {n:?}: a name is 1-64 characters of lower-case letters, digits, '-', '_', '.'"
        )))
    }
}

pub fn check_skills(skills: &Skills) -> Result<(), AdminError> {
    if skills.len() > 100 {
        return Err(AdminError::Invalid("at most 100 skills".into()));
    }
    for (s, p) in skills {
        check_name("skill", s)?;
        if !(1..=MAX_PROFICIENCY).contains(p) {
            return Err(AdminError::Invalid(format!(
                "skill {s:?}: proficiency must be 1 to 5"
            )));
        }
    }
    Ok(())
}

/// Checks a change to an account; the password is hashed by the caller (on the hashing pool
/// in the server) only after this passed.
pub fn check_user(
    store: &Store,
    username: &str,
    input: &UserInput,
    min_password: usize,
) -> Result<Option<AccountRole>, AdminError> {
    check_username(username)?;
    if let Some(n) = &input.name {
        let n = n.trim();
        if n.is_empty() || n.chars().count() > 100 {
            return Err(AdminError::Invalid("name must be 1-100 characters".into()));
        }
    }
    let role = match &input.role {
        Some(r) => Some(AccountRole::parse(r).ok_or_else(|| {
            AdminError::Invalid(format!("role {r:?}: must be agent or supervisor"))
        })?),
        None => None,
    };
    if let Some(p) = &input.password {
        if p.chars().count() < min_password || p.len() > 1024 {
            return Err(AdminError::Invalid(format!(
                "password must have {min_password} to 1024 characters"
            )));
        }
    }
    if let Some(s) = &input.skills {
        check_skills(s)?;
    }
    let existing = store.user(username)?;
    match &existing {
        None => {
            if input.role.is_none() || input.password.is_none() {
                return Err(AdminError::Invalid(format!(
                    "{username} is a new account: role and password are needed"
                )));
            }
        }
        Some(u) => {
            // Nobody may lock every supervisor out.
            if u.role == "supervisor"
                && role == Some(AccountRole::Agent)
                && store.supervisor_count()? <= 1
            {
                return Err(AdminError::Conflict(format!(
                    "{username} is the last supervisor: make another one first"
                )));
            }
        }
    }
    let final_role = role.or_else(|| existing.as_ref().and_then(|u| AccountRole::parse(u.role)));
    if final_role == Some(AccountRole::Supervisor)
        && input.skills.as_ref().is_some_and(|s| !s.is_empty())
    {
        return Err(AdminError::Invalid("only agents have skills".into()));
    }
    Ok(role)
}

/// Save a checked change (`password_hash` made from `input.password`).
pub fn save_user(
    store: &Store,
    actor: &str,
    username: &str,
    input: &UserInput,
    role: Option<AccountRole>,
    password_hash: Option<String>,
) -> Result<UserSaved, AdminError> {
    let change = UserChange {
        name: input.name.as_ref().map(|n| n.trim().to_string()),
        role,
        password_hash,
        skills: input.skills.clone(),
    };
    store
        .save_user(actor, username, &change)
        .map_err(|e| AdminError::Invalid(format!("{e:#}")))
}

pub fn delete_user(store: &Store, actor: &str, username: &str) -> Result<(), AdminError> {
    let Some(u) = store.user(username)? else {
        return Err(AdminError::NotFound(format!("no user {username:?}")));
    };
    if u.role == "supervisor" && store.supervisor_count()? <= 1 {
        return Err(AdminError::Conflict(format!(
            "{username} is the last supervisor: make another one first"
        )));
    }
    store.delete_user(actor, username)?;
    Ok(())
}

/// Checks `rules` as they would be with the others, names and hours included.
fn check_queues(all: &[QueueRules]) -> Result<(), AdminError> {
    for q in all {
        check_name("queue", &q.name)?;
        if let Some(s) = &q.skill {
            check_name("skill", s)?;
        }
        if let Some(h) = &q.hours {
            crate::hours::Schedule::parse(h)
                .map_err(|e| AdminError::Invalid(format!("queue {:?}: hours: {e}", q.name)))?;
        }
        if q.overflow
            .iter()
            .any(|s| s.queue.as_deref() == Some(&q.name))
        {
            return Err(AdminError::Invalid(format!(
                "queue {:?} overflows to itself",
                q.name
            )));
        }
    }
    signaling::center::routing::check(all).map_err(AdminError::Invalid)
}

/// Create or replace a queue (its overflow steps put in order of `after_s`). Returns the
/// rules as stored, and `None` when they were already so, else whether the queue is new.
pub fn put_queue(
    store: &Store,
    actor: &str,
    rules: &QueueRules,
) -> Result<(QueueRules, Option<bool>), AdminError> {
    let mut rules = rules.clone();
    rules.overflow.sort_by_key(|s| s.after_s);
    let mut all = store.queues()?;
    match all.iter_mut().find(|q| q.name == rules.name) {
        Some(q) => *q = rules.clone(),
        None => all.push(rules.clone()),
    }
    check_queues(&all)?;
    let created = store.put_queue(actor, &rules)?;
    Ok((rules, created))
}

/// Delete a queue that nothing names. `waiting`: contacts waiting in it now (0 from the
/// command line, which cannot see the calls).
pub fn delete_queue(
    store: &Store,
    actor: &str,
    name: &str,
    entry_points: &[crate::config::EntryPoint],
    waiting: usize,
) -> Result<(), AdminError> {
    let all = store.queues()?;
    if !all.iter().any(|q| q.name == name) {
        return Err(AdminError::NotFound(format!("no queue {name:?}")));
    }
    if let Some(e) = entry_points
        .iter()
        .find(|e| e.queue.as_deref() == Some(name))
    {
        return Err(AdminError::Conflict(format!(
            "entry point {:?} sends its contacts to {name:?} (see [[entry_points]] in the config)",
            e.name
        )));
    }
    if let Some(q) = all
        .iter()
        .find(|q| q.overflow.iter().any(|s| s.queue.as_deref() == Some(name)))
    {
        return Err(AdminError::Conflict(format!(
            "queue {:?} overflows to {name:?}: change its rules first",
            q.name
        )));
    }
    if waiting > 0 {
        return Err(AdminError::Conflict(format!(
            "{waiting} contact(s) wait in {name:?}: delete it when none does"
        )));
    }
    store.delete_queue(actor, name)?;
    Ok(())
}

/// The queues the server starts with: the database's once they were ever administered;
/// before that the configured ones, stored (audited as `config`). A configuration that
/// differs from the database's queues is reported, not applied.
pub fn startup_queues(store: &Store, configured: &[QueueRules]) -> anyhow::Result<Vec<QueueRules>> {
    if !store.queues_administered()? {
        for q in configured {
            store.put_queue("config", q)?;
        }
        if !configured.is_empty() {
            tracing::info!(
                queues = configured.len(),
                "queues seeded from the configuration"
            );
        }
    }
    let stored = store.queues()?;
    if !configured.is_empty() && stored != configured {
        tracing::warn!(
            "[[center.queues]] in the configuration differs from the queues in the database, \
             which are the ones used: change them with the administration page, \
             /api/admin/queues or `switchboard queues`"
        );
    }
    Ok(stored)
}

/// Apply the audit log's entries the server has not applied yet: new queue rules to the call
/// center, new skills to logged-in agents; the sessions of a deleted account, or one whose
/// role or password changed, are ended (they log in again).
pub async fn sync(app: &Arc<App>) {
    let mut applied = app.admin_applied.lock().await;
    let entries = match app.store.audit_log(&crate::store::AuditFilter {
        after: Some(*applied),
        limit: 10_000,
        ..Default::default()
    }) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("administration: reading the audit log: {e:#}");
            return;
        }
    };
    let mut queues_changed = false;
    for e in &entries {
        *applied = (*applied).max(e.id);
        if e.action.starts_with("queue.") {
            queues_changed = true;
            continue;
        }
        if !e.action.starts_with("user.") {
            continue;
        }
        let before = &e.detail["before"];
        let after = &e.detail["after"];
        let relog = e.action == "user.delete"
            || (!before.is_null() && before["role"] != after["role"])
            || e.detail["password_changed"] == true;
        if relog {
            app.end_account_sessions(&e.target);
        } else if before["skills"] != after["skills"] && after["role"] == "agent" {
            match app.store.agent_skills(&e.target) {
                Ok(skills) => app.center.tell(Input::AgentSkills {
                    agent: signaling::AgentId::from(e.target.as_str()),
                    skills,
                }),
                Err(err) => tracing::error!("administration: skills of {}: {err:#}", e.target),
            }
        }
    }
    if queues_changed {
        match app.store.queues() {
            Ok(q) => app.set_queues(q),
            Err(err) => tracing::error!("administration: reading the queues: {err:#}"),
        }
    }
}

/// Apply changes made by other processes (the command line) while the server runs.
pub async fn watch(app: Weak<App>) {
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let Some(a) = app.upgrade() else { return };
        let latest = a.store.admin_revision().unwrap_or(0);
        if latest > *a.admin_applied.lock().await {
            sync(&a).await;
        }
    }
}
