//! What the owner is told that is only formatting: the help, the questions asked before a
//! cancellation or a move (with the buttons that answer them), and refusals of the domain in
//! the owner's words (the API's problems are in English).

use chrono::NaiveDate;
use domain::accommodation::{BlockSource, Occupant, Reservation};
use domain::error::BookingError;
use domain::{Accommodation, Money, ReservationId, StayDates};

use super::{CANCEL_ALL_BUTTON, CANCEL_BUTTON, MOVE_BUTTON};
use crate::dialogue::day_label;
use crate::reply::{Button, Reply};

/// The answer to "comandos".
pub const HELP: &str = "Desde acá podés escribirme:\n\
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
• «panel»: un enlace para entrar al panel web (sirve una vez, por 10 minutos)\n\
Cualquier otra cosa la contesto como a un huésped, para que pruebes el bot.";

/// The nights of `stay`, in words: "del vie 12/01 al dom 14/01".
pub fn span(stay: &StayDates) -> String {
    format!(
        "del {} al {}",
        day_label(stay.check_in()),
        day_label(stay.check_out())
    )
}

/// "1 noche", "3 noches".
pub fn nights(n: u32) -> String {
    if n == 1 {
        "1 noche".to_owned()
    } else {
        format!("{n} noches")
    }
}

/// "1 persona", "3 personas".
pub fn party(n: u32) -> String {
    if n == 1 {
        "1 persona".to_owned()
    } else {
        format!("{n} personas")
    }
}

/// What is left to collect of a stay, in words.
pub fn left(balance: Money) -> String {
    if balance > Money::ZERO {
        format!("saldo a cobrar {balance}")
    } else {
        "no queda saldo".to_owned()
    }
}

/// A refusal of the domain in the owner's words (the API's problems are in English).
pub fn spoken(e: &BookingError) -> String {
    use BookingError as E;
    let day = |d: &NaiveDate| day_label(*d);
    match e {
        E::CheckOutNotAfterCheckIn { .. } => "la salida tiene que ser después de la entrada".into(),
        E::CheckInInPast { check_in, .. } => format!("el {} ya pasó", day(check_in)),
        E::StayTooShort { nights, minimum } => {
            format!("son {nights} noches y la cabaña pide al menos {minimum}")
        }
        E::StayTooLong { nights, maximum } => {
            format!("son {nights} noches y el máximo es {maximum}")
        }
        E::TooFarAhead { latest, .. } => {
            format!("el calendario abre hasta el {}", day(latest))
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

/// What holds (some of) the nights of `stay` in `cabin`, in words; `moving` is the reservation
/// whose own nights do not count.
pub fn taken(cabin: &Accommodation, stay: &StayDates, moving: Option<ReservationId>) -> String {
    let holders: Vec<String> = cabin
        .active_stays()
        .filter(|(s, occupant)| {
            s.overlaps(stay) && moving.is_none_or(|r| *occupant != Occupant::Reservation(r))
        })
        .map(|(s, occupant)| {
            let when = span(&s);
            match occupant {
                Occupant::Reservation(r) => match cabin.reservation(r) {
                    Some(r) => format!("la reserva {} ocupa {when}", r.code),
                    None => format!("una reserva ocupa {when}"),
                },
                Occupant::Block(b) => match cabin.blocks().find(|x| x.id == b).map(|x| &x.source) {
                    Some(BlockSource::External { calendar, .. }) => {
                        format!("el calendario de {calendar} bloquea {when}")
                    }
                    _ => format!("ya está bloqueado {when}"),
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

/// What a cancellation gives back: through Mercado Pago, and by the owner's own hand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GivenBack {
    pub by_provider: Money,
    pub by_hand: Money,
}

/// The question asked before cancelling the reservation `code` (of `guest`, in `cabin`, from
/// `check_in` to `check_out`): what the guest `paid` and what the policy gives `back`, with the
/// button that cancels and, when the policy keeps some, the one that gives back everything.
pub fn cancel_question(
    code: &str,
    guest: &str,
    cabin: &str,
    check_in: NaiveDate,
    check_out: NaiveDate,
    paid: Money,
    back: GivenBack,
) -> Reply {
    let GivenBack {
        by_provider,
        by_hand,
    } = back;
    let back = by_provider + by_hand;
    let mut body = format!(
        "¿Cancelo la reserva {code} de {guest} en {cabin}, del {} al {}?",
        day_label(check_in),
        day_label(check_out),
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
        // The policy is for a guest who asks; an owner who cancels for reasons of their own
        // usually gives everything back.
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
    Reply::Buttons {
        body,
        footer: None,
        buttons,
    }
}

/// What the owner is told once the reservation `code` is cancelled: who gives `back` what.
pub fn cancelled(code: &str, back: GivenBack) -> String {
    let mut answer = format!("✅ Cancelé la reserva {code}.");
    if back.by_provider > Money::ZERO {
        answer.push_str(&format!(" Mercado Pago le devuelve {}.", back.by_provider));
    }
    if back.by_hand > Money::ZERO {
        answer.push_str(&format!(
            " Te toca devolverle {}: cuando lo hagas, escribime «devuelto {code}».",
            back.by_hand
        ));
    }
    answer
}

/// The question asked before moving the reservation `code` (of `guest`) from `before` to
/// `moved`, as the domain decided it: the new total and what is left to collect, with the
/// button that moves it (carrying the nights, and the party only when the owner said one:
/// `guests`).
pub fn move_question(
    code: &str,
    guest: &str,
    before: &Reservation,
    moved: &Reservation,
    guests: Option<u32>,
) -> Reply {
    let total = if moved.quote.total == before.quote.total {
        format!("{} (igual que antes)", moved.quote.total)
    } else {
        format!("{} (antes {})", moved.quote.total, before.quote.total)
    };
    let body = format!(
        "¿Muevo la reserva {code} de {guest} ({}, {}) a las noches {} ({}, {})? Total {total}, \
         pagado {}; {}. Se le avisa. Si no tenés botones, escribime lo mismo con «sí» al final.",
        span(&before.stay),
        party(before.guests),
        span(&moved.stay),
        nights(moved.stay.nights()),
        party(moved.guests),
        moved.net_paid(),
        left(moved.balance_due()),
    );
    let guests = guests.map_or_else(String::new, |g| g.to_string());
    Reply::Buttons {
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
    }
}

/// What the owner is told once the reservation `code` is `moved`.
pub fn moved(code: &str, moved: &Reservation) -> String {
    format!(
        "✅ Moví la reserva {code}: {} ({}); {}.",
        span(&moved.stay),
        party(moved.guests),
        left(moved.balance_due())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn body(reply: &Reply) -> (&str, Vec<&str>) {
        let Reply::Buttons { body, buttons, .. } = reply else {
            panic!("not buttons: {reply:?}");
        };
        (body, buttons.iter().map(|b| b.id.as_str()).collect())
    }

    #[test]
    fn what_is_left_to_collect_is_said_in_words() {
        assert_eq!(
            left(Money::pesos(20_000)),
            format!("saldo a cobrar {}", Money::pesos(20_000))
        );
        assert_eq!(left(Money::ZERO), "no queda saldo");
        assert_eq!(nights(1), "1 noche");
        assert_eq!(party(3), "3 personas");
    }

    #[test]
    fn a_refusal_of_the_domain_is_said_in_the_owners_words() {
        assert_eq!(
            spoken(&BookingError::StayTooShort {
                nights: 1,
                minimum: 2
            }),
            "son 1 noches y la cabaña pide al menos 2"
        );
        assert_eq!(
            spoken(&BookingError::NotConfirmed),
            "todavía espera su seña"
        );
    }

    #[test]
    fn a_cancellation_question_offers_everything_back_only_when_the_policy_keeps_some() {
        let ask = |paid, by_hand| {
            cancel_question(
                "K7M2QXP",
                "Ana",
                "la del bosque",
                day("2027-01-12"),
                day("2027-01-14"),
                Money::pesos(paid),
                GivenBack {
                    by_provider: Money::ZERO,
                    by_hand: Money::pesos(by_hand),
                },
            )
        };
        let kept = ask(30_000, 15_000);
        let (text, ids) = body(&kept);
        assert!(text.starts_with("¿Cancelo la reserva K7M2QXP de Ana en la del bosque"));
        assert!(text.contains("te toca devolverlos vos"), "{text}");
        assert_eq!(ids, ["owner-cancel:K7M2QXP", "owner-cancel-all:K7M2QXP"]);
        let all = ask(30_000, 30_000);
        assert_eq!(body(&all).1, ["owner-cancel:K7M2QXP"]);
        let nothing = ask(0, 0);
        assert!(body(&nothing).0.contains("No pagó nada todavía."));
    }

    #[test]
    fn a_cancellation_done_says_who_gives_back_what() {
        assert_eq!(
            cancelled("K7M2QXP", GivenBack::default()),
            "✅ Cancelé la reserva K7M2QXP."
        );
        let by_hand = cancelled(
            "K7M2QXP",
            GivenBack {
                by_provider: Money::ZERO,
                by_hand: Money::pesos(15_000),
            },
        );
        assert!(by_hand.contains("«devuelto K7M2QXP»"), "{by_hand}");
    }
}
