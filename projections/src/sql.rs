//! One code path for both databases, as read models use it.
//!
//! Read-model SQL is written once with `$1`-style placeholders, which SQLite also accepts, and
//! table names carrying a `{s}` suffix slot (empty for the live tables, `_next` while a rebuild
//! fills fresh ones). The transaction type and the macros that expand one statement for each
//! backend are `eventstore`'s (beside `Db`); they are re-exported here so that `projections::Tx`
//! and `projections::db_fetch!` keep working.

use eventstore::Backend;
pub use eventstore::sql::Tx;

/// The suffix of the tables being read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Names {
    pub suffix: &'static str,
}

/// The tables readers use.
pub const LIVE: Names = Names { suffix: "" };
/// The tables a rebuild fills before they are swapped in.
pub const NEXT: Names = Names { suffix: "_next" };

impl Names {
    pub fn sql(&self, template: &str) -> String {
        template.replace("{s}", self.suffix)
    }
}

/// Fills the per-backend slots of a DDL template: `{date}` (DATE on PostgreSQL, ISO text on
/// SQLite, where text dates compare correctly), `{g}` (a tag keeping index names unique across
/// rebuilds) and `{s}`.
pub fn ddl(template: &str, backend: Backend, names: Names, tag: &str) -> String {
    let date = match backend {
        Backend::Postgres => "DATE",
        Backend::Sqlite => "TEXT",
    };
    names
        .sql(template)
        .replace("{date}", date)
        .replace("{g}", tag)
}

/// Milliseconds since the epoch: how read models store instants, so that SQLite compares them
/// as numbers rather than as differently formatted strings.
pub fn millis(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_millis(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Centavos: read models sum money as integers on both backends.
pub fn cents(m: domain::Money) -> i64 {
    use rust_decimal::prelude::ToPrimitive;
    (m.amount() * rust_decimal::Decimal::from(100))
        .round()
        .to_i64()
        .unwrap_or(i64::MAX)
}

pub fn money_from_cents(c: i64) -> domain::Money {
    domain::Money::new(rust_decimal::Decimal::new(c, 2).normalize())
}

/// A value for [`insert_rows`].
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    Text(Option<String>),
    Int(Option<i64>),
    Date(chrono::NaiveDate),
}

impl From<String> for Param {
    fn from(v: String) -> Param {
        Param::Text(Some(v))
    }
}

impl From<&str> for Param {
    fn from(v: &str) -> Param {
        Param::Text(Some(v.to_owned()))
    }
}

impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Param {
        Param::Text(v)
    }
}

impl From<i64> for Param {
    fn from(v: i64) -> Param {
        Param::Int(Some(v))
    }
}

impl From<Option<i64>> for Param {
    fn from(v: Option<i64>) -> Param {
        Param::Int(v)
    }
}

impl From<chrono::NaiveDate> for Param {
    fn from(v: chrono::NaiveDate) -> Param {
        Param::Date(v)
    }
}

/// On PostgreSQL a batch goes in as one array per column (`INSERT … SELECT * FROM UNNEST(…)`):
/// a handful of parameters however many rows, so the statement is parsed and planned once.
async fn insert_unnest(
    tx: &mut Tx,
    head: &str,
    tail: &str,
    rows: &[Vec<Param>],
) -> Result<(), sqlx::Error> {
    let Some(first) = rows.first() else {
        return Ok(());
    };
    let Tx::Pg(t) = tx else {
        return Ok(());
    };
    enum Column {
        Text(Vec<Option<String>>),
        Int(Vec<Option<i64>>),
        Date(Vec<chrono::NaiveDate>),
    }
    let mut columns: Vec<Column> = first
        .iter()
        .map(|p| match p {
            Param::Text(_) => Column::Text(Vec::with_capacity(rows.len())),
            Param::Int(_) => Column::Int(Vec::with_capacity(rows.len())),
            Param::Date(_) => Column::Date(Vec::with_capacity(rows.len())),
        })
        .collect();
    for row in rows {
        for (column, p) in columns.iter_mut().zip(row) {
            match (column, p) {
                (Column::Text(c), Param::Text(v)) => c.push(v.clone()),
                (Column::Int(c), Param::Int(v)) => c.push(*v),
                (Column::Date(c), Param::Date(v)) => c.push(*v),
                // Every row of a batch is built by the same code with the same shape.
                _ => {
                    return Err(sqlx::Error::Protocol(
                        "mixed column types in a batch".into(),
                    ));
                }
            }
        }
    }
    let casts: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let ty = match c {
                Column::Text(_) => "text",
                Column::Int(_) => "int8",
                Column::Date(_) => "date",
            };
            format!("${}::{ty}[]", i + 1)
        })
        .collect();
    let sql = format!("{head} SELECT * FROM UNNEST({}) {tail}", casts.join(", "));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for c in columns {
        q = match c {
            Column::Text(v) => q.bind(v),
            Column::Int(v) => q.bind(v),
            Column::Date(v) => q.bind(v),
        };
    }
    q.execute(&mut **t).await?;
    Ok(())
}

/// Inserts many rows with few statements (a catch-up applies thousands of events per batch;
/// one round trip per row would dominate it). `head` is `INSERT INTO t (a, b, c)`, optionally
/// followed by `tail` (e.g. `ON CONFLICT … DO NOTHING`).
pub async fn insert_rows(
    tx: &mut Tx,
    head: &str,
    tail: &str,
    rows: &[Vec<Param>],
) -> Result<(), sqlx::Error> {
    let per_statement = match tx.backend() {
        Backend::Postgres => return insert_unnest(tx, head, tail, rows).await,
        // Anonymous `?` parameters, not `?N` or `$N`: for every parameter sqlx asks SQLite for
        // its name, and SQLite finds a numbered name by a linear scan of all of them, which made
        // binding quadratic in the statement's size (measured: a tenth of a catch-up's time with
        // 32 rows per statement). Unnamed, the lookup is free and larger statements pay off.
        Backend::Sqlite => 200,
    };
    for chunk in rows.chunks(per_statement) {
        let mut sql = String::with_capacity(head.len() + chunk.len() * 40);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for j in 0..row.len() {
                if j > 0 {
                    sql.push(',');
                }
                sql.push('?');
            }
            sql.push(')');
        }
        sql.push(' ');
        sql.push_str(tail);
        macro_rules! run {
            ($t:expr) => {{
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for p in chunk.iter().flatten() {
                    q = match p {
                        Param::Text(v) => q.bind(v.clone()),
                        Param::Int(v) => q.bind(*v),
                        Param::Date(v) => q.bind(*v),
                    };
                }
                q.execute(&mut **$t).await?;
            }};
        }
        match tx {
            Tx::Pg(t) => run!(t),
            Tx::Sqlite(t) => run!(t),
        }
    }
    Ok(())
}
