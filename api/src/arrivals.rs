//! The day before a confirmed WhatsApp guest arrives: a message with the cabin's house times and
//! the way there, so nobody has to scroll back to the confirmation. Sent by the hold scheduler
//! (every instance runs it: the reply id names the reservation, and the outbox keeps one row per
//! id), from 10:00 in the owner's calendar on the day before check-in.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use domain::{AccommodationId, ReservationId};
use projections::db_fetch;

use crate::app::AppState;
use crate::problem::Problem;

/// The earliest hour, in the owner's calendar, the message goes out on the day before.
const FROM_HOUR: u32 = 10;

/// Tells each confirmed WhatsApp guest arriving tomorrow how and when to arrive; returns how
/// many were told now.
pub async fn tell_tomorrows_guests(state: &AppState, now: DateTime<Utc>) -> Result<usize, Problem> {
    // Every owner's "tomorrow" falls within these UTC dates, whatever their offset.
    let today = now.date_naive();
    let rows: Vec<(String, String, String, String, NaiveDate, i64)> = db_fetch!(
        &state.db,
        (String, String, String, String, NaiveDate, i64),
        fetch_all,
        "SELECT r.id, r.code, r.accommodation_id, r.guest_ref, r.check_in, a.utc_offset_minutes \
         FROM rm_reservations r JOIN rm_accommodations a ON a.id = r.accommodation_id \
         WHERE r.status = 'confirmed' AND r.channel = 'whatsapp' \
         AND r.check_in >= $1 AND r.check_in <= $2 ORDER BY r.check_in LIMIT 500"
            .to_owned(),
        today,
        today + Duration::days(2)
    )?;
    let mut told = 0;
    for (id, code, accommodation, guest_ref, check_in, offset) in rows {
        let local = now + Duration::minutes(offset);
        if check_in != local.date_naive() + Duration::days(1)
            || local.time() < NaiveTime::from_hms_opt(FROM_HOUR, 0, 0).unwrap_or_default()
        {
            continue;
        }
        let reply_id = format!("arrival:{id}");
        if crate::outbox::queued(&state.db, &reply_id).await? {
            continue;
        }
        let (Ok(accommodation), Ok(reservation)) = (
            accommodation.parse::<AccommodationId>(),
            id.parse::<ReservationId>(),
        ) else {
            continue;
        };
        let cabin = state.accommodation(accommodation).await?;
        let (Some(house), Some(r)) = (cabin.info(), cabin.reservation(reservation)) else {
            continue;
        };
        let Some(phone) = crate::guests::phone(state, &guest_ref).await? else {
            continue;
        };
        let text = format!(
            "¡Mañana te esperamos en {}! (reserva {code})\n{}\nCualquier cosa, escribime por acá.",
            house.name,
            crate::payments::arrival(house, r)
        );
        let reply = conversation::reply::Reply::Text(text);
        if crate::outbox::enqueue(&state.db, &reply_id, &phone, &reply, now.timestamp_millis())
            .await?
        {
            told += 1;
        }
    }
    Ok(told)
}
