//! `cabanas`: the booking engine's one binary.

use std::path::PathBuf;

use anyhow::Context;
use api::auth::{Keys, Role};
use api::config::Settings;
use api::server::Application;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "cabanas",
    about = "Event-sourced booking engine for cabin rentals"
)]
struct Cli {
    /// A file of `CABANAS_NAME = value` lines; environment variables win over it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
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
}

#[derive(Subcommand)]
enum IcalAction {
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
enum CheckpointAction {
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
enum ProjectionsAction {
    /// Checkpoint and lag of every projection.
    Status,
    /// Rebuild one projection from the start into fresh tables and swap them in.
    Rebuild { name: String },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = Settings::load(cli.config.as_deref())?;
    // Logs go to stderr: stdout carries command output (export-log writes the event log there).
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match cli.command.unwrap_or(Command::Serve { bind: None }) {
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
        Command::Migrate => {
            settings.prepare_storage()?;
            let store = eventstore::connect(&settings.database_url).await?;
            projections::Runner::new(store, projections::all())
                .ensure_schema()
                .await?;
            println!("migrations applied ({})", settings.backend_name());
        }
        Command::Verify {
            checkpoint,
            public_key,
        } => {
            settings.prepare_storage()?;
            let store = eventstore::connect(&settings.database_url).await?;
            let report = store.verify_chain().await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            let mut intact = report.is_intact();
            if let Some(path) = checkpoint {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let published: eventstore::checkpoint::Checkpoint = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a checkpoint", path.display()))?;
                let check =
                    eventstore::checkpoint::verify(&*store, &published, public_key.as_deref())
                        .await?;
                println!("{}", serde_json::to_string_pretty(&check)?);
                intact &= check.holds();
            }
            if !intact {
                std::process::exit(1);
            }
        }
        Command::Checkpoint { action } => {
            match action {
                CheckpointAction::Keygen { out } => {
                    anyhow::ensure!(
                        !out.exists(),
                        "{} exists; not overwriting a key",
                        out.display()
                    );
                    let secret: [u8; 32] = rand::random();
                    write_secret(&out, &hex::encode(secret))?;
                    println!("{}", eventstore::checkpoint::public_key(&secret));
                }
                CheckpointAction::Sign { key } => {
                    settings.prepare_storage()?;
                    let text = std::fs::read_to_string(&key)
                        .with_context(|| format!("reading {}", key.display()))?;
                    let secret = eventstore::checkpoint::parse_secret(&text)?;
                    let store = eventstore::connect(&settings.database_url).await?;
                    let signed =
                    eventstore::checkpoint::sign_head(&*store, &secret, chrono::Utc::now())
                        .await?
                        .context("nothing to sign: the log is empty or its chain is broken (run cabanas verify)")?;
                    println!("{}", serde_json::to_string_pretty(&signed)?);
                }
            }
        }
        Command::Token {
            role,
            subject,
            hours,
        } => {
            settings.prepare_storage()?;
            let keys = Keys::new(settings.secret()?);
            println!(
                "{}",
                keys.mint(&subject, role, chrono::Duration::hours(hours))?
            );
        }
        Command::Understand { today, offset } => understand(today, &offset)?,
        Command::Chat { wa_id, url } => {
            settings.prepare_storage()?;
            api::cli::chat::run(&settings, &wa_id, &url).await?;
        }
        Command::Pay {
            code,
            status,
            amount,
            payment,
            url,
        } => {
            settings.prepare_storage()?;
            api::cli::chat::pay(
                &settings,
                &url,
                &code,
                &status,
                amount.as_deref(),
                payment.as_deref(),
            )
            .await?;
        }
        Command::ExportLog { from } => {
            settings.prepare_storage()?;
            let store = eventstore::connect(&settings.database_url).await?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let n = eventstore::history::export(&store, from, &mut out).await?;
            std::io::Write::flush(&mut out)?;
            eprintln!("{n} events exported");
        }
        Command::ImportLog { file } => {
            settings.prepare_storage()?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let history = eventstore::history::read(&text)?;
            let store = eventstore::connect(&settings.database_url).await?;
            if store.head_position().await? > 0 {
                anyhow::bail!(
                    "the database at CABANAS_DATABASE_URL already holds events: import into an empty one"
                );
            }
            eventstore::history::load(&store, &history).await?;
            let report = store.verify_chain().await?;
            let runner = projections::Runner::new(store, projections::all());
            runner.ensure_schema().await?;
            runner.catch_up().await?;
            println!("{} events imported", history.len());
            println!("{}", serde_json::to_string_pretty(&report)?);
            println!("{}", serde_json::to_string_pretty(&runner.status().await?)?);
            if !report.is_intact() {
                std::process::exit(1);
            }
        }
        Command::Ical {
            action:
                IcalAction::Import {
                    target,
                    accommodation,
                    source,
                    dry_run,
                },
        } => {
            settings.prepare_storage()?;
            app::calendar::import_cli(&settings, &target, &accommodation, &source, dry_run).await?;
        }
        Command::Projections { action } => {
            settings.prepare_storage()?;
            let store = eventstore::connect(&settings.database_url).await?;
            let runner = projections::Runner::new(store, projections::all());
            runner.ensure_schema().await?;
            match action {
                ProjectionsAction::Status => {
                    println!("{}", serde_json::to_string_pretty(&runner.status().await?)?);
                }
                ProjectionsAction::Rebuild { name } => {
                    let position = runner.rebuild(&name).await?;
                    println!("{name} rebuilt up to position {position}");
                }
            }
        }
    }
    Ok(())
}

/// Writes a secret readable by its owner only.
fn write_secret(path: &std::path::Path, secret: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    writeln!(file, "{secret}")?;
    Ok(())
}

/// `cabanas understand`: stdin to JSON lines, nothing else read or written (no database).
fn understand(today: Option<chrono::NaiveDate>, offset: &str) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let minutes = utc_offset_minutes(offset)
        .with_context(|| format!("--offset must look like -03:00, not {offset:?}"))?;
    let context = match today {
        Some(day) => conversation::nlu::Context::on(day),
        None => conversation::nlu::Context::at(chrono::Utc::now(), minutes),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let line = line.context("reading standard input")?;
        if line.trim().is_empty() {
            continue;
        }
        let read = conversation::nlu::explain(&line, &context);
        writeln!(out, "{}", serde_json::to_string(&read)?)?;
    }
    Ok(())
}

/// "-03:00" → -180.
fn utc_offset_minutes(offset: &str) -> Option<i32> {
    let (sign, rest) = match offset.as_bytes().first()? {
        b'-' => (-1, &offset[1..]),
        b'+' => (1, &offset[1..]),
        _ => (1, offset),
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    ((0..=14).contains(&h) && (0..60).contains(&m)).then_some(sign * (h * 60 + m))
}
