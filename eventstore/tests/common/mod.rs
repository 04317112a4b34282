#![allow(dead_code)] // Shared by several test binaries; each uses a different part.
//! Real databases for the tests: a fresh SQLite file and a fresh PostgreSQL database each time.

use std::sync::Arc;

use eventstore::EventStore;
use eventstore::postgres::PgStore;
use eventstore::sqlite::SqliteStore;

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

    /// Runs raw SQL written for this backend's schema: PostgreSQL keeps positions and hashes in
    /// `event_positions`, SQLite in `events`.
    pub async fn exec_each(&self, postgres: &[&'static str], sqlite: &[&'static str]) {
        let statements = match self.raw {
            Raw::Pg(_) => postgres,
            Raw::Sqlite(_) => sqlite,
        };
        for sql in statements {
            self.exec(sql).await;
        }
    }
}

pub async fn sqlite() -> TestStore {
    let store = SqliteStore::connect(&eventstore::testing::temp_sqlite_url())
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
    let url = eventstore::testing::fresh_postgres_url()
        .await
        .expect("PostgreSQL must be running (scripts/test starts it)");
    let store = PgStore::connect(&url, eventstore::Tuning::default())
        .await
        .expect("pg store");
    let raw = Raw::Pg(store.pool().clone());
    TestStore {
        store: Arc::new(store),
        raw,
        name: "postgres",
    }
}

/// Both backends, each with a second store on the same database: another instance of the
/// service, with its own memory of what it has seen.
pub async fn both_with_twin() -> Vec<(TestStore, Arc<dyn EventStore>)> {
    let sqlite_url = eventstore::testing::temp_sqlite_url();
    let pg_url = eventstore::testing::fresh_postgres_url()
        .await
        .expect("PostgreSQL must be running (scripts/test starts it)");
    let mut out = Vec::new();
    let store = SqliteStore::connect(&sqlite_url)
        .await
        .expect("sqlite store");
    let twin = SqliteStore::connect(&sqlite_url)
        .await
        .expect("sqlite twin");
    let raw = Raw::Sqlite(store.pool().clone());
    out.push((
        TestStore {
            store: Arc::new(store),
            raw,
            name: "sqlite",
        },
        Arc::new(twin) as Arc<dyn EventStore>,
    ));
    let store = PgStore::connect(&pg_url, eventstore::Tuning::default())
        .await
        .expect("pg store");
    let twin = PgStore::connect(&pg_url, eventstore::Tuning::default())
        .await
        .expect("pg twin");
    let raw = Raw::Pg(store.pool().clone());
    out.push((
        TestStore {
            store: Arc::new(store),
            raw,
            name: "postgres",
        },
        Arc::new(twin) as Arc<dyn EventStore>,
    ));
    out
}

/// Both backends, for tests that must hold on each.
pub async fn both() -> Vec<TestStore> {
    vec![sqlite().await, postgres().await]
}
