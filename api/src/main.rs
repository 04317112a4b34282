//! `cabanas`: the booking engine's one binary. The commands are in `api::cli`.

use api::cli::Cli;
use api::config::Settings;
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    // Logs go to stderr: stdout carries command output (export-log writes the event log there).
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    api::cli::run(cli.command, settings).await
}
