//! `cabanas backup`, `cabanas restore` and `cabanas migrate-store`: the whole store copied, as
//! a file or into another database, through `eventstore::backup` (which says what is copied and
//! how). Here: the files, the read models rebuilt after a copy, and what the operator is told.

use std::io::{BufReader, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, ensure};
use eventstore::EventStore;
use eventstore::backup::{self, FileSource, Options, StoreSource, Summary};

use crate::config::Settings;

/// `cabanas backup OUT`: the configured store, read in one transaction while the service goes
/// on writing, to OUT (`-`: standard output). The file appears under its name only once
/// complete, readable by its owner only (it holds the guest keys).
pub async fn backup(settings: &Settings, out: &Path) -> anyhow::Result<()> {
    let store = eventstore::connect(&settings.database_url).await?;
    if out == Path::new("-") {
        let stdout = std::io::stdout();
        let mut writer = std::io::BufWriter::new(stdout.lock());
        let summary = backup::write(&*store, &mut writer).await?;
        writer.flush()?;
        eprintln!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    let partial = out.with_file_name(format!(
        ".{}.partial",
        out.file_name()
            .context("OUT must name a file")?
            .to_string_lossy()
    ));
    let file = private_file(&partial)?;
    let mut writer = std::io::BufWriter::new(file);
    let summary = backup::write(&*store, &mut writer).await?;
    let file = writer.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
        .with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, out)
        .with_context(|| format!("renaming {} to {}", partial.display(), out.display()))?;
    println!("backup written to {}", out.display());
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// `cabanas restore FILE`: the file is checked whole first (structure, counts, every hash), then
/// loaded into the configured database, which must be empty (or hold an interrupted restore of
/// the same file, which goes on); the copy's chain is verified and the read models rebuilt.
pub async fn restore(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    let open = || {
        std::fs::File::open(file)
            .map(BufReader::new)
            .with_context(|| format!("opening {}", file.display()))
    };
    let checked = backup::check(open()?).with_context(|| format!("checking {}", file.display()))?;
    let store = eventstore::connect(&settings.database_url).await?;
    let mut source = FileSource::open(open()?, checked)?;
    let total = source.checked().header.events;
    let mut progress = report_progress(total);
    let summary = backup::copy(&mut source, &*store, options(&mut progress))
        .await
        .context("restoring into the database at CABANAS_DATABASE_URL")?;
    finish(store, &summary).await
}

/// `cabanas migrate-store --to URL`: the configured store (read in one transaction) copied into
/// the database at URL, which must be empty (or hold an interrupted copy, which goes on); the
/// copy's chain is verified and its read models built. Stop the service first: what it writes
/// after the copy's snapshot stays behind.
pub async fn migrate_store(settings: &Settings, to: &str, batch: usize) -> anyhow::Result<()> {
    ensure!(
        to != settings.database_url,
        "--to names the configured database itself"
    );
    let from = eventstore::connect(&settings.database_url).await?;
    let target = eventstore::connect(to)
        .await
        .context("connecting to the database named by --to")?;
    let mut source = StoreSource::open(&*from).await?;
    let mut progress = report_progress(backup::Source::total_events(&source));
    let mut options = options(&mut progress);
    options.batch = batch;
    let summary = backup::copy(&mut source, &*target, options)
        .await
        .context("copying into the database named by --to")?;
    drop(source);
    finish(target, &summary).await?;
    println!("point CABANAS_DATABASE_URL at the new database and start the service");
    Ok(())
}

/// The names of the projections whose checkpoints travel with a copy: the reactors', which
/// start at the log's head and are never rebuilt (see `eventstore::backup`).
pub fn reactors() -> Vec<String> {
    projections::all()
        .iter()
        .filter(|p| p.starts_at_head())
        .map(|p| p.name().to_owned())
        .collect()
}

/// Every read model built from the copied log, as the service would at start-up.
pub async fn rebuild_read_models(
    store: Arc<dyn EventStore>,
) -> anyhow::Result<Vec<projections::ProjectionStatus>> {
    let runner = projections::Runner::new(store, projections::all());
    runner.ensure_schema().await?;
    runner.catch_up().await?;
    Ok(runner.status().await?)
}

fn options(progress: &mut (dyn FnMut(i64) -> anyhow::Result<()> + Send)) -> Options<'_> {
    Options {
        keep_checkpoints: reactors(),
        progress: Some(progress),
        ..Options::default()
    }
}

/// Progress on standard error, about every tenth of the way.
fn report_progress(total: u64) -> impl FnMut(i64) -> anyhow::Result<()> + Send {
    let step = (total / 10).max(1);
    let mut next = step;
    move |position| {
        if position as u64 >= next {
            eprintln!("{position} of {total} events copied");
            next = position as u64 + step;
        }
        Ok(())
    }
}

async fn finish(store: Arc<dyn EventStore>, summary: &Summary) -> anyhow::Result<()> {
    if summary.already_complete {
        println!("the target already holds this copy; nothing written");
    } else {
        println!(
            "{} events written ({} in the source), tables copied",
            summary.events_written, summary.events
        );
    }
    let report = store.verify_chain().await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    ensure!(report.is_intact(), "the copy's hash chain does not verify");
    let status = rebuild_read_models(store).await?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    println!("{}", serde_json::to_string_pretty(&status)?);
    Ok(())
}

/// A new file only its owner can read (an existing one is replaced).
fn private_file(path: &Path) -> anyhow::Result<std::fs::File> {
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}
