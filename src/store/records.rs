//! What the KPIs are computed from: each contact's milestones (started with the bot or not,
//! queued, answered, overflowed, ended, wrapped up) in `calls`, and every agent state change in
//! `agent_states`. See docs/kpis.md.

use super::{unix_ms, Store};
use rusqlite::{params, Connection, OptionalExtension};

/// Schema 3.
pub(super) fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let cols: Vec<String> = conn
        .prepare("PRAGMA table_info(calls)")?
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<Result<_, _>>()?;
    for (name, ty) in [
        ("queue", "TEXT"),
        ("queued_at", "INTEGER"),
        ("with_bot", "INTEGER NOT NULL DEFAULT 0"),
        ("channel", "TEXT"),
        ("overflow", "TEXT"),
        ("wrap_up_ms", "INTEGER"),
        ("csat", "INTEGER"),
        ("csat_comment", "TEXT"),
    ] {
        if !cols.iter().any(|c| c == name) {
            conn.execute_batch(&format!("ALTER TABLE calls ADD COLUMN {name} {ty}"))?;
        }
    }
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS agent_states (
             agent TEXT NOT NULL,
             state TEXT NOT NULL,
             at INTEGER NOT NULL
         );
         CREATE INDEX IF NOT EXISTS agent_states_at ON agent_states(at);",
    )?;
    Ok(())
}

/// One contact, as the KPIs see it (times in Unix ms).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallRow {
    pub call_id: String,
    pub started_at: i64,
    pub caller_json: String,
    pub with_bot: bool,
    pub channel: Option<String>,
    pub queue: Option<String>,
    pub queued_at: Option<i64>,
    pub answered_at: Option<i64>,
    pub agent: Option<String>,
    pub overflow: Option<String>,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
    pub wrap_up_ms: Option<i64>,
    /// The customer's rating, 1 to 5.
    pub csat: Option<i64>,
    /// How many times its agents transferred it.
    pub transfers: i64,
}

/// One agent state change.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentStateRow {
    pub agent: String,
    pub state: String,
    pub at: i64,
}

/// Schema 5: what a callback needs to wait again after a restart; transfers per contact.
pub(super) fn migrate_v5(conn: &Connection) -> anyhow::Result<()> {
    let cols: Vec<String> = conn
        .prepare("PRAGMA table_info(calls)")?
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<Result<_, _>>()?;
    if !cols.iter().any(|c| c == "transfers") {
        conn.execute_batch("ALTER TABLE calls ADD COLUMN transfers INTEGER NOT NULL DEFAULT 0")?;
    }
    if !cols.iter().any(|c| c == "caller_key") {
        conn.execute_batch("ALTER TABLE calls ADD COLUMN caller_key TEXT")?;
        let rows: Vec<(String, String)> = conn
            .prepare("SELECT call_id, caller_json FROM calls")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut set = conn.prepare("UPDATE calls SET caller_key = ?2 WHERE call_id = ?1")?;
        for (id, caller) in rows {
            if let Some(key) = caller_key(&caller) {
                set.execute(params![id, key])?;
            }
        }
    }
    conn.execute_batch("CREATE INDEX IF NOT EXISTS calls_caller ON calls(caller_key, started_at)")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS callbacks (
             call_id TEXT PRIMARY KEY,
             of_call TEXT NOT NULL,
             contact TEXT NOT NULL,
             note TEXT,
             at TEXT,
             queue TEXT,
             priority INTEGER NOT NULL,
             handoff_json TEXT
         );",
    )?;
    Ok(())
}

/// Who a caller is across contacts: the embedding site's `customer_id`, `account`, `email` or
/// `phone` (signed or not) in the caller's metadata, else their name, lower-cased. `None` for
/// an anonymous caller.
pub fn caller_key(caller_json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(caller_json).ok()?;
    for k in ["customer_id", "account", "email", "phone"] {
        if let Some(s) = v["metadata"][k].as_str().filter(|s| !s.trim().is_empty()) {
            return Some(format!("{k}:{}", s.trim().to_lowercase()));
        }
    }
    v["name"]
        .as_str()
        .map(|n| n.trim().to_lowercase())
        .filter(|n| !n.is_empty())
        .map(|n| format!("name:{n}"))
}

/// One earlier contact of a caller, with its ticket if it has one.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ContactRow {
    pub call_id: String,
    pub started_at: i64,
    pub channel: Option<String>,
    pub queue: Option<String>,
    pub agent: Option<String>,
    pub answered: bool,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
    pub csat: Option<i64>,
    pub transfers: i64,
    pub ticket: Option<String>,
    pub ticket_kind: Option<String>,
    pub ticket_status: Option<String>,
    pub disposition: Option<String>,
}

/// A requested callback, as kept.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallbackRow {
    pub call_id: String,
    pub of_call: String,
    pub caller_json: String,
    pub contact: String,
    pub note: Option<String>,
    /// The time the customer chose (RFC 3339, UTC).
    pub at: Option<String>,
    pub queue: Option<String>,
    pub priority: i64,
    pub handoff_json: Option<String>,
}

impl Store {
    /// A callback contact, calling back the caller of `row.of_call` (whose caller it copies).
    pub fn callback_started(&self, row: &CallbackRow) -> anyhow::Result<()> {
        let mut conn = self.conn.lock().expect("lock");
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO calls (call_id, started_at, caller_json, caller_key)
             SELECT ?1, ?2, caller_json, caller_key FROM calls WHERE call_id = ?3",
            params![row.call_id, unix_ms(), row.of_call],
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO callbacks
             (call_id, of_call, contact, note, at, queue, priority, handoff_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                row.call_id,
                row.of_call,
                row.contact,
                row.note,
                row.at,
                row.queue,
                row.priority,
                row.handoff_json
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// How the caller of `call_id` is known (`email`, `name`, ...) and their other contacts
    /// that started before it, newest first (at most `limit`). `None`: no such contact.
    pub fn earlier_contacts(
        &self,
        call_id: &str,
        limit: usize,
    ) -> anyhow::Result<Option<(Option<String>, Vec<ContactRow>)>> {
        let conn = self.conn.lock().expect("lock");
        let me: Option<(Option<String>, i64)> = conn
            .query_row(
                "SELECT caller_key, started_at FROM calls WHERE call_id = ?1",
                params![call_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((key, started)) = me else {
            return Ok(None);
        };
        let Some(key) = key else {
            return Ok(Some((None, vec![])));
        };
        let mut st = conn.prepare(
            "SELECT c.call_id, c.started_at, c.channel, c.queue, c.agent, c.answered_at,
                    c.ended_at, c.end_reason, c.csat, c.transfers,
                    t.ticket_id, t.kind, t.status, t.disposition
             FROM calls c LEFT JOIN tickets t ON t.call_id = c.call_id
             WHERE c.caller_key = ?1 AND c.call_id != ?2 AND c.started_at <= ?3
             ORDER BY c.started_at DESC LIMIT ?4",
        )?;
        let rows = st
            .query_map(params![key, call_id, started, limit as i64], |r| {
                Ok(ContactRow {
                    call_id: r.get(0)?,
                    started_at: r.get(1)?,
                    channel: r.get(2)?,
                    queue: r.get(3)?,
                    agent: r.get(4)?,
                    answered: r.get::<_, Option<i64>>(5)?.is_some(),
                    ended_at: r.get(6)?,
                    end_reason: r.get(7)?,
                    csat: r.get(8)?,
                    transfers: r.get(9)?,
                    ticket: r.get(10)?,
                    ticket_kind: r.get(11)?,
                    ticket_status: r.get(12)?,
                    disposition: r.get(13)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let by = key.split(':').next().map(str::to_string);
        Ok(Some((by, rows)))
    }

    /// Callbacks no agent has taken yet and that have not ended: they wait again when the
    /// server starts.
    pub fn waiting_callbacks(&self) -> anyhow::Result<Vec<CallbackRow>> {
        let conn = self.conn.lock().expect("lock");
        let mut st = conn.prepare(
            "SELECT b.call_id, b.of_call, c.caller_json, b.contact, b.note, b.at,
                    b.queue, b.priority, b.handoff_json
             FROM callbacks b JOIN calls c ON c.call_id = b.call_id
             WHERE c.ended_at IS NULL AND c.answered_at IS NULL
             ORDER BY c.started_at",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok(CallbackRow {
                    call_id: r.get(0)?,
                    of_call: r.get(1)?,
                    caller_json: r.get(2)?,
                    contact: r.get(3)?,
                    note: r.get(4)?,
                    at: r.get(5)?,
                    queue: r.get(6)?,
                    priority: r.get(7)?,
                    handoff_json: r.get(8)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The contact a callback (`channel = 'callback'`, id `<of>-cb`) calls back for.
    pub fn callback_of(&self, call_id: &str) -> anyhow::Result<Option<String>> {
        let conn = self.conn.lock().expect("lock");
        let channel: Option<Option<String>> = conn
            .query_row(
                "SELECT channel FROM calls WHERE call_id = ?1",
                params![call_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(
            match (channel.flatten().as_deref(), call_id.strip_suffix("-cb")) {
                (Some("callback"), Some(of)) => Some(of.to_string()),
                _ => None,
            },
        )
    }

    /// The contact started: with the bot or not, its channel.
    pub fn call_meta(&self, call_id: &str, with_bot: bool, channel: &str) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "UPDATE calls SET with_bot = ?2, channel = ?3 WHERE call_id = ?1",
            params![call_id, with_bot, channel],
        )?;
        Ok(())
    }

    /// The contact started waiting for an agent in `queue`.
    pub fn call_queued(&self, call_id: &str, queue: Option<&str>) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "UPDATE calls SET queue = ?2, queued_at = COALESCE(queued_at, ?3) WHERE call_id = ?1",
            params![call_id, queue, unix_ms()],
        )?;
        Ok(())
    }

    /// No agent could take the contact.
    pub fn call_overflowed(
        &self,
        call_id: &str,
        queue: Option<&str>,
        reason: &str,
    ) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "UPDATE calls SET overflow = ?2, queue = COALESCE(queue, ?3) WHERE call_id = ?1",
            params![call_id, reason, queue],
        )?;
        Ok(())
    }

    /// The agent's wrap-up after the contact took `ms`.
    pub fn call_wrapped_up(&self, call_id: &str, ms: i64) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "UPDATE calls SET wrap_up_ms = ?2 WHERE call_id = ?1",
            params![call_id, ms],
        )?;
        Ok(())
    }

    /// An agent transferred the contact (it waits in another queue).
    pub fn call_transferred(&self, call_id: &str) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "UPDATE calls SET transfers = transfers + 1 WHERE call_id = ?1",
            params![call_id],
        )?;
        Ok(())
    }

    /// The customer rated the ended contact `score` (1-5). `Ok(false)`: it was rated already
    /// (or never stored).
    pub fn rate_call(
        &self,
        call_id: &str,
        score: u8,
        comment: Option<&str>,
    ) -> anyhow::Result<bool> {
        let n = self.conn.lock().expect("lock").execute(
            "UPDATE calls SET csat = ?2, csat_comment = ?3
             WHERE call_id = ?1 AND csat IS NULL AND ended_at IS NOT NULL",
            params![call_id, score, comment],
        )?;
        Ok(n > 0)
    }

    /// The customer rated the live contact by voice, when the bot asked (1-5). `Ok(false)`:
    /// it was rated already.
    pub fn rate_live_call(&self, call_id: &str, score: u8) -> anyhow::Result<bool> {
        let n = self.conn.lock().expect("lock").execute(
            "UPDATE calls SET csat = ?2, csat_comment = 'by voice, to the bot'
             WHERE call_id = ?1 AND csat IS NULL",
            params![call_id, score],
        )?;
        Ok(n > 0)
    }

    /// Whether the contact has its rating.
    pub fn is_rated(&self, call_id: &str) -> anyhow::Result<bool> {
        let rated: Option<i64> = self
            .conn
            .lock()
            .expect("lock")
            .query_row(
                "SELECT csat FROM calls WHERE call_id = ?1",
                params![call_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        Ok(rated.is_some())
    }

    /// An agent's state changed.
    pub fn agent_state(&self, agent: &str, state: &str) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "INSERT INTO agent_states (agent, state, at) VALUES (?1, ?2, ?3)",
            params![agent, state, unix_ms()],
        )?;
        Ok(())
    }

    /// Contacts started in `[from, to)`, and those started up to `lookahead` ms after `to`
    /// (for repeat contacts), oldest first.
    pub fn call_rows(&self, from: i64, to: i64, lookahead: i64) -> anyhow::Result<Vec<CallRow>> {
        let conn = self.conn.lock().expect("lock");
        let mut st = conn.prepare(
            "SELECT call_id, started_at, caller_json, with_bot, channel, queue, queued_at,
                    answered_at, agent, overflow, ended_at, end_reason, wrap_up_ms, csat,
                    transfers
             FROM calls WHERE started_at >= ?1 AND started_at < ?2 ORDER BY started_at, call_id",
        )?;
        let rows = st.query_map(params![from, to.saturating_add(lookahead)], |r| {
            Ok(CallRow {
                call_id: r.get(0)?,
                started_at: r.get(1)?,
                caller_json: r.get(2)?,
                with_bot: r.get(3)?,
                channel: r.get(4)?,
                queue: r.get(5)?,
                queued_at: r.get(6)?,
                answered_at: r.get(7)?,
                agent: r.get(8)?,
                overflow: r.get(9)?,
                ended_at: r.get(10)?,
                end_reason: r.get(11)?,
                wrap_up_ms: r.get(12)?,
                csat: r.get(13)?,
                transfers: r.get(14)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Agent state changes before `to`, with each agent's last one before `from` (the state
    /// they were in when the window opened), oldest first.
    pub fn agent_state_rows(&self, from: i64, to: i64) -> anyhow::Result<Vec<AgentStateRow>> {
        let conn = self.conn.lock().expect("lock");
        let mut st = conn.prepare(
            "SELECT agent, state, at FROM agent_states a
             WHERE at < ?2 AND (at >= ?1 OR at = (SELECT MAX(at) FROM agent_states b
                 WHERE b.agent = a.agent AND b.at < ?1))
             ORDER BY at, rowid",
        )?;
        let rows = st.query_map(params![from, to], |r| {
            Ok(AgentStateRow {
                agent: r.get(0)?,
                state: r.get(1)?,
                at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
