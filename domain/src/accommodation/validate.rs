//! Every check a command's input must pass before anything is decided, in one place, and the
//! owner's calendar day the date checks are taken against.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, Utc};

use crate::{BookingError, Money, StayDates};

use super::{MAX_BLOCK_NIGHTS, MAX_CAPACITY, MAX_DAYS_AHEAD, MAX_DIRECTIONS, MAX_NIGHTS};

/// An accommodation's name as given, trimmed: 1 to 100 characters.
pub(super) fn accommodation_name(given: &str) -> Result<&str, BookingError> {
    let name = given.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(BookingError::InvalidAccommodation(
            "the name must have 1 to 100 characters".into(),
        ));
    }
    Ok(name)
}

/// How many guests a cabin takes: 1 to `MAX_CAPACITY`.
pub(super) fn capacity(capacity: u32) -> Result<u32, BookingError> {
    if capacity == 0 || capacity > MAX_CAPACITY {
        return Err(BookingError::InvalidAccommodation(format!(
            "capacity must be between 1 and {MAX_CAPACITY}"
        )));
    }
    Ok(capacity)
}

/// The shortest stay a cabin takes: 1 to `MAX_NIGHTS` nights.
pub(super) fn min_nights(min_nights: u32) -> Result<u32, BookingError> {
    if min_nights == 0 || min_nights > MAX_NIGHTS {
        return Err(BookingError::InvalidAccommodation(format!(
            "minimum nights must be between 1 and {MAX_NIGHTS}"
        )));
    }
    Ok(min_nights)
}

/// Directions as given, trimmed; blank means none.
pub(super) fn directions(given: Option<&str>) -> Result<Option<String>, BookingError> {
    let Some(text) = given.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_DIRECTIONS {
        return Err(BookingError::InvalidAccommodation(format!(
            "directions must have at most {MAX_DIRECTIONS} characters"
        )));
    }
    Ok(Some(text.to_owned()))
}

/// A payment the owner took by hand, as they told it: a positive amount, and the reference
/// it is known by (trimmed, 1 to 100 characters).
pub(super) fn taken_by_hand(amount: Money, reference: &str) -> Result<&str, BookingError> {
    if amount <= Money::ZERO {
        return Err(BookingError::InvalidAmount);
    }
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().count() > 100 {
        return Err(BookingError::InvalidPaymentReference);
    }
    Ok(reference)
}

/// What an imported calendar may be called (it names blocks and the export's `X-SOURCE`).
pub fn valid_calendar_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The rules a stay request must meet before any night is looked at: not in the past, within
/// the minimum and maximum nights, and a guest count the accommodation takes. Quotes use it too,
/// so a quote never promises what a hold would refuse.
pub fn validate_stay(
    capacity: u32,
    min_nights: u32,
    utc_offset_minutes: i32,
    stay: &StayDates,
    guests: u32,
    now: DateTime<Utc>,
) -> Result<(), BookingError> {
    within_calendar(stay, local_today(now, utc_offset_minutes))?;
    validate_nights_and_party(capacity, min_nights, stay, guests)
}

/// Nights the calendar is open for on `today`: from today, and at most [`MAX_DAYS_AHEAD`] away.
/// A search for availability answers the same as a quote or a hold would for those nights.
pub fn within_calendar(stay: &StayDates, today: NaiveDate) -> Result<(), BookingError> {
    if stay.check_in() < today {
        return Err(BookingError::CheckInInPast {
            check_in: stay.check_in(),
            today,
        });
    }
    let latest = today + chrono::Days::new(MAX_DAYS_AHEAD);
    if stay.check_in() > latest {
        return Err(BookingError::TooFarAhead {
            check_in: stay.check_in(),
            latest,
        });
    }
    Ok(())
}

/// An owner's block: nights the calendar is open for, and under a year of them.
pub(super) fn validate_block(
    stay: &StayDates,
    utc_offset_minutes: i32,
    now: DateTime<Utc>,
) -> Result<(), BookingError> {
    within_calendar(stay, local_today(now, utc_offset_minutes))?;
    if stay.nights() > MAX_BLOCK_NIGHTS {
        return Err(BookingError::StayTooLong {
            nights: stay.nights(),
            maximum: MAX_BLOCK_NIGHTS,
        });
    }
    Ok(())
}

/// `validate_stay` without the check-in date: how long, and how many.
pub(super) fn validate_nights_and_party(
    capacity: u32,
    min_nights: u32,
    stay: &StayDates,
    guests: u32,
) -> Result<(), BookingError> {
    let nights = stay.nights();
    if nights < min_nights {
        return Err(BookingError::StayTooShort {
            nights,
            minimum: min_nights,
        });
    }
    if nights > MAX_NIGHTS {
        return Err(BookingError::StayTooLong {
            nights,
            maximum: MAX_NIGHTS,
        });
    }
    if guests == 0 || guests > capacity {
        return Err(BookingError::InvalidGuestCount { guests, capacity });
    }
    Ok(())
}

/// The owner's calendar day at `now`: the one rule for "today" everywhere.
pub fn local_today(now: DateTime<Utc>, utc_offset_minutes: i32) -> NaiveDate {
    local_time(now, utc_offset_minutes).date()
}

/// `now` on the owner's wall clock (date and time), for "after 10 in the morning" rules.
pub fn local_time(now: DateTime<Utc>, utc_offset_minutes: i32) -> NaiveDateTime {
    // An offset outside ±24 h cannot come from our own events; fall back to UTC rather than panic.
    let offset = FixedOffset::east_opt(utc_offset_minutes * 60).unwrap_or(Utc.fix());
    now.with_timezone(&offset).naive_local()
}
