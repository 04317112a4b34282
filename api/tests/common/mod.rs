#![allow(dead_code)] // Shared by several test binaries; each uses a different part.
//! Spawns the real application on a random port against a fresh database.

pub mod panel;
pub mod wa;

use std::sync::{Arc, Mutex};

use api::auth::{Keys, Role};
use api::config::Settings;
use api::server::{AppState, Application};
use app::Clock;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

pub const SECRET: &str = "test-secret-test-secret-test-secret-42";

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    Sqlite,
    /// PostgreSQL with Redis, as a scaled-out deployment runs.
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub admin: String,
    pub auditor: String,
    pub clock: Arc<Mutex<DateTime<Utc>>>,
    pub state: actix_web::web::Data<AppState>,
    pub backend: Backend,
    pub database_url: String,
}

pub async fn spawn(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
    let url = match backend {
        Backend::Sqlite => eventstore::testing::temp_sqlite_url(),
        Backend::Postgres => eventstore::testing::fresh_postgres_url()
            .await
            .expect("PostgreSQL must be running (scripts/test starts it)"),
    };
    spawn_on(backend, &url, extra).await
}

/// Another instance on the database at `url` (e.g. a running app's `database_url`), as a
/// scaled-out deployment runs several.
pub async fn spawn_on(backend: Backend, url: &str, extra: &[(&str, &str)]) -> TestApp {
    let url = url.to_owned();
    let redis =
        std::env::var("CABANAS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut vars: Vec<(String, String)> = vec![
        ("CABANAS_BIND".into(), "127.0.0.1:0".into()),
        ("CABANAS_DATABASE_URL".into(), url.clone()),
        ("CABANAS_JWT_SECRET".into(), SECRET.into()),
        ("CABANAS_EXPIRY_INTERVAL_SECS".into(), "1".into()),
    ];
    if backend == Backend::Postgres {
        vars.push(("CABANAS_REDIS_URL".into(), redis));
        // Each app its own namespace: tests (and a benchmark) running in the same minute must
        // not spend each other's rate limits.
        vars.push((
            "CABANAS_REDIS_PREFIX".into(),
            format!("cabanas-test-{}", uuid::Uuid::new_v4().simple()),
        ));
    }
    for (k, v) in extra {
        vars.push(((*k).into(), (*v).into()));
    }
    let settings = Settings::from_lookup(|k| {
        vars.iter()
            .rev()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    let store = eventstore::connect(&url).await.unwrap();
    let clock = Arc::new(Mutex::new(Utc::now()));
    let hand = clock.clone();
    let moved: Clock = Arc::new(move || *hand.lock().unwrap());
    let app = Application::with_store(&settings, store, moved)
        .await
        .expect("app builds");
    let port = app.port();
    let state = app.state();
    tokio::spawn(app.run());
    let keys = Keys::new(SECRET);
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::new(),
        admin: keys
            .mint("owner", Role::Admin, chrono::Duration::hours(1))
            .unwrap(),
        auditor: keys
            .mint("auditor", Role::Auditor, chrono::Duration::hours(1))
            .unwrap(),
        clock,
        state,
        backend,
        database_url: url,
    }
}

/// The `event_type` of each event in `list` (a JSON array of the audit API's events).
pub fn event_types(list: &Value) -> Vec<&str> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|e| e["event_type"].as_str().unwrap_or_default())
        .collect()
}

pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.clock.lock().unwrap();
        *now += by;
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            content_type,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        self.send(req).await
    }

    /// `GET path` as the admin.
    pub async fn admin_get(&self, path: &str) -> Reply {
        self.get(path, Some(&self.admin)).await
    }

    /// `GET path` as the auditor.
    pub async fn auditor_get(&self, path: &str) -> Reply {
        self.get(path, Some(&self.auditor)).await
    }

    /// `POST path` with `body` as the admin.
    pub async fn admin_post(&self, path: &str, body: Value) -> Reply {
        self.post(path, Some(&self.admin), body).await
    }

    pub async fn register(&self, name: &str, capacity: u32) -> (String, i64) {
        let r = self
            .post(
                "/v1/admin/accommodations",
                Some(&self.admin),
                json!({
                    "name": name,
                    "capacity": capacity,
                    "pricing": {"nightly_base": 40000, "cleaning_fee": "8000", "weekend_multiplier": 1.25},
                    "min_nights": 2
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        (
            r.body["id"].as_str().unwrap().to_owned(),
            r.body["position"].as_i64().unwrap(),
        )
    }

    /// `text` from the guest `from`, delivered as Meta delivers it (the test service checks no
    /// signature), with message id `wamid`, at the app's clock.
    pub async fn guest_text(&self, from: &str, wamid: &str, text: &str) {
        self.whatsapp_from((from, "Ana Pérez"), wamid, wa::text(text))
            .await;
    }

    /// The reservation's events as the audit API has them, (type, actor), read at the log's
    /// head.
    pub async fn events_of(&self, code: &str) -> Vec<(String, String)> {
        app::reservations::caught_up(&self.state).await.unwrap();
        let path = format!("/v1/audit/reservations/{code}/timeline");
        let timeline = self.get(&path, Some(&self.auditor)).await;
        assert_eq!(timeline.status, 200, "{:?}", timeline.body);
        timeline.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let actor = e["metadata"]["actor"].as_str().unwrap_or("").to_owned();
                (e["event_type"].as_str().unwrap().to_owned(), actor)
            })
            .collect()
    }

    /// The owner confirms the hold `code`, its deposit taken by hand, through the admin API.
    pub async fn confirm_by_hand(&self, code: &str, amount: &str, reference: &str) -> Reply {
        let path = format!("/v1/admin/reservations/{code}/confirm");
        let body = json!({"amount": amount, "payment_reference": reference});
        self.post(&path, Some(&self.admin), body).await
    }

    /// Whether every night of the cabin from `from` to `to` is free, as the admin API says.
    pub async fn all_free(&self, accommodation: &str, from: &str, to: &str) -> bool {
        let path = format!("/v1/admin/accommodations/{accommodation}/calendar?from={from}&to={to}");
        let nights = self.get(&path, Some(&self.admin)).await;
        let nights = nights.body["nights"].as_array().unwrap().clone();
        !nights.is_empty() && nights.iter().all(|n| n["status"] == "free")
    }

    pub fn day(&self, days_ahead: i64) -> String {
        (Utc::now() + chrono::Duration::days(days_ahead))
            .date_naive()
            .to_string()
    }

    pub async fn hold(&self, accommodation: &str, from: i64, to: i64) -> Reply {
        self.post(
            "/v1/reservations",
            None,
            json!({
                "accommodation_id": accommodation,
                "check_in": self.day(from),
                "check_out": self.day(to),
                "guests": 2,
                "guest": {"name": "Ana Pérez", "phone": "+54 9 11 5555-1234"}
            }),
        )
        .await
    }
}
