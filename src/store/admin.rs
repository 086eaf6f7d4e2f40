//! Administration: the queues and their rules, the accounts and their skills, and the audit
//! log. Every change and its audit row are written in one transaction: a change that is not
//! in the log did not happen. The log's last id is the administration's revision, which a
//! running server watches to apply changes made by the command line (`src/admin.rs`).

use super::{unix_ms, AccountRole, Store};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use signaling::center::routing::{QueueRules, Skills};

/// Schema 4.
pub(super) fn migrate(conn: &Connection) -> anyhow::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS queues (
             name TEXT PRIMARY KEY,
             position INTEGER NOT NULL,
             rules_json TEXT NOT NULL,
             updated_at INTEGER NOT NULL
         );
         CREATE TABLE IF NOT EXISTS audit_log (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             at INTEGER NOT NULL,
             actor TEXT NOT NULL,
             action TEXT NOT NULL,
             target TEXT NOT NULL,
             detail_json TEXT NOT NULL
         );
         CREATE INDEX IF NOT EXISTS audit_log_target ON audit_log(target);",
    )?;
    Ok(())
}

/// One audited change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    /// Unix ms.
    pub at: i64,
    /// Who: a username, `cli:<user>` for the command line, `config` or `demo` for seeding.
    pub actor: String,
    /// `user.create`, `user.update`, `user.delete`, `queue.create`, `queue.update`,
    /// `queue.delete`.
    pub action: String,
    /// The username or queue name.
    pub target: String,
    /// What changed: `before` and `after` (no password hashes).
    pub detail: serde_json::Value,
}

/// Which audit entries to list.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only entries after this id (oldest first then); else the newest first.
    pub after: Option<i64>,
    pub actor: Option<String>,
    pub target: Option<String>,
    /// An action or its prefix (`user.`).
    pub action: Option<String>,
    pub limit: usize,
}

/// An account as administrators see it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UserView {
    pub username: String,
    pub name: String,
    pub role: &'static str,
    pub skills: Skills,
}

/// A change to an account; `None` keeps what is there. Creating needs role and password
/// hash (the name defaults to the username).
#[derive(Clone, Debug, Default)]
pub struct UserChange {
    pub name: Option<String>,
    pub role: Option<AccountRole>,
    pub password_hash: Option<String>,
    pub skills: Option<Skills>,
}

/// What a saved change did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserSaved {
    pub created: bool,
    pub role_changed: bool,
    pub password_changed: bool,
    pub skills_changed: bool,
    /// Nothing differed: nothing was written or audited.
    pub unchanged: bool,
}

fn audit(
    tx: &Transaction<'_>,
    actor: &str,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, target, detail_json) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![unix_ms(), actor, action, target, detail.to_string()],
    )?;
    Ok(())
}

fn user_in(tx: &Connection, username: &str) -> rusqlite::Result<Option<(UserView, String)>> {
    let row = tx
        .query_row(
            "SELECT name, role, password_hash FROM accounts WHERE username = ?1",
            params![username],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((name, role, hash)) = row else {
        return Ok(None);
    };
    let mut st = tx.prepare("SELECT skill, proficiency FROM agent_skills WHERE username = ?1")?;
    let skills = st
        .query_map(params![username], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, u8>(1)?))
        })?
        .collect::<Result<Skills, _>>()?;
    let role = AccountRole::parse(&role)
        .unwrap_or(AccountRole::Agent)
        .as_str();
    Ok(Some((
        UserView {
            username: username.to_string(),
            name,
            role,
            skills,
        },
        hash,
    )))
}

fn queue_in(tx: &Connection, name: &str) -> anyhow::Result<Option<QueueRules>> {
    let json: Option<String> = tx
        .query_row(
            "SELECT rules_json FROM queues WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )
        .optional()?;
    Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
}

impl Store {
    /// The last audit id: it grows with every administrative change.
    pub fn admin_revision(&self) -> anyhow::Result<i64> {
        let conn = self.conn.lock().expect("lock");
        Ok(
            conn.query_row("SELECT COALESCE(MAX(id), 0) FROM audit_log", [], |r| {
                r.get(0)
            })?,
        )
    }

    pub fn audit_log(&self, f: &AuditFilter) -> anyhow::Result<Vec<AuditEntry>> {
        let conn = self.conn.lock().expect("lock");
        let order = if f.after.is_some() { "ASC" } else { "DESC" };
        let mut st = conn.prepare(&format!(
            "SELECT id, at, actor, action, target, detail_json FROM audit_log
             WHERE id > ?1 AND (?2 IS NULL OR actor = ?2) AND (?3 IS NULL OR target = ?3)
               AND (?4 IS NULL OR action = ?4 OR action LIKE ?4 || '%')
             ORDER BY id {order} LIMIT ?5"
        ))?;
        let rows = st.query_map(
            params![
                f.after.unwrap_or(0),
                f.actor,
                f.target,
                f.action,
                f.limit.max(1) as i64
            ],
            |r| {
                Ok(AuditEntry {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    detail: serde_json::from_str(&r.get::<_, String>(5)?)
                        .unwrap_or(serde_json::Value::Null),
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- queues ------------------------------------------------------------------------------

    /// The administered queues, in the order they were created.
    pub fn queues(&self) -> anyhow::Result<Vec<QueueRules>> {
        let conn = self.conn.lock().expect("lock");
        let mut st = conn.prepare("SELECT rules_json FROM queues ORDER BY position, name")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = vec![];
        for j in rows {
            out.push(serde_json::from_str(&j?)?);
        }
        Ok(out)
    }

    /// Whether queues were ever seeded or administered (then the database holds them, even
    /// when it holds none).
    pub fn queues_administered(&self) -> anyhow::Result<bool> {
        let conn = self.conn.lock().expect("lock");
        Ok(conn
            .query_row(
                "SELECT 1 FROM audit_log WHERE action LIKE 'queue.%' LIMIT 1",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Create or replace a queue's rules. Returns `None` when nothing changed, else whether
    /// it was created.
    pub fn put_queue(&self, actor: &str, rules: &QueueRules) -> anyhow::Result<Option<bool>> {
        let mut conn = self.conn.lock().expect("lock");
        let tx = conn.transaction()?;
        let before = queue_in(&tx, &rules.name)?;
        if before.as_ref() == Some(rules) {
            return Ok(None);
        }
        let json = serde_json::to_string(rules)?;
        let created = before.is_none();
        if created {
            tx.execute(
                "INSERT INTO queues (name, position, rules_json, updated_at)
                 VALUES (?1, (SELECT COALESCE(MAX(position), 0) + 1 FROM queues), ?2, ?3)",
                params![rules.name, json, unix_ms()],
            )?;
        } else {
            tx.execute(
                "UPDATE queues SET rules_json = ?2, updated_at = ?3 WHERE name = ?1",
                params![rules.name, json, unix_ms()],
            )?;
        }
        audit(
            &tx,
            actor,
            if created {
                "queue.create"
            } else {
                "queue.update"
            },
            &rules.name,
            serde_json::json!({ "before": before, "after": rules }),
        )?;
        tx.commit()?;
        Ok(Some(created))
    }

    /// Delete a queue; false when there was none.
    pub fn delete_queue(&self, actor: &str, name: &str) -> anyhow::Result<bool> {
        let mut conn = self.conn.lock().expect("lock");
        let tx = conn.transaction()?;
        let Some(before) = queue_in(&tx, name)? else {
            return Ok(false);
        };
        tx.execute("DELETE FROM queues WHERE name = ?1", params![name])?;
        audit(
            &tx,
            actor,
            "queue.delete",
            name,
            serde_json::json!({ "before": before, "after": null }),
        )?;
        tx.commit()?;
        Ok(true)
    }

    // ---- users -------------------------------------------------------------------------------

    pub fn users(&self) -> anyhow::Result<Vec<UserView>> {
        let conn = self.conn.lock().expect("lock");
        let names: Vec<String> = conn
            .prepare("SELECT username FROM accounts ORDER BY username")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut out = vec![];
        for n in names {
            if let Some((u, _)) = user_in(&conn, &n)? {
                out.push(u);
            }
        }
        Ok(out)
    }

    pub fn user(&self, username: &str) -> anyhow::Result<Option<UserView>> {
        let conn = self.conn.lock().expect("lock");
        Ok(user_in(&conn, username)?.map(|(u, _)| u))
    }

    /// How many supervisors there are.
    pub fn supervisor_count(&self) -> anyhow::Result<usize> {
        let conn = self.conn.lock().expect("lock");
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM accounts WHERE role = 'supervisor'",
            [],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// Create or change an account (and an agent's skills), audited. Creating without a
    /// name, role or password hash is an error; so are skills for a supervisor (a
    /// supervisor's skills are dropped when an agent becomes one).
    pub fn save_user(
        &self,
        actor: &str,
        username: &str,
        change: &UserChange,
    ) -> anyhow::Result<UserSaved> {
        let mut conn = self.conn.lock().expect("lock");
        let tx = conn.transaction()?;
        let before = user_in(&tx, username)?;
        let mut saved = UserSaved {
            created: before.is_none(),
            ..Default::default()
        };
        let (name, role, hash) = match &before {
            Some((u, hash)) => (
                change.name.clone().unwrap_or_else(|| u.name.clone()),
                change
                    .role
                    .unwrap_or(AccountRole::parse(u.role).unwrap_or(AccountRole::Agent)),
                change.password_hash.clone().unwrap_or_else(|| hash.clone()),
            ),
            None => {
                let (Some(role), Some(hash)) = (change.role, &change.password_hash) else {
                    anyhow::bail!("a new account needs a role and a password");
                };
                let name = change.name.clone().unwrap_or_else(|| username.to_string());
                (name, role, hash.clone())
            }
        };
        let old_skills = before
            .as_ref()
            .map(|(u, _)| u.skills.clone())
            .unwrap_or_default();
        let skills = if role == AccountRole::Agent {
            change.skills.clone().unwrap_or_else(|| old_skills.clone())
        } else {
            anyhow::ensure!(
                change.skills.as_ref().is_none_or(|s| s.is_empty()),
                "only agents have skills"
            );
            Skills::new()
        };
        if let Some((u, h)) = &before {
            saved.role_changed = u.role != role.as_str();
            saved.password_changed = *h != hash;
        }
        saved.skills_changed = skills != old_skills;
        let name_changed = before.as_ref().is_some_and(|(u, _)| u.name != name);
        if !saved.created
            && !saved.role_changed
            && !saved.password_changed
            && !saved.skills_changed
            && !name_changed
        {
            saved.unchanged = true;
            return Ok(saved);
        }
        tx.execute(
            "INSERT INTO accounts (username, name, role, password_hash, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(username) DO UPDATE SET name = ?2, role = ?3, password_hash = ?4",
            params![username, name, role.as_str(), hash, unix_ms()],
        )?;
        if saved.skills_changed || saved.created {
            tx.execute(
                "DELETE FROM agent_skills WHERE username = ?1",
                params![username],
            )?;
            for (skill, p) in &skills {
                tx.execute(
                    "INSERT INTO agent_skills (username, skill, proficiency) VALUES (?1, ?2, ?3)",
                    params![username, skill, p],
                )?;
            }
        }
        let after = UserView {
            username: username.to_string(),
            name,
            role: role.as_str(),
            skills,
        };
        audit(
            &tx,
            actor,
            if saved.created {
                "user.create"
            } else {
                "user.update"
            },
            username,
            serde_json::json!({
                "before": before.map(|(u, _)| u),
                "after": after,
                "password_changed": saved.password_changed,
            }),
        )?;
        tx.commit()?;
        Ok(saved)
    }

    /// Delete an account and its skills (its calls and tickets stay); false when none.
    pub fn delete_user(&self, actor: &str, username: &str) -> anyhow::Result<bool> {
        let mut conn = self.conn.lock().expect("lock");
        let tx = conn.transaction()?;
        let Some((before, _)) = user_in(&tx, username)? else {
            return Ok(false);
        };
        tx.execute(
            "DELETE FROM agent_skills WHERE username = ?1",
            params![username],
        )?;
        tx.execute(
            "DELETE FROM accounts WHERE username = ?1",
            params![username],
        )?;
        audit(
            &tx,
            actor,
            "user.delete",
            username,
            serde_json::json!({ "before": before, "after": null }),
        )?;
        tx.commit()?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str, skills: &[(&str, u8)]) -> UserChange {
        UserChange {
            name: Some(name.into()),
            role: Some(AccountRole::Agent),
            password_hash: Some("$argon2id$fake".into()),
            skills: Some(skills.iter().map(|(s, p)| (s.to_string(), *p)).collect()),
        }
    }

    #[test]
    fn every_change_is_in_the_log_with_before_and_after_and_no_hash() {
        let s = Store::in_memory().unwrap();
        assert_eq!(s.admin_revision().unwrap(), 0);
        let r = s
            .save_user("sam", "ann", &agent("Ann", &[("billing", 4)]))
            .unwrap();
        assert!(r.created && !r.role_changed);
        let r = s
            .save_user(
                "sam",
                "ann",
                &UserChange {
                    skills: Some([("billing".to_string(), 2)].into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(r.skills_changed && !r.created && !r.password_changed);
        assert_eq!(s.user("ann").unwrap().unwrap().skills["billing"], 2);
        // The same again changes nothing and is not logged.
        let again = s
            .save_user(
                "sam",
                "ann",
                &UserChange {
                    skills: Some([("billing".to_string(), 2)].into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(again.unchanged);
        assert!(s.delete_user("cli:root", "ann").unwrap());
        assert!(!s.delete_user("cli:root", "ann").unwrap());
        let log = s
            .audit_log(&AuditFilter {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["user.delete", "user.update", "user.create"]);
        assert_eq!(log[0].actor, "cli:root");
        assert_eq!(log[1].detail["before"]["skills"]["billing"], 4);
        assert_eq!(log[1].detail["after"]["skills"]["billing"], 2);
        assert!(!log.iter().any(|e| e.detail.to_string().contains("argon2")));
        assert_eq!(s.admin_revision().unwrap(), log[0].id);
        let since = s
            .audit_log(&AuditFilter {
                after: Some(log[2].id),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(since.len(), 2);
        assert_eq!(since[0].action, "user.update", "oldest first after an id");
    }

    #[test]
    fn a_new_account_needs_its_fields_and_supervisors_have_no_skills() {
        let s = Store::in_memory().unwrap();
        assert!(s.save_user("sam", "x", &UserChange::default()).is_err());
        let mut sup = agent("Sue", &[("billing", 3)]);
        sup.role = Some(AccountRole::Supervisor);
        assert!(s.save_user("sam", "sue", &sup).is_err());
        assert!(s.user("sue").unwrap().is_none(), "nothing half-saved");
        assert_eq!(s.admin_revision().unwrap(), 0);
        s.save_user("sam", "ann", &agent("Ann", &[("billing", 4)]))
            .unwrap();
        let r = s
            .save_user(
                "sam",
                "ann",
                &UserChange {
                    role: Some(AccountRole::Supervisor),
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(r.role_changed && r.skills_changed);
        assert!(s.user("ann").unwrap().unwrap().skills.is_empty());
        assert_eq!(s.supervisor_count().unwrap(), 1);
    }

    #[test]
    fn queues_keep_their_order_and_an_unchanged_put_is_not_logged() {
        let s = Store::in_memory().unwrap();
        assert!(!s.queues_administered().unwrap());
        let q = |n: &str, m: u8| QueueRules {
            name: n.into(),
            min_proficiency: m,
            ..Default::default()
        };
        assert_eq!(
            s.put_queue("config", &q("technical", 1)).unwrap(),
            Some(true)
        );
        assert_eq!(s.put_queue("config", &q("billing", 1)).unwrap(), Some(true));
        assert_eq!(s.put_queue("sam", &q("technical", 3)).unwrap(), Some(false));
        assert_eq!(s.put_queue("sam", &q("technical", 3)).unwrap(), None);
        let names: Vec<_> = s.queues().unwrap().into_iter().map(|q| q.name).collect();
        assert_eq!(names, ["technical", "billing"]);
        assert!(s.delete_queue("sam", "technical").unwrap());
        assert!(s.delete_queue("sam", "billing").unwrap());
        assert!(s.queues().unwrap().is_empty());
        assert!(
            s.queues_administered().unwrap(),
            "deleted all: still administered"
        );
        let log = s
            .audit_log(&AuditFilter {
                action: Some("queue.".into()),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(log.len(), 5);
        assert_eq!(log[2].detail["before"]["min_proficiency"], 1);
        assert_eq!(log[2].detail["after"]["min_proficiency"], 3);
    }
}
