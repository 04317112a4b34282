//! Real databases for tests across the workspace: a fresh SQLite file or a fresh PostgreSQL
//! database per call, on the server `CABANAS_TEST_PG_URL` names (scripts/test sets it up).

use sqlx::Connection;

pub fn pg_admin_url() -> String {
    std::env::var("CABANAS_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A `sqlite://` URL of a new file in the temp directory.
pub fn temp_sqlite_url() -> String {
    let path = std::env::temp_dir().join(format!("cabanas-test-{}.db", uuid::Uuid::new_v4()));
    format!("sqlite://{}", path.display())
}

/// Creates an empty database (named `cabanas_test_…`, which scripts/test sweeps) and returns
/// its URL.
pub async fn fresh_postgres_url() -> Result<String, sqlx::Error> {
    let admin = pg_admin_url();
    let db = format!("cabanas_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut conn)
        .await?;
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_owned())
        .unwrap_or(admin);
    Ok(format!("{base}/{db}"))
}
