//! The booking walk through the real HTTP API on SQLite and on PostgreSQL + Redis: register →
//! availability → quote → hold → the hold shows everywhere → confirm → timeline → an overlapping
//! hold is refused with a problem → a hold left alone expires and frees its nights.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use common::{Backend, TestApp, spawn};
use serde_json::{Value, json};

async fn walk(app: TestApp) {
    let b = app.backend;
    let (id, position) = app.register("Cabaña del Lago", 4).await;

    let list = app
        .get(&format!("/v1/accommodations?min_position={position}"), None)
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body[0]["name"], "Cabaña del Lago", "{b:?}");

    let changed = app
        .send(
            app.http
                .patch(format!("{}/v1/admin/accommodations/{id}", app.base))
                .bearer_auth(&app.admin)
                .json(&json!({"capacity": 5, "check_in_time": "15:00"})),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    let list = app
        .get(
            &format!(
                "/v1/accommodations?min_position={}",
                changed.body["position"]
            ),
            None,
        )
        .await;
    assert_eq!(list.body[0]["capacity"], 5, "{b:?}");
    assert_eq!(list.body[0]["check_in_time"], "15:00");
    assert_eq!(list.body[0]["name"], "Cabaña del Lago");

    let avail = app
        .get(
            &format!(
                "/v1/availability?check_in={}&check_out={}&guests=2",
                app.day(20),
                app.day(23)
            ),
            None,
        )
        .await;
    assert_eq!(avail.status, 200, "{:?}", avail.body);
    let offers = avail.body["available"].as_array().unwrap();
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0]["quote"]["nights"], 3);

    let quote = app
        .post(
            "/v1/quotes",
            None,
            json!({"accommodation_id": id, "check_in": app.day(20), "check_out": app.day(23), "guests": 2}),
        )
        .await;
    assert_eq!(quote.status, 200, "{:?}", quote.body);
    assert_eq!(quote.body["available"], true);
    let total = quote.body["quote"]["total"].clone();

    let hold = app.hold(&id, 20, 23).await;
    assert_eq!(hold.status, 201, "{:?}", hold.body);
    assert_eq!(hold.body["status"], "held");
    assert_eq!(hold.body["quote"]["total"], total);
    assert!(hold.body["deposit"].is_string());
    assert!(hold.body["expires_at"].is_string());
    let code = hold.body["code"].as_str().unwrap().to_owned();
    let position = hold.body["position"].as_i64().unwrap();

    // The hold shows at once for a client passing the position it was given.
    let avail = app
        .get(
            &format!(
                "/v1/availability?check_in={}&check_out={}&guests=2&min_position={position}",
                app.day(21),
                app.day(22)
            ),
            None,
        )
        .await;
    assert_eq!(avail.body["available"], json!([]), "{b:?}");
    let held = app
        .admin_get(&format!(
            "/v1/admin/reservations?status=held&min_position={position}"
        ))
        .await;
    assert_eq!(held.status, 200);
    assert_eq!(held.body["items"][0]["code"], code.as_str());
    assert_eq!(held.body["items"][0]["guest"]["name"], "Ana Pérez");
    assert_eq!(held.body["items"][0]["status"], "held");
    // A word no reservation's status can be lists nothing; it is not refused.
    let none = app
        .admin_get(&format!(
            "/v1/admin/reservations?status=Held&min_position={position}"
        ))
        .await;
    assert_eq!(
        (none.status, &none.body["items"]),
        (200, &json!([])),
        "{b:?}"
    );
    // The hold's answer and the read model name the same instant (milliseconds both).
    let instant =
        |v: &serde_json::Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(
        instant(&held.body["items"][0]["expires_at"]),
        instant(&hold.body["expires_at"])
    );
    let calendar = app
        .admin_get(&format!(
            "/v1/admin/accommodations/{id}/calendar?from={}&to={}",
            app.day(19),
            app.day(21)
        ))
        .await;
    assert_eq!(calendar.body["nights"][0]["status"], "free");
    assert_eq!(calendar.body["nights"][1]["status"], "held");

    let confirmed = app
        .admin_post(
            &format!("/v1/admin/reservations/{code}/confirm"),
            json!({"amount": hold.body["deposit"], "payment_reference": "transfer 0042"}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    let position = confirmed.body["position"].as_i64().unwrap();
    let status = app
        .get(
            &format!("/v1/reservations/{code}?min_position={position}"),
            None,
        )
        .await;
    assert_eq!(status.body["status"], "confirmed", "{b:?}");
    assert!(
        status.body.get("guest").is_none(),
        "no personal data by code"
    );
    // The transfer is listed with the reservation's payments, as one recorded by hand: the
    // owner reconciles that list against their bank account.
    let mut listed = Value::Null;
    for _ in 0..100 {
        listed = app
            .admin_get(&format!("/v1/admin/reservations/{code}/payments"))
            .await
            .body;
        if listed["payments"].as_array().is_some_and(|p| !p.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let transfer = &listed["payments"][0];
    assert_eq!(transfer["payment_id"], "transfer 0042", "{b:?}: {listed}");
    assert_eq!(transfer["status"], "approved");
    assert_eq!(transfer["status_detail"], "recorded by hand");
    let amount = |v: &Value| {
        v.as_str()
            .and_then(|a| a.parse::<rust_decimal::Decimal>().ok())
    };
    assert_eq!(amount(&transfer["amount"]), amount(&hold.body["deposit"]));

    let timeline = app
        .auditor_get(&format!("/v1/audit/reservations/{code}/timeline"))
        .await;
    assert_eq!(timeline.status, 200);
    let types: Vec<&str> = common::event_types(&timeline.body["events"]);
    assert_eq!(types, ["HoldPlaced", "ReservationConfirmed"]);
    assert_eq!(timeline.body["events"][1]["metadata"]["actor"], "owner");

    let clash = app.hold(&id, 22, 25).await;
    assert_eq!(clash.status, 409, "{:?}", clash.body);
    assert_eq!(clash.content_type, "application/problem+json");
    assert_eq!(clash.body["type"], "/problems/dates-unavailable");

    // A hold nobody pays: once its time passes, the scheduler expires it and the nights free up.
    let lapsing = app.hold(&id, 30, 32).await;
    assert_eq!(lapsing.status, 201);
    let lapsing_code = lapsing.body["code"].as_str().unwrap().to_owned();
    app.advance(chrono::Duration::minutes(31));
    let mut expired = false;
    for _ in 0..100 {
        let s = app
            .get(&format!("/v1/reservations/{lapsing_code}"), None)
            .await;
        if s.body["status"] == "expired" {
            expired = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(expired, "{b:?}: the hold expired");
    let again = app.hold(&id, 30, 32).await;
    assert_eq!(again.status, 201, "{:?}", again.body);

    // The owner gives a guest more time, once, and cancels a hold; both need no body.
    let slow = app.hold(&id, 40, 42).await;
    assert_eq!(slow.status, 201, "{:?}", slow.body);
    let slow_code = slow.body["code"].as_str().unwrap().to_owned();
    let placed_at = slow.body["position"].as_i64().unwrap();
    app.get(
        &format!("/v1/reservations/{slow_code}?min_position={placed_at}"),
        None,
    )
    .await;
    let bare = |action: &str| {
        app.send(
            app.http
                .post(format!(
                    "{}/v1/admin/reservations/{slow_code}/{action}",
                    app.base
                ))
                .bearer_auth(&app.admin),
        )
    };
    let extended = bare("extend").await;
    assert_eq!(extended.status, 200, "{:?}", extended.body);
    assert_eq!(extended.body["event"], "HoldExtended");
    let twice = bare("extend").await;
    assert_eq!(
        twice.status, 409,
        "a hold is extended once: {:?}",
        twice.body
    );
    let nonsense = app
        .admin_post(
            &format!("/v1/admin/reservations/{slow_code}/extend"),
            json!({"minutes": 0}),
        )
        .await;
    assert_eq!(nonsense.status, 422, "{:?}", nonsense.body);
    let cancelled = bare("cancel").await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    assert_eq!(cancelled.body["event"], "ReservationCancelled");

    let events = app.auditor_get("/v1/audit/events?from=0").await;
    let positions: Vec<i64> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, (1..=positions.len() as i64).collect::<Vec<_>>());
    let stream = app
        .auditor_get(&format!("/v1/audit/streams/accommodation-{id}"))
        .await;
    assert_eq!(stream.status, 200);
    let verify = app.auditor_get("/v1/audit/verify").await;
    assert_eq!(verify.status, 200, "{:?}", verify.body);

    let stats = app
        .admin_get(&format!("/v1/admin/stats?min_position={position}"))
        .await;
    assert_eq!(stats.status, 200);
    assert_eq!(stats.body["revenue"][0]["reservations"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_walk_on_sqlite() {
    walk(spawn(Backend::Sqlite, &[]).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booking_walk_on_postgres_with_redis() {
    walk(spawn(Backend::Postgres, &[]).await).await;
}

/// A number booking for the first time links, keys and records its guest in the hold's own
/// transaction; several first bookings from one number at once race for that link. Whoever
/// loses is called off and booked the general way: every hold is placed, all for one guest,
/// with one link, one key and one profile.
async fn first_bookings_at_once_from_one_number_are_one_guest(app: TestApp) {
    let b = app.backend;
    let mut cabins = Vec::new();
    for n in 0..6 {
        cabins.push(app.register(&format!("Cabaña {n}"), 4).await.0);
    }
    let holds = cabins.iter().map(|cabin| app.hold(cabin, 30, 33));
    let placed = futures_util::future::join_all(holds).await;
    for r in &placed {
        assert_eq!(r.status, 201, "{b:?}: {:?}", r.body);
    }
    app::reservations::caught_up(&app.state).await.unwrap();
    let listed = app.admin_get("/v1/admin/reservations").await;
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 6, "{b:?}: {:?}", listed.body);
    let mut guests = std::collections::BTreeSet::new();
    for r in items {
        assert_eq!(r["guest"]["name"], "Ana Pérez", "{b:?}: {r:?}");
        guests.insert(r["guest"]["reference"].as_str().unwrap().to_owned());
    }
    assert_eq!(guests.len(), 1, "{b:?}: {guests:?}");
    let count = |sql: &'static str| {
        let db = app.state.db.clone();
        async move {
            let (n,): (i64,) =
                eventstore::db_fetch!(&db, (i64,), fetch_one, sql.to_owned()).unwrap();
            n
        }
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM guest_directory").await,
        1,
        "{b:?}"
    );
    assert_eq!(count("SELECT COUNT(*) FROM guest_keys").await, 1, "{b:?}");
    let profiles = "SELECT COUNT(*) FROM events WHERE event_type = 'GuestProfileSealed'";
    assert_eq!(count(profiles).await, 1, "{b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_bookings_at_once_from_one_number_on_sqlite() {
    first_bookings_at_once_from_one_number_are_one_guest(spawn(Backend::Sqlite, &[]).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_bookings_at_once_from_one_number_on_postgres() {
    first_bookings_at_once_from_one_number_are_one_guest(spawn(Backend::Postgres, &[]).await).await;
}
