//! The deployment's topology run for real, without containers: three `cabanas serve` processes
//! (the binary cargo built) on one fresh PostgreSQL database and one Redis namespace, behind
//! nginx (Debian's package) running the repository's own `deploy/nginx/cabanas.conf.template`,
//! with wiremock standing in for Meta's Cloud API, Mercado Pago and an Airbnb calendar. Every
//! request goes through nginx:
//!
//! - holds for the same nights, spread over the three instances: exactly one wins, the rest 409;
//! - holds that expire, their reminders, the owner's morning agenda, the day-before message,
//!   payment links, a refund and WhatsApp replies each happen exactly once with three instances
//!   running (events in the log, rows in `wa_outbox`, what the fake Meta and Mercado Pago
//!   received), and still once after several more passes; every periodic pass is leased (one
//!   holder per lease in `pg_locks`, taken over when its holder dies) or claimed (a calendar
//!   feed is fetched once per interval, not once per instance);
//! - under load, one instance is killed with SIGKILL and another restarted with SIGTERM: every
//!   hold acknowledged with a 201 is found afterwards, nothing is sent twice, nginx keeps
//!   answering and routes around the dead instance (how long that took is printed);
//! - webhook deliveries through nginx keep their signatures valid: a signed WhatsApp delivery
//!   and a signed Mercado Pago notification are accepted, the same with one byte or the
//!   signature changed are not.
//!
//! Holds last `CABANAS_HOLD_MINUTES=1`, the least there is, so the run takes about two minutes.
//! The owner's agenda (from 08:00) and the day-before message (from 10:00) follow the owner's
//! clock, which is the first cabin's: that cabin is registered with a UTC offset that puts its
//! clock near noon (an `AccommodationRegistered` event appended directly, as for a cabin in
//! another time zone; the API registers cabins in Argentina's), so they are due whatever the
//! real time of day.
//!
//! The figures are printed (`-- --nocapture`). nginx and openssl must be installed (scripts/test
//! installs them when run as root); the logs of nginx and of every instance are kept in the
//! directory the test names when it fails.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use api::auth::{Keys, Role};
use chrono::{NaiveDate, NaiveTime, Timelike, Utc};
use domain::accommodation::{AccommodationRegistered, local_today};
use domain::{AccommodationEvent, AccommodationId, DomainEvent, Money, Pricing};
use eventstore::{ExpectedVersion, Metadata, NewEvent};
use hmac::{Hmac, KeyInit, Mac};
use integrations::mercadopago::webhook;
use serde_json::{Value, json};
use sqlx::PgPool;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const JWT_SECRET: &str = "cluster-test-secret-cluster-test-secret";
const META_SECRET: &str = "cluster-meta-app-secret";
const MP_SECRET: &str = "cluster-mp-webhook-secret";
const PHONE_NUMBER_ID: &str = "123";
const OWNER: &str = "5491144440000";
const ARGENTINA: i32 = domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES;
/// nginx's `fail_timeout`: how long an instance that failed is left out before one probe.
const FAIL_TIMEOUT_SECS: u64 = 3;
const ICAL_INTERVAL_SECS: u64 = 10;
/// Concurrent guests placing holds during the kills (each waits for its answer).
const LOAD_CLIENTS: usize = 4;
/// The whole run's bound: over it, the test fails (and every process is stopped).
const BOUND: Duration = Duration::from_secs(170);
/// Every lease the service takes: (kind, names).
const WORKER_LEASES: [&str; 3] = ["conversation", "outbox", "scheduler"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_behind_nginx_do_everything_once_through_kills_and_restarts() {
    let nginx = which_nginx();
    let run = tokio::time::timeout(BOUND, run(nginx)).await;
    assert!(
        run.is_ok(),
        "the cluster run took longer than {BOUND:?}: stopped"
    );
}

/// Fails the test with what to do when nginx or openssl is missing.
fn which_nginx() -> PathBuf {
    for tool in ["nginx", "openssl"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "{tool} is not installed: this test runs Debian's nginx in front of three instances \
             (and checks the TLS variant with a certificate openssl makes). Install them with \
             `apt-get install -y nginx openssl` (scripts/test does it when run as root)"
        );
    }
    let out = Command::new("sh")
        .args(["-c", "command -v nginx"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

async fn run(nginx: PathBuf) {
    let t0 = Instant::now();
    let fakes = Fakes::start().await;
    let mut cluster = Cluster::start(nginx, &fakes).await;
    check_tls_variant(&cluster);
    println!(
        "cluster: instances {} behind nginx on :{} (database {}), up in {:.1} s; the owner's \
         clock at {} (UTC{})",
        cluster
            .instances
            .iter()
            .map(|i| format!("{} :{}", i.name, i.port))
            .collect::<Vec<_>>()
            .join(", "),
        cluster.nginx_port,
        cluster.db_name,
        t0.elapsed().as_secs_f64(),
        cluster.owner_now().format("%H:%M"),
        chrono::FixedOffset::east_opt(cluster.owner_offset * 60).unwrap(),
    );
    // Each worker tries for its lease at its first pass, a moment after the instance is ready.
    let (_, leases) = cluster.leases_taken_over("none").await;
    assert_each_lease_held_once(&leases, "after start-up");

    let cabins = cluster.register_cabins().await;
    let feed_added = Instant::now();
    let feed = cluster
        .post(
            &format!("/v1/admin/accommodations/{}/feeds", cabins.alerce),
            true,
            json!({"source": "airbnb", "url": format!("{}/calendar/alerce.ics", fakes.ical.uri())}),
        )
        .await;
    assert_eq!(feed.0, 201, "{:?}", feed.1);

    // Meta's side: each message we send is reported back as sent (a status update naming our
    // reply id), through nginx, as Meta does; the outbox relies on it after a sender dies.
    let echo_stop = Arc::new(AtomicBool::new(false));
    let echo = tokio::spawn(echo_statuses(
        cluster.http.clone(),
        cluster.base.clone(),
        fakes.meta.clone(),
        echo_stop.clone(),
    ));

    let signatures = webhook_signatures(&cluster).await;
    proxy_refusals_are_problems(&cluster).await;
    let scenario = scenario(&cluster, &fakes, &cabins).await;
    let race = race(&cluster, &cabins).await;
    println!(
        "webhooks through nginx: a signed WhatsApp delivery {}, the same with one byte changed \
         {}; a signed Mercado Pago notification {:?} (three deliveries, stored once), signed \
         with another secret {}",
        signatures.0, signatures.1, scenario.notified, signatures.2
    );
    assert_eq!(signatures, (200, 401, 401));
    assert_eq!(scenario.notified, [200, 200, 200]);
    println!(
        "race: {} holds for the same nights through instances {:?}: {} won, {} refused (409)",
        race.sent, race.upstreams, race.won, race.refused
    );
    assert_eq!((race.won, race.refused), (1, race.sent - 1));
    assert_eq!(race.upstreams.len(), 3, "spread over the three instances");

    let load = load_with_kills(&mut cluster, &cabins).await;

    // Everything due is done: holds past their expiry expired, every queue drained (a row a
    // killed instance had claimed is taken again when its claim runs out, a minute later).
    let last_hold = load.last_ack.max(scenario.expiring_placed);
    let settled = cluster.settle(last_hold + Duration::from_secs(62)).await;
    let first = cluster.effects(&fakes, &scenario, &load).await;
    // Several more passes on every instance still running change nothing.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let again = cluster.effects(&fakes, &scenario, &load).await;
    echo_stop.store(true, Ordering::Relaxed);
    let echoed = echo.await.unwrap();

    let found = cluster.found(&load.acked).await;
    let fetches = fakes.ical.received_requests().await.unwrap().len();
    let feed_secs = feed_added.elapsed().as_secs_f64();
    let leases_end = cluster.lease_holders().await;

    println!(
        "acknowledged holds: {} (201), found afterwards: {}; not acknowledged (no 2xx after \
         retrying with the same Idempotency-Key): {}, of which recorded all the same: {}",
        load.acked.len(),
        found,
        load.unacked.len(),
        cluster.recorded(&load.unacked).await
    );
    println!(
        "effects once each: {} holds expired, {} reminders, {} payment links, {} refund, {} \
         morning agenda, {} day-before message, {} conversation replies; Meta received {} \
         messages ({} status updates echoed through nginx), Mercado Pago {} link and {} refund \
         requests; duplicates: {} (after 5 s more of passes: {})",
        first.expired,
        first.reminders,
        first.links,
        first.refunds,
        first.agenda,
        first.arrivals,
        first.replies,
        first.meta_messages,
        echoed,
        first.mp_preferences,
        first.mp_refunds,
        first.duplicates.len(),
        again.duplicates.len(),
    );
    println!(
        "calendar feed: fetched {fetches} times in {feed_secs:.0} s at a {ICAL_INTERVAL_SECS} s \
         interval by three instances (claimed: one fetch per interval); queues settled {:.1} s \
         after the last hold was due",
        settled.as_secs_f64()
    );
    println!(
        "leases at the end: {}",
        leases_end
            .iter()
            .map(|(lease, holders)| format!("{lease} {}", holders.join("+")))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // What the run must show.
    assert_eq!(found, load.acked.len(), "an acknowledged hold was lost");
    assert!(
        load.acked.len() >= 40,
        "too few holds were placed to say anything"
    );
    assert!(
        first.duplicates.is_empty() && again.duplicates.is_empty(),
        "sent or recorded twice: {:?} {:?}",
        first.duplicates,
        again.duplicates
    );
    assert!(
        first.problems.is_empty(),
        "effects not as expected: {:#?}",
        first.problems
    );
    assert_eq!(
        first.counts(),
        again.counts(),
        "more passes changed the effects"
    );
    assert!(
        fetches >= 2 && fetches as f64 <= feed_secs / (ICAL_INTERVAL_SECS as f64 * 0.9) + 2.0,
        "the calendar feed was fetched {fetches} times in {feed_secs:.0} s"
    );
    assert_each_lease_held_once(&leases_end, "at the end");
    cluster.stop_and_drop_database().await;
    println!("cluster run: {:.0} s", t0.elapsed().as_secs_f64());
}

// -------------------------------------------------------------------------------------------
// Processes
// -------------------------------------------------------------------------------------------

/// A child process, stopped when dropped (whatever way the test ends).
struct Proc {
    child: Option<Child>,
    /// nginx's master is asked to stop first (a killed master leaves its workers serving).
    graceful: bool,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if self.graceful && matches!(child.try_wait(), Ok(None)) {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            for _ in 0..100 {
                if !matches!(child.try_wait(), Ok(None)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Instance {
    name: &'static str,
    port: u16,
    proc: Proc,
}

struct Cluster {
    dir: PathBuf,
    db_url: String,
    db_name: String,
    env: Vec<(String, String)>,
    instances: Vec<Instance>,
    nginx: Proc,
    nginx_port: u16,
    base: String,
    http: reqwest::Client,
    admin: String,
    pg: PgPool,
    /// The first cabin's offset from UTC, in minutes: the owner's clock.
    owner_offset: i32,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.nginx.stop();
        for i in &mut self.instances {
            i.proc.stop();
        }
        if std::thread::panicking() {
            eprintln!(
                "cluster test failed: the logs of nginx and of each instance are in {}",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A port nothing listens on now.
fn free_port(taken: &[u16]) -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !taken.contains(&port) {
            return port;
        }
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

impl Cluster {
    async fn start(nginx_bin: PathBuf, fakes: &Fakes) -> Cluster {
        let dir = std::env::temp_dir().join(format!("cabanas-cluster-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("nginx-tmp")).unwrap();
        let db_url = eventstore::testing::fresh_postgres_url()
            .await
            .expect("PostgreSQL must be running (scripts/test starts it)");
        let db_name = db_url.rsplit('/').next().unwrap_or_default().to_owned();
        let redis = std::env::var("CABANAS_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());

        let mut ports = Vec::new();
        for _ in 0..4 {
            ports.push(free_port(&ports));
        }
        let nginx_port = ports[3];
        let base = format!("http://127.0.0.1:{nginx_port}");
        // What every instance is started with: the same database, Redis and prefix, providers,
        // secrets; nothing else from this process's environment.
        let env: Vec<(String, String)> = [
            ("CABANAS_REDIS_URL", redis),
            (
                "CABANAS_REDIS_PREFIX",
                format!("cabanas-cluster-{}", uuid::Uuid::new_v4().simple()),
            ),
            ("CABANAS_JWT_SECRET", JWT_SECRET.into()),
            ("CABANAS_HOLD_MINUTES", "1".into()),
            ("CABANAS_EXPIRY_INTERVAL_SECS", "1".into()),
            ("CABANAS_ICAL_INTERVAL_SECS", ICAL_INTERVAL_SECS.to_string()),
            ("CABANAS_RATE_LIMIT_PER_MINUTE", "1000000".into()),
            ("CABANAS_TRUST_FORWARDED", "true".into()),
            ("CABANAS_PUBLIC_URL", base.clone()),
            ("CABANAS_OWNER_WHATSAPP", OWNER.into()),
            ("CABANAS_WHATSAPP_APP_SECRET", META_SECRET.into()),
            ("CABANAS_WHATSAPP_VERIFY_TOKEN", "verify-me".into()),
            ("CABANAS_WHATSAPP_TOKEN", "meta-token".into()),
            ("CABANAS_WHATSAPP_PHONE_NUMBER_ID", PHONE_NUMBER_ID.into()),
            ("CABANAS_WHATSAPP_API_BASE", fakes.meta_server.uri()),
            ("CABANAS_MP_ACCESS_TOKEN", "TEST-token".into()),
            ("CABANAS_MP_WEBHOOK_SECRET", MP_SECRET.into()),
            ("CABANAS_MP_API_BASE", fakes.mp_server.uri()),
            ("CABANAS_MP_TIMEOUT_SECS", "2".into()),
            ("CABANAS_LOG", "info".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let pg = sqlx::postgres::PgPoolOptions::new()
            .max_connections(3)
            .connect(&db_url)
            .await
            .unwrap();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        let admin = Keys::new(JWT_SECRET)
            .mint("owner", Role::Admin, chrono::Duration::hours(1))
            .unwrap();
        // Noon on the owner's clock, give or take the run.
        let minute = Utc::now().hour() as i32 * 60 + Utc::now().minute() as i32;
        let mut owner_offset = (12 * 60 - minute).rem_euclid(24 * 60);
        if owner_offset > 12 * 60 {
            owner_offset -= 24 * 60;
        }
        let mut cluster = Cluster {
            dir,
            db_url,
            db_name,
            env,
            instances: Vec::new(),
            nginx: Proc {
                child: None,
                graceful: true,
            },
            nginx_port,
            base,
            http,
            admin,
            pg,
            owner_offset,
        };
        // The first applies the migrations; the others start together once it is up.
        for (n, name) in ["a", "b", "c"].into_iter().enumerate() {
            let proc = cluster.spawn(name, ports[n]);
            cluster.instances.push(Instance {
                name,
                port: ports[n],
                proc,
            });
            if n == 0 {
                cluster.wait_ready(0).await;
            }
        }
        cluster.wait_ready(1).await;
        cluster.wait_ready(2).await;
        cluster.start_nginx(&nginx_bin, &ports[..3]).await;
        cluster
    }

    fn spawn(&self, name: &str, port: u16) -> Proc {
        let dir = self.dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        // Appended: a restarted instance goes on in the same log.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("{name}.log")))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_cabanas"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("CABANAS_BIND", format!("127.0.0.1:{port}"))
            // Named, so pg_locks tells which instance holds which lease.
            .env(
                "CABANAS_DATABASE_URL",
                format!("{}?application_name=cabanas-{name}", self.db_url),
            )
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Proc {
            child: Some(child),
            graceful: false,
        }
    }

    fn log_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.log"))
    }

    /// Waits until instance `n` answers `/readyz` with 200 (straight, not through nginx).
    async fn wait_ready(&mut self, n: usize) -> Duration {
        let started = Instant::now();
        let Instance { name, port, .. } = self.instances[n];
        let url = format!("http://127.0.0.1:{port}/readyz");
        while started.elapsed() < Duration::from_secs(60) {
            if let Some(status) = self.instances[n].proc.exited() {
                panic!(
                    "instance {name} exited ({status}) while starting:\n{}",
                    tail(&self.log_of(name), 30)
                );
            }
            if let Ok(r) = self.http.get(&url).send().await
                && r.status().as_u16() == 200
            {
                return started.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "instance {name} not ready after a minute:\n{}",
            tail(&self.log_of(name), 30)
        );
    }

    async fn start_nginx(&mut self, nginx: &Path, upstreams: &[u16]) {
        let dir = &self.dir;
        let servers: String = upstreams
            .iter()
            .map(|p| {
                format!("server 127.0.0.1:{p} max_fails=1 fail_timeout={FAIL_TIMEOUT_SECS}s; ")
            })
            .collect();
        let site = render(
            "cabanas.conf.template",
            &[
                (
                    "CABANAS_NGINX_LISTEN",
                    format!("127.0.0.1:{}", self.nginx_port),
                ),
                ("CABANAS_NGINX_SERVER_NAME", "localhost".into()),
                ("CABANAS_NGINX_UPSTREAM_SERVERS", servers),
                (
                    "CABANAS_NGINX_ACCESS_LOG",
                    dir.join("access.log").display().to_string(),
                ),
            ],
        );
        std::fs::write(dir.join("cabanas.conf"), site).unwrap();
        let conf = main_conf(dir, &[dir.join("cabanas.conf")]);
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let out = std::fs::File::create(dir.join("nginx.out")).unwrap();
        let child = Command::new(nginx)
            .arg("-p")
            .arg(format!("{}/", dir.display()))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("nginx-error.log"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        self.nginx.child = Some(child);
        for _ in 0..200 {
            if let Some(status) = self.nginx.exited() {
                panic!(
                    "nginx exited ({status}):\n{}\n{}",
                    tail(&dir.join("nginx.out"), 20),
                    tail(&dir.join("nginx-error.log"), 20)
                );
            }
            if let Ok(r) = self.http.get(format!("{}/healthz", self.base)).send().await
                && r.status().as_u16() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nginx did not answer /healthz");
    }

    /// Stops every process, then drops the test's own database.
    async fn stop_and_drop_database(&mut self) {
        self.nginx.stop();
        for i in &mut self.instances {
            i.proc.stop();
        }
        self.pg.close().await;
        let admin = eventstore::testing::pg_admin_url();
        if let Ok(admin) = PgPool::connect(&admin).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.db_name
            )))
            .execute(&admin)
            .await;
        }
    }

    fn owner_now(&self) -> chrono::NaiveDateTime {
        domain::accommodation::local_time(Utc::now(), self.owner_offset)
    }

    /// The owner's calendar day `n` days from today.
    fn owner_day(&self, n: u64) -> NaiveDate {
        local_today(Utc::now(), self.owner_offset) + chrono::Days::new(n)
    }

    // --- HTTP through nginx ---------------------------------------------------------------

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str, admin: bool) -> (u16, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if admin {
            req = req.bearer_auth(&self.admin);
        }
        self.send(req).await
    }

    async fn post(&self, path: &str, admin: bool, body: Value) -> (u16, Value) {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if admin {
            req = req.bearer_auth(&self.admin);
        }
        self.send(req).await
    }

    /// A web guest's hold, with an Idempotency-Key; `whatsapp`: they hear of it on WhatsApp.
    async fn hold(
        &self,
        cabin: &str,
        (check_in, check_out): (NaiveDate, NaiveDate),
        phone: &str,
        whatsapp: bool,
    ) -> (u16, Value) {
        self.send(
            self.http
                .post(format!("{}/v1/reservations", self.base))
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&hold_body(cabin, check_in, check_out, phone, whatsapp)),
        )
        .await
    }

    /// Polls `check` every 200 ms until it holds, or fails the test after `limit`.
    async fn eventually<F, Fut>(&self, what: &str, limit: Duration, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("timed out waiting for {what}");
    }

    async fn count(&self, sql: &'static str, args: &[&str]) -> i64 {
        let mut q = sqlx::query_scalar::<_, i64>(sql);
        for a in args {
            q = q.bind(*a);
        }
        q.fetch_one(&self.pg).await.unwrap()
    }

    /// Events of `event_type` about the reservation `id`.
    async fn events_of(&self, event_type: &str, id: &str) -> i64 {
        self.count(
            "SELECT count(*) FROM events WHERE event_type = $1 AND payload->>'reservation_id' = $2",
            &[event_type, id],
        )
        .await
    }

    // --- Leases -----------------------------------------------------------------------------

    /// Which instances (application names) hold each lease now, from pg_locks.
    async fn lease_holders(&self) -> BTreeMap<String, Vec<String>> {
        let mut leases: Vec<(&str, &str)> = WORKER_LEASES
            .iter()
            .map(|name| ("cabanas-worker", *name))
            .collect();
        let projections = projections::all();
        leases.extend(projections.iter().map(|p| ("cabanas-projection", p.name())));
        let mut out = BTreeMap::new();
        for (kind, name) in leases {
            let key = projections::lease::key(kind, name);
            let holders: Vec<String> = sqlx::query_scalar(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
                 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND l.classid::bigint = $1 AND l.objid::bigint = $2",
            )
            .bind(key >> 32)
            .bind(key & 0xffff_ffff)
            .fetch_all(&self.pg)
            .await
            .unwrap();
            out.insert(name.to_owned(), holders);
        }
        out
    }

    /// Polls until every lease has exactly one holder, none of them `gone` (an instance name,
    /// or "none"); returns how long it took and the holders.
    async fn leases_taken_over(&self, gone: &str) -> (Duration, BTreeMap<String, Vec<String>>) {
        let started = Instant::now();
        let gone = format!("cabanas-{gone}");
        loop {
            let leases = self.lease_holders().await;
            if leases.values().all(|h| h.len() == 1 && !h.contains(&gone)) {
                return (started.elapsed(), leases);
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "leases not taken over from {gone}: {leases:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Which instances logged taking the scheduler's lease, in the order of their logs' times.
    fn scheduler_takeovers(&self) -> Vec<(String, String)> {
        let mut taken = Vec::new();
        for i in &self.instances {
            let log = std::fs::read_to_string(self.log_of(i.name)).unwrap_or_default();
            for line in log.lines() {
                if line.contains("\"lease acquired\"") && line.contains("\"name\":\"scheduler\"") {
                    let at: Value = serde_json::from_str(line).unwrap_or_default();
                    let at = at["timestamp"].as_str().unwrap_or_default().to_owned();
                    taken.push((at, i.name.to_owned()));
                }
            }
        }
        taken.sort();
        taken
    }

    // --- Set-up -----------------------------------------------------------------------------

    /// "Cabaña Alerce" (first by name: its clock is the owner's) at the owner's offset, appended
    /// as its registration event; three more through the API (Argentina's clock) for the load.
    async fn register_cabins(&self) -> Cabins {
        let alerce = AccommodationId::new();
        let pricing = Pricing::simple(
            Money::new(rust_decimal::Decimal::from(40_000)),
            Money::new(rust_decimal::Decimal::from(8_000)),
        );
        pricing.validate().unwrap();
        let registered = AccommodationEvent::Registered(AccommodationRegistered {
            accommodation_id: alerce,
            name: "Cabaña Alerce".into(),
            capacity: 6,
            pricing: pricing.clone(),
            min_nights: 1,
            check_in_time: NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
            check_out_time: NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
            utc_offset_minutes: self.owner_offset,
            registered_at: Utc::now(),
            directions: Some("Ruta 40 km 2032, tranquera verde.".into()),
        });
        let store = eventstore::connect(&self.db_url).await.unwrap();
        store
            .append(
                &alerce.stream_id(),
                ExpectedVersion::NoStream,
                &[NewEvent {
                    event_id: uuid::Uuid::now_v7(),
                    event_type: registered.event_type().into(),
                    schema_version: 1,
                    payload: registered.to_payload(),
                    metadata: Metadata {
                        actor: Some("owner".into()),
                        source: Some("admin".into()),
                        ..Metadata::default()
                    },
                }],
            )
            .await
            .unwrap();
        let mut load = Vec::new();
        for name in ["Cabaña Norte", "Cabaña Oeste", "Cabaña Sur"] {
            let (status, body) = self
                .post(
                    "/v1/admin/accommodations",
                    true,
                    json!({"name": name, "capacity": 4, "min_nights": 1,
                           "pricing": {"nightly_base": 30000, "cleaning_fee": 5000}}),
                )
                .await;
            assert_eq!(status, 201, "{body:?}");
            load.push(body["id"].as_str().unwrap().to_owned());
        }
        self.eventually(
            "the four cabins listed",
            Duration::from_secs(20),
            || async {
                let (_, listed) = self.get("/v1/accommodations", false).await;
                listed
                    .as_array()
                    .or(listed["accommodations"].as_array())
                    .is_some_and(|a| a.len() == 4)
            },
        )
        .await;
        drop(store);
        Cabins {
            alerce: alerce.to_string(),
            load,
        }
    }

    // --- Verification ----------------------------------------------------------------------

    /// Waits until no hold is overdue and every queue is drained (after `not_before`); returns
    /// how long after `not_before` that was.
    async fn settle(&self, not_before: Instant) -> Duration {
        if let Some(wait) = not_before.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        let started = Instant::now();
        loop {
            let now = Utc::now().timestamp_millis().to_string();
            let busy = self
                .count(
                    "SELECT (SELECT count(*) FROM wa_outbox WHERE status IN ('pending', 'sending')) \
                     + (SELECT count(*) FROM reactor_tasks WHERE status IN ('pending', 'working')) \
                     + (SELECT count(*) FROM mp_inbox WHERE status IN ('pending', 'working')) \
                     + (SELECT count(*) FROM wa_inbox WHERE processed_at_ms IS NULL) \
                     + (SELECT count(*) FROM rm_reservations WHERE status = 'held' \
                        AND expires_at_ms < $1::bigint - 3000)",
                    &[&now],
                )
                .await;
            if busy == 0 {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < Duration::from_secs(40),
                "{busy} rows still to do (queues, overdue holds) 40 s after everything was due"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// How many of these holds (cabin, first night) the log has, though nobody was told.
    async fn recorded(&self, holds: &[(String, NaiveDate)]) -> usize {
        let mut n = 0;
        for (cabin, night) in holds {
            let placed = self
                .count(
                    "SELECT count(*) FROM events WHERE event_type = 'HoldPlaced' \
                     AND stream_id LIKE '%' || $1 AND payload->>'check_in' = $2",
                    &[cabin, &night.to_string()],
                )
                .await;
            n += placed as usize;
        }
        n
    }

    /// Every hold acknowledged that the log and the API still know.
    async fn found(&self, acked: &[Acked]) -> usize {
        let mut found = 0;
        for a in acked {
            let placed = self
                .count(
                    "SELECT count(*) FROM events WHERE event_type = 'HoldPlaced' \
                     AND payload->>'code' = $1 AND payload->>'reservation_id' = $2",
                    &[&a.code, &a.reservation_id],
                )
                .await;
            let (status, _) = self
                .get(&format!("/v1/reservations/{}", a.code), false)
                .await;
            if placed == 1 && status == 200 {
                found += 1;
            }
        }
        found
    }

    /// What was done, counted in the log, the outbox and what the fakes received.
    async fn effects(&self, fakes: &Fakes, scenario: &Scenario, load: &Load) -> Effects {
        let mut e = Effects::default();
        let meta = fakes.meta.snapshot();
        let mut sent: HashMap<&str, usize> = HashMap::new();
        for m in &meta.messages {
            *sent.entry(m.tracker.as_str()).or_default() += 1;
        }
        e.meta_messages = meta.messages.len();
        for (tracker, n) in &sent {
            if *n > 1 {
                e.duplicates
                    .push(format!("Meta got reply {tracker} {n} times"));
            }
        }
        let mut reads: HashMap<&str, usize> = HashMap::new();
        for r in &meta.reads {
            *reads.entry(r.as_str()).or_default() += 1;
        }
        for (wamid, n) in reads {
            if n > 1 {
                e.duplicates.push(format!("{wamid} marked read {n} times"));
            }
        }
        if meta.untracked > 0 {
            e.problems
                .push(format!("{} messages without our reply id", meta.untracked));
        }
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT id, wa_id, status FROM wa_outbox")
                .fetch_all(&self.pg)
                .await
                .unwrap();
        let ids: HashSet<&str> = rows.iter().map(|(id, _, _)| id.as_str()).collect();
        for (id, _, status) in &rows {
            if status != "sent" || sent.get(id.as_str()) != Some(&1) {
                e.problems.push(format!(
                    "reply {id}: {status}, Meta got it {} times",
                    sent.get(id.as_str()).copied().unwrap_or(0)
                ));
            }
        }
        for tracker in sent.keys() {
            if !ids.contains(tracker) {
                e.problems
                    .push(format!("Meta got {tracker}, which is not in the outbox"));
            }
        }
        let mp = fakes.mp.snapshot();
        e.mp_preferences = mp.preferences.len();
        e.mp_refunds = mp.refunds.len();
        for (what, calls) in [("link", &mp.preferences), ("refund", &mp.refunds)] {
            let mut keys: HashMap<&str, HashSet<&str>> = HashMap::new();
            for (of, key) in calls {
                keys.entry(of.as_str()).or_default().insert(key.as_str());
            }
            for (of, keys) in keys {
                if keys.len() > 1 {
                    e.duplicates.push(format!(
                        "Mercado Pago: {} {what} requests for {of} under different keys",
                        keys.len()
                    ));
                }
            }
        }
        // The log: no reservation confirmed, linked, expired or refunded twice.
        let twice: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT event_type, payload->>'reservation_id', count(*) FROM events \
             WHERE event_type IN ('HoldExpired', 'ReservationConfirmed', 'RefundIssued', \
             'RefundDue', 'HoldPlaced') GROUP BY 1, 2 HAVING count(*) > 1",
        )
        .fetch_all(&self.pg)
        .await
        .unwrap();
        for (event_type, id, n) in twice {
            e.duplicates.push(format!("{event_type} ×{n} for {id}"));
        }
        let links: Vec<(String, i64)> = sqlx::query_as(
            "SELECT payload->>'reservation_id', count(*) FROM events \
             WHERE event_type = 'PaymentLinkCreated' GROUP BY 1 HAVING count(*) > 1",
        )
        .fetch_all(&self.pg)
        .await
        .unwrap();
        for (id, n) in links {
            e.duplicates
                .push(format!("{n} deposit links for the hold {id}"));
        }
        let failed = self
            .count(
                "SELECT (SELECT count(*) FROM reactor_tasks WHERE status = 'failed') \
                 + (SELECT count(*) FROM mp_inbox WHERE status = 'failed')",
                &[],
            )
            .await;
        if failed > 0 {
            e.problems
                .push(format!("{failed} payment tasks or notifications failed"));
        }

        // Exactly once, each of the scenario's effects.
        let mut expect = |what: String, got: i64| {
            if got != 1 {
                e.problems.push(format!("{what}: {got}, not once"));
            }
        };
        for h in &scenario.expiring {
            let id = h.reservation_id.as_str();
            expect(
                format!("{} expired", h.code),
                self.events_of("HoldExpired", id).await,
            );
            expect(
                format!("{} linked", h.code),
                self.events_of("PaymentLinkCreated", id).await,
            );
            expect(
                format!("{} reminded", h.code),
                self.count(
                    "SELECT count(*) FROM wa_outbox WHERE id LIKE 'reminder:' || $1 || ':%'",
                    &[id],
                )
                .await,
            );
            expect(
                format!("Mercado Pago links for {}", h.code),
                mp.preferences
                    .iter()
                    .filter(|(of, _)| of == id)
                    .map(|(_, key)| key)
                    .collect::<HashSet<_>>()
                    .len() as i64,
            );
        }
        let paid = scenario.refunded.reservation_id.as_str();
        expect(
            "confirmed by Mercado Pago".into(),
            self.events_of("ReservationConfirmed", paid).await,
        );
        expect("refund".into(), self.events_of("RefundIssued", paid).await);
        expect(
            "refund requests to Mercado Pago".into(),
            mp.refunds.len() as i64,
        );
        expect(
            "notifications stored".into(),
            self.count("SELECT count(*) FROM mp_inbox", &[]).await,
        );
        expect(
            "morning agenda".into(),
            self.count(
                "SELECT count(*) FROM wa_outbox WHERE id LIKE 'owner:agenda:%'",
                &[],
            )
            .await,
        );
        expect(
            "day-before message".into(),
            self.count(
                "SELECT count(*) FROM wa_outbox WHERE id LIKE 'arrival:' || $1 || ':%'",
                &[&scenario.arriving_tomorrow],
            )
            .await,
        );
        for guest in &scenario.chatting {
            expect(
                format!("replies to {guest}'s hola, delivered three times"),
                self.count("SELECT count(*) FROM wa_outbox WHERE wa_id = $1", &[guest])
                    .await,
            );
        }
        e.expired = self
            .count(
                "SELECT count(*) FROM events WHERE event_type = 'HoldExpired'",
                &[],
            )
            .await;
        e.links = self
            .count(
                "SELECT count(*) FROM events WHERE event_type = 'PaymentLinkCreated'",
                &[],
            )
            .await;
        e.reminders = self
            .count(
                "SELECT count(*) FROM wa_outbox WHERE id LIKE 'reminder:%'",
                &[],
            )
            .await;
        e.refunds = self
            .count(
                "SELECT count(*) FROM events WHERE event_type = 'RefundIssued'",
                &[],
            )
            .await;
        e.agenda = self
            .count(
                "SELECT count(*) FROM wa_outbox WHERE id LIKE 'owner:agenda:%'",
                &[],
            )
            .await;
        e.arrivals = self
            .count(
                "SELECT count(*) FROM wa_outbox WHERE id LIKE 'arrival:%'",
                &[],
            )
            .await;
        e.replies = scenario
            .chatting
            .iter()
            .map(|g| rows.iter().filter(|(_, wa_id, _)| wa_id == g).count())
            .sum();
        // Holds of the load that lapsed: once each (a hold whose link came late was extended).
        let load_expired = self
            .count(
                "SELECT count(*) FROM rm_reservations WHERE status = 'expired'",
                &[],
            )
            .await;
        if load_expired < (load.acked.len() as i64) / 2 {
            e.problems.push(format!(
                "only {load_expired} of {} holds expired",
                load.acked.len()
            ));
        }
        e
    }
}

/// Renders one of deploy/nginx's templates: only its `${CABANAS_…}` names are replaced (nginx's
/// own `$variables` stay), and every one of them must be given.
fn render(template: &str, vars: &[(&str, String)]) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy/nginx")
        .join(template);
    let mut text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
    for (name, value) in vars {
        text = text.replace(&format!("${{{name}}}"), value);
    }
    assert!(
        !text.contains("${CABANAS_"),
        "{template}: a variable was left unset"
    );
    text
}

/// nginx's main file around the rendered snippets (the official image's nginx.conf does the same
/// with conf.d/): everything under `dir`, as the user running the test.
fn main_conf(dir: &Path, includes: &[PathBuf]) -> String {
    use std::os::unix::fs::MetadataExt;
    // As root nginx would hand its workers to `nobody`, who cannot enter the temp directory.
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let d = dir.display();
    let tmp = |what: &str| format!("{what}_temp_path {d}/nginx-tmp/{what};\n");
    format!(
        "daemon off;\nworker_processes 1;\n{}pid {d}/nginx.pid;\nerror_log {d}/nginx-error.log notice;\n\
         events {{ worker_connections 1024; }}\nhttp {{\n{}{}{}{}{}{}}}\n",
        if root { "user root;\n" } else { "" },
        tmp("client_body"),
        tmp("proxy"),
        tmp("fastcgi"),
        tmp("uwsgi"),
        tmp("scgi"),
        includes
            .iter()
            .map(|i| format!("include {};\n", i.display()))
            .collect::<String>(),
    )
}

/// The compose variant: the public server on `… ssl` with tls.conf.template's certificate and
/// port-80 redirect, checked with `nginx -t` (a self-signed certificate made for the check).
fn check_tls_variant(cluster: &Cluster) {
    let dir = cluster.dir.join("tls");
    std::fs::create_dir_all(dir.join("nginx-tmp")).unwrap();
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "openssl could not make a test certificate");
    let port = free_port(&[cluster.nginx_port]);
    let site = render(
        "cabanas.conf.template",
        &[
            ("CABANAS_NGINX_LISTEN", format!("127.0.0.1:{port} ssl")),
            ("CABANAS_NGINX_SERVER_NAME", "reservas.example.com".into()),
            (
                "CABANAS_NGINX_UPSTREAM_SERVERS",
                "server 127.0.0.1:1 max_fails=1 fail_timeout=3s; server 127.0.0.1:2 max_fails=1 fail_timeout=3s;".into(),
            ),
            (
                "CABANAS_NGINX_ACCESS_LOG",
                dir.join("access.log").display().to_string(),
            ),
        ],
    );
    let tls = render(
        "tls.conf.template",
        &[
            ("CABANAS_NGINX_SERVER_NAME", "reservas.example.com".into()),
            (
                "CABANAS_NGINX_TLS_CERT",
                dir.join("cert.pem").display().to_string(),
            ),
            (
                "CABANAS_NGINX_TLS_KEY",
                dir.join("key.pem").display().to_string(),
            ),
        ],
    );
    std::fs::write(dir.join("cabanas.conf"), site).unwrap();
    std::fs::write(dir.join("tls.conf"), tls).unwrap();
    let conf = main_conf(&dir, &[dir.join("cabanas.conf"), dir.join("tls.conf")]);
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let checked = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(format!("{}/", dir.display()))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .arg("-e")
        .arg(dir.join("error.log"))
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "nginx -t refused the TLS variant:\n{}",
        String::from_utf8_lossy(&checked.stderr)
    );
}

fn assert_each_lease_held_once(leases: &BTreeMap<String, Vec<String>>, when: &str) {
    for (lease, holders) in leases {
        assert_eq!(
            holders.len(),
            1,
            "{when}: the lease {lease} is held by {holders:?}"
        );
    }
}

// -------------------------------------------------------------------------------------------
// Fake Meta, Mercado Pago and Airbnb
// -------------------------------------------------------------------------------------------

struct Fakes {
    meta_server: MockServer,
    meta: Meta,
    mp_server: MockServer,
    mp: Mp,
    ical: MockServer,
}

impl Fakes {
    async fn start() -> Fakes {
        let meta_server = MockServer::start().await;
        let meta = Meta::default();
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
            .respond_with(meta.clone())
            .mount(&meta_server)
            .await;
        let mp_server = MockServer::start().await;
        let mp = Mp::default();
        Mock::given(method("POST"))
            .and(path("/checkout/preferences"))
            .respond_with(Preferences(mp.clone()))
            .mount(&mp_server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/v1/payments/[0-9]+/refunds$"))
            .respond_with(Refunds(mp.clone()))
            .mount(&mp_server)
            .await;
        let ical = MockServer::start().await;
        Fakes {
            meta_server,
            meta,
            mp_server,
            mp,
            ical,
        }
    }

    /// Airbnb's calendar for the cabin: one stay there, far ahead.
    async fn serve_calendar(&self, from: NaiveDate, to: NaiveDate) {
        let ics = format!(
            "BEGIN:VCALENDAR\r\nPRODID;X-RICAL-TZSOURCE=TZINFO:-//Airbnb Inc//Hosting Calendar \
             0.8.8//EN\r\nCALSCALE:GREGORIAN\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTEND;VALUE=DATE:{}\r\n\
             DTSTART;VALUE=DATE:{}\r\nUID:cluster-1@airbnb.com\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n\
             END:VCALENDAR\r\n",
            to.format("%Y%m%d"),
            from.format("%Y%m%d")
        );
        Mock::given(method("GET"))
            .and(path("/calendar/alerce.ics"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "text/calendar; charset=utf-8")
                    .set_body_string(ics),
            )
            .mount(&self.ical)
            .await;
    }

    /// Mercado Pago's answer for the payment `id` of `amount` for the reservation.
    async fn serve_payment(&self, id: u64, reservation: &str, amount: f64) {
        let raw = std::fs::read_to_string(format!(
            "{}/../integrations/tests/fixtures/mercadopago/response_payment_payment_base.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut p: Value = serde_json::from_str(&raw).unwrap();
        p["id"] = json!(id);
        p["status"] = json!("approved");
        p["external_reference"] = json!(reservation);
        p["transaction_amount"] = json!(amount);
        Mock::given(method("GET"))
            .and(path(format!("/v1/payments/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(p))
            .mount(&self.mp_server)
            .await;
    }
}

/// A message the fake Meta took: our reply id (`biz_opaque_callback_data`), its wamid, to whom.
#[derive(Clone)]
struct Taken {
    tracker: String,
    wamid: String,
    to: String,
}

#[derive(Clone, Default)]
struct MetaLog {
    messages: Vec<Taken>,
    /// Messages marked read, by their wamid.
    reads: Vec<String>,
    untracked: usize,
}

/// The fake Cloud API: a new wamid for every message, and a ledger of what it took.
#[derive(Clone, Default)]
struct Meta(Arc<Mutex<MetaLog>>);

impl Meta {
    fn snapshot(&self) -> MetaLog {
        self.0.lock().unwrap().clone()
    }
}

impl Respond for Meta {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let mut log = self.0.lock().unwrap();
        if body["status"] == "read" {
            log.reads
                .push(body["message_id"].as_str().unwrap_or_default().to_owned());
            return ResponseTemplate::new(200).set_body_json(json!({"success": true}));
        }
        let wamid = format!("wamid.cluster.{}", log.messages.len() + log.untracked);
        match body["biz_opaque_callback_data"].as_str() {
            Some(tracker) => log.messages.push(Taken {
                tracker: tracker.to_owned(),
                wamid: wamid.clone(),
                to: body["to"].as_str().unwrap_or_default().to_owned(),
            }),
            None => log.untracked += 1,
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": body["to"], "wa_id": body["to"]}],
            "messages": [{"id": wamid}]
        }))
    }
}

#[derive(Clone, Default)]
struct MpLog {
    /// (external_reference, X-Idempotency-Key) of each preference created.
    preferences: Vec<(String, String)>,
    /// (payment id, X-Idempotency-Key) of each refund.
    refunds: Vec<(String, String)>,
}

#[derive(Clone, Default)]
struct Mp(Arc<Mutex<MpLog>>);

impl Mp {
    fn snapshot(&self) -> MpLog {
        self.0.lock().unwrap().clone()
    }
}

fn idempotency_key(request: &Request) -> String {
    request
        .headers
        .get("x-idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

struct Preferences(Mp);

impl Respond for Preferences {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let mut log = self.0.0.lock().unwrap();
        let id = format!("pref-{}", log.preferences.len());
        log.preferences.push((
            body["external_reference"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            idempotency_key(request),
        ));
        ResponseTemplate::new(201).set_body_json(json!({
            "id": id,
            "init_point": format!("https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id={id}"),
            "sandbox_init_point": format!("https://sandbox.mercadopago.com.ar/checkout/v1/redirect?pref_id={id}"),
        }))
    }
}

struct Refunds(Mp);

impl Respond for Refunds {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let payment = request
            .url
            .path()
            .split('/')
            .nth(3)
            .unwrap_or_default()
            .to_owned();
        let mut log = self.0.0.lock().unwrap();
        log.refunds
            .push((payment.clone(), idempotency_key(request)));
        ResponseTemplate::new(201).set_body_json(json!({
            "id": 7000 + log.refunds.len(),
            "payment_id": payment.parse::<u64>().unwrap_or_default(),
            "status": "approved"
        }))
    }
}

/// Meta reporting each message we sent as `sent` (naming our reply id), signed, through nginx,
/// until `stop`; a delivery refused or lost is delivered again. Returns how many were accepted.
async fn echo_statuses(
    http: reqwest::Client,
    base: String,
    meta: Meta,
    stop: Arc<AtomicBool>,
) -> usize {
    let mut next = 0;
    let mut waiting: Vec<Taken> = Vec::new();
    let mut accepted = 0;
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        let log = meta.snapshot();
        waiting.extend(log.messages[next..].iter().cloned());
        next = log.messages.len();
        let mut again = Vec::new();
        for m in waiting.drain(..) {
            let body = status_delivery(&m);
            let sent = http
                .post(format!("{base}/webhooks/whatsapp"))
                .header("X-Hub-Signature-256", meta_sign(&body))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => accepted += 1,
                _ => again.push(m),
            }
        }
        waiting = again;
        if stopping {
            return accepted;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn meta_sign(body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(META_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn status_delivery(m: &Taken) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "5491100000000", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [{"id": m.wamid, "status": "sent",
                "timestamp": Utc::now().timestamp().to_string(),
                "recipient_id": m.to, "biz_opaque_callback_data": m.tracker}]
        }}]}]
    }))
    .unwrap()
}

/// A guest's text message as Meta delivers it, written out by hand the way it comes over the
/// wire (Meta's spacing and escapes, an accent as UTF-8): the signature is over these bytes.
fn text_delivery(wa_id: &str, name: &str, wamid: &str, text: &str) -> Vec<u8> {
    format!(
        "{{\"object\":\"whatsapp_business_account\",\"entry\":[{{\"id\":\"1\",\"changes\":[{{\
         \"value\":{{\"messaging_product\":\"whatsapp\",\"metadata\":{{\"display_phone_number\":\
         \"5491100000000\",\"phone_number_id\":\"{PHONE_NUMBER_ID}\"}},\"contacts\":[{{\"profile\":\
         {{\"name\":\"{name}\"}},\"wa_id\":\"{wa_id}\"}}],\"messages\":[{{\"from\":\"{wa_id}\",\
         \"id\":\"{wamid}\",\"timestamp\":\"{}\",\"text\":{{\"body\":\"{text}\"}},\"type\":\"text\"}}]}},\
         \"field\":\"messages\"}}]}}]}}\n",
        Utc::now().timestamp()
    )
    .into_bytes()
}

async fn deliver(cluster: &Cluster, body: Vec<u8>, signature: &str) -> u16 {
    cluster
        .send(
            cluster
                .http
                .post(format!("{}/webhooks/whatsapp", cluster.base))
                .header("X-Hub-Signature-256", signature)
                .header("content-type", "application/json")
                .body(body),
        )
        .await
        .0
}

/// Mercado Pago's notification of `payment` (id `notification`), signed with `secret`.
async fn notify_payment(cluster: &Cluster, payment: u64, notification: u64, secret: &str) -> u16 {
    let request_id = format!("req-{notification}");
    let ts = Utc::now().timestamp().to_string();
    let manifest = webhook::manifest(Some(&payment.to_string()), Some(&request_id), &ts);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(manifest.as_bytes());
    let signature = format!("ts={ts},v1={}", hex::encode(mac.finalize().into_bytes()));
    let body = json!({"id": notification, "live_mode": false, "type": "payment",
        "date_created": "2026-12-07T10:04:58.396-03:00", "user_id": 44444, "api_version": "v1",
        "action": "payment.updated", "data": {"id": payment.to_string()}});
    cluster
        .send(
            cluster
                .http
                .post(format!(
                    "{}/webhooks/mercadopago?data.id={payment}&type=payment",
                    cluster.base
                ))
                .header("x-signature", signature)
                .header("x-request-id", request_id)
                .json(&body),
        )
        .await
        .0
}

// -------------------------------------------------------------------------------------------
// The scenario
// -------------------------------------------------------------------------------------------

struct Cabins {
    /// At the owner's offset: the agenda, the day-before message, the refund, the race.
    alerce: String,
    /// Argentina's clock: the load.
    load: Vec<String>,
}

fn hold_body(
    cabin: &str,
    check_in: NaiveDate,
    check_out: NaiveDate,
    phone: &str,
    whatsapp: bool,
) -> Value {
    json!({"accommodation_id": cabin, "check_in": check_in, "check_out": check_out, "guests": 2,
           "guest": {"name": "Ana Pérez", "phone": phone, "whatsapp": whatsapp}})
}

/// A WhatsApp number as a guest writes it (`+54 9 11 7000-0001`) and as Meta names it.
fn phone(block: u32, n: u32) -> (String, String) {
    (
        format!("+54 9 11 {block:04}-{n:04}"),
        format!("54911{block:04}{n:04}"),
    )
}

#[derive(Clone)]
struct Acked {
    code: String,
    reservation_id: String,
}

impl Acked {
    fn of(body: &Value) -> Acked {
        Acked {
            code: body["code"].as_str().unwrap().to_owned(),
            reservation_id: body["reservation_id"].as_str().unwrap().to_owned(),
        }
    }
}

struct Scenario {
    /// WhatsApp guests' holds left to lapse: a link, a reminder and the expiry each, once.
    expiring: Vec<Acked>,
    expiring_placed: Instant,
    /// Paid through Mercado Pago, then cancelled by the owner: one refund.
    refunded: Acked,
    /// What nginx answered the payment's signed notification, delivered three times.
    notified: Vec<u16>,
    /// The reservation told the way the day before.
    arriving_tomorrow: String,
    /// Guests who wrote "hola" (each delivered three times).
    chatting: Vec<String>,
}

/// What nginx answered (signed WhatsApp delivery, the same with one byte changed, a Mercado Pago
/// notification signed with another secret); the signed notification is the scenario's.
async fn webhook_signatures(cluster: &Cluster) -> (u16, u16, u16) {
    let (_, wa_id) = phone(7555, 0);
    let body = text_delivery(&wa_id, "José Ñandú", "wamid.sig.1", "¿tienen lugar?");
    let signature = meta_sign(&body);
    let at = body.windows(6).position(|w| w == b"tienen").unwrap();
    let mut tampered = body.clone();
    tampered[at..at + 6].copy_from_slice(b"tenien");
    let forged = deliver(cluster, tampered, &signature).await;
    let signed = deliver(cluster, body, &signature).await;
    let mp_forged = notify_payment(cluster, 4_040_404, 90, "not-the-secret").await;
    (signed, forged, mp_forged)
}

/// What nginx refuses before any instance sees it is a JSON problem, as the service's own
/// refusals are: a header too large, a body over the limit.
async fn proxy_refusals_are_problems(cluster: &Cluster) {
    let url = format!("{}/v1/reservations", cluster.base);
    let long = "x".repeat(10_000);
    let refused = [
        (431, cluster.http.get(&url).header("x-long", long.as_str())),
        (413, cluster.http.post(&url).body(vec![b' '; 100_000])),
    ];
    for (status, request) in refused {
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), status);
        let kind = answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(kind, "application/problem+json", "{status}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["status"], status, "{body}");
        assert!(body["type"].as_str().unwrap().starts_with("/problems/"));
    }
}

async fn scenario(cluster: &Cluster, fakes: &Fakes, cabins: &Cabins) -> Scenario {
    let alerce = cabins.alerce.as_str();
    let day = |n| cluster.owner_day(n);
    fakes.serve_calendar(day(400), day(403)).await;

    // Three guests write "hola"; Meta delivers each message three times, to whichever
    // instance nginx picks.
    let mut chatting = Vec::new();
    let mut deliveries = Vec::new();
    for n in 0..3u32 {
        let (_, wa_id) = phone(7555, 1 + n);
        let body = text_delivery(&wa_id, "Ana Pérez", &format!("wamid.hola.{n}"), "hola");
        for _ in 0..3 {
            let body = body.clone();
            deliveries.push(async move { deliver(cluster, body.clone(), &meta_sign(&body)).await });
        }
        chatting.push(wa_id);
    }
    for status in futures_util::future::join_all(deliveries).await {
        assert_eq!(status, 200);
    }

    // Holds of WhatsApp guests, left to lapse.
    let mut expiring = Vec::new();
    for n in 0..3 {
        let (typed, _) = phone(7100, 1 + n as u32);
        let (status, body) = cluster
            .hold(alerce, (day(40 + 2 * n), day(41 + 2 * n)), &typed, true)
            .await;
        assert_eq!(status, 201, "{body:?}");
        expiring.push(Acked::of(&body));
    }
    let expiring_placed = Instant::now();

    // Someone arrives today (the owner's agenda) and someone tomorrow (told the way today).
    let mut arriving = Vec::new();
    for (n, (from, to)) in [(0, 1), (1, 3)].into_iter().enumerate() {
        let (typed, _) = phone(7200, 1 + n as u32);
        let (status, body) = cluster
            .hold(alerce, (day(from), day(to)), &typed, true)
            .await;
        assert_eq!(status, 201, "{body:?}");
        let code = body["code"].as_str().unwrap();
        // The owner's screen shows it first (read models caught up with the hold), then the
        // owner confirms the transfer.
        let shown = format!("/v1/reservations/{code}?min_position={}", body["position"]);
        assert_eq!(cluster.get(&shown, false).await.0, 200);
        let (status, confirmed) = cluster
            .post(
                &format!("/v1/admin/reservations/{code}/confirm"),
                true,
                json!({"amount": body["deposit"], "payment_reference": format!("transfer {n}")}),
            )
            .await;
        assert_eq!(status, 200, "{confirmed:?}");
        arriving.push(Acked::of(&body));
    }

    // Paid through Mercado Pago (the notification comes three times), then cancelled: refunded.
    let (typed, _) = phone(7300, 1);
    let (status, held) = cluster.hold(alerce, (day(20), day(22)), &typed, true).await;
    assert_eq!(status, 201, "{held:?}");
    let refunded = Acked::of(&held);
    let deposit: f64 = held["deposit"].as_str().unwrap().parse().unwrap();
    fakes
        .serve_payment(5_550_001, &refunded.reservation_id, deposit)
        .await;
    let mut notified = Vec::new();
    for _ in 0..3 {
        notified.push(notify_payment(cluster, 5_550_001, 91, MP_SECRET).await);
    }
    let status_path = format!("/v1/reservations/{}", refunded.code);
    cluster
        .eventually(
            "the payment confirming",
            Duration::from_secs(20),
            || async { cluster.get(&status_path, false).await.1["status"] == "confirmed" },
        )
        .await;
    let (status, cancelled) = cluster
        .post(
            &format!("/v1/admin/reservations/{}/cancel", refunded.code),
            true,
            json!({"reason": "pedido del huésped"}),
        )
        .await;
    assert_eq!(status, 200, "{cancelled:?}");
    let payments = format!("/v1/admin/reservations/{}/payments", refunded.code);
    cluster
        .eventually("the refund", Duration::from_secs(20), || async {
            cluster.get(&payments, true).await.1["refunds"][0]["issued"] == true
        })
        .await;

    Scenario {
        expiring,
        expiring_placed,
        refunded,
        notified,
        arriving_tomorrow: arriving[1].reservation_id.clone(),
        chatting,
    }
}

struct Race {
    sent: usize,
    won: usize,
    refused: usize,
    /// The instances nginx sent them to (from its access log).
    upstreams: HashSet<String>,
}

/// Twelve guests want the same nights at once.
async fn race(cluster: &Cluster, cabins: &Cabins) -> Race {
    let stay = (cluster.owner_day(60), cluster.owner_day(62));
    let log = cluster.dir.join("access.log");
    let before = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count();
    let tries = (0..12u32).map(|n| {
        let (typed, _) = phone(7400, 1 + n);
        async move { cluster.hold(&cabins.alerce, stay, &typed, false).await }
    });
    let answers = futures_util::future::join_all(tries).await;
    let won = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused = answers
        .iter()
        .filter(|(s, b)| {
            *s == 409
                && b["type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("dates-unavailable"))
        })
        .count();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let upstreams = access_log(&log)
        .into_iter()
        .skip(before)
        .filter(|e| e.method == "POST" && e.uri == "/v1/reservations")
        .flat_map(|e| e.upstreams)
        .collect();
    Race {
        sent: answers.len(),
        won,
        refused,
        upstreams,
    }
}

// -------------------------------------------------------------------------------------------
// Load, kill, restart
// -------------------------------------------------------------------------------------------

/// One request as a client saw it.
#[derive(Clone, Copy)]
struct Answer {
    started: Instant,
    finished: Instant,
    /// `None`: no HTTP answer at all from nginx.
    status: Option<u16>,
    /// A hold placed (else its reading back).
    post: bool,
}

#[derive(Default)]
struct ClientReport {
    answers: Vec<Answer>,
    acked: Vec<Acked>,
    last_ack: Option<Instant>,
    /// The first night of each hold never acknowledged (its cabin is the client's).
    unacked: Vec<NaiveDate>,
    unexpected: Vec<String>,
}

/// A guest after guest placing a one-night hold (every fourth asks to hear on WhatsApp) and
/// reading it back, until `stop`. A hold not answered (5xx, or "in progress") is sent again with
/// the same Idempotency-Key, as a client should.
async fn load_client(
    http: reqwest::Client,
    base: String,
    cabin: String,
    client: usize,
    first: NaiveDate,
    stop: Arc<AtomicBool>,
) -> ClientReport {
    let mut report = ClientReport::default();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) && n < 300 {
        let check_in = first + chrono::Days::new(2 * n + (client / 3) as u64);
        let (typed, _) = phone(8000 + client as u32, n as u32);
        let whatsapp = n.is_multiple_of(4);
        let body = hold_body(
            &cabin,
            check_in,
            check_in + chrono::Days::new(1),
            &typed,
            whatsapp,
        )
        .to_string();
        let key = uuid::Uuid::new_v4().to_string();
        let mut done = false;
        for attempt in 0..4 {
            let started = Instant::now();
            let sent = http
                .post(format!("{base}/v1/reservations"))
                .header("Idempotency-Key", &key)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await;
            let (status, answer) = match sent {
                Ok(r) => {
                    let status = r.status().as_u16();
                    (Some(status), r.json::<Value>().await.unwrap_or_default())
                }
                Err(_) => (None, Value::Null),
            };
            report.answers.push(Answer {
                started,
                finished: Instant::now(),
                status,
                post: true,
            });
            match status {
                Some(201) => {
                    let acked = Acked::of(&answer);
                    // Read it back, through whichever instance.
                    let started = Instant::now();
                    let read = http
                        .get(format!("{base}/v1/reservations/{}", acked.code))
                        .send()
                        .await;
                    report.answers.push(Answer {
                        started,
                        finished: Instant::now(),
                        status: read.ok().map(|r| r.status().as_u16()),
                        post: false,
                    });
                    report.acked.push(acked);
                    report.last_ack = Some(Instant::now());
                    done = true;
                    break;
                }
                // A first attempt that was cut off (its hold placed, its answer lost) and whose
                // key is still marked in progress: not acknowledged.
                Some(409)
                    if answer["type"]
                        .as_str()
                        .is_some_and(|t| t.ends_with("/conflict")) =>
                {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                // A retry after an attempt that died on a killed instance with its hold placed
                // but its key never stored: the nights are its own. Not acknowledged (the check
                // of unacknowledged holds finds it recorded all the same).
                Some(409)
                    if attempt > 0
                        && answer["type"]
                            .as_str()
                            .is_some_and(|t| t.ends_with("/dates-unavailable")) =>
                {
                    break;
                }
                Some(s) if s >= 500 => tokio::time::sleep(Duration::from_millis(300)).await,
                None => tokio::time::sleep(Duration::from_millis(300)).await,
                Some(other) => {
                    report.unexpected.push(format!("{other}: {answer}"));
                    done = true;
                    break;
                }
            }
        }
        if !done {
            report.unacked.push(check_in);
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    report
}

struct Load {
    acked: Vec<Acked>,
    /// Holds never acknowledged: (cabin, first night).
    unacked: Vec<(String, NaiveDate)>,
    last_ack: Instant,
}

/// Guests place holds through nginx while the lease holder is killed with SIGKILL, then the new
/// scheduler is restarted with SIGTERM.
async fn load_with_kills(cluster: &mut Cluster, cabins: &Cabins) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let first = local_today(Utc::now(), ARGENTINA) + chrono::Days::new(30);
    let clients: Vec<_> = (0..LOAD_CLIENTS)
        .map(|c| {
            tokio::spawn(load_client(
                cluster.http.clone(),
                cluster.base.clone(),
                cabins.load[c % cabins.load.len()].clone(),
                c,
                first,
                stop.clone(),
            ))
        })
        .collect();
    let load_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The instance holding the leases (the first one up took them all) dies.
    let before = cluster.lease_holders().await;
    let victim = before["scheduler"][0]
        .trim_start_matches("cabanas-")
        .to_owned();
    let v = cluster
        .instances
        .iter()
        .position(|i| i.name == victim)
        .unwrap();
    let killed_at = Instant::now();
    let killed_epoch = epoch_secs();
    cluster.instances[v].proc.signal("KILL");
    assert!(
        cluster.instances[v]
            .proc
            .wait_exit(Duration::from_secs(5))
            .await
            .is_some()
    );
    let (takeover, after_kill) = cluster.leases_taken_over(&victim).await;
    let held_before = before
        .iter()
        .filter(|(_, h)| h.iter().any(|h| h.ends_with(&victim)))
        .count();
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The instance that took the scheduler over is restarted with SIGTERM.
    let term = after_kill["scheduler"][0]
        .trim_start_matches("cabanas-")
        .to_owned();
    let t = cluster
        .instances
        .iter()
        .position(|i| i.name == term)
        .unwrap();
    let termed_epoch = epoch_secs();
    let termed_at = Instant::now();
    cluster.instances[t].proc.signal("TERM");
    let exit = cluster.instances[t]
        .proc
        .wait_exit(Duration::from_secs(25))
        .await
        .expect("the instance did not stop within 25 s of SIGTERM");
    let stopped_in = termed_at.elapsed();
    // Its leases move to the instance left (nginx meanwhile sends nothing its way), then it
    // comes back.
    let (term_takeover, _) = cluster.leases_taken_over(&term).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let port = cluster.instances[t].port;
    cluster.instances[t].proc = cluster.spawn(&term, port);
    let ready_in = cluster.wait_ready(t).await;
    let restarted_epoch = epoch_secs();
    tokio::time::sleep(Duration::from_secs(FAIL_TIMEOUT_SECS + 2)).await;
    stop.store(true, Ordering::Relaxed);
    let load_secs = load_started.elapsed().as_secs_f64();

    let mut reports = Vec::new();
    for c in clients {
        reports.push(c.await.unwrap());
    }
    let answers: Vec<Answer> = reports.iter().flat_map(|r| r.answers.clone()).collect();
    let unexpected: Vec<String> = reports.iter().flat_map(|r| r.unexpected.clone()).collect();
    let acked: Vec<Acked> = reports.iter().flat_map(|r| r.acked.clone()).collect();
    let unacked: Vec<(String, NaiveDate)> = reports
        .iter()
        .enumerate()
        .flat_map(|(c, r)| {
            let cabin = &cabins.load[c % cabins.load.len()];
            r.unacked.iter().map(move |night| (cabin.clone(), *night))
        })
        .collect();
    let last_ack = reports
        .iter()
        .filter_map(|r| r.last_ack)
        .max()
        .unwrap_or_else(Instant::now);

    // What nginx saw: which instance each request went to.
    let log = access_log(&cluster.dir.join("access.log"));
    let dead = format!("127.0.0.1:{}", cluster.instances[v].port);
    let restarted = format!("127.0.0.1:{port}");
    let noticed = log
        .iter()
        .find(|e| e.msec >= killed_epoch && e.upstreams.contains(&dead))
        .map(|e| e.msec - killed_epoch);
    let probes = log
        .iter()
        .filter(|e| e.msec >= killed_epoch && e.upstreams.len() > 1 && e.upstreams[0] == dead)
        .count();
    let served_by_dead = log
        .iter()
        .filter(|e| e.msec > killed_epoch + 1.0 && e.upstreams.last() == Some(&dead))
        .count();
    let back = log
        .iter()
        .find(|e| e.msec >= restarted_epoch && e.upstreams == [restarted.clone()] && e.status < 500)
        .map(|e| e.msec - restarted_epoch);
    let while_down: Vec<&Entry> = log
        .iter()
        .filter(|e| e.msec >= termed_epoch && e.msec < restarted_epoch)
        .collect();
    let drained = while_down
        .iter()
        .filter(|e| e.upstreams == [restarted.clone()] && e.status < 500)
        .count();
    let passed_on = while_down
        .iter()
        .filter(|e| e.upstreams.len() > 1 && e.upstreams[0] == restarted)
        .count();
    let term_5xx = while_down.iter().filter(|e| e.status >= 500).count();
    let nginx_5xx = log
        .iter()
        .filter(|e| e.msec >= killed_epoch && e.status >= 500)
        .count();
    let no_answer = answers.iter().filter(|a| a.status.is_none()).count();
    let failed_after_kill = answers
        .iter()
        .filter(|a| a.finished >= killed_at && a.status.is_none_or(|s| s >= 500))
        .count();
    let slowest = |post: bool| {
        answers
            .iter()
            .filter(|a| a.started >= killed_at && a.post == post)
            .map(|a| a.finished - a.started)
            .max()
            .unwrap_or_default()
            .as_millis()
    };
    let takeovers = cluster.scheduler_takeovers();

    println!(
        "load: {LOAD_CLIENTS} guests, {} requests through nginx in {load_secs:.1} s: {} holds \
         acknowledged, {} not (no 2xx after retries), {} requests without an HTTP answer",
        answers.len(),
        acked.len(),
        unacked.len(),
        no_answer
    );
    println!(
        "SIGKILL instance {victim} (holding {held_before} of {} leases): nginx routed around it \
         {} ms after the kill (its first request there failed and went on to another), then \
         probed it {probes} times (every {FAIL_TIMEOUT_SECS} s: refused, passed on); answers \
         5xx after the kill: {nginx_5xx} in nginx's log, {failed_after_kill} seen by the guests \
         (requests in flight on it); slowest hold placed after the kill {} ms, slowest read {} \
         ms (reads wait for the read models, whose leases moved); leases taken over in {:.1} s",
        before.len(),
        noticed.map_or("never".into(), |s| format!("{:.0}", s * 1000.0)),
        slowest(true),
        slowest(false),
        takeover.as_secs_f64(),
    );
    println!(
        "SIGTERM instance {term}: {drained} requests finished on it while it stopped, exited in \
         {:.1} s ({exit}); its leases taken over in {:.1} s; while it was down {passed_on} \
         requests tried on it went on to another, {term_5xx} answered 5xx; restarted and ready \
         in {:.1} s, served again by nginx {} ms after that",
        stopped_in.as_secs_f64(),
        term_takeover.as_secs_f64(),
        ready_in.as_secs_f64(),
        back.map_or("(never)".into(), |s| format!("{:.0}", s * 1000.0)),
    );
    println!(
        "scheduler lease taken by: {}",
        takeovers
            .iter()
            .map(|(_, who)| who.as_str())
            .collect::<Vec<_>>()
            .join(" → ")
    );

    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:?}");
    assert_eq!(no_answer, 0, "nginx left requests without an answer");
    assert!(
        noticed.is_some_and(|s| s < 2.0),
        "nginx did not route around the killed instance within 2 s"
    );
    assert_eq!(served_by_dead, 0, "nginx answered from a dead instance");
    assert!(
        failed_after_kill <= LOAD_CLIENTS,
        "{failed_after_kill} requests failed after the kill: more than were in flight"
    );
    assert!(exit.success(), "SIGTERM: the instance exited with {exit}");
    assert!(
        term_5xx <= LOAD_CLIENTS,
        "{term_5xx} requests failed while an instance restarted"
    );
    assert!(back.is_some(), "the restarted instance got no requests");
    assert!(
        takeover < Duration::from_secs(10),
        "leases taken over in {takeover:?}"
    );
    assert_eq!(
        takeovers.iter().filter(|(_, who)| who == &victim).count(),
        1,
        "the scheduler lease: {takeovers:?}"
    );
    Load {
        acked,
        unacked,
        last_ack,
    }
}

fn epoch_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A line of nginx's access log (deploy/nginx's `cabanas` format).
struct Entry {
    msec: f64,
    method: String,
    uri: String,
    status: u16,
    /// Every instance the request was tried on, in order.
    upstreams: Vec<String>,
}

fn access_log(path: &Path) -> Vec<Entry> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            // `ADDR [TIME] MSEC "METHOD URI" STATUS BYTES rt=… ua="A, B" us="…" urt="…"`
            let parts: Vec<&str> = line.split('"').collect();
            let msec = parts.first()?.split_whitespace().nth(2)?.parse().ok()?;
            let (method, uri) = parts.get(1)?.split_once(' ')?;
            let status = parts.get(2)?.split_whitespace().next()?.parse().ok()?;
            let upstreams = parts
                .get(3)?
                .split([',', ':'])
                .collect::<Vec<_>>()
                .chunks(2)
                .filter_map(|hp| match hp {
                    [h, p] => Some(format!("{}:{}", h.trim(), p.trim())),
                    _ => None,
                })
                .collect();
            Some(Entry {
                msec,
                method: method.to_owned(),
                uri: uri.to_owned(),
                status,
                upstreams,
            })
        })
        .collect()
}

#[derive(Default)]
struct Effects {
    expired: i64,
    reminders: i64,
    links: i64,
    refunds: i64,
    agenda: i64,
    arrivals: i64,
    replies: usize,
    meta_messages: usize,
    mp_preferences: usize,
    mp_refunds: usize,
    duplicates: Vec<String>,
    problems: Vec<String>,
}

impl Effects {
    /// The scenario's effects, which more passes must not change.
    fn counts(&self) -> (i64, i64, i64, usize) {
        (self.refunds, self.agenda, self.arrivals, self.replies)
    }
}
