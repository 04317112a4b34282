//! End to end, per backend: how much of the store's booking-command rate survives the whole HTTP
//! stack (`POST /v1/reservations` with 8 and 50 connections), how long 100 WhatsApp guests
//! writing at once wait for their first reply to be queued, and the service's memory after each
//! phase. The store's rate is measured in the same run, so the HTTP rate is read as a ratio of
//! it rather than as a number to compare across machines.
//!
//! The service runs in this process (as in [`crate::read`]), so client and server share the
//! machine's cores: the HTTP figures are what one box serving its own load would do.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context;
use chrono::{Days, Utc};
use domain::Accommodation;
use eventstore::{CommandHandler, EventStore};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;

use crate::read::{percentile, start_app};
use crate::{Server, Stats};

/// The service's Meta app secret for the run: deliveries are signed with it, as Meta signs them.
const APP_SECRET: &str = "bench-whatsapp-app-secret";
/// Cabins registered through the admin API for the HTTP phases.
const CABINS: usize = 50;
/// Guests writing on WhatsApp at the same moment.
const GUESTS: usize = 100;
/// Holds over HTTP start this many days ahead, after the March nights the guests ask about, so
/// the WhatsApp turns search a calendar the holds have not filled.
const FIRST_HOLD_DAY: u64 = 120;
/// Nights per cabin the holds may use, keeping every stay inside the open calendar (two years).
const HOLD_NIGHTS: u64 = 600;

/// `bench e2e [sqlite|postgres]` (both when `only` is empty), each backend on fresh databases:
/// one for the store's baseline, one for the service, so neither run sees the other's rows.
pub async fn run(only: &str, dir: &Path, admin_url: &str) -> anyhow::Result<()> {
    if only != "postgres" {
        let store =
            eventstore::connect(&format!("sqlite://{}/e2e-store.db", dir.display())).await?;
        let http = format!("sqlite://{}/e2e-http.db", dir.display());
        backend("e2e sqlite", store, &http).await?;
    }
    if only != "sqlite" {
        let mut server = Server::connect(admin_url).await?;
        let store_db = server.create("e2e_store").await?;
        let http_db = server.create("e2e_http").await?;
        let store = eventstore::connect(&store_db.1).await?;
        let result = backend("e2e postgres", store, &http_db.1).await;
        // Dropped whatever happened, so a failed run leaves no databases behind.
        server.drop(&store_db.0).await?;
        server.drop(&http_db.0).await?;
        result?;
    }
    Ok(())
}

/// Every phase on one backend, printing a line per figure.
async fn backend(label: &str, store: Arc<dyn EventStore>, http_url: &str) -> anyhow::Result<()> {
    let dur = secs();
    let store_rate = store_rate(label, store, dur).await?;
    let after_store = rss_mb();
    let secret = ("CABANAS_WHATSAPP_APP_SECRET", APP_SECRET.to_owned());
    // Voice off: the figures are the service's own; the speech model's share is added below.
    let voice_off = ("CABANAS_WHISPER_MODEL", "off".to_owned());
    let (base, state) = start_app(http_url, 0, &[secret, voice_off]).await?;
    let after_start = rss_mb();
    let token = api::auth::Keys::new(state.settings.secret()?).mint(
        "bench",
        api::auth::Role::Admin,
        chrono::Duration::hours(1),
    )?;
    let ids = Arc::new(register_cabins(&base, &token).await?);
    // One counter across both phases: no two requests of the run want the same cabin and night.
    let next = Arc::new(AtomicUsize::new(0));
    for conns in [8, 50] {
        let cpu = cpu_used();
        let mut run = holds(&base, ids.clone(), next.clone(), conns, dur).await?;
        run.cpu = cpu_used() - cpu;
        run.print(label, conns, store_rate);
    }
    let after_holds = rss_mb();
    // The projections may trail the holds: how far shows in how long they take to reach the
    // head, and the turns then start from a caught-up service rather than a busy one.
    let t = Instant::now();
    state.runner.catch_up().await?;
    println!(
        "{label}: projections reached the head {:.0} ms after the last hold",
        t.elapsed().as_secs_f64() * 1000.0
    );
    whatsapp_turns(label, &base, &state.db).await?;
    let after_turns = rss_mb();
    println!(
        "{label}: RSS (voice off) after store: {after_store:.0} MB, after start: \
         {after_start:.0} MB, after holds: {after_holds:.0} MB, after turns: {after_turns:.0} MB"
    );
    // Another instance in the same process, with the model (if there is one here) loaded.
    let model = (
        "CABANAS_WHISPER_MODEL",
        api::config::DEFAULT_WHISPER_MODEL.to_owned(),
    );
    if std::path::Path::new(&model.1).is_file() {
        let _with_voice = start_app(http_url, 0, &[model]).await?;
        println!(
            "{label}: the Whisper model ({}) adds {:.0} MB",
            api::config::DEFAULT_WHISPER_MODEL,
            rss_mb() - after_turns
        );
    }
    Ok(())
}

/// How long each closed-loop phase lasts: CABANAS_BENCH_SECS, default 5.
fn secs() -> StdDuration {
    let secs = std::env::var("CABANAS_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(5.0);
    StdDuration::from_secs_f64(secs)
}

/// CPU time this process has used so far (user and system, all threads), from
/// `/proc/self/stat` in clock ticks of 10 ms (the kernel's `USER_HZ` on Linux).
fn cpu_used() -> StdDuration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after its `)`.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are the 14th and 15th fields, 12th and 13th after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    StdDuration::from_millis(ticks * 10)
}

/// This process's resident memory in MB. The service runs in this process, so it is the
/// service's own, plus the bench client's (little beyond its latencies).
fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The duration-bound twin of [`crate::run`]: `writers` tasks call `op(writer, i)` back to back
/// until `dur` has passed; `op` returns true on success. Returns the stats and the failures.
async fn run_for<F, Fut>(writers: usize, dur: StdDuration, op: F) -> (Stats, usize)
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let deadline = start + dur;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut failed, mut i) = (Vec::new(), 0, 0);
            while Instant::now() < deadline {
                let t = Instant::now();
                if op(w, i).await {
                    lat.push(t.elapsed());
                } else {
                    failed += 1;
                }
                i += 1;
            }
            (lat, failed)
        }));
    }
    let (mut latencies, mut failed) = (Vec::new(), 0);
    for t in tasks {
        if let Ok((l, f)) = t.await {
            latencies.extend(l);
            failed += f;
        }
    }
    let elapsed = start.elapsed();
    let count = latencies.len();
    (
        Stats {
            count,
            elapsed,
            latencies,
        },
        failed,
    )
}

/// The baseline: holds straight through the command handler, exactly the command `bench write`
/// measures, 8 writers on distinct cabins and nights, with no service (so no projections)
/// running on its database.
async fn store_rate(
    label: &str,
    store: Arc<dyn EventStore>,
    dur: StdDuration,
) -> anyhow::Result<f64> {
    let handler = Arc::new(CommandHandler::<Accommodation>::new(store));
    let ids = Arc::new(crate::register_cabins(&handler).await?);
    let (mut st, failed) = run_for(8, dur, move |w, i| {
        let (h, ids) = (handler.clone(), ids.clone());
        async move { crate::booking_command(&h, &ids, w, i, 0).await }
    })
    .await;
    println!(
        "{label}: store booking commands 8 writers: {:.0}/s p50 {:.2} ms p99 {:.2} ms failed {failed}",
        st.rate(),
        st.pct(0.5),
        st.pct(0.99)
    );
    Ok(st.rate())
}

/// `CABINS` cabins registered through `POST /v1/admin/accommodations`; their ids.
async fn register_cabins(base: &str, token: &str) -> anyhow::Result<Vec<String>> {
    let client = reqwest::Client::new();
    let mut ids = Vec::with_capacity(CABINS);
    for n in 0..CABINS {
        let cabin = json!({"name": format!("Cabaña {n}"), "capacity": 6, "min_nights": 1,
                           "pricing": {"nightly_base": 40000, "cleaning_fee": 8000}});
        let reply = client
            .post(format!("{base}/v1/admin/accommodations"))
            .bearer_auth(token)
            .json(&cabin)
            .send()
            .await?;
        anyhow::ensure!(
            reply.status() == 201,
            "registering a cabin: {}",
            reply.status()
        );
        let body: serde_json::Value = reply.json().await?;
        let id = body["id"]
            .as_str()
            .context("a registration without an id")?;
        ids.push(id.to_owned());
    }
    Ok(ids)
}

/// The `k`-th hold request of the run: cabin k mod 50, and the next night once every cabin has
/// had one, so no two requests ever want the same cabin and night. Each is a new guest, as on a
/// website; the name and number are made up.
fn hold_body(ids: &[String], k: usize) -> serde_json::Value {
    let day = FIRST_HOLD_DAY + (k / ids.len()) as u64 % HOLD_NIGHTS;
    let check_in = Utc::now().date_naive() + Days::new(day);
    json!({
        "accommodation_id": ids[k % ids.len()],
        "check_in": check_in,
        "check_out": check_in + Days::new(1),
        "guests": 2,
        "guest": {"name": "Huésped de prueba", "phone": format!("+549110{:07}", k % 10_000_000)},
    })
}

/// What one closed-loop phase of holds saw.
#[derive(Default)]
struct HoldRun {
    /// Of the 201s.
    latencies: Vec<StdDuration>,
    /// 409s: nights taken (none expected, since every request wants its own).
    conflicts: usize,
    /// Anything else, transport failures as status 0.
    errors: Vec<u16>,
    elapsed: StdDuration,
    /// The process's CPU time over the phase (see [`cpu_used`]).
    cpu: StdDuration,
}

impl HoldRun {
    fn merge(&mut self, other: HoldRun) {
        self.latencies.extend(other.latencies);
        self.conflicts += other.conflicts;
        self.errors.extend(other.errors);
    }

    fn print(&mut self, label: &str, conns: usize, store_rate: f64) {
        let rate = self.latencies.len() as f64 / self.elapsed.as_secs_f64();
        let mut kinds = self.errors.clone();
        kinds.sort_unstable();
        kinds.dedup();
        println!(
            "{label}: POST /v1/reservations {conns} conns: {rate:.0}/s p50 {:.2} ms p99 {:.2} ms \
             errors {}{} 409s {} (ratio to store {:.2}; CPU per hold {:.1} ms)",
            percentile(&mut self.latencies, 0.5),
            percentile(&mut self.latencies, 0.99),
            self.errors.len(),
            if kinds.is_empty() {
                String::new()
            } else {
                format!(" {kinds:?}")
            },
            self.conflicts,
            rate / store_rate,
            self.cpu.as_secs_f64() * 1000.0 / self.latencies.len().max(1) as f64
        );
    }
}

/// `conns` clients, one connection each, placing holds back to back for `dur`.
async fn holds(
    base: &str,
    ids: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
    conns: usize,
    dur: StdDuration,
) -> anyhow::Result<HoldRun> {
    // A pool as large as the clients, so each keeps its connection rather than reconnecting.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(conns)
        .build()?;
    let url = format!("{base}/v1/reservations");
    let start = Instant::now();
    let deadline = start + dur;
    let mut tasks = Vec::with_capacity(conns);
    for _ in 0..conns {
        let (client, url, ids, next) = (client.clone(), url.clone(), ids.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut run = HoldRun::default();
            while Instant::now() < deadline {
                let body = hold_body(&ids, next.fetch_add(1, Ordering::Relaxed));
                let t = Instant::now();
                // The body is read to its end: the answer is only whole then, and the
                // connection only reusable then.
                let status = match client.post(&url).json(&body).send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        if r.bytes().await.is_ok() { status } else { 0 }
                    }
                    Err(_) => 0,
                };
                match status {
                    201 => run.latencies.push(t.elapsed()),
                    409 => run.conflicts += 1,
                    other => run.errors.push(other),
                }
            }
            run
        }));
    }
    let mut all = HoldRun::default();
    for t in tasks {
        all.merge(t.await?);
    }
    all.elapsed = start.elapsed();
    Ok(all)
}

/// `X-Hub-Signature-256` for `body`, as Meta computes it with the app secret.
fn sign(body: &[u8]) -> anyhow::Result<String> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(APP_SECRET.as_bytes())
        .map_err(|e| anyhow::anyhow!("HMAC key: {e}"))?;
    mac.update(body);
    Ok(format!(
        "sha256={}",
        hex::encode(mac.finalize().into_bytes())
    ))
}

/// Guest `i`'s message, as Meta delivers it: a question that needs an availability search (the
/// heaviest common turn). The number is made up.
fn delivery(wamid: &str, i: usize) -> anyhow::Result<Vec<u8>> {
    let wa_id = format!("549120{i:07}");
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"phone_number_id": "1"},
            "contacts": [{"profile": {"name": "Bench"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid,
                "timestamp": Utc::now().timestamp().to_string(), "type": "text",
                "text": {"body": "hola, tienen lugar del 10 al 12 de marzo para 2?"}}]
        }}]}]
    });
    Ok(serde_json::to_vec(&body)?)
}

/// How many times the turn phase runs, each with `GUESTS` new guests once the last round's
/// replies are queued: one burst of a hundred turns lasts under a second, so its p95 alone moves
/// with whatever else the box did in that second. CABANAS_BENCH_TURN_ROUNDS, default 3.
fn turn_rounds() -> usize {
    std::env::var("CABANAS_BENCH_TURN_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(3)
}

/// `GUESTS` guests write at the same moment, [`turn_rounds`] times; each one's wait runs from
/// its POST to its first reply's row in `wa_outbox` (`{wamid}:0`). Printed per round and over
/// all rounds, with how long the webhook took to acknowledge the deliveries (the part of the
/// wait before the conversation worker can see a message).
async fn whatsapp_turns(label: &str, base: &str, db: &eventstore::Db) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(GUESTS)
        .build()?;
    let (mut all, mut acks, mut rounds) = (Vec::new(), Vec::new(), Vec::new());
    let mut busy = StdDuration::ZERO;
    let cpu_before = cpu_used();
    for round in 0..turn_rounds() {
        let turns = turn_round(&client, base, db, round).await?;
        busy += turns.span;
        let mut latencies = turns.latencies;
        rounds.push(format!("{:.0}", percentile(&mut latencies, 0.95)));
        all.extend(latencies);
        acks.extend(turns.acks);
    }
    println!(
        "{label}: WhatsApp turn, {GUESTS} guests at once: p50 {:.0} ms p95 {:.0} ms p99 {:.0} ms, \
         {:.1} turns/s (p95 per round of {GUESTS}: {} ms; webhook acknowledged p50 {:.0} ms \
         p95 {:.0} ms)",
        percentile(&mut all, 0.5),
        percentile(&mut all, 0.95),
        percentile(&mut all, 0.99),
        all.len() as f64 / busy.as_secs_f64(),
        rounds.join(", "),
        percentile(&mut acks, 0.5),
        percentile(&mut acks, 0.95),
    );
    // What a turn costs the box, whatever waited on what: the client's share (the posts and
    // the poller) is in it, as is the reply sender's and the read models'.
    println!(
        "{label}: CPU per WhatsApp turn (the whole process, every thread): {:.1} ms, over {:.0} ms \
         of turns on {} cores",
        (cpu_used() - cpu_before).as_secs_f64() * 1000.0 / all.len().max(1) as f64,
        busy.as_secs_f64() * 1000.0,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    Ok(())
}

/// What one round of turns saw.
struct TurnRound {
    /// Each guest's wait for their first reply.
    latencies: Vec<StdDuration>,
    /// Each delivery's wait for the webhook's 200.
    acks: Vec<StdDuration>,
    /// From the first POST to the last reply queued.
    span: StdDuration,
}

/// Round `round`: `GUESTS` guests not seen before write at once; waits for every first reply.
async fn turn_round(
    client: &reqwest::Client,
    base: &str,
    db: &eventstore::Db,
    round: usize,
) -> anyhow::Result<TurnRound> {
    let prefix = format!("wamid.e2e-{}-{round}-", std::process::id());
    let start = Instant::now();
    let mut posts = Vec::with_capacity(GUESTS);
    for i in 0..GUESTS {
        let body = delivery(&format!("{prefix}{i}"), round * GUESTS + i)?;
        let signature = sign(&body)?;
        let request = client
            .post(format!("{base}/webhooks/whatsapp"))
            .header("content-type", "application/json")
            .header("X-Hub-Signature-256", signature)
            .body(body);
        posts.push(tokio::spawn(async move {
            let sent = Instant::now();
            let ok = matches!(request.send().await, Ok(r) if r.status().is_success());
            (sent, sent.elapsed(), ok)
        }));
    }
    let queued = wait_for_replies(db, &prefix).await?;
    let mut latencies = Vec::with_capacity(GUESTS);
    let mut acks = Vec::with_capacity(GUESTS);
    for (i, post) in posts.into_iter().enumerate() {
        let (sent, ack, ok) = post.await?;
        anyhow::ensure!(ok, "a signed delivery was refused");
        acks.push(ack);
        if let Some(at) = queued.get(&i) {
            latencies.push(at.saturating_duration_since(sent));
        }
    }
    let last = queued.values().max().map_or(start, |t| *t);
    Ok(TurnRound {
        latencies,
        acks,
        span: last.duration_since(start),
    })
}

/// When each guest's first reply was first seen queued, by guest. One poller watches for every
/// reply: a hundred would load the very database whose turns they time. Its 2 ms period bounds
/// the error it adds to each wait.
async fn wait_for_replies(
    db: &eventstore::Db,
    prefix: &str,
) -> anyhow::Result<HashMap<usize, Instant>> {
    let mut seen = HashMap::with_capacity(GUESTS);
    let deadline = Instant::now() + StdDuration::from_secs(120);
    while seen.len() < GUESTS {
        // A range on the key, so the look reads this round's rows only: a `LIKE` read the
        // whole outbox every 2 ms, CPU taken from the turns it times.
        let rows: Vec<(String,)> = eventstore::db_fetch!(
            db,
            (String,),
            fetch_all,
            "SELECT id FROM wa_outbox WHERE id > $1 AND id < $2".to_owned(),
            prefix.to_owned(),
            format!("{prefix}~")
        )?;
        let now = Instant::now();
        for (id,) in rows {
            let guest = id.strip_prefix(prefix).and_then(|r| r.strip_suffix(":0"));
            if let Some(i) = guest.and_then(|g| g.parse().ok()) {
                seen.entry(i).or_insert(now);
            }
        }
        anyhow::ensure!(
            now < deadline,
            "only {} of {GUESTS} replies queued within 120 s",
            seen.len()
        );
        tokio::time::sleep(StdDuration::from_millis(2)).await;
    }
    Ok(seen)
}
