//! The owner's web panel (issue 28), on both backends, driven as a browser would: a user added
//! through the function the CLI uses, sign-in refused and then throttled, the calendar with a
//! hold and a block, CSRF refusals, the session cookie's attributes, signing out.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use api::auth::Role;
use api::panel::users::{self, Added};
use common::{Backend, TestApp, spawn};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;

const PASSWORD: &str = "una clave bien larga";

/// A browser without JavaScript: follows no redirect by itself and keeps cookies by hand
/// (reqwest's cookie store is not enabled in this workspace).
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

struct Page {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `Set-Cookie` line for cookie `name`.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The hidden CSRF field's value.
    fn csrf(&self) -> String {
        let start = self.body.find("name=\"csrf\" value=\"").unwrap() + 19;
        let len = self.body[start..].find('"').unwrap();
        self.body[start..start + len].to_owned()
    }
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            cookies: HashMap::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let req = if jar.is_empty() {
            req
        } else {
            req.header("Cookie", jar.join("; "))
        };
        let resp = req.send().await.unwrap();
        let page = Page {
            status: resp.status().as_u16(),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        };
        for line in page.headers.get_all(SET_COOKIE) {
            let line = line.to_str().unwrap();
            let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        page
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect();
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.join("&"));
        self.send(req).await
    }

    /// Loads the sign-in form and posts it.
    async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/panel/").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.csrf();
        self.post(
            "/panel/ingresar",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await
    }
}

/// A form value, percent-encoded (reqwest's `form` feature is not enabled here either).
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
            .post(
                &format!("/v1/admin/accommodations/{acc}/blocks"),
                Some(&app.admin),
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
