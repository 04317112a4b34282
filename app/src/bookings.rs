//! Placing a hold, one way for every channel (the web API and WhatsApp alike), and the guest's
//! profile that goes with it.
//!
//! The read side is asked first (the cabin exists, the stay fits its rules): a request refused
//! there writes nothing. The hold is decided next, on the cabin's stream; only a hold that was
//! placed records the guest's profile, so a refused request (nights taken, too many guests, an
//! unknown cabin) leaves nothing in the permanent log.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::NaiveDate;
use domain::accommodation::{AccommodationCommand, Channel, PlaceHold, validate_stay};
use domain::guest::valid_phone;
use domain::{
    AccommodationEvent, AccommodationId, BookingError, GuestCommand, GuestId, Money,
    ReservationCode, ReservationId, StayDates,
};
use eventstore::{ExpectedVersion, StoreError};
use projections::queries;

use crate::context::Context;
use crate::error::AppError;
use crate::execute::{Origin, execute_unstamped, execute_with};
use crate::guest_stream::{Recorded, execute_guest};

/// Who is booking, as they gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewGuest {
    pub name: String,
    pub phone: String,
    /// They ask to hear of their booking on WhatsApp at `phone` (a WhatsApp guest always does).
    pub whatsapp: bool,
}

impl NewGuest {
    /// What the guest's sealed profile holds.
    fn profile(&self) -> eventstore::pii::Profile {
        eventstore::pii::Profile {
            name: self.name.trim().to_owned(),
            phone: self.phone.clone(),
            whatsapp: self.whatsapp,
        }
    }

    /// The name and phone, checked.
    pub fn validated(&self) -> Result<(), AppError> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::invalid("guest.name must be 1..100 characters"));
        }
        if !valid_phone(&self.phone) {
            return Err(AppError::invalid(
                "guest.phone must be a phone number (6 to 15 digits, + - ( ) and spaces allowed)",
            ));
        }
        Ok(())
    }
}

/// A hold to place.
#[derive(Clone, Debug)]
pub struct HoldRequest {
    pub accommodation: AccommodationId,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub guests: u32,
    pub guest: NewGuest,
    pub channel: Channel,
    /// Derived from the inbound message on WhatsApp, so that a message taken up twice places
    /// one hold; fresh on the web (where the `Idempotency-Key` does that).
    pub reservation_id: ReservationId,
}

/// The hold placed.
#[derive(Clone, Debug)]
pub struct Held {
    pub reservation_id: ReservationId,
    pub code: ReservationCode,
    pub accommodation: AccommodationId,
    pub stay: StayDates,
    pub guests: u32,
    pub quote: domain::Quote,
    pub deposit: Money,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// The global position of the hold (for `min_position`); `None` on a replay.
    pub position: Option<i64>,
}

/// Places a hold: read-side checks first, then the hold, then (only if placed) the guest's
/// profile. A request taken up again (the same `reservation_id`) answers with the hold it
/// placed the first time.
pub async fn place_hold(
    ctx: &Context,
    request: &HoldRequest,
    origin: &Origin,
) -> Result<Held, AppError> {
    request.guest.validated()?;
    let stay = StayDates::new(request.check_in, request.check_out)?;
    // The cabin's own stream (the handler's cached state), not a read model that may not have
    // caught up with a cabin registered a moment ago.
    let cabin = ctx.accommodation(request.accommodation).await?;
    let info = cabin.info().ok_or_else(|| {
        AppError::not_found(format!(
            "no accommodation {:?}",
            request.accommodation.to_string()
        ))
    })?;
    validate_stay(
        info.capacity,
        info.min_nights,
        info.utc_offset_minutes,
        &stay,
        request.guests,
        ctx.now(),
    )?;
    // Nights already taken: refused before anything is written.
    let hold = |guest: GuestId, code: ReservationCode| {
        AccommodationCommand::PlaceHold(PlaceHold {
            reservation_id: request.reservation_id,
            code,
            guest_ref: guest.stream_id(),
            stay,
            guests: request.guests,
            channel: request.channel,
            hold_duration: chrono::Duration::minutes(ctx.settings.hold_minutes),
        })
    };
    let trial = hold(GuestId::random(), ReservationCode::from_entropy(0));
    match domain::Aggregate::decide(&cabin, &trial, ctx.now()) {
        Ok(_) | Err(BookingError::DuplicateReservation(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let code = fresh_code(ctx).await?;
    let origin = origin.clone().correlated(request.reservation_id.as_uuid());
    if eventstore::pii::find_guest(&ctx.db, &request.guest.phone)
        .await?
        .is_none()
        && let Some(held) = hold_for_new_guest(ctx, request, hold, code.clone(), &origin).await?
    {
        return Ok(held);
    }
    let now_ms = ctx.now().timestamp_millis();
    let linked = eventstore::pii::link_guest(&ctx.db, &request.guest.phone, now_ms).await?;
    let guest = linked.id;
    let placed =
        match execute_unstamped(ctx, request.accommodation, hold(guest, code), &origin).await {
            Ok(done) => Some(done),
            // Placed before (the same message taken up again after a crash): that hold.
            Err(AppError::Domain(BookingError::DuplicateReservation(_))) => None,
            Err(e) => return Err(e),
        };
    let held = match &placed {
        Some(done) => held_in(&done.events, request.accommodation),
        None => existing(ctx, request.accommodation, request.reservation_id).await?,
    };
    let mut held = held.ok_or_else(|| {
        AppError::Unavailable(anyhow::anyhow!("the hold was not recorded; retry"))
    })?;
    // Read-your-writes: the position answered covers the guest's profile too, so a client
    // reading at it sees the reservation with its guest's name. One wait for both appends
    // (PostgreSQL stamps them in the background, in commit order), not one after each.
    let (mut ids, mut known) = placed.map_or_else(Default::default, |d| (d.event_ids, d.positions));
    if let Some(recorded) =
        record_guest_as(ctx, guest, linked.new_key, &request.guest, &origin).await?
    {
        ids.extend(recorded.event_ids);
        known.extend(recorded.positions);
    }
    if !ids.is_empty() {
        held.position = crate::execute::positions(ctx, &ids, &known).await?;
    }
    Ok(held)
}

/// A guest booking for the first time: their number's link, their key, the hold and their
/// profile, all in the hold's one transaction (one commit, one turn at SQLite's write lock,
/// where the general path makes three). `None` when that does not apply after all (the number
/// was linked by another request meanwhile, or the hold was placed before): the general path
/// takes it from there.
async fn hold_for_new_guest(
    ctx: &Context,
    request: &HoldRequest,
    hold: impl Fn(GuestId, ReservationCode) -> AccommodationCommand,
    code: ReservationCode,
    origin: &Origin,
) -> Result<Option<Held>, AppError> {
    let guest = GuestId::random();
    let key: [u8; 32] = rand::random();
    let seal = seal(guest, &key, &request.guest.profile());
    let sealed = domain::Aggregate::decide(&domain::Guest::default(), &seal, ctx.now())
        .unwrap_or_else(|never| match never {});
    let guest_origin = origin.clone().correlated(guest.as_uuid());
    let new_guest = NewGuestWrites {
        phone: &request.guest.phone,
        guest,
        key,
        now_ms: ctx.now().timestamp_millis(),
        profile: eventstore::handler::to_new_events(&sealed, &guest_origin.metadata()),
        positions: Mutex::new(Vec::new()),
        called_off: AtomicBool::new(false),
    };
    let cmd = hold(guest, code);
    let done = match execute_with(ctx, request.accommodation, cmd, origin, &new_guest).await {
        Ok(done) => done,
        Err(AppError::Domain(BookingError::DuplicateReservation(_))) => return Ok(None),
        Err(_) if new_guest.called_off.load(Ordering::Relaxed) => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(mut held) = held_in(&done.events, request.accommodation) else {
        return Ok(None);
    };
    let mut ids = done.event_ids;
    ids.extend(new_guest.profile.iter().map(|e| e.event_id));
    let mut known = done.positions;
    known.extend(new_guest.positions.into_inner().unwrap_or_default());
    held.position = crate::execute::positions(ctx, &ids, &known).await?;
    Ok(Some(held))
}

/// What a new guest's first hold writes beside the hold itself.
struct NewGuestWrites<'a> {
    phone: &'a str,
    guest: GuestId,
    key: [u8; 32],
    now_ms: i64,
    /// The sealed profile, appended to the guest's new stream.
    profile: Vec<eventstore::NewEvent>,
    /// The profile's global positions, when the append assigns them (SQLite).
    positions: Mutex<Vec<i64>>,
    /// Set when the number turned out linked already: the hold goes the general way.
    called_off: AtomicBool,
}

#[async_trait::async_trait]
impl eventstore::AlsoWrite for NewGuestWrites<'_> {
    async fn write(&self, tx: &mut dyn eventstore::StoreTx) -> Result<(), StoreError> {
        let linked =
            eventstore::pii::link_new(tx.sql(), self.phone, self.guest, &self.key, self.now_ms)
                .await?;
        if !linked {
            self.called_off.store(true, Ordering::Relaxed);
            return Err(StoreError::CalledOff("the number was linked meanwhile"));
        }
        let stream = self.guest.stream_id();
        let appended = tx
            .append(&stream, ExpectedVersion::NoStream, &self.profile)
            .await?;
        if let Ok(mut positions) = self.positions.lock() {
            *positions = appended.positions;
        }
        Ok(())
    }
}

/// The hold among a command's events.
fn held_in(events: &[AccommodationEvent], accommodation: AccommodationId) -> Option<Held> {
    events.iter().find_map(|e| match e {
        AccommodationEvent::HoldPlaced(h) => Some(Held {
            reservation_id: h.reservation_id,
            code: h.code.clone(),
            accommodation,
            stay: h.stay,
            guests: h.guests,
            quote: h.quote.clone(),
            deposit: h.quote.deposit,
            expires_at: h.expires_at,
            position: None,
        }),
        _ => None,
    })
}

/// The hold `reservation` as the cabin's stream has it.
async fn existing(
    ctx: &Context,
    accommodation: AccommodationId,
    reservation: ReservationId,
) -> Result<Option<Held>, AppError> {
    let cabin = ctx.accommodation(accommodation).await?;
    Ok(cabin.reservation(reservation).map(|r| Held {
        reservation_id: r.id,
        code: r.code.clone(),
        accommodation,
        stay: r.stay,
        guests: r.guests,
        quote: r.quote.clone(),
        deposit: r.quote.deposit,
        expires_at: r.expires_at,
        position: None,
    }))
}

/// A code no reservation in the read model uses yet (collisions are rare: 32^7 codes).
pub async fn fresh_code(ctx: &Context) -> Result<ReservationCode, AppError> {
    loop {
        let code = ReservationCode::from_entropy(rand::random());
        if queries::reservation_by_code(&ctx.db, code.as_str())
            .await?
            .is_none()
        {
            return Ok(code);
        }
    }
}

/// Records the guest's name and phone on their stream when they are new or changed.
pub async fn record_guest(
    ctx: &Context,
    guest: &NewGuest,
    origin: &Origin,
) -> Result<GuestId, AppError> {
    guest.validated()?;
    let now_ms = ctx.now().timestamp_millis();
    let linked = eventstore::pii::link_guest(&ctx.db, &guest.phone, now_ms).await?;
    record_guest_as(ctx, linked.id, linked.new_key, guest, origin).await?;
    Ok(linked.id)
}

/// Records the profile when it is new or changed; the id of the event recorded, if one was.
/// `new_key`: the guest was linked just now with this key, so there is nothing to compare.
async fn record_guest_as(
    ctx: &Context,
    id: GuestId,
    new_key: Option<[u8; 32]>,
    guest: &NewGuest,
    origin: &Origin,
) -> Result<Option<Recorded>, AppError> {
    let name = guest.name.trim();
    let mut profile = guest.profile();
    let key = match new_key {
        Some(key) => key,
        None => {
            // The read model answers whether the name or phone changed; only then, or for a
            // guest asking to hear on WhatsApp, is their sealed profile opened. A consent once
            // given stays: a later booking that does not ask does not withdraw it.
            let known = queries::guest_name_and_phone(&ctx.db, &id.stream_id()).await?;
            if known.as_ref() == Some(&(name.to_owned(), guest.phone.clone())) && !guest.whatsapp {
                return Ok(None);
            }
            let before = crate::guests::profile(ctx, &id.stream_id()).await?;
            profile.whatsapp |= before.as_ref().is_some_and(|p| p.whatsapp);
            if before.as_ref() == Some(&profile) {
                return Ok(None);
            }
            let now_ms = ctx.now().timestamp_millis();
            eventstore::pii::key_or_create(&ctx.db, &id.stream_id(), now_ms).await?
        }
    };
    let origin = origin.clone().correlated(id.as_uuid());
    Ok(Some(
        execute_guest(ctx, id, seal(id, &key, &profile), &origin).await?,
    ))
}

/// The command recording `profile` on guest `id`'s stream. Personal data goes into the log
/// sealed with the guest's own key (see `eventstore::pii`); its events are correlated with the
/// guest's conversation (`origin.correlated(id)`), like their dialogue events.
fn seal(id: GuestId, key: &[u8; 32], profile: &eventstore::pii::Profile) -> GuestCommand {
    GuestCommand::SealProfile {
        guest_id: id,
        sealed: eventstore::pii::seal_profile(key, profile),
    }
}
