//! `cabanas user add EMAIL --role admin|auditor`: the web panel's users. The password never
//! appears in arguments (they show in `ps` and shell history): it is read from standard input.

use std::io::{BufRead, IsTerminal, Write};
use std::process::{Command, Stdio};

use anyhow::Context;

use crate::auth::Role;
use crate::config::Settings;
use crate::panel::users::{self, Added};

pub async fn add(settings: &Settings, email: &str, role: Role) -> anyhow::Result<()> {
    let password = read_password()?;
    let store = eventstore::connect(&settings.database_url).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let db = store.db();
    match users::add(&db, email, role, &password, now).await? {
        Added::Created => println!("user added ({})", users::role_name(role)),
        Added::Replaced => println!(
            "the user existed: password and role replaced ({})",
            users::role_name(role)
        ),
    }
    Ok(())
}

/// The first line of standard input; on a terminal, typed after a prompt on stderr with echo
/// off (through `stty` on /dev/tty rather than a terminal crate).
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    if interactive {
        eprint!(
            "Password (at least {} characters): ",
            users::MIN_PASSWORD_CHARS
        );
        std::io::stderr().flush().ok();
        stty("-echo");
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if interactive {
        stty("echo");
        eprintln!();
    }
    read.context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(
        password.chars().count() >= users::MIN_PASSWORD_CHARS,
        "the password must have at least {} characters",
        users::MIN_PASSWORD_CHARS
    );
    Ok(password)
}

/// Best effort: without `stty` the password is still read, only shown as typed.
fn stty(setting: &str) {
    let tty = std::fs::File::open("/dev/tty");
    if let Ok(tty) = tty {
        let _ = Command::new("stty")
            .arg(setting)
            .stdin(Stdio::from(tty))
            .status();
    }
}
