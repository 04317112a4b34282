//! `bench panel`: the owner's calendar as the server renders it, 10 cabins with a season of
//! bookings each over 5 weeks, requested one after another as a person clicks (not load): p50,
//! p95 and the page's size, beside the same client's `/healthz` round trip measured in the same
//! run (the HTTP stack's floor). The target: p95 under 50 ms.

use std::path::Path;
use std::time::Instant;

use api::auth::Role;

use super::read::{percentile, start_app};
use super::*;

const CABINS: usize = 10;
/// Requests measured, after a few to warm up.
const REQUESTS: usize = 200;
const WARM_UP: usize = 20;

/// One backend's figures.
pub async fn run(label: &str, database_url: &str) -> anyhow::Result<()> {
    let (base, state) = start_app(database_url, CABINS, &[]).await?;
    let now = state.now().timestamp_millis();
    let email = "bench@cabanas.test";
    api::panel::users::add(&state.db, email, Role::Admin, "bench-password-123", now).await?;
    let token = api::panel::session::open(&state.db, email, now).await?;
    let cookie = format!("{}={token}", api::panel::session::SESSION_COOKIE);
    let http = reqwest::Client::new();
    let calendar = format!("{base}/panel/calendario");
    let (mut page, size) = timed(&http, &calendar, &cookie).await?;
    let (mut floor, _) = timed(&http, &format!("{base}/healthz"), &cookie).await?;
    let p95 = percentile(&mut page, 0.95);
    let floor95 = percentile(&mut floor, 0.95);
    println!(
        "{:<48} p50 {:>6.2} ms  p95 {:>6.2} ms  ({:.1}× the /healthz round trip, p95 {:.2} ms)  \
         {} KB",
        format!("panel calendar, {CABINS} cabins × 5 weeks, {label}"),
        percentile(&mut page, 0.5),
        p95,
        p95 / floor95.max(0.001),
        floor95,
        size / 1024
    );
    Ok(())
}

/// `REQUESTS` GETs of `url` one after another (after `WARM_UP`), their times and the last
/// body's size; fails on anything but a 200.
async fn timed(
    http: &reqwest::Client,
    url: &str,
    cookie: &str,
) -> anyhow::Result<(Vec<StdDuration>, usize)> {
    let mut times = Vec::with_capacity(REQUESTS);
    let mut size = 0;
    for i in 0..WARM_UP + REQUESTS {
        let started = Instant::now();
        let answer = http.get(url).header("cookie", cookie).send().await?;
        anyhow::ensure!(answer.status() == 200, "{url}: {}", answer.status());
        size = answer.bytes().await?.len();
        if i >= WARM_UP {
            times.push(started.elapsed());
        }
    }
    Ok((times, size))
}

/// SQLite in `dir`, and PostgreSQL on a fresh database of `server`'s.
pub async fn both(dir: &Path, admin_url: &str) -> anyhow::Result<()> {
    run("SQLite", &format!("sqlite://{}/panel.db", dir.display())).await?;
    let mut server = Server::connect(admin_url).await?;
    let db = server.create("panel").await?;
    run("PostgreSQL", &db.1).await?;
    server.drop(&db.0).await
}
