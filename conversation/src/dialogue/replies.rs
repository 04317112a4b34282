//! The reply builders: the menu, the questions, the cabins on offer, the stay said back in
//! words before anything is held, the owner's answers about the house, the help topics.

use chrono::{Datelike, NaiveDate, Weekday};

use super::{HeldStay, HouseTimes, Offer, State, Step, done, ids};
use crate::nlu::say::{party_words, stay_words};
use crate::reply::{ButtonsBuilder, LimitError, ListBuilder, Reply, clip};

/// `vie 11/12`: how dates are shown to guests.
pub fn day_label(d: NaiveDate) -> String {
    let name = match d.weekday() {
        Weekday::Mon => "lun",
        Weekday::Tue => "mar",
        Weekday::Wed => "mié",
        Weekday::Thu => "jue",
        Weekday::Fri => "vie",
        Weekday::Sat => "sáb",
        Weekday::Sun => "dom",
    };
    format!("{name} {:02}/{:02}", d.day(), d.month())
}

/// Replies are built from fixed texts within the limits; a limit error here is a bug caught
/// by the tests, and falls back to plain text rather than losing the reply.
pub(super) fn or_text(reply: Result<Reply, LimitError>, fallback: &str) -> Reply {
    reply.unwrap_or_else(|_| Reply::Text(fallback.to_owned()))
}

pub(super) fn menu(greeting: &str) -> Reply {
    or_text(
        ButtonsBuilder::new(format!(
            "{greeting}¿Qué querés hacer? También podés escribirme las fechas, por ejemplo \
             \"del 12 al 14 de diciembre para 4\"."
        ))
        .button(ids::MENU_AVAILABILITY, "Ver disponibilidad")
        .button(ids::MENU_MINE, "Mis reservas")
        .button(ids::MENU_HUMAN, "Hablar con alguien")
        .build(),
        "Escribime las fechas y cuántos son.",
    )
}

pub(super) fn ask_dates() -> Reply {
    or_text(
        ButtonsBuilder::new("¿Para qué fechas? Elegí una opción o escribilas (\"del 12 al 14\").")
            .button(ids::DATES_THIS_WEEKEND, "Este finde")
            .button(ids::DATES_NEXT_WEEKEND, "El finde que viene")
            .button(ids::DATES_OTHER, "Otras fechas")
            .build(),
        "¿Para qué fechas?",
    )
}

pub(super) fn text(s: impl Into<String>) -> Reply {
    Reply::Text(s.into())
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The cabins free for the stay, each with its total and deposit, to pick one from.
pub(super) fn offers_list(
    check_in: NaiveDate,
    check_out: NaiveDate,
    guests: u32,
    offers: &[Offer],
) -> Reply {
    let list = offers
        .iter()
        .take(crate::reply::limits::LIST_ROWS)
        .fold(
            ListBuilder::new(
                format!(
                    "{}, {}: tengo estas cabañas, de la más barata a la más cara. ¿Cuál te gusta?",
                    capitalised(&stay_words(check_in, check_out)),
                    party_words(guests)
                ),
                "Ver cabañas",
            ),
            |list, o| {
                let title = clip(&o.name, crate::reply::limits::ROW_TITLE);
                list.row(
                    format!("{}{}", ids::ACCOMMODATION_PREFIX, o.accommodation_id),
                    title,
                    Some(format!("{} en total · seña {}", o.total, o.deposit)),
                )
            },
        )
        .build();
    or_text(list, "Tengo lugar: decime qué cabaña preferís.")
}

/// The chosen cabin, the stay said back in words (weekday, day, month, nights, party) and the
/// price, and whether to hold it: the guest reads what will be held before it is.
pub(super) fn confirm_prompt(
    check_in: NaiveDate,
    check_out: NaiveDate,
    guests: u32,
    offer: &Offer,
) -> Reply {
    or_text(
        ButtonsBuilder::new(format!(
            "{}: {}, {}. Total {} (seña {}). ¿Te la reservo?",
            offer.name,
            stay_words(check_in, check_out),
            party_words(guests),
            offer.total,
            offer.deposit
        ))
        .button(ids::HOLD_CONFIRM, "Confirmar")
        .button(ids::HOLD_CHANGE_DATES, "Cambiar fechas")
        .button(ids::HOLD_CANCEL, "Cancelar")
        .build(),
        "¿Te la reservo? Respondé sí o no.",
    )
}

/// Whether to move the hold just placed to other nights or another party.
pub(super) fn move_prompt(
    hold: &HeldStay,
    check_in: NaiveDate,
    check_out: NaiveDate,
    guests: u32,
) -> Reply {
    let body = format!(
        "¿Cambio tu reserva {} en {} a {}, {}? El precio se calcula de nuevo para esas noches.",
        hold.code,
        hold.cabin,
        stay_words(check_in, check_out),
        party_words(guests)
    );
    or_text(
        ButtonsBuilder::new(body)
            .button(ids::MOVE_CONFIRM, "Sí, cambiarla")
            .button(ids::MOVE_KEEP, "No, dejarla así")
            .button(ids::MOVE_OTHER, "Es otra reserva")
            .build(),
        "¿Cambio tu reserva a esas fechas? Respondé sí o no.",
    )
}

/// "How much is it?" with cabins already priced for the guest's dates is answered with those
/// prices (the question just asked stays open); before any dates, with how to get a price.
pub(super) fn prices(state: State) -> Step {
    let reply = match &state {
        State::ChoosingAccommodation {
            check_in,
            check_out,
            guests,
            offers,
            ..
        } => offers_list(*check_in, *check_out, *guests, offers),
        State::ConfirmingHold {
            check_in,
            check_out,
            guests,
            offer,
        } => confirm_prompt(*check_in, *check_out, *guests, offer),
        _ => text(PRICES),
    };
    done(state, vec![reply])
}

pub(super) const PRICES: &str = "Los precios dependen de las fechas: decime cuándo y cuántos son y te paso \
                      el total con limpieza incluida.";
/// The answer to "where is it, when can we arrive": each cabin's own times (the same sentence
/// when they all share them), and where the way there comes from. The directions themselves go
/// only to a guest whose stay is confirmed.
/// The owner's answers about one topic: the answer alone for one cabin (or when every cabin
/// has the same), one line per cabin otherwise, and a person to ask for what nobody answered.
pub(super) fn house_answers(answers: &[(String, Option<String>)]) -> String {
    const ASK: &str = "Si querés, escribí \"hablar con alguien\" y te contesta la persona a cargo.";
    let known: Vec<(&String, &String)> = answers
        .iter()
        .filter_map(|(name, answer)| answer.as_ref().map(|a| (name, a)))
        .collect();
    match known.as_slice() {
        [] => format!("Eso no lo tengo anotado. {ASK}"),
        [(_, first), rest @ ..]
            if known.len() == answers.len() && rest.iter().all(|(_, a)| a == first) =>
        {
            (*first).clone()
        }
        _ => {
            let mut lines: Vec<String> = answers
                .iter()
                .map(|(name, answer)| match answer {
                    Some(a) => format!("• {name}: {a}"),
                    None => format!("• {name}: no lo tengo anotado"),
                })
                .collect();
            if known.len() < answers.len() {
                lines.push(ASK.to_owned());
            }
            lines.join("\n")
        }
    }
}

pub(super) fn house_times(houses: &[HouseTimes]) -> String {
    const WAY: &str = "Cómo llegar te lo mandamos con la confirmación de tu reserva.";
    // A guest with a stay to come asks to find their way: theirs, with the way there.
    let booked: Vec<String> = houses
        .iter()
        .filter(|h| h.booked)
        .map(|h| {
            let way = match &h.way {
                Some(way) => format!("\n📍 Cómo llegar: {way}"),
                None => " Para saber cómo llegar, escribí \"hablar con alguien\".".to_owned(),
            };
            format!(
                "{}: entrada desde las {}, salida hasta las {}.{way}",
                h.name, h.check_in, h.check_out
            )
        })
        .collect();
    if !booked.is_empty() {
        return booked.join("\n\n");
    }
    match houses {
        [] => {
            format!("Los horarios de entrada y salida te los paso cuando elijas una cabaña. {WAY}")
        }
        [first, rest @ ..]
            if rest
                .iter()
                .all(|h| h.check_in == first.check_in && h.check_out == first.check_out) =>
        {
            format!(
                "La entrada es desde las {} y la salida hasta las {}. {WAY}",
                first.check_in, first.check_out
            )
        }
        _ => {
            let lines: Vec<String> = houses
                .iter()
                .map(|h| {
                    format!(
                        "• {}: entrada desde las {}, salida hasta las {}",
                        h.name, h.check_in, h.check_out
                    )
                })
                .collect();
            format!("Horarios de entrada y salida:\n{}\n{WAY}", lines.join("\n"))
        }
    }
}

/// The help topics, as a list: each row leads where the same question typed would.
pub(super) fn help_topics() -> Reply {
    or_text(
        ListBuilder::new("¿Con qué te ayudo?", "Ver temas")
            .row(
                ids::HELP_PRICES,
                "Precios",
                Some("Qué incluye y cómo se calcula".into()),
            )
            .row(
                ids::HELP_LOCATION,
                "Ubicación y horarios",
                Some("Check-in, check-out y cómo llegar".into()),
            )
            .row(
                ids::HELP_PAY,
                "Pagar la seña",
                Some("El link de pago de tu reserva".into()),
            )
            .row(
                ids::HELP_CANCEL,
                "Cancelar una reserva",
                Some("Tus reservas y sus opciones".into()),
            )
            .row(ids::HELP_HUMAN, "Hablar con alguien", None)
            .build(),
        "Preguntame por precios, ubicación, pagos o cancelaciones, o escribí \"hablar con alguien\".",
    )
}
