//! The channels read model (`rm_calendar_versions`, `rm_conflicts`): when each exported
//! calendar last changed, and the open conflicts with imported calendars.

use chrono::{DateTime, NaiveDate, Utc};
use eventstore::{Db, db_fetch};

use crate::sql::from_millis;

/// The last change to an accommodation's exported calendar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CalendarVersion {
    /// The global position of the event that changed it (what the export's `ETag` is built
    /// from).
    pub position: i64,
    pub changed_at: DateTime<Utc>,
}

/// `None` while nothing has changed the calendar since the accommodation was registered.
pub async fn calendar_version(
    db: &Db,
    accommodation_id: &str,
) -> Result<Option<CalendarVersion>, sqlx::Error> {
    let row: Option<(i64, i64)> = db_fetch!(
        db,
        (i64, i64),
        fetch_optional,
        "SELECT position, changed_at_ms FROM rm_calendar_versions WHERE accommodation_id = $1"
            .to_owned(),
        accommodation_id.to_owned()
    )?;
    Ok(row.map(|(position, changed)| CalendarVersion {
        position,
        changed_at: from_millis(changed),
    }))
}

/// An imported booking that overlaps one of ours, until resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct ConflictView {
    pub accommodation_id: String,
    /// The imported calendar's name.
    pub calendar: String,
    pub uid: String,
    /// `reservation` or `not_available`, as the imported event said.
    pub kind: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    /// What of ours it overlaps: `reservation` or `block`, its id and a reservation's code.
    pub occupant_kind: String,
    pub occupant_id: String,
    pub occupant_code: Option<String>,
    pub detected_at: DateTime<Utc>,
}

/// Every open conflict, oldest first.
pub async fn open_conflicts(db: &Db) -> Result<Vec<ConflictView>, sqlx::Error> {
    type Row = (
        String,
        String,
        String,
        String,
        NaiveDate,
        NaiveDate,
        String,
        String,
        Option<String>,
        i64,
    );
    let rows: Vec<Row> = db_fetch!(
        db,
        Row,
        fetch_all,
        "SELECT accommodation_id, calendar, uid, kind, check_in, check_out, occupant_kind, \
         occupant_id, occupant_code, detected_at_ms FROM rm_conflicts ORDER BY detected_at_ms"
            .to_owned()
    )?;
    Ok(rows
        .into_iter()
        .map(
            |(accommodation_id, calendar, uid, kind, check_in, check_out, ok, oid, code, at)| {
                ConflictView {
                    accommodation_id,
                    calendar,
                    uid,
                    kind,
                    check_in,
                    check_out,
                    occupant_kind: ok,
                    occupant_id: oid,
                    occupant_code: code,
                    detected_at: from_millis(at),
                }
            },
        )
        .collect())
}
