//! Calibration for the write-ratio targets: cqrs-es 0.5 with postgres-es, booking-like commands
//! (load the cabin's events, refuse a taken night, append one event of a hold's size) on 200
//! cabins, against the raw INSERT-and-commit baseline of `bench write` (the same statement on the
//! same bare table), each round right after its baseline. The baseline is taken through two pool
//! set-ups: without sqlx's ping on acquire (as `bench write` does, matching the store's pool) and
//! with sqlx's default pool, which pings first (as cqrs-es is used here). Prints each round and
//! the median ratios, 1 and 8 writers. Needs PostgreSQL on 127.0.0.1:5432 (user postgres).
use std::sync::Arc;
use std::time::{Duration, Instant};

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgPool};

/// Pads an event to the size of a `HoldPlaced` with its quote (about 500 bytes of JSON).
const NOTE: &str = "padding to the size of a booking hold event with its quote: per-night prices, weekend nights, seasonal adjustments, cleaning fee, total, deposit, expiry and the guest reference; padding to the size of a booking hold event with its quote: per-night prices, weekend nights, seasonal adjustments, cleaning fee, total, deposit, expiry and the guest reference; padding to the size of a booking hold";

#[derive(Default, Serialize, Deserialize)]
struct Cabin {
    days: Vec<u64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum CabinEvent {
    Held { day: u64, note: String },
}
impl DomainEvent for CabinEvent {
    fn event_type(&self) -> String {
        "Held".into()
    }
    fn event_version(&self) -> String {
        "1".into()
    }
}
#[derive(Debug)]
struct Taken;
impl std::fmt::Display for Taken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "taken")
    }
}
impl std::error::Error for Taken {}
enum CabinCommand {
    Hold { day: u64 },
}
impl Aggregate for Cabin {
    const TYPE: &'static str = "cabin";
    type Command = CabinCommand;
    type Event = CabinEvent;
    type Error = Taken;
    type Services = ();
    async fn handle(
        &mut self,
        command: CabinCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Taken> {
        let CabinCommand::Hold { day } = command;
        if self.days.contains(&day) {
            return Err(Taken);
        }
        sink.write(
            CabinEvent::Held {
                day,
                note: NOTE.into(),
            },
            self,
        )
        .await;
        Ok(())
    }
    fn apply(&mut self, e: CabinEvent) {
        let CabinEvent::Held { day, .. } = e;
        self.days.push(day);
    }
}

async fn run<F, Fut>(writers: usize, total: usize, op: F) -> (f64, f64)
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
            let mut lat = Vec::new();
            for i in 0..total / writers {
                let t = Instant::now();
                if op(w, i).await {
                    lat.push(t.elapsed());
                }
            }
            lat
        }));
    }
    let mut lat: Vec<Duration> = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    let rate = lat.len() as f64 / start.elapsed().as_secs_f64();
    lat.sort();
    (rate, lat[lat.len() / 2].as_secs_f64() * 1000.0)
}

async fn raw(pool: &PgPool, writers: usize) -> (f64, f64) {
    let p = pool.clone();
    run(writers, 2000, move |_, i| {
        let p = p.clone();
        async move {
            sqlx::query("INSERT INTO raw_bench (payload) VALUES ($1)")
                .bind(serde_json::json!({"n": i, "note": "a payload of typical size for a booking event"}))
                .execute(&p)
                .await
                .is_ok()
        }
    })
    .await
}

#[tokio::main]
async fn main() {
    let admin = "postgres://postgres@127.0.0.1:5432/postgres";
    let db = format!("cabanas_peer_{}", std::process::id());
    let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let url = format!("postgres://postgres@127.0.0.1:5432/{db}");
    let pinging = PgPoolOptions::new()
        .max_connections(16)
        .connect(&url)
        .await
        .unwrap();
    let quiet = PgPoolOptions::new()
        .max_connections(16)
        .test_before_acquire(false)
        .connect(&url)
        .await
        .unwrap();
    for sql in [
        "CREATE TABLE raw_bench (id BIGSERIAL PRIMARY KEY, payload JSONB NOT NULL)",
        "CREATE TABLE events (aggregate_type text NOT NULL, aggregate_id text NOT NULL, sequence bigint CHECK (sequence >= 0) NOT NULL, event_type text NOT NULL, event_version text NOT NULL, payload json NOT NULL, metadata json NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, sequence))",
        "CREATE TABLE snapshots (aggregate_type text NOT NULL, aggregate_id text NOT NULL, last_sequence bigint CHECK (last_sequence >= 0) NOT NULL, current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL, payload json NOT NULL, PRIMARY KEY (aggregate_type, aggregate_id, last_sequence))",
    ] {
        sqlx::query(sql).execute(&pinging).await.unwrap();
    }
    let cqrs = Arc::new(postgres_es::postgres_cqrs::<Cabin>(
        pinging.clone(),
        vec![],
        (),
    ));
    let ids: Arc<Vec<String>> = Arc::new((0..200).map(|i| format!("cabin-{i}")).collect());
    let mut day_base = 0u64;
    for writers in [1usize, 8] {
        let mut ratios_quiet = Vec::new();
        let mut ratios_pinging = Vec::new();
        for _round in 0..3 {
            let (rq, pq) = raw(&quiet, writers).await;
            let (rp, pp) = raw(&pinging, writers).await;
            let (c, ids2) = (cqrs.clone(), ids.clone());
            let base = day_base;
            day_base += 1000;
            let (cr, cp) = run(writers, 2000, move |w, i| {
                let (c, ids) = (c.clone(), ids2.clone());
                async move {
                    let per = ids.len() / 8;
                    let id = &ids[w + 8 * (i % per)];
                    let day = base + (i / per) as u64;
                    c.execute(id, CabinCommand::Hold { day }).await.is_ok()
                }
            })
            .await;
            println!("{writers} w: raw (no ping) {rq:6.0}/s p50 {pq:.2} | raw (sqlx default pool) {rp:6.0}/s p50 {pp:.2} | cqrs-es {cr:6.0}/s p50 {cp:.2} | ratio {:.2}× / {:.2}×", cr / rq, cr / rp);
            ratios_quiet.push(cr / rq);
            ratios_pinging.push(cr / rp);
        }
        ratios_quiet.sort_by(f64::total_cmp);
        ratios_pinging.sort_by(f64::total_cmp);
        println!("{writers} w: cqrs-es median ratio {:.2}× (baseline without ping), {:.2}× (sqlx default pool)", ratios_quiet[1], ratios_pinging[1]);
    }
    drop((pinging, quiet));
    sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}
