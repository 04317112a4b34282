#![allow(clippy::unwrap_used)] // Test helpers: a failed set-up should stop the test loudly.
//! The service starts on the embedded default and answers its health checks, on both backends.

use api::app::Application;
use api::config::Settings;
use sqlx::Connection;

async fn spawn(database_url: String) -> String {
    let settings = Settings::from_lookup(|k| match k {
        "CABANAS_BIND" => Some("127.0.0.1:0".into()),
        "CABANAS_DATABASE_URL" => Some(database_url.clone()),
        _ => None,
    })
    .unwrap();
    let app = Application::build(&settings).await.expect("app builds");
    let port = app.port();
    tokio::spawn(app.run());
    format!("http://127.0.0.1:{port}")
}

async fn get(url: String) -> (u16, serde_json::Value) {
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn healthz_and_readyz_answer_on_sqlite_without_any_server() {
    let dir = std::env::temp_dir().join(format!("cabanas-api-{}", uuid_like()));
    let base = spawn(format!("sqlite://{}/sub/cabanas.db", dir.display())).await;
    assert_eq!(
        get(format!("{base}/healthz")).await,
        (200, serde_json::json!({"status": "ok"}))
    );
    let (status, body) = get(format!("{base}/readyz")).await;
    assert_eq!(status, 200);
    assert_eq!(body["database"], "sqlite");
}

#[tokio::test]
async fn readyz_reports_postgres_when_configured() {
    let admin = std::env::var("CABANAS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let db = format!("cabanas_api_test_{}", uuid_like().replace('-', "_"));
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL must be running");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let base_url = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or(admin);
    let base = spawn(format!("{base_url}/{db}")).await;
    let (status, body) = get(format!("{base}/readyz")).await;
    assert_eq!(status, 200);
    assert_eq!(body["database"], "postgres");
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}
