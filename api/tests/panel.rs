//! The owner's web panel (issue 28), on both backends, driven as a browser would: a user added
//! through the function the CLI uses, sign-in refused and then throttled, the calendar with a
//! hold and a block, CSRF refusals, the session cookie's attributes, signing out.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::time::{Duration, Instant};

use api::auth::Role;
use api::panel::users::{self, Added};
use common::panel::{Browser, PASSWORD, Page, page_showing};
use common::{Backend, TestApp, spawn};
use serde_json::json;

/// An amount as the panel shows it: a non-breaking space after the `$` (a line never ends
/// there).
fn shown(m: domain::Money) -> String {
    m.to_string().replacen("$ ", "$\u{a0}", 1)
}

async fn add_user(app: &TestApp, email: &str, role: Role) -> Added {
    let now = chrono::Utc::now().timestamp_millis();
    users::add(&app.state.db, email, role, PASSWORD, now)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_refused_and_the_sixth_attempt_is_throttled() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        assert_eq!(
            add_user(&app, "Duena@Example.com", Role::Admin).await,
            Added::Created
        );
        assert_eq!(
            add_user(&app, "duena@example.com", Role::Admin).await,
            Added::Replaced
        );
        assert_eq!(
            add_user(&app, "auditora@example.com", Role::Auditor).await,
            Added::Created
        );
        let short = users::add(&app.state.db, "otra@example.com", Role::Admin, "corta", 0).await;
        assert!(short.is_err(), "{backend:?}: a short password was accepted");

        let mut browser = Browser::new(&app);
        for attempt in 1..=5 {
            let refused = browser.sign_in("duena@example.com", "no es la clave").await;
            assert_eq!(
                refused.status, 401,
                "{backend:?} attempt {attempt}: {}",
                refused.body
            );
            assert!(
                refused.body.contains("Correo o contraseña incorrectos"),
                "{backend:?}"
            );
            assert!(refused.set_cookie("cabanas_panel").is_none(), "{backend:?}");
        }
        // Even the right password is not checked now.
        let throttled = browser.sign_in("duena@example.com", PASSWORD).await;
        assert_eq!(throttled.status, 429, "{backend:?}: {}", throttled.body);
        assert!(throttled.headers.contains_key("retry-after"), "{backend:?}");

        // Another user from the same address is not locked out; an auditor may view too.
        let auditor = browser.sign_in("auditora@example.com", PASSWORD).await;
        assert_eq!(auditor.status, 303, "{backend:?}: {}", auditor.body);
        let calendar = browser.get("/panel/calendario").await;
        assert_eq!(calendar.status, 200, "{backend:?}: {}", calendar.body);
    }
}

/// Polls the calendar until it shows every one of `wanted` (the read model trails the write).
async fn calendar_showing(browser: &mut Browser, wanted: &[&str]) -> Page {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = browser.get("/panel/calendario").await;
        assert_eq!(page.status, 200, "{}", page.body);
        if wanted.iter().all(|w| page.body.contains(w)) || Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_owner_sees_holds_and_blocks_and_signing_out_ends_the_session() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        add_user(&app, "duena@example.com", Role::Admin).await;
        let (acc, _) = app.register("Cabaña <b>del</b> Lago", 4).await;
        let hold = app.hold(&acc, 10, 13).await;
        assert_eq!(hold.status, 201, "{backend:?}: {:?}", hold.body);
        let code = hold.body["code"].as_str().unwrap().to_owned();
        let block = app
            .admin_post(
                &format!("/v1/admin/accommodations/{acc}/blocks"),
                json!({"check_in": app.day(20), "check_out": app.day(22)}),
            )
            .await;
        assert_eq!(block.status, 201, "{backend:?}: {:?}", block.body);

        let mut browser = Browser::new(&app);
        let away = browser.get("/panel/calendario").await;
        assert_eq!(
            (away.status, away.location()),
            (303, "/panel/"),
            "{backend:?}"
        );
        let signed_in = browser.sign_in("duena@example.com", PASSWORD).await;
        assert_eq!(signed_in.status, 303, "{backend:?}: {}", signed_in.body);
        assert_eq!(signed_in.location(), "/panel/calendario", "{backend:?}");
        let cookie = signed_in.set_cookie("cabanas_panel").unwrap();
        for attribute in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/panel",
            "Max-Age=43200",
        ] {
            assert!(cookie.contains(attribute), "{backend:?}: {cookie}");
        }
        assert!(
            !cookie.contains("Secure"),
            "{backend:?}: http only here: {cookie}"
        );

        let page = calendar_showing(&mut browser, &[&code, "bloqueada"]).await;
        let body = &page.body;
        assert!(
            body.contains(&code),
            "{backend:?}: the hold's code is missing: {body}"
        );
        for part in [
            "<caption>",
            "scope=\"row\"",
            "scope=\"col\"",
            "class=\"held\"",
            "pendiente",
        ] {
            assert!(body.contains(part), "{backend:?}: no {part}: {body}");
        }
        assert!(
            body.contains("class=\"blocked\">bloqueada"),
            "{backend:?}: {body}"
        );
        assert!(
            body.contains("Cabaña &lt;b&gt;del&lt;/b&gt; Lago"),
            "{backend:?}: {body}"
        );
        assert!(
            !body.contains("<b>del</b>"),
            "{backend:?}: a name reached the page unescaped"
        );
        let home = browser.get("/panel/").await;
        assert_eq!(home.location(), "/panel/calendario", "{backend:?}");
        let csrf = page.csrf();

        // Without the session's token, or with another, nothing happens.
        let bare = browser.post("/panel/salir", &[("x", "1")]).await;
        assert_eq!(bare.status, 403, "{backend:?}: {}", bare.body);
        assert!(
            bare.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let forged = browser.post("/panel/salir", &[("csrf", "0000")]).await;
        assert_eq!(forged.status, 403, "{backend:?}");
        let no_token_sign_in = browser
            .post(
                "/panel/ingresar",
                &[("email", "duena@example.com"), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(no_token_sign_in.status, 403, "{backend:?}");
        assert_eq!(
            browser.get("/panel/calendario").await.status,
            200,
            "{backend:?}"
        );

        // Signing out ends the session itself: the old cookie is worth nothing afterwards.
        let token = browser.cookies["cabanas_panel"].clone();
        let out = browser.post("/panel/salir", &[("csrf", &csrf)]).await;
        assert_eq!(
            (out.status, out.location()),
            (303, "/panel/"),
            "{backend:?}"
        );
        assert!(
            out.set_cookie("cabanas_panel")
                .unwrap()
                .contains("Max-Age=0")
        );
        browser.cookies.insert("cabanas_panel".into(), token);
        let after = browser.get("/panel/calendario").await;
        assert_eq!(
            (after.status, after.location()),
            (303, "/panel/"),
            "{backend:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_when_the_service_is_reached_over_https() {
    let app = spawn(
        Backend::Sqlite,
        &[("CABANAS_PUBLIC_URL", "https://cabanas.example")],
    )
    .await;
    add_user(&app, "duena@example.com", Role::Admin).await;
    let mut browser = Browser::new(&app);
    let form = browser.get("/panel/").await;
    assert!(form.set_cookie("panel_csrf").unwrap().contains("; Secure"));
    let signed_in = browser.sign_in("duena@example.com", PASSWORD).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert!(
        signed_in
            .set_cookie("cabanas_panel")
            .unwrap()
            .contains("; Secure")
    );
}

/// The reservation as the read model has it now.
async fn view_of(app: &TestApp, code: &str) -> projections::queries::ReservationView {
    app::reservations::caught_up(&app.state).await.unwrap();
    app::reservations::by_code(&app.state, code)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_finds_a_hold_and_confirms_moves_and_cancels_it_from_the_panel() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        add_user(&app, "duena@example.com", Role::Admin).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let hold = app.hold(&acc, 10, 13).await;
        assert_eq!(hold.status, 201, "{backend:?}: {:?}", hold.body);
        let code = hold.body["code"].as_str().unwrap().to_owned();
        let held = view_of(&app, &code).await;

        let mut browser = Browser::new(&app);
        assert_eq!(
            browser.sign_in("duena@example.com", PASSWORD).await.status,
            303
        );
        let list = page_showing(&mut browser, "/panel/reservas", &[&code]).await;
        for part in [
            code.as_str(),
            "pendiente de seña",
            "Ana Pérez",
            ">Reservas</a>",
        ] {
            assert!(
                list.body.contains(part),
                "{backend:?}: no {part}: {}",
                list.body
            );
        }
        let only_held = browser.get("/panel/reservas?estado=held&texto=ana").await;
        assert!(
            only_held.body.contains(&code),
            "{backend:?}: {}",
            only_held.body
        );
        let confirmed_only = browser.get("/panel/reservas?estado=confirmed").await;
        assert!(!confirmed_only.body.contains(&code), "{backend:?}");
        assert!(
            confirmed_only.body.contains("No hay reservas"),
            "{backend:?}"
        );

        let path = format!("/panel/reservas/{code}");
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.body);
        let total = shown(held.total);
        for part in [
            total.as_str(),
            "+54 9 11 5555-1234",
            "Reserva tomada",
            "class=\"act\"",
        ] {
            assert!(
                page.body.contains(part),
                "{backend:?}: no {part}: {}",
                page.body
            );
        }
        let csrf = page.csrf();

        confirms_a_transfer(&app, &mut browser, &code, &csrf, &held).await;
        moves_after_the_preview(&app, &mut browser, &acc, &code, &csrf).await;
        cancels_after_the_refund_preview(&app, &mut browser, &code, &csrf).await;
    }
}

/// A transfer confirmed from the panel (refused without the CSRF token first): the page says
/// so and the event's actor is the panel user's email.
async fn confirms_a_transfer(
    app: &TestApp,
    browser: &mut Browser,
    code: &str,
    csrf: &str,
    held: &projections::queries::ReservationView,
) {
    let backend = app.backend;
    let path = format!("/panel/reservas/{code}");
    // Without the session's token nothing is recorded.
    let deposit = held.deposit.to_string();
    let amount = deposit.trim_start_matches("$ ");
    let confirm = format!("{path}/confirmar");
    let bare = browser.post(&confirm, &[("monto", amount)]).await;
    assert_eq!(bare.status, 403, "{backend:?}: {}", bare.body);

    let done = browser
        .post(
            &confirm,
            &[
                ("csrf", csrf),
                ("monto", amount),
                ("referencia", "transf-1"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{backend:?}: {}", done.body);
    assert_eq!(
        done.location(),
        format!("{path}?hecho=confirmada"),
        "{backend:?}"
    );
    let after = browser.get(done.location()).await;
    assert!(
        after.body.contains("Listo: la seña quedó registrada"),
        "{backend:?}"
    );
    assert!(
        after.body.contains("<dd>confirmada</dd>"),
        "{backend:?}: {}",
        after.body
    );
    let events = app.events_of(code).await;
    let confirmed = events
        .iter()
        .find(|(t, _)| t == "ReservationConfirmed")
        .unwrap();
    assert_eq!(confirmed.1, "duena@example.com", "{backend:?}: {events:?}");
}

/// A move from the panel: the preview's total before anything is recorded, then the move;
/// nights taken by another hold are refused in Spanish.
async fn moves_after_the_preview(
    app: &TestApp,
    browser: &mut Browser,
    acc: &str,
    code: &str,
    csrf: &str,
) {
    let backend = app.backend;
    let path = format!("/panel/reservas/{code}");
    // Moving: first the preview, nothing recorded; then the move.
    let moving = format!("{path}/mover");
    let (check_in, check_out) = (app.day(20), app.day(23));
    let stay = [
        ("csrf", csrf),
        ("entrada", &check_in),
        ("salida", &check_out),
    ];
    let preview = browser.post(&moving, &stay).await;
    assert_eq!(preview.status, 200, "{backend:?}: {}", preview.body);
    assert!(
        preview.body.contains("Nuevo total"),
        "{backend:?}: {}",
        preview.body
    );
    let before_move = app.events_of(code).await;
    assert!(
        !before_move.iter().any(|(t, _)| t == "StayChanged"),
        "{backend:?}: the preview recorded: {before_move:?}"
    );
    let mut sure = stay.to_vec();
    sure.push(("confirmar", "1"));
    let moved = browser.post(&moving, &sure).await;
    assert_eq!(
        moved.location(),
        format!("{path}?hecho=movida"),
        "{backend:?}: {}",
        moved.body
    );
    let now = view_of(app, code).await;
    assert_eq!(now.check_in.to_string(), check_in, "{backend:?}");
    let new_total = format!("<dd>{}</dd>", shown(now.total));
    assert!(
        preview.body.contains(&new_total),
        "{backend:?}: {new_total}: {}",
        preview.body
    );
    assert!(
        app.events_of(code)
            .await
            .iter()
            .any(|(t, _)| t == "StayChanged")
    );

    // Nights taken by another hold: refused in Spanish, nothing recorded.
    let other = app.hold(acc, 30, 33).await;
    assert_eq!(other.status, 201, "{backend:?}: {:?}", other.body);
    let (busy_in, busy_out) = (app.day(30), app.day(33));
    let busy = [("csrf", csrf), ("entrada", &busy_in), ("salida", &busy_out)];
    let refused = browser.post(&moving, &busy).await;
    assert_eq!(refused.status, 409, "{backend:?}: {}", refused.body);
    assert!(
        refused.body.contains("está ocupado"),
        "{backend:?}: {}",
        refused.body
    );
}

/// A cancellation from the panel: what the policy gives back first, then everything back.
async fn cancels_after_the_refund_preview(
    app: &TestApp,
    browser: &mut Browser,
    code: &str,
    csrf: &str,
) {
    let backend = app.backend;
    let path = format!("/panel/reservas/{code}");
    // Cancelling: first what the policy gives back, then the cancellation.
    let cancelling = format!("{path}/cancelar");
    let question = browser.post(&cancelling, &[("csrf", csrf)]).await;
    assert_eq!(question.status, 200, "{backend:?}: {}", question.body);
    assert!(
        question.body.contains("Según la política"),
        "{backend:?}: {}",
        question.body
    );
    assert!(
        !app.events_of(code)
            .await
            .iter()
            .any(|(t, _)| t == "ReservationCancelled")
    );
    let cancelled = browser
        .post(
            &cancelling,
            &[("csrf", csrf), ("confirmar", "1"), ("devolver_todo", "1")],
        )
        .await;
    assert_eq!(
        cancelled.location(),
        format!("{path}?hecho=cancelada"),
        "{backend:?}"
    );
    let gone = browser.get(cancelled.location()).await;
    assert!(
        gone.body.contains("<dd>cancelada</dd>"),
        "{backend:?}: {}",
        gone.body
    );
    assert!(
        gone.body.contains("Reserva cancelada"),
        "{backend:?}: {}",
        gone.body
    );
    let now = view_of(app, code).await;
    assert_eq!(
        now.refunded, now.amount_paid,
        "{backend:?}: everything goes back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_sees_a_reservation_without_contact_details_or_forms_and_may_not_post() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        add_user(&app, "auditora@example.com", Role::Auditor).await;
        let (acc, _) = app.register("Cabaña del Bosque", 4).await;
        let hold = app.hold(&acc, 10, 13).await;
        let code = hold.body["code"].as_str().unwrap().to_owned();
        let total = shown(view_of(&app, &code).await.total);

        let mut browser = Browser::new(&app);
        assert_eq!(
            browser
                .sign_in("auditora@example.com", PASSWORD)
                .await
                .status,
            303
        );
        let path = format!("/panel/reservas/{code}");
        let page = browser.get(&path).await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.body);
        assert!(page.body.contains(&total), "{backend:?}: {}", page.body);
        for hidden in ["Ana Pérez", "5555-1234", "class=\"act\"", "/confirmar"] {
            assert!(
                !page.body.contains(hidden),
                "{backend:?}: {hidden} shown: {}",
                page.body
            );
        }
        let list = page_showing(&mut browser, "/panel/reservas", &[&code]).await;
        assert!(!list.body.contains("Ana Pérez"), "{backend:?}");

        let csrf = page.csrf();
        let posted = browser
            .post(
                &format!("{path}/confirmar"),
                &[("csrf", &csrf), ("monto", "1000")],
            )
            .await;
        assert_eq!(posted.status, 403, "{backend:?}: {}", posted.body);
        let events = app.events_of(&code).await;
        assert!(
            !events.iter().any(|(t, _)| t == "ReservationConfirmed"),
            "{backend:?}: {events:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_counted_across_instances_sharing_redis() {
    // Two instances of one deployment: the same database and the same Redis namespace.
    let first = spawn(Backend::Postgres, &[]).await;
    let prefix = first.state.settings.redis_prefix.clone();
    let second = common::spawn_on(
        Backend::Postgres,
        &first.database_url,
        &[("CABANAS_REDIS_PREFIX", prefix.as_str())],
    )
    .await;
    add_user(&first, "duena@example.com", Role::Admin).await;
    let (mut a, mut b) = (Browser::new(&first), Browser::new(&second));
    for attempt in 1..=5 {
        // Spread over both, as a proxy would.
        let browser = if attempt % 2 == 0 { &mut a } else { &mut b };
        let refused = browser.sign_in("duena@example.com", "no es la clave").await;
        assert_eq!(refused.status, 401, "attempt {attempt}: {}", refused.body);
    }
    // Each instance saw fewer than five; together they saw five.
    for browser in [&mut a, &mut b] {
        let throttled = browser.sign_in("duena@example.com", PASSWORD).await;
        assert_eq!(throttled.status, 429, "{}", throttled.body);
        let wait: u64 = throttled.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&wait), "{wait}");
    }
}
