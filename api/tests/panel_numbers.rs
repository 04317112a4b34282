//! The panel's numbers and cabins pages (issue 28, item 3), on both backends, driven as a
//! browser would: a confirmed stay's occupancy on the page, in its SVG chart and in the CSV;
//! a cabin's prices as money; the export links for an admin and not for an auditor.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::time::{Duration, Instant};

use api::auth::Role;
use api::panel::users;
use chrono::{Datelike, Months, NaiveDate, Utc};
use common::panel::{Browser, PASSWORD, Page};
use common::{Backend, TestApp, spawn};
use serde_json::json;

// The browser below is copied from `panel.rs` (each test binary is its own crate).
async fn add_user(app: &TestApp, email: &str, role: Role) {
    let now = Utc::now().timestamp_millis();
    users::add(&app.state.db, email, role, PASSWORD, now)
        .await
        .unwrap();
}

/// Polls `path` until it shows `wanted` (the read models trail the write).
async fn page_showing(browser: &mut Browser, path: &str, wanted: &str) -> Page {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        if page.body.contains(wanted) || Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The 10th of next month, in days from today (as `TestApp::day` counts them), and the days
/// of that month: a three-night stay from then is all in one month.
fn next_month_tenth() -> (i64, NaiveDate, i64) {
    let today = Utc::now().date_naive();
    let first = today.with_day(1).unwrap() + Months::new(1);
    let days = (first + Months::new(1) - first).num_days();
    (
        (first + chrono::Days::new(9) - today).num_days(),
        first,
        days,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_stay_shows_in_the_numbers_the_chart_and_the_csv() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        add_user(&app, "duena@example.com", Role::Admin).await;
        add_user(&app, "auditora@example.com", Role::Auditor).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let (ahead, month, days) = next_month_tenth();
        let hold = app.hold(&acc, ahead, ahead + 3).await;
        assert_eq!(hold.status, 201, "{backend:?}: {:?}", hold.body);
        let code = hold.body["code"].as_str().unwrap().to_owned();
        let confirmed = app
            .admin_post(
                &format!("/v1/admin/reservations/{code}/confirm"),
                json!({"amount": hold.body["deposit"], "payment_reference": "transfer 7"}),
            )
            .await;
        assert_eq!(confirmed.status, 200, "{backend:?}: {:?}", confirmed.body);

        // By hand: 3 nights sold of the month's nights, in tenths of a percent.
        let tenths = (3000 + days / 2) / days;
        let share = format!("{},{}", tenths / 10, tenths % 10);
        let mut owner = Browser::new(&app);
        owner.sign_in("duena@example.com", PASSWORD).await;
        let numbers = page_showing(&mut owner, "/panel/numeros", &format!("{share} %")).await;
        let body = &numbers.body;
        for part in [
            format!("{share} %"),
            "3 de ".to_owned(),
            "<svg".to_owned(),
            "<title id=\"ocupacion-t\">".to_owned(),
            "<desc".to_owned(),
            ">Números</a>".to_owned(),
            ">Cabañas</a>".to_owned(),
        ] {
            assert!(body.contains(&part), "{backend:?}: no {part}: {body}");
        }
        assert!(body.len() < 100 * 1024, "{backend:?}: {} bytes", body.len());

        // The auditor may download the CSV too: the same figure, under a header.
        let mut auditor = Browser::new(&app);
        auditor.sign_in("auditora@example.com", PASSWORD).await;
        let key = month.format("%Y-%m").to_string();
        let csv = auditor
            .get(&format!("/panel/numeros.csv?desde={key}&hasta={key}"))
            .await;
        assert_eq!(csv.status, 200, "{backend:?}: {}", csv.body);
        assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
        let disposition = csv.headers["content-disposition"].to_str().unwrap();
        assert!(disposition.starts_with("attachment"), "{disposition}");
        let first = csv.body.trim_start_matches('\u{feff}').lines().next();
        assert_eq!(
            first,
            Some("indicador;mes;cabaña;canal;valor"),
            "{backend:?}"
        );
        let line = format!("ocupación %;{key};Cabaña del Lago;;{share}");
        assert!(
            csv.body.contains(&line),
            "{backend:?}: no {line}: {}",
            csv.body
        );

        let bad = owner.get("/panel/numeros?desde=2027-13").await;
        assert_eq!(bad.status, 400, "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cabins_page_shows_prices_and_only_an_admin_sees_the_export_links() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        add_user(&app, "duena@example.com", Role::Admin).await;
        add_user(&app, "auditora@example.com", Role::Auditor).await;
        let (acc, _) = app.register("Cabaña <i>del</i> Bosque", 4).await;
        // The channel's own export URL carries its secret: an auditor must not see it either.
        let feed_url = "http://127.0.0.1:9/calendario-secreto.ics";
        app.state.runner.catch_up().await.unwrap(); // the feed needs the cabin in the read model
        let feed = app
            .admin_post(
                &format!("/v1/admin/accommodations/{acc}/feeds"),
                json!({"source": "airbnb", "url": feed_url}),
            )
            .await;
        assert_eq!(feed.status, 201, "{backend:?}: {:?}", feed.body);

        let mut owner = Browser::new(&app);
        owner.sign_in("duena@example.com", PASSWORD).await;
        let list = page_showing(&mut owner, "/panel/cabanas", &acc).await;
        for part in [
            "$ 40.000",
            "Cabaña &lt;i&gt;del&lt;/i&gt; Bosque",
            "2 noches",
        ] {
            assert!(
                list.body.contains(part),
                "{backend:?}: no {part}: {}",
                list.body
            );
        }
        let path = format!("/panel/cabanas/{acc}");
        let page = owner.get(&path).await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.body);
        for part in [
            "$ 40.000",
            "$ 8.000",
            "× 1,25",
            "14:00",
            "class=\"ical\"",
            feed_url,
        ] {
            assert!(
                page.body.contains(part),
                "{backend:?}: no {part}: {}",
                page.body
            );
        }
        let urls = app
            .admin_get(&format!("/v1/admin/accommodations/{acc}/ical"))
            .await;
        let token = urls.body["url"]
            .as_str()
            .unwrap()
            .split("token=")
            .nth(1)
            .unwrap();
        assert!(
            page.body.contains(token),
            "{backend:?}: the admin sees no link"
        );

        let mut auditor = Browser::new(&app);
        auditor.sign_in("auditora@example.com", PASSWORD).await;
        let seen = auditor.get(&path).await;
        assert_eq!(seen.status, 200, "{backend:?}: {}", seen.body);
        for part in ["$ 40.000", "<th scope=\"row\">Airbnb</th>"] {
            assert!(
                seen.body.contains(part),
                "{backend:?}: no {part}: {}",
                seen.body
            );
        }
        assert!(!seen.body.contains("calendario-secreto"), "{backend:?}");
        assert!(!seen.body.contains("class=\"ical\""), "{backend:?}");
        assert!(
            !seen.body.contains(token),
            "{backend:?}: an auditor saw the token"
        );
        assert_eq!(auditor.get("/panel/cabanas/nada").await.status, 404);
    }
}
