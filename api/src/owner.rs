//! The owner's own WhatsApp (`CABANAS_OWNER_WHATSAPP`) writing to the business number. The owner
//! confirms bank transfers by hand, and is told of each one on that WhatsApp: so from there they
//! can also confirm it, by tapping the alert's "Confirmar seña" button or by writing "confirmar
//! CÓDIGO" (with the amount when another one arrived). Money taken by hand also goes back by
//! hand when a guest cancels: "devuelto CÓDIGO" records that it did. The balance of a stay is
//! collected on arrival, and "cobrado CÓDIGO" records it; "agenda" (or "agenda mañana") tells
//! who comes and goes, as the morning's agenda does. "bloquear del 24 al 27" keeps nights for
//! themselves (in the cabin named, when there are several); "desbloquear" with the same nights
//! frees them. "cancelar CÓDIGO" asks first, with what the policy gives back. A guest who asked
//! for a person is handed back to the bot by the alert's button or "liberar +NÚMERO".
//! "comandos" lists all of these. Anything else they write is a guest's conversation like any other: an owner
//! tries the bot from their own phone.
//!
//! A command is only taken from a delivery whose signature was checked
//! (`CABANAS_WHATSAPP_APP_SECRET`), or in the sandbox, where nothing reaches Meta at all: an
//! unsigned delivery claiming to come from the owner's number could be anyone's.

use conversation::nlu::{self, Dates};
use conversation::reply::{Button, Reply, send_number};
use domain::accommodation::{
    Accommodation, AccommodationCommand, AccommodationEvent, BlockDates, BlockSource,
    CancelReservation, CancelledBy, ChangeDetails, ChangeStay, Occupant, RecordManualPayment,
    RecordRefund, Reservation, ReservationStatus, UnblockDates,
};
use domain::error::BookingError;
use domain::house::{Answers, Topic};
use domain::payment::RefundVia;

use domain::{
    AccommodationId, Aggregate, BlockId, Money, ReservationCode, ReservationId, StayDates,
};
use integrations::whatsapp::webhook::{InboundMessage, MessageKind};
use projections::queries::ReservationView;
use rust_decimal::Decimal;

use crate::app::AppState;
use crate::config::Settings;
use crate::problem::Problem;

/// The id of the alert's button that confirms the deposit of the hold named after it.
pub const CONFIRM_BUTTON: &str = "owner-confirm:";

/// The id of the button that cancels the reservation named after it, once the owner has seen
/// what the cancellation gives back.
pub const CANCEL_BUTTON: &str = "owner-cancel:";

/// The id of the button that cancels the reservation named after it giving back everything
/// paid, whatever the policy keeps.
pub const CANCEL_ALL_BUTTON: &str = "owner-cancel-all:";

/// The id of the handoff alert's button that hands the conversation with the number after it
/// back to the bot.
pub const RELEASE_BUTTON: &str = "owner-release:";

/// The id of the button that moves a stay: `owner-move:CODE:CHECK-IN:CHECK-OUT:GUESTS` (the
/// party left empty when it does not change).
pub const MOVE_BUTTON: &str = "owner-move:";

/// The reference a deposit confirmed from WhatsApp is recorded under: the same every time, so
/// a second tap on the same alert is the same payment told twice, not a second one.
const REFERENCE: &str = "transferencia (confirmada por WhatsApp)";

/// The answer to "comandos".
const HELP: &str = "Desde acá podés escribirme:\n\
• «agenda», «agenda de mañana» o «agenda de la semana»: quién llega y quién se va\n\
• «confirmar CÓDIGO» (o «confirmar CÓDIGO 15.000»): llegó la seña por transferencia\n\
• «cobrado CÓDIGO» (o «cobrado CÓDIGO 20.000 en efectivo»): cobraste el saldo\n\
• «devuelto CÓDIGO»: devolviste lo que te tocaba devolver\n\
• «cancelar CÓDIGO»: te digo qué se devuelve y te pregunto antes\n\
• «mover CÓDIGO del 12 al 14» (y «para 3» si cambian las personas): te digo el precio nuevo y \
te pregunto antes\n\
• «bloquear del 24 al 27» / «desbloquear del 24 al 27» (con el nombre de la cabaña si tenés \
varias)\n\
• «respuesta mascotas: …» (o wifi, pagos, pileta, parrilla, ropa de cama, bebes, \
estacionamiento, calefaccion): lo que contesto cuando un huésped pregunta por eso\n\
• «liberar +NÚMERO»: el asistente vuelve a contestarle a alguien que pidió hablar con vos\n\
Cualquier otra cosa la contesto como a un huésped, para que pruebes el bot.";

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

/// The days an agenda covers.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Span {
    Today,
    Tomorrow,
    /// Arrivals only, the seven days from today.
    Week,
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
    /// The owner collected a payment on the confirmed stay `code` (its balance, usually on
    /// arrival): the amount said, or the whole balance.
    Collected {
        code: String,
        amount: Option<Decimal>,
        method: Option<&'static str>,
    },
    /// Who comes and goes today or tomorrow, or who arrives this week.
    Agenda(Span),
    /// Cancel the reservation `code`: `sure` once the owner has seen what it gives back; `all`
    /// to give back everything paid, whatever the policy keeps.
    Cancel { code: String, sure: bool, all: bool },
    /// Block the nights (and cabin) `text` names, or free them.
    Block { text: String, free: bool },
    /// Move the confirmed stay `code`: `sure` once the owner has seen what changes.
    Move {
        code: String,
        to: MoveTo,
        sure: bool,
    },
    /// Hand the conversation with `wa_id` back to the bot.
    Release { wa_id: String },
    /// What the bot answers guests who ask about `topic` (blank: nothing, a person), in the
    /// cabin `cabin` names ("la del bosque"), or in every cabin when it names none.
    Answer {
        topic: Topic,
        cabin: String,
        text: String,
    },
    /// What the owner can write here.
    Help,
}

/// The command `kind` carries, if it is one. A bare "confirmar" is not: while trying the bot,
/// it is the owner's "yes" to a cabin on offer.
fn command(kind: &MessageKind) -> Option<Command> {
    let text = match kind {
        MessageKind::ButtonReply { id, .. } => {
            if let Some(rest) = id.strip_prefix(MOVE_BUTTON) {
                let mut parts = rest.split(':');
                let (code, check_in, check_out, guests) =
                    (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
                return Some(Command::Move {
                    code: code.to_owned(),
                    to: MoveTo::Exactly {
                        check_in: check_in.parse().ok()?,
                        check_out: check_out.parse().ok()?,
                        guests: guests.parse().ok(),
                    },
                    sure: true,
                });
            }
            if let Some(wa_id) = id.strip_prefix(RELEASE_BUTTON) {
                return Some(Command::Release {
                    wa_id: wa_id.to_owned(),
                });
            }
            for (prefix, all) in [(CANCEL_BUTTON, false), (CANCEL_ALL_BUTTON, true)] {
                if let Some(code) = id.strip_prefix(prefix) {
                    return Some(Command::Cancel {
                        code: code.to_owned(),
                        sure: true,
                        all,
                    });
                }
            }
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
    let rest: Vec<&str> = words[1..]
        .iter()
        .map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
        .collect();
    if verb.starts_with("respuesta") || verb.starts_with("respond") {
        return answer(&words[1..].join(" "));
    }
    let bare = verb.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    if bare == "comandos" && rest.is_empty() {
        return Some(Command::Help);
    }
    if bare == "agenda" {
        // "agenda", "agenda de mañana"; anything else after it is not this command.
        // "agenda", "agenda de mañana", "agenda de la semana"; anything else after it is not
        // this command.
        let said = |word: &str| rest.iter().any(|w| projections::queries::fold(w) == word);
        let span = if said("semana") {
            Span::Week
        } else if said("manana") {
            Span::Tomorrow
        } else {
            Span::Today
        };
        let other = rest.iter().any(|w| {
            !matches!(
                projections::queries::fold(w).as_str(),
                "manana" | "hoy" | "semana" | "de" | "la" | "esta" | "para" | ""
            )
        });
        return (!other).then_some(Command::Agenda(span));
    }
    // "liberar +54 9 11 2233-4455": a conversation; "liberar del 24 al 27": nights.
    let digits: String = words[1..]
        .concat()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let number = (10..=15).contains(&digits.len())
        && words[1..]
            .iter()
            .all(|w| w.chars().all(|c| c.is_ascii_digit() || "+-() ".contains(c)));
    if number && (verb.starts_with("liber") || verb.starts_with("solt")) {
        return Some(Command::Release {
            wa_id: argentine_wa_id(&digits),
        });
    }
    if verb.starts_with("bloque") || verb.starts_with("desbloque") || verb.starts_with("liber") {
        return Some(Command::Block {
            text: text.clone(),
            free: !verb.starts_with("bloque"),
        });
    }
    let refunded = verb.starts_with("devuelt") || verb.starts_with("devolv");
    let collected = verb.starts_with("cobr");
    let cancel = verb.starts_with("cancel");
    let moving = verb.starts_with("mov") || verb.starts_with("cambi");
    if !(verb.starts_with("confirm") || refunded || collected || cancel || moving) {
        return None;
    }
    let code = code_among(&rest)?;
    let code = code.as_str().to_owned();
    // "cancelar CÓDIGO sí" or "… todo": the buttons' answers, typed, as the last word (a "si"
    // inside a sentence is an "if").
    let said = |these: &[&str]| {
        words[1..].last().is_some_and(|w| {
            let w = projections::queries::fold(w);
            these.contains(&w.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
        })
    };
    if moving {
        // The dates are read from the words around the code, not from the code's digits.
        let around: Vec<&str> = words[1..]
            .iter()
            .zip(&rest)
            .filter(|(_, trimmed)| !trimmed.eq_ignore_ascii_case(&code))
            .map(|(w, _)| *w)
            .collect();
        return Some(Command::Move {
            code,
            to: MoveTo::Said(around.join(" ")),
            sure: said(&["si", "confirmo"]),
        });
    }
    if cancel {
        let all = said(&["todo"]);
        let sure = all || said(&["si", "confirmo"]);
        return Some(Command::Cancel { code, sure, all });
    }
    if refunded {
        return Some(Command::Refunded { code });
    }
    // The amount is any other number said; the code itself may be all digits.
    let amount = rest
        .iter()
        .zip(&words[1..])
        .filter(|(trimmed, _)| **trimmed != code.as_str())
        .find_map(|(_, w)| amount(w));
    if collected {
        let method = rest
            .iter()
            .find_map(|w| match projections::queries::fold(w).as_str() {
                "efectivo" => Some("efectivo"),
                "transferencia" | "transfer" => Some("transferencia"),
                "tarjeta" | "debito" | "credito" => Some("tarjeta"),
                _ => None,
            });
        return Some(Command::Collected {
            code,
            amount,
            method,
        });
    }
    Some(Command::Confirm { code, amount })
}

/// The reservation code among an owner's words. First one with letters and digits, as most
/// codes are; then one of letters only written as the alerts write it, in capitals (so that
/// "confirmar reserva …" is not taken for the code RESERVA); last one of digits only, so that an
/// amount of seven digits written before the code is not taken for it.
fn code_among(words: &[&str]) -> Option<ReservationCode> {
    let has_digit = |w: &&&str| w.chars().any(|c| c.is_ascii_digit());
    let mixed = words
        .iter()
        .filter(|w| has_digit(w) && w.chars().any(|c| c.is_ascii_alphabetic()));
    let letters = words
        .iter()
        .filter(|w| w.chars().all(|c| c.is_ascii_uppercase()));
    let digits = words
        .iter()
        .filter(|w| w.chars().all(|c| c.is_ascii_digit()));
    mixed
        .chain(letters)
        .chain(digits)
        .find_map(|w| ReservationCode::parse(w).ok())
}

/// "respuesta wifi: Sí, 50 megas" without its first word: the topic (as its key, spaces for
/// underscores, accents or not) and what to answer, after a colon or after the topic's words;
/// the help, with the topics, when it names none.
fn answer(rest: &str) -> Option<Command> {
    let folded = projections::queries::fold(rest.trim());
    // A topic it does not know: the list of those it does.
    let Some((topic, words)) = Topic::ALL.iter().find_map(|t| {
        let key = t.key().replace('_', " ");
        folded
            .starts_with(&key)
            .then(|| (*t, key.split(' ').count()))
    }) else {
        return Some(Command::Help);
    };
    // "respuesta pileta la del bosque: …": the words between the topic and the colon name a
    // cabin. Without a colon every word after the topic is the answer.
    let after_topic = |s: &str| {
        s.split_whitespace()
            .skip(words)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (cabin, text) = match rest.split_once(':') {
        Some((before, after)) => (after_topic(before), after.trim().to_owned()),
        None => (String::new(), after_topic(rest)),
    };
    Some(Command::Answer { topic, cabin, text })
}

/// Sets what the bot answers about `topic` (blank: removes it) in the cabin `named` names, or
/// in every cabin when it names none; what to tell the owner.
async fn teach(state: &AppState, topic: Topic, named: &str, text: &str) -> Result<String, Problem> {
    let mut cabins = projections::queries::accommodations(&state.db).await?;
    if cabins.is_empty() {
        return Ok("Todavía no hay cabañas registradas.".to_owned());
    }
    let mut whose = String::new();
    if !named.trim().is_empty() {
        let Some(cabin) = nlu::named(&cabins, |c| &c.name, named).cloned() else {
            let names: Vec<&str> = cabins.iter().map(|c| c.name.as_str()).collect();
            return Ok(format!(
                "No sé qué cabaña es «{}». Tenés: {}.",
                named.trim(),
                names.join(", ")
            ));
        };
        whose = format!(" en {}", cabin.name);
        cabins = vec![cabin];
    }
    for cabin in &cabins {
        let id = crate::routes::accommodation_id(&cabin.id)?;
        let cmd = AccommodationCommand::ChangeDetails(ChangeDetails {
            answers: Some(Answers::from([(topic, text.to_owned())])),
            ..ChangeDetails::default()
        });
        match crate::routes::command(state, id, cmd, crate::routes::meta(ACTOR, None)).await {
            Ok(_) => {}
            Err(p) if p.status >= 500 => return Err(p),
            Err(p) => return Ok(format!("No lo pude anotar ({}).", p.detail)),
        }
    }
    let key = topic.key().replace('_', " ");
    Ok(if text.trim().is_empty() {
        format!("✅ Listo: cuando pregunten por «{key}»{whose}, les ofrezco hablar con vos.")
    } else {
        format!(
            "✅ Anotado: cuando pregunten por «{key}»{whose}, contesto: «{}»",
            text.trim()
        )
    })
}

/// A mobile number as WhatsApp names it in Argentina (`549` + area code + number), from the
/// ways an owner writes one: with the country code and the 9, without the 9, or local with or
/// without its leading 0. Anything else is kept as written.
fn argentine_wa_id(digits: &str) -> String {
    match digits.len() {
        13 if digits.starts_with("549") => digits.to_owned(),
        12 if digits.starts_with("54") => format!("549{}", &digits[2..]),
        11 if digits.starts_with('0') => format!("549{}", &digits[1..]),
        10 if !digits.starts_with('0') => format!("549{digits}"),
        _ => digits.to_owned(),
    }
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
    let answer: Reply = if !trusted(&state.settings) {
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
    } else {
        match command {
            Command::Confirm { code, amount } => Reply::Text(confirm(state, &code, amount).await?),
            Command::Refunded { code } => Reply::Text(refunded(state, &code).await?),
            Command::Collected {
                code,
                amount,
                method,
            } => Reply::Text(collected(state, &m.wamid, &code, amount, method).await?),
            Command::Agenda(span) => Reply::Text(agenda(state, span).await?),
            Command::Block { text, free } => {
                Reply::Text(block(state, &m.wamid, &text, free).await?)
            }
            Command::Cancel { code, sure, all } => cancel(state, &code, sure, all).await?,
            Command::Move { code, to, sure } => move_stay(state, &code, to, sure).await?,
            Command::Help => Reply::Text(HELP.to_owned()),
            Command::Answer { topic, cabin, text } => {
                Reply::Text(teach(state, topic, &cabin, &text).await?)
            }
            Command::Release { wa_id } => Reply::Text(
                match crate::whatsapp::hand_back(state, &wa_id, ACTOR).await? {
                    Some(_) => format!("✅ Listo: el asistente vuelve a contestarle a +{wa_id}."),
                    None => format!("No encontré una conversación con +{wa_id}."),
                },
            ),
        }
    };
    crate::chat::reply(state, m, &[answer]).await?;
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

/// The reservation `code` names, with its cabin's id and its own; `None` when it names none.
async fn found(
    state: &AppState,
    code: &str,
) -> Result<Option<(ReservationView, AccommodationId, ReservationId)>, Problem> {
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

/// Records as made the refunds `code` owes by hand; what to tell the owner.
async fn refunded(state: &AppState, code: &str) -> Result<String, Problem> {
    let Some((_, id, reservation_id)) = found(state, code).await? else {
        return Ok(format!("No encontré la reserva {code}."));
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

/// Records a payment the owner collected on the stay `code`: `amount`, or the whole balance;
/// what to tell the owner. Recorded under the message's id, so that the same message taken up
/// twice is one payment.
async fn collected(
    state: &AppState,
    wamid: &str,
    code: &str,
    amount: Option<Decimal>,
    method: Option<&str>,
) -> Result<String, Problem> {
    let Some((view, id, reservation_id)) = found(state, code).await? else {
        return Ok(format!("No encontré la reserva {code}."));
    };
    match view.status.as_str() {
        "confirmed" => {}
        "held" => {
            return Ok(format!(
                "La reserva {code} todavía espera su seña. Si te llegó, escribime «confirmar \
                 {code}»."
            ));
        }
        _ => {
            return Ok(format!(
                "La reserva {code} no está activa: no hay saldo que cobrar."
            ));
        }
    }
    let amount = match amount {
        Some(amount) => Money::new(amount),
        None => {
            let cabin = state.accommodation(id).await?;
            let balance = cabin
                .reservation(reservation_id)
                .map(|r| r.balance_due())
                .unwrap_or_default();
            if balance <= Money::ZERO {
                return Ok(format!(
                    "La reserva {code} ya está pagada: no queda saldo que cobrar."
                ));
            }
            balance
        }
    };
    let done = crate::routes::on_reservation(state, ACTOR, code, |reservation_id| {
        Ok(AccommodationCommand::RecordManualPayment(
            RecordManualPayment {
                reservation_id,
                reference: format!("whatsapp:{wamid}"),
                amount,
                method: method.map(str::to_owned),
            },
        ))
    })
    .await;
    let (_, body) = match done {
        Ok(answer) => answer,
        Err(p) if p.status >= 500 => return Err(p),
        Err(p) => {
            return Ok(format!(
                "No pude anotar el pago de la reserva {code} ({}).",
                p.detail
            ));
        }
    };
    let balance: Money = serde_json::from_value(body["balance_due"].clone()).unwrap_or_default();
    Ok(if balance > Money::ZERO {
        format!("✅ Anotado: cobraste {amount} de la reserva {code}. Falta cobrar {balance}.")
    } else {
        format!("✅ Anotado: cobraste {amount} de la reserva {code}. Queda saldada.")
    })
}

/// Who comes and goes today (or tomorrow), on the owner's clock; when nobody does, the next
/// arrival.
async fn agenda(state: &AppState, span: Span) -> Result<String, Problem> {
    let Some(now) = crate::arrivals::owner_time(state, state.now()).await? else {
        return Ok("Todavía no hay cabañas registradas.".to_owned());
    };
    let (day, heading) = match span {
        Span::Today => (now.date_naive(), "Hoy"),
        Span::Tomorrow => (now.date_naive() + chrono::Duration::days(1), "Mañana"),
        Span::Week => return week(state, now).await,
    };
    let mut text = match crate::arrivals::agenda(state, day, heading).await? {
        Some(text) => text,
        None => {
            let mut text = format!(
                "📋 {heading}, {}: no llega ni se va nadie.",
                conversation::dialogue::day_label(day)
            );
            let next = day + chrono::Duration::days(1);
            let far = day + chrono::Duration::days(366);
            if let Some(a) = crate::arrivals::arrivals(state, next, far, 1)
                .await?
                .first()
            {
                text.push_str(&format!(
                    "\nPróxima llegada: {}, {} (reserva {}).",
                    conversation::dialogue::day_label(a.check_in),
                    a.cabin,
                    a.code
                ));
            }
            text
        }
    };
    text.push_str(&holds_waiting(state, now).await?);
    Ok(text)
}

/// Who arrives in the seven days from the owner's today (`local_now`), by day, with the
/// balance to collect, and the holds waiting for their deposit.
async fn week(
    state: &AppState,
    local_now: chrono::DateTime<chrono::Utc>,
) -> Result<String, Problem> {
    let today = local_now.date_naive();
    let until = today + chrono::Duration::days(6);
    let label = conversation::dialogue::day_label;
    let arrivals = crate::arrivals::arrivals(state, today, until, 100).await?;
    let mut text = format!("📋 Llegadas del {} al {}:", label(today), label(until));
    if arrivals.is_empty() {
        text.push_str(" ninguna.");
    }
    for a in &arrivals {
        text.push_str(&format!("\n• {} · {}", label(a.check_in), a.line()));
    }
    text.push_str(&holds_waiting(state, local_now).await?);
    Ok(text)
}

/// The holds waiting for their deposit now, each with when it lapses on the owner's clock
/// (`local_now`): a transfer may be on its way for any of them. Empty when none.
async fn holds_waiting(
    state: &AppState,
    local_now: chrono::DateTime<chrono::Utc>,
) -> Result<String, Problem> {
    let filter = projections::queries::ReservationFilter {
        status: Some("held".into()),
        limit: 20,
        ..projections::queries::ReservationFilter::default()
    };
    let offset = local_now - state.now();
    let holds: Vec<String> = projections::queries::search_reservations(&state.db, &filter)
        .await?
        .into_iter()
        .filter(|r| r.expires_at > state.now())
        .map(|r| {
            format!(
                "\n• {} ({}, {}): seña {}, vence a las {}",
                r.code,
                r.guest.name.as_deref().unwrap_or("huésped"),
                r.accommodation_name.as_deref().unwrap_or("cabaña"),
                r.deposit,
                (r.expires_at + offset).format("%H:%M")
            )
        })
        .collect();
    Ok(if holds.is_empty() {
        String::new()
    } else {
        format!("\nEsperando la seña:{}", holds.concat())
    })
}

/// Cancels the reservation `code` as its owner, by the cancellation policy: first (`sure`
/// false) only says what the cancellation would give back, with the button that does it.
async fn cancel(state: &AppState, code: &str, sure: bool, all: bool) -> Result<Reply, Problem> {
    let text = |s: String| Ok(Reply::Text(s));
    let Some((view, id, reservation_id)) = found(state, code).await? else {
        return text(format!("No encontré la reserva {code}."));
    };
    let cmd = AccommodationCommand::Cancel(CancelReservation {
        reservation_id,
        by: CancelledBy::Admin,
        reason: "cancelada por el dueño desde WhatsApp".into(),
        refund_all: all,
    });
    let cabin = state.accommodation(id).await?;
    // Decided on the current state and not recorded: what the owner is asked to agree to.
    let events = match cabin.decide(&cmd, state.now()) {
        Ok(events) => events,
        Err(e) => {
            let why = match cabin.reservation(reservation_id).map(|r| r.status) {
                Some(ReservationStatus::Cancelled) => "ya está cancelada".to_owned(),
                Some(ReservationStatus::Expired) => {
                    "venció sin seña: no hay nada que cancelar".into()
                }
                _ => format!("no se puede cancelar: {e}"),
            };
            return text(format!("La reserva {code} {why}."));
        }
    };
    let (by_provider, by_hand) =
        events
            .iter()
            .fold((Money::ZERO, Money::ZERO), |(provider, hand), e| match e {
                AccommodationEvent::RefundDue(due) if due.via == RefundVia::Provider => {
                    (provider + due.amount, hand)
                }
                AccommodationEvent::RefundDue(due) => (provider, hand + due.amount),
                _ => (provider, hand),
            });
    if !sure {
        let paid = cabin
            .reservation(reservation_id)
            .map(Reservation::net_paid)
            .unwrap_or_default();
        let back = by_provider + by_hand;
        let mut body = format!(
            "¿Cancelo la reserva {code} de {} en {}, del {} al {}?",
            view.guest.name.as_deref().unwrap_or("huésped"),
            view.accommodation_name.as_deref().unwrap_or("la cabaña"),
            conversation::dialogue::day_label(view.check_in),
            conversation::dialogue::day_label(view.check_out),
        );
        if paid <= Money::ZERO {
            body.push_str(" No pagó nada todavía.");
        } else if back <= Money::ZERO {
            body.push_str(&format!(
                " Según tu política no se le devuelve nada de los {paid} que pagó."
            ));
        } else {
            body.push_str(&format!(
                " Según tu política se le devuelven {back} de los {paid} que pagó"
            ));
            if by_hand > Money::ZERO {
                body.push_str(&format!(" ({by_hand} te toca devolverlos vos)"));
            }
            body.push('.');
        }
        let mut buttons = vec![Button {
            id: format!("{CANCEL_BUTTON}{code}"),
            title: "Sí, cancelar".into(),
        }];
        body.push_str(" Se le avisa.");
        if back < paid {
            // The policy is for a guest who asks; an owner who cancels for reasons of their
            // own usually gives everything back.
            body.push_str(&format!(
                " Si cancelás por un motivo tuyo, podés devolverle todo ({paid}). Si no tenés \
                 botones, escribime «cancelar {code} sí» o «cancelar {code} todo»."
            ));
            buttons.push(Button {
                id: format!("{CANCEL_ALL_BUTTON}{code}"),
                title: "Devolver todo".into(),
            });
        } else {
            body.push_str(&format!(
                " Si no tenés botones, escribime «cancelar {code} sí»."
            ));
        }
        return Ok(Reply::Buttons {
            body,
            footer: None,
            buttons,
        });
    }
    match crate::routes::on_reservation(state, ACTOR, code, |_| Ok(cmd)).await {
        Ok(_) => {}
        Err(p) if p.status >= 500 => return Err(p),
        // Cancelled between the question and the tap (a second tap, the guest themselves).
        Err(p) => return text(format!("No cancelé la reserva {code} ({}).", p.detail)),
    }
    let mut answer = format!("✅ Cancelé la reserva {code}.");
    if by_provider > Money::ZERO {
        answer.push_str(&format!(" Mercado Pago le devuelve {by_provider}."));
    }
    if by_hand > Money::ZERO {
        answer.push_str(&format!(
            " Te toca devolverle {by_hand}: cuando lo hagas, escribime «devuelto {code}»."
        ));
    }
    text(answer)
}

/// Blocks the nights `text` names in the cabin it names (the only one, when there is one), or
/// frees the owner's blocks within them; what to tell the owner.
async fn block(state: &AppState, wamid: &str, text: &str, free: bool) -> Result<String, Problem> {
    let verb = if free { "desbloquear" } else { "bloquear" };
    let Some(now) = crate::arrivals::owner_time(state, state.now()).await? else {
        return Ok("Todavía no hay cabañas registradas.".to_owned());
    };
    let (check_in, check_out) = match nlu::understand(text, &nlu::Context::on(now.date_naive()))
        .dates
    {
        Some(Dates::Stay {
            check_in,
            check_out,
        }) => (check_in, check_out),
        Some(Dates::Ambiguous { question }) => return Ok(question),
        Some(Dates::Partial(p)) => {
            return Ok(format!(
                "{} Escribime la entrada y la salida juntas, por ejemplo «{verb} del 24 al 27».",
                p.question()
            ));
        }
        _ => {
            return Ok(format!(
                "¿Qué noches? Escribime la entrada y la salida, por ejemplo «{verb} del 24 al \
                 27 de diciembre»."
            ));
        }
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
    let id = crate::routes::accommodation_id(&cabin.id)?;
    let stay = match StayDates::new(check_in, check_out) {
        Ok(stay) => stay,
        Err(e) => return Ok(format!("No pude {verb} esas noches: {}.", spoken(&e))),
    };
    let nights = format!(
        "{} del {} al {} ({} {})",
        cabin.name,
        conversation::dialogue::day_label(check_in),
        conversation::dialogue::day_label(check_out),
        stay.nights(),
        if stay.nights() == 1 {
            "noche"
        } else {
            "noches"
        }
    );
    let current = state.accommodation(id).await?;
    if free {
        return unblock(state, id, &current, &stay, &nights).await;
    }
    // Named after the message, so that the same message taken up twice is one block.
    let block_id = BlockId::from_uuid(uuid::Uuid::from_bytes(uuid_bytes(wamid)));
    if current.blocks().any(|b| b.id == block_id) {
        return Ok(format!("🔒 Bloqueé {nights}."));
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
    let meta = crate::routes::meta(ACTOR, Some(block_id.as_uuid()));
    match crate::routes::command(state, id, cmd, meta).await {
        Ok(_) => Ok(format!(
            "🔒 Bloqueé {nights}. Nadie puede reservarlas; para liberarlas, «desbloquear» con \
             las mismas fechas."
        )),
        Err(p) if p.status >= 500 => Err(p),
        // Taken between the read and the write.
        Err(p) => Ok(format!("No pude bloquear esas noches ({}).", p.detail)),
    }
}

/// Frees the owner's blocks of `cabin` that lie within `stay`; what to tell the owner. A block
/// that reaches past the nights said, or that an imported calendar holds, is named, not freed.
async fn unblock(
    state: &AppState,
    id: AccommodationId,
    cabin: &Accommodation,
    stay: &StayDates,
    nights: &str,
) -> Result<String, Problem> {
    let mut freed = 0;
    let mut notes = Vec::new();
    for b in cabin.blocks().filter(|b| b.stay.overlaps(stay)) {
        let span = format!(
            "del {} al {}",
            conversation::dialogue::day_label(b.stay.check_in()),
            conversation::dialogue::day_label(b.stay.check_out())
        );
        match &b.source {
            BlockSource::External { calendar, .. } => notes.push(format!(
                "{span} lo bloquea el calendario de {calendar}: se libera allá"
            )),
            BlockSource::Admin
                if b.stay.check_in() < stay.check_in() || b.stay.check_out() > stay.check_out() =>
            {
                notes.push(format!(
                    "hay un bloqueo {span}: para liberarlo, «desbloquear {span}»"
                ));
            }
            BlockSource::Admin => {
                let cmd = AccommodationCommand::UnblockDates(UnblockDates { block_id: b.id });
                let meta = crate::routes::meta(ACTOR, Some(b.id.as_uuid()));
                match crate::routes::command(state, id, cmd, meta).await {
                    Ok(_) => freed += 1,
                    Err(p) if p.status >= 500 => return Err(p),
                    // Freed meanwhile (the same message taken up twice).
                    Err(_) => {}
                }
            }
        }
    }
    let mut answer = if freed > 0 {
        format!("🔓 Liberé {nights}.")
    } else {
        format!("No liberé nada en {nights}.")
    };
    if freed == 0 && notes.is_empty() {
        answer.push_str(" No había nada bloqueado.");
    }
    for note in notes {
        answer.push_str(&format!("\n• {note}"));
    }
    Ok(answer)
}

/// What holds (some of) the nights of `stay`, in words; `moving` is the reservation whose own
/// nights do not count.
fn taken(cabin: &Accommodation, stay: &StayDates, moving: Option<ReservationId>) -> String {
    let holders: Vec<String> = cabin
        .active_stays()
        .filter(|(s, occupant)| {
            s.overlaps(stay) && moving.is_none_or(|r| *occupant != Occupant::Reservation(r))
        })
        .map(|(s, occupant)| {
            let span = format!(
                "del {} al {}",
                conversation::dialogue::day_label(s.check_in()),
                conversation::dialogue::day_label(s.check_out())
            );
            match occupant {
                Occupant::Reservation(r) => match cabin.reservation(r) {
                    Some(r) => format!("la reserva {} ocupa {span}", r.code),
                    None => format!("una reserva ocupa {span}"),
                },
                Occupant::Block(b) => match cabin.blocks().find(|x| x.id == b).map(|x| &x.source) {
                    Some(BlockSource::External { calendar, .. }) => {
                        format!("el calendario de {calendar} bloquea {span}")
                    }
                    _ => format!("ya está bloqueado {span}"),
                },
            }
        })
        .collect();
    if holders.is_empty() {
        "esas noches no están libres".to_owned()
    } else {
        holders.join("; ")
    }
}

/// What is left to collect of a stay, in words.
fn left(balance: Money) -> String {
    if balance > Money::ZERO {
        format!("saldo a cobrar {balance}")
    } else {
        "no queda saldo".to_owned()
    }
}

/// A refusal of the domain in the owner's words (the API's problems are in English).
fn spoken(e: &BookingError) -> String {
    use BookingError as E;
    let day = |d: &chrono::NaiveDate| conversation::dialogue::day_label(*d);
    match e {
        E::CheckOutNotAfterCheckIn { .. } => "la salida tiene que ser después de la entrada".into(),
        E::CheckInInPast { check_in, .. } => format!("el {} ya pasó", day(check_in)),
        E::StayTooShort { nights, minimum } => {
            format!("son {nights} noches y la cabaña pide al menos {minimum}")
        }
        E::StayTooLong { nights, maximum } => {
            format!("son {nights} noches y el máximo es {maximum}")
        }
        E::InvalidGuestCount { guests, capacity } => {
            format!("{guests} personas no entran: la cabaña es para {capacity}")
        }
        E::DatesUnavailable {
            check_in,
            check_out,
        } => format!("del {} al {} está ocupado", day(check_in), day(check_out)),
        E::ReservationCancelled => "la reserva está cancelada".into(),
        E::HoldExpired { .. } => "la reserva venció sin seña".into(),
        E::HoldNightsFixed => "todavía espera su seña, y las noches de una reserva sin seña no se \
             mueven: cancelala y que reserve de nuevo"
            .into(),
        E::NotConfirmed => "todavía espera su seña".into(),
        E::StayOver { .. } => "esa estadía ya terminó".into(),
        E::PaidAboveTotal { paid, total } => format!(
            "ya pagó {paid}, más que el total de esas noches ({total}): elegí otras noches o \
             cancelala"
        ),
        other => other.to_string(),
    }
}

/// Where the owner moves a stay: as they wrote it, or as the preview's button carries it.
#[derive(Debug, PartialEq)]
enum MoveTo {
    Said(String),
    Exactly {
        check_in: chrono::NaiveDate,
        check_out: chrono::NaiveDate,
        guests: Option<u32>,
    },
}

/// Moves the confirmed stay `code` to other nights (or another party size), as the owner
/// would through `POST …/stay`: first (`sure` false) only says what would change (new total,
/// what is left to collect), with the button that does it. The guest is told once it is done.
async fn move_stay(state: &AppState, code: &str, to: MoveTo, sure: bool) -> Result<Reply, Problem> {
    let text = |s: String| Ok(Reply::Text(s));
    let Some((view, id, reservation_id)) = found(state, code).await? else {
        return text(format!("No encontré la reserva {code}."));
    };
    let cabin = state.accommodation(id).await?;
    let Some(before) = cabin.reservation(reservation_id).cloned() else {
        return text(format!("No encontré la reserva {code}."));
    };
    let (check_in, check_out, guests) = match to {
        MoveTo::Exactly {
            check_in,
            check_out,
            guests,
        } => (check_in, check_out, guests),
        MoveTo::Said(said) => {
            let today = crate::arrivals::owner_time(state, state.now())
                .await?
                .unwrap_or_else(|| state.now())
                .date_naive();
            // Bare days are the reservation's month ("mover … del 12 al 14").
            let (a, b) = (before.stay.check_in(), before.stay.check_out());
            let context = nlu::Context::on(today).with_month(Some((
                chrono::Datelike::year(&a),
                chrono::Datelike::month(&a),
            )));
            let u = nlu::understand(&said, &context);
            let nights = chrono::Days::new(u64::from(before.stay.nights()));
            match u.dates {
                Some(Dates::Stay {
                    check_in,
                    check_out,
                }) => (check_in, check_out, u.guests()),
                Some(Dates::Ambiguous { question }) => return text(question),
                // Part of a stay moves what it names: a new check-out keeps the check-in, a new
                // check-in keeps the nights, a length keeps the check-in.
                Some(Dates::Partial(p)) if p.check_out.is_some() && p.check_in.is_none() => {
                    (a, p.check_out.unwrap_or(b), u.guests())
                }
                Some(Dates::Partial(nlu::Partial {
                    check_in: Some(c), ..
                })) => (c, c + nights, u.guests()),
                Some(Dates::Partial(nlu::Partial {
                    nights: Some(n), ..
                })) => (a, a + chrono::Days::new(u64::from(n)), u.guests()),
                // Only the party changes.
                _ if u.guests().is_some() => (a, b, u.guests()),
                _ => {
                    return text(format!(
                        "¿A qué noches? Escribime la entrada y la salida, por ejemplo «mover \
                         {code} del 12 al 14» (y «para 3» si cambian las personas)."
                    ));
                }
            }
        }
    };
    let stay = match StayDates::new(check_in, check_out) {
        Ok(stay) => stay,
        Err(e) => return text(format!("No muevo la reserva {code}: {}.", spoken(&e))),
    };
    let cmd = AccommodationCommand::ChangeStay(ChangeStay {
        reservation_id,
        stay,
        guests,
    });
    // Decided on the state just read and not recorded: the figures the owner agrees to.
    let mut after = cabin.clone();
    match cabin.decide(&cmd, state.now()) {
        Ok(events) if events.is_empty() => {
            return text(format!("La reserva {code} ya es así: no cambié nada."));
        }
        Ok(events) => events.iter().for_each(|e| after.evolve(e)),
        Err(BookingError::DatesUnavailable { .. }) => {
            return text(format!(
                "No muevo la reserva {code}: {}.",
                taken(&cabin, &stay, Some(reservation_id))
            ));
        }
        Err(e) => return text(format!("No muevo la reserva {code}: {}.", spoken(&e))),
    }
    let Some(moved) = after.reservation(reservation_id) else {
        return text(format!("No encontré la reserva {code}."));
    };
    let span = |s: &StayDates| {
        format!(
            "del {} al {}",
            conversation::dialogue::day_label(s.check_in()),
            conversation::dialogue::day_label(s.check_out())
        )
    };
    let party = |n: u32| {
        if n == 1 {
            "1 persona".to_owned()
        } else {
            format!("{n} personas")
        }
    };
    if !sure {
        let total = if moved.quote.total == before.quote.total {
            format!("{} (igual que antes)", moved.quote.total)
        } else {
            format!("{} (antes {})", moved.quote.total, before.quote.total)
        };
        let body = format!(
            "¿Muevo la reserva {code} de {} ({}, {}) a las noches {} ({} {}, {})? Total {total}, \
             pagado {}; {}. Se le avisa. Si no tenés botones, escribime lo mismo con «sí» al \
             final.",
            view.guest.name.as_deref().unwrap_or("huésped"),
            span(&before.stay),
            party(before.guests),
            span(&moved.stay),
            moved.stay.nights(),
            if moved.stay.nights() == 1 {
                "noche"
            } else {
                "noches"
            },
            party(moved.guests),
            moved.net_paid(),
            left(moved.balance_due()),
        );
        let guests = guests.map_or_else(String::new, |g| g.to_string());
        return Ok(Reply::Buttons {
            body,
            footer: None,
            buttons: vec![Button {
                id: format!(
                    "{MOVE_BUTTON}{code}:{}:{}:{guests}",
                    moved.stay.check_in(),
                    moved.stay.check_out()
                ),
                title: "Sí, mover".into(),
            }],
        });
    }
    let balance = left(moved.balance_due());
    match crate::routes::on_reservation(state, ACTOR, code, |_| Ok(cmd)).await {
        Ok(_) => text(format!(
            "✅ Moví la reserva {code}: {} ({}); {balance}.",
            span(&moved.stay),
            party(moved.guests)
        )),
        Err(p) if p.status >= 500 => Err(p),
        // Changed between the read and the write.
        Err(p) => text(format!("No moví la reserva {code} ({}).", p.detail)),
    }
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
    fn a_balance_collected_names_the_stay_the_amount_and_how_it_was_paid() {
        let collected = |amount: Option<&str>, method: Option<&'static str>| {
            Some(Command::Collected {
                code: "K7M2QXP".into(),
                amount: amount.map(|a| a.parse().unwrap()),
                method,
            })
        };
        assert_eq!(command(&text("cobrado K7M2QXP")), collected(None, None));
        assert_eq!(
            command(&text("Cobré la K7M2QXP, $20.000 en efectivo")),
            collected(Some("20000"), Some("efectivo"))
        );
        assert_eq!(
            command(&text("cobrada k7m2qxp por transferencia")),
            collected(None, Some("transferencia"))
        );
        assert_eq!(command(&text("cobrado")), None);
        assert_eq!(command(&text("cobran seña?")), None);
    }

    #[test]
    fn an_amount_of_seven_digits_is_not_taken_for_the_code() {
        assert_eq!(
            command(&text("confirmar 2345678 K7M2QXP")),
            Some(Command::Confirm {
                code: "K7M2QXP".into(),
                amount: Some(Decimal::from(2_345_678)),
            })
        );
        assert_eq!(
            command(&text("cobrado 2345678 KMPQRST")),
            Some(Command::Collected {
                code: "KMPQRST".into(),
                amount: Some(Decimal::from(2_345_678)),
                method: None,
            })
        );
        // A code of digits alone is still a code, and no amount.
        assert_eq!(
            command(&text("confirmar 2345678")),
            Some(Command::Confirm {
                code: "2345678".into(),
                amount: None,
            })
        );
    }

    #[test]
    fn the_agenda_is_asked_for_today_or_tomorrow() {
        let agenda = |span| Some(Command::Agenda(span));
        assert_eq!(command(&text("agenda")), agenda(Span::Today));
        assert_eq!(command(&text("Agenda de hoy")), agenda(Span::Today));
        assert_eq!(command(&text("agenda de mañana")), agenda(Span::Tomorrow));
        assert_eq!(command(&text("agenda manana?")), agenda(Span::Tomorrow));
        assert_eq!(command(&text("agenda de la semana")), agenda(Span::Week));
        assert_eq!(command(&text("agenda esta semana")), agenda(Span::Week));
        // The owner trying the bot, or anything else with the word.
        assert_eq!(command(&text("agenda el 24 para 4")), None);
        assert_eq!(command(&text("mañana")), None);
        assert_eq!(command(&text("comandos")), Some(Command::Help));
        for (said, topic, cabin, answer) in [
            (
                "respuesta wifi: Sí, 50 megas.",
                Topic::Wifi,
                "",
                "Sí, 50 megas.",
            ),
            (
                "Respuesta ropa de cama: incluida",
                Topic::Linen,
                "",
                "incluida",
            ),
            (
                "responder bebés tenemos cuna",
                Topic::Babies,
                "",
                "tenemos cuna",
            ),
            ("respuesta mascotas:", Topic::Pets, "", ""),
            (
                "respuesta pileta la del bosque: Sí, climatizada",
                Topic::Pool,
                "la del bosque",
                "Sí, climatizada",
            ),
        ] {
            assert_eq!(
                command(&text(said)),
                Some(Command::Answer {
                    topic,
                    cabin: cabin.into(),
                    text: answer.into()
                }),
                "{said}"
            );
        }
        assert_eq!(command(&text("respuesta jacuzzi: sí")), Some(Command::Help));
        let release = Some(Command::Release {
            wa_id: "5491122334455".into(),
        });
        assert_eq!(command(&text("liberar +5491122334455")), release);
        assert_eq!(command(&text("Liberá +54 9 11 2233-4455")), release);
        for local in [
            "liberar 11 2233-4455",
            "liberar 011 2233 4455",
            "liberar +54 11 2233 4455",
        ] {
            assert_eq!(command(&text(local)), release, "{local}");
        }
        assert_eq!(
            command(&MessageKind::ButtonReply {
                id: "owner-release:5491122334455".into(),
                title: "Devolver al bot".into()
            }),
            release
        );
        // Nights, not a number.
        assert!(matches!(
            command(&text("liberar del 24/12 al 27/12")),
            Some(Command::Block { free: true, .. })
        ));
        assert_eq!(command(&text("Comandos?")), Some(Command::Help));
    }

    #[test]
    fn blocking_and_freeing_nights_keep_the_words_for_their_dates() {
        for (said, free) in [
            ("bloquear del 24 al 27 de diciembre", false),
            ("Bloqueá el finde en la del bosque", false),
            ("desbloquear del 24/12 al 27/12", true),
            ("liberá del 24 al 27", true),
        ] {
            assert_eq!(
                command(&text(said)),
                Some(Command::Block {
                    text: said.into(),
                    free
                }),
                "{said}"
            );
        }
    }

    #[test]
    fn a_message_names_one_block_whenever_it_is_taken_up() {
        let once = uuid::Uuid::from_bytes(uuid_bytes("wamid.1"));
        assert_eq!(once, uuid::Uuid::from_bytes(uuid_bytes("wamid.1")));
        assert_ne!(once, uuid::Uuid::from_bytes(uuid_bytes("wamid.2")));
        assert_eq!(once.get_version_num(), 8);
        assert_eq!(once.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn a_cancellation_is_asked_before_it_is_made() {
        let cancel = |sure, all| {
            Some(Command::Cancel {
                code: "K7M2QXP".into(),
                sure,
                all,
            })
        };
        assert_eq!(command(&text("cancelar K7M2QXP")), cancel(false, false));
        assert_eq!(command(&text("Cancelá la K7M2QXP")), cancel(false, false));
        assert_eq!(command(&text("cancelar K7M2QXP sí")), cancel(true, false));
        assert_eq!(command(&text("cancelar K7M2QXP, si.")), cancel(true, false));
        assert_eq!(
            command(&text("cancelar K7M2QXP si no paga")),
            cancel(false, false)
        );
        assert_eq!(
            command(&text("cancelar K7M2QXP y devolver todo")),
            cancel(true, true)
        );
        let tap = |id: &str| MessageKind::ButtonReply {
            id: id.into(),
            title: "Sí, cancelar".into(),
        };
        assert_eq!(command(&tap("owner-cancel:K7M2QXP")), cancel(true, false));
        assert_eq!(
            command(&tap("owner-cancel-all:K7M2QXP")),
            cancel(true, true)
        );
        // The owner trying the bot's own cancellation, with no code.
        assert_eq!(command(&text("cancelar mi reserva")), None);
    }

    #[test]
    fn a_move_reads_its_dates_around_the_code_and_its_button_carries_them() {
        assert_eq!(
            command(&text("mover K7M2QXP del 12/1 al 14/1")),
            Some(Command::Move {
                code: "K7M2QXP".into(),
                to: MoveTo::Said("del 12/1 al 14/1".into()),
                sure: false,
            })
        );
        assert_eq!(
            command(&text("Cambiá la k7m2qxp del 12 al 14 para 3, sí")),
            Some(Command::Move {
                code: "K7M2QXP".into(),
                to: MoveTo::Said("la del 12 al 14 para 3, sí".into()),
                sure: true,
            })
        );
        let tap = |id: &str| MessageKind::ButtonReply {
            id: id.into(),
            title: "Sí, mover".into(),
        };
        let exactly = |guests| {
            Some(Command::Move {
                code: "K7M2QXP".into(),
                to: MoveTo::Exactly {
                    check_in: "2027-01-12".parse().unwrap(),
                    check_out: "2027-01-14".parse().unwrap(),
                    guests,
                },
                sure: true,
            })
        };
        assert_eq!(
            command(&tap("owner-move:K7M2QXP:2027-01-12:2027-01-14:")),
            exactly(None)
        );
        assert_eq!(
            command(&tap("owner-move:K7M2QXP:2027-01-12:2027-01-14:3")),
            exactly(Some(3))
        );
        assert_eq!(command(&tap("owner-move:K7M2QXP:mañana")), None);
        // The owner trying the bot's own "change dates".
        assert_eq!(command(&text("cambiar fechas")), None);
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
