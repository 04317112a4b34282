#![allow(dead_code)] // Shared by several test binaries; each uses a different part.
//! Real databases for the tests: a fresh SQLite file and a fresh PostgreSQL database each time.

use std::sync::Arc;

use eventstore::EventStore;
use eventstore::postgres::PgStore;
use eventstore::sqlite::SqliteStore;
use sqlx::Connection;

pub enum Raw {
    Pg(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

pub struct TestStore {
    pub store: Arc<dyn EventStore>,
    pub raw: Raw,
    pub name: &'static str,
}

impl TestStore {
    /// Runs raw SQL behind the store's back (to tamper with the log).
    pub async fn exec(&self, sql: &'static str) {
        match &self.raw {
            Raw::Pg(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            Raw::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
        }
        .expect("raw SQL");
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("CABANAS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub async fn sqlite() -> TestStore {
    let path = std::env::temp_dir().join(format!("cabanas-test-{}.db", uuid::Uuid::new_v4()));
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("sqlite store");
    let raw = Raw::Sqlite(store.pool().clone());
    TestStore {
        store: Arc::new(store),
        raw,
        name: "sqlite",
    }
}

pub async fn postgres() -> TestStore {
    let admin = pg_admin_url();
    let db = format!("cabanas_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("PostgreSQL must be running (scripts/test starts it)");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or(admin);
    let store = PgStore::connect(&format!("{base}/{db}"))
        .await
        .expect("pg store");
    let raw = Raw::Pg(store.pool().clone());
    TestStore {
        store: Arc::new(store),
        raw,
        name: "postgres",
    }
}

/// Both backends, for tests that must hold on each.
pub async fn both() -> Vec<TestStore> {
    vec![sqlite().await, postgres().await]
}
