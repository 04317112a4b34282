//! Fault injection on the service as it is deployed: the `cabanas` binary cargo built, run as
//! `cabanas serve` processes against real databases, with wiremock standing in for Meta's Cloud
//! API and Mercado Pago, while things break under write load.
//!
//! - **Kill rounds**, on SQLite and on PostgreSQL (with Redis): six guests place holds on three
//!   cabins (mostly nights of their own, some deliberately wanted by two), recording every 201's
//!   code; in each of three rounds the server is killed with SIGKILL at a seeded random moment,
//!   the guests go on against the dead port for a second, and it is started again. Mercado Pago
//!   fails half of the calls with 500s in the first round, lets half of them time out in the
//!   second (answering later than the client waits: the call may have done its work), and is
//!   healthy afterwards; Meta does the same to its first calls (its replies trail the holds). Meta reports every message it took as `sent` (signed, to `/webhooks/whatsapp`,
//!   redelivered until accepted), as it does within seconds; the outbox relies on those reports
//!   to tell a message a dead sender handed over from one it did not. Once everything has
//!   settled: every acknowledged hold is found; no two active stays of a cabin overlap (in the
//!   event streams, not the read model); the hash chain verifies; the read models equal a
//!   rebuild from the log in a fresh store; every hold got one payment link under exactly one
//!   Mercado Pago idempotency key, and Meta took every WhatsApp reply exactly once.
//! - **A PostgreSQL outage**: a throwaway cluster (initdb + pg_ctl on a free port) is stopped with
//!   `-m immediate` under load for five seconds and started again. Every request overlapping the
//!   outage is answered within 2 s (a 503 problem is fine), `/readyz` within 1 s and not ready;
//!   the service recovers by itself (the time from the restart to the first 201 is measured);
//!   every acknowledged hold is found afterwards.
//!
//! The figures are printed (`-- --nocapture`). The schedule (kill moments, which requests the
//! fakes fail, which nights each guest asks for) comes from one seed, `CHAOS_SEED` or a fixed
//! default. The kill rounds share the machine; the outage runs alone, since it measures latency.
//! Each server's log is kept in the directory a failing test names.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use api::auth::{Keys, Role};
use eventstore::{CommandHandler, Db, EventStore};
use hmac::{Hmac, KeyInit, Mac};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const JWT_SECRET: &str = "chaos-test-secret-chaos-test-secret-42";
const META_SECRET: &str = "chaos-meta-app-secret";
const PHONE_NUMBER_ID: &str = "123";
/// The schedule's seed when `CHAOS_SEED` is not set.
const DEFAULT_SEED: u64 = 0x00c4_ba5a_5eed;
/// Guests placing holds at once, on `CABINS` cabins (two guests per cabin).
const CLIENTS: usize = 6;
const CABINS: usize = 3;
/// What the fakes do in each kill round; after the last, they are healthy.
const ROUNDS: [Fault; 3] = [Fault::Errors, Fault::Timeouts, Fault::Healthy];
/// The share of calls a faulty fake fails (the rest are answered), so that some payment links
/// are made and some replies sent while the providers misbehave.
const FAULT_SHARE: f64 = 0.5;
/// How late a slow fake answers: longer than `CABANAS_MP_TIMEOUT_SECS=1` and than the WhatsApp
/// client's timeout (10 s).
const MP_DELAY: Duration = Duration::from_secs(3);
const META_DELAY: Duration = Duration::from_secs(11);
/// How long a guest waits for an answer during the kill rounds.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(3);
/// Each test's bound (besides waiting for its turn): over it, the test fails and every process
/// it started is stopped.
const BOUND: Duration = Duration::from_secs(170);

/// The kill rounds share the machine; the outage takes it alone (it measures answer times).
static MACHINE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_on_sqlite_loses_no_acknowledged_hold_and_repeats_no_effect() {
    let _shared = MACHINE.read().await;
    let run = tokio::time::timeout(BOUND, kill_rounds(Backend::Sqlite)).await;
    assert!(
        run.is_ok(),
        "the SQLite kill rounds took longer than {BOUND:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_on_postgres_loses_no_acknowledged_hold_and_repeats_no_effect() {
    let _shared = MACHINE.read().await;
    let run = tokio::time::timeout(BOUND, kill_rounds(Backend::Postgres)).await;
    assert!(
        run.is_ok(),
        "the PostgreSQL kill rounds took longer than {BOUND:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_outage_is_answered_within_two_seconds_and_recovered_from_by_itself() {
    let _alone = MACHINE.write().await;
    let run = tokio::time::timeout(BOUND, outage()).await;
    assert!(run.is_ok(), "the outage run took longer than {BOUND:?}");
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Backend {
    Sqlite,
    /// PostgreSQL with Redis, as a scaled-out deployment runs.
    Postgres,
}

fn seed() -> u64 {
    std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

fn tokens() -> (String, String) {
    let keys = Keys::new(JWT_SECRET);
    (
        keys.mint("owner", Role::Admin, chrono::Duration::hours(1))
            .unwrap(),
        keys.mint("auditor", Role::Auditor, chrono::Duration::hours(1))
            .unwrap(),
    )
}

fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The night `n` days from today (Argentina's today is at most a day behind UTC's; holds start
/// weeks ahead).
fn day(n: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(n))
        .date_naive()
        .to_string()
}

// -------------------------------------------------------------------------------------------
// Processes and directories, stopped and removed whatever way the test ends
// -------------------------------------------------------------------------------------------

/// A directory of the test's own: kept (and named) when the test fails, removed otherwise.
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("cabanas-chaos-{what}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("chaos test failed: server logs are in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// One `cabanas serve` process; killed when dropped.
struct Server {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

impl Server {
    /// Starts `cabanas serve` on `port` with exactly `env` (nothing from this process's
    /// environment but PATH), its output appended to `dir/server.log`.
    fn start(dir: &Path, env: &[(String, String)], port: u16) -> Server {
        let log = dir.join("server.log");
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_cabanas"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("CABANAS_BIND", format!("127.0.0.1:{port}"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Server {
            child: Some(child),
            port,
            log,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|c| !matches!(c.try_wait(), Ok(None)))
    }

    /// SIGKILL, as the kernel's OOM killer or a pulled plug would.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, and SIGKILL if it has not stopped within 20 s.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Waits (up to a minute) until `/readyz` says ready; `false` if the process exited first
    /// (e.g. its port was taken meanwhile).
    async fn wait_ready(&mut self) -> bool {
        let http = client(Duration::from_secs(2));
        let url = format!("{}/readyz", self.base());
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            if self.exited() {
                return false;
            }
            if let Ok(r) = http.get(&url).send().await
                && r.status().as_u16() == 200
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the server was not ready within a minute:\n{}",
            tail(&self.log, 30)
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts a server and waits until it is ready; on a port taken meanwhile, on another one.
/// Returns the server and how long it took.
async fn start_ready(dir: &Path, env: &[(String, String)], port: u16) -> (Server, Duration) {
    let started = Instant::now();
    let mut port = port;
    for _ in 0..3 {
        let mut server = Server::start(dir, env, port);
        if server.wait_ready().await {
            return (server, started.elapsed());
        }
        port = free_port();
    }
    panic!(
        "the server exited while starting:\n{}",
        tail(&dir.join("server.log"), 30)
    );
}

// -------------------------------------------------------------------------------------------
// The fake providers
// -------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// 500s.
    Errors,
    /// Answers later than the client waits (having done the work).
    Timeouts,
    Healthy,
}

/// What a fake does now, and the seeded draw of which calls it fails. Its mode is either set
/// round by round or, with a plan, given per call in arrival order.
struct Switch {
    mode: AtomicU8,
    draws: Mutex<StdRng>,
    plan: Vec<Fault>,
    calls: AtomicUsize,
}

impl Switch {
    fn new(seed: u64) -> Switch {
        Switch::planned(seed, Vec::new())
    }

    /// The mode of the n-th call is `plan[n]`, healthy after the plan, whatever the round.
    fn planned(seed: u64, plan: Vec<Fault>) -> Switch {
        Switch {
            mode: AtomicU8::new(Fault::Healthy as u8),
            draws: Mutex::new(StdRng::seed_from_u64(seed)),
            plan,
            calls: AtomicUsize::new(0),
        }
    }

    fn set(&self, fault: Fault) {
        self.mode.store(fault as u8, Ordering::Relaxed);
    }

    /// What happens to the call arriving now.
    fn draw(&self) -> Fault {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        let mode = match self.plan.get(call) {
            Some(planned) => *planned as u8,
            None if !self.plan.is_empty() => return Fault::Healthy,
            None => self.mode.load(Ordering::Relaxed),
        };
        let mode = match mode {
            m if m == Fault::Errors as u8 => Fault::Errors,
            m if m == Fault::Timeouts as u8 => Fault::Timeouts,
            _ => return Fault::Healthy,
        };
        if self.draws.lock().unwrap().random_bool(FAULT_SHARE) {
            mode
        } else {
            Fault::Healthy
        }
    }
}

/// A message the fake Meta took: our reply id (`biz_opaque_callback_data`), its wamid, and the
/// body as sent.
#[derive(Clone)]
struct Taken {
    tracker: String,
    wamid: String,
    to: String,
    body: String,
}

#[derive(Clone, Default)]
struct MetaLog {
    taken: Vec<Taken>,
    /// Calls answered 500 (nothing sent).
    refused: usize,
    /// Calls taken but answered too late.
    slow: usize,
    /// Messages without our reply id.
    untracked: usize,
}

/// The fake Cloud API: a new wamid for every message it takes.
#[derive(Clone)]
struct Meta {
    log: Arc<Mutex<MetaLog>>,
    switch: Arc<Switch>,
}

impl Meta {
    fn snapshot(&self) -> MetaLog {
        self.log.lock().unwrap().clone()
    }
}

impl Respond for Meta {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let fault = self.switch.draw();
        let mut log = self.log.lock().unwrap();
        if fault == Fault::Errors {
            log.refused += 1;
            return ResponseTemplate::new(500).set_body_json(json!({"error": {
                "message": "Service temporarily unavailable", "type": "OAuthException",
                "code": 2, "fbtrace_id": "chaos"}}));
        }
        let wamid = format!("wamid.chaos.{}", log.taken.len() + log.untracked);
        match body["biz_opaque_callback_data"].as_str() {
            Some(tracker) => log.taken.push(Taken {
                tracker: tracker.to_owned(),
                wamid: wamid.clone(),
                to: body["to"].as_str().unwrap_or_default().to_owned(),
                body: body.to_string(),
            }),
            None => log.untracked += 1,
        }
        let answer = ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": wamid}]
        }));
        if fault == Fault::Timeouts {
            log.slow += 1;
            return answer.set_delay(META_DELAY);
        }
        answer
    }
}

#[derive(Clone, Default)]
struct MpLog {
    /// (external_reference, X-Idempotency-Key) of every preference call that arrived.
    calls: Vec<(String, String)>,
    /// The preference made under each key (Mercado Pago answers a repeated key with it).
    made: HashMap<String, String>,
    refused: usize,
    slow: usize,
}

/// The fake Mercado Pago: preferences, idempotent by `X-Idempotency-Key`.
#[derive(Clone)]
struct Mp {
    log: Arc<Mutex<MpLog>>,
    switch: Arc<Switch>,
}

impl Mp {
    fn snapshot(&self) -> MpLog {
        self.log.lock().unwrap().clone()
    }
}

impl Respond for Mp {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let key = request
            .headers
            .get("x-idempotency-key")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let fault = self.switch.draw();
        let mut log = self.log.lock().unwrap();
        let reference = body["external_reference"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        log.calls.push((reference, key.clone()));
        if fault == Fault::Errors {
            log.refused += 1;
            return ResponseTemplate::new(500).set_body_json(json!({
                "message": "internal_error", "error": "internal_server_error", "status": 500}));
        }
        let n = log.made.len();
        let id = log
            .made
            .entry(key)
            .or_insert_with(|| format!("chaos-pref-{n}"))
            .clone();
        let answer = ResponseTemplate::new(201).set_body_json(json!({
            "id": id,
            "init_point": format!("https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id={id}"),
            "sandbox_init_point": format!("https://sandbox.mercadopago.com.ar/checkout/v1/redirect?pref_id={id}"),
        }));
        if fault == Fault::Timeouts {
            log.slow += 1;
            return answer.set_delay(MP_DELAY);
        }
        answer
    }
}

struct Fakes {
    meta_server: MockServer,
    meta: Meta,
    mp_server: MockServer,
    mp: Mp,
}

impl Fakes {
    async fn start(seed: u64) -> Fakes {
        // Meta's faults follow its own calls, not the rounds: replies come after payment links,
        // seconds behind the holds (and a kill strands a claimed batch for the claim's minute),
        // so round by round most replies would meet a healthy Meta. A slow answer stalls the
        // sender for META_DELAY, hence few of those.
        let plan = [[Fault::Errors; 16].as_slice(), &[Fault::Timeouts; 4]].concat();
        let meta = Meta {
            log: Arc::default(),
            switch: Arc::new(Switch::planned(seed ^ 0x6d65_7461, plan)),
        };
        let meta_server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
            .respond_with(meta.clone())
            .mount(&meta_server)
            .await;
        let mp = Mp {
            log: Arc::default(),
            switch: Arc::new(Switch::new(seed ^ 0x6d70)),
        };
        let mp_server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/checkout/preferences"))
            .respond_with(mp.clone())
            .mount(&mp_server)
            .await;
        Fakes {
            meta_server,
            meta,
            mp_server,
            mp,
        }
    }

    /// Mercado Pago's mode for the round (Meta follows its plan).
    fn set(&self, fault: Fault) {
        self.mp.switch.set(fault);
    }
}

fn meta_sign(body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(META_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Meta's status update saying it sent `m`, naming our reply id.
fn sent_status(m: &Taken) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5491100000000", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [{"id": m.wamid, "status": "sent",
                "timestamp": chrono::Utc::now().timestamp().to_string(),
                "recipient_id": m.to, "biz_opaque_callback_data": m.tracker}]
        }}]}]
    }))
    .unwrap()
}

/// How many of the taken messages' status updates the service has accepted.
#[derive(Default)]
struct Echoed(AtomicUsize);

/// Meta's side: every message it took is reported `sent` to the service, signed, and delivered
/// again until the service accepts it (the server may be dead at the time), until `stop`.
async fn echo_statuses(
    base: Arc<RwLock<String>>,
    meta: Meta,
    echoed: Arc<Echoed>,
    stop: Arc<AtomicBool>,
) {
    let http = client(Duration::from_secs(3));
    let mut next = 0;
    let mut waiting: Vec<Taken> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let taken = meta.snapshot().taken;
        waiting.extend(taken[next..].iter().cloned());
        next = taken.len();
        let url = format!("{}/webhooks/whatsapp", base.read().unwrap());
        let mut again = Vec::new();
        for m in waiting.drain(..) {
            let body = sent_status(&m);
            let sent = http
                .post(&url)
                .header("X-Hub-Signature-256", meta_sign(&body))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    echoed.0.fetch_add(1, Ordering::Relaxed);
                }
                _ => again.push(m),
            }
        }
        waiting = again;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

// -------------------------------------------------------------------------------------------
// Kill rounds
// -------------------------------------------------------------------------------------------

/// A hold the service acknowledged with a 201.
#[derive(Clone, Debug)]
struct Acked {
    code: String,
    reservation_id: String,
    whatsapp: bool,
    /// The round it was acknowledged in (`ROUNDS.len()`: after the last restart).
    round: usize,
}

/// What the guests saw in one round.
#[derive(Clone, Copy, Default)]
struct Tally {
    sent: usize,
    acked: usize,
    /// 409: the nights were taken.
    refused: usize,
    /// 5xx.
    failed: usize,
    /// No answer: connection refused or reset, or the client's timeout.
    lost: usize,
}

#[derive(Default)]
struct ClientReport {
    acked: Vec<Acked>,
    tally: [Tally; ROUNDS.len() + 1],
    unexpected: Vec<String>,
}

/// A guest placing one-night holds one after another on `cabin` until `stop`. Guest `c` has
/// lane `c / CABINS` of its cabin's nights (the other guest on the cabin has the other lane);
/// now and then it asks for the other lane's night instead, which the other guest wants too.
/// Every fourth-or-so guest asks to hear on WhatsApp.
#[expect(clippy::too_many_arguments)] // One guest's whole situation, spelled out.
async fn hold_client(
    c: usize,
    seed: u64,
    base: Arc<RwLock<String>>,
    cabin: String,
    first_night: i64,
    round: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    http: reqwest::Client,
) -> ClientReport {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(c as u64 * 7919));
    let lane = (c / CABINS) as i64;
    let mut report = ClientReport::default();
    let mut k = 0i64;
    while !stop.load(Ordering::Relaxed) {
        let clash = rng.random_bool(0.15);
        let night = first_night + 2 * k + if clash { 1 - lane } else { lane };
        let whatsapp = rng.random_bool(0.5);
        let body = json!({
            "accommodation_id": cabin,
            "check_in": day(night),
            "check_out": day(night + 1),
            "guests": 2,
            "guest": {"name": "Ana Pérez", "phone": format!("+54 9 11 5{c:03}-{k:04}"),
                      "whatsapp": whatsapp}
        });
        let url = format!("{}/v1/reservations", base.read().unwrap());
        let r = round.load(Ordering::Relaxed);
        report.tally[r].sent += 1;
        // Paced so the reactor keeps up (payment links, then replies, reach the fakes while they
        // misbehave) rather than working through a backlog once they are healthy again.
        let mut pause = Duration::from_millis(rng.random_range(100..300));
        match http.post(&url).json(&body).send().await {
            Ok(answer) => {
                let status = answer.status().as_u16();
                let body: Value = answer.json().await.unwrap_or_default();
                // Counted in the round the answer came in.
                let r = round.load(Ordering::Relaxed);
                match status {
                    201 => match (body["code"].as_str(), body["reservation_id"].as_str()) {
                        (Some(code), Some(id)) => {
                            report.tally[r].acked += 1;
                            report.acked.push(Acked {
                                code: code.to_owned(),
                                reservation_id: id.to_owned(),
                                whatsapp,
                                round: r,
                            });
                        }
                        // The body was cut off: the code never reached the guest.
                        _ => report.tally[r].lost += 1,
                    },
                    409 if body["type"]
                        .as_str()
                        .is_some_and(|t| t.ends_with("dates-unavailable")) =>
                    {
                        report.tally[r].refused += 1;
                    }
                    s if s >= 500 => report.tally[r].failed += 1,
                    other => report.unexpected.push(format!("{other}: {body}")),
                }
            }
            Err(_) => {
                report.tally[round.load(Ordering::Relaxed)].lost += 1;
                pause = Duration::from_millis(200);
            }
        }
        k += 1;
        tokio::time::sleep(pause).await;
    }
    report
}

/// Settings of a kill-round server: the fakes, Meta's app secret, limits out of the way.
fn kill_env(backend: Backend, url: &str, fakes: &Fakes) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("CABANAS_DATABASE_URL", url.to_owned()),
        ("CABANAS_JWT_SECRET", JWT_SECRET.into()),
        ("CABANAS_RATE_LIMIT_PER_MINUTE", "1000000".into()),
        ("CABANAS_PUBLIC_URL", "https://cabanas.example".into()),
        ("CABANAS_WHATSAPP_APP_SECRET", META_SECRET.into()),
        ("CABANAS_WHATSAPP_TOKEN", "meta-token".into()),
        ("CABANAS_WHATSAPP_PHONE_NUMBER_ID", PHONE_NUMBER_ID.into()),
        ("CABANAS_WHATSAPP_API_BASE", fakes.meta_server.uri()),
        ("CABANAS_MP_ACCESS_TOKEN", "TEST-token".into()),
        ("CABANAS_MP_API_BASE", fakes.mp_server.uri()),
        ("CABANAS_MP_TIMEOUT_SECS", "1".into()),
        // Short, so payment links (and the replies that carry them) keep flowing while the
        // fakes misbehave, instead of waiting out the round behind an open breaker.
        ("CABANAS_BREAKER_COOLDOWN_SECS", "1".into()),
        ("CABANAS_LOG", "info".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if backend == Backend::Postgres {
        let redis = std::env::var("CABANAS_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        env.push(("CABANAS_REDIS_URL".into(), redis));
        env.push((
            "CABANAS_REDIS_PREFIX".into(),
            format!("cabanas-chaos-{}", uuid::Uuid::new_v4().simple()),
        ));
    }
    env
}

/// One value of a query on either backend.
async fn scalar(db: &Db, sql: &'static str) -> i64 {
    match db {
        Db::Postgres(pool) => sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .unwrap(),
        Db::Sqlite(pool) => sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

/// Rows of two text columns on either backend.
async fn pairs(db: &Db, sql: &'static str) -> Vec<(String, String)> {
    match db {
        Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
        Db::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await.unwrap(),
    }
}

/// What is still to do: (queued side effects, replies not yet sent, events the read models
/// have not applied, Meta's status updates not yet accepted).
async fn backlog(db: &Db, base: &str, meta: &Meta, echoed: &Echoed) -> (i64, i64, i64, usize) {
    let tasks = scalar(
        db,
        "SELECT count(*) FROM reactor_tasks WHERE status IN ('pending', 'working')",
    )
    .await;
    let replies = scalar(
        db,
        "SELECT count(*) FROM wa_outbox WHERE status IN ('pending', 'sending')",
    )
    .await;
    let ready: Value = match client(Duration::from_secs(2))
        .get(format!("{base}/readyz"))
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(_) => Value::Null,
    };
    let lag = ready["projections"].as_array().map_or(i64::MAX, |ps| {
        ps.iter()
            .map(|p| p["behind_events"].as_i64().unwrap_or(i64::MAX))
            .sum()
    });
    let statuses = meta.snapshot().taken.len() - echoed.0.load(Ordering::Relaxed);
    (tasks, replies, lag, statuses)
}

/// One round as it went.
struct Round {
    fault: Fault,
    killed_after: Duration,
    restarted_in: Duration,
}

/// `CABINS` cabins registered through the API; their ids.
async fn register_cabins(http: &reqwest::Client, base: &str, admin: &str) -> Vec<String> {
    let mut cabins = Vec::new();
    for n in 0..CABINS {
        let r = http
            .post(format!("{base}/v1/admin/accommodations"))
            .bearer_auth(admin)
            .json(
                &json!({"name": format!("Cabaña {n}"), "capacity": 4, "min_nights": 1,
                          "pricing": {"nightly_base": 30000, "cleaning_fee": 5000}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let body: Value = r.json().await.unwrap();
        cabins.push(body["id"].as_str().unwrap().to_owned());
    }
    cabins
}

/// Waits until everything due is done: side effects a killed server had claimed are taken up
/// again (at once on SQLite, else when the claim runs out), retries wait out their backoff.
async fn settle(
    backend: Backend,
    db: &Db,
    base: &str,
    meta: &Meta,
    echoed: &Echoed,
    load_done: Instant,
) {
    let settle_limit = Duration::from_secs(120);
    loop {
        let (tasks, replies, lag, statuses) = backlog(db, base, meta, echoed).await;
        if (tasks, replies, lag, statuses) == (0, 0, 0, 0) {
            return;
        }
        assert!(
            load_done.elapsed() < settle_limit,
            "{backend:?}: not settled {settle_limit:?} after the load: {tasks} side effects \
             queued, {replies} replies unsent, read models {lag} events behind, {statuses} \
             status updates not accepted"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

// Long on purpose: the scenario in the order it happens (start, kill rounds under load,
// settle, checks from the API, the streams and the fakes, the figures, the assertions), so
// one read shows what a kill round proves; the checks themselves live in their own functions.
async fn kill_rounds(backend: Backend) {
    let t0 = Instant::now();
    let seed = seed() ^ (backend as u64 + 1);
    let mut schedule = StdRng::seed_from_u64(seed);
    let scratch = Scratch::new(match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    });
    let url = match backend {
        Backend::Sqlite => format!("sqlite://{}/cabanas.db", scratch.0.display()),
        Backend::Postgres => eventstore::testing::fresh_postgres_url()
            .await
            .expect("PostgreSQL must be running (scripts/test starts it)"),
    };
    let fakes = Fakes::start(seed).await;
    let env = kill_env(backend, &url, &fakes);
    let (admin, auditor) = tokens();
    fakes.set(ROUNDS[0]);
    let (mut server, _) = start_ready(&scratch.0, &env, free_port()).await;
    let base = Arc::new(RwLock::new(server.base()));
    let store = eventstore::connect(&url).await.unwrap();
    let db = store.db();

    let http = client(CLIENT_TIMEOUT);
    let cabins = register_cabins(&http, &server.base(), &admin).await;

    let stop_echo = Arc::new(AtomicBool::new(false));
    let echoed = Arc::new(Echoed::default());
    let echo = tokio::spawn(echo_statuses(
        base.clone(),
        fakes.meta.clone(),
        echoed.clone(),
        stop_echo.clone(),
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let round = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            tokio::spawn(hold_client(
                c,
                seed,
                base.clone(),
                cabins[c % CABINS].clone(),
                20,
                round.clone(),
                stop.clone(),
                http.clone(),
            ))
        })
        .collect();

    let mut rounds = Vec::new();
    for (n, fault) in ROUNDS.into_iter().enumerate() {
        let killed_after = Duration::from_millis(schedule.random_range(1200..4000));
        tokio::time::sleep(killed_after).await;
        server.kill();
        // The guests go on against the dead port.
        tokio::time::sleep(Duration::from_secs(1)).await;
        fakes.set(ROUNDS.get(n + 1).copied().unwrap_or(Fault::Healthy));
        let (restarted, restarted_in) = start_ready(&scratch.0, &env, server.port).await;
        server = restarted;
        *base.write().unwrap() = server.base();
        round.store(n + 1, Ordering::Relaxed);
        rounds.push(Round {
            fault,
            killed_after,
            restarted_in,
        });
    }
    // A little load on the healthy service, then the guests stop.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acked: Vec<Acked> = Vec::new();
    let mut tally = [Tally::default(); ROUNDS.len() + 1];
    let mut unexpected = Vec::new();
    for c in clients {
        let report = c.await.unwrap();
        acked.extend(report.acked);
        unexpected.extend(report.unexpected);
        for (t, r) in tally.iter_mut().zip(report.tally) {
            t.sent += r.sent;
            t.acked += r.acked;
            t.refused += r.refused;
            t.failed += r.failed;
            t.lost += r.lost;
        }
    }
    let load_done = Instant::now();

    settle(
        backend,
        &db,
        &server.base(),
        &fakes.meta,
        &echoed,
        load_done,
    )
    .await;
    let settled_in = load_done.elapsed();
    stop_echo.store(true, Ordering::Relaxed);
    echo.await.unwrap();

    // Every acknowledged hold is found, through the API.
    let http = client(Duration::from_secs(10));
    let mut found = [0usize; ROUNDS.len() + 1];
    let mut missing = Vec::new();
    for a in &acked {
        let r = http
            .get(format!("{}/v1/reservations/{}", server.base(), a.code))
            .send()
            .await
            .unwrap();
        if r.status().as_u16() == 200 {
            found[a.round] += 1;
        } else {
            missing.push(format!("{} ({})", a.code, r.status()));
        }
    }
    // The chain verifies.
    let verify = http
        .get(format!("{}/v1/audit/verify", server.base()))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    let verify_status = verify.status().as_u16();
    let chain: Value = verify.json().await.unwrap_or_default();
    server.stop();

    let hold_log = HoldLog::read(&store, &cabins).await;
    let HoldLog {
        in_log, overlaps, ..
    } = &hold_log;
    let lost_in_log: Vec<&Acked> = acked
        .iter()
        .filter(|a| in_log.get(&a.code) != Some(&a.reservation_id))
        .collect();

    // The read models equal a rebuild from the log in a fresh store.
    let mut exported = Vec::new();
    let events = eventstore::history::export(&store, 0, &mut exported)
        .await
        .unwrap();
    let history = eventstore::history::read(&String::from_utf8(exported).unwrap()).unwrap();
    let live = replay_tests::snapshot(&db).await.unwrap();
    let rebuilt = rebuild(&scratch.0, &db, &history).await;
    let differences = replay_tests::diff(&live, &rebuilt);

    let effects = effects(&db, &fakes, &history, &hold_log, &acked).await;
    let Effects {
        duplicates,
        problems,
        ..
    } = &effects;
    let (mp, meta) = (fakes.mp.snapshot(), fakes.meta.snapshot());

    // The figures.
    let name = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    for (n, r) in rounds.iter().enumerate() {
        let t = tally[n];
        println!(
            "chaos {name} round {} (providers: {:?}): killed after {:.1} s, ready again in {:.1} s; \
             holds sent {}, acknowledged {}, found {}, refused (409) {}, 5xx {}, no answer {}",
            n + 1,
            r.fault,
            r.killed_after.as_secs_f64(),
            r.restarted_in.as_secs_f64(),
            t.sent,
            t.acked,
            found[n],
            t.refused,
            t.failed,
            t.lost,
        );
    }
    let t = tally[ROUNDS.len()];
    println!(
        "chaos {name} after the last restart: holds sent {}, acknowledged {}, found {}, refused \
         {}, 5xx {}, no answer {}",
        t.sent,
        t.acked,
        found[ROUNDS.len()],
        t.refused,
        t.failed,
        t.lost
    );
    println!(
        "chaos {name}: {} holds acknowledged, {} found; {} holds in the log ({} placed without \
         the guest hearing of it); {} events; overlapping stays {}; chain {} ({} events \
         verified); read models vs rebuild: {} differences; settled {:.1} s after the load",
        acked.len(),
        found.iter().sum::<usize>(),
        in_log.len(),
        in_log.len().saturating_sub(acked.len()),
        events,
        overlaps.len(),
        if verify_status == 200 {
            "intact"
        } else {
            "BROKEN"
        },
        chain["verified_events"],
        differences.len(),
        settled_in.as_secs_f64(),
    );
    println!(
        "chaos {name} effects: Mercado Pago {} calls ({} answered 500, {} too late) for {} holds \
         under {} keys; Meta {} messages taken ({} too late), {} calls answered 500, {} replies \
         queued, {} guests asked for WhatsApp; duplicate effects: {}; run {:.0} s",
        mp.calls.len(),
        mp.refused,
        mp.slow,
        effects.linked_holds,
        effects.keys,
        meta.taken.len(),
        meta.slow,
        meta.refused,
        effects.replies,
        effects.told,
        duplicates.len(),
        t0.elapsed().as_secs_f64(),
    );

    assert!(
        unexpected.is_empty(),
        "{backend:?}: unexpected answers: {unexpected:?}"
    );
    assert!(
        acked.len() >= 30,
        "{backend:?}: only {} holds acknowledged: too few to say anything",
        acked.len()
    );
    assert!(
        missing.is_empty() && lost_in_log.is_empty(),
        "{backend:?}: acknowledged holds lost: {missing:?} {lost_in_log:?}"
    );
    assert!(
        overlaps.is_empty(),
        "{backend:?}: overlapping stays: {overlaps:#?}"
    );
    assert!(
        verify_status == 200 && chain["first_break"].is_null(),
        "{backend:?}: the chain does not verify: {chain}"
    );
    assert!(
        differences.is_empty(),
        "{backend:?}: the read models differ from a rebuild:\n{}",
        differences.join("\n")
    );
    assert!(
        duplicates.is_empty(),
        "{backend:?}: done twice: {duplicates:#?}"
    );
    assert!(
        problems.is_empty(),
        "{backend:?}: effects not as expected: {problems:#?}"
    );
    assert!(
        meta.taken.len() >= 5 && meta.refused + meta.slow > 0 && mp.refused + mp.slow > 0,
        "{backend:?}: the providers' faults were not exercised"
    );

    drop(store);
    if backend == Backend::Postgres {
        drop_database(&url).await;
    }
}

/// What the event streams say, not the read models: every hold under its code (code → id),
/// those with a payment link recorded, and any two active stays of a cabin sharing a night.
struct HoldLog {
    in_log: HashMap<String, String>,
    linked: HashSet<String>,
    overlaps: Vec<String>,
}

impl HoldLog {
    async fn read(store: &Arc<dyn EventStore>, cabins: &[String]) -> HoldLog {
        let handler = CommandHandler::<domain::Accommodation>::new(store.clone());
        let mut log = HoldLog {
            in_log: HashMap::new(),
            linked: HashSet::new(),
            overlaps: Vec::new(),
        };
        for cabin in cabins {
            let id: domain::AccommodationId = cabin.parse().unwrap();
            let (_, acc) = handler.current(&id.stream_id()).await.unwrap();
            for r in acc.reservations() {
                log.in_log.insert(r.code.to_string(), r.id.to_string());
                if r.payment_url.is_some() {
                    log.linked.insert(r.id.to_string());
                }
            }
            let stays: Vec<_> = acc.active_stays().collect();
            for (i, (a, who_a)) in stays.iter().enumerate() {
                for (b, who_b) in &stays[i + 1..] {
                    if a.overlaps(b) {
                        log.overlaps
                            .push(format!("{cabin}: {who_a:?} {a:?} and {who_b:?} {b:?}"));
                    }
                }
            }
        }
        log
    }
}

/// Each side effect once: per hold one Mercado Pago idempotency key (its retries reuse it) and
/// one link recorded; per reply one message Meta took; each WhatsApp guest told once.
async fn effects(
    db: &Db,
    fakes: &Fakes,
    history: &[eventstore::history::Line],
    hold_log: &HoldLog,
    acked: &[Acked],
) -> Effects {
    let HoldLog { in_log, linked, .. } = hold_log;
    let mut duplicates = Vec::new();
    let mut problems = Vec::new();
    let mut events_of: BTreeMap<(String, String), usize> = BTreeMap::new();
    for line in history {
        if let Some(r) = line.payload["reservation_id"].as_str()
            && matches!(
                line.event_type.as_str(),
                "HoldPlaced" | "PaymentLinkCreated"
            )
        {
            *events_of
                .entry((line.event_type.clone(), r.to_owned()))
                .or_default() += 1;
        }
    }
    for ((event_type, r), n) in &events_of {
        if *n > 1 {
            duplicates.push(format!("{event_type} ×{n} for {r}"));
        }
    }
    let mp = fakes.mp.snapshot();
    let mut keys: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (reference, key) in &mp.calls {
        keys.entry(reference).or_default().insert(key);
    }
    for (reference, keys) in &keys {
        if keys.len() > 1 {
            duplicates.push(format!(
                "{} Mercado Pago keys for {reference}: {keys:?}",
                keys.len()
            ));
        }
        if !in_log.values().any(|r| r == reference) {
            problems.push(format!(
                "a payment link for {reference}, not a hold in the log"
            ));
        }
    }
    for r in in_log.values() {
        if keys.get(r.as_str()).is_none_or(|k| k.is_empty()) {
            problems.push(format!("no Mercado Pago call for the hold {r}"));
        }
        if !linked.contains(r) {
            problems.push(format!("no payment link recorded for the hold {r}"));
        }
    }
    let meta = fakes.meta.snapshot();
    let mut per_reply: HashMap<&str, usize> = HashMap::new();
    for m in &meta.taken {
        *per_reply.entry(m.tracker.as_str()).or_default() += 1;
    }
    for (tracker, n) in &per_reply {
        if *n > 1 {
            duplicates.push(format!("Meta took the reply {tracker} {n} times"));
        }
    }
    if meta.untracked > 0 {
        problems.push(format!("{} messages without our reply id", meta.untracked));
    }
    let outbox = pairs(db, "SELECT id, status FROM wa_outbox").await;
    for (id, status) in &outbox {
        if status != "sent" || !per_reply.contains_key(id.as_str()) {
            problems.push(format!(
                "reply {id}: {status}, taken by Meta {} times",
                per_reply.get(id.as_str()).copied().unwrap_or(0)
            ));
        }
    }
    let queued: HashSet<&str> = outbox.iter().map(|(id, _)| id.as_str()).collect();
    for tracker in per_reply.keys() {
        if !queued.contains(tracker) {
            problems.push(format!("Meta took {tracker}, which is not in the outbox"));
        }
    }
    let told = acked.iter().filter(|a| a.whatsapp).count();
    for a in acked.iter().filter(|a| a.whatsapp) {
        let n = meta
            .taken
            .iter()
            .filter(|m| m.body.contains(&a.code))
            .count();
        if n != 1 {
            problems.push(format!(
                "the guest of {} was told {n} times on WhatsApp",
                a.code
            ));
        }
    }

    Effects {
        linked_holds: keys.len(),
        keys: keys.values().map(HashSet::len).sum(),
        replies: outbox.len(),
        duplicates,
        problems,
        told,
    }
}

/// What `effects` found, and the counts the figures print.
struct Effects {
    duplicates: Vec<String>,
    problems: Vec<String>,
    /// Guests who asked to hear on WhatsApp.
    told: usize,
    /// Holds Mercado Pago was asked a link for, and under how many keys in all.
    linked_holds: usize,
    keys: usize,
    /// Replies queued in the outbox.
    replies: usize,
}

/// The read models rebuilt from `history` in a fresh SQLite store (with the guest keys, which
/// live beside the log and unseal the guests' profiles), every projection from zero.
async fn rebuild(
    dir: &Path,
    live: &Db,
    history: &[eventstore::history::Line],
) -> replay_tests::Snapshot {
    let url = format!("sqlite://{}/rebuilt.db", dir.display());
    let store: Arc<dyn EventStore> = eventstore::connect(&url).await.unwrap();
    eventstore::history::load(&store, history).await.unwrap();
    let keys: Vec<(String, String, i64)> = match live {
        Db::Postgres(pool) => {
            sqlx::query_as("SELECT guest_id, key_hex, created_at_ms FROM guest_keys")
                .fetch_all(pool)
                .await
                .unwrap()
        }
        Db::Sqlite(pool) => {
            sqlx::query_as("SELECT guest_id, key_hex, created_at_ms FROM guest_keys")
                .fetch_all(pool)
                .await
                .unwrap()
        }
    };
    let Db::Sqlite(pool) = store.db() else {
        unreachable!("a sqlite:// store")
    };
    for (guest, key, at) in keys {
        sqlx::query(
            "INSERT INTO guest_keys (guest_id, key_hex, created_at_ms) VALUES ($1, $2, $3)",
        )
        .bind(guest)
        .bind(key)
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();
    }
    let runner = projections::Runner::new(store.clone(), projections::all());
    runner.ensure_schema().await.unwrap();
    runner.catch_up().await.unwrap();
    replay_tests::snapshot(&store.db()).await.unwrap()
}

/// Drops a database `fresh_postgres_url` made.
async fn drop_database(url: &str) {
    let name = url.rsplit('/').next().unwrap_or_default().to_owned();
    if let Ok(admin) = sqlx::PgPool::connect(&eventstore::testing::pg_admin_url()).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&admin)
        .await;
    }
}

// -------------------------------------------------------------------------------------------
// A PostgreSQL outage
// -------------------------------------------------------------------------------------------

/// A PostgreSQL cluster of the test's own (initdb + pg_ctl in a temp dir, on a free port),
/// stopped and removed when dropped. As root the tools run as `postgres` (initdb refuses root).
struct PgCluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PgCluster {
    fn start() -> PgCluster {
        let bin = postgres_bin();
        let dir = std::env::temp_dir().join(format!("cabanas-chaos-pg-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let as_postgres = is_root();
        let cluster = PgCluster {
            bin,
            dir,
            port: free_port(),
            as_postgres,
        };
        if as_postgres {
            let owned = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&cluster.dir)
                .status()
                .unwrap();
            assert!(owned.success(), "chown postgres {}", cluster.dir.display());
        }
        cluster.run(&format!(
            "{}/initdb -D {}/data -U postgres --auth=trust -N",
            cluster.bin.display(),
            cluster.dir.display()
        ));
        cluster.pg_ctl_start();
        cluster
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Runs a shell command line, as `postgres` when we are root; fails the test if it fails.
    fn run(&self, line: &str) {
        let out = self.shell(line).output().unwrap();
        assert!(
            out.status.success(),
            "`{line}` failed:\n{}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            tail(&self.dir.join("log"), 20)
        );
    }

    fn shell(&self, line: &str) -> Command {
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("su");
            c.args(["postgres", "-c", line]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", line]);
            c
        };
        cmd.stdin(Stdio::null());
        cmd
    }

    fn pg_ctl_start(&self) {
        let d = self.dir.display();
        self.run(&format!(
            "{}/pg_ctl -D {d}/data -o '-p {} -k {d} -c listen_addresses=127.0.0.1 -c fsync=off' \
             -l {d}/log -w -t 60 start",
            self.bin.display(),
            self.port
        ));
    }

    /// Stops at once, as a crash would: no checkpoint, connections cut.
    fn stop_immediate(&self) {
        self.run(&format!(
            "{}/pg_ctl -D {}/data -m immediate -w stop",
            self.bin.display(),
            self.dir.display()
        ));
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .shell(&format!(
                "{}/pg_ctl -D {}/data -m immediate -w stop",
                self.bin.display(),
                self.dir.display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if std::thread::panicking() {
            eprintln!(
                "the throwaway PostgreSQL's log:\n{}",
                tail(&self.dir.join("log"), 30)
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The newest PostgreSQL's binaries (Debian's layout), or wherever `pg_ctl` is on the PATH.
fn postgres_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("pg_ctl").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return bin;
    }
    let out = Command::new("sh")
        .args(["-c", "command -v pg_ctl"])
        .output()
        .unwrap();
    let pg_ctl = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        pg_ctl.is_file(),
        "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: this test starts a \
         cluster of its own (apt-get install postgresql; scripts/test does it as root)"
    );
    pg_ctl.parent().unwrap().to_path_buf()
}

/// One request as a client saw it.
#[derive(Clone, Debug)]
struct Sample {
    what: &'static str,
    started: Instant,
    took: Duration,
    /// `None`: no HTTP answer within the client's 5 s.
    status: Option<u16>,
    problem: bool,
}

#[derive(Default)]
struct Observed {
    samples: Vec<Sample>,
    /// Acknowledged holds: their codes and when the 201 came.
    acked: Vec<(String, Instant)>,
}

async fn observe(what: &'static str, req: reqwest::RequestBuilder) -> (Sample, Value) {
    let started = Instant::now();
    let (status, problem, body) = match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let problem = r
                .headers()
                .get("content-type")
                .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
            (
                Some(status),
                problem,
                r.json::<Value>().await.unwrap_or_default(),
            )
        }
        Err(_) => (None, false, Value::Null),
    };
    (
        Sample {
            what,
            started,
            took: started.elapsed(),
            status,
            problem,
        },
        body,
    )
}

/// Holds on `cabin`, night after night, until `stop`.
async fn outage_writer(
    base: String,
    cabin: String,
    w: usize,
    stop: Arc<AtomicBool>,
    first_ack_after: Arc<Mutex<Vec<Instant>>>,
) -> Observed {
    let http = client(Duration::from_secs(5));
    let mut seen = Observed::default();
    let mut night = 20;
    while !stop.load(Ordering::Relaxed) {
        let body = json!({
            "accommodation_id": cabin, "check_in": day(night), "check_out": day(night + 1),
            "guests": 2, "guest": {"name": "Ana Pérez", "phone": format!("+54 9 11 6{w:03}-{night:04}")}
        });
        let req = http.post(format!("{base}/v1/reservations")).json(&body);
        let (sample, answer) = observe("hold", req).await;
        if sample.status == Some(201) {
            let at = sample.started + sample.took;
            seen.acked
                .push((answer["code"].as_str().unwrap_or_default().to_owned(), at));
            first_ack_after.lock().unwrap().push(at);
            night += 1;
        } else if sample.status == Some(409) {
            night += 1;
        }
        seen.samples.push(sample);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

/// Availability reads (or readiness probes) until `stop`.
async fn outage_reader(base: String, what: &'static str, stop: Arc<AtomicBool>) -> Observed {
    let http = client(Duration::from_secs(5));
    let mut seen = Observed::default();
    while !stop.load(Ordering::Relaxed) {
        let url = match what {
            "readyz" => format!("{base}/readyz"),
            _ => format!(
                "{base}/v1/availability?check_in={}&check_out={}&guests=2",
                day(40),
                day(42)
            ),
        };
        let (sample, _) = observe(what, http.get(url)).await;
        seen.samples.push(sample);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    seen
}

async fn outage() {
    let t0 = Instant::now();
    let scratch = Scratch::new("outage");
    let cluster = PgCluster::start();
    let env: Vec<(String, String)> = [
        ("CABANAS_DATABASE_URL", cluster.url()),
        ("CABANAS_JWT_SECRET", JWT_SECRET.into()),
        ("CABANAS_RATE_LIMIT_PER_MINUTE", "1000000".into()),
        ("CABANAS_LOG", "info".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let (mut server, _) = start_ready(&scratch.0, &env, free_port()).await;
    let base = server.base();
    let (admin, _) = tokens();
    let http = client(Duration::from_secs(10));
    let mut cabins = Vec::new();
    for n in 0..3 {
        let r = http
            .post(format!("{base}/v1/admin/accommodations"))
            .bearer_auth(&admin)
            .json(
                &json!({"name": format!("Cabaña {n}"), "capacity": 4, "min_nights": 1,
                          "pricing": {"nightly_base": 30000, "cleaning_fee": 5000}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let body: Value = r.json().await.unwrap();
        cabins.push(body["id"].as_str().unwrap().to_owned());
    }

    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for (w, cabin) in cabins.iter().enumerate() {
        tasks.push(tokio::spawn(outage_writer(
            base.clone(),
            cabin.clone(),
            w,
            stop.clone(),
            acks.clone(),
        )));
    }
    for what in ["availability", "availability", "readyz"] {
        tasks.push(tokio::spawn(outage_reader(
            base.clone(),
            what,
            stop.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;

    let stopped = Instant::now();
    cluster.stop_immediate();
    tokio::time::sleep(Duration::from_secs(5)).await;
    cluster.pg_ctl_start();
    let restarted = Instant::now();
    let until = restarted + Duration::from_secs(60);
    let recovered = loop {
        let first = acks
            .lock()
            .unwrap()
            .iter()
            .copied()
            .filter(|at| *at >= restarted)
            .min();
        if let Some(at) = first {
            break Some(at - restarted);
        }
        if Instant::now() > until {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let mut samples = Vec::new();
    let mut acked = Vec::new();
    for t in tasks {
        let seen = t.await.unwrap();
        samples.extend(seen.samples);
        acked.extend(seen.acked);
    }

    // Requests that overlapped the outage, from the stop to the restart.
    let during: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.started + s.took >= stopped && s.started <= restarted)
        .collect();
    let (probes, requests): (Vec<&Sample>, Vec<&Sample>) =
        during.iter().partition(|s| s.what == "readyz");
    let unanswered: Vec<&&Sample> = requests
        .iter()
        .filter(|s| s.status.is_none() || s.took >= Duration::from_secs(2))
        .collect();
    let bare_errors: Vec<&&Sample> = requests
        .iter()
        .filter(|s| s.status.is_some_and(|st| st >= 500) && !s.problem)
        .collect();
    let longest = requests.iter().map(|s| s.took).max().unwrap_or_default();
    let longest_probe = probes.iter().map(|s| s.took).max().unwrap_or_default();
    // Health is measured every second (each ping bounded to 0.8 s): by 2.5 s after the stop
    // every probe must say so.
    let settled_probes: Vec<&&Sample> = probes
        .iter()
        .filter(|s| s.started >= stopped + Duration::from_millis(2500))
        .collect();
    let said_ready = settled_probes
        .iter()
        .filter(|s| s.status == Some(200))
        .count();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    for s in &requests {
        let key = format!(
            "{} {}",
            s.what,
            s.status.map_or("no answer".into(), |st| st.to_string())
        );
        *statuses.entry(key).or_default() += 1;
    }

    // Every acknowledged hold is found.
    let mut missing = Vec::new();
    for (code, _) in &acked {
        let r = http
            .get(format!("{base}/v1/reservations/{code}"))
            .send()
            .await
            .unwrap();
        if r.status().as_u16() != 200 {
            missing.push(format!("{code} ({})", r.status()));
        }
    }
    server.stop();

    println!(
        "chaos outage: PostgreSQL stopped (-m immediate) for {:.1} s under load; {} requests \
         overlapped it ({statuses:?}); longest answer {} ms, {} unanswered or over 2 s; /readyz \
         answered {} probes, longest {} ms, {} of {} probes from 2.5 s after the stop said \
         ready",
        (restarted - stopped).as_secs_f64(),
        requests.len(),
        longest.as_millis(),
        unanswered.len(),
        probes.len(),
        longest_probe.as_millis(),
        said_ready,
        settled_probes.len(),
    );
    println!(
        "chaos outage: recovered by itself {} after the database's restart (to the first 201); \
         holds acknowledged {}, found {}; run {:.0} s",
        recovered.map_or("NEVER".into(), |d| format!("{} ms", d.as_millis())),
        acked.len(),
        acked.len() - missing.len(),
        t0.elapsed().as_secs_f64(),
    );

    assert!(requests.len() >= 10, "too few requests during the outage");
    assert!(
        unanswered.is_empty(),
        "requests unanswered or slower than 2 s during the outage: {unanswered:#?}"
    );
    assert!(
        bare_errors.is_empty(),
        "errors without a problem body: {bare_errors:#?}"
    );
    assert!(
        probes
            .iter()
            .all(|p| p.status.is_some() && p.took < Duration::from_secs(1)),
        "/readyz was slower than 1 s during the outage: {probes:#?}"
    );
    assert!(
        !settled_probes.is_empty() && said_ready == 0,
        "/readyz said ready while the database was down: {settled_probes:#?}"
    );
    assert!(
        recovered.is_some(),
        "no hold was acknowledged within a minute of the database's restart"
    );
    assert!(missing.is_empty(), "acknowledged holds lost: {missing:?}");
    drop(cluster);
}
