//! An admin setting up cabins from the panel, on both backends: adding one (a form sent twice
//! registers one), changing its details, prices and policies, adding and removing a season,
//! its answers to guests, and the calendars it imports (added, fetched from a fake Airbnb,
//! removed). What is typed wrong is refused in Spanish and changes nothing; an auditor looks
//! but changes nothing.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::str::FromStr;

use api::auth::Role;
use common::panel::{Browser, signed_in};
use common::{Backend, TestApp, spawn};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The cabin as the admin API shows it (from its stream).
async fn details(app: &TestApp, acc: &str) -> Value {
    let r = app
        .admin_get(&format!("/v1/admin/accommodations/{acc}"))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

/// A decimal the API writes as a string or a number.
fn dec(v: &Value) -> Decimal {
    match v {
        Value::String(s) => Decimal::from_str(s).unwrap(),
        other => Decimal::from_str(&other.to_string()).unwrap(),
    }
}

/// Posts `form` (with the page's CSRF token first) to `action`.
async fn send(
    browser: &mut Browser,
    page: &str,
    action: &str,
    form: &[(&str, &str)],
) -> common::panel::Page {
    let csrf = browser.get(page).await.csrf();
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(form);
    browser.post(action, &all).await
}

// Long on purpose: one cabin's whole setup, in the order an owner does it, on each backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_cabin_and_changes_its_details_prices_and_seasons() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let mut owner = signed_in(&app, "duena@example.com", Role::Admin).await;

        // Added from the list's link; the same form sent twice is one cabin.
        let list = owner.get("/panel/cabanas").await;
        assert!(
            list.body.contains("href=\"/panel/cabanas/nueva\""),
            "{backend:?}"
        );
        let form = owner.get("/panel/cabanas/nueva").await;
        assert_eq!(form.status, 200, "{backend:?}: {}", form.body);
        let (csrf, id) = (form.csrf(), form.hidden("clave"));
        let new = [
            ("csrf", csrf.as_str()),
            ("clave", id.as_str()),
            ("nombre", "Cabaña del Bosque"),
            ("personas", "4"),
            ("noche", "45.000"),
            ("limpieza", "8.000"),
            ("sena", "30"),
            ("minimo", "2"),
            ("politica", "estricta"),
            ("finde", "vie"),
            ("finde", "sab"),
        ];
        let path = format!("/panel/cabanas/{id}");
        for _ in 0..2 {
            let done = owner.post("/panel/cabanas/nueva", &new).await;
            assert_eq!(done.status, 303, "{backend:?}: {}", done.body);
            assert_eq!(done.location(), format!("{path}?hecho=nueva"));
        }
        let listed = app.get("/v1/accommodations", None).await;
        let named = listed.body.to_string().matches("Cabaña del Bosque").count();
        assert_eq!(named, 1, "{backend:?}: {:?}", listed.body);
        let cabin = details(&app, &id).await;
        assert_eq!(cabin["pricing"]["nightly_base"], "45000.00", "{cabin:?}");
        assert_eq!(cabin["pricing"]["cancellation"], "strict", "{cabin:?}");
        assert_eq!(cabin["min_nights"], 2);
        let page = owner.get(&format!("{path}?hecho=nueva")).await;
        assert!(
            page.body.contains("la cabaña quedó registrada"),
            "{backend:?}"
        );
        // Inside the bar's "Cabañas".
        let section = "<a href=\"/panel/cabanas\" aria-current=\"true\">Cabañas</a>";
        assert!(page.body.contains(section), "{backend:?}");
        for action in [
            "datos",
            "precios",
            "temporadas",
            "respuestas",
            "calendarios",
        ] {
            let wanted = format!("action=\"{path}/{action}\"");
            assert!(page.body.contains(&wanted), "{backend:?}: {action}");
        }

        // Details.
        let done = send(
            &mut owner,
            &path,
            &format!("{path}/datos"),
            &[
                ("nombre", "Cabaña del Río"),
                ("personas", "6"),
                ("entrada", "15:00"),
                ("salida", "11:00"),
                ("como_llegar", "Ruta 40, km 3: la tranquera verde."),
            ],
        )
        .await;
        assert_eq!(done.status, 303, "{backend:?}: {}", done.body);
        let cabin = details(&app, &id).await;
        assert_eq!(cabin["name"], "Cabaña del Río", "{cabin:?}");
        assert_eq!(cabin["capacity"], 6);
        assert_eq!(cabin["check_in_time"], "15:00");
        assert_eq!(cabin["check_out_time"], "11:00");
        assert_eq!(cabin["directions"], "Ruta 40, km 3: la tranquera verde.");

        // Prices and policies: a 20 % weekend surcharge on Friday, Saturday and Sunday nights.
        let prices = [
            ("noche", "50.000"),
            ("limpieza", "0"),
            ("recargo_finde", "20"),
            ("finde", "vie"),
            ("finde", "sab"),
            ("finde", "dom"),
            ("sena", "40"),
            ("politica", "flexible"),
            ("minimo", "3"),
        ];
        let done = send(&mut owner, &path, &format!("{path}/precios"), &prices).await;
        assert_eq!(done.status, 303, "{backend:?}: {}", done.body);
        let cabin = details(&app, &id).await;
        let p = &cabin["pricing"];
        assert_eq!(p["nightly_base"], "50000.00", "{p:?}");
        assert_eq!(
            dec(&p["weekend_multiplier"]),
            Decimal::from_str("1.2").unwrap()
        );
        assert_eq!(p["weekend_nights"], json!(["Fri", "Sat", "Sun"]), "{p:?}");
        assert_eq!(dec(&p["deposit_percent"]), Decimal::from(40));
        assert_eq!(p["cancellation"], "flexible");
        assert_eq!(cabin["min_nights"], 3);
        // Shown back in the form as the owner typed it.
        let page = owner.get(&path).await;
        assert!(
            page.body
                .contains("name=\"recargo_finde\" type=\"text\" value=\"20\""),
            "{backend:?}"
        );

        // Typed wrong: said in Spanish, nothing changed.
        let mut wrong = prices;
        wrong[0] = ("noche", "cincuenta");
        let refused = send(&mut owner, &path, &format!("{path}/precios"), &wrong).await;
        assert_eq!(refused.status, 422, "{backend:?}: {}", refused.body);
        assert!(
            refused
                .body
                .contains("La noche base tiene que ser un monto"),
            "{backend:?}"
        );
        wrong[0] = ("noche", "50.000");
        wrong[6] = ("sena", "0");
        let refused = send(&mut owner, &path, &format!("{path}/precios"), &wrong).await;
        assert_eq!(refused.status, 422, "{backend:?}: {}", refused.body);
        assert!(
            refused.body.contains("La seña tiene que ser de 1 a 100"),
            "{backend:?}"
        );
        assert_eq!(details(&app, &id).await["pricing"], cabin["pricing"]);

        // A season: the summer at 70.000 a night, its last night included.
        let (first, last) = (app.day(30), app.day(36));
        let season = [
            ("titulo", "Verano"),
            ("desde", first.as_str()),
            ("hasta", last.as_str()),
            ("precio", "70.000"),
        ];
        let done = send(&mut owner, &path, &format!("{path}/temporadas"), &season).await;
        assert_eq!(done.status, 303, "{backend:?}: {}", done.body);
        let seasons = details(&app, &id).await["pricing"]["seasons"].clone();
        assert_eq!(seasons[0]["label"], "Verano", "{seasons:?}");
        assert_eq!(seasons[0]["from"], first.as_str());
        assert_eq!(seasons[0]["until"], app.day(37).as_str());
        // Both a price and a surcharge: refused.
        let mut both = season.to_vec();
        both.push(("recargo", "10"));
        let refused = send(&mut owner, &path, &format!("{path}/temporadas"), &both).await;
        assert_eq!(refused.status, 422, "{backend:?}: {}", refused.body);
        assert!(refused.body.contains("uno de los dos"), "{backend:?}");

        // Removing it: only while it is still the season the button named.
        let stale = [("temporada", "0"), ("nombre", "Invierno")];
        let refused = send(
            &mut owner,
            &path,
            &format!("{path}/temporadas/quitar"),
            &stale,
        )
        .await;
        assert_eq!(refused.status, 422, "{backend:?}: {}", refused.body);
        let page = owner.get(&path).await;
        assert!(
            page.body.contains("name=\"nombre\" value=\"Verano\""),
            "{backend:?}"
        );
        let remove = [("temporada", "0"), ("nombre", "Verano")];
        let done = send(
            &mut owner,
            &path,
            &format!("{path}/temporadas/quitar"),
            &remove,
        )
        .await;
        assert_eq!(done.status, 303, "{backend:?}: {}", done.body);
        let seasons = details(&app, &id).await["pricing"]["seasons"].clone();
        assert_eq!(seasons, json!([]), "{backend:?}");

        // An auditor: sees the cabin, no forms; every change refused.
        let mut auditor = signed_in(&app, "auditora@example.com", Role::Auditor).await;
        let seen = auditor.get(&path).await;
        assert_eq!(seen.status, 200);
        assert!(seen.body.contains("Cabaña del Río"), "{backend:?}");
        assert!(!seen.body.contains("/datos\""), "{backend:?}");
        assert!(
            !seen.body.contains("Ruta 40"),
            "{backend:?}: directions are an admin's"
        );
        assert_eq!(auditor.get("/panel/cabanas/nueva").await.status, 403);
        let theirs = seen.csrf();
        let attempt = [
            ("csrf", theirs.as_str()),
            ("nombre", "Mía"),
            ("personas", "2"),
        ];
        let denied = auditor.post(&format!("{path}/datos"), &attempt).await;
        assert_eq!(denied.status, 403, "{backend:?}: {}", denied.body);
        assert_eq!(details(&app, &id).await["name"], "Cabaña del Río");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_sets_a_cabins_answer_from_the_panel_and_an_auditor_may_not() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let path = format!("/panel/cabanas/{acc}");
        let action = format!("{path}/respuestas");

        let mut owner = signed_in(&app, "duena@example.com", Role::Admin).await;
        let cabin = owner.get(&path).await;
        assert_eq!(cabin.status, 200, "{backend:?}: {}", cabin.body);
        assert!(cabin.body.contains(&action), "{backend:?}: {}", cabin.body);
        let csrf = cabin.csrf();
        let answer = "Sí, <chicas> & tranquilas.";
        let form = [
            ("csrf", csrf.as_str()),
            ("tema", "mascotas"),
            ("respuesta", answer),
        ];
        let done = owner.post(&action, &form).await;
        assert_eq!(done.status, 303, "{backend:?}: {}", done.body);
        assert_eq!(done.location(), format!("{path}?hecho=respuesta"));
        let shown = owner.get(done.location()).await;
        assert!(
            shown
                .body
                .contains("<dt>Mascotas</dt><dd>Sí, &lt;chicas&gt; &amp; tranquilas.</dd>"),
            "{backend:?}: {}",
            shown.body
        );
        assert!(
            shown.body.contains("la respuesta quedó guardada"),
            "{backend:?}"
        );
        assert_eq!(details(&app, &acc).await["answers"]["mascotas"], answer);

        // Too long: refused in Spanish; an unknown topic too.
        let long = "a".repeat(501);
        let mut too_long = form;
        too_long[2] = ("respuesta", long.as_str());
        let refused = owner.post(&action, &too_long).await;
        assert_eq!(refused.status, 422, "{backend:?}: {}", refused.body);
        assert!(refused.body.contains("hasta 500 caracteres"), "{backend:?}");
        let mut unknown = form;
        unknown[1] = ("tema", "jacuzzi");
        assert_eq!(owner.post(&action, &unknown).await.status, 422);

        // An auditor: no form, refused the POST, the answer unchanged.
        let mut auditor = signed_in(&app, "auditora@example.com", Role::Auditor).await;
        let seen = auditor.get(&path).await;
        assert!(seen.body.contains("<dt>Mascotas</dt>"), "{backend:?}");
        assert!(!seen.body.contains("/respuestas"), "{backend:?}");
        let theirs = seen.csrf();
        let attempt = [
            ("csrf", theirs.as_str()),
            ("tema", "mascotas"),
            ("respuesta", ""),
        ];
        let denied = auditor.post(&action, &attempt).await;
        assert_eq!(denied.status, 403, "{backend:?}: {}", denied.body);

        // A blank answer removes the topic's.
        let mut blank = form;
        blank[2] = ("respuesta", "  ");
        assert_eq!(owner.post(&action, &blank).await.status, 303);
        let answers = details(&app, &acc).await["answers"].clone();
        assert!(
            answers.get("mascotas").is_none(),
            "{backend:?}: {answers:?}"
        );
        let page = owner.get(&path).await;
        assert!(!page.body.contains("<dt>Mascotas</dt>"), "{backend:?}");
    }
}

/// Airbnb's export with one reservation, 10 to 13 days from now (as in the fixtures).
fn airbnb_feed(app: &TestApp) -> String {
    let day = |n| app.day(n).replace('-', "");
    format!(
        "BEGIN:VCALENDAR\r\nPRODID;X-RICAL-TZSOURCE=TZINFO:-//Airbnb Inc//Hosting Calendar \
         0.8.8//EN\r\nCALSCALE:GREGORIAN\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n\
         DTEND;VALUE=DATE:{}\r\nDTSTART;VALUE=DATE:{}\r\n\
         UID:1418fb94e984-8c79f32c389eb94bda0c2dba727de2dc@airbnb.com\r\n\
         SUMMARY:Reserved\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        day(13),
        day(10)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_imports_fetches_and_removes_an_airbnb_calendar_from_the_cabins_page() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let airbnb = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/calendar/ical/123.ics"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "text/calendar; charset=utf-8")
                    .set_body_string(airbnb_feed(&app)),
            )
            .mount(&airbnb)
            .await;
        let mut owner = signed_in(&app, "duena@example.com", Role::Admin).await;
        let page = format!("/panel/cabanas/{acc}");

        // Not a link: refused in Spanish.
        let bad = [("canal", "airbnb"), ("enlace", "mi calendario")];
        let refused = send(&mut owner, &page, &format!("{page}/calendarios"), &bad).await;
        assert_eq!(refused.status, 422, "{backend:?}: {}", refused.body);
        assert!(refused.body.contains("https://"), "{backend:?}");

        let url = format!("{}/calendar/ical/123.ics", airbnb.uri());
        let added = [("canal", "airbnb"), ("enlace", url.as_str())];
        let done = send(&mut owner, &page, &format!("{page}/calendarios"), &added).await;
        assert_eq!(done.status, 303, "{backend:?}: {}", done.body);
        // The same channel twice: refused.
        let twice = send(&mut owner, &page, &format!("{page}/calendarios"), &added).await;
        assert_eq!(twice.status, 409, "{backend:?}: {}", twice.body);
        assert!(
            twice.body.contains("ya importa un calendario"),
            "{backend:?}"
        );

        // Fetched now: its nights are blocked, the feed is healthy with its one event.
        let shown = owner.get(&page).await;
        let sync = "/sincronizar\"";
        let at = shown.body.find(sync).unwrap();
        let start = shown.body[..at].rfind("calendarios/").unwrap() + "calendarios/".len();
        let feed = shown.body[start..at].to_owned();
        let fetch = format!("{page}/calendarios/{feed}/sincronizar");
        let done = send(&mut owner, &page, &fetch, &[]).await;
        assert_eq!(done.status, 303, "{backend:?}: {}", done.body);
        assert_eq!(done.location(), format!("{page}?hecho=sincronizado"));
        let feeds = app
            .admin_get(&format!("/v1/admin/accommodations/{acc}/feeds"))
            .await;
        assert_eq!(feeds.body["feeds"][0]["healthy"], true, "{:?}", feeds.body);
        assert_eq!(feeds.body["feeds"][0]["events"], 1, "{:?}", feeds.body);
        let after = owner.get(done.location()).await;
        assert!(after.body.contains("al día"), "{backend:?}: {}", after.body);
        let hold = app.hold(&acc, 10, 12).await;
        assert_eq!(
            hold.status, 409,
            "{backend:?}: Airbnb's nights are taken: {:?}",
            hold.body
        );

        // Removed: the nights are free again.
        let remove = format!("{page}/calendarios/{feed}/quitar");
        let done = send(&mut owner, &page, &remove, &[]).await;
        assert_eq!(done.status, 303, "{backend:?}: {}", done.body);
        let gone = owner.get(done.location()).await;
        assert!(
            gone.body.contains("no importa ningún calendario"),
            "{backend:?}"
        );
        let hold = app.hold(&acc, 10, 12).await;
        assert_eq!(hold.status, 201, "{backend:?}: {:?}", hold.body);
    }
}
