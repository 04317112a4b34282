//! The owner writes "panel" from their WhatsApp and gets a link that signs them in to the web
//! panel once: only from a signed delivery, spent by pressing its button (opening it spends
//! nothing), refused the second time; on both backends.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use common::{Backend, TestApp, spawn, wa};

const OWNER: &str = "5491144445555";
const SECRET: &str = "panel-link-app-secret";

/// The owner writes `text` (as message `wamid`), signed with `SECRET`; the bot's answer.
async fn owner_writes(app: &TestApp, wamid: &str, text: &str) -> String {
    let at = *app.clock.lock().unwrap();
    let body = wa::envelope((OWNER, "Dueña"), wamid, wa::text(text), at);
    app.deliver(body, Some(SECRET)).await;
    app.answer_to(wamid).await["text"]["body"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panel_sends_a_link_that_signs_the_owner_in_once() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(
            backend,
            &[
                ("CABANAS_OWNER_WHATSAPP", OWNER),
                ("CABANAS_WHATSAPP_APP_SECRET", SECRET),
            ],
        )
        .await;
        let answer = owner_writes(&app, "wamid.panel.1", "panel").await;
        let at = answer
            .find("/panel/enlace/")
            .unwrap_or_else(|| panic!("{backend:?}: no link in {answer:?}"));
        let path = answer[at..].split_whitespace().next().unwrap().to_owned();
        let url = format!("{}{path}", app.base);
        let http = no_redirects();

        // Opening it (a preview, a prefetch) spends nothing: twice, the button both times.
        for _ in 0..2 {
            let shown = http.get(&url).send().await.unwrap();
            assert_eq!(shown.status().as_u16(), 200, "{backend:?}");
            assert!(shown.text().await.unwrap().contains("Entrar al panel"));
        }
        let entered = http.post(&url).send().await.unwrap();
        assert_eq!(entered.status().as_u16(), 303, "{backend:?}");
        let cookie = entered.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("cabanas_panel=") && cookie.contains("HttpOnly"));
        let session = cookie.split(';').next().unwrap().to_owned();
        let calendar = http
            .get(format!("{}/panel/calendario", app.base))
            .header("cookie", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(calendar.status().as_u16(), 200, "{backend:?}: signed in");

        let again = http.post(&url).send().await.unwrap();
        assert_eq!(again.status().as_u16(), 410, "{backend:?}: used once");
        let forged = format!("{}/panel/enlace/{}", app.base, "0".repeat(64));
        assert_eq!(
            http.post(&forged).send().await.unwrap().status().as_u16(),
            410
        );
    }
}

/// Without signed deliveries (no app secret, the sandbox) the owner gets no link, only why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_link_goes_out_while_deliveries_are_not_signed() {
    let app = spawn(Backend::Sqlite, &[("CABANAS_OWNER_WHATSAPP", OWNER)]).await;
    let answer = owner_writes(&app, "wamid.panel.2", "panel").await;
    assert!(!answer.contains("/panel/enlace/"), "{answer}");
    assert!(answer.contains("CABANAS_WHATSAPP_APP_SECRET"), "{answer}");
}
