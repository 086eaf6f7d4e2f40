//! The embedded database (SQLite): accounts and call records.
//!
//! Statements are small and indexed; they run on the caller's thread behind a mutex. Writes
//! use WAL mode so a crash never leaves a half-written record.

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};
use signaling::protocol::{ChatFrom, ChatLine, UtteranceView};
use std::path::Path;
use std::sync::Mutex;

/// What an account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountRole {
    Agent,
    Supervisor,
}

impl AccountRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountRole::Agent => "agent",
            AccountRole::Supervisor => "supervisor",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "agent" => Some(Self::Agent),
            "supervisor" => Some(Self::Supervisor),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Account {
    pub username: String,
    pub name: String,
    pub role: AccountRole,
    pub password_hash: String,
}

pub struct Store {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'supervisor')),
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS agent_skills (
    username TEXT NOT NULL,
    skill TEXT NOT NULL,
    proficiency INTEGER NOT NULL CHECK (proficiency BETWEEN 1 AND 5),
    PRIMARY KEY (username, skill)
);
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL,
    caller_json TEXT NOT NULL,
    agent TEXT,
    answered_at INTEGER,
    ended_at INTEGER,
    end_reason TEXT
);
CREATE INDEX IF NOT EXISTS calls_started ON calls(started_at);
CREATE TABLE IF NOT EXISTS kb_entries (
    language TEXT NOT NULL CHECK (language IN ('en', 'zh')),
    id TEXT NOT NULL,
    entry_json TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (language, id)
);
CREATE TABLE IF NOT EXISTS kb_stats (
    language TEXT NOT NULL,
    id TEXT NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (language, id)
);
CREATE TABLE IF NOT EXISTS kb_unanswered (
    language TEXT NOT NULL,
    text TEXT NOT NULL,
    call_id TEXT,
    at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS kb_vectors (
    model TEXT NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, text)
);
CREATE TABLE IF NOT EXISTS tickets (
    ticket_id TEXT PRIMARY KEY,
    call_id TEXT,
    kind TEXT NOT NULL,
    details_json TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS escalations (
    call_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    handoff_json TEXT NOT NULL,
    at INTEGER NOT NULL
);
";

/// Schema changes of databases made by earlier versions, by `PRAGMA user_version`.
/// 1: the utterances' speaker is any participant kind (was customer or agent only).
/// 2: tickets have a status, an assignee, what the contact left and comments.
/// 3: calls record their queue, when they queued, the bot, overflow and wrap-up; agents'
///    state changes are kept (for the KPIs).
/// 4: queues are administered in the database, and every administrative change is audited.
/// 5: requested callbacks are kept with what they need to wait again after a restart;
///    calls count their transfers.
const SCHEMA_VERSION: i64 = 5;

fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version < 1 {
        let old: Option<String> = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'utterances'",
                [],
                |r| r.get(0),
            )
            .ok();
        if old.is_some_and(|sql| !sql.contains("'supervisor'")) {
            // SQLite cannot alter a CHECK: copy into a table with the new one.
            conn.execute_batch(&format!(
                "BEGIN;
                 ALTER TABLE utterances RENAME TO utterances_v0;
                 {UTTERANCES}
                 INSERT INTO utterances SELECT * FROM utterances_v0;
                 DROP TABLE utterances_v0;
                 COMMIT;"
            ))?;
        }
    }
    if version < 2 {
        tickets::migrate(conn)?;
    }
    if version < 3 {
        records::migrate(conn)?;
    }
    if version < 4 {
        admin::migrate(conn)?;
    }
    if version < 5 {
        records::migrate_v5(conn)?;
    }
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}

mod admin;
pub use admin::{AuditFilter, UserChange, UserSaved};
mod records;
pub use records::{caller_key, AgentStateRow, CallRow, CallbackRow};
mod tickets;
pub use tickets::{Ticket, TicketChange, TicketFilter, TicketRecord};

/// The utterances table (also the target of migration 1).
const UTTERANCES: &str = "
CREATE TABLE IF NOT EXISTS utterances (
    call_id TEXT NOT NULL REFERENCES calls(call_id),
    utterance_id TEXT NOT NULL,
    speaker TEXT NOT NULL CHECK (speaker IN ('customer', 'agent', 'supervisor', 'bot')),
    start_ms INTEGER NOT NULL,
    end_ms INTEGER NOT NULL,
    text TEXT NOT NULL,
    emotion TEXT NOT NULL,
    valence REAL NOT NULL,
    arousal REAL NOT NULL,
    language TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (call_id, utterance_id)
);
";

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Store {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create data dir {}", dir.display()))?;
        let conn = Connection::open(dir.join("switchboard.db"))
            .with_context(|| format!("cannot open database in {}", dir.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(UTTERANCES)?;
        migrate(&conn).context("migrating the database")?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    #[cfg(test)]
    pub fn in_memory() -> anyhow::Result<Self> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(UTTERANCES)?;
        migrate(&conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Every knowledge-base entry, both languages, in id order.
    pub fn kb_entries(&self) -> anyhow::Result<Vec<bot::Entry>> {
        let conn = self.conn.lock().expect("lock");
        let mut st = conn.prepare("SELECT entry_json FROM kb_entries ORDER BY language, id")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(serde_json::from_str(&r?).context("a stored entry does not parse")?);
        }
        Ok(out)
    }

    /// Stores `entries` in one transaction: all or nothing. With `replace`, every entry of the
    /// languages present in `entries` is removed first. Returns (added, updated, removed).
    pub fn kb_import(
        &self,
        entries: &[bot::Entry],
        replace: bool,
    ) -> anyhow::Result<(usize, usize, usize)> {
        let mut conn = self.conn.lock().expect("lock");
        let tx = conn.transaction()?;
        let mut langs: Vec<&str> = entries.iter().map(|e| e.language.as_str()).collect();
        langs.sort();
        langs.dedup();
        // What is there now, in the file's languages.
        let mut before = std::collections::HashSet::new();
        for l in &langs {
            let mut st = tx.prepare("SELECT id FROM kb_entries WHERE language = ?1")?;
            for id in st.query_map([l], |r| r.get::<_, String>(0))? {
                before.insert((l.to_string(), id?));
            }
        }
        if replace {
            for l in &langs {
                tx.execute("DELETE FROM kb_entries WHERE language = ?1", [l])?;
            }
        }
        let (mut added, mut updated) = (0, 0);
        let now = unix_ms();
        let mut kept = std::collections::HashSet::new();
        for e in entries {
            let key = (e.language.as_str().to_string(), e.id.clone());
            let exists = before.contains(&key);
            kept.insert(key);
            tx.execute(
                "INSERT OR REPLACE INTO kb_entries (language, id, entry_json, updated_at)
                 VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![e.language.as_str(), e.id, serde_json::to_string(e)?, now],
            )?;
            if exists {
                updated += 1;
            } else {
                added += 1;
            }
        }
        tx.commit()?;
        let removed = if replace {
            before.difference(&kept).count()
        } else {
            0
        };
        Ok((added, updated, removed))
    }

    /// Sentence vectors of knowledge-base texts computed by `model` before.
    pub fn kb_vectors(&self, model: &str) -> anyhow::Result<Vec<(String, Vec<f32>)>> {
        let conn = self.conn.lock().expect("lock");
        let mut st = conn.prepare("SELECT text, vector FROM kb_vectors WHERE model = ?1")?;
        let rows = st.query_map([model], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (t, b) = r?;
            let v = b
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            out.push((t, v));
        }
        Ok(out)
    }

    /// Keeps sentence vectors for the next start.
    pub fn put_kb_vectors(
        &self,
        model: &str,
        vectors: &[(String, Vec<f32>)],
    ) -> anyhow::Result<()> {
        let mut conn = self.conn.lock().expect("lock");
        let tx = conn.transaction()?;
        for (t, v) in vectors {
            let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            tx.execute(
                "INSERT OR REPLACE INTO kb_vectors (model, text, vector) VALUES (?1, ?2, ?3)",
                rusqlite::params![model, t, bytes],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes one entry; true if it existed.
    pub fn kb_delete(&self, language: bot::Language, id: &str) -> anyhow::Result<bool> {
        Ok(self.conn.lock().expect("lock").execute(
            "DELETE FROM kb_entries WHERE language = ?1 AND id = ?2",
            rusqlite::params![language.as_str(), id],
        )? > 0)
    }

    /// Counts one answer given from an entry (`rejected`: the customer said it was not what
    /// they asked).
    pub fn kb_count(
        &self,
        language: bot::Language,
        id: &str,
        rejected: bool,
    ) -> anyhow::Result<()> {
        let col = if rejected { "rejected" } else { "hits" };
        self.conn.lock().expect("lock").execute(
            &format!(
                "INSERT INTO kb_stats (language, id, {col}) VALUES (?1, ?2, 1)
                 ON CONFLICT (language, id) DO UPDATE SET {col} = {col} + 1"
            ),
            rusqlite::params![language.as_str(), id],
        )?;
        Ok(())
    }

    /// Records a question the knowledge base could not answer.
    pub fn kb_unanswered(
        &self,
        language: bot::Language,
        text: &str,
        call_id: &str,
    ) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "INSERT INTO kb_unanswered (language, text, call_id, at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![language.as_str(), text, call_id, unix_ms()],
        )?;
        Ok(())
    }

    /// Hits and rejections per entry: (language, id, hits, rejected), most hits first.
    pub fn kb_stats(&self) -> anyhow::Result<Vec<(String, String, i64, i64)>> {
        let conn = self.conn.lock().expect("lock");
        let mut st = conn.prepare(
            "SELECT language, id, hits, rejected FROM kb_stats ORDER BY hits DESC, language, id",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Unanswered questions, newest first: (language, text).
    pub fn kb_unanswered_list(&self, limit: usize) -> anyhow::Result<Vec<(String, String)>> {
        let conn = self.conn.lock().expect("lock");
        let mut st = conn.prepare(
            "SELECT language, text FROM kb_unanswered ORDER BY at DESC, rowid DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The bot handed a contact over: its reason and card, kept with the call.
    pub fn escalated(&self, call_id: &str, reason: &str, handoff_json: &str) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "INSERT OR REPLACE INTO escalations (call_id, reason, handoff_json, at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![call_id, reason, handoff_json, unix_ms()],
        )?;
        Ok(())
    }

    /// Opens a ticket; returns its id (`RT-000001`, ...).
    pub fn open_ticket(
        &self,
        kind: &str,
        call_id: Option<&str>,
        details_json: &str,
    ) -> anyhow::Result<String> {
        let conn = self.conn.lock().expect("lock");
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM tickets", [], |r| r.get(0))?;
        let id = format!("RT-{:06}", n + 1);
        conn.execute(
            "INSERT INTO tickets (ticket_id, call_id, kind, details_json, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![id, call_id, kind, details_json, unix_ms()],
        )?;
        Ok(id)
    }

    pub fn account(&self, username: &str) -> anyhow::Result<Option<Account>> {
        let conn = self.conn.lock().expect("lock");
        let row = conn
            .query_row(
                "SELECT username, name, role, password_hash FROM accounts WHERE username = ?1",
                params![username],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?;
        Ok(row.and_then(|(username, name, role, password_hash)| {
            Some(Account {
                username,
                name,
                role: AccountRole::parse(&role)?,
                password_hash,
            })
        }))
    }

    /// An agent's skills (skill to proficiency 1-5); none when never set.
    pub fn agent_skills(
        &self,
        username: &str,
    ) -> anyhow::Result<signaling::center::routing::Skills> {
        let conn = self.conn.lock().expect("lock");
        let mut st =
            conn.prepare("SELECT skill, proficiency FROM agent_skills WHERE username = ?1")?;
        let rows = st.query_map(params![username], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u8>(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn has_account(&self, username: &str) -> anyhow::Result<bool> {
        Ok(self.account(username)?.is_some())
    }

    pub fn call_started(&self, call_id: &str, caller_json: &str) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "INSERT INTO calls (call_id, started_at, caller_json, caller_key) VALUES (?1, ?2, ?3, ?4)",
            params![call_id, unix_ms(), caller_json, records::caller_key(caller_json)],
        )?;
        Ok(())
    }

    pub fn call_answered(&self, call_id: &str, agent: &str) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "UPDATE calls SET agent = ?2, answered_at = COALESCE(answered_at, ?3) WHERE call_id = ?1",
            params![call_id, agent, unix_ms()],
        )?;
        Ok(())
    }

    /// Close every call a previous run left open (it was killed or crashed mid-call). Each
    /// ends when it was last heard of: its last stored utterance, else its answer or start.
    /// Returns how many were closed.
    pub fn close_unfinished(&self, reason: &str) -> anyhow::Result<usize> {
        let n = self.conn.lock().expect("lock").execute(
            "UPDATE calls SET end_reason = ?1, ended_at = MAX(
                 started_at,
                 COALESCE(answered_at, started_at),
                 COALESCE((SELECT MAX(created_at) FROM utterances u WHERE u.call_id = calls.call_id), started_at)
             ) WHERE ended_at IS NULL
               AND NOT (answered_at IS NULL
                        AND call_id IN (SELECT call_id FROM callbacks))",
            params![reason],
        )?;
        Ok(n)
    }

    pub fn call_ended(&self, call_id: &str, reason: &str) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "UPDATE calls SET ended_at = ?2, end_reason = ?3 WHERE call_id = ?1 AND ended_at IS NULL",
            params![call_id, unix_ms(), reason],
        )?;
        Ok(())
    }

    /// Store one final utterance of a call.
    pub fn add_utterance(
        &self,
        call_id: &str,
        u: &UtteranceView,
        language: &str,
    ) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "INSERT OR REPLACE INTO utterances
             (call_id, utterance_id, speaker, start_ms, end_ms, text, emotion, valence, arousal, language, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                call_id,
                u.utterance_id,
                u.speaker,
                u.start_ms as i64,
                u.end_ms as i64,
                u.text,
                u.emotion,
                u.valence as f64,
                u.arousal as f64,
                language,
                unix_ms()
            ],
        )?;
        Ok(())
    }

    /// A contact's chat lines (stored as utterances of language `chat`) in the order written.
    pub fn chat_lines(&self, call_id: &str) -> anyhow::Result<Vec<ChatLine>> {
        let conn = self.conn.lock().expect("lock");
        let mut st = conn.prepare(
            "SELECT speaker, text, start_ms FROM utterances
             WHERE call_id = ?1 AND language = 'chat' ORDER BY start_ms, rowid",
        )?;
        let rows = st.query_map(params![call_id], |r| {
            Ok(ChatLine {
                from: ChatFrom::from_speaker(&r.get::<_, String>(0)?),
                text: r.get(1)?,
                at_ms: r.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A call's transcript in time order; `None` when there is no such call.
    pub fn transcript(&self, call_id: &str) -> anyhow::Result<Option<Vec<UtteranceView>>> {
        let conn = self.conn.lock().expect("lock");
        let exists: bool = conn
            .query_row(
                "SELECT 1 FROM calls WHERE call_id = ?1",
                params![call_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !exists {
            return Ok(None);
        }
        let mut st = conn.prepare(
            "SELECT utterance_id, speaker, start_ms, end_ms, text, emotion, valence, arousal
             FROM utterances WHERE call_id = ?1 ORDER BY start_ms, utterance_id",
        )?;
        let rows = st.query_map(params![call_id], |r| {
            Ok(UtteranceView {
                utterance_id: r.get(0)?,
                speaker: r.get(1)?,
                start_ms: r.get::<_, i64>(2)? as u64,
                end_ms: r.get::<_, i64>(3)? as u64,
                text: r.get(4)?,
                emotion: r.get(5)?,
                valence: r.get::<_, f64>(6)? as f32,
                arousal: r.get::<_, f64>(7)? as f32,
            })
        })?;
        Ok(Some(rows.collect::<Result<_, _>>()?))
    }

    /// The agent who answered a call, if any.
    pub fn call_agent(&self, call_id: &str) -> anyhow::Result<Option<String>> {
        let conn = self.conn.lock().expect("lock");
        Ok(conn
            .query_row(
                "SELECT agent FROM calls WHERE call_id = ?1",
                params![call_id],
                |r| r.get::<_, Option<String>>(0),
            )
            .optional()?
            .flatten())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_database_from_the_two_party_schema_is_migrated_and_keeps_its_rows() {
        let dir = std::env::temp_dir().join(format!("sb-store-migrate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        {
            let old = Connection::open(dir.join("switchboard.db")).unwrap();
            let v0 = UTTERANCES.replace(
                "CHECK (speaker IN ('customer', 'agent', 'supervisor', 'bot'))",
                "CHECK (speaker IN ('customer', 'agent'))",
            );
            old.execute_batch(SCHEMA).unwrap();
            old.execute_batch(&v0).unwrap();
            old.execute(
                "INSERT INTO calls (call_id, started_at, caller_json) VALUES ('c1', 1, '{}')",
                [],
            )
            .unwrap();
            old.execute(
                "INSERT INTO utterances VALUES ('c1','customer-1','customer',0,900,'hello','neutral',0,0,'en',1)",
                [],
            )
            .unwrap();
        }
        let store = Store::open(&dir).unwrap();
        let t = store.transcript("c1").unwrap().unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].text, "hello");
        let barge = UtteranceView {
            utterance_id: "supervisor-1".into(),
            speaker: "supervisor".into(),
            start_ms: 1000,
            end_ms: 2000,
            text: "let me help".into(),
            emotion: "neutral".into(),
            valence: 0.0,
            arousal: 0.0,
        };
        store.add_utterance("c1", &barge, "en").unwrap();
        assert_eq!(store.transcript("c1").unwrap().unwrap().len(), 2);
        // Opening again is a no-op.
        drop(store);
        let again = Store::open(&dir).unwrap();
        assert_eq!(again.transcript("c1").unwrap().unwrap().len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    use super::*;

    #[test]
    fn calls_left_open_by_a_crash_are_closed_at_start() {
        let dir = std::env::temp_dir().join(format!("sb-store-{}", rand::random::<u64>()));
        {
            let s = Store::open(&dir).unwrap();
            s.call_started("open", "{}").unwrap();
            s.call_started("done", "{}").unwrap();
            s.call_ended("done", "customer_hung_up").unwrap();
        }
        let s = Store::open(&dir).unwrap();
        assert_eq!(s.close_unfinished("server_crash").unwrap(), 1);
        assert_eq!(s.close_unfinished("server_crash").unwrap(), 0);
        let conn = s.conn.lock().unwrap();
        let reasons: Vec<(String, String)> = conn
            .prepare("SELECT call_id, end_reason FROM calls ORDER BY call_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            reasons,
            vec![
                ("done".into(), "customer_hung_up".into()),
                ("open".into(), "server_crash".into())
            ]
        );
        drop(conn);
        let _ = std::fs::remove_dir_all(dir);
    }
}
