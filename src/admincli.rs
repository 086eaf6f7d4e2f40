//! `switchboard users|queues|audit ...`: administration from the command line, on the
//! database of `--data-dir`. Changes are audited as `cli:<login name>`; a server running on
//! the same database applies them within `admin::WATCH_EVERY`.

use crate::admin::{self, AdminError, UserInput};
use crate::config::Config;
use crate::store::{AuditFilter, Store};
use anyhow::Context;
use clap::Subcommand;
use signaling::center::routing::QueueRules;
use std::io::Read;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Every account: username, role, name, skills (one JSON object per line).
    List,
    /// Create or change an account; what is not given stays.
    Set {
        username: String,
        /// Display name [default for a new account: the username].
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_parser = ["agent", "supervisor"])]
        role: Option<String>,
        /// Read a new password from the first line of standard input (at least 8 characters).
        #[arg(long)]
        password_stdin: bool,
        /// An agent's skill and proficiency (1-5), e.g. `--skill billing=5`; repeat for
        /// more. Given, they replace the agent's skills.
        #[arg(long = "skill", value_parser = crate::parse_skill)]
        skills: Vec<(String, u8)>,
        /// Remove every skill.
        #[arg(long, conflicts_with = "skills")]
        no_skills: bool,
    },
    /// Delete an account (its calls and tickets stay).
    Remove { username: String },
}

#[derive(Subcommand, Debug)]
pub enum QueuesCommand {
    /// Every queue's rules (one JSON object per line, the format of `[[center.queues]]`).
    List,
    /// Create or replace one queue from a JSON object (a file, or `-` for standard input),
    /// e.g. `{"name": "billing", "min_proficiency": 3, "overflow": [{"after_s": 30,
    /// "min_proficiency": 1}]}`.
    Set { file: PathBuf },
    /// Delete a queue that no entry point and no other queue names.
    Remove { name: String },
}

/// Who the command line acts as in the audit log.
pub fn actor() -> String {
    let who = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{who}")
}

fn fail(e: AdminError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub fn users(cmd: UsersCommand, store: &Store) -> anyhow::Result<()> {
    match cmd {
        UsersCommand::List => {
            for u in store.users()? {
                println!("{}", serde_json::to_string(&u)?);
            }
        }
        UsersCommand::Set {
            username,
            name,
            role,
            password_stdin,
            skills,
            no_skills,
        } => {
            let input = UserInput {
                name,
                role,
                password: if password_stdin {
                    Some(read_password()?)
                } else {
                    None
                },
                skills: if no_skills {
                    Some(Default::default())
                } else if skills.is_empty() {
                    None
                } else {
                    Some(skills.into_iter().collect())
                },
            };
            let role =
                admin::check_user(store, &username, &input, admin::MIN_PASSWORD).map_err(fail)?;
            let hash = input
                .password
                .as_deref()
                .map(crate::auth::hash_password)
                .transpose()?;
            let saved =
                admin::save_user(store, &actor(), &username, &input, role, hash).map_err(fail)?;
            let what = if saved.created {
                "created"
            } else if saved.unchanged {
                "unchanged"
            } else {
                "updated"
            };
            println!("{username}: {what}");
        }
        UsersCommand::Remove { username } => {
            admin::delete_user(store, &actor(), &username).map_err(fail)?;
            println!("{username}: deleted");
        }
    }
    Ok(())
}

pub fn queues(cmd: QueuesCommand, config: &Config, store: &Store) -> anyhow::Result<()> {
    // The database holds the queues once a server started (or this ran) once.
    admin::startup_queues(store, &config.center.queues)?;
    match cmd {
        QueuesCommand::List => {
            for q in store.queues()? {
                println!("{}", serde_json::to_string(&q)?);
            }
        }
        QueuesCommand::Set { file } => {
            let mut text = String::new();
            if file.as_os_str() == "-" {
                std::io::stdin().read_to_string(&mut text)?;
            } else {
                text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
            }
            let rules: QueueRules =
                serde_json::from_str(&text).context("bad queue rules (a JSON object)")?;
            let what = match admin::put_queue(store, &actor(), &rules).map_err(fail)?.1 {
                Some(true) => "created",
                Some(false) => "updated",
                None => "unchanged",
            };
            println!("{}: {what}", rules.name);
        }
        QueuesCommand::Remove { name } => {
            admin::delete_queue(store, &actor(), &name, &config.entry_points, 0).map_err(fail)?;
            println!("{name}: deleted");
        }
    }
    Ok(())
}

pub fn audit(store: &Store, limit: usize, target: Option<String>) -> anyhow::Result<()> {
    let rows = store.audit_log(&AuditFilter {
        target,
        limit,
        ..Default::default()
    })?;
    for r in rows.iter().rev() {
        println!("{}", serde_json::to_string(r)?);
    }
    Ok(())
}
