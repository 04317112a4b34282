//! The owner's own WhatsApp (`CABANAS_OWNER_WHATSAPP`) writing to the business number. The owner
//! confirms bank transfers by hand, and is told of each one on that WhatsApp: so from there they
//! can also confirm it, by tapping the alert's "Confirmar seña" button or by writing "confirmar
//! CÓDIGO" (with the amount when another one arrived). Money taken by hand also goes back by
//! hand when a guest cancels: "devuelto CÓDIGO" records that it did. The balance of a stay is
//! collected on arrival, and "cobrado CÓDIGO" records it; "agenda" (or "agenda mañana") tells
//! who comes and goes, as the morning's agenda does. "bloquear del 24 al 27" keeps nights for
//! themselves (in the cabin named, when there are several); "desbloquear" with the same nights
//! frees them. "cancelar CÓDIGO" asks first, with what the policy gives back; "mover CÓDIGO del
//! 12 al 14" asks first too, with the new total. "respuesta wifi: …" sets what the bot answers
//! guests who ask about that. A guest who asked for a person is handed back to the bot by the
//! alert's button or "liberar +NÚMERO". "panel" sends a one-time link into the web panel.
//! "comandos" lists all of these. Anything else they write
//! is a guest's conversation like any other: an owner tries the bot from their own phone.
//!
//! A command is only taken from a delivery whose signature was checked
//! (`CABANAS_WHATSAPP_APP_SECRET`), or in the sandbox, where nothing reaches Meta at all: an
//! unsigned delivery claiming to come from the owner's number could be anyone's.
//!
//! Every command is recorded as the owner's ([`Origin::owner`]), caused by the message that
//! carried it, and matches the typed errors of the domain ([`BookingError`]) and of the
//! application ([`AppError`]) to answer in the owner's words.
//!
//! # Layout
//!
//! - this file: whether a message is the owner's and can be trusted, the button ids the alerts
//!   carry, and [`handle`], which reads the command (`conversation::owner`, pure) and hands it
//!   to its file.
//! - one file per command: `confirm` (a deposit taken by hand), `collected` (a payment on
//!   arrival), `refunded` (refunds made by hand), `agenda` (who comes and goes), `block` (nights
//!   blocked and freed), `cancel`, `move_stay`, `answers` (what the bot answers guests about a
//!   topic), `release` (a conversation handed back to the bot), `panel_link` (a one-time link
//!   into the web panel).
//!
//! [`BookingError`]: domain::error::BookingError

mod agenda;
mod answers;
mod block;
mod cancel;
mod collected;
mod confirm;
mod move_stay;
mod panel_link;
mod refunded;
mod release;

use conversation::owner::{Command, HELP, Sent};
use conversation::reply::{Reply, send_number};
use domain::{AccommodationId, ReservationId};
use integrations::whatsapp::webhook::{InboundMessage, MessageKind};
use projections::queries::ReservationView;

use crate::config::Settings;
use crate::context::Context;
use crate::error::AppError;
use crate::execute::Origin;

/// The ids of the buttons on the owner's alerts and questions, and their meaning: defined with
/// the parser that reads them back (`conversation::owner`), named here for the workflows that
/// put them on a message.
pub use conversation::owner::{
    CANCEL_ALL_BUTTON, CANCEL_BUTTON, CONFIRM_BUTTON, MOVE_BUTTON, RELEASE_BUTTON,
};

/// Whether `wa_id` is the owner's WhatsApp (the same number with or without Argentina's 9).
pub fn is_owner(settings: &Settings, wa_id: &str) -> bool {
    settings
        .owner()
        .is_some_and(|owner| send_number(owner) == send_number(wa_id))
}

/// Whether a delivery from the owner's number can be trusted to be the owner's (see the
/// module's doc).
fn trusted(settings: &Settings) -> bool {
    settings.whatsapp_app_secret.is_some() || settings.whatsapp_token.is_none()
}

/// Carries out the command a message from the owner's number holds, and answers it; `false`
/// when it holds none (the message is the conversation's).
pub async fn handle(state: &Context, m: &InboundMessage) -> Result<bool, AppError> {
    let sent = match &m.kind {
        MessageKind::Text { body } => Sent::Text(body),
        MessageKind::ButtonReply { id, .. } => Sent::Button(id),
        _ => return Ok(false),
    };
    let Some(command) = conversation::owner::command(sent) else {
        return Ok(false);
    };
    let answer = if trusted(&state.settings) {
        // Every command is recorded as the owner's, caused by this message.
        run(state, &Origin::owner(&m.wamid), &m.wamid, command).await?
    } else {
        tracing::warn!(
            "a command from the owner's number was refused: deliveries are not signed (set \
             CABANAS_WHATSAPP_APP_SECRET)"
        );
        Reply::Text(
            "No puedo tomar órdenes desde WhatsApp mientras los mensajes no lleguen firmados: falta \
         configurar CABANAS_WHATSAPP_APP_SECRET (sin eso, cualquiera podría hacerse pasar por \
         vos). Mientras tanto, hacelo desde la API."
                .to_owned(),
        )
    };
    crate::outbox::reply(state, m, &[answer]).await?;
    Ok(true)
}

/// Hands `command` to its file, under `origin`; `wamid` names what must be recorded once
/// however often the message is taken up (a payment collected, a block).
async fn run(
    state: &Context,
    origin: &Origin,
    wamid: &str,
    command: Command,
) -> Result<Reply, AppError> {
    let text = Reply::Text;
    Ok(match command {
        Command::Confirm { code, amount } => {
            text(confirm::confirm(state, origin, &code, amount).await?)
        }
        Command::Refunded { code } => text(refunded::refunded(state, origin, &code).await?),
        Command::Collected {
            code,
            amount,
            method,
        } => text(collected::collected(state, origin, wamid, &code, amount, method).await?),
        Command::Agenda(span) => text(agenda::agenda(state, span).await?),
        Command::Block { text: said, free } => {
            text(block::block(state, origin, wamid, &said, free).await?)
        }
        Command::Cancel { code, sure, all } => {
            cancel::cancel(state, origin, &code, sure, all).await?
        }
        Command::Move { code, to, sure } => {
            move_stay::move_stay(state, origin, &code, to, sure).await?
        }
        Command::Help => text(HELP.to_owned()),
        Command::Answer {
            topic,
            cabin,
            text: answer,
        } => text(answers::teach(state, origin, topic, &cabin, &answer).await?),
        Command::Release { wa_id } => text(release::release(state, origin, &wa_id).await?),
        Command::PanelLink => text(panel_link::link(state).await?),
    })
}

/// A cabin's id as the read model has it.
fn cabin_id(raw: &str) -> Result<AccommodationId, AppError> {
    raw.parse()
        .map_err(|_| AppError::not_found(format!("no accommodation {raw:?}")))
}

/// The reservation `code` names, with its cabin's id and its own; `None` when it names none.
async fn found(
    state: &Context,
    code: &str,
) -> Result<Option<(ReservationView, AccommodationId, ReservationId)>, AppError> {
    let Some(view) = projections::queries::reservation_by_code(&state.db, code).await? else {
        return Ok(None);
    };
    let (Ok(id), Ok(reservation_id)) = (
        view.accommodation_id.parse::<AccommodationId>(),
        view.id.parse::<ReservationId>(),
    ) else {
        return Ok(None);
    };
    Ok(Some((view, id, reservation_id)))
}
