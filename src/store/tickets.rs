//! Tickets: what is left for follow-up. One per contact that was escalated, abandoned,
//! overflowed, left a message or asked for a callback (its kind the latest that applies), one
//! per return the bot opened, and any an agent opens. Each has a status (`open`, `pending`,
//! `solved`), an assignee, the agent's notes and disposition, and comments. The contact's
//! transcript stays in `utterances` and is read with the ticket.

use super::{unix_ms, Store};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

/// Kinds a contact's own ticket may have (one per contact).
const CONTACT_KINDS: &str =
    "('escalated', 'abandoned', 'overflow', 'message', 'callback', 'agent')";

/// Schema 2: the columns and the comments table.
pub(super) fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let cols: Vec<String> = conn
        .prepare("PRAGMA table_info(tickets)")?
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<Result<_, _>>()?;
    for (name, ty) in [
        ("status", "TEXT NOT NULL DEFAULT 'open'"),
        ("assignee", "TEXT"),
        ("updated_at", "INTEGER"),
        ("caller_json", "TEXT"),
        ("channel", "TEXT"),
        ("queue", "TEXT"),
        ("reason", "TEXT"),
        ("contact", "TEXT"),
        ("message", "TEXT"),
        ("handoff_json", "TEXT"),
        ("notes", "TEXT"),
        ("disposition", "TEXT"),
    ] {
        if !cols.iter().any(|c| c == name) {
            conn.execute_batch(&format!("ALTER TABLE tickets ADD COLUMN {name} {ty}"))?;
        }
    }
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS tickets_call ON tickets(call_id);
         CREATE INDEX IF NOT EXISTS tickets_created ON tickets(created_at);
         CREATE TABLE IF NOT EXISTS ticket_comments (
             ticket_id TEXT NOT NULL REFERENCES tickets(ticket_id),
             author TEXT NOT NULL,
             text TEXT NOT NULL,
             at INTEGER NOT NULL
         );
         CREATE INDEX IF NOT EXISTS ticket_comments_ticket ON ticket_comments(ticket_id);",
    )?;
    Ok(())
}

/// What a contact's ticket is opened or updated with.
#[derive(Clone, Debug, Default)]
pub struct TicketRecord {
    pub kind: String,
    pub caller_json: String,
    pub channel: Option<String>,
    pub queue: Option<String>,
    pub reason: Option<String>,
    pub contact: Option<String>,
    pub message: Option<String>,
    pub handoff_json: Option<String>,
    /// Facts for the API (`voice_message_since`: the customer's words from then on are the
    /// message).
    pub details_json: Option<String>,
}

/// A ticket as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct Ticket {
    pub ticket: String,
    pub call_id: Option<String>,
    pub kind: String,
    pub status: String,
    pub assignee: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub caller: serde_json::Value,
    pub channel: Option<String>,
    pub queue: Option<String>,
    pub reason: Option<String>,
    pub contact: Option<String>,
    pub message: Option<String>,
    /// The bot's handoff card (intent, slots, sentiment, conversation).
    pub handoff: Option<serde_json::Value>,
    pub notes: Option<String>,
    pub disposition: Option<String>,
    /// What the bot's flow recorded (returns).
    pub details: serde_json::Value,
}

/// One comment on a ticket.
#[derive(Clone, Debug, Serialize)]
pub struct TicketComment {
    pub author: String,
    pub text: String,
    pub at: i64,
}

/// Which tickets to list; every field narrows.
#[derive(Clone, Debug, Default)]
pub struct TicketFilter {
    pub status: Option<String>,
    pub kind: Option<String>,
    /// In the caller's name or metadata.
    pub caller: Option<String>,
    /// In the ticket's text (message, reason, contact, notes, the bot's card) or the contact's
    /// transcript.
    pub text: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub assignee: Option<String>,
    pub limit: usize,
}

/// A change to a ticket (absent fields stay).
#[derive(Clone, Debug, Default)]
pub struct TicketChange {
    pub status: Option<String>,
    /// `Some("")` unassigns.
    pub assignee: Option<String>,
    pub notes: Option<String>,
    pub disposition: Option<String>,
}

const COLUMNS: &str = "ticket_id, call_id, kind, status, assignee, created_at,
    COALESCE(updated_at, created_at), caller_json, channel, queue, reason, contact, message,
    handoff_json, notes, disposition, details_json";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Ticket> {
    let json = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    Ok(Ticket {
        ticket: r.get(0)?,
        call_id: r.get(1)?,
        kind: r.get(2)?,
        status: r.get(3)?,
        assignee: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
        caller: json(r.get(7)?).unwrap_or_else(|| serde_json::json!({})),
        channel: r.get(8)?,
        queue: r.get(9)?,
        reason: r.get(10)?,
        contact: r.get(11)?,
        message: r.get(12)?,
        handoff: json(r.get(13)?),
        notes: r.get(14)?,
        disposition: r.get(15)?,
        details: json(r.get(16)?).unwrap_or_else(|| serde_json::json!({})),
    })
}

/// `%text%` for LIKE, with the wildcards in `text` taken literally (ESCAPE '\').
fn like(text: &str) -> String {
    let mut s = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('%');
    s
}

fn next_id(conn: &Connection) -> rusqlite::Result<String> {
    let n: i64 = conn.query_row(
        "SELECT COALESCE(MAX(CAST(SUBSTR(ticket_id, 4) AS INTEGER)), 0) FROM tickets
         WHERE ticket_id LIKE 'RT-%'",
        [],
        |r| r.get(0),
    )?;
    Ok(format!("RT-{:06}", n + 1))
}

impl Store {
    /// Open or update the ticket of contact `call_id`; returns its id.
    pub fn contact_ticket(&self, call_id: &str, t: &TicketRecord) -> anyhow::Result<String> {
        let conn = self.conn.lock().expect("lock");
        let now = unix_ms();
        let existing: Option<String> = conn
            .query_row(
                &format!(
                    "SELECT ticket_id FROM tickets WHERE call_id = ?1 AND kind IN {CONTACT_KINDS}
                     ORDER BY created_at LIMIT 1"
                ),
                [call_id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = existing {
            conn.execute(
                "UPDATE tickets SET kind = ?2, reason = COALESCE(?3, reason),
                     contact = COALESCE(?4, contact), message = COALESCE(?5, message),
                     handoff_json = COALESCE(?6, handoff_json), queue = COALESCE(?7, queue),
                     updated_at = ?8, details_json = COALESCE(?9, details_json)
                 WHERE ticket_id = ?1",
                params![
                    id,
                    t.kind,
                    t.reason,
                    t.contact,
                    t.message,
                    t.handoff_json,
                    t.queue,
                    now,
                    t.details_json
                ],
            )?;
            return Ok(id);
        }
        let id = next_id(&conn)?;
        conn.execute(
            "INSERT INTO tickets (ticket_id, call_id, kind, details_json, created_at, status,
                 updated_at, caller_json, channel, queue, reason, contact, message, handoff_json)
             VALUES (?1, ?2, ?3, ?12, ?4, 'open', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                id,
                call_id,
                t.kind,
                now,
                t.caller_json,
                t.channel,
                t.queue,
                t.reason,
                t.contact,
                t.message,
                t.handoff_json,
                t.details_json.as_deref().unwrap_or("{}")
            ],
        )?;
        Ok(id)
    }

    /// One ticket.
    pub fn ticket_full(&self, id: &str) -> anyhow::Result<Option<Ticket>> {
        let conn = self.conn.lock().expect("lock");
        Ok(conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM tickets WHERE ticket_id = ?1"),
                [id],
                row,
            )
            .optional()?)
    }

    /// The ticket of a contact, if it has one.
    pub fn ticket_of_call(&self, call_id: &str) -> anyhow::Result<Option<Ticket>> {
        let conn = self.conn.lock().expect("lock");
        Ok(conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM tickets WHERE call_id = ?1 AND kind IN {CONTACT_KINDS}
                     ORDER BY created_at LIMIT 1"
                ),
                [call_id],
                row,
            )
            .optional()?)
    }

    /// Tickets matching `f`, newest first.
    pub fn tickets(&self, f: &TicketFilter) -> anyhow::Result<Vec<Ticket>> {
        let mut sql = format!("SELECT {COLUMNS} FROM tickets t WHERE 1 = 1");
        let mut args: Vec<rusqlite::types::Value> = vec![];
        // Each clause's `?N` is the argument pushed with it.
        let mut push = |sql: &mut String, clause: &str, v: rusqlite::types::Value| {
            args.push(v);
            sql.push_str(&clause.replace("?N", &format!("?{}", args.len())));
        };
        if let Some(s) = &f.status {
            push(&mut sql, " AND status = ?N", s.clone().into());
        }
        if let Some(k) = &f.kind {
            push(&mut sql, " AND kind = ?N", k.clone().into());
        }
        if let Some(a) = &f.assignee {
            push(&mut sql, " AND assignee = ?N", a.clone().into());
        }
        if let Some(c) = &f.caller {
            push(
                &mut sql,
                " AND caller_json LIKE ?N ESCAPE '\\'",
                like(c).into(),
            );
        }
        if let Some(q) = &f.text {
            push(
                &mut sql,
                " AND ((COALESCE(message, '') || ' ' || COALESCE(reason, '') || ' ' ||
                        COALESCE(contact, '') || ' ' || COALESCE(notes, '') || ' ' ||
                        COALESCE(handoff_json, '') || ' ' || COALESCE(details_json, ''))
                       LIKE ?N ESCAPE '\\'
                   OR EXISTS (SELECT 1 FROM utterances u WHERE u.call_id = t.call_id
                       AND u.text LIKE ?N ESCAPE '\\'))",
                like(q).into(),
            );
        }
        if let Some(from) = f.from_ms {
            push(&mut sql, " AND created_at >= ?N", from.into());
        }
        if let Some(to) = f.to_ms {
            push(&mut sql, " AND created_at < ?N", to.into());
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC, ticket_id DESC LIMIT {}",
            f.limit.clamp(1, 500)
        ));
        let conn = self.conn.lock().expect("lock");
        let mut st = conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args), row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The caller of a stored call, as JSON.
    pub fn call_caller(&self, call_id: &str) -> anyhow::Result<Option<String>> {
        let conn = self.conn.lock().expect("lock");
        Ok(conn
            .query_row(
                "SELECT caller_json FROM calls WHERE call_id = ?1",
                [call_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// What the customer said in contact `call_id` since `since_ms` (a voice message).
    pub fn customer_words_since(&self, call_id: &str, since_ms: i64) -> anyhow::Result<String> {
        let conn = self.conn.lock().expect("lock");
        let mut st = conn.prepare(
            "SELECT text FROM utterances WHERE call_id = ?1 AND speaker = 'customer'
                 AND created_at >= ?2 AND text != '' ORDER BY start_ms",
        )?;
        let rows = st.query_map(params![call_id, since_ms], |r| r.get::<_, String>(0))?;
        let words: Vec<String> = rows.collect::<Result<_, _>>()?;
        Ok(words.join(" "))
    }

    /// An agent opens a ticket, for a contact or not; returns its id (a contact that has one
    /// already gets that one, with the message added when it had none).
    pub fn agent_ticket(
        &self,
        call_id: Option<&str>,
        caller_json: &str,
        message: Option<&str>,
        assignee: &str,
    ) -> anyhow::Result<String> {
        if let Some(call) = call_id {
            if let Some(t) = self.ticket_of_call(call)? {
                let conn = self.conn.lock().expect("lock");
                conn.execute(
                    "UPDATE tickets SET message = COALESCE(message, ?2),
                         assignee = COALESCE(assignee, ?3), updated_at = ?4
                     WHERE ticket_id = ?1",
                    params![t.ticket, message, assignee, unix_ms()],
                )?;
                return Ok(t.ticket);
            }
        }
        let conn = self.conn.lock().expect("lock");
        let id = next_id(&conn)?;
        let now = unix_ms();
        conn.execute(
            "INSERT INTO tickets (ticket_id, call_id, kind, details_json, created_at, status,
                 updated_at, caller_json, message, assignee)
             VALUES (?1, ?2, 'agent', '{}', ?3, 'open', ?3, ?4, ?5, ?6)",
            params![id, call_id, now, caller_json, message, assignee],
        )?;
        Ok(id)
    }

    /// Change a ticket; `false` if there is none.
    pub fn update_ticket(&self, id: &str, c: &TicketChange) -> anyhow::Result<bool> {
        let conn = self.conn.lock().expect("lock");
        let n = conn.execute(
            "UPDATE tickets SET status = COALESCE(?2, status),
                 assignee = CASE WHEN ?3 IS NULL THEN assignee WHEN ?3 = '' THEN NULL ELSE ?3 END,
                 notes = COALESCE(?4, notes), disposition = COALESCE(?5, disposition),
                 updated_at = ?6
             WHERE ticket_id = ?1",
            params![id, c.status, c.assignee, c.notes, c.disposition, unix_ms()],
        )?;
        Ok(n > 0)
    }

    /// Add a comment; `false` if there is no such ticket.
    pub fn comment_ticket(&self, id: &str, author: &str, text: &str) -> anyhow::Result<bool> {
        let conn = self.conn.lock().expect("lock");
        let exists: Option<i64> = conn
            .query_row("SELECT 1 FROM tickets WHERE ticket_id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_none() {
            return Ok(false);
        }
        let now = unix_ms();
        conn.execute(
            "INSERT INTO ticket_comments (ticket_id, author, text, at) VALUES (?1, ?2, ?3, ?4)",
            params![id, author, text, now],
        )?;
        conn.execute(
            "UPDATE tickets SET updated_at = ?2 WHERE ticket_id = ?1",
            params![id, now],
        )?;
        Ok(true)
    }

    /// A ticket's comments, oldest first.
    pub fn ticket_comments(&self, id: &str) -> anyhow::Result<Vec<TicketComment>> {
        let conn = self.conn.lock().expect("lock");
        let mut st = conn.prepare(
            "SELECT author, text, at FROM ticket_comments WHERE ticket_id = ?1 ORDER BY at, rowid",
        )?;
        let rows = st.query_map([id], |r| {
            Ok(TicketComment {
                author: r.get(0)?,
                text: r.get(1)?,
                at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: &str) -> TicketRecord {
        TicketRecord {
            kind: kind.into(),
            caller_json: r#"{"name":"Ada Lovelace"}"#.into(),
            ..Default::default()
        }
    }

    #[test]
    fn one_ticket_per_contact_takes_the_latest_kind_and_keeps_what_it_had() {
        let s = Store::in_memory().unwrap();
        let id = s
            .contact_ticket(
                "c1",
                &TicketRecord {
                    reason: Some("asked_for_human".into()),
                    handoff_json: Some(r#"{"intent":"refund"}"#.into()),
                    ..record("escalated")
                },
            )
            .unwrap();
        let again = s
            .contact_ticket(
                "c1",
                &TicketRecord {
                    message: Some("call me about the refund".into()),
                    ..record("message")
                },
            )
            .unwrap();
        assert_eq!(id, again);
        let t = s.ticket_full(&id).unwrap().unwrap();
        assert_eq!(t.kind, "message");
        assert_eq!(t.status, "open");
        assert_eq!(t.reason.as_deref(), Some("asked_for_human"));
        assert_eq!(t.handoff.unwrap()["intent"], "refund");
        assert_eq!(t.caller["name"], "Ada Lovelace");
        // Another contact, another ticket, numbered on.
        let other = s.contact_ticket("c2", &record("abandoned")).unwrap();
        assert_ne!(other, id);
        assert!(other > id);
    }

    #[test]
    fn search_by_status_caller_text_and_transcript() {
        let s = Store::in_memory().unwrap();
        let a = s
            .contact_ticket(
                "c1",
                &TicketRecord {
                    message: Some("my invoice is wrong".into()),
                    ..record("message")
                },
            )
            .unwrap();
        let b = s
            .contact_ticket(
                "c2",
                &TicketRecord {
                    caller_json: r#"{"name":"Grace Hopper"}"#.into(),
                    ..record("abandoned")
                },
            )
            .unwrap();
        s.update_ticket(
            &b,
            &TicketChange {
                status: Some("solved".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let ids = |f: TicketFilter| -> Vec<String> {
            s.tickets(&TicketFilter { limit: 50, ..f })
                .unwrap()
                .into_iter()
                .map(|t| t.ticket)
                .collect()
        };
        assert_eq!(ids(Default::default()), vec![b.clone(), a.clone()]);
        assert_eq!(
            ids(TicketFilter {
                status: Some("open".into()),
                ..Default::default()
            }),
            vec![a.clone()]
        );
        assert_eq!(
            ids(TicketFilter {
                caller: Some("hopper".into()),
                ..Default::default()
            }),
            vec![b.clone()]
        );
        assert_eq!(
            ids(TicketFilter {
                text: Some("INVOICE".into()),
                ..Default::default()
            }),
            vec![a.clone()]
        );
        // Wildcards are literal.
        assert!(ids(TicketFilter {
            text: Some("%".into()),
            ..Default::default()
        })
        .is_empty());
        assert!(s
            .comment_ticket(&a, "alice", "called back, no answer")
            .unwrap());
        assert!(!s.comment_ticket("RT-999999", "alice", "x").unwrap());
        let c = s.ticket_comments(&a).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].author, "alice");
    }
}
