//! What an outside probe found, each kept fixed, on both backends: a refused hold writes
//! nothing; one guest's simultaneous holds both land; a code just answered is never "not
//! found"; client mistakes (a position beyond the log, a wrong method, a control character, a
//! block in year 9999, past nights) are 4xx problems at once; an erasure told twice is one.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::time::{Duration, Instant};

use common::{Backend, TestApp, spawn};
use serde_json::json;

/// Every event appended, stamped with its global position or not yet (PostgreSQL stamps in
/// the background, so the head position alone could move after the request answered).
async fn head(app: &TestApp) -> i64 {
    let (count,): (i64,) = eventstore::db_fetch!(
        &app.state.db,
        (i64,),
        fetch_one,
        "SELECT COUNT(*) FROM events".to_owned()
    )
    .unwrap();
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_hold_appends_nothing() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let placed = app.hold(&acc, 10, 13).await;
        assert_eq!(placed.status, 201, "{backend:?}: {:?}", placed.body);
        let before = head(&app).await;

        // Nights taken, too many guests, an unknown cabin: each refused, none recorded.
        let taken = app.hold(&acc, 11, 14).await;
        assert_eq!(taken.status, 409, "{backend:?}: {:?}", taken.body);
        let crowd = app
            .post(
                "/v1/reservations",
                None,
                json!({"accommodation_id": acc, "check_in": app.day(20), "check_out": app.day(23),
                       "guests": 9, "guest": {"name": "Otra Persona", "phone": "+54 9 11 4444-0000"}}),
            )
            .await;
        assert_eq!(crowd.status, 422, "{backend:?}: {:?}", crowd.body);
        let nowhere = app
            .post(
                "/v1/reservations",
                None,
                json!({"accommodation_id": uuid::Uuid::new_v4(), "check_in": app.day(20),
                       "check_out": app.day(23), "guests": 2,
                       "guest": {"name": "Otra Persona", "phone": "+54 9 11 4444-0000"}}),
            )
            .await;
        assert_eq!(nowhere.status, 404, "{backend:?}: {:?}", nowhere.body);
        assert_eq!(
            head(&app).await,
            before,
            "{backend:?}: something was appended"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_new_guest_placing_two_holds_at_once_gets_both() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        for trial in 0..8 {
            // A new phone each trial: its guest stream is created by whichever hold lands first.
            let phone = format!("+54 9 11 6000-{trial:04}");
            let hold = |from: i64| {
                app.post(
                    "/v1/reservations",
                    None,
                    json!({"accommodation_id": acc, "check_in": app.day(from),
                           "check_out": app.day(from + 2), "guests": 2,
                           "guest": {"name": "Ana Pérez", "phone": phone}}),
                )
            };
            let base = 10 + trial * 6;
            let (a, b) = tokio::join!(hold(base), hold(base + 3));
            for r in [&a, &b] {
                assert_eq!(r.status, 201, "{backend:?} trial {trial}: {:?}", r.body);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_just_answered_is_found_at_once() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        for n in 0..5 {
            let placed = app.hold(&acc, 10 + n * 3, 12 + n * 3).await;
            assert_eq!(placed.status, 201, "{:?}", placed.body);
            let code = placed.body["code"].as_str().unwrap();
            // No min_position, no wait: the very next request.
            let seen = app.get(&format!("/v1/reservations/{code}"), None).await;
            assert_eq!(seen.status, 200, "{backend:?}: {:?}", seen.body);
            if n == 4 {
                let cancelled = app
                    .admin_post(&format!("/v1/admin/reservations/{code}/cancel"), json!({}))
                    .await;
                assert_eq!(cancelled.status, 200, "{backend:?}: {:?}", cancelled.body);
            }
        }
        // And a code nobody was given is still a 404, with its problem.
        let unknown = app.get("/v1/reservations/ZZZZ999", None).await;
        assert_eq!(unknown.status, 404);
        assert_eq!(unknown.body["type"], "/problems/not-found");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mistakes_are_told_at_once_with_a_problem() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, position) = app.register("Cabaña del Lago", 4).await;

        // A position no write answered with: 422 now, not a 503 after five seconds.
        let started = Instant::now();
        let beyond = app
            .get(
                &format!("/v1/accommodations?min_position={}", position + 1000),
                None,
            )
            .await;
        assert_eq!(beyond.status, 422, "{backend:?}: {:?}", beyond.body);
        assert!(started.elapsed() < Duration::from_secs(1), "{backend:?}");

        // Another method on a known path: 405, naming the ones it takes.
        let wrong = app
            .send(app.http.delete(format!("{}/v1/reservations", app.base)))
            .await;
        assert_eq!(wrong.status, 405, "{backend:?}: {:?}", wrong.body);
        assert_eq!(wrong.headers["allow"], "POST");
        assert_eq!(wrong.body["type"], "/problems/method-not-allowed");
        let two = app
            .send(app.http.put(format!("{}/webhooks/whatsapp", app.base)))
            .await;
        assert_eq!(two.headers["allow"], "GET, POST");
        // An unknown path stays 404.
        let nowhere = app.get("/v1/nowhere", None).await;
        assert_eq!(nowhere.status, 404);

        // A body that is not JSON is a malformed request; JSON of the wrong shape is invalid:
        // two kinds of problem, two types.
        let garbled = app
            .send(
                app.http
                    .post(format!("{}/v1/quotes", app.base))
                    .header("content-type", "application/json")
                    .body("{not json"),
            )
            .await;
        let shapeless = app.post("/v1/quotes", None, json!({"guests": "two"})).await;
        assert_eq!(shapeless.status, 422, "{:?}", shapeless.body);
        assert_eq!(shapeless.body["type"], "/problems/validation");
        assert!(garbled.status == 400 || garbled.status == 422);
        if garbled.status == 400 {
            assert_ne!(garbled.body["type"], "/problems/validation");
        }

        // The owner blocks year 9999, or ten years at once: refused, with what is allowed.
        for (from, to) in [("9999-01-01", "9999-01-03"), ("2027-01-01", "2037-01-01")] {
            let block = app
                .admin_post(
                    &format!("/v1/admin/accommodations/{acc}/blocks"),
                    json!({"check_in": from, "check_out": to}),
                )
                .await;
            assert_eq!(block.status, 422, "{backend:?} {from}: {:?}", block.body);
        }

        // Past nights: availability and a quote say the same thing.
        let (from, to) = (app.day(-5), app.day(-3));
        let search = app
            .get(
                &format!("/v1/availability?check_in={from}&check_out={to}&guests=2"),
                None,
            )
            .await;
        let quote = app
            .post(
                "/v1/quotes",
                None,
                json!({"accommodation_id": acc, "check_in": from, "check_out": to, "guests": 2}),
            )
            .await;
        assert_eq!(search.status, 422, "{backend:?}: {:?}", search.body);
        assert_eq!(quote.status, 422, "{backend:?}: {:?}", quote.body);
        assert_eq!(search.body["type"], quote.body["type"]);

        // A control character in the export's channel: 422, and never echoed in a header.
        app.state.runner.catch_up().await.unwrap();
        let urls = app
            .admin_get(&format!("/v1/admin/accommodations/{acc}/ical"))
            .await;
        let url = urls.body["url"].as_str().unwrap();
        let path = url.split_once("/ical/").unwrap().1;
        // A NUL anywhere in a URL is malformed before any route reads it (400).
        for (bad, status) in [("%0A", 422), ("%00", 400), ("%7F", 422)] {
            let r = app
                .get(&format!("/ical/{path}&channel=air{bad}bnb"), None)
                .await;
            assert_eq!(r.status, status, "{backend:?} {bad}: {:?}", r.body);
            assert!(r.headers.get("etag").is_none());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_told_twice_is_recorded_once() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        assert_eq!(app.hold(&acc, 10, 12).await.status, 201);
        let guest = eventstore::pii::find_guest(&app.state.db, "+54 9 11 5555-1234")
            .await
            .unwrap()
            .unwrap()
            .stream_id();
        let erase = || {
            app.send(
                app.http
                    .delete(format!(
                        "{}/v1/admin/guests/{guest}/personal-data",
                        app.base
                    ))
                    .bearer_auth(&app.admin),
            )
        };
        // Counted in the guest's stream: the global head is stamped in the background on
        // PostgreSQL, so it is no measure of what one request appended.
        let erasures = || async {
            let events = app.state.store.read_stream(&guest, 0).await.unwrap();
            events
                .iter()
                .filter(|e| e.event_type == "GuestPersonalDataErased")
                .count()
        };
        assert_eq!(erase().await.status, 200);
        assert_eq!(erasures().await, 1, "{backend:?}");
        let again = erase().await;
        assert_eq!(again.status, 200, "{backend:?}: {:?}", again.body);
        assert_eq!(erasures().await, 1, "{backend:?}: a second erasure event");
    }
}

/// The readiness answer never waits on the database: measured in the background, it comes
/// back at once, ready or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_answers_at_once() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        for _ in 0..5 {
            let started = Instant::now();
            let ready = app.get("/readyz", None).await;
            assert_eq!(ready.status, 200, "{backend:?}: {:?}", ready.body);
            assert!(started.elapsed() < Duration::from_secs(1));
        }
    }
}
