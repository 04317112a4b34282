//! The owner's web panel in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which scripts/test installs) driven over the W3C WebDriver protocol, on a
//! phone-sized window, on both backends: signing in through the form, the calendar showing a
//! hold placed through the public API, a hold placed while the page is open appearing without a
//! reload (server-sent events), signing out. Each page is saved as a
//! screenshot under `target/panel-screenshots/` to be looked at.
//!
//! The WebDriver client is the few calls the scenario needs, written here over reqwest: the
//! protocol is plain HTTP and JSON, and a client crate would bring far more than it is used for.

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api::auth::Role;
use base64::Engine;
use common::{Backend, TestApp, spawn};
use serde_json::{Value, json};

const PASSWORD: &str = "una clave bien larga";
/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver, started on a free port for one test and killed with it.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver) must be installed: scripts/test installs it");
        // Held from here on, so that the process is killed and reaped whatever happens next.
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        let http = reqwest::Client::new();
        while started.elapsed() < Duration::from_secs(20) {
            let ready = http.get(format!("{}/status", driver.url)).send().await;
            if let Ok(r) = ready
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not become ready in 20 s");
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session: headless Chromium with a phone's viewport.
struct Session {
    http: reqwest::Client,
    at: String,
}

impl Session {
    async fn open(driver: &Driver) -> Session {
        let http = reqwest::Client::new();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                // Root in a container: Chromium's sandbox cannot start there.
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=390,844"]
            }
        }}});
        let answer: Value = http
            .post(format!("{}/session", driver.url))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"));
        Session {
            at: format!("{}/session/{id}", driver.url),
            http,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let request = self.http.request(method, format!("{}{path}", self.at));
        let request = if body.is_null() {
            request
        } else {
            request.json(&body)
        };
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(
            answer["value"]["error"].is_null(),
            "WebDriver {path}: {answer}"
        );
        answer["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({"text": text}),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            json!({}),
        )
        .await;
    }

    async fn source(&self) -> String {
        let v = self
            .call(reqwest::Method::GET, "/source", Value::Null)
            .await;
        v.as_str().unwrap().to_owned()
    }

    async fn url(&self) -> String {
        let v = self.call(reqwest::Method::GET, "/url", Value::Null).await;
        v.as_str().unwrap().to_owned()
    }

    /// The page's URL once it contains `part` (a form's redirect may land a moment after the
    /// click returns), or whatever it is after 5 s.
    async fn wait_for_url(&self, part: &str) -> String {
        let started = Instant::now();
        loop {
            let url = self.url().await;
            if url.contains(part) || started.elapsed() > Duration::from_secs(5) {
                return url;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sets a form field's value the way a date picker would (typing into a date input
    /// depends on the browser's locale).
    async fn set_value(&self, css: &str, value: &str) {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": "document.querySelector(arguments[0]).value = arguments[1];",
                   "args": [css, value]}),
        )
        .await;
    }

    /// Opens a `<details>` by its summary's words and presses the button inside it.
    async fn act(&self, summary: &str) {
        let summaries = self
            .call(
                reqwest::Method::POST,
                "/elements",
                json!({"using": "css selector", "value": "details summary"}),
            )
            .await;
        for found in summaries.as_array().unwrap() {
            let id = found[ELEMENT].as_str().unwrap();
            let text = self
                .call(
                    reqwest::Method::GET,
                    &format!("/element/{id}/text"),
                    Value::Null,
                )
                .await;
            if text.as_str() == Some(summary) {
                self.call(
                    reqwest::Method::POST,
                    &format!("/element/{id}/click"),
                    json!({}),
                )
                .await;
                return;
            }
        }
        panic!("no action {summary:?} on the page");
    }

    /// Waits (5 s at most) until the page says `words`.
    async fn wait_for_text(&self, words: &str) -> bool {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(5) {
            if self.source().await.contains(words) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }

    /// Saves what the browser shows as `target/panel-screenshots/{name}.png`.
    async fn screenshot(&self, name: &str) -> PathBuf {
        let v = self
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        let dir = screenshots();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    async fn close(self) {
        let _ = self.http.delete(&self.at).send().await;
    }
}

/// Where the screenshots go: the build's target directory, wherever cargo put it.
fn screenshots() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("panel-screenshots")
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_signs_in_and_sees_the_calendar_in_a_browser() {
    let driver = Driver::start().await;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, &[]).await;
        let name = format!("{backend:?}").to_lowercase();
        let email = owner(&app).await;
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let held = app.hold(&acc, 3, 5).await;
        assert_eq!(held.status, 201, "{backend:?}: {:?}", held.body);
        let code = held.body["code"].as_str().unwrap().to_owned();
        app.state.runner.catch_up().await.unwrap();

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
        browser.click("nav form button[type=submit]").await;
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
        let (acc, _) = app.register("Cabaña del Lago", 4).await;
        let held = app.hold(&acc, 20, 22).await;
        assert_eq!(held.status, 201, "{backend:?}: {:?}", held.body);
        let code = held.body["code"].as_str().unwrap().to_owned();
        app.state.runner.catch_up().await.unwrap();
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
