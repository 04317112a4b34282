//! Placing the hold the guest confirmed, and moving it when they correct its nights or party.

use conversation::dialogue::Outcome;
use domain::accommodation::{AccommodationCommand, Channel, PlaceHold, ReplaceHold};
use domain::{AccommodationId, BookingError, GuestId, ReservationId, StayDates};
use integrations::whatsapp::webhook::InboundMessage;

use super::derived;
use crate::bookings::{self, HoldRequest, NewGuest};
use crate::context::Context;
use crate::error::AppError;
use crate::execute::{Origin, execute};

/// The hold the guest confirmed, placed as every channel places one (`bookings::place_hold`),
/// under an id derived from the message (a message taken up twice places one hold).
pub(super) async fn place_hold(
    state: &Context,
    m: &InboundMessage,
    accommodation_id: &str,
    (check_in, check_out): (chrono::NaiveDate, chrono::NaiveDate),
    guests: u32,
) -> Result<Outcome, AppError> {
    let Ok(accommodation) = accommodation_id.parse::<AccommodationId>() else {
        return Ok(Outcome::Unavailable);
    };
    let name = m
        .profile_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "Huésped de WhatsApp".into());
    let request = HoldRequest {
        accommodation,
        check_in,
        check_out,
        guests,
        // They wrote to us there.
        guest: NewGuest {
            name,
            phone: m.wa_id.clone(),
            whatsapp: true,
        },
        channel: Channel::Whatsapp,
        reservation_id: ReservationId::from_uuid(derived(&m.wamid, "hold")),
    };
    match bookings::place_hold(state, &request, &Origin::guest_whatsapp(&m.wamid)).await {
        Ok(held) => Ok(Outcome::Held {
            code: held.code.to_string(),
            deposit: held.deposit,
            expires_at: held.expires_at,
        }),
        Err(AppError::Domain(BookingError::InvalidGuestCount { capacity, .. })) => {
            Ok(Outcome::PartyTooLarge { largest: capacity })
        }
        // Taken meanwhile, or no longer fitting the cabin's rules: other nights are offered.
        Err(AppError::Domain(_) | AppError::NotFound(_) | AppError::Invalid(_)) => {
            Ok(Outcome::Unavailable)
        }
        Err(e) => Err(e),
    }
}

/// The guest's hold `code` corrected to other nights or another party, in the same cabin: the
/// hold is cancelled and another placed in one decision (`ReplaceHold`), so a guest who corrects
/// themselves never holds twice, nor loses the first hold when the second cannot be had.
pub(super) async fn move_hold(
    state: &Context,
    m: &InboundMessage,
    guest: &GuestId,
    code: &str,
    accommodation_id: &str,
    (check_in, check_out): (chrono::NaiveDate, chrono::NaiveDate),
    guests: u32,
) -> Result<Outcome, AppError> {
    let (Ok(id), Ok(stay)) = (
        accommodation_id.parse::<AccommodationId>(),
        StayDates::new(check_in, check_out),
    ) else {
        return Ok(Outcome::Unavailable);
    };
    // By code through the read model brought to the head first: the hold may be this very
    // conversation's last write, not yet projected.
    let previous = crate::reservations::by_code(state, code)
        .await?
        .filter(|r| r.guest.reference == guest.stream_id())
        .and_then(|r| r.id.parse::<ReservationId>().ok());
    let Some(previous) = previous else {
        return Ok(Outcome::Reservation(None));
    };
    let reservation_id = ReservationId::from_uuid(derived(&m.wamid, "hold"));
    let cmd = AccommodationCommand::ReplaceHold(ReplaceHold {
        previous,
        hold: PlaceHold {
            reservation_id,
            code: bookings::fresh_code(state).await?,
            guest_ref: guest.stream_id(),
            stay,
            guests,
            channel: Channel::Whatsapp,
            hold_duration: chrono::Duration::minutes(state.settings.hold_minutes),
        },
    });
    let origin = Origin::guest_whatsapp(&m.wamid).correlated(reservation_id.as_uuid());
    let done = match execute(state, id, cmd, &origin).await {
        Ok(done) => done,
        Err(AppError::Domain(e)) => {
            return Ok(match e {
                BookingError::InvalidGuestCount { capacity, .. } => {
                    Outcome::PartyTooLarge { largest: capacity }
                }
                // The hold lapsed (or was paid) meanwhile: nothing moved.
                BookingError::NotHeld => Outcome::Lapsed {
                    codes: vec![code.to_owned()],
                },
                _ => Outcome::Unavailable,
            });
        }
        Err(other) => return Err(other),
    };
    // Processed before a crash: the new hold is already there; its answer again.
    let acc = state.accommodation(id).await?;
    Ok(match acc.reservation(reservation_id) {
        Some(r)
            if done.events.is_empty()
                || r.status == domain::accommodation::ReservationStatus::Held =>
        {
            Outcome::Moved {
                code: r.code.to_string(),
                deposit: r.quote.deposit,
                expires_at: r.expires_at,
            }
        }
        _ => Outcome::Unavailable,
    })
}
