//! The owner's web panel as a browser without JavaScript sees it, for the panel's HTTP tests:
//! a client that follows no redirect by itself and keeps the panel's cookies by hand.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

use api::auth::Role;

use super::TestApp;

/// The password every panel test user gets.
pub const PASSWORD: &str = "una clave bien larga";

/// A browser without JavaScript: follows no redirect by itself and keeps cookies by hand
/// (reqwest's cookie store is not enabled in this workspace).
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: HashMap<String, String>,
}

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The `Set-Cookie` line for cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The hidden CSRF field's value.
    pub fn csrf(&self) -> String {
        self.hidden("csrf")
    }

    /// The value of the page's first hidden field `name`.
    pub fn hidden(&self, name: &str) -> String {
        let key = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&key).unwrap() + key.len();
        let len = self.body[start..].find('"').unwrap();
        self.body[start..start + len].to_owned()
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            cookies: HashMap::new(),
        }
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
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

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
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
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
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
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `path` once it shows every one of `wanted` (the read models trail the log), or as it is
/// after 15 s; always a 200.
pub async fn page_showing(browser: &mut Browser, path: &str, wanted: &[&str]) -> Page {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        if wanted.iter().all(|w| page.body.contains(w)) || Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Blocks the cabin's nights from `from` to `to` with the calendar's form, as the owner does
/// ("pintura"); the answer to the POST.
pub async fn block_from_calendar(browser: &mut Browser, acc: &str, from: &str, to: &str) -> Page {
    let calendar = browser.get("/panel/calendario").await;
    assert!(
        calendar.body.contains("Bloquear noches"),
        "{}",
        calendar.body
    );
    let csrf = calendar.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("cabana", acc),
        ("desde", from),
        ("hasta", to),
        ("nota", "pintura"),
    ];
    browser.post("/panel/calendario/bloquear", &form).await
}

/// A browser signed in as a new user `email` with `role`.
pub async fn signed_in(app: &TestApp, email: &str, role: Role) -> Browser {
    let now = chrono::Utc::now().timestamp_millis();
    api::panel::users::add(&app.state.db, email, role, PASSWORD, now)
        .await
        .unwrap();
    let mut browser = Browser::new(app);
    assert_eq!(browser.sign_in(email, PASSWORD).await.status, 303);
    browser
}
