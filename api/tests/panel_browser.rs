//! The owner's web panel in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which scripts/test installs) driven over the W3C WebDriver protocol, on a
//! phone-sized window, on both backends: signing in through the form, the calendar showing a
//! hold placed through the public API, a hold placed while the page is open appearing without a
//! reload (server-sent events), signing out. Each page is saved as a
//! screenshot under `target/panel-screenshots/` to be looked at.
//!
//! The WebDriver client is the few calls the scenarios need (`browser/webdriver.rs`).

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::time::{Duration, Instant};

use api::auth::Role;
use common::{Backend, TestApp, spawn};
use serde_json::json;
use webdriver::{Driver, Session};

const PASSWORD: &str = "una clave bien larga";

/// The owner, able to sign in.
async fn owner(app: &TestApp) -> &'static str {
    let email = "duena@cabanas.test";
    let now = app.state.now().timestamp_millis();
    api::panel::users::add(&app.state.db, email, Role::Admin, PASSWORD, now)
        .await
        .unwrap();
    email
}

async fn sign_in(browser: &Session, app: &TestApp, email: &str) {
    browser.go(&format!("{}/panel/", app.base)).await;
    browser.type_into("#email", email).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("form.in button[type=submit]").await;
}

/// A cabin with a hold from `from` to `to` days ahead, the read models caught up: (the cabin,
/// the hold's code).
async fn cabin_with_a_hold(app: &TestApp, from: i64, to: i64) -> (String, String) {
    let (acc, _) = app.register("Cabaña del Lago", 4).await;
    let held = app.hold(&acc, from, to).await;
    assert_eq!(held.status, 201, "{:?}: {:?}", app.backend, held.body);
    let code = held.body["code"].as_str().unwrap().to_owned();
    app.state.runner.catch_up().await.unwrap();
    (acc, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_signs_in_and_sees_the_calendar_in_a_browser() {
    let driver = Driver::start().await;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let name = format!("{backend:?}").to_lowercase();
        let email = owner(&app).await;
        let (acc, code) = cabin_with_a_hold(&app, 3, 5).await;

        let browser = Session::open(&driver).await;
        browser.go(&format!("{}/panel/", app.base)).await;
        browser.screenshot(&format!("{name}-sign-in")).await;
        sign_in(&browser, &app, email).await;
        let landed = browser.wait_for_url("/panel/calendario").await;
        assert!(
            landed.contains("/panel/calendario"),
            "{backend:?}: signed in, the calendar opens; at {landed}"
        );
        let page = browser.source().await;
        assert!(page.contains("Cabaña del Lago"), "{backend:?}");
        assert!(
            page.contains(&code),
            "{backend:?}: the hold's code on its first night"
        );
        let shot = browser.screenshot(&format!("{name}-calendar")).await;
        assert!(std::fs::metadata(&shot).unwrap().len() > 1000);

        // A hold placed while the owner looks appears without reloading the page.
        let later = app.hold(&acc, 8, 10).await;
        assert_eq!(later.status, 201, "{backend:?}: {:?}", later.body);
        let later = later.body["code"].as_str().unwrap().to_owned();
        let started = Instant::now();
        while !browser.source().await.contains(&later) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{backend:?}: the new hold did not appear on the open calendar"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            browser.url().await.contains("/panel/calendario"),
            "{backend:?}: the same page, not a navigation"
        );

        // Every other page opens from the bar, and is kept to be looked at.
        for (page, shot) in [
            ("/panel/reservas", "reservations"),
            ("/panel/alertas", "alerts"),
            ("/panel/conversaciones", "conversations"),
            ("/panel/numeros", "numbers"),
            ("/panel/cabanas", "cabins"),
        ] {
            browser.go(&format!("{}{page}", app.base)).await;
            let source = browser.source().await;
            assert!(
                source.contains(&format!("href=\"{page}\" aria-current=\"page\"")),
                "{backend:?}: {page} with the bar, its own link marked current"
            );
            browser.screenshot(&format!("{name}-{shot}")).await;
        }

        // Signing out ends the session: the calendar asks to sign in again.
        // The click only starts the POST: navigating at once could abort it, so wait until the
        // sign-in page it leads to is shown.
        browser.click("nav form button[type=submit]").await;
        assert!(
            browser.wait_for_text("name=\"password\"").await,
            "{backend:?}: signing out leads to the sign-in page"
        );
        browser.go(&format!("{}/panel/calendario", app.base)).await;
        assert!(
            browser.source().await.contains("name=\"password\""),
            "{backend:?}: signed out, the sign-in form again"
        );
        browser.close().await;
    }
}

/// The owner works a reservation from its page: confirms the transfer, moves the stay after
/// seeing the new total, cancels after seeing what the policy gives back; an auditor sees the
/// same page with nothing to press.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_confirms_moves_and_cancels_from_a_reservations_page() {
    let driver = Driver::start().await;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let name = format!("{backend:?}").to_lowercase();
        let email = owner(&app).await;
        let (_, code) = cabin_with_a_hold(&app, 20, 22).await;
        let page = format!("{}/panel/reservas/{code}", app.base);

        let browser = Session::open(&driver).await;
        sign_in(&browser, &app, email).await;
        browser.wait_for_url("/panel/calendario").await;
        browser.go(&page).await;
        browser.act("Confirmar una transferencia").await;
        browser.click("details[open] button[type=submit]").await;
        assert!(
            browser.wait_for_text("confirmada").await,
            "{backend:?}: confirmed from its page"
        );
        browser.screenshot(&format!("{name}-reservation")).await;

        // Move: the new total is shown first, and nothing is recorded until it is confirmed.
        browser.act("Mover la estadía").await;
        browser
            .set_value("details[open] input[name=entrada]", &app.day(30))
            .await;
        browser
            .set_value("details[open] input[name=salida]", &app.day(33))
            .await;
        browser.click("details[open] button[type=submit]").await;
        assert!(
            browser.wait_for_text("Confirmar el cambio").await,
            "{backend:?}: the move's preview"
        );
        browser.screenshot(&format!("{name}-move-preview")).await;
        browser.click("form.act button[type=submit]").await;
        assert!(
            browser.wait_for_text("3 noches").await,
            "{backend:?}: moved to three nights"
        );

        // Cancel: what the policy gives back first, then the cancellation.
        browser.go(&page).await;
        browser.act("Cancelar la reserva").await;
        browser.click("details[open] button[type=submit]").await;
        assert!(
            browser.wait_for_text("Sí, cancelar la reserva").await,
            "{backend:?}: the refund preview"
        );
        browser.screenshot(&format!("{name}-cancel-preview")).await;
        browser.click("form.act button[type=submit]").await;
        assert!(
            browser.wait_for_text("cancelada").await,
            "{backend:?}: cancelled"
        );
        browser.close().await;

        // An auditor sees the page and nothing to press.
        let now = app.state.now().timestamp_millis();
        api::panel::users::add(
            &app.state.db,
            "auditor@cabanas.test",
            Role::Auditor,
            PASSWORD,
            now,
        )
        .await
        .unwrap();
        let auditor = Session::open(&driver).await;
        sign_in(&auditor, &app, "auditor@cabanas.test").await;
        auditor.wait_for_url("/panel/calendario").await;
        auditor.go(&page).await;
        let seen = auditor.source().await;
        assert!(seen.contains(&code), "{backend:?}: the auditor sees it");
        assert!(
            !seen.contains("form class=\"act\""),
            "{backend:?}: and no forms"
        );
        auditor.close().await;
    }
}

/// The part of `url` after `prefix` up to a `?` or the end: an id in a path.
fn id_after(url: &str, prefix: &str) -> String {
    let rest = &url[url.find(prefix).unwrap() + prefix.len()..];
    rest.split(['?', '/']).next().unwrap().to_owned()
}

/// A stay confirmed with its deposit taken by hand, then cancelled by the owner with everything
/// back: a refund to make by hand, an alert.
async fn refund_owed_by_hand(app: &TestApp, acc: &str) -> String {
    let code = confirmed(app, acc, 10, 13).await;
    let cancel = format!("/v1/admin/reservations/{code}/cancel");
    let cancelled = app.admin_post(&cancel, json!({"refund_all": true})).await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    app::reservations::caught_up(&app.state).await.unwrap();
    code
}

/// A stay from `from` to `to` days ahead, on the owner's calendar (Argentina), confirmed with
/// its deposit taken by hand.
async fn confirmed(app: &TestApp, acc: &str, from: u64, to: u64) -> String {
    let offset = domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES;
    let today = domain::accommodation::local_today(chrono::Utc::now(), offset);
    let day = |n| (today + chrono::Days::new(n)).to_string();
    let body = json!({
        "accommodation_id": acc, "check_in": day(from), "check_out": day(to), "guests": 2,
        "guest": {"name": "Ana Pérez", "phone": "+54 9 11 5555-1234"}
    });
    let hold = app.post("/v1/reservations", None, body).await;
    assert_eq!(hold.status, 201, "{:?}", hold.body);
    let code = hold.body["code"].as_str().unwrap().to_owned();
    app::reservations::caught_up(&app.state).await.unwrap();
    let view = app::reservations::by_code(&app.state, &code).await.unwrap();
    let deposit = view.unwrap().deposit.amount().to_string();
    let confirm = format!("/v1/admin/reservations/{code}/confirm");
    let done = app.admin_post(&confirm, json!({"amount": deposit})).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    app::reservations::caught_up(&app.state).await.unwrap();
    code
}

/// What the owner does outside a reservation's page, in the browser: adds a cabin and a
/// season, marks a refund owed by hand as given back from the alerts, answers a guest who
/// asked for a person and hands them back to the bot, and reads tomorrow's arrivals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_sets_up_a_cabin_settles_an_alert_and_answers_a_guest_in_a_browser() {
    let driver = Driver::start().await;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let name = format!("{backend:?}").to_lowercase();
        let email = owner(&app).await;
        let browser = Session::open(&driver).await;
        sign_in(&browser, &app, email).await;
        browser.wait_for_url("/panel/calendario").await;

        // A cabin, from the list's link, then a season from its page.
        browser.go(&format!("{}/panel/cabanas", app.base)).await;
        browser.click("a[href='/panel/cabanas/nueva']").await;
        browser.wait_for_url("/panel/cabanas/nueva").await;
        browser.type_into("#nombre", "Cabaña del Bosque").await;
        browser.type_into("#personas", "4").await;
        browser.type_into("#noche", "45.000").await;
        browser.click("form.act button[type=submit]").await;
        assert!(
            browser.wait_for_text("la cabaña quedó registrada").await,
            "{backend:?}: added"
        );
        let acc = id_after(&browser.url().await, "/panel/cabanas/");
        browser.act("Agregar una temporada").await;
        browser.type_into("details[open] #titulo", "Verano").await;
        browser
            .set_value("details[open] #desde", &app.day(30))
            .await;
        browser
            .set_value("details[open] #hasta", &app.day(40))
            .await;
        browser.type_into("details[open] #precio", "60.000").await;
        browser.click("details[open] button[type=submit]").await;
        assert!(
            browser.wait_for_text("la temporada quedó agregada").await,
            "{backend:?}: the season"
        );
        assert!(
            browser.source().await.contains("$ 60.000 la noche"),
            "{backend:?}"
        );
        browser.screenshot(&format!("{name}-cabin")).await;

        // A refund owed by hand, given back from the alerts.
        let code = refund_owed_by_hand(&app, &acc).await;
        browser.go(&format!("{}/panel/alertas", app.base)).await;
        assert!(browser.wait_for_text(&code).await, "{backend:?}: listed");
        browser
            .type_into("form.act input[name=referencia]", "transferencia 7")
            .await;
        browser.click("form.act button[type=submit]").await;
        assert!(
            browser
                .wait_for_text("la devolución quedó registrada")
                .await,
            "{backend:?}: given back"
        );
        browser
            .screenshot(&format!("{name}-alerts-refund-given-back"))
            .await;

        // A guest asks for a person: answered from the thread, then handed back to the bot.
        app.guest_text(
            "5491122334455",
            "wamid.person",
            "quiero hablar con una persona",
        )
        .await;
        // The page lists a conversation once the bot has taken the message up (its guest is
        // known then), and it is not reloaded while the test waits: the bot's answer first.
        app.answer_to("wamid.person").await;
        browser
            .go(&format!("{}/panel/conversaciones", app.base))
            .await;
        assert!(
            browser.wait_for_text("+54 9 11 2233-4455").await,
            "{backend:?}: waiting"
        );
        browser
            .click("a[href^='/panel/conversaciones/guest-']")
            .await;
        browser.wait_for_url("/panel/conversaciones/guest-").await;
        browser.type_into("#texto", "Hola Ana, soy la dueña").await;
        browser.click("form[action$='/responder'] button").await;
        assert!(
            browser.wait_for_text("Mensaje en camino").await,
            "{backend:?}: sent"
        );
        assert!(
            browser.source().await.contains("Hola Ana, soy la dueña"),
            "{backend:?}"
        );
        browser.screenshot(&format!("{name}-conversation")).await;
        browser.click("form[action$='/devolver'] button").await;
        assert!(
            browser.wait_for_text("Lo atiende el asistente").await,
            "{backend:?}: handed back"
        );

        // Tomorrow's arrival on the agenda.
        let arriving = confirmed(&app, &acc, 1, 3).await;
        browser.go(&format!("{}/panel/agenda", app.base)).await;
        assert!(
            browser.wait_for_text(&arriving).await,
            "{backend:?}: tomorrow's arrival"
        );
        browser.screenshot(&format!("{name}-agenda")).await;
        browser.close().await;
    }
}
