//! Channel sync over iCal on both backends, with wiremock serving feeds in Airbnb's real
//! export shape: the first import blocks the right nights (exclusive DTEND); an identical fetch
//! changes nothing; a moved UID moves its block; a vanished UID is unblocked; an HTML page, a
//! 429, a truncated file and a suddenly empty feed change nothing and mark the feed unhealthy;
//! an imported booking over a confirmed direct stay is a conflict, not a second booking. And the
//! export: a hold appears in it, folded CRLF text with ETag/304, no echo to its own channel.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use common::{Backend, TestApp, spawn};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ymd(app: &TestApp, days: i64) -> String {
    app.day(days).replace('-', "")
}

/// A feed shaped like Airbnb's real export (see the fixtures), with dates relative to today.
fn airbnb(app: &TestApp, events: &[(&str, i64, i64, &str)]) -> String {
    let mut s = String::from(
        "BEGIN:VCALENDAR\r\nPRODID;X-RICAL-TZSOURCE=TZINFO:-//Airbnb Inc//Hosting Calendar 0.8.8//EN\r\n\
         CALSCALE:GREGORIAN\r\nVERSION:2.0\r\n",
    );
    for (uid, from, to, summary) in events {
        s.push_str(&format!(
            "BEGIN:VEVENT\r\nDTEND;VALUE=DATE:{}\r\nDTSTART;VALUE=DATE:{}\r\nUID:{uid}\r\n",
            ymd(app, *to),
            ymd(app, *from)
        ));
        if *summary == "Reserved" {
            s.push_str(
                "DESCRIPTION:Reservation URL: https://www.airbnb.com/hosting/reservations/\r\n \
                 details/HMN43F95QS\\nPhone Number (Last 4 Digits): 2656\r\n",
            );
        }
        s.push_str(&format!("SUMMARY:{summary}\r\nEND:VEVENT\r\n"));
    }
    s.push_str("END:VCALENDAR\r\n");
    s
}

async fn serve(server: &MockServer, response: ResponseTemplate) {
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/calendar/ical/123.ics"))
        .respond_with(response)
        .mount(server)
        .await;
}

fn ics(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/calendar; charset=utf-8")
        .set_body_string(body)
}

/// The blocked nights as (check_in, check_out), from the availability read model.
async fn blocked(app: &TestApp) -> Vec<(String, String)> {
    app.state.runner.catch_up().await.unwrap();
    let rows: Vec<(chrono::NaiveDate, chrono::NaiveDate)> = eventstore::db_fetch!(
        &app.state.db,
        (chrono::NaiveDate, chrono::NaiveDate),
        fetch_all,
        "SELECT check_in, check_out FROM rm_stays WHERE status = 'blocked' ORDER BY check_in"
            .to_owned()
    )
    .unwrap();
    rows.into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// The blocked nights once every event of the cabin is in the read model. Waiting for the
/// nights to look right would pass before a late change lands; this waits for the log instead:
/// on PostgreSQL an event gets its position a moment after its commit.
async fn blocked_once_settled(app: &TestApp, acc: &str) -> Vec<(String, String)> {
    let stream = format!("accommodation-{acc}");
    for _ in 0..200 {
        let events = app.state.store.read_stream(&stream, 0).await.unwrap();
        if events.iter().all(|e| e.position.is_some()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    blocked(app).await
}

/// Adds the fake server's Airbnb calendar to the cabin; the feed's id.
async fn add_airbnb_feed(app: &TestApp, acc: &str, server: &MockServer) -> String {
    let added = app
        .admin_post(
            &format!("/v1/admin/accommodations/{acc}/feeds"),
            json!({"source": "airbnb", "url": format!("{}/calendar/ical/123.ics", server.uri())}),
        )
        .await;
    assert_eq!(added.status, 201, "{:?}", added.body);
    added.body["id"].as_str().unwrap().to_owned()
}

/// The id of a reservation in Airbnb's export (from a real one).
const AIRBNB_UID: &str = "1418fb94e984-8c79f32c389eb94bda0c2dba727de2dc@airbnb.com";

/// A service (with `vars`) with a cabin whose Airbnb calendar `server` serves: (the app, the
/// cabin, the feed).
async fn cabin_with_airbnb_feed(
    backend: Backend,
    vars: &[(&str, &str)],
    server: &MockServer,
) -> (TestApp, String, String) {
    let app = spawn(backend, vars).await;
    let (acc, _) = app.register("Cabaña del Lago", 4).await;
    app.state.runner.catch_up().await.unwrap();
    let feed = add_airbnb_feed(&app, &acc, server).await;
    (app, acc, feed)
}

async fn remove_feed(app: &TestApp, acc: &str, feed: &str) -> common::Reply {
    app.send(
        app.http
            .delete(format!(
                "{}/v1/admin/accommodations/{acc}/feeds/{feed}",
                app.base
            ))
            .bearer_auth(&app.admin),
    )
    .await
}

async fn sync(app: &TestApp, acc: &str, feed: &str) -> Value {
    let r = app
        .admin_post(
            &format!("/v1/admin/accommodations/{acc}/feeds/{feed}/sync"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_calendar_is_applied_safely() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = MockServer::start().await;
        let vars = [
            ("CABANAS_ICAL_EMPTY_GUARD", "1"),
            ("CABANAS_OWNER_WHATSAPP", "+54 9 11 4444-0000"),
        ];
        let (app, acc, feed) = cabin_with_airbnb_feed(backend, &vars, &server).await;
        let twice = app
            .admin_post(
                &format!("/v1/admin/accommodations/{acc}/feeds"),
                json!({"source": "airbnb", "url": "https://example.com/other.ics"}),
            )
            .await;
        assert_eq!(twice.status, 409);

        let a = AIRBNB_UID;
        let b = "6fec1092d3fa-4813751b0374f1458ade612fb440c43b@airbnb.com";
        let first = airbnb(
            &app,
            &[
                (a, 10, 14, "Reserved"),
                (b, 20, 25, "Airbnb (Not available)"),
            ],
        );
        serve(&server, ics(first.clone())).await;
        let out = sync(&app, &acc, &feed).await;
        assert_eq!(out["healthy"], true, "{backend:?}: {out}");
        assert_eq!(out["changes"].as_array().unwrap().len(), 2, "{out}");
        // Exclusive DTEND: the night before check-out is the last one blocked.
        assert_eq!(
            blocked(&app).await,
            vec![(app.day(10), app.day(14)), (app.day(20), app.day(25))]
        );
        let taken = app.hold(&acc, 13, 15).await;
        assert_eq!(taken.status, 409, "{backend:?}");
        let free = app.hold(&acc, 14, 16).await;
        assert_eq!(free.status, 201, "{backend:?}: {:?}", free.body);

        // The same feed again (Booking.com-style churn aside): nothing happens.
        let again = sync(&app, &acc, &feed).await;
        assert_eq!(again["changes"], json!([]), "{backend:?}");

        // The reservation moves a day later; the block disappears.
        serve(&server, ics(airbnb(&app, &[(a, 11, 14, "Reserved")]))).await;
        let moved = sync(&app, &acc, &feed).await;
        let changes: Vec<&str> = moved["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert!(changes.iter().any(|c| c.starts_with("unblock")));
        assert!(changes.iter().any(|c| c.starts_with("move")));
        let after_move = blocked(&app).await;
        assert_eq!(after_move, vec![(app.day(11), app.day(14))]);

        // Bad fetches: nothing changes, the feed says why.
        let bad = [
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html")
                .set_body_string("<!DOCTYPE html><html><body>Too Many Requests</body></html>"),
            ResponseTemplate::new(429),
            ics("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x@airbnb.com\r\nDTSTART;VALUE=DATE:2026".into()),
            ics("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nEND:VCALENDAR\r\n".into()),
        ];
        for response in bad {
            serve(&server, response).await;
            let out = sync(&app, &acc, &feed).await;
            assert_eq!(out["healthy"], false, "{backend:?}: {out}");
            assert_eq!(out["changes"], json!([]));
            assert_eq!(blocked(&app).await, after_move, "{backend:?}: {out}");
        }
        let feeds = app
            .admin_get(&format!("/v1/admin/accommodations/{acc}/feeds"))
            .await;
        assert_eq!(feeds.body["feeds"][0]["healthy"], false);
        assert!(
            feeds.body["feeds"][0]["error"]
                .as_str()
                .unwrap()
                .contains("no events"),
            "{:?}",
            feeds.body
        );

        // A booking taken directly and paid; then Airbnb shows a guest on the same nights.
        let direct = app.hold(&acc, 30, 32).await;
        let code = direct.body["code"].as_str().unwrap().to_owned();
        app.state.runner.catch_up().await.unwrap();
        let paid = app
            .admin_post(
                &format!("/v1/admin/reservations/{code}/confirm"),
                json!({"amount": "30000", "payment_reference": "transfer 7"}),
            )
            .await;
        assert_eq!(paid.status, 200, "{:?}", paid.body);
        serve(
            &server,
            ics(airbnb(
                &app,
                &[
                    (a, 11, 14, "Reserved"),
                    ("c@airbnb.com", 31, 33, "Reserved"),
                ],
            )),
        )
        .await;
        let out = sync(&app, &acc, &feed).await;
        assert_eq!(out["healthy"], true);
        assert!(
            out["changes"][0].as_str().unwrap().starts_with("CONFLICT"),
            "{out}"
        );
        assert_eq!(
            blocked(&app).await,
            after_move,
            "{backend:?}: no second booking"
        );
        let conflicts = app.admin_get("/v1/admin/conflicts").await;
        let open = conflicts.body["conflicts"].as_array().unwrap();
        assert_eq!(open.len(), 1, "{backend:?}");
        assert_eq!(open[0]["uid"], "c@airbnb.com");
        assert_eq!(open[0]["occupant"]["code"], code);
        let told: Vec<(String,)> = eventstore::db_fetch!(
            &app.state.db,
            (String,),
            fetch_all,
            "SELECT body FROM wa_outbox WHERE wa_id = '5491144440000'".to_owned()
        )
        .unwrap();
        assert_eq!(told.len(), 1, "{backend:?}: the owner is told once");
        assert!(told[0].0.contains(&code));

        // A feed left unsynced too long degrades readiness.
        app.advance(chrono::Duration::minutes(30));
        let ready = app.get("/readyz", None).await;
        assert_eq!(ready.body["status"], "degraded", "{:?}", ready.body);

        // Removing the feed frees its nights.
        let removed = remove_feed(&app, &acc, &feed).await;
        assert_eq!(removed.status, 204);
        assert_eq!(blocked_once_settled(&app, &acc).await, vec![]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_is_valid_cheap_to_poll_and_never_echoes() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = MockServer::start().await;
        let app = spawn(backend, &[]).await;
        let (acc, _) = app.register("Cabaña del Lago, \"la grande\"", 4).await;
        app.state.runner.catch_up().await.unwrap();
        let urls = app
            .admin_get(&format!("/v1/admin/accommodations/{acc}/ical"))
            .await;
        let url = urls.body["url"].as_str().unwrap().to_owned();
        let path_and_query = url.split_once("/ical/").unwrap().1.to_owned();
        let export = |extra: &str| format!("/ical/{path_and_query}{extra}");

        let held = app.hold(&acc, 5, 8).await;
        let code = held.body["code"].as_str().unwrap().to_owned();
        app.state.runner.catch_up().await.unwrap();
        let first = app
            .send(app.http.get(format!("{}{}", app.base, export(""))))
            .await;
        assert_eq!(first.status, 200, "{backend:?}: {:?}", first.body);
        assert!(first.content_type.starts_with("text/calendar"));
        let text = first.body.as_str().unwrap().to_owned();
        assert!(text.contains(&format!("X-CODE:{code}")), "{text}");
        assert!(text.contains(&format!("DTSTART;VALUE=DATE:{}", ymd(&app, 5))));
        assert!(text.contains(&format!("DTEND;VALUE=DATE:{}", ymd(&app, 8))));
        assert!(text.contains("X-SOURCE:direct"));
        for line in text.split("\r\n") {
            assert!(line.len() <= 75 && !line.contains('\n'), "{line:?}");
        }
        let parsed = integrations::ical::parse(text.as_bytes(), -180).unwrap();
        assert_eq!(parsed.events.len(), 1);
        let reread: icalendar::Calendar = text.parse().unwrap();
        assert_eq!(reread.components.len(), 1);
        std::fs::write(
            format!(
                "{}/ical-export-{backend:?}.ics",
                env!("CARGO_TARGET_TMPDIR")
            ),
            &text,
        )
        .unwrap();

        // Polling an unchanged calendar: 304 from its ETag.
        let etag = first
            .headers
            .get("etag")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let again = app
            .send(
                app.http
                    .get(format!("{}{}", app.base, export("")))
                    .header("If-None-Match", &etag),
            )
            .await;
        assert_eq!(again.status, 304, "{backend:?}");
        let wrong = app.get(&format!("/ical/{acc}.ics?token=nope"), None).await;
        assert_eq!(wrong.status, 403);

        // An Airbnb block goes to Booking.com but not back to Airbnb.
        let feed = app
            .admin_post(&format!("/v1/admin/accommodations/{acc}/feeds"), json!({"source": "airbnb", "url": format!("{}/calendar/ical/123.ics", server.uri())}))
            .await;
        let feed = feed.body["id"].as_str().unwrap().to_owned();
        serve(
            &server,
            ics(airbnb(
                &app,
                &[("z@airbnb.com", 20, 22, "Airbnb (Not available)")],
            )),
        )
        .await;
        sync(&app, &acc, &feed).await;
        app.state.runner.catch_up().await.unwrap();
        let changed = app
            .send(
                app.http
                    .get(format!("{}{}", app.base, export("")))
                    .header("If-None-Match", &etag),
            )
            .await;
        assert_eq!(
            changed.status, 200,
            "{backend:?}: a new block is a new version"
        );
        let to_booking = app
            .send(
                app.http
                    .get(format!("{}{}", app.base, export("&channel=booking"))),
            )
            .await;
        assert!(
            to_booking
                .body
                .as_str()
                .unwrap()
                .contains("X-SOURCE:airbnb")
        );
        let to_airbnb = app
            .send(
                app.http
                    .get(format!("{}{}", app.base, export("&channel=airbnb"))),
            )
            .await;
        assert!(!to_airbnb.body.as_str().unwrap().contains("X-SOURCE:airbnb"));
        assert!(to_airbnb.body.as_str().unwrap().contains(&code));

        // Rotating the token retires the old URL.
        let rotated = app
            .admin_post(
                &format!("/v1/admin/accommodations/{acc}/ical/rotate"),
                json!({}),
            )
            .await;
        assert_eq!(rotated.status, 200);
        let old = app
            .send(app.http.get(format!("{}{}", app.base, export(""))))
            .await;
        assert_eq!(old.status, 403);
    }
}

/// A calendar removed while one of its downloads is under way leaves nothing behind: the
/// download's blocks are not applied, or are lifted again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_calendar_removed_during_its_download_leaves_no_block() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = MockServer::start().await;
        let (app, acc, feed) = cabin_with_airbnb_feed(backend, &[], &server).await;
        let uid = AIRBNB_UID;
        let slow = ics(airbnb(&app, &[(uid, 10, 14, "Reserved")]))
            .set_delay(std::time::Duration::from_millis(600));
        serve(&server, slow).await;

        let syncing = {
            let (http, base, admin) = (app.http.clone(), app.base.clone(), app.admin.clone());
            let url = format!("{base}/v1/admin/accommodations/{acc}/feeds/{feed}/sync");
            tokio::spawn(async move {
                http.post(url)
                    .bearer_auth(admin)
                    .json(&json!({}))
                    .send()
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let removed = remove_feed(&app, &acc, &feed).await;
        assert_eq!(removed.status, 204, "{backend:?}");
        let synced = syncing.await.unwrap().unwrap();
        assert_eq!(synced.status(), 200, "{backend:?}");

        assert_eq!(
            blocked_once_settled(&app, &acc).await,
            vec![],
            "{backend:?}"
        );
        let listed = app
            .admin_get(&format!("/v1/admin/accommodations/{acc}/feeds"))
            .await;
        assert_eq!(listed.body["feeds"], json!([]), "{backend:?}");
    }
}

/// A removal whose request failed half-way (the feed marked, its blocks still there) is
/// finished by the poller once it is clearly not under way any more: the nights are freed and
/// the same channel's calendar can be added again. Until then, adding one says why it cannot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_that_failed_half_way_is_finished_by_the_poller() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let server = MockServer::start().await;
        let (app, acc, feed) = cabin_with_airbnb_feed(backend, &[], &server).await;
        let uid = AIRBNB_UID;
        serve(&server, ics(airbnb(&app, &[(uid, 10, 14, "Reserved")]))).await;
        sync(&app, &acc, &feed).await;
        let nights = vec![(app.day(10), app.day(14))];
        assert_eq!(
            blocked_once_settled(&app, &acc).await,
            nights,
            "{backend:?}"
        );

        // What a request that failed after marking the feed leaves behind.
        let marked_at = app.state.now().timestamp_millis();
        eventstore::db_exec!(
            &app.state.db,
            "UPDATE ical_feeds SET removed_at_ms = $2 WHERE id = $1".to_owned(),
            feed.clone(),
            marked_at
        )
        .unwrap();
        let again = app
            .admin_post(&format!("/v1/admin/accommodations/{acc}/feeds"), json!({"source": "airbnb", "url": format!("{}/calendar/ical/123.ics", server.uri())}))
            .await;
        assert_eq!(again.status, 409, "{backend:?}");
        assert!(
            again.body["detail"]
                .as_str()
                .unwrap()
                .contains("still being removed"),
            "{:?}",
            again.body
        );
        // Too recent to be called failed: its request may still be lifting.
        assert_eq!(
            app::calendar::finish_removals(&app.state).await.unwrap(),
            0,
            "{backend:?}"
        );
        assert_eq!(
            blocked_once_settled(&app, &acc).await,
            nights,
            "{backend:?}"
        );

        app.advance(chrono::Duration::minutes(2));
        // The service's own poller may get there first; either way it ends the same.
        let mut gone = false;
        for _ in 0..100 {
            app::calendar::finish_removals(&app.state).await.unwrap();
            let left: Vec<(String,)> = eventstore::db_fetch!(
                &app.state.db,
                (String,),
                fetch_all,
                "SELECT id FROM ical_feeds WHERE id = $1".to_owned(),
                feed.clone()
            )
            .unwrap();
            if left.is_empty() {
                gone = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(gone, "{backend:?}: the feed is forgotten");
        assert_eq!(
            blocked_once_settled(&app, &acc).await,
            vec![],
            "{backend:?}"
        );
        add_airbnb_feed(&app, &acc, &server).await;
    }
}
