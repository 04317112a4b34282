//! Read-side benchmarks: projection catch-up from a cold checkpoint over 100,000 events, and
//! availability queries through the real HTTP API under concurrent load (closed loop for the
//! ceiling, open loop at 1,000 requests/s for latency, 50 cabins).

use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use chrono::{Days, Duration, NaiveTime, Utc};
use domain::accommodation::{
    AccommodationCommand, Channel, ConfirmReservation, PlaceHold, RegisterAccommodation,
};
use domain::{
    Accommodation, AccommodationId, Aggregate, DomainEvent, Money, Pricing, ReservationCode,
    ReservationId, StayDates,
};
use eventstore::{EventStore, ExpectedVersion, Metadata, NewEvent};

const CATCH_UP_ACCOMMODATIONS: usize = 500;
/// Events per accommodation: a registration and 99 hold + confirmation pairs.
const EVENTS_PER_ACCOMMODATION: usize = 199;

pub(crate) fn percentile(latencies: &mut [StdDuration], p: f64) -> f64 {
    latencies.sort();
    let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
    latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// A realistic history of one accommodation, decided by the domain itself.
fn history(id: AccommodationId, seed: usize) -> anyhow::Result<Vec<NewEvent>> {
    let now = Utc::now();
    let start = (now + Duration::days(2)).date_naive();
    let mut state = Accommodation::default();
    let mut events = Vec::new();
    let mut apply = |state: &mut Accommodation, cmd: AccommodationCommand| -> anyhow::Result<()> {
        for e in state.decide(&cmd, now)? {
            state.evolve(&e);
            events.push(NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: e.event_type().to_owned(),
                schema_version: e.event_version() as i32,
                payload: e.to_payload(),
                metadata: Metadata::default(),
            });
        }
        Ok(())
    };
    apply(
        &mut state,
        AccommodationCommand::Register(RegisterAccommodation {
            accommodation_id: id,
            name: format!("Cabaña {seed}"),
            capacity: 6,
            pricing: Pricing::simple(Money::pesos(40_000), Money::pesos(8_000)),
            min_nights: 1,
            check_in_time: NaiveTime::MIN,
            check_out_time: NaiveTime::MIN,
            directions: None,
        }),
    )?;
    for day in 0..((EVENTS_PER_ACCOMMODATION - 1) / 2) as u64 {
        let reservation_id = ReservationId::new();
        let stay = StayDates::new(start + Days::new(day), start + Days::new(day + 1))?;
        apply(
            &mut state,
            AccommodationCommand::PlaceHold(PlaceHold {
                reservation_id,
                code: ReservationCode::from_entropy(rand::random()),
                guest_ref: format!("guest-bench-{seed}-{day}"),
                stay,
                guests: 2,
                channel: Channel::Direct,
                hold_duration: Duration::minutes(30),
            }),
        )?;
        apply(
            &mut state,
            AccommodationCommand::Confirm(ConfirmReservation {
                reservation_id,
                payment_reference: "bench".into(),
                amount_paid: Money::pesos(10_000),
            }),
        )?;
    }
    Ok(events)
}

/// Loads 100,000 events, then times each projection from a cold checkpoint to the head.
pub async fn catch_up(label: &str, store: Arc<dyn EventStore>) -> anyhow::Result<()> {
    let total = CATCH_UP_ACCOMMODATIONS * EVENTS_PER_ACCOMMODATION;
    let load = Instant::now();
    for n in 0..CATCH_UP_ACCOMMODATIONS {
        let id = AccommodationId::new();
        store
            .append(&id.stream_id(), ExpectedVersion::NoStream, &history(id, n)?)
            .await?;
    }
    // PostgreSQL stamps positions just after commit: wait for the whole log to be visible.
    while store.head_position().await? < total as i64 {
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    println!(
        "\n## {label}: projection catch-up from a cold checkpoint ({total} events, loaded in {:.1} s)",
        load.elapsed().as_secs_f64()
    );
    let runner = projections::Runner::new(store.clone(), projections::all());
    runner.ensure_schema().await?;
    let all = Instant::now();
    runner.catch_up().await?;
    println!(
        "{:<48} {:>9.0} events/s",
        "every projection, one pass over the log",
        total as f64 / all.elapsed().as_secs_f64()
    );
    // A rebuild is the same cold catch-up for one projection alone (into fresh tables).
    // A reactor (side effects) is never rebuilt: it would repeat them.
    for p in runner.projections().iter().filter(|p| !p.starts_at_head()) {
        let t = Instant::now();
        runner.rebuild(p.name()).await?;
        println!(
            "{:<48} {:>9.0} events/s",
            format!("rebuild of {} alone", p.name()),
            total as f64 / t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Starts the service on `database_url` with `cabins` seeded accommodations (a season of
/// bookings each) and its read models caught up; returns its base URL and state.
pub(crate) async fn start_app(
    database_url: &str,
    cabins: usize,
    extra: &[(&'static str, String)],
) -> anyhow::Result<(String, actix_web::web::Data<api::server::AppState>)> {
    let mut vars = vec![
        ("CABANAS_BIND", "127.0.0.1:0".to_owned()),
        ("CABANAS_DATABASE_URL", database_url.to_owned()),
        (
            "CABANAS_JWT_SECRET",
            "bench-secret-bench-secret-bench-secret".to_owned(),
        ),
        ("CABANAS_RATE_LIMIT_PER_MINUTE", "1000000".to_owned()),
        ("CABANAS_LOG", "warn".to_owned()),
    ];
    vars.extend(extra.iter().cloned());
    let settings = api::config::Settings::from_lookup(|k| {
        vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    })?;
    let store = eventstore::connect(database_url).await?;
    for n in 0..cabins {
        let id = AccommodationId::new();
        store
            .append(&id.stream_id(), ExpectedVersion::NoStream, &history(id, n)?)
            .await?;
    }
    let app = api::server::Application::with_store(&settings, store, app::system_clock()).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let state = app.state();
    tokio::spawn(app.run());
    state.runner.catch_up().await?;
    Ok((base, state))
}

/// Availability queries through HTTP against an app on `database_url`. Long on purpose: the
/// set-up, the closed-loop run and the open-loop run, printed in that order.
pub async fn availability(label: &str, database_url: &str, redis: bool) -> anyhow::Result<()> {
    let mut extra = Vec::new();
    if redis {
        extra.push(("CABANAS_REDIS_URL", "redis://127.0.0.1:6379".to_owned()));
        extra.push((
            "CABANAS_REDIS_PREFIX",
            format!("cabanas-bench-{}", std::process::id()),
        ));
    }
    // Fifty cabins with a season of bookings each, so the query has real rows to skip (the
    // end-to-end issue's set-up).
    let (base, _state) = start_app(database_url, 50, &extra).await?;
    let client = reqwest::Client::new();
    let day = |d: u64| (Utc::now() + Duration::days(2)).date_naive() + Days::new(d);
    let url = move |i: usize| {
        let from = day((i % 150) as u64);
        format!(
            "{base}/v1/availability?check_in={from}&check_out={}&guests=2",
            from + Days::new(2)
        )
    };

    println!("\n## {label}: availability queries over HTTP");
    // Closed loop: 16 clients as fast as they can, for the ceiling.
    let done = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..16 {
        let client = client.clone();
        let url = url.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for i in 0..150 {
                let t = Instant::now();
                if let Ok(r) = client.get(url(c * 150 + i)).send().await
                    && r.status().is_success()
                    && r.bytes().await.is_ok()
                {
                    lat.push(t.elapsed());
                }
            }
            if let Ok(mut d) = done.lock() {
                d.extend(lat);
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = start.elapsed();
    let mut lat = done.lock().map(|d| d.clone()).unwrap_or_default();
    println!(
        "{:<48} {:>9.0}/s   p50 {:>6.2} ms   p99 {:>6.2} ms",
        "16 clients, closed loop",
        lat.len() as f64 / elapsed.as_secs_f64(),
        percentile(&mut lat, 0.5),
        percentile(&mut lat, 0.99)
    );

    // Open loop: a request every millisecond for 6 s, latency measured from when it was due, so
    // a server falling behind shows up as queueing rather than as a politely slower client.
    let rate = 1000usize;
    let count = rate * 6;
    let done = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(0usize));
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for i in 0..count {
        let due = start + StdDuration::from_micros((i * 1_000_000 / rate) as u64);
        tokio::time::sleep_until(due).await;
        let client = client.clone();
        let u = url(i);
        let done = done.clone();
        let failures = failures.clone();
        tasks.push(tokio::spawn(async move {
            let ok = match client.get(u).send().await {
                Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            let took = due.elapsed();
            if ok {
                if let Ok(mut d) = done.lock() {
                    d.push(took);
                }
            } else if let Ok(mut f) = failures.lock() {
                *f += 1;
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = start.elapsed();
    let mut lat = done.lock().map(|d| d.clone()).unwrap_or_default();
    let failed = failures.lock().map(|f| *f).unwrap_or(0);
    println!(
        "{:<48} {:>9.0}/s   p50 {:>6.2} ms   p99 {:>6.2} ms   failed {failed}",
        format!("open loop at {rate}/s"),
        lat.len() as f64 / elapsed.as_secs_f64(),
        percentile(&mut lat, 0.5),
        percentile(&mut lat, 0.99)
    );
    Ok(())
}

/// WhatsApp: from the webhook's POST to the first reply queued in the outbox, for text messages
/// that need an availability search (the heaviest common turn).
pub async fn whatsapp_latency(label: &str, database_url: &str) -> anyhow::Result<()> {
    let (base, state) = start_app(database_url, 5, &[]).await?;
    let client = reqwest::Client::new();
    let mut latencies = Vec::new();
    for i in 0..200u32 {
        let wamid = format!("wamid.bench-{}-{i}", std::process::id());
        let body = serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"phone_number_id": "1"},
                "contacts": [{"profile": {"name": "Bench"}, "wa_id": format!("549110{i:07}")}],
                "messages": [{"from": format!("549110{i:07}"), "id": wamid,
                    "timestamp": Utc::now().timestamp().to_string(), "type": "text",
                    "text": {"body": "hola, tienen lugar del 20 al 22 para 2?"}}]
            }}]}]
        });
        let started = Instant::now();
        client
            .post(format!("{base}/webhooks/whatsapp"))
            .json(&body)
            .send()
            .await?;
        let reply_id = format!("{wamid}:0");
        loop {
            let (n,): (i64,) = eventstore::db_fetch!(
                &state.db,
                (i64,),
                fetch_one,
                "SELECT count(*) FROM wa_outbox WHERE id = $1".to_owned(),
                reply_id.clone()
            )?;
            if n > 0 {
                break;
            }
            if started.elapsed() > StdDuration::from_secs(10) {
                anyhow::bail!("no reply queued within 10 s");
            }
            tokio::time::sleep(StdDuration::from_micros(500)).await;
        }
        latencies.push(started.elapsed());
    }
    println!("\n## {label}: WhatsApp webhook to reply queued (text needing a search)");
    println!(
        "{:<48} p50 {:>6.2} ms   p95 {:>6.2} ms   p99 {:>6.2} ms",
        "200 messages, one at a time",
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.95),
        percentile(&mut latencies, 0.99)
    );
    Ok(())
}

/// Full replay: a generated history of `total` events through every projection from zero (the
/// auditors' replay rate), then `as_of` time travel (one accommodation's stream folded up to a
/// global position) latency.
pub async fn replay(label: &str, store: Arc<dyn EventStore>, total: usize) -> anyhow::Result<()> {
    let cabins = total.div_ceil(EVENTS_PER_ACCOMMODATION);
    let total = cabins * EVENTS_PER_ACCOMMODATION;
    let load = Instant::now();
    let mut ids = Vec::with_capacity(cabins);
    for n in 0..cabins {
        let id = AccommodationId::new();
        store
            .append(&id.stream_id(), ExpectedVersion::NoStream, &history(id, n)?)
            .await?;
        ids.push(id);
    }
    while store.head_position().await? < total as i64 {
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    println!(
        "\n## {label}: full replay of a generated history ({total} events, loaded in {:.0} s)",
        load.elapsed().as_secs_f64()
    );
    let runner = projections::Runner::new(store.clone(), projections::all());
    runner.ensure_schema().await?;
    let t = Instant::now();
    runner.catch_up().await?;
    println!(
        "{:<48} {:>9.0} events/s",
        "every projection from position 0",
        total as f64 / t.elapsed().as_secs_f64()
    );
    let mut latencies = Vec::new();
    for i in 0..200usize {
        let id = ids[(i * 7919) % ids.len()];
        let as_of = ((i * 104_729) % total) as i64 + 1;
        let t = Instant::now();
        let events = store.read_stream(&id.stream_id(), 0).await?;
        let mut state = Accommodation::default();
        for e in events
            .iter()
            .take_while(|e| e.position.is_some_and(|p| p <= as_of))
        {
            let decoded = domain::AccommodationEvent::from_stored(
                &e.event_type,
                e.schema_version as u32,
                e.payload.clone(),
            )?;
            state.evolve(&decoded);
        }
        std::hint::black_box(state.active_stays().count());
        latencies.push(t.elapsed());
    }
    let p50 = percentile(&mut latencies, 0.5);
    let p95 = percentile(&mut latencies, 0.95);
    println!(
        "{:<48} p50 {p50:.1} ms, p95 {p95:.1} ms",
        "as_of: one accommodation's state at a position"
    );
    Ok(())
}
