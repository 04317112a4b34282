//! `bench cost`: where a PostgreSQL write's CPU goes, against the raw baseline.
//!
//! For 1 and 8 writers it runs, in turn and three times over, four kinds of write: the raw
//! baseline; the same single-row insert into our `events` table with a booking-sized payload,
//! sent as a plain statement (the schema's cost, without our client code); a single-event
//! `append` at a known version (the store's); and a booking command (load-decide-append). For
//! each it prints the rate and the CPU time per write of this process, of all PostgreSQL
//! processes on this machine, and of those the sequencer's connection. The server figures need
//! PostgreSQL on this machine (read from /proc); elsewhere they are left out.

use std::sync::atomic::{AtomicI64, Ordering};

use super::*;

const WRITES: usize = 4000;
const ROUNDS: usize = 3;

/// CPU seconds (user + system) a process has used, from /proc/PID/stat; `None` if unreadable.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
    // utime and stime, in USER_HZ ticks (100 per second on Linux, whatever the kernel's HZ).
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// CPU seconds used so far by every PostgreSQL process on this machine; `None` if there is none.
fn server_seconds() -> Option<f64> {
    let mut total = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) else {
            continue;
        };
        if comm.starts_with("postgres") {
            let pid = entry.file_name();
            if let Some(s) = cpu_seconds(&pid.to_string_lossy()) {
                *total.get_or_insert(0.0) += s;
            }
        }
    }
    total
}

/// The sequencer connection's server process, by the name it connects with.
async fn sequencer_pid(pool: &sqlx::PgPool) -> Option<String> {
    let pid: Option<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
    )
    .bind(eventstore::postgres::SEQUENCER_NAME)
    .fetch_optional(pool)
    .await
    .ok()?;
    pid.map(|p| p.to_string())
}

/// One measurement: writes/s and CPU µs per write (this process, the server, the sequencer).
#[derive(Clone, Copy, Default)]
struct Figures {
    rate: f64,
    client: f64,
    server: Option<f64>,
    sequencer: Option<f64>,
}

async fn measure<F, Fut>(pool: &sqlx::PgPool, writers: usize, op: F) -> Figures
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let me = std::process::id().to_string();
    let seq_pid = sequencer_pid(pool).await;
    let before = (
        cpu_seconds(&me),
        server_seconds(),
        seq_pid.as_deref().and_then(cpu_seconds),
    );
    let (st, failed) = run(writers, WRITES / writers, op).await;
    let after = (
        cpu_seconds(&me),
        server_seconds(),
        seq_pid.as_deref().and_then(cpu_seconds),
    );
    if failed > 0 {
        eprintln!("{failed} writes failed");
    }
    let per_write = |b: Option<f64>, a: Option<f64>| Some((a? - b?) * 1e6 / st.count as f64);
    Figures {
        rate: st.rate(),
        client: per_write(before.0, after.0).unwrap_or_default(),
        server: per_write(before.1, after.1),
        sequencer: per_write(before.2, after.2),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn print(label: &str, rounds: &[Figures], raw: &[Figures]) {
    let pick = |f: fn(&Figures) -> Option<f64>, of: &[Figures]| {
        let v: Vec<f64> = of.iter().filter_map(f).collect();
        (!v.is_empty()).then(|| median(v))
    };
    let rate = pick(|f| Some(f.rate), rounds).unwrap_or_default();
    let ratios: Vec<f64> = rounds
        .iter()
        .zip(raw)
        .map(|(ours, raw)| ours.rate / raw.rate)
        .collect();
    let us = |v: Option<f64>| v.map_or("   n/a".to_owned(), |v| format!("{v:>6.0}"));
    println!(
        "{label:<34} {rate:>7.0}/s ({:.2}× raw)  CPU µs/write: client {}  server {}  of it sequencer {}",
        median(ratios),
        us(pick(|f| Some(f.client), rounds)),
        us(pick(|f| f.server, rounds)),
        us(pick(|f| f.sequencer, rounds)),
    );
}

// Long on purpose: the measurements in the order they are printed, each round measuring every
// kind of write back to back so they share the machine's state; splitting would scatter one
// table's columns across functions.
pub async fn run_cost(url: &str) -> anyhow::Result<()> {
    let raw = RawBaseline::new(url).await?;
    let store = eventstore::connect(url).await?;
    let handler = Arc::new(CommandHandler::<Accommodation>::new(store.clone()));
    let ids = register_cabins(&handler).await?;
    // A real hold's payload, for the writes that are not commands.
    let first = handler
        .execute(
            &ids[0].stream_id(),
            &hold_on(0, 0),
            Utc::now(),
            &Metadata::default(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let payload = Arc::new(
        first
            .events
            .first()
            .map(domain::DomainEvent::to_payload)
            .context("a hold yields an event")?,
    );
    let hold = |payload: &serde_json::Value| NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "HoldPlaced".into(),
        schema_version: 1,
        payload: payload.clone(),
        metadata: Metadata::default(),
    };
    let streams: Arc<Vec<(String, AtomicI64)>> = Arc::new(
        (0..ACCOMMODATIONS)
            .map(|i| {
                (
                    format!("cost-{i}-{}", uuid::Uuid::new_v4()),
                    AtomicI64::new(0),
                )
            })
            .collect(),
    );
    let ids = Arc::new(ids);

    println!("\n## PostgreSQL: CPU per write (medians of {ROUNDS} rounds of {WRITES} writes)");
    for writers in [1usize, 8] {
        let mut figures: [Vec<Figures>; 4] = Default::default();
        for round in 0..ROUNDS {
            let p = raw.pool.clone();
            figures[0].push(
                measure(&raw.pool, writers, move |_, i| {
                    let p = p.clone();
                    async move { RawBaseline::insert(&p, i).await }
                })
                .await,
            );
            let (p, pl) = (raw.pool.clone(), payload.clone());
            figures[1].push(
                measure(&raw.pool, writers, move |_, _| {
                    let (p, pl) = (p.clone(), pl.clone());
                    async move {
                        sqlx::query(
                            "INSERT INTO events (stream_id, stream_version, event_id, event_type, schema_version, payload, metadata, recorded_at) \
                             VALUES ($1, 1, $2, 'HoldPlaced', 1, $3, '{}', now())",
                        )
                        .bind(format!("cost-{}", uuid::Uuid::new_v4()))
                        .bind(uuid::Uuid::now_v7())
                        .bind(&*pl)
                        .execute(&p)
                        .await
                        .is_ok()
                    }
                })
                .await,
            );
            let (s, pl, ss) = (store.clone(), payload.clone(), streams.clone());
            figures[2].push(
                measure(&raw.pool, writers, move |w, i| {
                    let (s, pl, ss) = (s.clone(), pl.clone(), ss.clone());
                    async move {
                        // Writer w owns streams w, w+8, …: its versions are its own to know.
                        let (stream, version) = &ss[(w + 8 * i) % ss.len()];
                        let v = version.load(Ordering::SeqCst);
                        let ok = s
                            .append(stream, ExpectedVersion::Exact(v), &[hold(&pl)])
                            .await
                            .is_ok();
                        version.fetch_add(1, Ordering::SeqCst);
                        ok
                    }
                })
                .await,
            );
            let (h, ids2) = (handler.clone(), ids.clone());
            let first_day = (1 + round * 200 + writers * 1000) as u64;
            figures[3].push(
                measure(&raw.pool, writers, move |w, i| {
                    let (h, ids) = (h.clone(), ids2.clone());
                    async move {
                        let per = ids.len() / 8;
                        let id = ids[w + 8 * (i % per)];
                        h.execute(
                            &id.stream_id(),
                            &hold_on(first_day + (i / per) as u64, i as u64),
                            when(first_day + (i / per) as u64),
                            &Metadata::default(),
                        )
                        .await
                        .is_ok()
                    }
                })
                .await,
            );
        }
        println!("{writers} writer(s):");
        for (label, f) in [
            "  raw INSERT-and-commit",
            "  event row, plain statement",
            "  single-event append",
            "  booking command",
        ]
        .iter()
        .zip(&figures)
        {
            print(label, f, &figures[0]);
        }
    }
    Ok(())
}
