//! The few WebDriver calls the browser tests need, over reqwest: the protocol is plain HTTP
//! and JSON, and a client crate would bring far more than it is used for. `Driver` is
//! chromedriver (Debian's `chromium-driver`), `Session` one headless Chromium with a phone's
//! viewport.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver, started on a free port for one test and killed with it.
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    pub async fn start() -> Driver {
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
pub struct Session {
    http: reqwest::Client,
    at: String,
}

impl Session {
    pub async fn open(driver: &Driver) -> Session {
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

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
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

    pub async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({"url": url}))
            .await;
    }

    pub async fn find(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({"text": text}),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            json!({}),
        )
        .await;
    }

    pub async fn source(&self) -> String {
        let v = self
            .call(reqwest::Method::GET, "/source", Value::Null)
            .await;
        v.as_str().unwrap().to_owned()
    }

    pub async fn url(&self) -> String {
        let v = self.call(reqwest::Method::GET, "/url", Value::Null).await;
        v.as_str().unwrap().to_owned()
    }

    /// The page's URL once it contains `part` (a form's redirect may land a moment after the
    /// click returns), or whatever it is after 5 s.
    pub async fn wait_for_url(&self, part: &str) -> String {
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
    pub async fn set_value(&self, css: &str, value: &str) {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": "document.querySelector(arguments[0]).value = arguments[1];",
                   "args": [css, value]}),
        )
        .await;
    }

    /// Opens a `<details>` by its summary's words and presses the button inside it.
    pub async fn act(&self, summary: &str) {
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
    pub async fn wait_for_text(&self, words: &str) -> bool {
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
    pub async fn screenshot(&self, name: &str) -> PathBuf {
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

    pub async fn close(self) {
        let _ = self.http.delete(&self.at).send().await;
    }
}

/// Where the screenshots go: the build's target directory, wherever cargo put it.
pub fn screenshots() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("panel-screenshots")
}
