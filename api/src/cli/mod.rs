//! The `cabanas` command line: what each command takes (`Cli`), and `run`, which hands each
//! to its module: `store` (the log and the read models), `chat` (talking to a running
//! service), `understand` (the NLU on standard input).
//!
//! # Layout
//!
//! - `mod.rs`: the commands and their arguments, and the dispatch.
//! - `store.rs`: migrate, verify, checkpoints, export and import of the log, projections.
//! - `backup.rs`: backup, restore and migrate-store (the whole store, copied).
//! - `chat.rs`: `chat` and `pay`, against a running service's HTTP API.
//! - `understand.rs`: `understand`, no database.
//! - `user.rs`: `user add`, the web panel's users (the password read without echo).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::auth::{Keys, Role};
use crate::config::Settings;
use crate::server::Application;

pub mod backup;
pub mod chat;
pub mod store;
pub mod understand;
pub mod user;

#[derive(Parser)]
#[command(
    name = "cabanas",
    about = "Event-sourced booking engine for cabin rentals"
)]
pub struct Cli {
    /// A file of `CABANAS_NAME = value` lines; environment variables win over it.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the HTTP service (the default).
    Serve {
        /// Listen address; overrides CABANAS_BIND.
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Walk the event log's hash chain and report the first altered event; with --checkpoint,
    /// also check a published signed checkpoint against the log.
    Verify {
        /// A checkpoint JSON written by `cabanas checkpoint sign`.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// The owner's published public key (hex); the checkpoint must be signed by it.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Signed checkpoints of the log's head (Ed25519), for auditors to hold the owner to.
    Checkpoint {
        #[command(subcommand)]
        action: CheckpointAction,
    },
    /// Print a bearer token for the admin or auditor API, signed with the configured secret.
    Token {
        #[arg(long, value_enum)]
        role: Role,
        /// Who the token is for (recorded as the actor of admin commands).
        #[arg(long, default_value = "owner")]
        subject: String,
        /// Validity in hours.
        #[arg(long, default_value_t = 24 * 30)]
        hours: i64,
    },
    /// Chat with the running service as a WhatsApp guest (sandbox or not), from the terminal.
    Chat {
        /// The guest's WhatsApp number, e.g. 5491122334455.
        #[arg(long = "as")]
        wa_id: String,
        /// Where the service listens.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Read guests' messages (one per line on standard input) as the bot does, and print one
    /// JSON line each: {"text", "intents", "check_in", "check_out", "nights", "guests", "ask"}.
    Understand {
        /// The guest's "today" (default: today in Argentina).
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
        /// The guest's offset from UTC, e.g. -03:00 (used for "today" when --today is not given).
        #[arg(long, default_value = "-03:00", allow_hyphen_values = true)]
        offset: String,
    },
    /// Sandbox only: pay a reservation as if through Mercado Pago (the service must be running).
    Pay {
        /// The reservation code, e.g. K7M-4QX.
        code: String,
        /// approved, rejected, pending, refunded, charged_back, …
        #[arg(long, default_value = "approved")]
        status: String,
        /// Amount in ARS; default the deposit.
        #[arg(long)]
        amount: Option<String>,
        /// Change the status of an earlier sandbox payment instead of making a new one.
        #[arg(long)]
        payment: Option<String>,
        /// Where the service listens.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Write the event log as JSONL (one stored event per line, in order) to stdout.
    ExportLog {
        /// Start after this global position.
        #[arg(long, default_value_t = 0)]
        from: i64,
    },
    /// Load a JSONL event log into the configured database (which must be empty), verify its
    /// hash chain and build every read model from it.
    ImportLog { file: PathBuf },
    /// Write a consistent backup of the store while the service runs: the event log (positions
    /// and hashes unchanged) and every table that is not a read model, as JSON lines. The file
    /// holds the guest keys: keep it as safe as the database.
    Backup {
        /// The file to write (replaced once complete), or `-` for standard output.
        out: PathBuf,
    },
    /// Load a backup into the configured database, which must be empty; verify the hash chain
    /// and build every read model. Run again after an interruption, it goes on.
    Restore { file: PathBuf },
    /// Copy the configured store (e.g. the embedded SQLite) into another database, which must be
    /// empty: the log with its positions and hashes, every table that is not a read model; then
    /// verify and build the read models there. Run again after an interruption, it goes on.
    MigrateStore {
        /// The target database, e.g. postgres://user@host/cabanas.
        #[arg(long)]
        to: String,
        /// Events per transaction.
        #[arg(long, default_value_t = eventstore::backup::BATCH)]
        batch: usize,
    },
    /// Calendar sync tools.
    Ical {
        #[command(subcommand)]
        action: IcalAction,
    },
    /// Inspect or rebuild read models.
    Projections {
        #[command(subcommand)]
        action: ProjectionsAction,
    },
    /// The web panel's users (sign in at /panel/).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

#[derive(Subcommand)]
pub enum UserAction {
    /// Add a user, or replace the password and role of an existing one. The password is the
    /// first line of standard input, or typed (not shown) when standard input is a terminal.
    Add {
        email: String,
        #[arg(long, value_enum)]
        role: Role,
    },
}

#[derive(Subcommand)]
pub enum IcalAction {
    /// Apply an iCal file or URL to an accommodation (or, with --dry-run, print what it would change).
    Import {
        /// A .ics file or an http(s) URL.
        target: String,
        #[arg(long)]
        accommodation: String,
        /// The calendar's name in blocks and the export (airbnb, booking, …).
        #[arg(long, default_value = "import")]
        source: String,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub enum CheckpointAction {
    /// Create a signing key (keep it secret, outside the database) and print its public key.
    Keygen {
        /// Where to write the secret key; refused if the file exists.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify the chain, then print a checkpoint of its head signed with the key.
    Sign {
        #[arg(long)]
        key: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum ProjectionsAction {
    /// Checkpoint and lag of every projection.
    Status,
    /// Rebuild one projection from the start into fresh tables and swap them in.
    Rebuild { name: String },
}

/// Runs `command` with `settings` (the service when none is given).
pub async fn run(command: Option<Command>, mut settings: Settings) -> anyhow::Result<()> {
    match command.unwrap_or(Command::Serve { bind: None }) {
        Command::Serve { bind } => {
            if let Some(bind) = bind {
                settings.bind = bind.parse().context("--bind must be HOST:PORT")?;
            }
            let app = Application::build(&settings).await?;
            tracing::info!(
                port = app.port(),
                database = settings.backend_name(),
                redis = settings.redis_url.is_some(),
                "cabanas listening"
            );
            app.run().await?;
        }
        Command::Understand { today, offset } => understand::run(today, &offset)?,
        // Everything below works on the configured store (made ready first, for SQLite).
        command => {
            settings.prepare_storage()?;
            on_the_store(command, &settings).await?;
        }
    }
    Ok(())
}

/// The commands that read or write the configured store, or talk to the running service.
async fn on_the_store(command: Command, settings: &Settings) -> anyhow::Result<()> {
    match command {
        Command::Migrate => store::migrate(settings).await,
        Command::Verify {
            checkpoint,
            public_key,
        } => store::verify(settings, checkpoint, public_key.as_deref()).await,
        Command::Checkpoint { action } => store::checkpoint(settings, action).await,
        Command::Token {
            role,
            subject,
            hours,
        } => {
            let keys = Keys::new(settings.secret()?);
            println!(
                "{}",
                keys.mint(&subject, role, chrono::Duration::hours(hours))?
            );
            Ok(())
        }
        Command::Chat { wa_id, url } => chat::run(settings, &wa_id, &url).await,
        Command::Pay {
            code,
            status,
            amount,
            payment,
            url,
        } => {
            let (amount, payment) = (amount.as_deref(), payment.as_deref());
            chat::pay(settings, &url, &code, &status, amount, payment).await
        }
        Command::ExportLog { from } => store::export_log(settings, from).await,
        Command::ImportLog { file } => store::import_log(settings, &file).await,
        Command::Backup { out } => backup::backup(settings, &out).await,
        Command::Restore { file } => backup::restore(settings, &file).await,
        Command::MigrateStore { to, batch } => backup::migrate_store(settings, &to, batch).await,
        Command::Ical {
            action:
                IcalAction::Import {
                    target,
                    accommodation,
                    source,
                    dry_run,
                },
        } => app::calendar::import_cli(settings, &target, &accommodation, &source, dry_run).await,
        Command::Projections { action } => store::projections(settings, action).await,
        Command::User {
            action: UserAction::Add { email, role },
        } => user::add(settings, &email, role).await,
        Command::Serve { .. } | Command::Understand { .. } => Ok(()),
    }
}
