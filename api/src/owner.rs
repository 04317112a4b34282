//! The owner's own WhatsApp (`CABANAS_OWNER_WHATSAPP`) writing to the business number. The owner
//! confirms bank transfers by hand, and is told of each one on that WhatsApp: so from there they
//! can also confirm it, by tapping the alert's "Confirmar seña" button or by writing "confirmar
//! CÓDIGO" (with the amount when another one arrived). Money taken by hand also goes back by
//! hand when a guest cancels: "devuelto CÓDIGO" records that it did. Anything else they write is
//! a guest's conversation like any other: an owner tries the bot from their own phone.
//!
//! A command that moves money is only taken from a delivery whose signature was checked
//! (`CABANAS_WHATSAPP_APP_SECRET`), or in the sandbox, where nothing reaches Meta at all: an
//! unsigned delivery claiming to come from the owner's number could be anyone's.

use conversation::reply::{Reply, send_number};
use domain::accommodation::{AccommodationCommand, RecordRefund};
use domain::{AccommodationId, Money, ReservationCode, ReservationId};
use integrations::whatsapp::webhook::{InboundMessage, MessageKind};
use rust_decimal::Decimal;

use crate::app::AppState;
use crate::config::Settings;
use crate::problem::Problem;

/// The id of the alert's button that confirms the deposit of the hold named after it.
pub const CONFIRM_BUTTON: &str = "owner-confirm:";

/// The reference a deposit confirmed from WhatsApp is recorded under: the same every time, so
/// a second tap on the same alert is the same payment told twice, not a second one.
const REFERENCE: &str = "transferencia (confirmada por WhatsApp)";

/// Who the commands are recorded as, in the events' metadata.
const ACTOR: &str = "owner-whatsapp";

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

#[derive(Debug, PartialEq)]
enum Command {
    /// Confirm the deposit of the hold `code`: the amount that arrived, or the deposit asked.
    Confirm {
        code: String,
        amount: Option<Decimal>,
    },
    /// The refunds `code` owes by hand were made.
    Refunded { code: String },
}

/// The command `kind` carries, if it is one. A bare "confirmar" is not: while trying the bot,
/// it is the owner's "yes" to a cabin on offer.
fn command(kind: &MessageKind) -> Option<Command> {
    let text = match kind {
        MessageKind::ButtonReply { id, .. } => {
            return id
                .strip_prefix(CONFIRM_BUTTON)
                .map(|code| Command::Confirm {
                    code: code.to_owned(),
                    amount: None,
                });
        }
        MessageKind::Text { body } => body,
        _ => return None,
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let verb = projections::queries::fold(words.first()?);
    let refunded = verb.starts_with("devuelt") || verb.starts_with("devolv");
    if !(verb.starts_with("confirm") || refunded) {
        return None;
    }
    let rest: Vec<&str> = words[1..]
        .iter()
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
        .collect();
    // A code with a digit; else one of letters only, as the alert writes it (in capitals), so
    // that "confirmar reserva …" is not taken for the code RESERVA.
    let code = rest
        .iter()
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
        .chain(
            rest.iter()
                .filter(|w| w.chars().all(|c| c.is_ascii_uppercase())),
        )
        .find_map(|w| ReservationCode::parse(w).ok())?;
    let code = code.as_str().to_owned();
    if refunded {
        return Some(Command::Refunded { code });
    }
    let amount = words[1..].iter().find_map(|w| amount(w));
    Some(Command::Confirm { code, amount })
}

/// An amount as an Argentine owner writes it: `32400`, `$32.400`, `32.400,50`.
fn amount(word: &str) -> Option<Decimal> {
    let word = word.trim_start_matches('$').trim_end_matches(['.', ',']);
    if word.is_empty()
        || !word
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return None;
    }
    // Dots group thousands; a comma is the decimal mark.
    let plain: String = word
        .chars()
        .filter(|&c| c != '.')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    plain.parse::<Decimal>().ok().filter(|d| *d > Decimal::ZERO)
}

/// Carries out the command a message from the owner's number holds, and answers it; `false`
/// when it holds none (the message is the conversation's).
pub async fn handle(state: &AppState, m: &InboundMessage) -> Result<bool, Problem> {
    let Some(command) = command(&m.kind) else {
        return Ok(false);
    };
    let answer = if !trusted(&state.settings) {
        tracing::warn!(
            "a command from the owner's number was refused: deliveries are not signed (set \
             CABANAS_WHATSAPP_APP_SECRET)"
        );
        "No puedo tomar órdenes desde WhatsApp mientras los mensajes no lleguen firmados: falta \
         configurar CABANAS_WHATSAPP_APP_SECRET (sin eso, cualquiera podría hacerse pasar por \
         vos). Mientras tanto, hacelo desde la API."
            .to_owned()
    } else {
        match command {
            Command::Confirm { code, amount } => confirm(state, &code, amount).await?,
            Command::Refunded { code } => refunded(state, &code).await?,
        }
    };
    crate::chat::reply(state, m, &[Reply::Text(answer)]).await?;
    Ok(true)
}

/// Confirms the deposit of `code` as taken by hand; what to tell the owner. A failure of the
/// service itself is an error (the message is taken up again), not an answer.
async fn confirm(state: &AppState, code: &str, amount: Option<Decimal>) -> Result<String, Problem> {
    let Some(view) = projections::queries::reservation_by_code(&state.db, code).await? else {
        return Ok(format!("No encontré la reserva {code}."));
    };
    match view.status.as_str() {
        "cancelled" => {
            return Ok(format!(
                "La reserva {code} está cancelada: no hay seña que confirmar."
            ));
        }
        "confirmed" => return Ok(format!("La reserva {code} ya está confirmada.")),
        _ => {}
    }
    // What the hold asks for, unless the owner says another amount arrived.
    let amount = amount.map(Money::new).unwrap_or(view.deposit);
    let done =
        crate::routes::confirm_deposit(state, ACTOR, code, REFERENCE.to_owned(), amount).await;
    let (_, body) = match done {
        Ok(answer) => answer,
        Err(p) if p.status >= 500 => return Err(p),
        Err(p) if p.kind == "/problems/dates-unavailable" => {
            return Ok(format!(
                "No pude confirmar la reserva {code}: venció y esas noches ya las tomó otra \
                 reserva. No registré nada; la transferencia es para devolver."
            ));
        }
        Err(p) => {
            return Ok(format!(
                "No pude confirmar la reserva {code} ({}).",
                p.detail
            ));
        }
    };
    let events = body["events"].as_array().cloned().unwrap_or_default();
    let balance: Money = serde_json::from_value(body["balance_due"].clone()).unwrap_or_default();
    Ok(if events.is_empty() {
        format!("La reserva {code} ya está confirmada.")
    } else if events.iter().any(|e| e == "LatePaymentAccepted") {
        format!(
            "✅ Listo: la reserva {code} había vencido, pero las noches seguían libres y quedó \
             confirmada con la seña de {amount}. Saldo a cobrar al llegar: {balance}."
        )
    } else {
        format!(
            "✅ Listo: la reserva {code} quedó confirmada con la seña de {amount}. Saldo a \
             cobrar al llegar: {balance}."
        )
    })
}

/// Records as made the refunds `code` owes by hand; what to tell the owner.
async fn refunded(state: &AppState, code: &str) -> Result<String, Problem> {
    let not_found = || Ok(format!("No encontré la reserva {code}."));
    let Some(view) = projections::queries::reservation_by_code(&state.db, code).await? else {
        return not_found();
    };
    let (Ok(id), Ok(reservation_id)) = (
        view.accommodation_id.parse::<AccommodationId>(),
        view.id.parse::<ReservationId>(),
    ) else {
        return not_found();
    };
    let cabin = state.accommodation(id).await?;
    let owed: Vec<(String, Money)> = cabin
        .reservation(reservation_id)
        .map(|r| {
            r.owed_by_hand()
                .into_iter()
                .map(|(key, amount)| (key.to_owned(), amount))
                .collect()
        })
        .unwrap_or_default();
    if owed.is_empty() {
        return Ok(format!(
            "La reserva {code} no tiene devoluciones a mano pendientes."
        ));
    }
    let mut total = Money::ZERO;
    for (refund_key, amount) in owed {
        crate::routes::on_reservation(state, ACTOR, code, |reservation_id| {
            Ok(AccommodationCommand::RecordRefund(RecordRefund {
                reservation_id,
                refund_key,
                refund_id: "a mano (WhatsApp)".into(),
            }))
        })
        .await?;
        total = total + amount;
    }
    Ok(format!(
        "✅ Anotado: le devolviste {total} de la reserva {code}."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(body: &str) -> MessageKind {
        MessageKind::Text { body: body.into() }
    }

    #[test]
    fn the_alert_button_and_written_commands_name_the_hold_and_the_amount() {
        let tap = MessageKind::ButtonReply {
            id: "owner-confirm:K7M2QXP".into(),
            title: "Confirmar seña".into(),
        };
        let k7 = |amount: Option<&str>| {
            Some(Command::Confirm {
                code: "K7M2QXP".into(),
                amount: amount.map(|a| a.parse().unwrap()),
            })
        };
        assert_eq!(command(&tap), k7(None));
        assert_eq!(command(&text("confirmar k7m2qxp")), k7(None));
        assert_eq!(
            command(&text("Confirmá K7M2QXP $32.400")),
            k7(Some("32400"))
        );
        assert_eq!(
            command(&text("confirmo K7M2QXP 32.400,50")),
            k7(Some("32400.50"))
        );
        assert_eq!(
            command(&text("confirmar la «K7M2QXP», 15000")),
            k7(Some("15000"))
        );
        // A code of letters only: the owner knows their codes.
        assert_eq!(
            command(&text("confirmar KMPQRST")),
            Some(Command::Confirm {
                code: "KMPQRST".into(),
                amount: None
            })
        );
        for said in [
            "devuelto K7M2QXP",
            "Devolví la K7M2QXP",
            "devolvi K7M2QXP 15000",
        ] {
            assert_eq!(
                command(&text(said)),
                Some(Command::Refunded {
                    code: "K7M2QXP".into()
                }),
                "{said}"
            );
        }
        assert_eq!(command(&text("devuelto")), None);
        // The owner trying the bot: their "yes" to a cabin, and words, are the conversation's.
        assert_eq!(command(&text("confirmar")), None);
        assert_eq!(command(&text("confirmar la de Ana")), None);
        assert_eq!(
            command(&text("confirmar reserva K7M2QXP")),
            k7(None),
            "a word of the sentence is not a code"
        );
        assert_eq!(command(&text("hola")), None);
        assert_eq!(command(&text("K7M2QXP")), None);
        assert_eq!(
            command(&MessageKind::ButtonReply {
                id: "menu:book".into(),
                title: "Reservar".into()
            }),
            None
        );
    }

    #[test]
    fn amounts_are_read_as_written_in_argentina() {
        assert_eq!(amount("32400"), Some(Decimal::from(32_400)));
        assert_eq!(amount("$32.400"), Some(Decimal::from(32_400)));
        assert_eq!(amount("1.250.000"), Some(Decimal::from(1_250_000)));
        assert_eq!(amount("32.400,50"), "32400.50".parse().ok());
        assert_eq!(amount("0"), None);
        assert_eq!(amount("K7M2QXP"), None);
        assert_eq!(amount("$"), None);
    }
}
