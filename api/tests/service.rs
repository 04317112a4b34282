//! The `cabanas` binary as an owner runs it: started with no configuration at all in an empty
//! directory (the README's run command), and stopped with SIGTERM, as a service manager or a
//! container runtime stops it. The other tests build the application in-process; only these
//! see what `main` adds (defaults, storage set-up, signal handling, the drain on the way out).

#![allow(clippy::unwrap_used)] // Test set-up failures should stop the test loudly.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use serde_json::json;
use sqlx::Connection;
use wiremock::matchers::{body_partial_json, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A running `cabanas serve` in `dir`, with only `vars` set: no variable of the test's own
/// environment (scripts/test sets some) reaches it.
struct Service {
    child: Child,
    base: String,
}

impl Service {
    async fn start(dir: &Path, vars: &[(&str, &str)]) -> Service {
        // A free port, chosen here: simpler than reading the one it bound back from its log.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.join(format!("service-{port}.log"))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_cabanas"))
            .arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CABANAS_BIND", format!("127.0.0.1:{port}"))
            .envs(vars.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let service = Service {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = http.get(format!("{}/healthz", service.base)).send().await
                && r.status() == 200
            {
                return service;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "the service did not answer /healthz within 30 s; see {}",
            dir.display()
        );
    }

    /// Sends SIGTERM and waits for the process to exit by itself; returns how it exited and how
    /// long that took.
    async fn terminate(mut self) -> (ExitStatus, Duration) {
        let asked = std::time::Instant::now();
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, asked.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child.kill().unwrap();
        panic!("the service did not exit within 15 s of SIGTERM");
    }
}

/// An empty directory of the test's own, removed afterwards unless the test failed (the
/// service's log is in it).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("cabanas-service-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // A failed assertion must not leave a server behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_configuration_it_serves_on_sqlite_under_data_and_stops_on_sigterm() {
    let dir = Scratch::new();
    let service = Service::start(dir.path(), &[]).await;
    let ready = reqwest::get(format!("{}/readyz", service.base))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let accommodations = reqwest::get(format!("{}/v1/accommodations", service.base))
        .await
        .unwrap();
    assert_eq!(accommodations.status(), 200);
    assert!(dir.path().join("data/cabanas.db").is_file());
    // Generated once and kept, so that admin tokens outlive a restart.
    assert!(dir.path().join("data/jwt-secret").is_file());
    let (status, took) = service.terminate().await;
    assert!(status.success(), "exit status {status}");
    // Idle workers return at once; one kept to the end of the drain time would take 10 s.
    assert!(took < Duration::from_secs(5), "took {took:?} to stop");
}

/// Messages Meta was asked to send (read receipts aside).
async fn replies(meta: &MockServer) -> usize {
    let requests = meta.received_requests().await.unwrap();
    requests
        .iter()
        .filter(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["to"].is_string())
        .count()
}

/// A reply that is at Meta when SIGTERM arrives is waited for and recorded as sent, so the
/// next start does not send it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_on_its_way_at_sigterm_is_recorded_and_not_sent_again() {
    let meta = MockServer::start().await;
    // The read receipt for the guest's message goes through the same endpoint, answered at once.
    Mock::given(method("POST"))
        .and(body_partial_json(json!({"status": "read"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&meta)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": "16505551234", "wa_id": "16505551234"}],
                    "messages": [{"id": "wamid.reply"}]
                }))
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&meta)
        .await;
    let dir = Scratch::new();
    let meta_uri = meta.uri();
    let vars = [
        ("CABANAS_WHATSAPP_TOKEN", "test-token"),
        ("CABANAS_WHATSAPP_PHONE_NUMBER_ID", "106540352242922"),
        ("CABANAS_WHATSAPP_API_BASE", meta_uri.as_str()),
    ];
    let service = Service::start(dir.path(), &vars).await;
    let delivery = std::fs::read(format!(
        "{}/../integrations/tests/fixtures/whatsapp/text.example.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let accepted = reqwest::Client::new()
        .post(format!("{}/webhooks/whatsapp", service.base))
        .header("content-type", "application/json")
        .body(delivery)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    // SIGTERM comes while the reply's request is at Meta, waiting for its answer.
    for _ in 0..200 {
        if replies(&meta).await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(replies(&meta).await, 1);
    let (status, _) = service.terminate().await;
    assert!(status.success(), "exit status {status}");

    let mut db = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}",
        dir.path().join("data/cabanas.db").display()
    ))
    .await
    .unwrap();
    let outbox: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, wamid FROM wa_outbox")
            .fetch_all(&mut db)
            .await
            .unwrap();
    assert_eq!(
        outbox,
        vec![("sent".to_owned(), Some("wamid.reply".to_owned()))]
    );
    db.close().await.unwrap();

    // Started again on the same data, the service finds nothing left to send.
    let again = Service::start(dir.path(), &vars).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(replies(&meta).await, 1);
    assert!(again.terminate().await.0.success());
}
