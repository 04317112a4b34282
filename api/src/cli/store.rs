//! The commands on the store itself: schema, the hash chain and its signed checkpoints, the
//! log as JSON lines out and in, and the read models' status and rebuilds.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{CheckpointAction, ProjectionsAction};
use crate::config::Settings;

/// `cabanas migrate`: every table the event store and the read models need.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let store = eventstore::connect(&settings.database_url).await?;
    projections::Runner::new(store, projections::all())
        .ensure_schema()
        .await?;
    println!("migrations applied ({})", settings.backend_name());
    Ok(())
}

/// `cabanas verify`: the hash chain, and a published checkpoint when given; exits 1 when
/// either does not hold.
pub async fn verify(
    settings: &Settings,
    checkpoint: Option<PathBuf>,
    public_key: Option<&str>,
) -> anyhow::Result<()> {
    let store = eventstore::connect(&settings.database_url).await?;
    let report = store.verify_chain().await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    let mut intact = report.is_intact();
    if let Some(path) = checkpoint {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let published: eventstore::checkpoint::Checkpoint = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a checkpoint", path.display()))?;
        let check = eventstore::checkpoint::verify(&*store, &published, public_key).await?;
        println!("{}", serde_json::to_string_pretty(&check)?);
        intact &= check.holds();
    }
    if !intact {
        std::process::exit(1);
    }
    Ok(())
}

/// `cabanas checkpoint keygen|sign`.
pub async fn checkpoint(settings: &Settings, action: CheckpointAction) -> anyhow::Result<()> {
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
            let text = std::fs::read_to_string(&key)
                .with_context(|| format!("reading {}", key.display()))?;
            let secret = eventstore::checkpoint::parse_secret(&text)?;
            let store = eventstore::connect(&settings.database_url).await?;
            let signed = eventstore::checkpoint::sign_head(&*store, &secret, chrono::Utc::now())
                .await?
                .context(
                    "nothing to sign: the log is empty or its chain is broken (run cabanas verify)",
                )?;
            println!("{}", serde_json::to_string_pretty(&signed)?);
        }
    }
    Ok(())
}

/// `cabanas export-log`: the log after position `from`, as JSON lines on standard output.
pub async fn export_log(settings: &Settings, from: i64) -> anyhow::Result<()> {
    let store = eventstore::connect(&settings.database_url).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let n = eventstore::history::export(&store, from, &mut out).await?;
    std::io::Write::flush(&mut out)?;
    eprintln!("{n} events exported");
    Ok(())
}

/// `cabanas import-log FILE`: into an empty store only, then verified and projected; exits 1
/// when the chain does not hold.
pub async fn import_log(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
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
    Ok(())
}

/// `cabanas projections status|rebuild NAME`.
pub async fn projections(settings: &Settings, action: ProjectionsAction) -> anyhow::Result<()> {
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
    Ok(())
}

/// Writes a secret readable by its owner only.
fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
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
