//! What the owner hears of from the chat, on their WhatsApp: a guest who asked for a person
//! (the owner answers them, then hands them back to the bot), and a transfer to check (the
//! owner confirms transfers by hand, from their bank). The words are in
//! `conversation::notices::alerts`; the buttons' ids are the owner's commands'.

use conversation::notices::alerts::{self, GuestStay, TransferHint, WaitingHold};
use domain::GuestId;
use integrations::whatsapp::webhook::{InboundMessage, MessageKind};
use projections::ReservationStatus;

use super::guest_reservations;
use crate::context::Context;
use crate::error::AppError;

/// The guest as the owner knows them: their WhatsApp profile name and number.
pub(super) fn sender(m: &InboundMessage) -> String {
    alerts::sender(m.profile_name.as_deref(), &m.wa_id)
}

/// The owner hears that the guest who sent `m` asked to talk to a person: what they wrote, what
/// they may want to change (with the owner's commands for it), how to write to them, and a
/// button that hands them back to the bot.
pub(super) async fn handoff(
    state: &Context,
    m: &InboundMessage,
    guest: &GuestId,
) -> Result<(), AppError> {
    let said = match &m.kind {
        MessageKind::Text { body } => Some(body.as_str()),
        _ => None,
    };
    let stays = stays_to_come(state, guest).await?;
    let alert = alerts::handoff(
        m.profile_name.as_deref(),
        &m.wa_id,
        said,
        &stays,
        crate::owner::RELEASE_BUTTON,
    );
    crate::outbox::alert_owner_with(state, &format!("handoff:{}", m.wamid), &alert).await?;
    Ok(())
}

/// The guest's held and confirmed stays yet to end, for the owner a handoff reaches.
async fn stays_to_come(state: &Context, guest: &GuestId) -> Result<Vec<GuestStay>, AppError> {
    let today = state.today();
    let mine = guest_reservations(state, guest).await?;
    Ok(mine
        .into_iter()
        .filter(|r| {
            matches!(
                r.status,
                ReservationStatus::Held | ReservationStatus::Confirmed
            ) && r.check_out > today
        })
        .map(|r| GuestStay {
            confirmed: r.status == ReservationStatus::Confirmed,
            code: r.code,
            cabin: r.accommodation_name,
            check_in: r.check_in,
            check_out: r.check_out,
        })
        .collect())
}

/// The owner hears on their WhatsApp (once per guest message) that a transfer for the deposit
/// of the `waiting` holds may have arrived: they confirm transfers by hand, from their bank, and
/// can do it from there (see `owner`): with the alert's button when one hold waits.
pub(super) async fn transfer(
    state: &Context,
    m: &InboundMessage,
    hint: TransferHint,
    waiting: &[WaitingHold],
) -> Result<(), AppError> {
    let alert = alerts::transfer(&sender(m), hint, waiting, crate::owner::CONFIRM_BUTTON);
    crate::outbox::alert_owner_with(state, &format!("transfer:{}", m.wamid), &alert).await?;
    Ok(())
}
