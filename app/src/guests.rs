//! A guest's personal data: read from the log (opening sealed profiles with the guest's key),
//! and erased on request (the key destroyed, the conversation tables cleared, the owner's alerts
//! that name the guest deleted).

use domain::accommodation::Channel;
use domain::{DomainEvent, GuestCommand, GuestEvent, GuestId};
use eventstore::db_exec;
use eventstore::pii::{self, Profile};
use serde::Serialize;

use crate::context::Context;
use crate::error::AppError;
use crate::execute::Origin;
use crate::guest_stream::execute_guest;

/// The guest's latest profile, `None` when there is none or it was erased.
pub async fn profile(state: &Context, guest_ref: &str) -> Result<Option<Profile>, AppError> {
    let events = state.store.read_stream(guest_ref, 0).await?;
    for e in events.iter().rev() {
        match GuestEvent::from_stored(&e.event_type, e.schema_version as u32, e.payload.clone()) {
            Ok(GuestEvent::ProfileRecorded(p)) => {
                return Ok(Some(Profile {
                    name: p.name,
                    phone: p.phone,
                    whatsapp: false,
                }));
            }
            Ok(GuestEvent::ProfileSealed(p)) => {
                let key = pii::key(&state.db, guest_ref).await?;
                return Ok(key.and_then(|k| pii::open_profile(&k, &p.sealed)));
            }
            Ok(GuestEvent::PersonalDataErased(_)) => return Ok(None),
            _ => {}
        }
    }
    Ok(None)
}

/// The guest's phone number, `None` when there is no profile or it was erased.
pub async fn phone(state: &Context, guest_ref: &str) -> Result<Option<String>, AppError> {
    Ok(profile(state, guest_ref).await?.map(|p| p.phone))
}

/// The WhatsApp number to tell a guest of their booking `channel` at: theirs when they booked
/// on WhatsApp, or when they booked elsewhere and asked to hear there (`guest.whatsapp`);
/// `None` otherwise, or once erased.
pub async fn whatsapp_number(
    state: &Context,
    guest_ref: &str,
    channel: Channel,
) -> Result<Option<String>, AppError> {
    Ok(profile(state, guest_ref).await?.and_then(|p| {
        (channel == Channel::Whatsapp || p.whatsapp)
            .then(|| p.phone.chars().filter(char::is_ascii_digit).collect())
    }))
}

/// Deletes the messages to the owner that name the guest (a handoff, news of their booking):
/// they hold the guest's name and number as the owner read them. Returns how many.
async fn forget_in_owner_alerts(state: &Context, guest: &Profile) -> Result<u64, AppError> {
    let Some(owner) = state.settings.owner_whatsapp.as_deref() else {
        return Ok(0);
    };
    let digits: String = guest.phone.chars().filter(char::is_ascii_digit).collect();
    // Short values would match unrelated alerts by chance.
    let needles: Vec<&str> = [guest.name.trim(), guest.phone.trim(), digits.as_str()]
        .into_iter()
        .filter(|n| n.chars().count() >= 6)
        .collect();
    let alerts: Vec<(String, String)> = eventstore::db_fetch!(
        &state.db,
        (String, String),
        fetch_all,
        "SELECT id, body FROM wa_outbox WHERE wa_id = $1".to_owned(),
        owner.to_owned()
    )?;
    let mut deleted = 0;
    for (id, body) in alerts {
        // The body is the JSON sent to Meta, where a name or a number reads as written.
        if needles.iter().any(|n| body.contains(n)) {
            deleted += db_exec!(
                &state.db,
                "DELETE FROM wa_outbox WHERE id = $1".to_owned(),
                id
            )?;
        }
    }
    Ok(deleted)
}

/// What an erasure did.
#[derive(Debug, Serialize)]
pub struct Erased {
    pub guest: String,
    pub key_destroyed: bool,
    pub messages_deleted: u64,
    /// Profiles written in clear by earlier versions cannot be shredded: said, not hidden.
    pub clear_profiles_left_in_log: usize,
}

/// Forgets a guest. Their key is destroyed (the sealed profiles in the log become unreadable
/// for good), `GuestPersonalDataErased` is recorded once (asking again records nothing new),
/// their WhatsApp messages and replies, and the owner's alerts that name them, are deleted. The
/// log and its hash chain stay intact.
pub async fn erase(state: &Context, guest: &str, admin: &str) -> Result<Erased, AppError> {
    let id = GuestId::from_stream_id(guest)
        .ok_or_else(|| AppError::not_found(format!("no guest {guest}")))?;
    let guest_ref = id.stream_id();
    let events = state.store.read_stream(&guest_ref, 0).await?;
    if events.is_empty() {
        return Err(AppError::not_found(format!("no guest {guest_ref}")));
    }
    // The phone is needed to find their conversation: read it before the key goes.
    let known = profile(state, &guest_ref).await?;
    let phone: Option<String> = known
        .as_ref()
        .map(|p| p.phone.chars().filter(char::is_ascii_digit).collect());
    let mut messages = 0;
    if let Some(known) = &known {
        messages += forget_in_owner_alerts(state, known).await?;
    }
    if let Some(phone) = phone.filter(|p| !p.is_empty()) {
        messages += db_exec!(
            &state.db,
            "DELETE FROM wa_inbox WHERE wa_id = $1".to_owned(),
            phone.clone()
        )?;
        messages += db_exec!(
            &state.db,
            "DELETE FROM wa_outbox WHERE wa_id = $1".to_owned(),
            phone
        )?;
    }
    let destroyed = pii::erase(&state.db, &guest_ref).await?;
    // Erased already, with no profile since: the guest's aggregate records nothing new.
    let origin = Origin::admin(admin).correlated(id.as_uuid());
    let recorded = execute_guest(state, id, GuestCommand::Erase { guest_id: id }, &origin).await?;
    if !recorded.event_ids.is_empty() {
        tracing::info!("a guest's personal data was erased");
    }
    Ok(Erased {
        guest: guest_ref,
        key_destroyed: destroyed,
        messages_deleted: messages,
        clear_profiles_left_in_log: events
            .iter()
            .filter(|e| e.event_type == "GuestProfileRecorded")
            .count(),
    })
}

/// Hands the conversation with `wa_id` back to the bot, on behalf of whoever `origin` names:
/// its next message is answered from the menu. The guest stream's new version; `None` when
/// that number never wrote.
pub async fn hand_back(
    state: &Context,
    wa_id: &str,
    origin: &Origin,
) -> Result<Option<i64>, AppError> {
    let Some(guest) = pii::find_guest(&state.db, wa_id).await? else {
        return Ok(None);
    };
    let cmd = GuestCommand::AdvanceDialogue {
        // Each hand-back is its own move, never a repeat of an earlier one.
        wamid: format!("release:{}", uuid::Uuid::new_v4()),
        state: serde_json::to_value(conversation::dialogue::State::Menu).unwrap_or_default(),
        at: state.now(),
    };
    let origin = origin.clone().correlated(guest.as_uuid());
    Ok(Some(
        execute_guest(state, guest, cmd, &origin).await?.version,
    ))
}
