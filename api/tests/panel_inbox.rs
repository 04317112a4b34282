//! The panel's Alertas and Conversaciones pages (issue 28, item 3), on both backends, driven as
//! a browser would: a refund owed by hand listed and marked made with the panel user as actor;
//! a guest who asked for a person listed first, their thread, an admin's reply queued and the
//! conversation handed back; an auditor sees a masked number and no forms, and may not post.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use api::auth::Role;
use api::panel::users;
use common::panel::{Browser, PASSWORD, Page, page_showing};
use common::{Backend, TestApp, spawn};
use serde_json::{Value, json};

const GUEST: &str = "5491122334455";

async fn add_user(app: &TestApp, email: &str, role: Role) {
    let now = chrono::Utc::now().timestamp_millis();
    users::add(&app.state.db, email, role, PASSWORD, now)
        .await
        .unwrap();
}

async fn signed_in(app: &TestApp, email: &str) -> Browser {
    let mut browser = Browser::new(app);
    assert_eq!(browser.sign_in(email, PASSWORD).await.status, 303);
    browser
}

/// A stay confirmed with a deposit taken by hand, then cancelled by the owner with everything
/// back: the deposit did not go through Mercado Pago, so it is a refund to make by hand.
async fn refund_owed_by_hand(app: &TestApp) -> String {
    let (acc, _) = app.register("Cabaña del Lago", 4).await;
    let hold = app.hold(&acc, 10, 13).await;
    let code = hold.body["code"].as_str().unwrap().to_owned();
    app::reservations::caught_up(&app.state).await.unwrap();
    let view = app::reservations::by_code(&app.state, &code)
        .await
        .unwrap()
        .unwrap();
    let admin = Some(app.admin.as_str());
    let confirm = format!("/v1/admin/reservations/{code}/confirm");
    let deposit = view.deposit.amount().to_string();
    let confirmed = app.post(&confirm, admin, json!({"amount": deposit})).await;
    assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    let cancel = format!("/v1/admin/reservations/{code}/cancel");
    let cancelled = app.post(&cancel, admin, json!({"refund_all": true})).await;
    assert_eq!(cancelled.status, 200, "{:?}", cancelled.body);
    code
}

async fn manual_refund_alert(app: &TestApp, code: &str) -> Option<Value> {
    app.admin_get("/v1/admin/alerts").await.body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "manual_refund" && a["code"] == code)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_owed_by_hand_is_listed_and_marked_made_by_the_panel_user() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        add_user(&app, "duena@example.com", Role::Admin).await;
        add_user(&app, "auditora@example.com", Role::Auditor).await;
        let code = refund_owed_by_hand(&app).await;
        let mut browser = signed_in(&app, "duena@example.com").await;
        let wanted = [
            code.as_str(),
            "Devolver a mano",
            "Ya la devolví",
            ">Alertas</a>",
        ];
        let page = page_showing(&mut browser, "/panel/alertas", &wanted).await;
        for part in wanted
            .iter()
            .chain(&[">Conversaciones</a>", "Señas por confirmar"])
        {
            assert!(
                page.body.contains(part),
                "{backend:?}: no {part}: {}",
                page.body
            );
        }
        let key = manual_refund_alert(&app, &code).await.unwrap()["refund_key"]
            .as_str()
            .unwrap()
            .to_owned();
        let action = format!("/panel/alertas/devoluciones/{code}/{key}");
        assert!(page.body.contains(&action), "{backend:?}: {}", page.body);

        // An auditor sees the alert, without the form, and may not post it.
        let mut auditor = signed_in(&app, "auditora@example.com").await;
        let looked = auditor.get("/panel/alertas").await;
        assert!(looked.body.contains("Devolver a mano"), "{backend:?}");
        assert!(!looked.body.contains("Ya la devolví"), "{backend:?}");
        let refused = auditor.post(&action, &[("csrf", &looked.csrf())]).await;
        assert_eq!(refused.status, 403, "{backend:?}: {}", refused.body);
        // Without the token, not even an admin.
        let bare = browser.post(&action, &[("referencia", "x")]).await;
        assert_eq!(bare.status, 403, "{backend:?}: {}", bare.body);
        assert!(manual_refund_alert(&app, &code).await.unwrap()["resolved_at"].is_null());

        let made = browser
            .post(
                &action,
                &[("csrf", &page.csrf()), ("referencia", "transferencia 7")],
            )
            .await;
        assert_eq!(made.status, 303, "{backend:?}: {}", made.body);
        assert_eq!(made.location(), "/panel/alertas?hecho=devolucion");
        let after = browser.get(made.location()).await;
        assert!(
            after.body.contains("la devolución quedó registrada"),
            "{backend:?}"
        );
        let resolved = manual_refund_alert(&app, &code).await.unwrap();
        assert!(
            resolved["resolved_at"].is_string(),
            "{backend:?}: {resolved}"
        );
        assert!(!after.body.contains(&action), "{backend:?}: {}", after.body);
        let events = app.events_of(&code).await;
        assert!(
            events
                .iter()
                .any(|(t, a)| t == "RefundIssued" && a == "duena@example.com"),
            "{backend:?}: {events:?}"
        );
    }
}

/// How many replies a person wrote to the guest (the admin's rows in the outbox).
async fn written_by_a_person(app: &TestApp) -> i64 {
    let (n,): (i64,) = eventstore::db_fetch!(
        &app.state.db,
        (i64,),
        fetch_one,
        "SELECT COUNT(*) FROM wa_outbox WHERE wa_id = $1 AND id LIKE 'admin:%'".to_owned(),
        GUEST.to_owned()
    )
    .unwrap();
    n
}

/// The first link to a thread on the list.
fn thread_link(list: &Page) -> String {
    let start = list
        .body
        .find("href=\"/panel/conversaciones/guest-")
        .unwrap()
        + 6;
    let len = list.body[start..].find('"').unwrap();
    list.body[start..start + len].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_waiting_for_a_person_is_answered_and_handed_back_from_the_panel() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        add_user(&app, "duena@example.com", Role::Admin).await;
        add_user(&app, "auditora@example.com", Role::Auditor).await;
        app.guest_text(GUEST, "wamid.person", "quiero hablar con una persona")
            .await;
        let mut browser = signed_in(&app, "duena@example.com").await;
        let number = "+54 9 11 2233-4455";
        let list = page_showing(&mut browser, "/panel/conversaciones", &[number]).await;
        let waiting = list.body.split("<h2>Recientes</h2>").next().unwrap();
        assert!(waiting.contains(number), "{backend:?}: {}", list.body);
        let thread = thread_link(&list);
        assert!(!thread.contains(GUEST), "{backend:?}: the number in a link");
        let page = browser.get(&thread).await;
        for part in [
            "quiero hablar con una persona",
            "Espera a una persona",
            "/responder",
            "/devolver",
        ] {
            assert!(
                page.body.contains(part),
                "{backend:?}: no {part}: {}",
                page.body
            );
        }

        auditor_only_looks(&app, &thread).await;

        let reply = format!("{thread}/responder");
        let bare = browser.post(&reply, &[("texto", "Hola")]).await;
        assert_eq!(bare.status, 403, "{backend:?}");
        assert_eq!(written_by_a_person(&app).await, 0, "{backend:?}");
        let csrf = page.csrf();
        let texto = "Hola Ana, soy la dueña";
        let sent = browser
            .post(&reply, &[("csrf", &csrf), ("texto", texto)])
            .await;
        assert_eq!(sent.status, 303, "{backend:?}: {}", sent.body);
        assert_eq!(sent.location(), format!("{thread}?hecho=respuesta"));
        assert_eq!(written_by_a_person(&app).await, 1, "{backend:?}");
        let shown = browser.get(sent.location()).await;
        assert!(shown.body.contains(texto), "{backend:?}: {}", shown.body);

        let back = browser
            .post(&format!("{thread}/devolver"), &[("csrf", &csrf)])
            .await;
        assert_eq!(back.status, 303, "{backend:?}: {}", back.body);
        let after = browser.get(back.location()).await;
        assert!(
            after.body.contains("Lo atiende el asistente"),
            "{backend:?}"
        );
        let list = browser.get("/panel/conversaciones").await;
        assert!(
            list.body.contains("Nadie espera a una persona"),
            "{backend:?}"
        );
    }
}

/// An auditor sees the conversation with the number masked and no forms, and may not post.
async fn auditor_only_looks(app: &TestApp, thread: &str) {
    let backend = app.backend;
    let mut auditor = signed_in(app, "auditora@example.com").await;
    let list = auditor.get("/panel/conversaciones").await;
    assert!(
        list.body.contains("+54 9 11 ****-4455"),
        "{backend:?}: {}",
        list.body
    );
    let page = auditor.get(thread).await;
    assert!(
        page.body.contains("quiero hablar con una persona"),
        "{backend:?}"
    );
    for hidden in ["2233-4455", GUEST, "/responder", "/devolver"] {
        assert!(
            !page.body.contains(hidden),
            "{backend:?}: {hidden}: {}",
            page.body
        );
        assert!(
            !list.body.contains(hidden),
            "{backend:?}: {hidden}: {}",
            list.body
        );
    }
    let csrf = page.csrf();
    for action in ["responder", "devolver"] {
        let path = format!("{thread}/{action}");
        let posted = auditor
            .post(&path, &[("csrf", &csrf), ("texto", "hola")])
            .await;
        assert_eq!(posted.status, 403, "{backend:?}: {}", posted.body);
    }
    assert_eq!(written_by_a_person(app).await, 0, "{backend:?}");
}
