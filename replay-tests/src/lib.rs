//! Replaying recorded histories: a history is a JSONL file of stored events in global order (what
//! `cabanas export-log` writes); it is loaded into a fresh store, every projection runs from
//! zero, and the read models are compared, table by table and field by field, with a snapshot
//! recorded next to it.
//!
//! Columns that only say *when this replay ran* (recording times stamped by the store) are left
//! out of snapshots; everything decided by the events themselves is compared.
//!
//! # Layout
//!
//! - `lib.rs`: snapshots of the read-model tables and their comparison.
//! - `scenario.rs`: the scripted season that records a history through the real commands.
//! - `histories/` (beside `src/`): the recorded histories with their snapshots;
//!   `tests/replay.rs` replays each on both backends.

pub mod scenario;

use std::collections::BTreeMap;

use eventstore::Db;
use serde_json::Value;

pub use eventstore::history::{Line, load, read as read_history};

/// The read-model tables a snapshot holds, with the columns that depend on when the replay ran.
pub const TABLES: &[(&str, &[&str])] = &[
    ("rm_accommodations", &["registered_at_ms", "updated_at_ms"]),
    ("rm_stays", &[]),
    ("rm_reservations", &["created_at_ms", "updated_at_ms"]),
    ("rm_guests", &["updated_at_ms"]),
    ("rm_timeline", &["recorded_at_ms", "metadata"]),
    ("rm_payments", &["updated_at_ms"]),
    ("rm_refunds", &["due_at_ms", "issued_at_ms"]),
    ("rm_alerts", &["at_ms", "resolved_at_ms"]),
    ("rm_conflicts", &["detected_at_ms"]),
    ("rm_calendar_versions", &["changed_at_ms"]),
    ("rm_stats_occupancy", &[]),
    ("rm_stats_revenue", &[]),
    ("rm_stats_holds", &[]),
    ("rm_stats_res", &[]),
];

/// Every row of `table` as JSON objects (minus `volatile` columns), in a stable order.
async fn rows(db: &Db, table: &str, volatile: &[&str]) -> anyhow::Result<Vec<Value>> {
    let raw: Vec<String> = match db {
        Db::Postgres(pool) => {
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                "SELECT row_to_json(t)::text FROM {table} t"
            )))
            .fetch_all(pool)
            .await?
        }
        Db::Sqlite(pool) => {
            let columns: Vec<String> = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(
                format!("SELECT name FROM pragma_table_info('{table}')"),
            ))
            .fetch_all(pool)
            .await?;
            let pairs: Vec<String> = columns.iter().map(|c| format!("'{c}', {c}")).collect();
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
                "SELECT json_object({}) FROM {table}",
                pairs.join(", ")
            )))
            .fetch_all(pool)
            .await?
        }
    };
    let mut out: Vec<Value> = raw
        .iter()
        .map(|r| {
            let mut v: Value = serde_json::from_str(r)?;
            if let Value::Object(map) = &mut v {
                for c in volatile {
                    map.remove(*c);
                }
            }
            Ok(v)
        })
        .collect::<anyhow::Result<_>>()?;
    out.sort_by_key(|v| v.to_string());
    Ok(out)
}

pub type Snapshot = BTreeMap<String, Vec<Value>>;

pub async fn snapshot(db: &Db) -> anyhow::Result<Snapshot> {
    let mut s = Snapshot::new();
    for (table, volatile) in TABLES {
        s.insert((*table).to_owned(), rows(db, table, volatile).await?);
    }
    Ok(s)
}

/// Names the first differences: read model, row (by its first field), field, both values.
pub fn diff(expected: &Snapshot, actual: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    for (table, want) in expected {
        let got = actual.get(table).cloned().unwrap_or_default();
        if want.len() != got.len() {
            out.push(format!(
                "{table}: expected {} rows, got {}",
                want.len(),
                got.len()
            ));
        }
        for (i, (w, g)) in want.iter().zip(got.iter()).enumerate() {
            let (Value::Object(w), Value::Object(g)) = (w, g) else {
                continue;
            };
            let id = w
                .iter()
                .next()
                .map(|(k, v)| format!("{k}={v}"))
                .unwrap_or_else(|| format!("#{i}"));
            for (field, value) in w {
                let other = g.get(field).unwrap_or(&Value::Null);
                if other != value {
                    out.push(format!(
                        "{table} row {i} ({id}): field {field}: expected {value}, got {other}"
                    ));
                }
            }
            for field in g.keys().filter(|k| !w.contains_key(*k)) {
                out.push(format!("{table} row {i} ({id}): unexpected field {field}"));
            }
            if out.len() > 20 {
                out.push("…".into());
                return out;
            }
        }
    }
    out
}
