//! `cabanas`: the booking engine's one binary.

use anyhow::Context;
use api::app::Application;
use api::config::Settings;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "cabanas",
    about = "Event-sourced booking engine for cabin rentals"
)]
struct Cli {
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
    /// Walk the event log's hash chain and report the first altered event.
    Verify,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = Settings::from_env()?;
    tracing_subscriber::fmt()
        .json()
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
                "cabanas listening"
            );
            app.run().await?;
        }
        Command::Migrate => {
            settings.prepare_storage()?;
            eventstore::connect(&settings.database_url).await?;
            println!("migrations applied ({})", settings.backend_name());
        }
        Command::Verify => {
            settings.prepare_storage()?;
            let store = eventstore::connect(&settings.database_url).await?;
            let report = store.verify_chain().await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !report.is_intact() {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
