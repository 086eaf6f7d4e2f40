//! The embedded database (SQLite): accounts and call records.
//!
//! Statements are small and indexed; they run on the caller's thread behind a mutex. Writes
//! use WAL mode so a crash never leaves a half-written record.

use anyhow::Context;
use rusqlite::{params, Connection, OptionalExtension};
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
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    #[cfg(test)]
    pub fn in_memory() -> anyhow::Result<Self> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Create or replace an account.
    pub fn put_account(&self, a: &Account) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "INSERT INTO accounts (username, name, role, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(username) DO UPDATE SET name = ?2, role = ?3, password_hash = ?4",
            params![
                a.username,
                a.name,
                a.role.as_str(),
                a.password_hash,
                unix_ms()
            ],
        )?;
        Ok(())
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

    pub fn has_account(&self, username: &str) -> anyhow::Result<bool> {
        Ok(self.account(username)?.is_some())
    }

    pub fn call_started(&self, call_id: &str, caller_json: &str) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "INSERT INTO calls (call_id, started_at, caller_json) VALUES (?1, ?2, ?3)",
            params![call_id, unix_ms(), caller_json],
        )?;
        Ok(())
    }

    pub fn call_answered(&self, call_id: &str, agent: &str) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "UPDATE calls SET agent = ?2, answered_at = ?3 WHERE call_id = ?1",
            params![call_id, agent, unix_ms()],
        )?;
        Ok(())
    }

    pub fn call_ended(&self, call_id: &str, reason: &str) -> anyhow::Result<()> {
        self.conn.lock().expect("lock").execute(
            "UPDATE calls SET ended_at = ?2, end_reason = ?3 WHERE call_id = ?1 AND ended_at IS NULL",
            params![call_id, unix_ms(), reason],
        )?;
        Ok(())
    }
}
