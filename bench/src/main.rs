//! Benchmarks for the spine, on SQLite and PostgreSQL: `cargo run --release -p bench`.
//!
//! Prints appends/s with p50/p99 (1 and 8 writers), booking commands/s (load-decide-append) on
//! many accommodations and on one hot accommodation, cost per command on a 10-event vs a
//! 2,000-event stream, and on PostgreSQL the raw INSERT-and-commit baseline measured in the same
//! run, with our rates as ratios of it. Then the read side (see [`read`]): projection catch-up
//! over 100,000 events and availability queries over HTTP, concurrently and at 1,000 requests/s.
//! `bench cost` breaks a PostgreSQL write's CPU down by kind of write (see [`cost`]); `bench e2e`
//! measures holds and WhatsApp turns through the whole HTTP stack against the store (see [`e2e`]).
//!
//! # Layout
//!
//! - `main.rs`: the write side (appends, booking commands, hot cabin, cost by stream length,
//!   the raw baseline) and the choice of what to run.
//! - `read.rs`: catch-up and availability over HTTP; `cost.rs`: a write's CPU by kind;
//!   `nlu.rs`: reading guests' messages; `voice.rs`: transcribing notes; `e2e.rs`: holds and
//!   WhatsApp turns end to end, as ratios of the store's own command rate.

mod cost;
mod e2e;
mod nlu;
mod panel;
mod read;
mod voice;

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context;
use chrono::{Days, Duration, NaiveDate, NaiveTime, Utc};
use domain::accommodation::{AccommodationCommand, Channel, PlaceHold, RegisterAccommodation};
use domain::{
    Accommodation, AccommodationId, BookingError, Money, Pricing, ReservationCode, ReservationId,
    StayDates,
};
use eventstore::{CommandError, CommandHandler, EventStore, ExpectedVersion, Metadata, NewEvent};
use sqlx::Connection;

const APPENDS: usize = 2000;
const COMMANDS: usize = 2000;
const ACCOMMODATIONS: usize = 200;

struct Stats {
    count: usize,
    elapsed: StdDuration,
    latencies: Vec<StdDuration>,
}

impl Stats {
    fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }
    fn pct(&mut self, p: f64) -> f64 {
        self.latencies.sort();
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies
            .get(i)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    }
    fn line(&mut self, label: &str) -> String {
        format!(
            "{label:<48} {:>9.0}/s   p50 {:>6.2} ms   p99 {:>6.2} ms",
            self.rate(),
            self.pct(0.5),
            self.pct(0.99)
        )
    }
}

/// Runs `per_writer` operations on each of `writers` tasks; `op(writer, i)` returns true on success.
async fn run<F, Fut>(writers: usize, per_writer: usize, op: F) -> (Stats, usize)
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_writer);
            let mut failed = 0;
            for i in 0..per_writer {
                let t = Instant::now();
                if op(w, i).await {
                    lat.push(t.elapsed());
                } else {
                    failed += 1;
                }
            }
            (lat, failed)
        }));
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    for t in tasks {
        if let Ok((l, f)) = t.await {
            latencies.extend(l);
            failed += f;
        }
    }
    let elapsed = start.elapsed();
    (
        Stats {
            count: latencies.len(),
            elapsed,
            latencies,
        },
        failed,
    )
}

fn event(n: usize) -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "BenchEvent".into(),
        schema_version: 1,
        payload: serde_json::json!({"n": n, "note": "a payload of typical size for a booking event"}),
        metadata: Metadata::default(),
    }
}

fn register(id: AccommodationId) -> AccommodationCommand {
    AccommodationCommand::Register(RegisterAccommodation {
        accommodation_id: id,
        name: "Cabaña bench".into(),
        capacity: 6,
        pricing: Pricing::simple(Money::pesos(40_000), Money::pesos(8_000)),
        min_nights: 1,
        check_in_time: NaiveTime::MIN,
        check_out_time: NaiveTime::MIN,
        directions: None,
    })
}

/// `ACCOMMODATIONS` new cabins, registered through `handler`.
async fn register_cabins(
    handler: &CommandHandler<Accommodation>,
) -> anyhow::Result<Vec<AccommodationId>> {
    let ids: Vec<AccommodationId> = (0..ACCOMMODATIONS)
        .map(|_| AccommodationId::new())
        .collect();
    for id in &ids {
        handler
            .execute(
                &id.stream_id(),
                &register(*id),
                Utc::now(),
                &Metadata::default(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(ids)
}

/// When a hold on `day` (days from now) is decided: the bench's clock walks with the nights,
/// since the calendar is open two years ahead and the long streams need thousands of nights.
fn when(day: u64) -> chrono::DateTime<Utc> {
    Utc::now() + Duration::days(day.saturating_sub(30) as i64)
}

fn hold_on(day: u64, n: u64) -> AccommodationCommand {
    let start: NaiveDate = (Utc::now() + Duration::days(2)).date_naive();
    let stay = StayDates::new(start + Days::new(day), start + Days::new(day + 1))
        .unwrap_or_else(|_| unreachable!());
    AccommodationCommand::PlaceHold(PlaceHold {
        reservation_id: ReservationId::new(),
        code: ReservationCode::from_entropy(n.wrapping_mul(2_654_435_761)),
        guest_ref: format!("bench-{n}"),
        stay,
        guests: 2,
        channel: Channel::Direct,
        hold_duration: Duration::minutes(30),
    })
}

/// Writer `w`'s `i`-th hold, on nights no other writer (of at most 8) wants: writer w owns
/// accommodations w, w+8, …, and moves a night on once it has held one on each of them. Shared
/// with `bench e2e`, whose baseline must be the very command measured here.
async fn booking_command(
    h: &CommandHandler<Accommodation>,
    ids: &[AccommodationId],
    w: usize,
    i: usize,
    first_day: u64,
) -> bool {
    let per = ids.len() / 8;
    let id = ids[w + 8 * (i % per)];
    let day = first_day + (i / per) as u64;
    h.execute(
        &id.stream_id(),
        &hold_on(day, i as u64),
        when(day),
        &Metadata::default(),
    )
    .await
    .is_ok()
}

// Long on purpose: one backend's write figures in the order they are printed (appends, booking
// commands against the raw baseline, the hot cabin, stream length); each step is marked.
async fn bench_store(
    name: &str,
    store: Arc<dyn EventStore>,
    raw: Option<&RawBaseline>,
) -> anyhow::Result<()> {
    println!("\n## {name}");

    for writers in [1, 8] {
        let s = store.clone();
        let (mut st, failed) = run(writers, APPENDS / writers, move |w, i| {
            let s = s.clone();
            async move {
                s.append(
                    &format!("bench-{w}-{i}-{}", uuid::Uuid::new_v4()),
                    ExpectedVersion::NoStream,
                    &[event(i)],
                )
                .await
                .is_ok()
            }
        })
        .await;
        println!(
            "{}  failed {failed}",
            st.line(&format!("single-event appends, {writers} writer(s)"))
        );
    }

    let handler = Arc::new(CommandHandler::<Accommodation>::new(store.clone()));
    let ids = register_cabins(&handler).await?;
    let ids = Arc::new(ids);
    for writers in [1usize, 8] {
        // Against PostgreSQL: five rounds, each right after its own raw baseline, and the
        // median ratio (this machine's rates drift by a fifth from one minute to the next, and
        // three rounds left the median as noisy as a single one); elsewhere one round.
        let rounds = if raw.is_some() { 5 } else { 1 };
        let mut ratios = Vec::new();
        for round in 0..rounds {
            let base = match raw {
                Some(raw) => {
                    let mut st = raw.measure(writers).await;
                    println!(
                        "{}",
                        st.line(&format!("raw INSERT-and-commit, {writers} writer(s)"))
                    );
                    Some(st.rate())
                }
                None => None,
            };
            let (h, ids2) = (handler.clone(), ids.clone());
            let first_day = (round * 100 + writers * 1000) as u64;
            let (mut st, failed) = run(writers, COMMANDS / writers, move |w, i| {
                let (h, ids) = (h.clone(), ids2.clone());
                async move { booking_command(&h, &ids, w, i, first_day).await }
            })
            .await;
            let ratio = base.map(|b| st.rate() / b);
            ratios.extend(ratio);
            println!(
                "{}  failed {failed}{}",
                st.line(&format!(
                    "booking commands, many accommodations, {writers} w"
                )),
                ratio
                    .map(|r| format!("  ({r:.2}× raw)"))
                    .unwrap_or_default()
            );
        }
        if !ratios.is_empty() {
            ratios.sort_by(f64::total_cmp);
            println!(
                "{:<48} {:>9.2}×",
                format!("median ratio to raw, {writers} writer(s)"),
                ratios[ratios.len() / 2]
            );
        }
    }

    // One hot accommodation, 8 writers, non-overlapping one-night stays.
    let hot = AccommodationId::new();
    handler
        .execute(
            &hot.stream_id(),
            &register(hot),
            Utc::now(),
            &Metadata::default(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let h = handler.clone();
    let errors = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let errs = errors.clone();
    let (mut st, failed) = run(8, 1000 / 8, move |w, i| {
        let (h, errs) = (h.clone(), errs.clone());
        async move {
            let day = 5000 + (i * 8 + w) as u64;
            match h
                .execute(
                    &hot.stream_id(),
                    &hold_on(day, day),
                    when(day),
                    &Metadata::default(),
                )
                .await
            {
                Ok(_) => true,
                Err(CommandError::Domain(BookingError::DatesUnavailable { .. })) => false,
                Err(e) => {
                    if let Ok(mut v) = errs.lock() {
                        v.push(e.to_string());
                    }
                    false
                }
            }
        }
    })
    .await;
    let errors = errors.lock().map(|v| v.len()).unwrap_or_default();
    println!(
        "{}  unavailable {}  other errors {errors}",
        st.line("hot accommodation, 8 writers, successful holds"),
        failed - errors
    );

    // Cost per command as a stream grows: 10 vs 2,000 events.
    for size in [10usize, 2000] {
        let id = AccommodationId::new();
        handler
            .execute(
                &id.stream_id(),
                &register(id),
                Utc::now(),
                &Metadata::default(),
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for d in 1..size as u64 {
            handler
                .execute(
                    &id.stream_id(),
                    &hold_on(d, d),
                    when(d),
                    &Metadata::default(),
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        // SQLite writes the preload's pages back from its WAL some time later: without this the
        // long stream's figure carries that deferred work (measured: 4,553/s right after the
        // preload, 6,355/s on the same stream a moment later, against 6,136/s for 10 events).
        if let eventstore::Db::Sqlite(pool) = store.db() {
            sqlx::query("PRAGMA wal_checkpoint(RESTART)")
                .execute(&pool)
                .await?;
        }
        let h = handler.clone();
        let (mut st, _) = run(1, 300, move |_, i| {
            let h = h.clone();
            async move {
                h.execute(
                    &id.stream_id(),
                    &hold_on(10_000 + i as u64, i as u64),
                    when(10_000 + i as u64),
                    &Metadata::default(),
                )
                .await
                .is_ok()
            }
        })
        .await;
        println!(
            "{}",
            st.line(&format!("booking command on a {size}-event stream"))
        );
    }
    Ok(())
}

/// The same machine's raw single-row INSERT-and-commit rate on a bare table, measured on demand
/// so that each of our figures is compared with a baseline taken just before it (this machine's
/// rates drift by 20 % from one minute to the next). It goes through a pool configured exactly
/// as the store's, so the ratio compares the statements and our code, not two client set-ups.
struct RawBaseline {
    pool: sqlx::PgPool,
}

impl RawBaseline {
    async fn new(url: &str) -> anyhow::Result<RawBaseline> {
        let pool = eventstore::postgres::pool_options().connect(url).await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS raw_bench (id BIGSERIAL PRIMARY KEY, payload JSONB NOT NULL)",
        )
        .execute(&pool)
        .await?;
        Ok(RawBaseline { pool })
    }

    /// The baseline's statement: one row, committed on its own.
    async fn insert(pool: &sqlx::PgPool, i: usize) -> bool {
        sqlx::query("INSERT INTO raw_bench (payload) VALUES ($1)")
            .bind(serde_json::json!({"n": i, "note": "a payload of typical size for a booking event"}))
            .execute(pool)
            .await
            .is_ok()
    }

    async fn measure(&self, writers: usize) -> Stats {
        let p = self.pool.clone();
        let (st, _) = run(writers, APPENDS / writers, move |_, i| {
            let p = p.clone();
            async move { RawBaseline::insert(&p, i).await }
        })
        .await;
        st
    }
}

/// The PostgreSQL server the bench runs on, for databases of its own made and dropped per run.
struct Server {
    admin: sqlx::PgConnection,
    /// The admin URL without its database name.
    base: String,
}

impl Server {
    async fn connect(admin_url: &str) -> anyhow::Result<Server> {
        let admin = sqlx::PgConnection::connect(admin_url)
            .await
            .context("PostgreSQL must be running (see scripts/test)")?;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url, |(b, _)| b)
            .to_owned();
        Ok(Server { admin, base })
    }

    /// A new database: (name, URL).
    async fn create(&mut self, what: &str) -> anyhow::Result<(String, String)> {
        let name = format!("cabanas_bench_{what}_{}", std::process::id());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut self.admin)
            .await?;
        Ok((name.clone(), format!("{}/{name}", self.base)))
    }

    async fn drop(&mut self, name: &str) -> anyhow::Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE {name} WITH (FORCE)"
        )))
        .execute(&mut self.admin)
        .await?;
        Ok(())
    }
}

/// What `bench --help` prints.
const USAGE: &str = "\
bench [WHAT]: the project's benchmarks, figures as ratios of baselines measured in the same run.

  (nothing)          the write side, the read side and e2e, on SQLite and PostgreSQL
  write              appends, booking commands, hot cabin, cost by stream length, raw baseline
  read               NLU, catch-up, availability over HTTP, WhatsApp turn latency
  nlu                reading guests' messages (no database)
  voice [THREADS]    transcription time and real-time factor (needs CABANAS_WHISPER_MODEL)
  replay [N] [sqlite|postgres]   the auditors' full replay over N events (default 1,000,000)
  cost               a PostgreSQL write's CPU by kind of write
  e2e [sqlite|postgres]   holds over HTTP against the store's rate, WhatsApp turns, RSS
                     (each phase CABANAS_BENCH_SECS long, default 5)
  panel              the owner's calendar page rendered (10 cabins × 5 weeks): p50, p95, size

PostgreSQL: CABANAS_BENCH_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres).";

// Long on purpose: the dispatch of every `bench` part and the default run's order, read at once.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The service runs in this process: its warnings go to stderr, so a figure that moved
    // because something failed (a pass retried a second later) shows why.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .init();
    let only = std::env::args().nth(1).unwrap_or_default();
    const KNOWN: [&str; 9] = [
        "", "write", "read", "nlu", "voice", "replay", "cost", "e2e", "panel",
    ];
    if !KNOWN.contains(&only.as_str()) {
        // `--help`, `-h`, or a typo: the usage, not a whole run.
        println!("{USAGE}");
        if matches!(only.as_str(), "--help" | "-h" | "help") {
            return Ok(());
        }
        anyhow::bail!("unknown benchmark {only:?}");
    }
    let admin = std::env::var("CABANAS_BENCH_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());

    let dir = std::env::temp_dir().join(format!("cabanas-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    // `bench read` runs only the read side, `bench write` only the write side.
    if only == "nlu" {
        nlu::run();
        return Ok(());
    }
    if only == "voice" {
        // `bench voice [THREADS]`: transcription time, real-time factor, burst latency.
        let threads = std::env::args()
            .nth(2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(2);
        return voice::run(threads).await;
    }
    if only == "replay" {
        // `bench replay [EVENTS] [sqlite|postgres]`: the auditors' full replay and as_of figures
        // (default 1,000,000 events, both backends).
        let total: usize = std::env::args()
            .nth(2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(1_000_000);
        // An optional third argument picks one backend: `sqlite` or `postgres`.
        let only_backend = std::env::args().nth(3).unwrap_or_default();
        if only_backend != "postgres" {
            let sqlite =
                eventstore::connect(&format!("sqlite://{}/replay.db", dir.display())).await?;
            read::replay("SQLite", sqlite, total).await?;
        }
        if only_backend == "sqlite" {
            let _ = std::fs::remove_dir_all(&dir);
            return Ok(());
        }
        let mut server = Server::connect(&admin).await?;
        let db = server.create("replay").await?;
        read::replay("PostgreSQL", eventstore::connect(&db.1).await?, total).await?;
        server.drop(&db.0).await?;
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    if only == "cost" {
        // `bench cost`: CPU per write on PostgreSQL, by kind of write (see `cost`).
        let mut server = Server::connect(&admin).await?;
        let db = server.create("cost").await?;
        cost::run_cost(&db.1).await?;
        server.drop(&db.0).await?;
        return Ok(());
    }
    if only == "panel" {
        // `bench panel`: the owner's calendar page as the server renders it.
        panel::both(&dir, &admin).await?;
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    if only == "e2e" {
        // `bench e2e [sqlite|postgres]`: one backend, or both.
        let only_backend = std::env::args().nth(2).unwrap_or_default();
        e2e::run(&only_backend, &dir, &admin).await?;
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    let (write, read) = (only != "read", only != "write" && only != "replay");
    if write {
        let sqlite = eventstore::connect(&format!("sqlite://{}/bench.db", dir.display())).await?;
        bench_store("SQLite (WAL, synchronous=NORMAL)", sqlite, None).await?;
    }
    if read {
        nlu::run();
        let sqlite = eventstore::connect(&format!("sqlite://{}/catchup.db", dir.display())).await?;
        read::catch_up("SQLite", sqlite).await?;
        read::availability(
            "SQLite",
            &format!("sqlite://{}/http.db", dir.display()),
            false,
        )
        .await?;
        read::whatsapp_latency("SQLite", &format!("sqlite://{}/whatsapp.db", dir.display()))
            .await?;
    }

    let mut server = Server::connect(&admin).await?;
    if write {
        let db = server.create("write").await?;
        let raw = RawBaseline::new(&db.1).await?;
        let pg = eventstore::connect(&db.1).await?;
        bench_store("PostgreSQL", pg, Some(&raw)).await?;
        server.drop(&db.0).await?;
    }
    if read {
        let catchup = server.create("catchup").await?;
        read::catch_up("PostgreSQL", eventstore::connect(&catchup.1).await?).await?;
        let http = server.create("http").await?;
        read::availability("PostgreSQL + Redis", &http.1, true).await?;
        let chat = server.create("chat").await?;
        read::whatsapp_latency("PostgreSQL", &chat.1).await?;
        for extra in [catchup.0, http.0, chat.0] {
            server.drop(&extra).await?;
        }
    }
    if only.is_empty() {
        // Last: its services keep running in this process until it exits.
        e2e::run("", &dir, &admin).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
