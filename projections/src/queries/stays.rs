//! The availability read model (`rm_stays`): night-by-night calendars, the stays a channel's
//! export lists, and the holds due to expire.

use chrono::{DateTime, NaiveDate, Utc};
use domain::{AccommodationId, ReservationId};
use eventstore::{Db, db_fetch};
use serde::Serialize;

use crate::availability::StayStatus;

#[derive(Clone, Debug, Serialize, PartialEq, sqlx::FromRow)]
pub struct StayView {
    pub occupant_id: String,
    pub status: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    #[serde(skip)]
    pub expires_at_ms: Option<i64>,
    pub code: Option<String>,
    pub source: String,
    pub external_uid: Option<String>,
}

/// One night of one accommodation.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NightView {
    pub date: NaiveDate,
    /// `free`, `held`, `confirmed` or `blocked`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_uid: Option<String>,
}

/// Night-by-night status of `[from, to)`.
pub async fn calendar(
    db: &Db,
    accommodation_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<NightView>, sqlx::Error> {
    let stays: Vec<StayView> = db_fetch!(
        db,
        StayView,
        fetch_all,
        "SELECT occupant_id, status, check_in, check_out, expires_at_ms, code, source, external_uid \
         FROM rm_stays WHERE accommodation_id = $1 AND check_in < $3 AND check_out > $2"
            .to_owned(),
        accommodation_id.to_owned(),
        from,
        to
    )?;
    let live: Vec<&StayView> = stays
        .iter()
        .filter(|s| s.expires_at_ms.is_none_or(|ms| ms > now.timestamp_millis()))
        .collect();
    Ok(from
        .iter_days()
        .take_while(|d| *d < to)
        .map(|date| {
            match live
                .iter()
                .find(|s| s.check_in <= date && date < s.check_out)
            {
                Some(s) => NightView {
                    date,
                    status: s.status.clone(),
                    code: s.code.clone(),
                    source: Some(s.source.clone()),
                    external_uid: s.external_uid.clone(),
                },
                None => NightView {
                    date,
                    status: "free".into(),
                    code: None,
                    source: None,
                    external_uid: None,
                },
            }
        })
        .collect())
}

/// A stay as a channel's export lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportedStay {
    pub occupant_id: String,
    pub status: StayStatus,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub code: Option<String>,
    /// Where it came from (a channel's name, `admin`, `direct`…).
    pub source: String,
}

/// The accommodation's stays that end on `ending_from` or later, except those that came from
/// `except_source` (a channel is not sent its own stays back), by check-in.
pub async fn stays_to_export(
    db: &Db,
    accommodation_id: &str,
    ending_from: NaiveDate,
    except_source: &str,
) -> Result<Vec<ExportedStay>, sqlx::Error> {
    type Row = (String, String, NaiveDate, NaiveDate, Option<String>, String);
    let rows: Vec<Row> = db_fetch!(
        db,
        Row,
        fetch_all,
        "SELECT occupant_id, status, check_in, check_out, code, source FROM rm_stays \
         WHERE accommodation_id = $1 AND check_out >= $2 AND source <> $3 \
         ORDER BY check_in, occupant_id"
            .to_owned(),
        accommodation_id.to_owned(),
        ending_from,
        except_source.to_owned()
    )?;
    Ok(rows
        .into_iter()
        .map(
            |(occupant_id, status, check_in, check_out, code, source)| ExportedStay {
                occupant_id,
                // A word this version does not know still occupies its nights: exported as
                // booked rather than left out, so that no channel sees them free.
                status: StayStatus::parse(&status).unwrap_or(StayStatus::Confirmed),
                check_in,
                check_out,
                code,
                source,
            },
        )
        .collect())
}

/// A hold whose time is up.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DueHold {
    pub reservation_id: ReservationId,
    pub accommodation_id: AccommodationId,
}

/// When the longest-overdue hold should have lapsed (`None`: no hold is past its time): a hold
/// minutes overdue means the scheduler is not running.
pub async fn oldest_overdue_hold(
    db: &Db,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let rows: Vec<(Option<i64>,)> = db_fetch!(
        db,
        (Option<i64>,),
        fetch_all,
        "SELECT MIN(expires_at_ms) FROM rm_stays WHERE status = $2 AND expires_at_ms <= $1"
            .to_owned(),
        now.timestamp_millis(),
        StayStatus::Held.as_str()
    )?;
    Ok(rows
        .first()
        .and_then(|(ms,)| *ms)
        .and_then(DateTime::from_timestamp_millis))
}

/// Holds whose expiry is at or before `now`, the longest overdue first, at most `limit` (rows
/// with unreadable ids are left out).
pub async fn holds_due(
    db: &Db,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<DueHold>, sqlx::Error> {
    let rows: Vec<(String, String)> = db_fetch!(
        db,
        (String, String),
        fetch_all,
        "SELECT occupant_id, accommodation_id FROM rm_stays \
         WHERE status = $2 AND expires_at_ms <= $1 ORDER BY expires_at_ms LIMIT $3"
            .to_owned(),
        now.timestamp_millis(),
        StayStatus::Held.as_str(),
        limit
    )?;
    Ok(rows
        .into_iter()
        .filter_map(|(reservation, accommodation)| {
            Some(DueHold {
                reservation_id: reservation.parse().ok()?,
                accommodation_id: accommodation.parse().ok()?,
            })
        })
        .collect())
}
