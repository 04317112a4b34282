//! The panel's audit page (the log newest first, a reservation as of a date and time, the
//! hash chain walked) and blocking free nights from the calendar, on both backends, driven as
//! a browser would (the helper is `panel.rs`'s).

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::time::Duration;

use api::auth::Role;
use chrono::{DateTime, DurationRound, Utc};
use common::panel::{page_showing, signed_in};
use common::{Backend, TestApp, spawn};

/// When the audit API says the reservation's event of this type was recorded.
async fn recorded(app: &TestApp, code: &str, event_type: &str) -> DateTime<Utc> {
    let story = app
        .auditor_get(&format!("/v1/audit/reservations/{code}"))
        .await;
    assert_eq!(story.status, 200, "{:?}", story.body);
    let event = story.body["story"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == event_type)
        .unwrap()
        .clone();
    serde_json::from_value(event["recorded_at"].clone()).unwrap()
}

/// The as-of form's query for an instant: the owner's date and time (Argentina), to the second.
fn as_of(code: &str, at: DateTime<Utc>) -> String {
    let offset = domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES;
    let local = at + chrono::Duration::minutes(i64::from(offset));
    format!(
        "/panel/auditoria?reserva={code}&fecha={}&hora={}",
        local.format("%Y-%m-%d"),
        local.format("%H:%M:%S")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_page_lists_events_replays_a_reservation_and_verifies_the_chain() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let hold = app.hold(&acc, 10, 12).await;
        assert_eq!(hold.status, 201, "{backend:?}: {:?}", hold.body);
        let code = hold.body["code"].as_str().unwrap().to_owned();
        app.state.runner.catch_up().await.unwrap();
        // A second apart at least, so an instant to the second falls between the two.
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let confirmed = app.confirm_by_hand(&code, "30000", "transfer 12").await;
        assert_eq!(confirmed.status, 200, "{backend:?}: {:?}", confirmed.body);
        let held_at = recorded(&app, &code, "HoldPlaced").await;
        let confirmed_at = recorded(&app, &code, "ReservationConfirmed").await;
        let second = chrono::Duration::seconds(1);

        let mut browser = signed_in(&app, "auditora@example.com", Role::Auditor).await;
        let log = browser.get("/panel/auditoria").await;
        assert_eq!(log.status, 200, "{backend:?}: {}", log.body);
        for part in [
            ">Auditoría</a>",
            "Reserva tomada, esperando la seña",
            "Seña recibida: reserva confirmada",
            acc.as_str(),
            "Verificar la cadena",
        ] {
            assert!(
                log.body.contains(part),
                "{backend:?}: no {part}: {}",
                log.body
            );
        }
        // Newest first; the guest's name and phone never appear.
        let confirmed_row = log.body.find("Seña recibida").unwrap();
        assert!(
            confirmed_row < log.body.find("Reserva tomada").unwrap(),
            "{backend:?}"
        );
        for personal in ["Ana", "Pérez", "5555"] {
            assert!(
                !log.body.contains(personal),
                "{backend:?}: {personal} shown"
            );
        }

        let before = held_at.duration_trunc(second).unwrap() + second;
        assert!(
            before < confirmed_at,
            "{backend:?}: {held_at} / {confirmed_at}"
        );
        let page = browser.get(&as_of(&code, before)).await;
        assert_eq!(page.status, 200, "{backend:?}: {}", page.body);
        assert!(
            page.body
                .contains("<dt>Estado</dt><dd>pendiente de seña</dd>"),
            "{backend:?}: {}",
            page.body
        );
        let after = confirmed_at.duration_trunc(second).unwrap() + second;
        let page = browser.get(&as_of(&code, after)).await;
        assert!(
            page.body.contains("<dt>Estado</dt><dd>confirmada</dd>"),
            "{backend:?}: {}",
            page.body
        );
        let earlier = browser.get(&as_of(&code, held_at - second * 3600)).await;
        assert!(earlier.body.contains("todavía no existía"), "{backend:?}");
        let unknown = browser.get(&as_of("ZZZZZZ", after)).await;
        assert_eq!(unknown.status, 404, "{backend:?}");

        // Verifying changes nothing, so an auditor may press it too; the token is still checked.
        let forged = browser
            .post("/panel/auditoria/verificar", &[("csrf", "0")])
            .await;
        assert_eq!(forged.status, 403, "{backend:?}");
        let head = app.state.store.head_position().await.unwrap();
        let csrf = log.csrf();
        let verified = browser
            .post("/panel/auditoria/verificar", &[("csrf", &csrf)])
            .await;
        assert_eq!(verified.status, 200, "{backend:?}: {}", verified.body);
        assert!(
            verified
                .body
                .contains(&format!("intacta: {head} eventos verificados")),
            "{backend:?}: {}",
            verified.body
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_blocks_free_nights_from_the_calendar_and_an_auditor_may_not() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let hold = app.hold(&acc, 5, 8).await;
        assert_eq!(hold.status, 201, "{backend:?}: {:?}", hold.body);

        let mut owner = signed_in(&app, "duena@example.com", Role::Admin).await;
        let calendar = owner.get("/panel/calendario").await;
        assert!(calendar.body.contains("Bloquear noches"), "{backend:?}");
        let csrf = calendar.csrf();
        let (from, to) = (app.day(20), app.day(22));
        let form = [
            ("csrf", csrf.as_str()),
            ("cabana", acc.as_str()),
            ("desde", from.as_str()),
            ("hasta", to.as_str()),
            ("nota", "pintura"),
        ];
        let done = owner.post("/panel/calendario/bloquear", &form).await;
        assert_eq!(done.status, 303, "{backend:?}: {}", done.body);
        let back = done.location().to_owned();
        assert!(
            back.starts_with("/panel/calendario?"),
            "{backend:?}: {back}"
        );
        let shown = page_showing(&mut owner, &back, &["<td class=\"blocked\">bloqueada"]).await;
        assert!(
            shown.body.contains("<td class=\"blocked\">bloqueada"),
            "{backend:?}: {}",
            shown.body
        );
        assert!(
            shown.body.contains("las noches quedaron bloqueadas"),
            "{backend:?}"
        );
        // Recorded with the panel user as actor.
        let log = owner.get("/panel/auditoria").await;
        assert!(
            log.body.contains("duena@example.com"),
            "{backend:?}: {}",
            log.body
        );

        // Nights a hold has, or beyond the calendar's end: refused, in Spanish, on the page.
        let (taken_in, taken_out) = (app.day(6), app.day(7));
        let mut taken = form;
        taken[2] = ("desde", taken_in.as_str());
        taken[3] = ("hasta", taken_out.as_str());
        let refused = owner.post("/panel/calendario/bloquear", &taken).await;
        assert_eq!(refused.status, 409, "{backend:?}: {}", refused.body);
        assert!(
            refused.body.contains("class=\"err\"") && refused.body.contains("está ocupado"),
            "{backend:?}: {}",
            refused.body
        );
        let (far_in, far_out) = (app.day(2000), app.day(2002));
        let mut far = form;
        far[2] = ("desde", far_in.as_str());
        far[3] = ("hasta", far_out.as_str());
        let too_far = owner.post("/panel/calendario/bloquear", &far).await;
        assert_eq!(too_far.status, 422, "{backend:?}: {}", too_far.body);
        assert!(too_far.body.contains("alendario abre hasta"), "{backend:?}");

        // An auditor sees no form and is refused the POST, token or not.
        let mut auditor = signed_in(&app, "auditora@example.com", Role::Auditor).await;
        let seen = auditor.get("/panel/calendario").await;
        assert_eq!(seen.status, 200, "{backend:?}");
        assert!(!seen.body.contains("Bloquear noches"), "{backend:?}");
        assert!(
            !seen.body.contains("/panel/calendario/bloquear"),
            "{backend:?}"
        );
        let theirs = seen.csrf();
        let (free_in, free_out) = (app.day(30), app.day(32));
        let mut attempt = form;
        attempt[0] = ("csrf", theirs.as_str());
        attempt[2] = ("desde", free_in.as_str());
        attempt[3] = ("hasta", free_out.as_str());
        let denied = auditor.post("/panel/calendario/bloquear", &attempt).await;
        assert_eq!(denied.status, 403, "{backend:?}: {}", denied.body);
        assert!(app.all_free(&acc, &free_in, &free_out).await, "{backend:?}");
    }
}
