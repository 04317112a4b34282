//! The day before a confirmed guest arrives (one who booked on WhatsApp, or asked to hear
//! there): a message with the cabin's house times and the way there, so nobody has to scroll
//! back to the confirmation. Sent by the hold scheduler
//! (on one instance at a time; the reply id names the reservation and its check-in, and the
//! outbox keeps one row per id; a stay moved to other nights is told again before its new check-in),
//! from 10:00 in the owner's calendar on the day before check-in.
//!
//! And each morning the owner's agenda: who arrives today (with the balance to collect) and who
//! leaves, on the owner's WhatsApp. The words of both are in `conversation::notices::arrivals`.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use conversation::notices::arrivals::{self as notices, Departure};
use domain::accommodation::local_time;
use domain::{AccommodationId, ReservationId};
use projections::queries;

use crate::context::Context;
use crate::error::AppError;

/// A confirmed arrival, as the owner's agenda lists it (its words are `conversation`'s).
pub use conversation::notices::arrivals::Arrival;

/// The earliest hour, in the owner's calendar, the message goes out on the day before.
const FROM_HOUR: u32 = 10;

/// Tells each confirmed WhatsApp guest arriving tomorrow how and when to arrive; returns how
/// many were told now.
pub async fn tell_tomorrows_guests(state: &Context, now: DateTime<Utc>) -> Result<usize, AppError> {
    // Every owner's "tomorrow" falls within these UTC dates, whatever their offset.
    let today = now.date_naive();
    // Every channel: a guest who booked elsewhere may have asked to hear on WhatsApp.
    let check_ins =
        queries::confirmed_check_ins(&state.db, today, today + Duration::days(2)).await?;
    let mut told = 0;
    for c in check_ins {
        let local = local_time(now, c.utc_offset_minutes);
        if c.check_in != local.date() + Duration::days(1)
            || local.time() < NaiveTime::from_hms_opt(FROM_HOUR, 0, 0).unwrap_or_default()
        {
            continue;
        }
        let reply_id = format!("arrival:{}:{}", c.reservation_id, c.check_in);
        if crate::outbox::queued(&state.db, &reply_id).await? {
            continue;
        }
        let (Ok(accommodation), Ok(reservation)) = (
            c.accommodation_id.parse::<AccommodationId>(),
            c.reservation_id.parse::<ReservationId>(),
        ) else {
            continue;
        };
        let cabin = state.accommodation(accommodation).await?;
        let (Some(house), Some(r)) = (cabin.info(), cabin.reservation(reservation)) else {
            continue;
        };
        let Some(phone) = crate::guests::whatsapp_number(state, &c.guest_ref, r.channel).await?
        else {
            continue;
        };
        let text = notices::tomorrow(house, &c.code, r.balance_due());
        let reply = conversation::reply::Reply::Text(text);
        if crate::outbox::enqueue(&state.db, &reply_id, &phone, &reply, now.timestamp_millis())
            .await?
        {
            told += 1;
        }
    }
    Ok(told)
}

/// The earliest hour, in the owner's calendar, the day's agenda goes to the owner.
const AGENDA_HOUR: u32 = 8;

/// Each morning (from 08:00 in the owner's calendar, once a day, only when someone comes or
/// goes) the owner is told on their WhatsApp who arrives today, with the balance to collect,
/// and who leaves. Returns whether the agenda was queued now.
pub async fn tell_owner_the_day(state: &Context, now: DateTime<Utc>) -> Result<bool, AppError> {
    if state.settings.owner_whatsapp.is_none() {
        return Ok(false);
    }
    let Some(local) = owner_time(state, now).await? else {
        return Ok(false);
    };
    if local.time() < NaiveTime::from_hms_opt(AGENDA_HOUR, 0, 0).unwrap_or_default() {
        return Ok(false);
    }
    let today = local.date();
    let id = format!("agenda:{today}");
    if crate::outbox::queued(&state.db, &format!("owner:{id}")).await? {
        return Ok(false);
    }
    let Some(text) = agenda(state, today, "Hoy").await? else {
        return Ok(false);
    };
    // Where the owner learns what else they can do from here.
    crate::outbox::alert_owner(state, &id, notices::morning_agenda(&text)).await?;
    Ok(true)
}

/// `now` on the owner's wall clock (the domain's rule, `local_time`); `None` before any cabin
/// is registered. One owner, one place: the first cabin's calendar is the owner's.
pub async fn owner_time(
    state: &Context,
    now: DateTime<Utc>,
) -> Result<Option<NaiveDateTime>, AppError> {
    let offset = queries::owner_utc_offset(&state.db).await?;
    Ok(offset.map(|offset| local_time(now, offset)))
}

/// Who arrives on `day` (with the balance to collect) and who leaves, headed "📋 {heading},
/// {day}:"; `None` when nobody comes or goes.
pub async fn agenda(
    state: &Context,
    day: NaiveDate,
    heading: &str,
) -> Result<Option<String>, AppError> {
    let arriving = arrivals(state, day, day, 200).await?;
    let leaving: Vec<Departure> = queries::confirmed_departures(&state.db, day, 200)
        .await?
        .into_iter()
        .map(|d| Departure {
            code: d.code,
            cabin: d.cabin,
            guest: d.guest,
        })
        .collect();
    Ok(notices::agenda(heading, day, &arriving, &leaving))
}

/// The confirmed arrivals from `from` to `until` (both included), in order, at most `limit`.
pub async fn arrivals(
    state: &Context,
    from: NaiveDate,
    until: NaiveDate,
    limit: i64,
) -> Result<Vec<Arrival>, AppError> {
    Ok(queries::confirmed_arrivals(&state.db, from, until, limit)
        .await?
        .into_iter()
        .map(|a| Arrival {
            check_in: a.check_in,
            cabin: a.cabin,
            code: a.code,
            guest: a.guest,
            guests: a.guests,
            due: a.due,
        })
        .collect())
}
