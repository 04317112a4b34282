//! The accommodations read model (`rm_accommodations`): the public list, availability for a
//! stay, and what other components need of a cabin (its clock, whether it exists).

use chrono::{DateTime, NaiveDate, Utc};
use domain::accommodation::validate_stay;
use domain::{Pricing, Quote, StayDates};
use eventstore::{Db, db_fetch};
use serde::Serialize;

use crate::sql::from_millis;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AccommodationView {
    pub id: String,
    pub name: String,
    pub capacity: u32,
    pub min_nights: u32,
    pub check_in_time: String,
    pub check_out_time: String,
    pub pricing: Pricing,
    /// The owner's time zone, for "today" in stay rules.
    #[serde(skip)]
    pub utc_offset_minutes: i32,
}

#[derive(sqlx::FromRow)]
struct AccommodationRow {
    id: String,
    name: String,
    capacity: i64,
    pricing: String,
    min_nights: i64,
    check_in_time: String,
    check_out_time: String,
    utc_offset_minutes: i64,
}

impl AccommodationRow {
    fn view(self) -> Option<AccommodationView> {
        Some(AccommodationView {
            id: self.id,
            name: self.name,
            capacity: u32::try_from(self.capacity).ok()?,
            min_nights: u32::try_from(self.min_nights).ok()?,
            check_in_time: self.check_in_time,
            check_out_time: self.check_out_time,
            // Written by the projection from a valid Pricing; unreadable would mean corruption,
            // and such a row is left out rather than failing the whole list.
            pricing: serde_json::from_str(&self.pricing).ok()?,
            utc_offset_minutes: i32::try_from(self.utc_offset_minutes).ok()?,
        })
    }
}

const ACCOMMODATION_COLUMNS: &str =
    "id, name, capacity, pricing, min_nights, check_in_time, check_out_time, utc_offset_minutes";

pub async fn accommodations(db: &Db) -> Result<Vec<AccommodationView>, sqlx::Error> {
    let rows: Vec<AccommodationRow> = db_fetch!(
        db,
        AccommodationRow,
        fetch_all,
        format!("SELECT {ACCOMMODATION_COLUMNS} FROM rm_accommodations ORDER BY name, id")
    )?;
    Ok(rows
        .into_iter()
        .filter_map(AccommodationRow::view)
        .collect())
}

/// Every cabin's name, in the list's order: what a conversation needs of them on every turn
/// (a name said before any is offered), without reading each one's pricing.
pub async fn accommodation_names(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = db_fetch!(
        db,
        (String,),
        fetch_all,
        "SELECT name FROM rm_accommodations ORDER BY name, id".to_owned()
    )?;
    Ok(rows.into_iter().map(|(name,)| name).collect())
}

pub async fn accommodation(db: &Db, id: &str) -> Result<Option<AccommodationView>, sqlx::Error> {
    let row: Option<AccommodationRow> = db_fetch!(
        db,
        AccommodationRow,
        fetch_optional,
        format!("SELECT {ACCOMMODATION_COLUMNS} FROM rm_accommodations WHERE id = $1"),
        id.to_owned()
    )?;
    Ok(row.and_then(AccommodationRow::view))
}

/// Accommodations for `guests` with no active stay on any night of `[check_in, check_out)`.
/// A hold whose expiry has passed no longer counts, even before the scheduler records it.
pub async fn free_accommodations(
    db: &Db,
    check_in: NaiveDate,
    check_out: NaiveDate,
    guests: u32,
    now: DateTime<Utc>,
) -> Result<Vec<AccommodationView>, sqlx::Error> {
    let rows: Vec<AccommodationRow> = db_fetch!(
        db,
        AccommodationRow,
        fetch_all,
        format!(
            "SELECT {ACCOMMODATION_COLUMNS} FROM rm_accommodations a WHERE capacity >= $1 AND NOT EXISTS ( \
             SELECT 1 FROM rm_stays s WHERE s.accommodation_id = a.id AND s.check_in < $3 AND s.check_out > $2 \
             AND (s.expires_at_ms IS NULL OR s.expires_at_ms > $4)) ORDER BY name, id"
        ),
        i64::from(guests),
        check_in,
        check_out,
        now.timestamp_millis()
    )?;
    Ok(rows
        .into_iter()
        .filter_map(AccommodationRow::view)
        .collect())
}

/// The accommodations a guest can book for `stay` now: free those nights, and whose own rules
/// (capacity, minimum nights, no past check-in) take it; each with its quote.
pub async fn bookable(
    db: &Db,
    stay: &StayDates,
    guests: u32,
    now: DateTime<Utc>,
) -> Result<Vec<(AccommodationView, Quote)>, sqlx::Error> {
    let free = free_accommodations(db, stay.check_in(), stay.check_out(), guests, now).await?;
    Ok(free
        .into_iter()
        .filter(|a| {
            validate_stay(
                a.capacity,
                a.min_nights,
                a.utc_offset_minutes,
                stay,
                guests,
                now,
            )
            .is_ok()
        })
        .map(|a| {
            let quote = a.pricing.quote(stay);
            (a, quote)
        })
        .collect())
}

/// Whether the accommodation `id` is registered.
pub async fn accommodation_registered(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let row: Option<(String,)> = db_fetch!(
        db,
        (String,),
        fetch_optional,
        "SELECT id FROM rm_accommodations WHERE id = $1".to_owned(),
        id.to_owned()
    )?;
    Ok(row.is_some())
}

/// The accommodation's offset from UTC, in minutes (its owner's clock); `None` when it is not
/// registered.
pub async fn utc_offset_of(db: &Db, id: &str) -> Result<Option<i32>, sqlx::Error> {
    let row: Option<(i64,)> = db_fetch!(
        db,
        (i64,),
        fetch_optional,
        "SELECT utc_offset_minutes FROM rm_accommodations WHERE id = $1".to_owned(),
        id.to_owned()
    )?;
    Ok(row.map(|(offset,)| offset as i32))
}

/// The owner's offset from UTC, in minutes; `None` before any cabin is registered. One owner,
/// one place: the first cabin's (by name) clock is the owner's.
pub async fn owner_utc_offset(db: &Db) -> Result<Option<i32>, sqlx::Error> {
    let rows: Vec<(i64,)> = db_fetch!(
        db,
        (i64,),
        fetch_all,
        "SELECT utc_offset_minutes FROM rm_accommodations ORDER BY name LIMIT 1".to_owned()
    )?;
    Ok(rows.first().map(|(offset,)| *offset as i32))
}

/// What the iCal export says of the cabin itself.
#[derive(Clone, Debug, PartialEq)]
pub struct CabinCalendar {
    pub name: String,
    pub utc_offset_minutes: i32,
    /// When it was registered: the calendar's last change until anything else changes it.
    pub registered_at: DateTime<Utc>,
}

pub async fn cabin_calendar(db: &Db, id: &str) -> Result<Option<CabinCalendar>, sqlx::Error> {
    let row: Option<(String, i64, i64)> = db_fetch!(
        db,
        (String, i64, i64),
        fetch_optional,
        "SELECT a.name, a.utc_offset_minutes, a.registered_at_ms FROM rm_accommodations a WHERE a.id = $1"
            .to_owned(),
        id.to_owned()
    )?;
    Ok(row.map(|(name, offset, registered)| CabinCalendar {
        name,
        utc_offset_minutes: offset as i32,
        registered_at: from_millis(registered),
    }))
}
