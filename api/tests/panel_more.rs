//! Two things the owner could do only from WhatsApp, now from the panel, on both backends:
//! freeing blocked nights from the calendar, and the agenda of who arrives and leaves today and
//! tomorrow (a cabin's answers to guests: `panel_cabins.rs`). Auditors look but change nothing.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::time::{Duration, Instant};

use api::auth::Role;
use chrono::Utc;
use common::panel::{Browser, Page, block_from_calendar, signed_in};
use common::{Backend, spawn};
use serde_json::json;

/// Polls `path` until `done` holds for its page (the read model trails the write).
async fn page_when(browser: &mut Browser, path: &str, done: impl Fn(&str) -> bool) -> Page {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        if done(&page.body) || Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of the first hidden field `name` after `from` in `body`.
fn hidden(body: &str, from: usize, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let start = body[from..].find(&key).unwrap() + from + key.len();
    let len = body[start..].find('"').unwrap();
    body[start..start + len].to_owned()
}

/// A night of an owner's block (the legend has the same class on a `dt`).
const BLOCKED: &str = "<td class=\"blocked\">bloqueada";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_frees_blocked_nights_from_the_calendar_and_an_auditor_may_not() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let mut owner = signed_in(&app, "duena@example.com", Role::Admin).await;
        let (from, to) = (app.day(10), app.day(12));
        let done = block_from_calendar(&mut owner, &acc, &from, &to).await;
        assert_eq!(done.status, 303, "{backend:?}: {}", done.body);
        let shown = page_when(&mut owner, "/panel/calendario", |b| b.contains(BLOCKED)).await;
        let at = shown
            .body
            .find("action=\"/panel/calendario/desbloquear\"")
            .unwrap_or_else(|| panic!("{backend:?}: no unblock form: {}", shown.body));
        assert!(shown.body.contains(">Desbloquear</button>"), "{backend:?}");
        let block = hidden(&shown.body, at, "bloqueo");
        assert_eq!(hidden(&shown.body, at, "cabana"), acc, "{backend:?}");

        // An auditor sees the block but no button, and is refused the POST.
        let mut auditor = signed_in(&app, "auditora@example.com", Role::Auditor).await;
        let seen = auditor.get("/panel/calendario").await;
        assert!(seen.body.contains(BLOCKED), "{backend:?}");
        assert!(!seen.body.contains("desbloquear"), "{backend:?}");
        let theirs = seen.csrf();
        let attempt = [
            ("csrf", theirs.as_str()),
            ("cabana", acc.as_str()),
            ("bloqueo", block.as_str()),
        ];
        let denied = auditor
            .post("/panel/calendario/desbloquear", &attempt)
            .await;
        assert_eq!(denied.status, 403, "{backend:?}: {}", denied.body);
        // A forged token is refused too.
        let forged = [("csrf", "0"), ("cabana", acc.as_str()), ("bloqueo", &block)];
        let forged = owner.post("/panel/calendario/desbloquear", &forged).await;
        assert_eq!(forged.status, 403, "{backend:?}");

        let csrf = shown.csrf();
        let unblock = [
            ("csrf", csrf.as_str()),
            ("cabana", acc.as_str()),
            ("bloqueo", block.as_str()),
            ("desde", from.as_str()),
        ];
        let freed = owner.post("/panel/calendario/desbloquear", &unblock).await;
        assert_eq!(freed.status, 303, "{backend:?}: {}", freed.body);
        let back = freed.location().to_owned();
        let after = page_when(&mut owner, &back, |b| !b.contains(BLOCKED)).await;
        assert!(!after.body.contains(BLOCKED), "{backend:?}: {}", after.body);
        assert!(
            after.body.contains("las noches quedaron libres"),
            "{backend:?}"
        );
        assert!(app.all_free(&acc, &from, &to).await, "{backend:?}");
        // Recorded with the panel user as actor.
        let log = owner.get("/panel/auditoria").await;
        assert!(log.body.contains("duena@example.com"), "{backend:?}");

        // The same block again: refused in Spanish on the calendar.
        let again = owner.post("/panel/calendario/desbloquear", &unblock).await;
        assert_eq!(again.status, 404, "{backend:?}: {}", again.body);
        assert!(
            again.body.contains("Ese bloqueo ya no existe"),
            "{backend:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agenda_lists_a_confirmed_stay_arriving_tomorrow() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        // Tomorrow on the cabins' clock (Argentina).
        let offset = domain::accommodation::ARGENTINA_UTC_OFFSET_MINUTES;
        let today = domain::accommodation::local_today(Utc::now(), offset);
        let tomorrow = today + chrono::Days::new(1);
        let leaving = tomorrow + chrono::Days::new(2);
        let hold = app
            .post(
                "/v1/reservations",
                None,
                json!({
                    "accommodation_id": acc,
                    "check_in": tomorrow.to_string(),
                    "check_out": leaving.to_string(),
                    "guests": 2,
                    "guest": {"name": "Ana Pérez", "phone": "+54 9 11 5555-1234"}
                }),
            )
            .await;
        assert_eq!(hold.status, 201, "{backend:?}: {:?}", hold.body);
        let code = hold.body["code"].as_str().unwrap().to_owned();
        let confirmed = app
            .admin_post(
                &format!("/v1/admin/reservations/{code}/confirm"),
                json!({"amount": "30000", "payment_reference": "transfer 7"}),
            )
            .await;
        assert_eq!(confirmed.status, 200, "{backend:?}: {:?}", confirmed.body);

        let link = format!("<a href=\"/panel/reservas/{code}\">{code}</a>");
        let mut owner = signed_in(&app, "duena@example.com", Role::Admin).await;
        let agenda = page_when(&mut owner, "/panel/agenda", |b| b.contains(&link)).await;
        assert!(agenda.body.contains(&link), "{backend:?}: {}", agenda.body);
        assert!(agenda.body.contains(">Agenda</a>"), "{backend:?}");
        let tomorrow_at = agenda.body.find("<h2>Mañana").unwrap();
        assert!(
            agenda.body.find(&link).unwrap() > tomorrow_at,
            "{backend:?}"
        );
        assert!(agenda.body.contains("Cabaña del Lago"), "{backend:?}");
        assert!(agenda.body.contains("Ana Pérez"), "{backend:?}");
        assert!(agenda.body.contains("No llega nadie."), "{backend:?}");

        // An auditor sees the stay but not the guest's name.
        let mut auditor = signed_in(&app, "auditora@example.com", Role::Auditor).await;
        let seen = auditor.get("/panel/agenda").await;
        assert_eq!(seen.status, 200, "{backend:?}");
        assert!(seen.body.contains(&link), "{backend:?}: {}", seen.body);
        assert!(!seen.body.contains("Ana"), "{backend:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reservations_list_shows_a_hundred_a_page_and_links_the_next_with_its_filters() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        // 105 holds on distinct nights, eight at a time.
        let nights: Vec<i64> = (0..105).map(|n| 3 + 2 * n).collect();
        for batch in nights.chunks(8) {
            let holds = batch.iter().map(|from| app.hold(&acc, *from, from + 2));
            for placed in futures_util::future::join_all(holds).await {
                assert_eq!(placed.status, 201, "{backend:?}: {:?}", placed.body);
            }
        }
        let mut owner = signed_in(&app, "duena@example.com", Role::Admin).await;
        let first = "/panel/reservas?estado=held";
        let page = page_when(&mut owner, first, |b| b.contains("rel=\"next\"")).await;
        assert_eq!(
            page.body.matches("<li><a href=\"/panel/reservas/").count(),
            100
        );
        let next = "/panel/reservas?pagina=2&amp;estado=held";
        assert!(page.body.contains(next), "{backend:?}: {}", page.body);
        assert!(!page.body.contains("rel=\"prev\""), "{backend:?}");

        let second = owner.get(&next.replace("&amp;", "&")).await;
        assert_eq!(second.status, 200, "{backend:?}: {}", second.body);
        assert_eq!(
            second
                .body
                .matches("<li><a href=\"/panel/reservas/")
                .count(),
            5
        );
        assert!(second.body.contains("rel=\"prev\""), "{backend:?}");
        assert!(!second.body.contains("rel=\"next\""), "{backend:?}");
        // The two pages hold different reservations: the oldest five are on the second.
        let codes = |body: &str| -> Vec<String> {
            body.match_indices("<li><a href=\"/panel/reservas/")
                .map(|(at, m)| body[at + m.len()..].split('"').next().unwrap().to_owned())
                .collect()
        };
        let (a, b) = (codes(&page.body), codes(&second.body));
        assert!(b.iter().all(|code| !a.contains(code)), "{backend:?}");
        assert_eq!(owner.get("/panel/reservas?pagina=0").await.status, 400);
    }
}
