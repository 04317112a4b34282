//! "bloquear del 24 al 27" keeps nights for the owner (in the cabin named, when there are
//! several); "desbloquear" (or "liberar") with the same nights frees them.

use conversation::nlu;
use conversation::owner::{nights, nights_to_block, span, spoken, taken};
use domain::accommodation::{AccommodationCommand, BlockDates, BlockSource, UnblockDates};
use domain::error::BookingError;
use domain::{Accommodation, AccommodationId, Aggregate, BlockId, StayDates};

use super::cabin_id;
use crate::context::Context;
use crate::error::AppError;
use crate::execute::{Origin, execute};

/// Blocks the nights `text` names in the cabin it names (the only one, when there is one), or
/// frees the owner's blocks within them; what to tell the owner.
pub(super) async fn block(
    state: &Context,
    origin: &Origin,
    wamid: &str,
    text: &str,
    free: bool,
) -> Result<String, AppError> {
    let verb = if free { "desbloquear" } else { "bloquear" };
    let Some(now) = crate::arrivals::owner_time(state, state.now()).await? else {
        return Ok("Todavía no hay cabañas registradas.".to_owned());
    };
    let (check_in, check_out) = match nights_to_block(text, now.date(), verb) {
        Ok(nights) => nights,
        Err(question) => return Ok(question),
    };
    let cabins = projections::queries::accommodations(&state.db).await?;
    let cabin = match cabins.as_slice() {
        [only] => only,
        _ => match nlu::named(&cabins, |c| &c.name, text) {
            Some(cabin) => cabin,
            None => {
                let names: Vec<&str> = cabins.iter().map(|c| c.name.as_str()).collect();
                return Ok(format!(
                    "¿En qué cabaña? Escribime también su nombre ({}).",
                    names.join(", ")
                ));
            }
        },
    };
    let id = cabin_id(&cabin.id)?;
    let stay = match StayDates::new(check_in, check_out) {
        Ok(stay) => stay,
        Err(e) => return Ok(format!("No pude {verb} esas noches: {}.", spoken(&e))),
    };
    let said = format!("{} {} ({})", cabin.name, span(&stay), nights(stay.nights()));
    let current = state.accommodation(id).await?;
    if free {
        return unblock(state, origin, id, &current, &stay, &said).await;
    }
    // Named after the message, so that the same message taken up twice is one block.
    let block_id = BlockId::from_uuid(uuid::Uuid::from_bytes(uuid_bytes(wamid)));
    if current.blocks().any(|b| b.id == block_id) {
        return Ok(format!("🔒 Bloqueé {said}."));
    }
    let cmd = AccommodationCommand::BlockDates(BlockDates {
        block_id,
        stay,
        source: BlockSource::Admin,
        note: Some("bloqueado desde WhatsApp".into()),
    });
    // Decided first on the state just read, for the refusal in the owner's words.
    match current.decide(&cmd, state.now()) {
        Err(BookingError::DatesUnavailable { .. }) => {
            return Ok(format!(
                "No bloqueé nada: {}.",
                taken(&current, &stay, None)
            ));
        }
        Err(e) => return Ok(format!("No pude bloquear esas noches: {}.", spoken(&e))),
        Ok(_) => {}
    }
    match execute(
        state,
        id,
        cmd,
        &origin.clone().correlated(block_id.as_uuid()),
    )
    .await
    {
        Ok(_) => Ok(format!(
            "🔒 Bloqueé {said}. Nadie puede reservarlas; para liberarlas, «desbloquear» con las \
             mismas fechas."
        )),
        // Taken between the read and the write.
        Err(AppError::Domain(e)) => Ok(format!("No pude bloquear esas noches: {}.", spoken(&e))),
        Err(e) => Err(e),
    }
}

/// Frees the owner's blocks of `cabin` that lie within `stay` (`said`: the cabin and the
/// nights, in words); what to tell the owner. A block that reaches past the nights said, or
/// that an imported calendar holds, is named, not freed.
async fn unblock(
    state: &Context,
    origin: &Origin,
    id: AccommodationId,
    cabin: &Accommodation,
    stay: &StayDates,
    said: &str,
) -> Result<String, AppError> {
    let mut freed = 0;
    let mut notes = Vec::new();
    for b in cabin.blocks().filter(|b| b.stay.overlaps(stay)) {
        let when = span(&b.stay);
        match &b.source {
            BlockSource::External { calendar, .. } => notes.push(format!(
                "{when} lo bloquea el calendario de {calendar}: se libera allá"
            )),
            BlockSource::Admin
                if b.stay.check_in() < stay.check_in() || b.stay.check_out() > stay.check_out() =>
            {
                notes.push(format!(
                    "hay un bloqueo {when}: para liberarlo, «desbloquear {when}»"
                ));
            }
            BlockSource::Admin => {
                let cmd = AccommodationCommand::UnblockDates(UnblockDates { block_id: b.id });
                match execute(state, id, cmd, &origin.clone().correlated(b.id.as_uuid())).await {
                    Ok(_) => freed += 1,
                    // Freed meanwhile (the same message taken up twice).
                    Err(AppError::Domain(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
    let mut answer = if freed > 0 {
        format!("🔓 Liberé {said}.")
    } else {
        format!("No liberé nada en {said}.")
    };
    if freed == 0 && notes.is_empty() {
        answer.push_str(" No había nada bloqueado.");
    }
    for note in notes {
        answer.push_str(&format!("\n• {note}"));
    }
    Ok(answer)
}

/// Sixteen bytes that name `key` (the first of its SHA-256), shaped as a version-8 UUID.
fn uuid_bytes(key: &str) -> [u8; 16] {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(key.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // Version 8 (custom), RFC 4122 variant.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_names_one_block_whenever_it_is_taken_up() {
        let once = uuid::Uuid::from_bytes(uuid_bytes("wamid.1"));
        assert_eq!(once, uuid::Uuid::from_bytes(uuid_bytes("wamid.1")));
        assert_ne!(once, uuid::Uuid::from_bytes(uuid_bytes("wamid.2")));
        assert_eq!(once.get_version_num(), 8);
        assert_eq!(once.get_variant(), uuid::Variant::RFC4122);
    }
}
