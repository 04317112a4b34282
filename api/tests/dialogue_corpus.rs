//! The dialogue corpus (`conversation/tests/corpus/dialogues.jsonl`, see its README): every
//! scripted chat runs through the real WhatsApp worker in sandbox mode, on both backends, with
//! the three cabins it names. Each chat ends with the one hold the guest meant (cabin, nights,
//! party) or with the bot asking; the rate per class is printed, and the test fails below 95 %
//! or on any chat that ends with a hold the guest did not ask for (or with two).

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use common::{Backend, TestApp, spawn, wa};
use serde_json::{Value, json};

const CABINS: [(&str, u32, u32, u32); 3] = [
    ("Cabaña del Río", 4, 60_000, 10_000),
    ("Cabaña del Bosque", 6, 80_000, 12_000),
    ("La Casita", 2, 40_000, 8_000),
];

async fn register_cabins(app: &TestApp) {
    for (name, capacity, nightly, cleaning) in CABINS {
        let r = app
            .admin_post(
                "/v1/admin/accommodations",
                json!({"name": name, "capacity": capacity, "min_nights": 1,
                       "pricing": {"nightly_base": nightly, "cleaning_fee": cleaning}}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    app.state.runner.catch_up().await.unwrap();
}

/// A guest's message (or tap) as Meta delivers it, sent at `at`.
fn delivery(wa_id: &str, wamid: &str, message: Value, at: chrono::DateTime<Utc>) -> Vec<u8> {
    wa::envelope((wa_id, "Huésped"), wamid, message, at)
}

/// The bot's messages to `wa_id` so far, oldest first (the payment link excluded: it comes
/// from the payments reactor, not the conversation).
async fn replies(app: &TestApp, wa_id: &str) -> Vec<Value> {
    let rows: Vec<(String,)> = eventstore::db_fetch!(
        &app.state.db,
        (String,),
        fetch_all,
        "SELECT body FROM wa_outbox WHERE wa_id = $1 ORDER BY created_at_ms, id".to_owned(),
        wa_id.to_owned()
    )
    .unwrap();
    rows.into_iter()
        .map(|(body,)| serde_json::from_str::<Value>(&body).unwrap())
        .filter(|m| m["interactive"]["type"] != "cta_url")
        .collect()
}

/// The message for a turn: a tap on the last reply's button or row titled `[Title]`, else text.
fn message_for(turn: &str, last: Option<&Value>) -> Value {
    let Some(title) = turn.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
        return wa::text(turn);
    };
    let interactive = last.map(|m| &m["interactive"]).unwrap_or(&Value::Null);
    let buttons = interactive["action"]["buttons"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if let Some(b) = buttons.iter().find(|b| b["reply"]["title"] == title) {
        return json!({"type": "interactive", "interactive": {"type": "button_reply",
            "button_reply": {"id": b["reply"]["id"], "title": title}}});
    }
    let rows: Vec<Value> = interactive["action"]["sections"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .flat_map(|s| s["rows"].as_array().cloned().unwrap_or_default())
        .collect();
    match rows.iter().find(|r| r["title"] == title) {
        Some(r) => json!({"type": "interactive", "interactive": {"type": "list_reply",
            "list_reply": {"id": r["id"], "title": title}}}),
        // Nothing to tap: the guest writes it instead.
        None => wa::text(title),
    }
}

/// Waits until the worker has answered message `wamid`.
async fn answered(app: &TestApp, wamid: &str) {
    for _ in 0..400 {
        let row: Option<(Option<i64>,)> = eventstore::db_fetch!(
            &app.state.db,
            (Option<i64>,),
            fetch_optional,
            "SELECT processed_at_ms FROM wa_inbox WHERE wamid = $1".to_owned(),
            wamid.to_owned()
        )
        .unwrap();
        if matches!(row, Some((Some(_),))) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("message {wamid} was not answered");
}

/// The guest's holds: (cabin, check-in, check-out, guests, code).
async fn holds(app: &TestApp, wa_id: &str) -> Vec<(String, NaiveDate, NaiveDate, i64, String)> {
    app.state.runner.catch_up().await.unwrap();
    let guest = eventstore::pii::guest_for_phone(&app.state.db, wa_id)
        .await
        .unwrap();
    let filter = projections::queries::ReservationFilter {
        guest_ref: Some(guest.stream_id()),
        limit: 50,
        ..Default::default()
    };
    projections::queries::search_reservations(&app.state.db, &filter)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.status == projections::ReservationStatus::Held)
        .map(|r| {
            (
                r.accommodation_name.unwrap_or_default(),
                r.check_in,
                r.check_out,
                r.guests,
                r.code,
            )
        })
        .collect()
}

fn date(v: &Value) -> NaiveDate {
    NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap()
}

/// Runs one chat; `Ok` when it ends where the guest meant, `Err(why)` otherwise, and whether a
/// hold was wrong (placed where none was meant, or on other nights, cabin or party).
async fn run_chat(app: &TestApp, n: usize, chat: &Value) -> Result<(), (String, bool)> {
    let wa_id = format!("54911{:08}", 50_000_000 + n);
    let today = date(&chat["today"]);
    // Noon in Argentina.
    let start = Utc.from_utc_datetime(&today.and_hms_opt(15, 0, 0).unwrap());
    let mut transcript = Vec::new();
    for (k, turn) in chat["turns"].as_array().unwrap().iter().enumerate() {
        let turn = turn.as_str().unwrap();
        let at = start + chrono::Duration::seconds(30 * k as i64);
        *app.clock.lock().unwrap() = at;
        let before = replies(app, &wa_id).await;
        let wamid = format!("wamid.corpus.{n}.{k}");
        let body = delivery(&wa_id, &wamid, message_for(turn, before.last()), at);
        let r = app
            .send(
                app.http
                    .post(format!("{}/webhooks/whatsapp", app.base))
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        answered(app, &wamid).await;
        transcript.push(format!("  > {turn}"));
        for reply in replies(app, &wa_id).await.iter().skip(before.len()) {
            let said = reply["text"]["body"]
                .as_str()
                .or(reply["interactive"]["body"]["text"].as_str())
                .unwrap_or("?");
            transcript.push(format!("    🤖 {said}"));
        }
    }
    let held = holds(app, &wa_id).await;
    for (_, _, _, _, code) in &held {
        // Frees the nights for the next chat.
        let r = app
            .admin_post(&format!("/v1/admin/reservations/{code}/cancel"), json!({}))
            .await;
        assert!(r.status < 300, "{:?}", r.body);
    }
    let why =
        |what: String, wrong: bool| Err((format!("{what}\n{}", transcript.join("\n")), wrong));
    match &chat["expect"] {
        Value::String(s) if s == "asked" => {
            if !held.is_empty() {
                return why(format!("a hold nobody asked for: {held:?}"), true);
            }
            let last = replies(app, &wa_id).await;
            let last = last.last().map(|m| m.to_string()).unwrap_or_default();
            if last.contains('?') {
                Ok(())
            } else {
                why("the bot's last message asks nothing".into(), false)
            }
        }
        expect => {
            let want = &expect["hold"];
            let wanted = (
                want["cabin"].as_str().unwrap().to_owned(),
                date(&want["check_in"]),
                date(&want["check_out"]),
                want["guests"].as_i64().unwrap(),
            );
            match held.as_slice() {
                [] => why(format!("no hold; wanted {wanted:?}"), false),
                [(cabin, a, b, g, _)] if (cabin.clone(), *a, *b, *g) == wanted => Ok(()),
                other => why(format!("held {other:?}; wanted {wanted:?}"), true),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dialogue_corpus_ends_with_the_hold_the_guest_meant() {
    let raw = include_str!("../../conversation/tests/corpus/dialogues.jsonl");
    let chats: Vec<Value> = raw
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(chats.len() >= 80, "{} chats", chats.len());
    for backend in [Backend::Sqlite, Backend::Postgres] {
        // Hundreds of deliveries a minute from one address: no rate limit in the way.
        let app = spawn(backend, &[("CABANAS_RATE_LIMIT_PER_MINUTE", "1000000")]).await;
        register_cabins(&app).await;
        let mut per_class: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let mut wrong_holds = Vec::new();
        let mut misses = Vec::new();
        for (n, chat) in chats.iter().enumerate() {
            let class = chat["class"].as_str().unwrap().to_owned();
            let entry = per_class.entry(class.clone()).or_default();
            entry.1 += 1;
            match run_chat(&app, n, chat).await {
                Ok(()) => entry.0 += 1,
                Err((why, wrong)) => {
                    let line = format!("[{class}] {}: {why}", chat["name"]);
                    if wrong {
                        wrong_holds.push(line.clone());
                    }
                    misses.push(line);
                }
            }
        }
        println!("{backend:?}: class          right / total");
        for (class, (right, n)) in &per_class {
            println!("  {class:<18}{right:>5} / {n}");
        }
        let right: usize = per_class.values().map(|(r, _)| r).sum();
        let rate = 100.0 * right as f64 / chats.len() as f64;
        println!(
            "  all               {right:>5} / {} ({rate:.1} %)",
            chats.len()
        );
        for m in &misses {
            println!("MISS {m}");
        }
        assert!(
            wrong_holds.is_empty(),
            "{backend:?}: holds the guest did not ask for:\n{}",
            wrong_holds.join("\n")
        );
        assert!(
            rate >= 95.0,
            "{backend:?}: {rate:.1} % of the chats end where the guest meant"
        );
    }
}
